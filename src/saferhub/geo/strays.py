"""Stray points: events geocoded far from everything else (a wrong sign on a longitude, a
default (0, 0), a record from another force). One such point turns a 150 m grid of a city into a
grid of the whole country — sfhotspot's most reported problem. We find them, name them, and refuse
to build the runaway grid unless the user drops them or supplies a study area.

A point is stray when its distance from the median centre exceeds
    max(MIN_STRAY_M, FACTOR x the 95th percentile of all points' distances from that centre).
The median and the percentile are robust to a few strays, so one bad point cannot hide itself.
"""

from __future__ import annotations

import numpy as np

from saferhub.errors import SaferhubError

MIN_STRAY_M = 20_000.0
FACTOR = 3.0


def find_strays(x, y, min_distance: float = MIN_STRAY_M, factor: float = FACTOR) -> np.ndarray:
    """Bool array: True for finite points far from the bulk of the data (see the module doc)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(x.shape, bool)
    if ok.sum() < 3:
        return out
    cx, cy = np.median(x[ok]), np.median(y[ok])
    r = np.hypot(x - cx, y - cy)
    limit = max(min_distance, factor * np.percentile(r[ok], 95))
    out[ok] = r[ok] > limit
    return out


def describe_strays(x, y, stray, labels=None, limit: int = 10) -> str:
    """'3 stray points: #12 (E512345 N 98765) "On or near X", ...' for error and warning messages."""
    from saferhub.geo.project import to_wgs84

    idx = np.flatnonzero(stray)
    lon, lat = to_wgs84(np.asarray(x, float)[idx[:limit]], np.asarray(y, float)[idx[:limit]])
    parts = []
    for k, i in enumerate(idx[:limit]):
        lab = "" if labels is None else f" {labels[i]}"
        parts.append(f"#{i}{lab} at lon {lon[k]:.5f}, lat {lat[k]:.5f}")
    more = f" and {idx.size - limit} more" if idx.size > limit else ""
    return f"{idx.size} stray point{'s' if idx.size != 1 else ''} far from the rest: " + "; ".join(parts) + more


def check_strays(x, y, labels=None, drop: bool = False, warn=None) -> np.ndarray:
    """Bool keep-mask. Strays raise a SaferhubError naming them, unless `drop` (then `warn(message)`
    is called loudly and they are left out)."""
    stray = find_strays(x, y)
    if stray.any():
        msg = describe_strays(x, y, stray, labels)
        if not drop:
            raise SaferhubError(msg + ". They would stretch the grid over a huge empty area; "
                                "pass --drop-strays to leave them out, or --area to set the study area")
        if warn is not None:
            warn("WARNING: leaving out " + msg)
    return ~stray
