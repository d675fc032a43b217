"""The study area: ONE rule for every module (hotspots, forecasts, patrols, evaluation).

`study_area(...)` picks, first found wins:
1. the polygon the user gives (`area`: a shapely geometry or a GeoJSON/GeoPackage file);
2. the force's real boundary (`saferhub.geo.boundary.force_boundary`) when the data come from one
   force and a boundary for it is known (the store's cache or the geo folder);
3. else, for an English force, an approximate force area drawn offline from the geo folder's LSOA
   centroids and LSOA -> force lookup (`saferhub.geo.forcearea`), kind "drawn force area";
4. otherwise a concave hull (shapely, ratio 0.1) of ALL the force's located events, buffered by
   50 m — so the area does not move with the categories or months chosen. Stray points are left
   out first (`geo.strays.find_strays`), then everything outside the dense core
   (`geo.strays.core_mask`: 1 km cells with >= 3 events, patches holding >= 1% of the events,
   plus one cell round them), so the hull does not reach into the neighbours following a few
   stray points (it did, ~40 km, for a force with no boundary file).
   On Merseyside 2018-2020 ratio 0.1 gives 659 km² against the force's 645 km² (0.2 gives
   799 km² and takes in West Lancashire fields); the 50 m keeps edge snap points inside.

Grid cells belong to the study area when they share some area with it
(`StudyArea.cells(grid)`), so every event inside the area lies in a study-area cell and the
same area and cell size always give the same cells, whichever module asks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from saferhub.errors import SaferhubError
from saferhub.geo.grid import Grid, cells_overlapping

HULL_RATIO = 0.1
HULL_BUFFER_M = 50.0


@dataclass(frozen=True)
class StudyArea:
    geometry: object  # shapely (Multi)Polygon, EPSG:27700
    source: str  # plain words for reports: "the merseyside force boundary (file ...)"
    kind: str  # "given" | "force boundary" | "drawn force area" | "hull"

    def grid(self, cell_size: float) -> Grid:
        """The BNG-aligned grid covering the area (cell ids do not depend on the extent)."""
        return Grid.from_bounds(*self.geometry.bounds, cell_size)

    def cells(self, grid: Grid) -> np.ndarray:
        """(ny, nx) bool: the grid's study-area cells (those sharing some area with it)."""
        return cells_overlapping(grid, self.geometry)

    def contains(self, x, y) -> np.ndarray:
        shapely.prepare(self.geometry)
        return shapely.contains_xy(self.geometry, np.asarray(x, float), np.asarray(y, float))


def study_area(*, area=None, force=None, store=None, geo_dir=None, points=None,
               hull: str = "concave", lsoa_counts=None) -> StudyArea:
    """The study area by the rule in the module doc. `force`: the force the data come from (a
    list of several forces has no single boundary); `points`: (x, y) of all the force's located
    events, or a function returning them (only called when a hull is needed); `lsoa_counts`:
    the force's events per 2011 LSOA, or a function returning them (for a drawn area)."""
    if isinstance(area, StudyArea):  # resolved once already (saferhub.data.area.resolve_area)
        return area
    if area is not None:
        if isinstance(area, shapely.Geometry):
            return StudyArea(area, "the polygon given", "given")
        return StudyArea(read_area(area), f"polygon from {area}", "given")
    forces = [force] if isinstance(force, str) else list(force or [])
    if len(forces) == 1:
        from saferhub.geo.boundary import boundary_files, force_boundary

        poly = force_boundary(forces[0], store=store, geo_dir=geo_dir)
        if poly is not None:
            name = boundary_files(forces[0], store=store, geo_dir=geo_dir)[0].name
            return StudyArea(poly, f"the {forces[0]} force boundary ({name})", "force boundary")
        from saferhub.config import settings
        from saferhub.geo.forcearea import available, drawn_force_area

        folder = settings(store=store, geo_dir=geo_dir).geo_dir
        if available(folder):
            counts = lsoa_counts() if callable(lsoa_counts) else lsoa_counts
            poly = drawn_force_area(forces[0], folder, counts)
            if poly is not None:
                return StudyArea(poly, f"an approximate {forces[0]} force area drawn from the 2011 LSOA centroids "
                                       "and the LSOA-to-force lookup (no boundary file for it)", "drawn force area")
    if points is None:
        raise SaferhubError("no study area: give an area polygon, or events to draw a hull round")
    x, y = points() if callable(points) else points
    x, y = np.asarray(x, float), np.asarray(y, float)
    from saferhub.geo.strays import core_mask, find_strays

    ok = np.isfinite(x) & np.isfinite(y)
    located = int(ok.sum())
    ok[ok] = ~find_strays(x[ok], y[ok])
    ok[ok] = core_mask(x[ok], y[ok])  # the dense core: the hull does not chase stray points
    if not ok.any():
        raise SaferhubError("no located events to draw a study area round")
    poly = data_hull(x[ok], y[ok], kind=hull, ratio=HULL_RATIO, buffer=HULL_BUFFER_M)
    if poly.area <= 0:
        raise SaferhubError("the events span no area (all at one point?); give a study area polygon")
    who = f"the {forces[0]} force's" if len(forces) == 1 else "the"
    left = located - int(ok.sum())
    out = f"; {left:,} outlying events away from the dense core left out" if left else ""
    return StudyArea(poly, f"{hull} hull of {who} {int(ok.sum()):,} located events (+{HULL_BUFFER_M:g} m){out} "
                           "(no force boundary or drawn force area for it)", "hull")


def data_hull(x, y, kind: str = "concave", ratio: float = HULL_RATIO, buffer: float = 0.0):
    """A polygon round the finite points: `convex`, or `concave` (shapely's concave hull with
    `ratio`, 0 = tightest, 1 = convex), optionally buffered by `buffer` metres."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    if kind == "convex":
        hull = shapely.convex_hull(shapely.multipoints(np.column_stack([x[ok], y[ok]])))
    elif kind == "concave":
        # Snap points repeat heavily; unique points keep the hull fast (a hash, not a 2-D sort).
        import pandas as pd

        uniq = pd.DataFrame({"x": x[ok], "y": y[ok]}).drop_duplicates().to_numpy()
        hull = shapely.concave_hull(shapely.multipoints(uniq), ratio=ratio)
    else:
        raise SaferhubError(f"hull must be 'convex' or 'concave', not {kind!r}")
    return hull.buffer(buffer) if buffer else hull


def read_area(path):
    """A study-area polygon (BNG) from a GeoJSON / GeoPackage file: the union of its polygons."""
    from saferhub.geo.units import read_layers

    gdf = read_layers([path])
    geoms = gdf.geometry.values
    if not set(shapely.get_type_id(geoms)) <= {3, 6}:
        raise SaferhubError(f"{path}: the study area must be polygons")
    poly = shapely.union_all(shapely.make_valid(geoms))
    if poly.is_empty or poly.area <= 0:
        raise SaferhubError(f"{path}: the study area polygon is empty")
    return poly
