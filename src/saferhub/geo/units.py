"""Spatial units that events are counted into: square grid cells, hexagons, polygons (LSOAs, wards,
beats) and street segments — one interface so every analysis works on any of them.

`Units.assign(x, y)` gives each event's unit index (-1 when it falls in none); `Units.gdf` is a
GeoDataFrame (EPSG:27700) of the units in index order with a `unit_id` column. Square grids keep
their `Grid` and study-area `mask` so grid analyses can use fast convolutions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from saferhub.errors import BadFileError, SaferhubError
from saferhub.geo.grid import Grid, cells_in
from saferhub.geo.hexgrid import HexGrid, hex_ids

BNG = "EPSG:27700"
ID_COLUMNS = ("LSOA11CD", "LSOA21CD", "lsoa11cd", "lsoa21cd", "code", "id", "ID", "name", "NAME")


@dataclass
class Units:
    kind: str  # "grid" | "hex" | "polygon" | "segment"
    gdf: object  # GeoDataFrame, EPSG:27700, one row per unit, column unit_id
    grid: Grid | None = None
    mask: np.ndarray | None = None
    cell_size: float | None = None
    _lookup: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.gdf)

    def centroids(self) -> tuple[np.ndarray, np.ndarray]:
        import shapely

        c = shapely.centroid(self.gdf.geometry.values)
        return shapely.get_x(c), shapely.get_y(c)

    def assign(self, x, y) -> np.ndarray:
        """Unit index of each point, -1 for points in no unit (or unlocated)."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        out = np.full(x.shape, -1, np.int64)
        ok = np.isfinite(x) & np.isfinite(y)
        if self.kind == "grid":
            flat = self.grid.flat_index(x, y)
            inside = flat >= 0
            out[inside] = self._lookup["unit_of_flat"][flat[inside]]
            return out
        if self.kind == "hex":
            q, r = HexGrid(self.cell_size).axial(x[ok], y[ok])
            keys = _hex_key(q, r)
            sorted_keys, order = self._lookup["keys"], self._lookup["order"]
            pos = np.clip(np.searchsorted(sorted_keys, keys), 0, len(sorted_keys) - 1)
            hit = sorted_keys[pos] == keys
            idx = np.where(hit, order[pos], -1)
            out[np.flatnonzero(ok)] = idx
            return out
        import shapely

        pts = shapely.points(x[ok], y[ok])
        tree = self._lookup.get("tree")
        if tree is None:
            tree = self._lookup["tree"] = shapely.STRtree(self.gdf.geometry.values)
        if self.kind == "polygon":
            i, j = tree.query(pts, predicate="intersects")
        else:  # segment: nearest line within the snapping distance
            i, j = tree.query_nearest(pts, max_distance=self._lookup["max_distance"], all_matches=False)
        sub = np.full(pts.size, -1, np.int64)
        # A point on a shared boundary matches two units; keep the lowest index, deterministically.
        order = np.lexsort((-j, i))
        sub[i[order]] = j[order]
        out[np.flatnonzero(ok)] = sub
        return out

    def to_grid(self, values) -> np.ndarray:
        """Unit values back onto the (ny, nx) grid, NaN outside the study area (grid units only)."""
        if self.kind != "grid":
            raise SaferhubError("only square-grid units can be turned back into a raster")
        out = np.full(self.grid.shape, np.nan)
        out[self.mask] = np.asarray(values)
        return out

    def from_grid(self, arr) -> np.ndarray:
        return np.asarray(arr)[self.mask]


def _hex_key(q, r) -> np.ndarray:
    return np.asarray(q, np.int64) * 4_294_967_296 + np.asarray(r, np.int64)


def _hex_unkey(keys) -> tuple[np.ndarray, np.ndarray]:
    keys = np.asarray(keys, np.int64)
    q = (keys + 2_147_483_648) // 4_294_967_296
    return q, keys - q * 4_294_967_296


def grid_units(grid: Grid, area=None, points=None, mask=None) -> Units:
    """Square cells of `grid`: those in `mask` when given (e.g. `StudyArea.cells(grid)`), else
    those whose centre lies in `area` (all cells when area is None), plus any cell holding one of
    `points` (x, y) — so an edge event inside the area is never dropped just because its cell's
    centre falls outside."""
    if mask is not None:
        mask = np.asarray(mask, bool).copy()
    else:
        mask = np.ones(grid.shape, bool) if area is None else cells_in(grid, area)
    if points is not None and area is not None:
        flat = grid.flat_index(*points)
        mask.ravel()[flat[flat >= 0]] = True
    if not mask.any():
        raise SaferhubError("no grid cell centre falls inside the study area; use a smaller cell size")
    unit_of_flat = np.full(grid.n_cells, -1, np.int64)
    unit_of_flat[np.flatnonzero(mask.ravel())] = np.arange(int(mask.sum()))
    gdf = grid.to_geodataframe(mask=mask).rename(columns={"cell_id": "unit_id"})
    return Units("grid", gdf, grid=grid, mask=mask, cell_size=grid.cell_size,
                 _lookup={"unit_of_flat": unit_of_flat})


