"""Knox test, 10,000 events, 99 permutations; target <= 5 s (open_cp ~250 s per the issue).
Uses real Merseyside burglaries 2018-2020 (snap points, months) and, as a second case, uniform
random points over a city-sized square with day times. Run: nice python benchmarks/bench_hotspots_knox.py"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.geo.project import to_bng
from saferhub.hotspots.nearrepeat import knox

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "police-uk" / "merseyside"


def run(label, x, y, t, space, time_bands, unit):
    t0 = time.perf_counter()
    k = knox(x, y, t, space, time_bands, permutations=99, seed=1, time_unit=unit)
    dt = time.perf_counter() - t0
    print(f"{label}: {k.n_events:,} events, {k.n_close_pairs:,} close pairs, 99 permutations: {dt:.2f} s "
          f"({'OK' if dt <= 5 else 'MISSED'} target 5 s; open_cp ~250 s -> {250 / dt:,.0f}x)")


def main():
    files = sorted(DATA.glob("20*-merseyside-street.csv.gz"))
    df = pd.concat([pd.read_csv(f, usecols=["Month", "Longitude", "Latitude", "Crime type"]) for f in files])
    df = df[(df["Crime type"] == "Burglary") & df["Longitude"].notna()]
    df = df.sample(10_000, random_state=0)
    x, y = to_bng(df["Longitude"].to_numpy(), df["Latitude"].to_numpy())
    m = pd.to_datetime(df["Month"])
    t = (m.dt.year * 12 + m.dt.month).to_numpy()
    run("Merseyside burglary (months, bands 0-400 m x 0-3 months)", x, y, t, "0,100,200,300,400", "0,1,2,3",
        "months")
    rng = np.random.default_rng(0)
    run("uniform 10 km square (days, bands 0-500 m x 0-28 days)", rng.uniform(0, 10000, 10000),
        rng.uniform(0, 10000, 10000), rng.integers(0, 730, 10000), "100,200,300,400,500", "7,14,21,28", "days")


if __name__ == "__main__":
    main()
