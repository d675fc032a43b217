"""Row checks shared by every source: coordinates, and points far outside the force's area.

Each check returns a reason per row (None = fine), so callers quarantine with the row's own words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from saferhub.data.csvread import as_array
from saferhub.geo.pointmemo import Memos, PointMemo, distinct_points
from saferhub.geo.project import to_bng

# Great Britain and Northern Ireland with a margin (lon/lat, WGS84): police.uk's whole territory.
UK_LON = (-8.8, 2.0)
UK_LAT = (49.8, 61.0)

# A point further than this from the dense core of a file's points is "far outside the force
# area". 20 km clears the rural edge of the largest forces' snap points while catching the
# mis-geocoded rows some forces publish (a Merseyside crime placed in London or at 0,0).
FAR_KM = 20.0
CORE_CELL_M = 5_000
# Without a boundary, a cluster of points is part of the force only if it holds this share of the
# file's located points (or is the largest cluster).
CORE_SHARE = 0.05


def parse_coordinates(lon_text, lat_text):
    """Strings (Arrow arrays or pandas Series) -> (lon, lat, reason).

    Both empty = unlocated (valid, NaN); anything else odd gets a reason for the quarantine.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    lon_a = pc.utf8_trim_whitespace(_as_arrow_strings(lon_text).fill_null(""))
    lat_a = pc.utf8_trim_whitespace(_as_arrow_strings(lat_text).fill_null(""))
    lon = _to_float(lon_a)
    lat = _to_float(lat_a)
    lon_empty = pc.equal(lon_a, "").to_numpy(zero_copy_only=False)
    lat_empty = pc.equal(lat_a, "").to_numpy(zero_copy_only=False)
    both_empty = lon_empty & lat_empty
    reason = np.full(len(lon), None, dtype=object)
    one_empty = lon_empty ^ lat_empty
    bad_num = ~both_empty & ~one_empty & ~(np.isfinite(lon) & np.isfinite(lat))
    reason[one_empty] = "only one of longitude/latitude given"
    bad_idx = np.flatnonzero(bad_num)
    if bad_idx.size:
        idx = pa.array(bad_idx)
        reason[bad_idx] = [f"unparseable coordinates ({a!r}, {b!r})"
                           for a, b in zip(lon_a.take(idx).to_pylist(), lat_a.take(idx).to_pylist())]
    ok = np.isfinite(lon) & np.isfinite(lat)
    outside = ok & ((lon < UK_LON[0]) | (lon > UK_LON[1]) | (lat < UK_LAT[0]) | (lat > UK_LAT[1]))
    out_idx = np.flatnonzero(outside)
    if out_idx.size:
        reason[out_idx] = [f"coordinates ({a:.6f}, {b:.6f}) are outside the UK" for a, b in zip(lon[out_idx], lat[out_idx])]
    lon[~ok | outside] = np.nan
    lat[~ok | outside] = np.nan
    return lon, lat, reason


def _as_arrow_strings(values):
    """A string Arrow array from an Arrow (chunked) array or a pandas Series, without a Python loop."""
    import pyarrow as pa

    values = as_array(values)
    if not isinstance(values, pa.Array):
        values = as_array(pa.array(pd.Series(values).astype("string[pyarrow]").array))
    return values.cast(pa.string())


