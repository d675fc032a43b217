"""Calibration on real data: placebo programmes with no intervention should be called significant at
5% about 5% of the time; with an injected reduction, the share detected is the power.

A placebo programme (as an operation would be planned): a random start month s, the `period` months
from s are "after", the same months a year earlier are "before"; `n_areas` cells drawn at random from
the `hot_pool` busiest cells of the 12 months before s (so regression to the mean is present, as in
real life). Controls, buffers and reference sets are chosen exactly as for a real run (methods.assess).
Injected effect: each treated after-period event is kept with probability 1 + effect (binomial
thinning), e.g. effect = -0.2.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from saferhub.evaluate import did, reference
from saferhub.evaluate.methods import assess
from saferhub.geo.cellsize import EVALUATION_CELL_SIZE
from saferhub.geo.cube import SparseCube

METHODS = {  # name -> (p-value key, plain description)
    "YoY C-test (Poisson)": ("yoy_p_c", "treated areas' after vs before, conditional binomial"),
    "YoY E-test (Poisson)": ("yoy_p_e", "treated areas' after vs before, Krishnamoorthy-Thomson"),
    "YoY referenced": ("yoy_p_ref", "change vs 199 reference sets from matched groups incl. the area (used)"),
    "DiD quasi-Poisson GLM": ("did_p", "place + period effects, Pearson-scaled variance + shared-swing variance (used)"),
    "WDD, Poisson variance": ("wdd_p_poisson", "Wheeler & Ratcliffe SE as published"),
    "WDD referenced": ("wdd_p", "areas + rings change vs 199 matched reference sets and their own rings (used)"),
}


def design_for(cube: SparseCube, treated: np.ndarray, s: int, period: int, rng, n_reference: int = 199,
               per_treated: int = 3, pool: int = 10, buffer_cells: int = 1):
    """Everything `assess` needs for treated cells and start column s, from the cube alone."""
    before = np.arange(s - 12, s - 12 + period)
    after = np.arange(s, s + period)
    pre = np.arange(s - 12, s)
    did_cols = np.arange(s - 12, s + period)
    dist = cube.ring_distance(treated)
    eligible = (dist > buffer_cells) & (cube.counts[:, pre].sum(axis=1) > 0)
    controls = did.match_pools(cube.counts[:, pre], treated, eligible, per_treated=pool)[:, :per_treated].ravel()
    controls = controls[controls >= 0]
    buffer = (dist >= 1) & (dist <= buffer_cells)
    # The published WDD's buffer control, matched cell by cell on the buffer's own level (shown only).
    free = eligible.copy()
    free[controls] = False
    bcells = np.flatnonzero(buffer)
    bpools = did.nearest_pools(cube.counts[:, pre], bcells, free, k=1)
    cbuffer = bpools[:, 0] if bpools.shape[1] else np.zeros(0, dtype=int)
    draws = reference.draw_sets(reference.matched_groups(cube.counts[:, pre], treated, eligible, k=pool),
                                n_reference, rng)
    # Each reference set's rings: the cells within `buffer_cells` of its members, never a treated
    # cell (those are the treated area, not a ring). Thinning touches only treated cells, so these
    # sums hold for the null and the injected runs alike.
    without = cube.counts.copy()
    without[treated] = 0
    return {"before": before, "after": after, "did_cols": did_cols, "controls": controls,
            "buffer": bcells, "cbuffer": cbuffer, "draws": draws,
            "ring_reference": cube.ring_sums(draws, buffer_cells, without)}


def run_programme(cube: SparseCube, counts: np.ndarray, treated: np.ndarray, d: dict) -> dict:
    buffer = counts[d["buffer"]].sum(axis=0)  # the treated set's rings, counted as the reference sets' are
    return assess(counts[treated], counts[d["controls"]], buffer, counts[d["cbuffer"]].sum(axis=0), d["before"],
                  d["after"], d["did_cols"], counts[d["draws"]].sum(axis=1), buffer, d["ring_reference"])


def calibrate(cube: SparseCube, n_programmes: int = 200, n_areas: int = 10, hot_pool: int = 100,
              period: int = 9, effect: float = -0.2, alpha: float = 0.05, seed: int = 1) -> dict:
    """Run `n_programmes` placebo programmes, each evaluated twice: as is (null) and with the injected
    effect. Returns {"null": DataFrame, "effect": DataFrame, "table": summary DataFrame, "seconds"}."""
    rng = np.random.default_rng(seed)
    t_start = time.perf_counter()
    starts = np.arange(12, cube.months.size - period + 1)
    null_rows, eff_rows = [], []
    for _ in range(n_programmes):
        s = int(rng.choice(starts))
        busiest = np.argsort(-cube.counts[:, s - 12:s].sum(axis=1), kind="stable")[:hot_pool]
        treated = np.sort(rng.choice(busiest, size=n_areas, replace=False))
        d = design_for(cube, treated, s, period, rng)
        null_rows.append({"start": str(cube.months[s]), **run_programme(cube, cube.counts, treated, d)})
        thinned = cube.counts.copy()
        thinned[np.ix_(treated, d["after"])] = rng.binomial(
            cube.counts[np.ix_(treated, d["after"])].astype(np.int64), 1 + effect)
        eff_rows.append({"start": str(cube.months[s]), **run_programme(cube, thinned, treated, d)})
    null, eff = pd.DataFrame(null_rows), pd.DataFrame(eff_rows)
    rows = []
    for name, (key, what) in METHODS.items():
        share = float((null[key] < alpha).mean())
        lo, hi = _wilson(int((null[key] < alpha).sum()), len(null))
        # Power counts only detections in the right direction (a reduction).
        down = _direction(eff, key)
        rows.append({"method": name, "what": what, "false_positive_share": share, "fp_low": lo, "fp_high": hi,
                     "within_2_to_9pct": 0.02 <= share <= 0.09, "power": float(((eff[key] < alpha) & down).mean())})
    return {"null": null, "effect": eff, "table": pd.DataFrame(rows), "seconds": time.perf_counter() - t_start,
            "params": {"n_programmes": n_programmes, "n_areas": n_areas, "hot_pool": hot_pool, "period": period,
                       "effect": effect, "alpha": alpha, "seed": seed, "cell_size": cube.cell_size,
                       "months": f"{cube.months[0]}:{cube.months[-1]}"}}


def _direction(df: pd.DataFrame, key: str) -> pd.Series:
    if key.startswith("yoy_p_ref"):
        return df["yoy_rr"] < df["yoy_ref_rr"]
    if key.startswith("yoy"):
        return df["yoy_rr"] < 1
    if key.startswith("did"):
        return df["did_rate_ratio"] < 1
    if key == "wdd_p_poisson":
        return df["wdd_published"] < 0
    return df["wdd"] < 0


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson interval for a share k/n (how precisely 200 placebos pin the false-positive rate)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def calibrate_store(store=None, force=None, months="2018-01:2020-12", categories=None, cell_size: float = EVALUATION_CELL_SIZE,
                    query=None, **kw) -> dict:
    """Build the cube from the event store once, then `calibrate` on it. `query` (an EventQuery)
    replaces store, force, months and categories."""
    if query is not None:
        store, force, months, categories = query.store, query.force, query.month_list, query.categories
    from saferhub.data import events
    from saferhub.geo.cube import build_sparse_cube
    from saferhub.errors import SaferhubError

    table = events(store=store, force=force, months=months, categories=categories,
                   columns=["x", "y", "month", "harm_weight"], located_only=True)
    if table.num_rows == 0:
        raise SaferhubError("no located events in the store for those months")
    cube = build_sparse_cube(table["x"].to_numpy(), table["y"].to_numpy(), table["month"].to_numpy(),
                      table["harm_weight"].to_numpy(), cell_size=cell_size)
    if cube.months.size < 12 + kw.get("period", 9):
        raise SaferhubError(f"calibration needs at least {12 + kw.get('period', 9)} months of data")
    return calibrate(cube, **kw)
