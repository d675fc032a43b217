"""Checked as a person would: in a real browser (Debian's chromium, driven by Playwright).

- a hotspot report opens offline: no request leaves the file, the map image renders;
- the hub's sign-in page, "my cases" with a stated purpose, and sign-out, against a live server.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium")
    assert exe, "chromium is not installed (scripts/ensure-services installs Debian's chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _offline_page(browser):
    """A page that records and refuses every request that is not local to the file itself."""
    page = browser.new_page()
    outside: list[str] = []

    def guard(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", guard)
    return page, outside


def test_hotspot_report_opens_offline_with_its_map(browser, merseyside_store, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from saferhub.cli import app

    report = tmp_path / "hotspots.html"
    monkeypatch.setenv("SAFERHUB_STORE", str(merseyside_store))
    r = CliRunner().invoke(app, ["hotspots", "--method", "gistar", "--categories", "grip", "--months",
                                 "2020-01:2020-06", "--cell-size", "250", "--report", str(report)])
    assert r.exit_code == 0, r.output
    page, outside = _offline_page(browser)
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert outside == [], f"the report asked the network for {outside}"
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.alt])")
    assert images, "the report has no map image"
    assert all(done and width > 200 for done, width, _ in images), images
    text = page.inner_text("body")
    assert "Hot spot 99%" in text and "Open Government Licence" in text
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_hub(tmp_path):
    """A migrated SQLite hub with one caseworker and one case, served by uvicorn on localhost."""
    import uvicorn

    from saferhub.api import create_app
    from saferhub.hub.db import make_engine, session_factory, upgrade
    from saferhub.hub.models import Agency, User
    from saferhub.hub.security import hash_password

    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        agency = Agency(code="wirral-council", name="Wirral Council", kind="council")
        s.add(agency)
        s.flush()
        s.add(User(email="asb.officer@wirral.example", name="Asb Officer", agency_id=agency.id,
                   role="caseworker", password_hash=hash_password("a long test password")))
        s.commit()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine=engine, secret="browser-test"), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    token = httpx.post(f"{base}/auth/login", json={"email": "asb.officer@wirral.example",
                                                   "password": "a long test password"}).json()["token"]
    made = httpx.post(f"{base}/cases", json={"kind": "asb", "title": "Youths gathering, Example Park"},
                      headers={"Authorization": f"Bearer {token}", "X-Purpose": "opening a case"})
    assert made.status_code == 201, made.text
    yield base
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def test_hub_sign_in_my_cases_and_sign_out(browser, live_hub):
    page = browser.new_page()
    page.goto(f"{live_hub}/web/login")
    page.fill("input[name=email]", "asb.officer@wirral.example")
    page.fill("input[name=password]", "wrong password")
    page.click("button:has-text('Sign in')")
    assert "Wrong e-mail or password." in page.inner_text("body")
    page.fill("input[name=email]", "asb.officer@wirral.example")
    page.fill("input[name=password]", "a long test password")
    page.click("button:has-text('Sign in')")
    assert "Signed in as Asb Officer (Wirral Council, caseworker)" in page.inner_text("body")
    page.fill("input[name=purpose]", "weekly ASB case review")
    page.click("button:has-text('My cases')")
    table = page.inner_text("table")
    assert "Youths gathering, Example Park" in table and "asb" in table
    page.goto(f"{live_hub}/web/")
    page.click("button:has-text('Sign out')")
    assert page.url.endswith("/web/login")
    page.goto(f"{live_hub}/web/cases?purpose=checking+after+sign-out")
    assert page.url.endswith("/web/login"), "signed-out browser still sees cases"
