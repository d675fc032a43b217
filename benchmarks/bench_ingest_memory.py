"""Ingest memory: peak RSS of a fresh process ingesting the first N Merseyside street months, for
a few N. With each file's rows let go once written, the peak should not grow with N.

    python benchmarks/bench_ingest_memory.py [--data DIR] [--counts 6,18,36]

Prints, per N: peak RSS (the child's VmHWM: ru_maxrss would include the parent's, which Linux
carries across exec) and the most Arrow memory held at any file's completion
(pyarrow.total_allocated_bytes, sampled by the ingest's on_file callback).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "police-uk" / "merseyside"

CHILD = """
import json, re, sys, tempfile
from pathlib import Path
import pyarrow as pa
from saferhub.data.ingest import ingest_paths
files = sorted(Path(sys.argv[1]).glob("*-street.csv*"))[:int(sys.argv[2])]
held = [0]
def on_file(name):
    held[0] = max(held[0], pa.total_allocated_bytes())
with tempfile.TemporaryDirectory() as tmp:
    report = ingest_paths(files, store=Path(tmp) / "s", on_file=on_file)
print(json.dumps({"files": len(files), "rows": report.rows_after, "held_mb": held[0] / 2**20,
                  "peak_rss_mb": int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--counts", default="6,18,36")
    args = ap.parse_args()
    print("files  rows       peak RSS MB  Arrow held at a file's end, MB")
    for n in (int(c) for c in args.counts.split(",")):
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.data), str(n)], capture_output=True,
                             text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['files']:>5}  {r['rows']:>9,}  {r['peak_rss_mb']:>11.0f}  {r['held_mb']:>10.1f}")


if __name__ == "__main__":
    main()