def hex_units(cell_size: float, area, points=None) -> Units:
    """Hexagons (equal in area to `cell_size` squares) whose centre lies in `area`, plus any
    hexagon holding one of `points` (x, y)."""
    import geopandas as gpd
    import shapely

    if area is None:
        raise SaferhubError("hexagon units need a study area")
    hg = HexGrid(float(cell_size))
    q, r = hg.covering(*area.bounds)
    cx, cy = hg.centre(q, r)
    shapely.prepare(area)
    inside = shapely.contains_xy(area, cx, cy)
    q, r = q[inside], r[inside]
    if points is not None:
        px, py = (np.asarray(v, float) for v in points)
        ok = np.isfinite(px) & np.isfinite(py)
        pq, pr = hg.axial(px[ok], py[ok])
        q, r = _hex_unkey(np.unique(np.concatenate([_hex_key(q, r), _hex_key(pq, pr)])))
        cx, cy = hg.centre(q, r)
        inside = np.ones(q.size, bool)
    if q.size == 0:
        raise SaferhubError("no hexagon centre falls inside the study area; use a smaller cell size")
    gdf = gpd.GeoDataFrame({"unit_id": hex_ids(q, r), "x": cx[inside], "y": cy[inside]},
                           geometry=hg.polygons(q, r), crs=BNG)
    keys = _hex_key(q, r)
    order = np.argsort(keys)
    return Units("hex", gdf, cell_size=float(cell_size), _lookup={"keys": keys[order], "order": order})


LAYER_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".geojson.gz", ".json.gz")


def expand_paths(paths) -> list[Path]:
    """Files from a list of files, folders (their GeoJSON/GPKG/shapefile layers) and quoted glob
    patterns ('lsoa_by_lad/*.json.gz'), in a stable order."""
    import glob

    out: list[Path] = []
    for p in paths if isinstance(paths, (list, tuple)) else [paths]:
        text = str(p)
        if any(ch in text for ch in "*?["):
            hits = sorted(glob.glob(text))
            if not hits:
                raise SaferhubError(f"{text}: no files match this pattern")
            out.extend(Path(h) for h in hits)
        elif Path(text).is_dir():
            hits = sorted(f for f in Path(text).iterdir() if f.name.lower().endswith(LAYER_SUFFIXES))
            if not hits:
                raise SaferhubError(f"{text}: no GeoJSON/GeoPackage/shapefile layers in this folder")
            out.extend(hits)
        else:
            out.append(Path(text))
    return out


def read_layers(paths) -> object:
    """Read one or more GeoJSON / GeoPackage / shapefile layers (gzip allowed; folders and glob
    patterns are expanded) into one GeoDataFrame in EPSG:27700."""
    import geopandas as gpd
    import pandas as pd

    frames = []
    for p in expand_paths(paths):
        if not p.exists():
            raise SaferhubError(f"{p}: file not found")
        src = f"/vsigzip/{p}" if p.suffix == ".gz" else str(p)
        try:
            g = gpd.read_file(src)
        except Exception as exc:  # noqa: BLE001 (pyogrio/GDAL raise many types for unreadable files)
            raise BadFileError(p, f"not a readable GeoJSON/GeoPackage layer ({type(exc).__name__}: {exc})") from None
        if g.crs is None:
            raise BadFileError(p, "the layer has no coordinate reference system")
        if len(g) == 0:
            raise BadFileError(p, "the layer has no features")
        frames.append(g.to_crs(BNG))
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=BNG)


def _id_column(gdf, id_column):
    if id_column:
        if id_column not in gdf.columns:
            raise SaferhubError(f"no column {id_column!r} in the boundaries (have: {', '.join(map(str, gdf.columns))})")
        return id_column
    for c in ID_COLUMNS:
        if c in gdf.columns:
            return c
    return None


def polygon_units(gdf, id_column: str | None = None, area=None) -> Units:
    """Polygon units (e.g. LSOAs) from a GeoDataFrame; with `area`, only polygons that intersect it.
    Duplicate ids (the same LSOA in two files) are kept once."""
    import shapely

    gdf = gdf[gdf.geometry.notna()].copy()
    kinds = set(shapely.get_type_id(gdf.geometry.values))
    if not kinds <= {3, 6}:
        raise SaferhubError("polygon units need polygon boundaries (got points or lines)")
    col = _id_column(gdf, id_column)
    gdf["unit_id"] = gdf[col].astype(str) if col else np.arange(len(gdf)).astype(str)
    gdf = gdf.drop_duplicates("unit_id")
    if area is not None:
        gdf = gdf[shapely.intersects(gdf.geometry.values, area)]
        if len(gdf) == 0:
            raise SaferhubError("none of the boundary polygons intersects the study area")
    keep = ["unit_id"] + [c for c in gdf.columns if c not in ("unit_id", "geometry")][:3] + ["geometry"]
    return Units("polygon", gdf[keep].reset_index(drop=True))


def segment_units(gdf, max_distance: float = 30.0, id_column: str | None = None, area=None) -> Units:
    """Street-segment units from line features; events snap to the nearest segment within
    `max_distance` metres (police.uk snap points sit on or beside streets)."""
    import shapely

    gdf = gdf[gdf.geometry.notna()].explode(index_parts=False).copy()
    kinds = set(shapely.get_type_id(gdf.geometry.values))
    if not kinds <= {1, 2}:
        raise SaferhubError("street segments need line features (LineString / MultiLineString)")
    if area is not None:
        gdf = gdf[shapely.intersects(gdf.geometry.values, area)]
    if len(gdf) == 0:
        raise SaferhubError("no street segments in the study area")
    col = _id_column(gdf, id_column)
    base = gdf[col].astype(str).to_numpy() if col else np.arange(len(gdf)).astype(str)
    # Exploded multi-lines share an id; number the parts so unit ids stay unique.
    dup = gdf.assign(_b=base).groupby("_b").cumcount().to_numpy()
    gdf["unit_id"] = np.where(dup > 0, np.char.add(np.char.add(base.astype(str), "#"), dup.astype(str)), base)
    gdf = gdf[["unit_id", "geometry"]].reset_index(drop=True)
    return Units("segment", gdf, _lookup={"max_distance": float(max_distance)})