def _to_float(arr) -> np.ndarray:
    """Arrow strings -> float64 with NaN for empty or unparseable; Arrow's cast is the fast path,
    pandas' lenient parser the fallback when any value is not a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        out = pc.cast(pc.if_else(pc.equal(arr, ""), None, arr), pa.float64())
        return out.to_numpy(zero_copy_only=False).astype("float64", copy=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        text = pd.Series(arr.to_numpy(zero_copy_only=False), dtype=object)
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", copy=True)


def far_from_core(x: np.ndarray, y: np.ndarray, far_km: float = FAR_KM) -> np.ndarray:
    """Distance (km) of each point beyond `far_km` from the file's body of points; 0 where within.

    Used when the force's boundary is not known. The body: 5 km cells holding at least 3 points,
    linked into clusters when within `far_km` of each other; the clusters holding at least
    CORE_SHARE of the points (and always the largest) are the force. So a pile of mis-geocoded
    rows at one spot far away (dozens of rows, not a tenth of the file) is outside, however
    many rows repeat it.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(len(x))
    if ok.sum() < 2:
        return out
    cx = np.floor(x[ok] / CORE_CELL_M).astype(np.int64)
    cy = np.floor(y[ok] / CORE_CELL_M).astype(np.int64)
    keys, inverse, counts = np.unique((cx << 32) + (cy & 0xFFFFFFFF), return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    cells = np.column_stack([keys >> 32, (keys & 0xFFFFFFFF).astype(np.int32)])
    centres = (cells + 0.5) * CORE_CELL_M
    is_core = counts >= min(3, counts.max())
    is_core &= _body_clusters(centres, counts, is_core, far_km)
    outside = ~is_core[inverse]   # a point in a body cell is inside by definition
    if not outside.any():
        return out
    # Distance to the nearest body cell's centre, less half a cell diagonal: distance to its edge.
    dist, _ = cKDTree(centres[is_core]).query(np.column_stack([x[ok][outside], y[ok][outside]]))
    beyond = np.maximum(dist - CORE_CELL_M * np.sqrt(0.5), 0) / 1000.0
    far = np.zeros(int(ok.sum()))
    far[outside] = np.where(beyond > far_km, beyond, 0.0)
    out[ok] = far
    return out


def _body_clusters(centres: np.ndarray, counts: np.ndarray, is_core: np.ndarray, far_km: float) -> np.ndarray:
    """Bool per cell: in a cluster of core cells that holds a meaningful share of the points."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    core = np.flatnonzero(is_core)
    link = far_km * 1000.0 + CORE_CELL_M * np.sqrt(2)
    pairs = cKDTree(centres[core]).query_pairs(link, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(core), len(core)))
    _, label = connected_components(graph, directed=False)
    held = np.bincount(label, weights=counts[core])
    body = (held >= CORE_SHARE * counts.sum()) | (held == held.max())
    out = np.zeros(len(centres), bool)
    out[core[body[label]]] = True
    return out


def boundary_km(boundary, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance (km) of each point from the boundary polygon; 0 inside it."""
    import shapely

    shapely.prepare(boundary)
    inside = shapely.contains_xy(boundary, x, y)
    km = np.zeros(len(x))
    idx = np.flatnonzero(~inside)
    if idx.size:
        km[idx] = shapely.distance(boundary, shapely.points(x[idx], y[idx])) / 1000.0
    return km


def _points_memo(boundary) -> PointMemo:
    """lon/lat point -> (BNG x, BNG y, km from `boundary`, 0 without one)."""
    def compute(points):
        x, y = to_bng(points.real, points.imag)
        return x, y, (np.zeros(len(x)) if boundary is None else boundary_km(boundary, x, y))

    return PointMemo(compute, (np.float64, np.float64, np.float64))


def project_and_check(lon, lat, reason, check_area: bool, far_km: float = FAR_KM, boundary=None,
                      memos: Memos | None = None):
    """BNG x, y for valid rows; adds 'outside the force area' reasons in place: beyond `far_km` of
    the force's boundary when one is known, else of the bulk of the file's points.

    Each distinct point is projected (and measured against the boundary) once: police.uk snaps
    crimes to shared map points, so a month has about half as many points as rows, and `memos`
    (one per ingest) carries the points already done from file to file."""
    boundary = boundary if check_area else None
    memo = (memos or Memos()).get(("points", id(boundary)), lambda: _points_memo(boundary))
    ok, points, inverse = distinct_points(lon, lat)
    x, y, km = (np.full(len(lon), np.nan) for _ in range(3))
    if ok.size:
        for out, per_point in zip((x, y, km), memo(points)):
            out[ok] = per_point[inverse]
    if check_area:
        usable = np.isfinite(x) & pd.isnull(reason)
        if boundary is not None:
            far, what = np.where(usable & (km > far_km), km, 0.0), "beyond its boundary"
        else:
            far = far_from_core(np.where(usable, x, np.nan), np.where(usable, y, np.nan), far_km)
            what = "from the bulk of its points"
        idx = np.flatnonzero(far > 0)
        if idx.size:
            reason[idx] = [f"outside the force area ({far[i]:.0f} km {what}; at {lon[i]:.6f}, {lat[i]:.6f})"
                           for i in idx]
    return x, y
