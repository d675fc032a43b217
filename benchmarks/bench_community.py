"""Tell (issue 21): the static export of every Merseyside ward's public page (target <= 60 s) and
one public page served by the app (target <= 200 ms).

    PYTHONPATH=src nice .venv/bin/python benchmarks/bench_community.py [--store STORE] [--repeat 3] [--quick]

Without --store the police.uk CSVs in ../shared/data/police-uk/merseyside are ingested into a
temporary store first (not timed). The export is `publish_neighbourhoods(..., out=DIR)`: read the
events, count 111 wards x 36 months, disclosure control with the differencing check, the posts,
222 charts, the HTML/CSV/PNG folder. The page is GET /public/<ward> through the ASGI app (the
first request parses the published model once; the figure is the median of the rest).
--quick: one export, 20 page requests. Prints wall and CPU time and the load, because the
machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MERSEYSIDE = REPO.parent / "shared" / "data" / "police-uk" / "merseyside"
GEO = REPO.parent / "shared" / "data" / "geo"
EXPORT_TARGET_S, PAGE_TARGET_MS = 60.0, 200.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeat, requests = (1, 20) if args.quick else (args.repeat, 200)
    tmp = tempfile.TemporaryDirectory()
    store = args.store
    if store is None:
        from saferhub.data.ingest import ingest_paths

        store = Path(tmp.name) / "store"
        ingest_paths([MERSEYSIDE], store=store)
    from saferhub.community import service

    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores)")
    walls, cpus = [], []
    for i in range(repeat):
        t, c = time.perf_counter(), _cpu()
        res = service.publish_neighbourhoods(store, None, GEO, out=Path(tmp.name) / f"site{i}")
        walls.append(time.perf_counter() - t)
        cpus.append(_cpu() - c)
    n_files = sum(1 for _ in (Path(tmp.name) / "site0").rglob("*") if _.is_file())
    print(f"export: {res['wards']} wards, {n_files} files; wall median {statistics.median(walls):.1f} s "
          f"(runs {', '.join(f'{w:.1f}' for w in walls)}), CPU median {statistics.median(cpus):.1f} s; "
          f"target <= {EXPORT_TARGET_S:.0f} s: {'met' if statistics.median(walls) <= EXPORT_TARGET_S else 'NOT met'}")

    os.environ["SAFERHUB_STORE"] = str(store)
    from fastapi.testclient import TestClient

    from saferhub.api import create_app

    with TestClient(create_app(db=f"sqlite:///{Path(tmp.name) / 'hub.sqlite3'}", secret="bench")) as client:
        client.get("/public/liverpool-anfield")  # parses the model once
        times = []
        for _ in range(requests):
            t = time.perf_counter()
            r = client.get("/public/liverpool-anfield")
            times.append(1000 * (time.perf_counter() - t))
            assert r.status_code == 200
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"public page /public/liverpool-anfield: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
          f"({requests} requests); target <= {PAGE_TARGET_MS:.0f} ms: "
          f"{'met' if statistics.median(times) <= PAGE_TARGET_MS else 'NOT met'}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
