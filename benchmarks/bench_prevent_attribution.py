"""Attribution of events to places: saferhub.places.attribute.nearest_place (scipy cKDTree, two
workers) against geopandas `sjoin_nearest` (shapely STRtree) on the same points.

Places and events are drawn in a 40 km square (the size of Merseyside) from a seeded generator;
half of the events are placed on a place's own point (as police.uk snaps them), half anywhere.
Both methods attribute each event to the nearest place within the radius; the script checks they
agree (apart from exact ties, which sjoin_nearest returns twice and we break by lowest index) and
prints the times and the ratio.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_prevent_attribution.py          # 1M events, 50k places
    PYTHONPATH=src .venv/bin/python benchmarks/bench_prevent_attribution.py --quick  # 100k / 5k
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def data(n_events: int, n_places: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    px, py = rng.uniform(0, 40_000, n_places).round(), rng.uniform(0, 40_000, n_places).round()
    on = rng.integers(0, n_places, n_events // 2)
    ex = np.concatenate([px[on], rng.uniform(0, 40_000, n_events - on.size)])
    ey = np.concatenate([py[on], rng.uniform(0, 40_000, n_events - on.size)])
    return ex, ey, px, py


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--radius", type=float, default=50.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_events, n_places = (100_000, 5_000) if args.quick else (1_000_000, 50_000)
    ex, ey, px, py = data(n_events, n_places)

    from saferhub.places.attribute import nearest_place

    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        idx, _ = nearest_place(ex, ey, px, py, args.radius, workers=2)
        times.append(time.perf_counter() - t)
    ours = min(times)

    import geopandas as gpd

    t = time.perf_counter()
    ev = gpd.GeoDataFrame(geometry=gpd.points_from_xy(ex, ey), crs=27700)
    pl = gpd.GeoDataFrame({"place": np.arange(n_places)}, geometry=gpd.points_from_xy(px, py), crs=27700)
    j = gpd.sjoin_nearest(ev, pl, how="left", max_distance=args.radius)
    theirs = time.perf_counter() - t
    first = j[~j.index.duplicated(keep="first")]
    tied = j.index.duplicated(keep=False)
    gp_idx = first["place"].fillna(-1).to_numpy(dtype=np.int64)
    untied = ~np.isin(np.arange(n_events), j.index[tied])
    agree = (gp_idx[untied] == idx[untied]).mean()
    print(f"events {n_events:,}, places {n_places:,}, radius {args.radius:g} m, cores {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"saferhub nearest_place (cKDTree, 2 workers): {ours:.2f} s (best of {args.repeat})")
    print(f"geopandas sjoin_nearest (STRtree):            {theirs:.2f} s")
    print(f"ratio: {theirs / ours:.1f}x; attributed {(idx >= 0).mean():.1%}; agreement off exact ties {agree:.4%}")


if __name__ == "__main__":
    main()
