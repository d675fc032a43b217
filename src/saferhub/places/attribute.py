"""Events -> places: each event goes to at most one place, the nearest within `radius` metres.

radius 0 means "at the place's own point": police.uk snaps every crime onto a shared map point, so
a crime at a facility point has exactly that point's coordinates; we allow SNAP_TOLERANCE (1 m)
for rounding in projected coordinates.

Ties (two places at exactly the same distance, within TIE_EPS) go to the place listed first in
the register (the register is sorted by place_id, so the choice does not depend on file order or
on the KD-tree's internals). The fast path asks a KD-tree for the two nearest places; only events
whose two nearest are tied are looked at again with every place in the tie (a ball query), so
three-way ties are broken the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SNAP_TOLERANCE = 1.0   # metres: BNG projection rounding of the same police.uk point
TIE_EPS = 1e-6         # metres: distances this close are the same distance


def nearest_place(ex, ey, px, py, radius: float = 0.0, workers: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(place index per event or -1, distance in metres or inf). Places are in register order;
    a tie goes to the lower index."""
    from scipy.spatial import cKDTree

    ex, ey = np.asarray(ex, float), np.asarray(ey, float)
    px, py = np.asarray(px, float), np.asarray(py, float)
    n = ex.size
    idx = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    if n == 0 or px.size == 0:
        return idx, dist
    r = max(float(radius), SNAP_TOLERANCE)
    located = np.isfinite(ex) & np.isfinite(ey)
    pts = np.column_stack([ex[located], ey[located]])
    tree = cKDTree(np.column_stack([px, py]))
    k = 2 if px.size > 1 else 1
    d, j = tree.query(pts, k=k, distance_upper_bound=r + TIE_EPS, workers=workers)
    if k == 1:
        d, j = d[:, None], j[:, None]
    best_d, best_j = d[:, 0], j[:, 0]
    hit = np.isfinite(best_d) & (best_d <= r + TIE_EPS)
    tied = np.zeros_like(hit)
    if k == 2:
        second = np.isfinite(d[:, 1])
        tied[second] = hit[second] & (d[second, 1] - best_d[second] <= TIE_EPS)
    if tied.any():
        rows = np.flatnonzero(tied)
        near = tree.query_ball_point(pts[rows], best_d[rows] + TIE_EPS, workers=workers)
        best_j[rows] = [min(c) for c in near]
    loc_rows = np.flatnonzero(located)
    idx[loc_rows[hit]] = best_j[hit]
    dist[loc_rows[hit]] = best_d[hit]
    return idx, dist


def month_counts(place_idx: np.ndarray, month_idx: np.ndarray, n_places: int, n_months: int,
                 weights=None) -> np.ndarray:
    """(n_places, n_months) counts (or sums of `weights`) of attributed events."""
    ok = (place_idx >= 0) & (month_idx >= 0)
    flat = place_idx[ok] * n_months + month_idx[ok]
    w = None if weights is None else np.asarray(weights, float)[ok]
    return np.bincount(flat, weights=w, minlength=n_places * n_months).reshape(n_places, n_months)


def hour_of_week(occurred_at, timezone: str = "Europe/London") -> np.ndarray:
    """0..167 (Monday 00:00-00:59 is 0) in local time; -1 where there is no time."""
    t = pd.to_datetime(pd.Series(occurred_at), utc=True, errors="coerce")
    local = t.dt.tz_convert(timezone)
    how = (local.dt.day_of_week * 24 + local.dt.hour).to_numpy(dtype=float)
    return np.where(np.isfinite(how), how, -1).astype(np.int64)


def hour_of_week_counts(place_idx: np.ndarray, how: np.ndarray, n_places: int) -> np.ndarray:
    """(n_places, 168) counts of timestamped events attributed to each place by hour of week."""
    return month_counts(place_idx, how, n_places, 168)
