"""National scale on a SYNTHETIC national store (saferhub.national.synthetic: the real Merseyside
months replayed as many forces, moved in space and time):

1. `events()` for one force-month, and a national count by month and category — pyarrow datasets
   (through `events()`) and DuckDB over the same Parquet files, side by side;
2. the national table (per force: Gi*, concentration, forecast skill) in one process, and on a Dask
   LocalCluster of 1 and of 2 workers: the speed-up from 1 to 2 workers.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_national.py [--quick] [--forces 8] [--fraction 1.0]

--quick: 6 source months, 4 forces of a quarter of the rows each (about a minute).
The scaling of per-force Gi* over 44 forces (1 vs 2 workers, peak memory per worker, the 16-core
estimate) is benchmarks/bench_national_scaling.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "police-uk" / "merseyside"


def timed(fn, repeat=5):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--forces", type=int, default=8)
    ap.add_argument("--fraction", type=float, default=1.0)
    ap.add_argument("--months", type=int, default=36, help="source months replayed")
    args = ap.parse_args()
    if args.quick:
        args.forces, args.fraction, args.months = 4, 0.25, 6
    import duckdb

    from saferhub.data import events
    from saferhub.data.ingest import ingest_paths
    from saferhub.national.runner import national
    from saferhub.national.synthetic import synthesize
    from saferhub.query import EventQuery, UnitSpec

    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores shared with other work)")
    with tempfile.TemporaryDirectory() as tmp:
        src, nat = Path(tmp) / "src", Path(tmp) / "national"
        files = sorted(args.data.glob("*-street.csv*"))[-args.months:]
        ingest_paths(files, store=src)
        t0 = time.perf_counter()
        s = synthesize(src, nat, forces=args.forces, fraction=args.fraction, seed=1)
        print(f"synthetic store: {s['rows']:,} rows as {s['forces']} forces in {time.perf_counter() - t0:.1f} s")

        month = events(nat, force="synthetic-01", columns=["month"])["month"].to_numpy().astype("datetime64[M]").max()
        one = timed(lambda: events(nat, force="synthetic-01", months=str(month)))
        print(f"events() one force-month: {one * 1000:.1f} ms (median of 5)")

        def arrow_count():
            t = events(nat, columns=["month", "category"], harm_weights=None)
            return t.group_by(["month", "category"]).aggregate([("month", "count")])

        files = [str(p) for p in (nat / "parts" / "events").rglob("*.parquet")]

        def duck_count():
            return duckdb.sql(f"select month, category, count(*) from read_parquet({files!r}) group by all").fetchall()

        print(f"national count by month x category: pyarrow {timed(arrow_count, 3):.2f} s, "
              f"DuckDB {timed(duck_count, 3):.2f} s (median of 3)")

        q, u = EventQuery(store=nat, categories="grip"), UnitSpec(cell_size=150)
        times = {}
        for label, kw in (("one process", {"workers": 0}), ("Dask, 1 worker", {"workers": 1}),
                          ("Dask, 2 workers", {"workers": 2})):
            t0 = time.perf_counter()
            r = national(q, u, **kw)
            times[label] = time.perf_counter() - t0
            print(f"national table, {label}: {times[label]:.1f} s ({r.params['ran']} forces, "
                  f"{r.params['failed']} failed)")
        print(f"speed-up 1 -> 2 workers: {times['Dask, 1 worker'] / times['Dask, 2 workers']:.2f}x "
              f"(load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
