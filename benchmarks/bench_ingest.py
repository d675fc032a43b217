"""Ingest speed: the 36 Merseyside street months into a fresh store vs a bare `pyarrow.csv` read.

    python benchmarks/bench_ingest.py [--data DIR] [--repeat 5]
    python benchmarks/bench_ingest.py --only ingest|bare     (one side, for whole-process timing)

Prints the median seconds of each and the ratio ingest / bare (target: <= 2), in wall-clock time
and in CPU time (all threads; much less sensitive to other processes on a loaded machine).
The two run alternately, so drift in the machine's speed hits both alike.
Set SAFERHUB_GEO_DIR to include the boundary check and the LSOA edition look-ups.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv

from saferhub.data.ingest import ingest_paths

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "police-uk" / "merseyside"


def bare(files) -> int:
    return sum(pacsv.read_csv(f).num_rows for f in files)


def ingest(files) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = ingest_paths(files, store=Path(tmp) / "store")
        return report.rows_after


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", choices=["ingest", "bare"])
    args = ap.parse_args()
    files = sorted(args.data.glob("*-street.csv*"))
    if args.only:
        rows = (ingest if args.only == "ingest" else bare)(files)
        print(f"{args.only}: {rows:,} rows")
        return
    bare(files[:2]), ingest(files[:2])  # warm-up: imports, page cache
    times = {"bare": [], "ingest": []}
    cpu = {"bare": [], "ingest": []}
    for _ in range(args.repeat):
        for name, fn in (("bare", bare), ("ingest", ingest)):
            t, c = time.perf_counter(), time.process_time()
            rows = fn(files)
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    b, i = statistics.median(times["bare"]), statistics.median(times["ingest"])
    ratios = [x / y for x, y in zip(times["ingest"], times["bare"])]
    print(f"files: {len(files)} street months, {rows:,} rows")
    print(f"bare pyarrow.csv read: median {b:.2f} s (min {min(times['bare']):.2f})")
    print(f"saferhub ingest:       median {i:.2f} s (min {min(times['ingest']):.2f})")
    print(f"ratio ingest / bare:   median {statistics.median(ratios):.2f}x (pairwise min {min(ratios):.2f}, "
          f"max {max(ratios):.2f}); target <= 2x")
    cb, ci = statistics.median(cpu["bare"]), statistics.median(cpu["ingest"])
    print(f"CPU time (all threads): bare {cb:.2f} s, ingest {ci:.2f} s, ratio {ci / cb:.2f}x")


if __name__ == "__main__":
    main()
