"""Hub speed on PostgreSQL: rule evaluation over N incidents, and case list / case page latency
under concurrent clients through the real HTTP server (uvicorn), every read audited.

    python benchmarks/bench_hub.py [--cases 100000] [--incidents 1000000] [--clients 50]
                                   [--requests 3000] [--workers 2] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
                                   [--rate 500 --seconds 10] [--quick] [--src DIR] [--skip-rules]

Closed loop: `--clients` clients each send the next request when the last one answered (saturation
throughput). Open loop: requests are sent at a constant `--rate` per second for `--seconds`
whatever the answers, and latency is counted from each request's scheduled time, so queueing shows.
The same closed loop is run against `bench_hub_raw.py` (the list straight from psycopg, no sign-in,
access or audit) in the same run, and the hub's list throughput is printed as a ratio to it.
Where Debian's `wrk` is installed, both lists are also driven by it (`wrk_load.py`: a C client
whose own CPU does not hide the server's saturation on 2 cores), and the ratio uses those figures.
Afterwards the audit rows written are counted against the requests answered, and the chain is
verified. `--quick`: 20k cases, 100k incidents, 600 requests, 5 s open loop, no rule timing (for a
shared machine). `--src`: run another checkout's `src` (e.g. before a change) with this script.

Targets (issue 5): rule evaluation over 1M incidents <= 10 s; case list and case page p95 <= 50 ms
with 50 concurrent clients over 100k cases. Prints each figure and its ratio to the target.

Data: a fresh database (dropped at the end). Incidents sit on the real Merseyside ASB snap points
(2020 police.uk files) with heavy-tailed caller / victim / place frequencies; cases are spread over
the partnership's agencies (5% locked), each with its lead and one partner agency.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import lean_http
import wrk_load

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(HERE))
MERSEYSIDE = HERE.parents[1] / "shared" / "data" / "police-uk" / "merseyside"
PASSWORD = "benchmark password 1"


def copy_frame(conn, table: str, df: pd.DataFrame) -> None:
    buf = io.StringIO()
    df.to_csv(buf, index=False, header=False, na_rep="\\N")
    buf.seek(0)
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(df.columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as cp:
            while chunk := buf.read(1 << 20):
                cp.write(chunk)


def build(url_psycopg: str, n_cases: int, n_incidents: int, rng) -> dict:
    import psycopg

    from saferhub.hub.security import hash_password

    pts = pd.concat([pd.read_csv(f, usecols=["Longitude", "Latitude", "LSOA code", "Crime type"])
                     for f in sorted(MERSEYSIDE.glob("2020-*-merseyside-street.csv.gz"))])
    pts = pts[(pts["Crime type"] == "Anti-social behaviour") & pts["Longitude"].notna()]
    keys = (pts["Longitude"].round(6).astype(str) + "," + pts["Latitude"].round(6).astype(str)).unique()
    with psycopg.connect(url_psycopg) as conn:
        agencies = pd.DataFrame({"code": [f"a{i}" for i in range(11)], "name": [f"Agency {i}" for i in range(11)],
                                 "kind": ["police"] + ["council"] * 5 + ["fire", "youth", "early_help", "probation", "other"]})
        copy_frame(conn, "agencies", agencies)
        pw = hash_password(PASSWORD)
        n_users = 11 * 20
        users = pd.DataFrame({"email": [f"u{i}@bench.invalid" for i in range(n_users)],
                              "name": [f"User {i}" for i in range(n_users)],
                              "agency_id": np.arange(n_users) % 11 + 1,
                              "role": np.where(np.arange(n_users) < 11, "coordinator", "caseworker"),
                              "password_hash": pw, "active": True, "created_at": "2024-01-01T00:00:00Z"})
        copy_frame(conn, "users", users)
        months = pd.date_range("2018-01-01", periods=36, freq="MS").date
        inc = pd.DataFrame({
            "event_id": [f"bench:{i}" for i in range(n_incidents)], "source": "incident",
            "month": months[rng.integers(0, 36, n_incidents)],
            "category": np.where(rng.random(n_incidents) < 0.4, "Anti-social behaviour", "Violence and sexual offences"),
            "location_key": keys[np.minimum(rng.zipf(1.5, n_incidents), len(keys)) - 1],
            "caller_ref": np.char.add("c", rng.zipf(1.8, n_incidents).astype(str)),
            "caller_is_child": rng.random(n_incidents) < 0.1,
            "victim_ref": np.char.add("v", rng.zipf(1.9, n_incidents).astype(str)),
        })
        t0 = time.perf_counter()
        copy_frame(conn, "incidents", inc)
        lead = rng.integers(1, 7, n_cases)  # police and the five councils lead
        owner = lead + 11 * rng.integers(1, 20, n_cases)  # a caseworker of the lead agency
        cases = pd.DataFrame({
            "id": np.arange(1, n_cases + 1), "kind": rng.choice(["asb", "repeat_location", "frequent_caller", "repeat_victim"], n_cases),
            "title": [f"Case {i}" for i in range(1, n_cases + 1)], "summary": "Synthetic benchmark case",
            "lead_agency_id": lead, "owner_id": owner, "risk": rng.choice(["standard", "medium", "high"], n_cases),
            "status": np.where(rng.random(n_cases) < 0.7, "open", "closed"), "locked": rng.random(n_cases) < 0.05,
            "opened_on": "2024-01-01", "updated_at": "2024-01-01T00:00:00Z", "version": 1})
        copy_frame(conn, "cases", cases)
        partner = (lead + rng.integers(1, 10, n_cases) - 1) % 11 + 1
        ca = pd.concat([pd.DataFrame({"case_id": cases["id"], "agency_id": lead}),
                        pd.DataFrame({"case_id": cases["id"], "agency_id": partner})]).drop_duplicates()
        copy_frame(conn, "case_agencies", ca)
        copy_frame(conn, "case_members", pd.DataFrame({"case_id": cases["id"], "user_id": owner}))
        conn.execute("SELECT setval('cases_id_seq', %s)", (n_cases,))
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
        load_s = time.perf_counter() - t0
    return {"load_s": load_s}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def tokens_and_cases(c) -> tuple[list[str], list[list[int]]]:
    tokens = []
    for i in (11 + 1, 11 + 2, 1):  # caseworkers of police and council 1, the police coordinator
        r = await c.post("/auth/login", json={"email": f"u{i - 1}@bench.invalid", "password": PASSWORD})
        r.raise_for_status()
        tokens.append(r.json()["token"])
    visible = []
    for tok in tokens:
        h = {"Authorization": f"Bearer {tok}", "X-Purpose": "benchmark"}
        ids = [x["id"] for x in (await c.get("/cases?limit=500", headers=h)).json() if x["access"] == "full"]
        visible.append(ids)
    return tokens, visible


async def open_loop(base: str, rate: float, seconds: float, rng_seed: int = 2) -> dict:
    """Constant arrival rate: request k is sent at t0 + k / rate; latency from that moment. Sent by
    `lean_http` (the Python client's own CPU must not set the pace), the briefing by httpx."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        tokens, visible = await tokens_and_cases(c)
    pool = lean_http.Pool(base)
    rng = np.random.default_rng(rng_seed)
    n = int(rate * seconds)
    lat: dict = {"list": [], "page": []}
    bad, why = 0, {}

    async def one(k: int, kind: str, who: int, t_sched: float) -> None:
        nonlocal bad
        await asyncio.sleep(max(0.0, t_sched - time.perf_counter()))
        h = {"Authorization": f"Bearer {tokens[who]}", "X-Purpose": "benchmark"}
        url = "/cases?status=open&limit=50" if kind == "list" else f"/cases/{visible[who][k % len(visible[who])]}"
        try:
            status = await asyncio.wait_for(pool.get(url, h), 60)
            bad += status != 200
            why[str(status)] = why.get(str(status), 0) + 1
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
            bad += 1
            why[type(exc).__name__] = why.get(type(exc).__name__, 0) + 1
        lat[kind].append((time.perf_counter() - t_sched) * 1000)

    web = await briefing_client(base)  # signed in before the clock starts
    t0 = time.perf_counter() + 0.2
    kinds = rng.choice(["list", "page"], n)
    whos = rng.integers(0, len(tokens), n)
    briefing: list[float] = []
    try:
        await asyncio.gather(briefings(web, t0, seconds, briefing),
                             *(one(k, str(kinds[k]), int(whos[k]), t0 + k / rate) for k in range(n)))
    finally:
        await web.aclose()
        pool.close()
    wall = time.perf_counter() - t0
    return {"lat": lat, "wall": wall, "bad": bad, "n": n, "why": why, "briefing": briefing}


async def briefing_client(base: str):
    """A browser-like client of the coordinator, signed in through the form with a stated purpose."""
    import re

    import httpx

    c = httpx.AsyncClient(base_url=base, timeout=60)
    page = await c.get("/web/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    await c.post("/web/login", data={"email": "u0@bench.invalid", "password": PASSWORD, "csrf_token": csrf})
    page = await c.get("/web/briefing")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    await c.post("/web/purpose", data={"purpose": "benchmark briefing", "next": "/web/briefing", "csrf_token": csrf})
    return c


async def briefings(c, t0: float, seconds: float, out: list[float], every: float = 0.5) -> None:
    """The coordinator's briefing page (`/web/briefing`, every unlocked case's figures) fetched
    every `every` seconds while the open loop runs (at least once): its latency under that load."""
    import httpx

    await asyncio.sleep(max(0.0, t0 - time.perf_counter()))
    while not out or time.perf_counter() < t0 + seconds:
        t = time.perf_counter()
        try:
            r = await c.get("/web/briefing")
            ok = r.status_code == 200 and "Daily partnership briefing" in r.text
        except httpx.HTTPError:
            ok = False
        out.append((time.perf_counter() - t) * 1000 if ok else float("inf"))  # a failure counts as too slow
        await asyncio.sleep(max(0.0, every - (time.perf_counter() - t)))


async def hammer_raw(base: str, clients: int, total: int) -> dict:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        left = [total]
        lat: list = []

        async def client():
            while left[0] > 0:
                left[0] -= 1
                t = time.perf_counter()
                r = await c.get("/cases")
                r.raise_for_status()
                lat.append((time.perf_counter() - t) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return {"lat": lat, "wall": time.perf_counter() - t0}


async def hammer(base: str, clients: int, total: int, rng_seed: int = 0, kinds=("list", "page")) -> dict:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        tokens, visible = await tokens_and_cases(c)  # each token's visible case ids, for the case pages
        lat = {"list": [], "page": []}
        status_bad = 0
        rng = np.random.default_rng(rng_seed)
        plan = [(str(k), int(rng.integers(0, len(tokens)))) for k in rng.choice(list(kinds), total)]
        queue: asyncio.Queue = asyncio.Queue()
        for p in plan:
            queue.put_nowait(p)

        async def client():
            nonlocal status_bad
            while not queue.empty():
                kind, who = queue.get_nowait()
                h = {"Authorization": f"Bearer {tokens[who]}", "X-Purpose": "benchmark"}
                url = "/cases?status=open&limit=50" if kind == "list" else f"/cases/{visible[who][int(rng.integers(0, len(visible[who])))]}"
                t = time.perf_counter()
                try:
                    r = await c.get(url, headers=h)
                    status_bad += r.status_code != 200
                except httpx.HTTPError:  # e.g. a keep-alive connection the server closed under load
                    status_bad += 1
                lat[kind].append((time.perf_counter() - t) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {"lat": lat, "wall": wall, "bad": status_bad}


def p95(xs) -> float:
    return float(np.percentile(xs, 95))


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process and all its descendants (the server's workers), from /proc:
    a figure a busy shared machine disturbs far less than wall-clock throughput."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                raw = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            f = raw[raw.rindex(")") + 2:].split()
            stats[int(d)] = (int(f[1]), (int(f[11]) + int(f[12])) / tick)  # ppid, utime + stime
    keep, total = {root}, 0.0
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _) in stats.items():
            if ppid in keep and pid not in keep:
                keep.add(pid)
                changed = True
    for pid in keep:
        total += stats.get(pid, (0, 0.0))[1]
    return total


SERVERS = {  # how each candidate server runs a factory `module:callable` with W worker processes
    # as `saferhub serve` runs it (api/serving.py: several workers on one socket, Nagle off);
    # pinned: uvicorn picks uvloop and httptools by itself whenever they are importable
    "uvicorn": lambda app, w: [str(SRC / "saferhub" / "api" / "serving.py"), app, "--workers", str(w)] if w > 1 else [
        "-m", "uvicorn", "--factory", app, "--log-level", "warning", "--loop", "asyncio", "--http", "h11"],
    "uvicorn-uvloop": lambda app, w: ["-m", "uvicorn", "--factory", app, "--workers", str(w), "--log-level",
                                      "warning", "--loop", "uvloop", "--http", "httptools"],
    "granian": lambda app, w: ["-m", "granian", "--interface", "asgi", "--factory", app, "--workers", str(w),
                               "--log-level", "warning", "--host", "127.0.0.1"],
}


def start_server(kind: str, app: str, workers: int, env: dict, port: int):
    import httpx

    server = subprocess.Popen([sys.executable, *SERVERS[kind](app, workers), "--port", str(port)], env=env)
    for _ in range(240):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("the server did not start")


def stop(server) -> None:
    if server is not None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # still finishing requests the client gave up on
            server.kill()
            server.wait(timeout=30)


def show(label: str, out: dict) -> None:
    n = sum(len(v) for v in out["lat"].values())
    print(f"{label}: {n:,} requests in {out['wall']:.1f} s ({n / out['wall']:.0f}/s), non-200: {out['bad']}"
          + (f" {out['why']}" if out.get("why") and out["bad"] else ""))
    for kind, xs in out["lat"].items():
        if xs:
            print(f"  case {kind}: p50 {statistics.median(xs):.1f} ms, p95 {p95(xs):.1f} ms "
                  f"-> {p95(xs) / 50:.2f} x the 50 ms target")


def env_for(extra: dict) -> dict:
    return os.environ | extra


def hub_phases(hub: str, server, args) -> float:
    """Closed loops (1 client, then `--clients`), the list alone, the open loop, the briefing under
    the open loop's load; returns the list-only throughput."""
    asyncio.run(hammer(hub, args.clients, 200, 1))  # warm up
    for clients, total in ((1, min(args.single, args.requests)), (args.clients, args.requests)):
        cpu0 = cpu_seconds(server.pid)
        out = asyncio.run(hammer(hub, clients, total))
        show(f"closed loop, {clients} client(s), {args.workers} server workers", out)
        n = sum(len(v) for v in out["lat"].values())
        print(f"  server CPU per request: {1000 * (cpu_seconds(server.pid) - cpu0) / n:.1f} ms (not counting "
              "PostgreSQL)")
    cpu0 = cpu_seconds(server.pid)
    lst = asyncio.run(hammer(hub, args.clients, args.requests, kinds=("list",)))
    show(f"closed loop, {args.clients} clients, case list only", lst)
    print(f"  server CPU per request: {1000 * (cpu_seconds(server.pid) - cpu0) / len(lst['lat']['list']):.1f} ms")
    if wrk_load.available():  # the same list from a C client: the server's saturation, not the client's
        tokens = asyncio.run(_tokens(hub))
        cpu0, pg0 = cpu_seconds(server.pid), cpu_seconds(args.postmaster)
        w = wrk_load.closed_loop(hub, "/cases?status=open&limit=50", tokens, args.clients, args.wrk_seconds)
        n = max(1, w["n"])
        print(f"closed loop (wrk), {args.clients} connections, case list only: {w['n']:,} requests ({w['rps']:.0f}/s), "
              f"non-2xx {w['bad']}, p50 {w['p50']:.1f} ms, p95 {w['p95']:.1f} ms; CPU per request: server "
              f"{1000 * (cpu_seconds(server.pid) - cpu0) / n:.1f} ms, PostgreSQL "
              f"{1000 * (cpu_seconds(args.postmaster) - pg0) / n:.1f} ms")
        rps = w["rps"]
    else:
        rps = len(lst["lat"]["list"]) / lst["wall"]
    for rate in args.rate:  # the target's rate first; lower ones show where p95 <= 50 ms holds
        out = asyncio.run(open_loop(hub, rate, args.seconds))
        show(f"open loop, {rate:.0f} requests/s offered for {args.seconds:.0f} s", out)
        if out.get("briefing"):
            xs = out["briefing"]
            print(f"  briefing under that load: {len(xs)} requests ({sum(x == float('inf') for x in xs)} failed), "
                  f"p50 {statistics.median(xs):.0f} ms, "
                  f"p95 {p95(xs):.0f} ms -> {p95(xs) / 200:.2f} x the 200 ms target")
    return rps


async def _tokens(base: str) -> list[str]:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        return (await tokens_and_cases(c))[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--single", type=int, default=300, help="requests of the one-client closed loop")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rate", type=lambda v: [float(x) for x in v.split(",")], default=[500.0],
                    help="open loop: requests per second (several, comma-separated: one open loop each)")
    ap.add_argument("--seconds", type=float, default=10, help="open loop: how long")
    ap.add_argument("--quick", action="store_true", help="small data, short runs (shared machines)")
    ap.add_argument("--skip-rules", action="store_true", help="do not time rule evaluation")
    ap.add_argument("--src", type=Path, default=SRC, help="the saferhub source tree the server runs")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--server", default="uvicorn",
                    help=f"the HTTP server(s) for the hub and the raw reference, comma-separated: {', '.join(SERVERS)}; "
                         "NAME@W runs W worker processes instead of --workers")
    ap.add_argument("--wrk-seconds", type=float, default=10, help="each wrk closed loop (when wrk is installed)")
    ap.add_argument("--extra-path", default="", help="prepended to the servers' PYTHONPATH (e.g. granian installed elsewhere)")
    args = ap.parse_args()
    if not {c.partition("@")[0] for c in args.server.split(",")} <= set(SERVERS):
        ap.error(f"--server: choose from {', '.join(SERVERS)}")
    if args.quick:
        args.cases, args.incidents, args.requests, args.seconds, args.wrk_seconds = 20_000, 100_000, 600, 5, 5
        args.skip_rules = True
    sys.path.insert(0, str(args.src))
    name = f"saferhub_bench_{os.getpid()}"
    keydir = Path(f"/tmp/{name}-keys")
    os.environ["SAFERHUB_AUDIT_KEY_FILE"] = str(keydir / "audit.key")  # the hub's and this script's

    import psycopg
    from sqlalchemy import func, select

    from saferhub.hub import rules as rules_mod
    from saferhub.hub import services
    from saferhub.hub.db import make_engine, session_factory, upgrade
    from saferhub.hub.models import RuleFlag

    print(f"server source: {args.src}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    admin = psycopg.connect(args.pg, autocommit=True)
    backend = admin.execute("SELECT pg_backend_pid()").fetchone()[0]  # its parent: the postmaster
    stat = Path(f"/proc/{backend}/stat").read_text()
    args.postmaster = int(stat[stat.rindex(")") + 2:].split()[1])  # PostgreSQL's CPU: its process tree
    admin.execute(f'CREATE DATABASE "{name}"')
    base = args.pg.rsplit("/", 1)[0]
    url_pg, url = f"{base}/{name}", f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    server = None
    try:
        upgrade(url)
        rng = np.random.default_rng(42)
        t0 = time.perf_counter()
        info = build(url_pg, args.cases, args.incidents, rng)
        from bench_web import add_briefing_data  # actions, referrals, powers: what the briefing lists

        add_briefing_data(url_pg, args.cases, args.incidents, rng)
        print(f"built {args.cases:,} cases and {args.incidents:,} incidents in {time.perf_counter() - t0:.1f} s "
              f"(COPY {info['load_s']:.1f} s)")

        if not args.skip_rules:
            engine = make_engine(url)
            loads, evals, totals = [], [], []
            for _ in range(3):  # the machine is shared: report the median of three
                with session_factory(engine)() as s:
                    t = time.perf_counter()
                    df = services.incidents_frame(s)
                    loads.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    rules_mod.evaluate(df)
                    evals.append(time.perf_counter() - t)
                with session_factory(engine)() as s:
                    t = time.perf_counter()
                    result = services.run_rules(s, None)
                    s.commit()
                    totals.append(time.perf_counter() - t)
                    stored = s.scalar(select(func.count()).select_from(RuleFlag))
            engine.dispose()
            t_total = statistics.median(totals)
            print(f"rules over {len(df):,} incidents (median of 3): load {statistics.median(loads):.2f} s + evaluate "
                  f"{statistics.median(evals):.2f} s; end to end (load, evaluate, store {stored:,} flags) {t_total:.2f} s "
                  f"(runs {', '.join(f'{x:.2f}' for x in totals)}) -> {t_total / 10:.2f} x the 10 s target")
            print("  flags per rule:", result["flags"])

        path = str(args.src) + (f":{args.extra_path}" if args.extra_path else "")
        results, workers = {}, args.workers
        for choice in args.server.split(","):
            kind, _, w = choice.partition("@")  # "uvicorn@1": that server with 1 worker process
            args.workers = int(w or workers)
            server = start_server(kind, "saferhub.api.app:from_settings", args.workers, env_for(
                {"SAFERHUB_HUB_DB": url, "PYTHONPATH": path, "SAFERHUB_SECRET": "bench"}), port := free_port())
            print(f"--- {kind}, {args.workers} worker process(es); load average {os.getloadavg()[0]:.1f}")
            results[choice] = hub_phases(f"http://127.0.0.1:{port}", server, args)
            stop(server)
            server = None
            raw_path = str(HERE) + (f":{args.extra_path}" if args.extra_path else "")
            server = start_server(kind, "bench_hub_raw:app", args.workers,
                                  env_for({"SAFERHUB_BENCH_PG": url_pg, "PYTHONPATH": raw_path}), port := free_port())
            asyncio.run(hammer_raw(f"http://127.0.0.1:{port}", args.clients, 200))  # warm up
            raw = asyncio.run(hammer_raw(f"http://127.0.0.1:{port}", args.clients, args.requests))
            raw_rps = len(raw["lat"]) / raw["wall"]
            if wrk_load.available():
                w = wrk_load.closed_loop(f"http://127.0.0.1:{port}", "/cases", [], args.clients, args.wrk_seconds)
                print(f"raw psycopg list (wrk), {args.clients} connections: {w['rps']:.0f}/s, p50 {w['p50']:.1f} ms, "
                      f"p95 {w['p95']:.1f} ms")
                raw_rps = w["rps"]
            stop(server)
            server = None
            hub_list_rps = results[choice]
            print(f"raw psycopg list (FastAPI, no sign-in/access/audit), {args.clients} clients: {raw_rps:.0f}/s, "
                  f"p50 {statistics.median(raw['lat']):.1f} ms, p95 {p95(raw['lat']):.1f} ms")
            print(f"hub case list / raw list throughput ({choice}{', wrk' if wrk_load.available() else ''}): "
                  f"{hub_list_rps:.0f} / {raw_rps:.0f} = "
                  f"{hub_list_rps / raw_rps:.2f}; against the 1,000/s target: {hub_list_rps / 1000:.2f}")
        engine = make_engine(url)
        with session_factory(engine)() as s:
            from saferhub.hub import audit
            from saferhub.hub.models import AuditEvent

            reads = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "read"))
            v = audit.verify(s)
        engine.dispose()
        print(f"audit: {reads:,} read rows; chain verifies: {v.ok} ({v.rows:,} rows, {v.checkpoints:,} witness lines)"
              + ("" if v.ok else f" - {v.problem}"))
    finally:
        stop(server)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        import shutil

        shutil.rmtree(keydir, ignore_errors=True)


if __name__ == "__main__":
    main()
