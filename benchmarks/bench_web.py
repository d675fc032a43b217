"""Web speed: the map's first meaningful paint with the Merseyside 150 m hotspot layer, and the
daily briefing's server time and size over 100k cases and 1M incidents (PostgreSQL).

    python benchmarks/bench_web.py [--store STORE] [--loads 5] [--cases 100000] [--incidents 1000000]
                                   [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--skip-map] [--skip-briefing]

The figures before a change, side by side: run the same bench over the older code with
SAFERHUB_BENCH_SRC=<that checkout's src> (e.g. `git archive main src | tar -x -C /tmp/before`).

Targets (issues 11 and 20), printed beside each figure with the ratio figure / target:
- map page, first meaningful paint (navigation start to the hotspot layer drawn, the page's own
  `hotspots-drawn` performance mark) <= 1.0 s in headless Chromium (Debian's), at 1366x900 and in
  phone emulation (390x844, 3x pixels, touch);
- wards + LSOAs shown (both boxes ticked, to both drawn and painted: the page's
  `data-boundaries-drawn` mark, then two animation frames) <= 0.5 s, at both sizes;
- briefing page <= 200 ms server time and <= 200 KB, with 100k cases and 1M incidents.

Map data: the store's real Merseyside events; the Gi* layer (grip crimes, the latest 12 months,
150 m cells) is computed and published first when the store has none. Briefing data: bench_hub's
synthetic partnership (real ASB snap points, heavy-tailed callers and places) plus timestamps
(one incident every 90 s, ids rising with time), 20k referrals, 200k actions, 10k ASB powers,
1k Case Review applications, on a fresh database dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
# SAFERHUB_BENCH_SRC: measure another checkout's code (the figures before a change) with this bench
sys.path.insert(0, os.environ.get("SAFERHUB_BENCH_SRC", str(HERE.parent / "src")))
sys.path.insert(0, str(HERE))
import saferhub  # noqa: E402,F401  (imported now: bench_hub puts this checkout's src first on the path)
from bench_hub import PASSWORD, build, copy_frame, free_port  # noqa: E402

MAP_TARGET_S, BOUNDARIES_TARGET_S, BRIEFING_TARGET_MS, BRIEFING_TARGET_KB = 1.0, 0.5, 200, 200
SIZES = [("desktop 1366x900", {"viewport": {"width": 1366, "height": 900}}),
         ("phone emulation 390x844", {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3,
                                      "is_mobile": True, "has_touch": True})]
# Tick wards and LSOAs, then wait (frame by frame, no timers) until both are drawn and painted: the
# page's own mark `data-boundaries-drawn` lists drawn layers; code without that mark (before issue
# 20) is read by its SVG paths (111 wards drawn #555, 910 LSOAs drawn #777).
BOUNDARIES_JS = """() => new Promise(res => {
  const b = document.body, t0 = performance.now();
  for (const v of ["wards", "lsoas"]) { const cb = document.querySelector(".boundary[value=" + v + "]"); if (!cb.checked) cb.click(); }
  const ready = () => b.hasAttribute("data-boundaries-drawn")
    ? /\\bwards\\b/.test(b.dataset.boundariesDrawn) && /\\blsoas\\b/.test(b.dataset.boundariesDrawn)
    : document.querySelectorAll("#map path[stroke='#555']").length >= 111 && document.querySelectorAll("#map path[stroke='#777']").length >= 910;
  const check = () => ready() ? requestAnimationFrame(() => requestAnimationFrame(() => res(performance.now() - t0)))
                              : requestAnimationFrame(check);
  check();
})"""


def serve(app) -> tuple[str, object, threading.Thread]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def ensure_layer(store: Path) -> dict:
    from saferhub.briefing import layers
    from saferhub.data.products import read_product

    cat = read_product("map-layers", store) or {"layers": []}
    for x in cat["layers"]:
        if x["name"] == "hotspots-grip-gistar" and x.get("cell_size") == 150:
            return x
    status = subprocess.run([sys.executable, "-m", "saferhub", "status", "--json", "--store", str(store)],
                            capture_output=True, text=True, check=True)
    import json

    last = np.datetime64(max(f["last_month"] for f in json.loads(status.stdout)["forces"]), "M")
    months = f"{last - 11}:{last}"
    out = Path(tempfile.mkdtemp()) / "gistar.gpkg"
    subprocess.run([sys.executable, "-m", "saferhub", "hotspots", "--store", str(store), "--method", "gistar",
                    "--categories", "grip", "--months", months, "--cell-size", "150", "--drop-strays",
                    "--out", str(out)], check=True, capture_output=True)
    return layers.publish_hotspots(out, method="gistar", categories="grip", months=months, cell_size=150,
                                   store=store)


def inspector_app(store: Path, agency: str = "Merseyside Police"):
    """The web app over a fresh SQLite hub with one police coordinator (the inspector), reading
    layers from `store`, sign-in throttling off (the benchmark signs in many times)."""
    from saferhub.api import create_app
    from saferhub.hub import services
    from saferhub.hub.db import make_engine, session_factory, upgrade
    from saferhub.hub.models import Agency

    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'hub.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        a = Agency(code="police", name=agency, kind="police")
        s.add(a)
        s.flush()
        services.add_user(s, "inspector@bench.invalid", "Inspector", a.id, "coordinator", PASSWORD)
        s.commit()
    os.environ["SAFERHUB_STORE"] = str(store)
    app = create_app(engine=engine, secret="bench")
    app.state.login_limit = False
    return app


def bench_map(store: Path, loads: int) -> None:
    from playwright.sync_api import sync_playwright

    layer = ensure_layer(store)
    app = inspector_app(store)
    base, server, thread = serve(app)
    rows = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        for label, ctx_args in SIZES:
            ctx = b.new_context(**ctx_args)
            page = ctx.new_page()
            page.goto(f"{base}/web/login")
            page.fill("input[name=email]", "inspector@bench.invalid")
            page.fill("input[name=password]", PASSWORD)
            page.click("button")
            page.wait_for_load_state("load")
            paints, shown = [], []
            for i in range(loads + 1):  # the first load warms the server's file cache: not counted
                page.goto(f"{base}/web/map", wait_until="commit")
                page.wait_for_selector("body[data-hotspots-drawn]", timeout=60000)
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                mark = page.evaluate("performance.getEntriesByName('hotspots-drawn')[0].startTime")
                secs = page.evaluate(BOUNDARIES_JS) / 1000
                if i:
                    paints.append(mark / 1000)
                    shown.append(secs)
            drawn = int(page.get_attribute("body", "data-hotspots-drawn"))
            rows.append((label, paints, shown, drawn))
            ctx.close()
        b.close()
    server.should_exit = True
    thread.join(timeout=10)
    for label, paints, shown, drawn in rows:
        med, med_b = statistics.median(paints), statistics.median(shown)
        print(f"| map first meaningful paint, {label}, Merseyside 150 m Gi* layer ({drawn:,} cells drawn at the "
              f"opening view, {layer['months'][0]}..{layer['months'][-1]}), median of {loads} | **{med:.2f} s** "
              f"({', '.join(f'{x:.2f}' for x in paints)}) | <= {MAP_TARGET_S} s | {med / MAP_TARGET_S:.2f} "
              f"({'met' if med <= MAP_TARGET_S else 'not met'}) |")
        print(f"| wards + LSOAs shown (both boxes ticked to both drawn and painted), {label}, median of {loads} "
              f"| **{med_b:.2f} s** ({', '.join(f'{x:.2f}' for x in shown)}) | <= {BOUNDARIES_TARGET_S} s "
              f"| {med_b / BOUNDARIES_TARGET_S:.2f} ({'met' if med_b <= BOUNDARIES_TARGET_S else 'not met'}) |")


def add_briefing_data(url_pg: str, n_cases: int, n_incidents: int, rng) -> None:
    import psycopg

    now = pd.Timestamp.now(tz="UTC")
    with psycopg.connect(url_pg) as conn:
        conn.execute("UPDATE incidents SET occurred_at = now() - (%s - id) * interval '90 seconds'", (n_incidents,))
        n = 20_000
        ref = pd.DataFrame({"case_id": rng.integers(1, n_cases + 1, n), "from_agency_id": rng.integers(1, 12, n),
                            "to_agency_id": rng.integers(1, 12, n), "kind": "early_help", "reason": "Synthetic",
                            "legal_gateway": "CDA 1998 s115", "status": rng.choice(["pending", "accepted"], n),
                            "created_by": 12, "created_at": (now - pd.to_timedelta(rng.uniform(0, 90, n), "D")).astype(str)})
        copy_frame(conn, "referrals", ref)
        n = 200_000
        act = pd.DataFrame({"case_id": rng.integers(1, n_cases + 1, n), "title": "Synthetic action",
                            "due_on": (now.normalize() + pd.to_timedelta(rng.integers(-60, 60, n), "D")).date.astype(str),
                            "status": rng.choice(["open", "done"], n, p=[0.3, 0.7]),
                            "created_at": (now - pd.to_timedelta(np.sort(rng.uniform(0, 365, n))[::-1], "D")).astype(str),
                            "version": 1})
        copy_frame(conn, "actions", act)
        n = 10_000
        issued = now - pd.to_timedelta(rng.uniform(0, 60, n), "D")
        pw = pd.DataFrame({"case_id": rng.integers(1, n_cases + 1, n), "power": "dispersal",
                           "issued_at": issued.astype(str), "expires_at": (issued + pd.Timedelta(hours=48)).astype(str),
                           "grounds": "Synthetic", "authorised_by": "Inspector", "created_by": 12})
        copy_frame(conn, "asb_powers", pw)
        n = 1_000
        cr = pd.DataFrame({"case_id": rng.integers(1, n_cases + 1, n), "applicant_ref": "v1",
                           "received_on": (now - pd.to_timedelta(rng.integers(0, 365, n), "D")).date.astype(str),
                           "reports_in_window": 3, "threshold_met": True, "threshold_rule": "3 in 6 months",
                           "decision": "pending"})
        copy_frame(conn, "case_review_applications", cr)
        conn.execute("UPDATE cases SET review_on = current_date + (id % 30) - 10 WHERE risk = 'high'")
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()


def bench_briefing(pg: str, n_cases: int, n_incidents: int, requests: int, keep: str | None = None) -> None:
    import re

    import httpx
    import psycopg

    from saferhub.api import create_app
    from saferhub.hub.db import make_engine, upgrade

    name = keep or f"saferhub_bench_web_{os.getpid()}"
    admin = psycopg.connect(pg, autocommit=True)
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    base_pg = pg.rsplit("/", 1)[0]
    url_pg, url = f"{base_pg}/{name}", f"{base_pg.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    server = None
    try:
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
            upgrade(url)
            rng = np.random.default_rng(42)
            t0 = time.perf_counter()
            build(url_pg, n_cases, n_incidents, rng)
            add_briefing_data(url_pg, n_cases, n_incidents, rng)
            print(f"built {n_cases:,} cases, {n_incidents:,} incidents and the briefing's records in "
                  f"{time.perf_counter() - t0:.0f} s")
        engine = make_engine(url)
        app = create_app(engine=engine, secret="bench")
        app.state.login_limit = False
        base, server, thread = serve(app)
        for who, label in (("u0@bench.invalid", "coordinator (sees every unlocked case)"),
                           ("u12@bench.invalid", "council caseworker")):
            with httpx.Client(base_url=base, timeout=60) as c:
                page = c.get("/web/login")
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
                c.post("/web/login", data={"email": who, "password": PASSWORD, "csrf_token": csrf})
                page = c.get("/web/briefing")
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
                c.post("/web/purpose", data={"purpose": "benchmark briefing", "next": "/web/briefing",
                                             "csrf_token": csrf})
                times, size = [], 0
                for i in range(requests + 1):
                    t = time.perf_counter()
                    r = c.get("/web/briefing")
                    dt_ms = (time.perf_counter() - t) * 1000
                    assert r.status_code == 200 and "Daily partnership briefing" in r.text, r.text[:300]
                    size = len(r.content)
                    if i:
                        times.append(dt_ms)
            med = statistics.median(times)
            print(f"| briefing page, {label}, {n_cases:,} cases / {n_incidents:,} incidents, median of {requests} "
                  f"| **{med:.0f} ms**, {size / 1024:.0f} KB | <= {BRIEFING_TARGET_MS} ms, <= {BRIEFING_TARGET_KB} KB "
                  f"| {med / BRIEFING_TARGET_MS:.2f} / {size / 1024 / BRIEFING_TARGET_KB:.2f} "
                  f"({'met' if med <= BRIEFING_TARGET_MS and size <= BRIEFING_TARGET_KB * 1024 else 'not met'}) |")
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
    finally:
        if not keep:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=None)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--skip-map", action="store_true")
    ap.add_argument("--skip-briefing", action="store_true")
    ap.add_argument("--keep-db", default=None, help="build the briefing database once under this name and keep it")
    args = ap.parse_args()
    from saferhub.config import settings

    print(f"code: {Path(saferhub.__file__).parent}")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min), "
          f"{os.cpu_count()} cores")
    print("| measure | figure | target | ratio |\n|---|---|---|---|")
    if not args.skip_map:
        bench_map(settings(store=args.store).store_path, args.loads)
    if not args.skip_briefing:
        bench_briefing(args.pg, args.cases, args.incidents, args.requests, args.keep_db)


if __name__ == "__main__":
    main()
