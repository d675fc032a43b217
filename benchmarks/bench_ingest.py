"""Ingest speed: the 36 Merseyside street months into a fresh store vs a bare `pyarrow.csv` read.

    python benchmarks/bench_ingest.py [--data DIR] [--repeat 5]
    python benchmarks/bench_ingest.py --only ingest|bare     (one side, for whole-process timing)

Each repeat runs the two back to back (a pair), so drift in the machine's speed hits both alike;
prints every pair's wall-clock and CPU seconds (all threads) and ratio ingest / bare, and the
median of the pairwise ratios (the figure to quote; target: <= 2 in wall-clock time). CPU time
is much less sensitive to other processes on a loaded machine; the load average is printed,
and on a busy machine the wall-clock ratio mostly reflects the scheduler's share, not the code.
Set SAFERHUB_GEO_DIR to include the boundary check and the LSOA edition look-ups.
"""

from __future__ import annotations

import argparse
import os
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
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--only", choices=["ingest", "bare"])
    args = ap.parse_args()
    files = sorted(args.data.glob("*-street.csv*"))
    if args.only:
        rows = (ingest if args.only == "ingest" else bare)(files)
        print(f"{args.only}: {rows:,} rows")
        return
    bare(files[:2]), ingest(files[:2])  # warm-up: imports, page cache
    load = os.getloadavg()[0]
    pairs = []   # (bare wall, ingest wall, bare cpu, ingest cpu), the two run back to back
    for _ in range(args.repeat):
        row = {}
        for name, fn in (("bare", bare), ("ingest", ingest)):
            t, c = time.perf_counter(), time.process_time()
            rows = fn(files)
            row[name] = (time.perf_counter() - t, time.process_time() - c)
        pairs.append((row["bare"][0], row["ingest"][0], row["bare"][1], row["ingest"][1]))
    load = max(load, os.getloadavg()[0])
    print(f"files: {len(files)} street months, {rows:,} rows; {os.cpu_count()} cores, "
          f"load average up to {load:.1f} during the run" + (" (busy: wall times are unreliable)"
                                                               if load > 0.5 * os.cpu_count() else ""))
    print("pair  bare s  ingest s  ratio   | CPU: bare s  ingest s  ratio")
    for k, (bw, iw, bc, ic) in enumerate(pairs, 1):
        print(f"{k:>4}  {bw:6.2f}  {iw:8.2f}  {iw / bw:5.2f}x  |      {bc:6.2f}  {ic:8.2f}  {ic / bc:5.2f}x")
    med = statistics.median(iw / bw for bw, iw, _, _ in pairs)
    med_cpu = statistics.median(ic / bc for _, _, bc, ic in pairs)
    print(f"median of the pairwise ratios, wall: {med:.2f}x (target <= 2x: {'met' if med <= 2 else 'NOT met'}); "
          f"CPU: {med_cpu:.2f}x")
    print(f"median seconds: bare {statistics.median(p[0] for p in pairs):.2f}, "
          f"ingest {statistics.median(p[1] for p in pairs):.2f}")

if __name__ == "__main__":
    main()
