"""Where a hub read's time goes: round trips and CPU per request for the case list, the case page
and the referral inbox, in one process (no HTTP server, no other clients), PostgreSQL.

    python benchmarks/profile_hub.py [--cases 20000] [--incidents 100000] [--requests 300] [--profile]

Builds the same synthetic partnership as bench_hub.py in a fresh database (dropped at the end),
then sends each request `--requests` times through the ASGI app (starlette's TestClient) and
prints, per route: statements sent to PostgreSQL per request (every `cursor.execute`, the audit
batch writer's included), and wall and CPU milliseconds per request. `--profile ROUTE` adds a
cProfile summary of that route (the event loop and the threadpool part).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if "--src" in sys.argv:  # another checkout's code (e.g. before a change), compared in the same way
    sys.path.insert(0, sys.argv[sys.argv.index("--src") + 1])
else:
    sys.path.insert(0, str(HERE.parent / "src"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=20_000)
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--profile", choices=("case list", "case page", "referral inbox"))
    ap.add_argument("--sort", default="cumulative")
    ap.add_argument("--src", help="the saferhub source tree to profile (default: this checkout's)")
    ap.add_argument("--top", type=int, default=60)
    ap.add_argument("--dump", help="also write the profile (pstats) to this file")
    ap.add_argument("--only", choices=("case list", "case page", "referral inbox"), help="time this route only")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    name = f"saferhub_prof_{os.getpid()}"
    keydir = Path(f"/tmp/{name}-keys")
    os.environ["SAFERHUB_AUDIT_KEY_FILE"] = str(keydir / "audit.key")

    import psycopg
    from sqlalchemy import event
    import anyio.to_thread
    import httpx
    from sqlalchemy.engine import Engine

    from bench_hub import PASSWORD, build

    if args.src:  # bench_hub put this checkout's src first
        sys.path.insert(0, args.src)
    import saferhub
    from saferhub.api.app import create_app

    print(f"saferhub from {Path(saferhub.__file__).parent}; load average {os.getloadavg()[0]:.1f}")
    from saferhub.hub.db import make_engine, upgrade

    admin = psycopg.connect(args.pg, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    base = args.pg.rsplit("/", 1)[0]
    url_pg, url = f"{base}/{name}", f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    try:
        upgrade(url)
        build(url_pg, args.cases, args.incidents, np.random.default_rng(42))
        with psycopg.connect(url_pg) as conn:  # a few referrals into council 1's inbox
            conn.execute("INSERT INTO referrals (case_id, from_agency_id, to_agency_id, kind, reason, legal_gateway,"
                         " status, created_by, created_at) SELECT id, lead_agency_id, 2, 'other', 'bench', "
                         "'Crime and Disorder Act 1998 s115', 'pending', owner_id, now() FROM cases "
                         "WHERE lead_agency_id <> 2 ORDER BY id LIMIT 300")
        engine = make_engine(url)
        statements: dict[str, int] = {}

        @event.listens_for(Engine, "before_cursor_execute")  # every engine, the audit writer's too
        def _count(*_a):
            who = "writer" if threading.current_thread().name == "saferhub-audit-batch" else "request"
            statements[who] = statements.get(who, 0) + 1

        app = create_app(engine=engine, secret="profile")
        loop_prof, thread_prof = cProfile.Profile(time.thread_time), cProfile.Profile(time.thread_time)  # CPU, not wall
        profiling = [False]
        real_run_sync = anyio.to_thread.run_sync

        async def run_sync(func, *a, **k):  # profile the route's threadpool part as well
            def wrapped(*fa):
                if not profiling[0]:
                    return func(*fa)
                thread_prof.enable()
                try:
                    return func(*fa)
                finally:
                    thread_prof.disable()
            return await real_run_sync(wrapped, *a, **k)

        anyio.to_thread.run_sync = run_sync

        async def go() -> None:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
                tok = (await c.post("/auth/login", json={"email": "u12@bench.invalid", "password": PASSWORD})).json()["token"]
                h = {"Authorization": f"Bearer {tok}", "X-Purpose": "profiling the hub"}
                ids = [x["id"] for x in (await c.get("/cases?limit=500", headers=h)).json() if x["access"] == "full"]
                # u12 is a caseworker of agency 2, whose inbox the referrals above fill
                routes = {"case list": lambda k: "/cases?status=open&limit=50",
                          "case page": lambda k: f"/cases/{ids[k % len(ids)]}",
                          "referral inbox": lambda k: "/referrals?box=in"}
                for label, path in routes.items():
                    if args.only and label != args.only:
                        continue
                    for k in range(20):  # warm up: statement caches, prepared statements
                        assert (await c.get(path(k), headers=h)).status_code == 200
                    statements.clear()
                    t, cpu = time.perf_counter(), time.process_time()
                    for k in range(args.requests):
                        r = await c.get(path(k), headers=h)
                        assert r.status_code == 200, r.text
                    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
                    n = args.requests
                    print(f"{label}: {statements.get('request', 0) / n:.2f} statements per request "
                          f"(+ {statements.get('writer', 0) / n:.2f} by the audit batch writer), "
                          f"{1000 * wall / n:.2f} ms wall, {1000 * cpu / n:.2f} ms CPU per request (client included)")
                if args.profile:
                    profiling[0] = True
                    loop_prof.enable()
                    for k in range(args.requests):
                        await c.get(routes[args.profile](k), headers=h)
                    loop_prof.disable()
                    profiling[0] = False

        asyncio.run(go())
        if args.profile:
            st = pstats.Stats(loop_prof)
            st.add(thread_prof)
            if args.dump:
                st.dump_stats(args.dump)
            st.sort_stats(args.sort).print_stats(args.top)
        engine.dispose()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        import shutil

        shutil.rmtree(keydir, ignore_errors=True)


if __name__ == "__main__":
    main()
