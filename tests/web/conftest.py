"""Web fixtures: a small real demo hub (SQLite) over the real Merseyside store, its published map
layers, and a live server on 127.0.0.1 for the browser tests."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GEO = REPO.parent / "shared" / "data" / "geo"
ARTIFACTS = REPO / "test-artifacts" / "web"
MONTHS = "2020-10:2020-12"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="session")
def web_store(merseyside_store, tmp_path_factory) -> Path:
    """A copy-free store view: the shared Merseyside store plus this session's products folder.
    Products are written under a private store path that links the shared store's datasets."""
    store = tmp_path_factory.mktemp("web-store")
    for child in merseyside_store.iterdir():
        if child.name not in ("products", ".built"):
            (store / child.name).symlink_to(child)
    return store


@pytest.fixture(scope="session")
def published(web_store, tmp_path_factory) -> dict:
    """Gi* and KDE (grip, three real months, 150 m) and boundaries, published like the main job does."""
    from typer.testing import CliRunner

    from saferhub.briefing import layers
    from saferhub.cli import app

    out = tmp_path_factory.mktemp("web-out")
    done = {}
    for method in ("gistar", "kde"):
        target = out / f"{method}.gpkg"
        r = CliRunner().invoke(app, ["hotspots", "--store", str(web_store), "--method", method, "--categories",
                                     "grip", "--months", MONTHS, "--cell-size", "150", "--drop-strays",
                                     "--out", str(target)])
        assert r.exit_code == 0, r.output
        done[method] = layers.publish_hotspots(target, method=method, categories="grip", months=MONTHS,
                                               cell_size=150, store=web_store, geo_dir=GEO)
        done[f"{method}_file"] = target
    layers.publish_boundaries(GEO, web_store)
    return done


@pytest.fixture(scope="session")
def demo_hub(web_store, published, tmp_path_factory) -> dict:
    """A migrated SQLite hub seeded with the demo partnership (real ASB, three months, 12 cases),
    an administrator, and the simulated week of partner activity."""
    from saferhub.hub import demo
    from saferhub.data.products import read_product
    from saferhub.hub import seed, services
    from saferhub.hub.db import make_engine, session_factory, upgrade
    from saferhub.hub.models import Agency

    path = tmp_path_factory.mktemp("web-hub") / "hub.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    events = seed.load_asb_events(web_store)
    events = events[events["month"].astype(str).str.slice(0, 7) >= "2020-10"]
    engine = make_engine(url)
    with session_factory(engine)() as s:
        result = seed.seed_demo(s, events, n_cases=12)
        hub_agency = s.query(Agency).filter_by(code="hub").one()
        services.add_user(s, "admin@hub.example", "Hub administrator", hub_agency.id, "admin",
                          "correct horse battery staple 42")
        sim = demo.simulate(s, now=NOW, lsoa_names=read_product("lsoa-names", web_store))
        s.commit()
    engine.dispose()
    users = {u["email"]: u["password"] for u in result["users"]}
    users["admin@hub.example"] = "correct horse battery staple 42"
    return {"url": url, "users": users, "simulated": sim, "now": NOW}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_web(demo_hub, published, web_store, tmp_path_factory):
    """The app served by uvicorn on 127.0.0.1 (store and out folder from the environment)."""
    import uvicorn

    from saferhub.api import create_app

    out = tmp_path_factory.mktemp("web-reports")
    shutil.copy(published["gistar_file"], out / "hotspots.gpkg")
    (out / "hotspots.html").write_text("<!doctype html><title>Hotspots</title><h1>Hotspot report</h1>")
    saved = {k: os.environ.get(k) for k in ("SAFERHUB_STORE", "SAFERHUB_OUT", "SAFERHUB_TILE_URL")}
    os.environ.update(SAFERHUB_STORE=str(web_store), SAFERHUB_OUT=str(out))
    os.environ.pop("SAFERHUB_TILE_URL", None)
    port = _free_port()
    app = create_app(demo_hub["url"], secret="web-browser-tests")
    app.state.login_limit = False
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


class Session:
    """One signed-in browser context whose network is limited to 127.0.0.1: anything else is
    aborted and counted in `outside`."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
        self.outside: list[str] = []
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        # what the Content-Security-Policy refused (Chromium reports each refusal on the console)
        self.csp: list[str] = []
        self.page.on("console", lambda m: self.csp.append(m.text) if "Content Security Policy" in m.text else None)

    def _guard(self, route):
        url = route.request.url
        if url.startswith((self.base + "/", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def sign_in(self, email: str, password: str) -> None:
        self.page.goto(f"{self.base}/web/login")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", password)
        self.page.click("button:has-text('Sign in')")
        self.page.wait_for_load_state("load")

    def state_purpose(self, purpose: str = "morning partnership briefing") -> None:
        if self.page.locator("input#purpose").count():
            self.page.fill("input#purpose", purpose)
            self.page.click("button:has-text('Continue')")
            self.page.wait_for_load_state("load")

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def signed_in(browser, live_web, demo_hub):
    made = []

    def make(email: str) -> Session:
        s = Session(browser, live_web)
        s.sign_in(email, demo_hub["users"][email])
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()
    refused = [m for s in made for m in s.csp]
    assert refused == [], f"the Content-Security-Policy refused: {refused}"
