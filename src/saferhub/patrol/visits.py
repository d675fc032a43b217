"""Visits from GPS pings: when was a patrol in an area, and for how long at least and at most.

Vectorised over all pings at once (numpy, no loop per ping or per device):
  1. each ping gets the area it falls in (areas buffered by `buffer` metres; AreaIndex);
  2. consecutive in-area pings of one device in one area join one visit while the time between
     them is at most `merge_gap` (short trips out, drop-outs and noisy fixes are bridged);
  3. a visit whose pings mostly move faster than `vehicle_speed` is a drive-by and is discarded,
     and one whose least possible dwell is under `min_dwell` is passing through, not a visit;
  4. dwell is an interval: at least last-minus-first in-area ping, at most from the ping before
     to the ping after (each side capped at `max_gap`: a radio off longer than that proves nothing).
Radios that report every few minutes give wide intervals; that is the honest answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from saferhub.patrol.locate import AreaIndex, effective_areas


@dataclass(frozen=True)
class VisitRules:
    buffer: float = 25.0          # metres round each area that still counts as in it
    min_dwell: float = 300.0      # seconds the least possible dwell must reach
    merge_gap: float = 900.0      # seconds between in-area pings that still continue a visit
    max_gap: float = 900.0        # seconds: cap on the unseen time either side of a visit
    vehicle_speed: float = 4.0    # m/s: a brisk walk is 1.5-2; above this is a vehicle
    default_accuracy: float = 20.0  # metres assumed for fixes that report no accuracy


VISIT_COLUMNS = ["device", "area_id", "start", "end", "earliest", "latest", "dwell_min_s", "dwell_max_s", "minutes_min",
                 "minutes_max", "pings", "simulated"]


@dataclass
class Detected:
    visits: pd.DataFrame      # one row per visit, VISIT_COLUMNS
    drive_bys: int            # in-area runs discarded as vehicles
    too_short: int            # in-area runs shorter than min_dwell
    pings: int                # pings looked at
    in_areas: int             # pings inside a (buffered) area


def sort_pings(device_codes: np.ndarray, t_us: np.ndarray) -> np.ndarray | None:
    """Order by device then time, or None when already in that order (the store keeps days
    sorted, so a single day needs no sort)."""
    d = np.asarray(device_codes, np.int64)
    t = np.asarray(t_us, np.int64)
    if d.size < 2:
        return None
    if np.all((d[1:] > d[:-1]) | ((d[1:] == d[:-1]) & (t[1:] >= t[:-1]))):
        return None
    return np.lexsort((t, d))


def detect_visits(device, t_us, x, y, areas, area_ids, speed=None, accuracy=None, simulated=None,
                  rules: VisitRules = VisitRules()) -> Detected:
    """Visits of devices to areas. device: ids (any hashable; codes are made here); t_us: UTC
    microseconds; x, y: BNG metres; areas: polygons in priority order; speed: reported m/s
    (NaN where none; then the speed is implied from the neighbouring pings); accuracy: metres."""
    device = np.asarray(device)
    if device.dtype.kind in "iu":   # already codes (the service passes Arrow dictionary indices)
        dev_codes, dev_names = device.astype(np.int64), None
    else:
        dev_codes, dev_names = pd.factorize(device, sort=False)
    order = sort_pings(dev_codes, t_us)
    take = (lambda a: np.asarray(a)) if order is None else (lambda a: np.asarray(a)[order])
    d = take(dev_codes)
    t = take(t_us).astype(np.float64) / 1e6
    x = take(np.asarray(x, np.float64))
    y = take(np.asarray(y, np.float64))
    n = d.size
    buffered = effective_areas(areas, rules.buffer)
    area = AreaIndex(buffered).assign(x, y)
    # the in-area pings by device, area, time: a visit to an area goes on while that area's pings
    # keep coming within merge_gap, whatever lies between (outside, a neighbouring area, a drop-out)
    idx = np.flatnonzero(area >= 0)
    empty = pd.DataFrame(columns=VISIT_COLUMNS)
    if idx.size == 0:
        return Detected(empty, 0, 0, n, 0)
    in_n = idx.size
    idx = idx[np.lexsort((t[idx], area[idx], d[idx]))]
    di, ai, ti = d[idx], area[idx], t[idx]
    start = np.r_[True, (di[1:] != di[:-1]) | (ai[1:] != ai[:-1]) | (np.diff(ti) > rules.merge_gap)]
    run_first = np.flatnonzero(start)
    counts = np.diff(np.r_[run_first, idx.size])
    f = idx[run_first]                    # first in-area ping of each run (index into all pings)
    last = idx[run_first + counts - 1]    # last in-area ping

    def gap_before(i):   # seconds since the same radio's previous ping (inf at its first)
        j = np.maximum(i - 1, 0)
        return np.where((i > 0) & (d[j] == d[i]), t[i] - t[j], np.inf)

    def gap_after(i):
        j = np.minimum(i + 1, n - 1)
        return np.where((i < n - 1) & (d[j] == d[i]), t[j] - t[i], np.inf)

    def orig(i):   # positions in the caller's arrays
        return i if order is None else order[i]

    def acc(i):
        if accuracy is None:
            return np.full(i.size, rules.default_accuracy)
        a = np.asarray(accuracy, np.float64)[orig(i)]
        return np.where(np.isfinite(a), a, rules.default_accuracy)

    # Fixes near an area's edge may be on the wrong side of it: a bounding ping within its
    # accuracy of the edge is uncertain, so the interval reaches one ping further out (max) or
    # one ping further in (min). That keeps the truth inside [min, max] at 5-minute pings.
    edges = shapely.boundary(buffered)
    run_area = area[f]
    inner_f = np.where(counts > 1, idx[np.minimum(run_first + 1, idx.size - 1)], f)
    inner_l = np.where(counts > 1, idx[np.maximum(run_first + counts - 2, 0)], last)
    near = lambda at: _near_edge(edges, run_area, at, x, y, acc(at))  # noqa: E731
    lo = np.where(near(f) & (counts > 1), inner_f, f)
    hi = np.where(near(last) & (counts > 1), inner_l, last)
    dwell_min = np.maximum(t[hi] - t[lo], 0.0)
    prev = np.maximum(f - 1, 0)
    nxt = np.minimum(last + 1, n - 1)
    g_before, g_after = gap_before(f), gap_after(last)
    shaky_prev = np.isfinite(g_before) & near(prev)
    shaky_next = np.isfinite(g_after) & near(nxt)
    cap = rules.max_gap
    before = np.minimum(g_before, cap) + np.where(shaky_prev, np.minimum(gap_before(prev), cap), 0)
    after = np.minimum(g_after, cap) + np.where(shaky_next, np.minimum(gap_after(nxt), cap), 0)
    dwell_max = (t[last] - t[f]) + before + after
    v = _speeds(idx, x, y, gap_before, gap_after, None if speed is None else np.asarray(speed, np.float64)[orig(idx)])
    fast = np.add.reduceat((v > rules.vehicle_speed).astype(np.int64), run_first)
    drive_by = fast * 2 > counts
    short = ~drive_by & (dwell_min < rules.min_dwell)
    keep = ~drive_by & ~short
    ids = np.asarray(area_ids, dtype=object)
    out = pd.DataFrame({
        "device": d[f[keep]] if dev_names is None else np.asarray(dev_names, dtype=object)[d[f[keep]]],
        "area_id": ids[area[f[keep]]],
        "start": pd.to_datetime(t[f[keep]] * 1e6, unit="us", utc=True),
        "end": pd.to_datetime(t[last[keep]] * 1e6, unit="us", utc=True),
        "earliest": pd.to_datetime((t[f[keep]] - before[keep]) * 1e6, unit="us", utc=True),
        "latest": pd.to_datetime((t[last[keep]] + after[keep]) * 1e6, unit="us", utc=True),
        "dwell_min_s": dwell_min[keep],
        "dwell_max_s": dwell_max[keep],
        "minutes_min": dwell_min[keep] / 60.0,
        "minutes_max": dwell_max[keep] / 60.0,
        "pings": counts[keep],
        "simulated": (np.logical_or.reduceat(np.asarray(simulated, bool)[orig(idx)], run_first)[keep]
                      if simulated is not None else np.zeros(int(keep.sum()), bool)),
    })
    out = out.sort_values(["device", "start", "area_id"], kind="stable").reset_index(drop=True)
    return Detected(out, int(drive_by.sum()), int(short.sum()), n, int(in_n))


def _near_edge(edges, run_area, at, x, y, acc) -> np.ndarray:
    """Is ping `at` within its accuracy of the edge of the run's (buffered) area?"""
    return shapely.distance(edges[run_area], shapely.points(x[at], y[at])) <= acc


