"""Map layers per zoom, made once by `publish` so the browser never simplifies or aggregates:
hotspot cells merged into 2x2 to 16x16 blocks for zoomed-out views (a 150 m cell is 3 px at
the zoom that shows a whole force, too small to see or click), boundaries simplified for each band
of zooms, and the opening view (the bounds of the hot cells)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

FACTORS = (2, 4, 8, 16)  # block sides, in cells
# Boundary levels: (name suffix, highest zoom it is drawn at, tolerance in metres). One screen pixel
# is ~46 m at zoom 11, ~11 m at zoom 13 and ~3 m at zoom 15 at Merseyside's latitude; wards and
# LSOAs are simplified as a coverage (Visvalingam-Whyatt: tolerance is the side of a square of area).
BOUNDARY_LEVELS = (("z11", 11, 100.0), ("z13", 13, 25.0), ("z19", 19, 3.0))


def _first_by(frame: pd.DataFrame, key: str, order: str, cols: list[str]) -> pd.DataFrame:
    """Per `key`, the `cols` of the row with the largest `order` (ties: the first row)."""
    top = frame.sort_values([key, order], ascending=[True, False], kind="stable").drop_duplicates(key)
    return top.set_index(key)[[c for c in cols if c in frame.columns]]


def aggregate_cells(cells: gpd.GeoDataFrame, cell_size: float, factor: int) -> gpd.GeoDataFrame:
    """Merge the cells into blocks of factor x factor cells on the same grid (block corners at
    multiples of factor * cell_size in EPSG:27700). A block keeps the strongest class of its cells
    (Gi*: the most confident hot cell, else the most confident cold one; KDE: the highest band;
    forecast: the best rank), the sums of counts, trends and risk, how many cells it holds and how
    many are hot, and the street, LSOA and ward of its busiest cell."""
    side = float(cell_size) * factor
    c = cells.reset_index(drop=True)
    b = c.geometry.bounds
    # the cell's centre decides its block (corners on the grid line would be ambiguous)
    bx = np.floor(((b["minx"] + b["maxx"]) / 2) / side).astype(np.int64)
    by = np.floor(((b["miny"] + b["maxy"]) / 2) / side).astype(np.int64)
    f = pd.DataFrame(c.drop(columns=c.geometry.name)).assign(block=(bx * 10_000_000 + by).to_numpy())
    g = f.groupby("block", sort=True)
    out = pd.DataFrame({"cells": g.size()})
    if "gi_bin" in f:
        # strongest hot class wins; a block with no hot cell takes its strongest cold class
        out["hot_cells"] = g["gi_bin"].apply(lambda s: int((s > 0).sum()))
        rank = f["gi_bin"].where(f["gi_bin"] > 0, -10 - f["gi_bin"])  # hot 3 > 2 > 1 > cold -3 > -2 > -1
        best = f.assign(_r=rank)
        out = out.join(_first_by(best, "block", "_r", ["gi_bin", "hot_class"]))
    if "count" in f:
        out["count"] = g["count"].sum()
    if "band" in f:
        out["band"] = g["band"].max()
    if "density_km2" in f:
        out["density_km2"] = g["density_km2"].max().round(1)
    if "risk" in f:
        out["risk"] = g["risk"].sum()
        out["risk_share_pct"] = g["risk_share_pct"].sum().round(3)
        out["rank"] = g["rank"].min()
    if "trend" in f:
        out["trend"] = g["trend"].apply(lambda s: np.sum(np.stack(s.to_numpy()), axis=0).astype(int).tolist())
    order = "count" if "count" in f else ("risk" if "risk" in f else ("density_km2" if "density_km2" in f else None))
    if order:
        out = out.join(_first_by(f, "block", order, ["street", "lsoa_name", "ward"]))
    out["factor"] = factor
    keys = out.index.to_numpy()
    x0 = (keys // 10_000_000) * side
    y0 = (keys % 10_000_000) * side
    geom = shapely.box(x0, y0, x0 + side, y0 + side)
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry=geom, crs=cells.crs or 27700)


def hot_bounds(cells: gpd.GeoDataFrame) -> list[list[float]] | None:
    """The opening view: [[south, west], [north, east]] (WGS84) of the hot cells (Gi* gi_bin > 0),
    or of every cell for layers without classes; None when there are none."""
    hot = cells[cells["gi_bin"] > 0] if "gi_bin" in cells else cells
    if hot.empty:
        return None
    w, s, e, n = gpd.GeoSeries(hot.geometry, crs=cells.crs or 27700).to_crs(4326).total_bounds
    return [[round(float(s), 5), round(float(w), 5)], [round(float(n), 5), round(float(e), 5)]]


def simplify_boundaries(g: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    """Simplify a set of areas for drawing. Areas that tile the ground (wards, LSOAs) are simplified
    as a coverage, so neighbours keep one shared edge (no slivers or double lines); anything else
    (or a coverage GEOS refuses) one area at a time, keeping each valid."""
    geoms = g.geometry.values
    try:
        simple = shapely.coverage_simplify(geoms, tolerance)
    except shapely.errors.GEOSException:
        simple = shapely.simplify(geoms, tolerance, preserve_topology=True)
    if shapely.is_empty(simple).any() or not shapely.is_valid(simple).all():
        simple = shapely.simplify(geoms, tolerance, preserve_topology=True)
    return g.set_geometry(gpd.GeoSeries(simple, index=g.index, crs=g.crs))
