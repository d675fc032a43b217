"""The national store on a big SYNTHETIC national store (saferhub.national.synthetic: the real
Merseyside months replayed as many forces, moved in space and time):

1. `events()` for one force-month (target <= 100 ms), reference: the catalog load alone;
2. `events(bbox=...)` for a 2 km box over every force and month, against reading the same force's
   partitions whole and filtering (what a store without extents, Hilbert order and row groups does);
3. a national count by month and category (target <= 10 s on 2 cores): DuckDB and pyarrow over the
   same files, side by side, and their ratio;
4. the ingest of a SYNTHETIC national archive month (one real Merseyside month renamed as
   --archive-forces forces, laid out as police.uk's all-forces zip): rows/s against a bare pyarrow
   CSV read of the same members, and the peak memory (VmHWM) of the ingest against one force's.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_national_store.py --store /tmp/natstore/nat100m \\
        [--source-store S] [--build-forces 183] [--archive-forces 44] [--skip-archive]

--store: the synthetic store to measure; built first when missing (--build-forces forces replaying
--source-store, itself ingested from --data when missing; 183 forces of the 547k-row Merseyside
store make ~100M rows). Delete big stores when done: they are not temporary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
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


CHILD = r"""
import json, re, sys, time
from pathlib import Path
from saferhub.data.ingest import ingest_paths
from saferhub.data.archive import per_force
t0 = time.perf_counter()
report = ingest_paths([sys.argv[1]], store=sys.argv[2])
seconds = time.perf_counter() - t0
forces = per_force(report)
print(json.dumps({"seconds": seconds, "read": sum(t.read for t in forces), "stored": sum(t.stored for t in forces),
                  "balanced": all(t.balanced for t in forces), "forces": len(forces),
                  "peak_rss_mb": int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024}))
