"""Crossover trials: within each area, patrol days against control days, tested by randomisation
inference (permute the arms within area x weekday strata, as the plan's randomisation allowed).

Incidents are timestamped partner records (the event store's incidents); police.uk months are too
coarse for day-level designs."""

from __future__ import annotations

import numpy as np
import pandas as pd


def daily_counts(assignment: pd.DataFrame, incidents: pd.DataFrame) -> pd.DataFrame:
    """assignment: area_id, date, arm ("patrol"/"control"); incidents: area_id, date (one row per
    incident). Returns the assignment with a `count` column (0 when nothing happened)."""
    a = assignment.copy()
    a["date"] = pd.to_datetime(a["date"]).dt.normalize()
    inc = incidents.assign(date=pd.to_datetime(incidents["date"]).dt.normalize())
    per = inc.groupby(["area_id", "date"]).size().rename("count").reset_index()
    out = a.merge(per, on=["area_id", "date"], how="left")
    out["count"] = out["count"].fillna(0).astype(float)
    return out


def crossover_test(days: pd.DataFrame, n_perm: int = 9999, seed: int = 1, min_events: int = 20) -> dict:
    """Rate ratio of incidents on patrol days vs control days (pooled within areas) and its two-sided
    randomisation p-value; arms are shuffled within area x weekday strata. days: area_id, date, arm,
    count. Fewer than `min_events` incidents: result "too few events to tell", no estimate."""
    from saferhub.evaluate.yoy import TOO_FEW

    d = days.copy()
    d["stratum"] = d["area_id"].astype(str) + "|" + pd.to_datetime(d["date"]).dt.day_of_week.astype(str)
    patrol = (d["arm"] == "patrol").to_numpy()
    y = d["count"].to_numpy(float)
    total = float(y.sum())
    base = {"incidents": total, "patrol_days": int(patrol.sum()), "control_days": int((~patrol).sum())}
    if total < min_events or patrol.all() or not patrol.any():
        return {**base, "result": TOO_FEW}

    def stat(p: np.ndarray) -> float:
        rate_p = y[p].sum() / max(p.sum(), 1)
        rate_c = y[~p].sum() / max((~p).sum(), 1)
        return np.log((rate_p + 1e-9) / (rate_c + 1e-9))

    observed = stat(patrol)
    rng = np.random.default_rng(seed)
    codes = pd.factorize(d["stratum"])[0]
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    groups = np.split(order, bounds)
    perm = np.empty(n_perm)
    shuffled = patrol.copy()
    for i in range(n_perm):
        for g in groups:
            shuffled[g] = rng.permutation(patrol[g])
        perm[i] = stat(shuffled)
    p = (1 + np.sum(np.abs(perm) >= abs(observed) - 1e-12)) / (n_perm + 1)
    rate_p = y[patrol].sum() / patrol.sum()
    rate_c = y[~patrol].sum() / (~patrol).sum()
    return {**base, "result": "estimated", "patrol_rate": float(rate_p), "control_rate": float(rate_c),
            "rate_ratio": float(np.exp(observed)), "p": float(p), "permutations": n_perm,
            "change_pct": float(100 * (np.exp(observed) - 1))}


def simulate_incidents(assignment: pd.DataFrame, base_rate: float = 0.8, patrol_effect: float = 0.0,
                       seed: int = 1) -> pd.DataFrame:
    """SIMULATED incidents for tests and demonstrations (labelled simulated): Poisson(base_rate) per
    area-day, times (1 + patrol_effect) on patrol days. Returns area_id, date, simulated=True rows."""
    rng = np.random.default_rng(seed)
    lam = base_rate * np.where(assignment["arm"].to_numpy() == "patrol", 1 + patrol_effect, 1.0)
    n = rng.poisson(lam)
    rows = assignment.loc[assignment.index.repeat(n), ["area_id", "date"]].reset_index(drop=True)
    rows["simulated"] = True
    return rows
