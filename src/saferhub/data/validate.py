"""Row checks shared by every source: coordinates, and points far outside the force's area.

Each check returns a reason per row (None = fine), so callers quarantine with the row's own words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from saferhub.geo.project import to_bng

# Great Britain and Northern Ireland with a margin (lon/lat, WGS84): police.uk's whole territory.
UK_LON = (-8.8, 2.0)
UK_LAT = (49.8, 61.0)

# A point further than this from the dense core of a file's points is "far outside the force
# area". 20 km clears the rural edge of the largest forces' snap points while catching the
# mis-geocoded rows some forces publish (a Merseyside crime placed in London or at 0,0).
FAR_KM = 20.0
CORE_CELL_M = 5_000


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

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(pd.Series(values).astype("string[pyarrow]").array)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
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
    """Distance (km) of each point beyond `far_km` from the file's dense core; 0 where within.

    The core is the set of 5 km cells holding at least 3 points (or the busiest cells of a tiny
    file). Stray rows are scattered singletons, so they never form a core of their own.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(len(x))
    if ok.sum() < 2:
        return out
    cx = np.floor(x[ok] / CORE_CELL_M).astype(np.int64)
    cy = np.floor(y[ok] / CORE_CELL_M).astype(np.int64)
    keys, inverse, counts = np.unique((cx << 32) + (cy & 0xFFFFFFFF), return_inverse=True, return_counts=True)
    need = min(3, counts.max())
    is_core = counts >= need
    outside = ~is_core[inverse]   # a point in a core cell is inside by definition
    if not outside.any():
        return out
    core_keys = keys[is_core]
    core = np.column_stack([core_keys >> 32, (core_keys & 0xFFFFFFFF).astype(np.int32)])
    centres = (core + 0.5) * CORE_CELL_M
    # Distance to the nearest core cell's centre, less half a cell diagonal: distance to its edge.
    dist, _ = cKDTree(centres).query(np.column_stack([x[ok][outside], y[ok][outside]]))
    beyond = np.maximum(dist - CORE_CELL_M * np.sqrt(0.5), 0) / 1000.0
    far = np.zeros(int(ok.sum()))
    far[outside] = np.where(beyond > far_km, beyond, 0.0)
    out[ok] = far
    return out


def _to_bng_distinct(lon: np.ndarray, lat: np.ndarray):
    """Project each distinct point once: police.uk snaps crimes to shared map points, so a
    month of a force has about half as many distinct points as rows."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    x = np.full(len(lon), np.nan)
    y = np.full(len(lon), np.nan)
    if ok.any():
        points, inverse = np.unique(lon[ok] + 1j * lat[ok], return_inverse=True)
        ux, uy = to_bng(points.real, points.imag)
        x[ok] = ux[inverse]
        y[ok] = uy[inverse]
    return x, y


def project_and_check(lon, lat, reason, check_area: bool, far_km: float = FAR_KM):
    """BNG x, y for valid rows; adds 'far outside the force area' reasons in place."""
    x, y = _to_bng_distinct(lon, lat)
    if check_area:
        far = far_from_core(x, y, far_km)
        idx = np.flatnonzero((far > 0) & pd.isnull(reason))
        if idx.size:
            reason[idx] = [f"coordinates ({lon[i]:.6f}, {lat[i]:.6f}) are {far[i]:.0f} km outside the force area"
                           for i in idx]
    return x, y
