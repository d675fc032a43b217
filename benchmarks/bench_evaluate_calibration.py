"""Evaluation calibration on the real Merseyside data (issue 10): 200 placebo programmes, false-positive
share per method and power against an injected -20% reduction, and the time taken.

    PYTHONPATH=src nice python benchmarks/bench_evaluate_calibration.py [--store STORE] [--programmes 200] [--seed 1]

Without --store the police.uk CSVs in ../shared/data/police-uk/merseyside are ingested into a
temporary store first. Prints both tables and the time beside the target (<= 60 s on 2 cores),
with CPU time and the machine load, because the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MERSEYSIDE = REPO.parent / "shared" / "data" / "police-uk" / "merseyside"
TARGET_S = 60.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path)
    ap.add_argument("--programmes", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from saferhub.evaluate.calibrate import calibrate_store

    tmp = None
    store = args.store
    if store is None:
        from saferhub.data.ingest import ingest_paths

        tmp = tempfile.TemporaryDirectory()
        store = Path(tmp.name) / "store"
        ingest_paths([MERSEYSIDE], store=store)
    load = os.getloadavg()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    t0 = time.perf_counter()
    result = calibrate_store(store=store, months="2018-01:2020-12", n_programmes=args.programmes, seed=args.seed)
    wall = time.perf_counter() - t0
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0
    table = result["table"]
    print(f"placebo programmes: {args.programmes} x (null + injected {result['params']['effect']:+.0%}), "
          f"{result['params']['n_areas']} hot 200 m cells each, {result['params']['period']}-month periods, "
          f"seed {args.seed}")
    print("\nFalse-positive share at 5% (must lie in 2%-9%) and power against the injected reduction:")
    print(table.drop(columns="what").to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\ntime (cube + {args.programmes} programmes): {wall:.1f} s wall, {cpu:.1f} s CPU; "
          f"target <= {TARGET_S:.0f} s; ratio {wall / TARGET_S:.2f} ({'met' if wall <= TARGET_S else 'not met'})")
    print(f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    if tmp:
        tmp.cleanup()
    sys.exit(0)


if __name__ == "__main__":
    main()
