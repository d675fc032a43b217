"""Study areas: a supplied boundary, or a hull drawn round the data; and which grid cells fall in."""

from __future__ import annotations

import numpy as np
import shapely

from saferhub.geo.grid import Grid


def data_hull(x, y, kind: str = "concave", ratio: float = 0.2, buffer: float = 0.0):
    """A polygon round the finite points: `convex`, or `concave` (shapely's concave hull with
    `ratio`, 0 = tightest, 1 = convex), optionally buffered by `buffer` metres."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    pts = shapely.multipoints(np.column_stack([x[ok], y[ok]]))
    if kind == "convex":
        hull = shapely.convex_hull(pts)
    elif kind == "concave":
        # Snap points repeat heavily; unique points keep the hull fast.
        uniq = np.unique(np.column_stack([x[ok], y[ok]]), axis=0)
        hull = shapely.concave_hull(shapely.multipoints(uniq), ratio=ratio)
    else:
        raise ValueError(f"hull kind must be 'convex' or 'concave', not {kind!r}")
    return hull.buffer(buffer) if buffer else hull


def cells_in(grid: Grid, area) -> np.ndarray:
    """(ny, nx) bool: cells whose centre lies in `area` (a shapely geometry in BNG metres)."""
    cx, cy = grid.centres()
    shapely.prepare(area)
    return shapely.contains_xy(area, cx, cy)


def read_area(path):
    """A study-area polygon (BNG) from a GeoJSON / GeoPackage file: the union of its polygons."""
    import shapely

    from saferhub.errors import SaferhubError
    from saferhub.geo.units import read_layers

    gdf = read_layers([path])
    geoms = gdf.geometry.values
    if not set(shapely.get_type_id(geoms)) <= {3, 6}:
        raise SaferhubError(f"{path}: the study area must be polygons")
    area = shapely.union_all(shapely.make_valid(geoms))
    if area.is_empty or area.area <= 0:
        raise SaferhubError(f"{path}: the study area polygon is empty")
    return area
