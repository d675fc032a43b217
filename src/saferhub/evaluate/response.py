"""Dosage-response: crime and harm per area-week against delivered patrol minutes (a Poisson GLM with
area and week effects, cluster-robust by area). Delivered minutes are an interval (GPS fixes every
few minutes: DOMAIN.md), so the model is fitted at both ends and the mid-point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm


def weekly(dosage: pd.DataFrame, incidents: pd.DataFrame | None = None, value: str = "count") -> pd.DataFrame:
    """Per area-week: minutes_min, minutes_max (summed from daily dosage rows area_id, date, ...) and
    the outcome (`count` incidents, or the sum of `harm_weight` when value="harm")."""
    d = dosage.copy()
    d["week"] = pd.to_datetime(d["date"]).dt.to_period("W-SUN").dt.start_time
    w = d.groupby(["area_id", "week"], as_index=False)[["minutes_min", "minutes_max"]].sum()
    if incidents is None:
        w["y"] = np.nan
        return w
    inc = incidents.copy()
    inc["week"] = pd.to_datetime(inc["date"]).dt.to_period("W-SUN").dt.start_time
    inc["v"] = inc["harm_weight"] if value == "harm" else 1.0
    y = inc.groupby(["area_id", "week"])["v"].sum().rename("y").reset_index()
    w = w.merge(y, on=["area_id", "week"], how="left")
    w["y"] = w["y"].fillna(0.0)
    return w


def dose_response(weeks: pd.DataFrame, per_minutes: float = 60.0, min_events: int = 20) -> dict:
    """Rate ratio of the outcome per `per_minutes` extra delivered minutes in an area-week, with area
    and week fixed effects; at minutes_min, the mid-point and minutes_max."""
    from saferhub.evaluate.yoy import TOO_FEW

    if weeks["area_id"].nunique() < 2:
        return {"result": "needs at least two areas (area and period effects)", "events": float(weeks["y"].sum())}
    if weeks["y"].sum() < min_events:
        return {"result": TOO_FEW, "events": float(weeks["y"].sum())}
    area = pd.get_dummies(weeks["area_id"].astype(str), drop_first=True, dtype=float)
    week = pd.get_dummies(weeks["week"].astype(str), prefix="w", drop_first=True, dtype=float)
    groups = pd.factorize(weeks["area_id"])[0]
    out = {"result": "estimated", "per_minutes": per_minutes, "area_weeks": int(len(weeks)),
           "events": float(weeks["y"].sum())}
    for name, minutes in (("min", weeks["minutes_min"]), ("mid", (weeks["minutes_min"] + weeks["minutes_max"]) / 2),
                          ("max", weeks["minutes_max"])):
        X = pd.concat([pd.Series(1.0, index=weeks.index, name="const"), area, week,
                       (minutes / per_minutes).rename("dose")], axis=1)
        res = sm.GLM(weeks["y"].to_numpy(float), X.to_numpy(float), family=sm.families.Poisson()).fit(
            cov_type="cluster", cov_kwds={"groups": groups})
        b, se = float(res.params[-1]), float(res.bse[-1])
        out[name] = {"rate_ratio": float(np.exp(b)), "low": float(np.exp(b - 1.96 * se)),
                     "high": float(np.exp(b + 1.96 * se)), "p": float(res.pvalues[-1])}
    return out
