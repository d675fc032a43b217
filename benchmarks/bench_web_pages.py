"""Every /web page's server time at 100k cases (issue 20: each page <= 300 ms).

    python benchmarks/bench_web_pages.py [--cases 100000] [--incidents 1000000] [--requests 15]
                                         [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--keep DBNAME]

The hub is built the way benchmarks/bench_hub.py builds it (its `build`: real Merseyside ASB snap
points, 11 agencies, 220 users, cases spread over the agencies, 5% locked) plus the briefing's
records (bench_web.add_briefing_data: referrals, actions, powers, ASB Case Reviews, review dates),
a problem-solving plan, a simulated missing child and home, on PostgreSQL. The app runs in this
process under uvicorn on 127.0.0.1 (the store: SAFERHUB_STORE, with published boundaries if the
main job ran). Each page is fetched once to warm up, then `--requests` times by one signed-in
client; the figure is the median time from request to the last byte, printed beside the target
with its ratio. Pages as the police coordinator (sees every unlocked case), the administrator for
the audit trail and users, and no one for the sign-in page.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))
from bench_hub import PASSWORD, build  # noqa: E402
from bench_web import add_briefing_data, serve  # noqa: E402

TARGET_MS = 300
COORDINATOR, ADMIN = "u0@bench.invalid", "admin@bench.invalid"


def add_page_records(url: str) -> dict:
    """An administrator, a plan on case 1, a simulated missing child and home (through the services)."""
    from sqlalchemy import select

    from saferhub.hub import services
    from saferhub.hub.db import make_engine, session_factory
    from saferhub.hub.models import Agency, Case, User

    engine = make_engine(url)
    with session_factory(engine)() as db:
        boss = db.scalars(select(User).where(User.email == COORDINATOR)).one()
        if db.scalars(select(User).where(User.email == ADMIN)).first() is None:
            other = db.scalars(select(Agency).where(Agency.kind == "other")).first()  # the builder's 11th agency
            services.add_user(db, ADMIN, "Bench administrator", other.id, "admin", PASSWORD)
        case = db.scalar(select(Case.id).where(Case.lead_agency_id == boss.agency_id, Case.locked.is_(False))
                         .order_by(Case.id).limit(1))
        plan = services.create_plan(db, boss, title="Street drinking", objective="Fewer calls", case_id=case)
        home = services.missing.create_home(db, boss, kind="care_home", name="Simulated home (bench)", places=4,
                                            simulated=True)
        mp = services.missing.create_missing_person(db, boss, home_id=home["id"], in_care=True,
                                                    given_name="Simulated", family_name="bench child",
                                                    simulated=True)
        db.commit()
    engine.dispose()
    return {"case": case, "plan": plan["id"], "home": home["id"], "mp": mp["id"]}


PAGES = [  # (label, who, path)
    ("sign-in", None, "/web/login"),
    ("briefing", COORDINATOR, "/web/briefing"),
    ("cases", COORDINATOR, "/web/cases"),
    ("a case", COORDINATOR, "/web/cases/{case}"),
    ("open a case", COORDINATOR, "/web/cases/new"),
    ("referrals", COORDINATOR, "/web/referrals"),
    ("plans", COORDINATOR, "/web/plans"),
    ("a plan", COORDINATOR, "/web/plans/{plan}"),
    ("reports", COORDINATOR, "/web/reports"),
    ("missing", COORDINATOR, "/web/missing"),
    ("a missing person", COORDINATOR, "/web/missing/people/{mp}"),
    ("a home", COORDINATOR, "/web/missing/homes/{home}"),
    ("audit trail", ADMIN, "/web/admin/audit"),
    ("users", ADMIN, "/web/admin/users"),
]


def client_for(base: str, who: str | None):
    import httpx

    c = httpx.Client(base_url=base, timeout=120)
    if who is None:
        return c
    page = c.get("/web/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post("/web/login", data={"email": who, "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code in (200, 303), r.text[:300]
    page = c.get("/web/briefing")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    c.post("/web/purpose", data={"purpose": "benchmark pages", "next": "/web/briefing", "csrf_token": csrf})
    return c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=15)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--keep", help="reuse (or create and keep) this database")
    args = ap.parse_args()
    name = args.keep or f"saferhub_bench_pages_{os.getpid()}"
    os.environ.setdefault("SAFERHUB_AUDIT_KEY_FILE", f"/tmp/{name}-keys/audit.key")

    import psycopg

    from saferhub.api import create_app
    from saferhub.hub.db import make_engine, upgrade

    with open("/proc/loadavg") as f:
        print(f"load average {f.read().split()[0]} on {os.cpu_count()} cores; store {os.environ.get('SAFERHUB_STORE')}")
    admin = psycopg.connect(args.pg, autocommit=True)
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    base_pg = args.pg.rsplit("/", 1)[0]
    url_pg, url = f"{base_pg}/{name}", f"{base_pg.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    try:
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
            upgrade(url)
            rng = np.random.default_rng(42)
            t0 = time.perf_counter()
            build(url_pg, args.cases, args.incidents, rng)
            add_briefing_data(url_pg, args.cases, args.incidents, rng)
            print(f"built {args.cases:,} cases and {args.incidents:,} incidents in {time.perf_counter() - t0:.0f} s")
        ids = add_page_records(url)
        engine = make_engine(url)
        app = create_app(engine=engine, secret="bench")
        app.state.login_limit = False
        base, server, thread = serve(app)
        clients: dict = {}
        print(f"\n| page ({args.cases:,} cases, {args.incidents:,} incidents) | median of {args.requests} | target "
              f"| ratio |\n|---|---|---|---|")
        worst = 0.0
        for label, who, path in PAGES:
            c = clients.get(who) or clients.setdefault(who, client_for(base, who))
            url_path = path.format(**ids)
            times = []
            for i in range(args.requests + 1):
                t = time.perf_counter()
                r = c.get(url_path)
                ms = (time.perf_counter() - t) * 1000
                assert r.status_code == 200, (url_path, r.status_code, r.text[:300])
                if i:
                    times.append(ms)
            med = statistics.median(times)
            worst = max(worst, med / TARGET_MS)
            print(f"| {label} `{path}` | **{med:.0f} ms** | <= {TARGET_MS} ms | {med / TARGET_MS:.2f} "
                  f"({'met' if med <= TARGET_MS else 'not met'}) |", flush=True)
        print(f"\nslowest page at {worst:.2f} of the target")
        for c in clients.values():
            c.close()
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
    finally:
        if not args.keep:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