"""


def ingest_child(archive: Path, store: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    out = subprocess.run([sys.executable, "-c", CHILD, str(archive), str(store)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bare_read(archive: Path) -> tuple[int, float]:
    """Every CSV member of the zip read by pyarrow.csv, member by member (the bare reference)."""
    import io
    import zipfile

    import pyarrow.csv as pacsv

    t0 = time.perf_counter()
    rows = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.filename.endswith(".csv"):
                rows += pacsv.read_csv(io.BytesIO(zf.read(info))).num_rows
    return rows, time.perf_counter() - t0


def build(args) -> None:
    from saferhub.data.ingest import ingest_paths
    from saferhub.national.synthetic import synthesize

    if not (args.source_store / "catalog.json").exists():
        ingest_paths(sorted(args.data.glob("*-street.csv*")), store=args.source_store)
    t0 = time.perf_counter()
    s = synthesize(args.source_store, args.store, forces=args.build_forces, seed=1)
    print(f"built: {s['rows']:,} SYNTHETIC rows as {s['forces']} forces in {time.perf_counter() - t0:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--source-store", type=Path, default=Path(tempfile.gettempdir()) / "natstore" / "src-store")
    ap.add_argument("--build-forces", type=int, default=183)
    ap.add_argument("--archive-forces", type=int, default=44)
    ap.add_argument("--archive-month", default="2019-06")
    ap.add_argument("--skip-archive", action="store_true")
    args = ap.parse_args()

    import numpy as np

    from saferhub.config import resolve_store
    from saferhub.data import events
    from saferhub.data.store import Catalog
    from saferhub.national.counts import national_counts

    print(f"load average before: {open('/proc/loadavg').read().split()[:3]} (2 cores, shared)")
    if not (args.store / "catalog.json").exists():
        build(args)
    root = resolve_store(args.store)
    cat = Catalog.load(root)
    parts = [k for k in cat.partitions if k.startswith("events/")]
    rows = sum(cat.partitions[k]["rows"] for k in parts)
    size = sum((root / cat.partitions[k]["file"]).stat().st_size for k in parts)
    print(f"store: {rows:,} SYNTHETIC rows in {len(parts):,} force-month partitions, {size / 2**30:.1f} GiB")

    # 1. one force-month
    force, month = "synthetic-07", "2019-06"
    key = f"events/{force}/{month}"
    if key not in cat.partitions:
        force, month = parts[len(parts) // 2].split("/")[1:]
    t_cat = timed(lambda: Catalog.load(root))
    n = events(root, force=force, months=month).num_rows
    t_one = timed(lambda: events(root, force=force, months=month))
    t_cols = timed(lambda: events(root, force=force, months=month, columns=["x", "y", "month", "category"]))
    print(f"events() one force-month ({force} {month}, {n:,} rows): {t_one * 1e3:.1f} ms all columns, "
          f"{t_cols * 1e3:.1f} ms x/y/month/category (target <= 100 ms); the catalog load alone "
          f"({len(cat.partitions):,} partitions): {t_cat * 1e3:.1f} ms")

    # 2. a 2 km box, every force and month
    t = events(root, force=force, months=month, columns=["x", "y"])
    cx, cy = float(np.nanmedian(np.asarray(t["x"]))), float(np.nanmedian(np.asarray(t["y"])))
    box = (cx - 1000, cy - 1000, cx + 1000, cy + 1000)
    hits = events(root, bbox=box, columns=["x", "y"]).num_rows
    t_box = timed(lambda: events(root, bbox=box, columns=["event_id", "x", "y", "month", "category"]), 3)

    def whole():   # the reference: the force's partitions read whole, then filtered
        w = events(root, force=force, columns=["event_id", "x", "y", "month", "category"])
        x, y = np.asarray(w["x"]), np.asarray(w["y"])
        return w.filter((x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3]))

    assert whole().num_rows == hits
    t_whole = timed(whole, 3)
    print(f"events(bbox=2 km box) over every force and month: {hits:,} rows in {t_box * 1e3:.0f} ms; "
          f"the force's {len(events(root, force=force, columns=['month']).column(0).unique())} months read whole "
          f"and filtered: {t_whole * 1e3:.0f} ms ({t_whole / t_box:.1f}x)")

    # 3. national count by month and category
    national_counts(root, engine="duckdb")   # warm the page cache for both alike
    t_duck = timed(lambda: national_counts(root, engine="duckdb"), 3)
    t_arrow = timed(lambda: national_counts(root, engine="pyarrow"), 3)
    a, b = national_counts(root, engine="duckdb"), national_counts(root, engine="pyarrow")
    assert a.equals(b) and a["events"].sum() == rows
    print(f"national count by month x category ({len(a):,} cells, {rows:,} rows): DuckDB {t_duck:.2f} s, "
          f"pyarrow {t_arrow:.2f} s (pyarrow / DuckDB = {t_arrow / t_duck:.2f}x; target <= 10 s)")

    # 4. a SYNTHETIC national archive month
    if not args.skip_archive:
        from saferhub.data.archive import synthetic_archive
        from saferhub.data.forces import FORCES

        forces = sorted(FORCES)[: args.archive_forces]
        src = args.data / f"{args.archive_month}-merseyside-street.csv.gz"
        with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
            tmp = Path(tmp)
            synthetic_archive([src], forces, tmp / "national.zip")
            synthetic_archive([src], ["merseyside"], tmp / "one.zip")
            n_bare, t_bare = bare_read(tmp / "national.zip")
            nat = ingest_child(tmp / "national.zip", tmp / "s-national")
            one = ingest_child(tmp / "one.zip", tmp / "s-one")
            assert nat["read"] == n_bare and nat["balanced"] and nat["forces"] == len(forces)
            print(f"SYNTHETIC national archive month ({len(forces)} forces x {args.archive_month}, {n_bare:,} rows): "
                  f"ingest {nat['read'] / nat['seconds']:,.0f} rows/s ({nat['seconds']:.1f} s), bare pyarrow CSV read "
                  f"{n_bare / t_bare:,.0f} rows/s ({t_bare:.1f} s): ingest / bare time = {nat['seconds'] / t_bare:.1f}x; "
                  f"read = stored + quarantined for every force: {nat['balanced']}; peak memory {nat['peak_rss_mb']:.0f} MB "
                  f"against {one['peak_rss_mb']:.0f} MB for one force's file")
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
