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


# The density core a fallback hull is drawn round (geo.area), so it does not chase strays that
# `find_strays` lets through (anything within ~3x the force's radius: up to ~40 km into its
# neighbours for a force of Merseyside's size).
CORE_CELL_M = 1000.0       # density is judged on 1 km cells
CORE_MIN_EVENTS = 3        # a core cell holds at least this many events ...
CORE_SHARE = 0.99          # ... lowered (to 2, then 1) while the core cells hold < 99% of events
CORE_COMPONENT_SHARE = 0.01  # a patch of core cells apart from the rest must hold >= 1% of events
CORE_MIN_POINTS = 1000     # below this, 1 km densities say little: every (non-stray) point is core


def core_mask(x, y) -> np.ndarray:
    """Bool keep-mask: the points of the force's dense core and those within one 1 km cell of it.

    Core cells are 1 km cells holding >= k events (k = 3, or less if that would leave out more
    than 1% of the events); patches of core cells (8-connected, one-cell gaps bridged) holding
    < 1% of the events are not core (a pile of events geocoded to one spot in a neighbour's
    area). A point is kept when its cell is a core cell or touches one, so the hull reaches at
    most ~2 km past the force's dense area instead of following stray points tens of km out.
    Fewer than CORE_MIN_POINTS located points are all kept: so few cannot show a density."""
    from scipy import ndimage

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(x.shape, bool)
    if not ok.any():
        return out
    if ok.sum() < CORE_MIN_POINTS:  # a small sample (a month of one category): no density to judge by
        return ok
    kx = np.floor(x[ok] / CORE_CELL_M).astype(np.int64)
    ky = np.floor(y[ok] / CORE_CELL_M).astype(np.int64)
    kx0, ky0 = kx.min() - 1, ky.min() - 1   # one empty cell of margin for the dilation
    shape = (int(ky.max() - ky0 + 2), int(kx.max() - kx0 + 2))
    flat = (ky - ky0) * shape[1] + (kx - kx0)
    counts = np.bincount(flat, minlength=shape[0] * shape[1]).reshape(shape)
    n = counts.sum()
    k = next((k for k in range(CORE_MIN_EVENTS, 0, -1) if counts[counts >= k].sum() >= CORE_SHARE * n), 1)
    core = counts >= k
    eight = np.ones((3, 3), bool)
    labels, nlab = ndimage.label(ndimage.binary_dilation(core, eight), structure=eight)
    labels = np.where(core, labels, 0)
    held = np.bincount(labels.ravel(), weights=counts.ravel(), minlength=nlab + 1)
    big = held >= CORE_COMPONENT_SHARE * n
    big[0] = False
    reach = ndimage.binary_dilation(big[labels], eight)
    out[ok] = reach.ravel()[flat]
    return out