def _speeds(i, x, y, gap_before, gap_after, reported):
    """Speed at pings i: as reported where the device gives it, else the slower of the implied
    speeds to and from its neighbours, over at least 20 s (so fix noise on fast radios does not
    read as running)."""
    gb, ga = gap_before(i), gap_after(i)
    j0, j1 = np.maximum(i - 1, 0), np.minimum(i + 1, x.size - 1)
    v_in = np.where(np.isfinite(gb), np.hypot(x[i] - x[j0], y[i] - y[j0]) / np.maximum(gb, 20.0), np.inf)
    v_out = np.where(np.isfinite(ga), np.hypot(x[j1] - x[i], y[j1] - y[i]) / np.maximum(ga, 20.0), np.inf)
    implied = np.fmin(v_in, v_out)
    implied[~np.isfinite(implied)] = 0.0
    if reported is None:
        return implied
    reported = np.asarray(reported, np.float64)
    return np.where(np.isfinite(reported), reported, implied)


def patrol_visits(visits: pd.DataFrame) -> pd.DataFrame:
    """Device visits -> patrol visits: radios in the same area at overlapping times (the two
    officers of one patrol) count once. Overlaps chain, so the union of the in-area spans is one
    unbroken stretch: at least its length, at most from the earliest to the latest possible
    moment. `devices` says how many radios were there."""
    cols = ["area_id", "start", "end", "earliest", "latest", "minutes_min", "minutes_max", "devices", "simulated"]
    if visits.empty:
        return pd.DataFrame(columns=cols)
    v = visits.sort_values(["area_id", "start", "device"]).reset_index(drop=True)
    s = v["start"].astype("int64").to_numpy()
    e = v["end"].astype("int64").to_numpy()
    a = v["area_id"].to_numpy()
    new_area = np.r_[True, a[1:] != a[:-1]]
    # running latest end within each area: add a big per-area offset so one accumulate serves all
    rel = e - e.min()
    offset = np.cumsum(new_area).astype(np.int64) * (int(rel.max()) + 1)
    run_end = np.maximum.accumulate(rel + offset) - offset + e.min()
    g = np.cumsum(new_area | np.r_[True, s[1:] > run_end[:-1]]) - 1
    agg = v.assign(g=g).groupby("g").agg(
        area_id=("area_id", "first"), start=("start", "min"), end=("end", "max"),
        earliest=("earliest", "min"), latest=("latest", "max"), devices=("device", "nunique"),
        simulated=("simulated", "any"))
    agg["minutes_min"] = (agg["end"] - agg["start"]).dt.total_seconds() / 60.0
    agg["minutes_max"] = (agg["latest"] - agg["earliest"]).dt.total_seconds() / 60.0
    return agg[cols].reset_index(drop=True)
