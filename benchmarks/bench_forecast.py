"""Forecast speed (and the 2020 accuracy table) on the real Merseyside data.

    PYTHONPATH=src nice python benchmarks/bench_forecast.py [--store STORE]

Without --store the police.uk CSVs in ../shared/data/police-uk/merseyside are ingested into a
temporary store first. Figures printed with the ratio to the named reference:
  1. grid SEPP fit on ~50k events (150 m grid)           target <= 1 s   (open_cp grid SEPP ~10 s)
  2. prospective hotspotting, 50k events onto 10k cells  target <= 0.2 s (open_cp ~18 s)
  3. full 2020 backtest, 12 origins x every model, 150 m target <= 60 s
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
MERSEYSIDE = REPO.parent / "shared" / "data" / "police-uk" / "merseyside"
GEO = REPO.parent / "shared" / "data" / "geo"


def best_of(fn, repeat=3):
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def oracle_class():
    """A CHEATING forecaster, for diagnosis only (never offered as a model): it counts the 12 months
    before AND the 12 months after the forecast month (not the month itself). Its gain over the
    last-12-months baseline estimates how much any honest forecast could gain at this resolution."""
    from saferhub.forecast.models import Model

    class Oracle(Model):
        def __init__(self, half: int = 12):
            self.half, self.target = half, "count"

        def _risk(self, history, cube):
            i = history.shape[0]  # index of the forecast month
            idx = [j for j in range(max(0, i - self.half), min(len(cube.months), i + self.half + 1)) if j != i]
            return cube.counts[idx].sum(axis=0)

    return Oracle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store")
    ap.add_argument("--skip-backtest", action="store_true")
    args = ap.parse_args()
    from saferhub.data import events
    from saferhub.forecast.backtest import run_backtest, summarise
    from saferhub.geo.cube import build_cube
    from saferhub.forecast.models import ProspectiveHotspot
    from saferhub.forecast.registry import ALL, make_model
    from saferhub.forecast.sepp import fit_sepp
    from saferhub.forecast.service import load_cube
    from saferhub.geo.grid import Grid

    store = args.store
    if not store:
        from saferhub.data.ingest import ingest_paths
        store = tempfile.mkdtemp(prefix="bench-forecast-")
        ingest_paths([MERSEYSIDE], store=store)
    print(f"# forecast benchmarks ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")

    ev = events(store, categories="grip", located_only=True)
    x, y = ev["x"].to_numpy(), ev["y"].to_numpy()
    month = ev["month"].to_numpy().astype("datetime64[M]")

    # 1. SEPP on the most recent ~50k Grip events (whole months), 150 m grid over Merseyside
    months = np.unique(month)[::-1]
    cum = np.cumsum([np.sum(month == m) for m in months])
    keep_months = months[: int(np.searchsorted(cum, 50_000)) + 1]
    sel = np.isin(month, keep_months)
    grid = Grid.covering(x, y, 150)
    cube = build_cube(x[sel], y[sel], month[sel], grid)
    n_events = int(cube.counts.sum())
    fit_sepp(cube.counts[:2], max_iter=2)  # numba compile (cached on disk after the first run)
    t_sepp, p = best_of(lambda: fit_sepp(cube.counts, max_iter=30, tol=1e-3))
    print(f"1. grid SEPP fit: {n_events:,} events, {len(keep_months)} months, {grid.n_cells:,} cells, "
          f"{p['iterations']} EM iterations: {t_sepp:.2f} s  (target 1 s; open_cp ~10 s -> {10 / t_sepp:.0f}x)")

    # 2. prospective hotspotting: 50k events onto a 100 x 100 grid (400 m cells), from raw events
    g10 = Grid.from_bounds(330000, 380000, 369999, 419999, 400)
    inside = g10.flat_index(x, y) >= 0
    idx = np.flatnonzero(inside)[-50_000:]

    def prospective():
        c = build_cube(x[idx], y[idx], month[idx], g10)
        return ProspectiveHotspot(bandwidth=1200, time_bandwidth=2).fit(c, c.months[-1]).predict()

    prospective()
    t_pro, _ = best_of(prospective, 5)
    print(f"2. prospective hotspotting: {idx.size:,} events onto {g10.n_cells:,} cells: {t_pro * 1000:.0f} ms "
          f"(target 200 ms; open_cp ~18 s -> {18 / t_pro:.0f}x)")
    if args.skip_backtest:
        return

    # 3. the full 2020 backtest, every model, 150 m, Grip
    t = time.perf_counter()
    cube = load_cube(store, "grip", 150, geo_dir=GEO if GEO.is_dir() else None)
    t_load = time.perf_counter() - t
    models = {n: make_model(n) for n in ALL}
    months = np.arange(np.datetime64("2020-01"), np.datetime64("2021-01"), dtype="datetime64[M]")
    t = time.perf_counter()
    res = run_backtest(cube, models, months)
    t_bt = time.perf_counter() - t
    print(f"3. full 2020 backtest: 12 origins x {len(models)} models, {int(cube.area.sum()):,} cells: "
          f"{t_bt:.1f} s (+ {t_load:.1f} s loading the store and the study area)  (target 60 s)")
    print("   seconds per model (12 fits):", ", ".join(f"{k} {v:.1f}" for k, v in res.timings.items()))
    s = summarise(res)
    pd.set_option("display.width", 200)
    cols = ["model", "coverage", "hit_rate", "pai", "pai_sd", "pai_gain_pct", "months_beating_baseline",
            "pei_star", "rri", "harm_hit_rate", "stability", "brier", "log_score"]
    print(s[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    s.to_csv(Path(tempfile.gettempdir()) / "bench-forecast-2020.csv", index=False)

    # diagnostic ceiling: the cheating oracle vs the baseline
    cheat = run_backtest(cube, {"counts12": make_model("counts12"), "oracle": oracle_class()(12)}, months)
    cs = summarise(cheat)
    cs = cs[cs.model == "oracle"]
    print("diagnostic (cheats: uses the 12 months after the forecast month too): PAI gain over counts12 "
          + ", ".join(f"{c:.0%} {g:+.1f}%" for c, g in zip(cs.coverage, cs.pai_gain_pct)))


if __name__ == "__main__":
    sys.exit(main())
