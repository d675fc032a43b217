"""Dosage and compliance: how much patrol each area got, per day and week, against the plan.

Pure functions over patrol visits (visits.patrol_visits) and a plan's schedule. Minutes are
intervals [min, max] because radios ping every few minutes; compliance counts a planned visit
as delivered when a patrol was in the area within `grace` minutes of its planned window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LONDON = "Europe/London"
DOSAGE_COLUMNS = ["area_id", "date", "visits", "minutes_min", "minutes_max", "planned_minutes",
                  "planned_visits", "delivered_visits", "missed_windows", "devices"]


def _local_date(ts: pd.Series) -> pd.Series:
    return pd.to_datetime(ts, utc=True).dt.tz_convert(LONDON).dt.date.astype(str)


def delivered(schedule: pd.DataFrame, patrols: pd.DataFrame, grace_minutes: float = 30.0) -> np.ndarray:
    """For each planned visit: did a patrol visit its area overlapping [start - grace, end + grace]?"""
    if schedule.empty:
        return np.zeros(0, bool)
    s = pd.to_datetime(schedule["planned_start"], utc=True) - pd.Timedelta(minutes=grace_minutes)
    e = pd.to_datetime(schedule["planned_end"], utc=True) + pd.Timedelta(minutes=grace_minutes)
    out = np.zeros(len(schedule), bool)
    if patrols.empty:
        return out
    by_area = {a: g for a, g in patrols.groupby("area_id")}
    for i, (a, lo, hi) in enumerate(zip(schedule["area_id"], s, e)):
        g = by_area.get(a)
        if g is not None:
            out[i] = bool(((g["start"] <= hi) & (g["end"] >= lo)).any())
    return out


def daily(patrols: pd.DataFrame, schedule: pd.DataFrame | None, area_ids, dates,
          device_visits: pd.DataFrame | None = None, grace_minutes: float = 30.0) -> pd.DataFrame:
    """One row per area per date (every area x every date, zeros included)."""
    grid = pd.MultiIndex.from_product([list(area_ids), [str(d) for d in dates]], names=["area_id", "date"])
    out = pd.DataFrame(index=grid)
    if not patrols.empty:
        p = patrols.assign(date=_local_date(patrols["start"]))
        agg = p.groupby(["area_id", "date"]).agg(visits=("start", "size"), minutes_min=("minutes_min", "sum"),
                                                 minutes_max=("minutes_max", "sum"))
        out = out.join(agg)
    if device_visits is not None and not device_visits.empty:
        dv = device_visits.assign(date=_local_date(device_visits["start"]))
        out = out.join(dv.groupby(["area_id", "date"])["device"].nunique().rename("devices"))
    if schedule is not None and not schedule.empty:
        sch = schedule.copy()
        minutes = (pd.to_datetime(sch["planned_end"], utc=True) - pd.to_datetime(sch["planned_start"], utc=True)
                   ).dt.total_seconds() / 60
        sch = sch.assign(minutes=minutes.to_numpy(), done=delivered(sch, patrols, grace_minutes))
        plan = sch.groupby(["area_id", "date"]).agg(planned_minutes=("minutes", "sum"),
                                                    planned_visits=("minutes", "size"),
                                                    delivered_visits=("done", "sum"))
        out = out.join(plan)
    for c in DOSAGE_COLUMNS[2:]:
        if c not in out:
            out[c] = 0
    out = out.fillna(0).reset_index()
    out["missed_windows"] = out["planned_visits"] - out["delivered_visits"]
    for c in ("visits", "planned_visits", "delivered_visits", "missed_windows", "devices"):
        out[c] = out[c].astype(int)
    return out[DOSAGE_COLUMNS]


def weekly(day: pd.DataFrame) -> pd.DataFrame:
    """The daily rows summed per area per ISO week (week starting Monday)."""
    d = day.copy()
    dates = pd.to_datetime(d["date"])
    d["week"] = (dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")).dt.date.astype(str)
    cols = ["visits", "minutes_min", "minutes_max", "planned_minutes", "planned_visits", "delivered_visits",
            "missed_windows"]
    return d.groupby(["area_id", "week"], as_index=False)[cols].sum()


def compliance(day: pd.DataFrame) -> dict:
    """Delivered against planned: visits and minutes (the minutes as an interval)."""
    pv = int(day["planned_visits"].sum())
    pm = float(day["planned_minutes"].sum())
    return {"planned_visits": pv, "delivered_visits": int(day["delivered_visits"].sum()),
            "visit_compliance": (day["delivered_visits"].sum() / pv) if pv else None,
            "planned_minutes": pm, "minutes_min": float(day["minutes_min"].sum()),
            "minutes_max": float(day["minutes_max"].sum()),
            "minutes_compliance_min": (day["minutes_min"].sum() / pm) if pm else None,
            "minutes_compliance_max": (day["minutes_max"].sum() / pm) if pm else None,
            "missed_windows": int(day["missed_windows"].sum())}


def time_between(patrols: pd.DataFrame) -> pd.DataFrame:
    """Per area: visits and the median and longest hours from the end of one patrol visit to the
    start of the next (residual deterrence fades in hours, not days)."""
    rows = []
    for a, g in patrols.sort_values("start").groupby("area_id"):
        gaps = (g["start"].iloc[1:].to_numpy() - g["end"].iloc[:-1].to_numpy()) / np.timedelta64(1, "h")
        rows.append({"area_id": a, "visits": len(g),
                     "median_hours_between": float(np.median(gaps)) if gaps.size else np.nan,
                     "longest_hours_between": float(gaps.max()) if gaps.size else np.nan})
    return pd.DataFrame(rows, columns=["area_id", "visits", "median_hours_between", "longest_hours_between"])


def headline(patrols: pd.DataFrame, since, simulated: bool = False) -> str:
    """ "N foot patrol visits in hotspot areas since DATE" (and SIMULATED when it is)."""
    n = len(patrols)
    text = f"{n:,} foot patrol visit{'s' if n != 1 else ''} in hotspot areas since {pd.Timestamp(since):%-d %B %Y}"
    return f"SIMULATED: {text}" if simulated else text
