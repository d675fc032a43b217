"""The patrol service: every `saferhub patrol` verb as a Python function over the store.

Store layout (CONTRACTS.md):
  <store>/patrol/plans/<plan_id>/plan.json, areas.gpkg, schedule.csv
  <store>/patrol/pseudonym.key       the keyed-hash key for device ids (0600, never printed)
  pings: the event store's dataset "pings" (saferhub.data.pings)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.config import resolve_store
from saferhub.errors import SaferhubError
from saferhub.patrol import areas as A

EVENT_COLUMNS = ("event_id", "month", "occurred_at", "category", "x", "y", "location", "lsoa_name", "source")


def _events(store, force, months, categories, weights):
    from saferhub.hotspots.load import load_events

    return load_events(store=store, force=force, months=months, categories=categories, weights=weights,
                       columns=EVENT_COLUMNS)


def hot_cells(store=None, force=None, months=None, categories=None, *, source: str = "gistar",
              cell_size: int = 100, measure: str = "harm", level: int = 3, top_k: int = 60,
              model: str = "blend", weights=None, events=None):
    """THE adapter to the hotspot / forecast services (switched to the new service layer at the
    merge): hot cells as the CONTRACTS.md hotspot GeoDataFrame (EPSG:27700, unit_id "E<x>N<y>",
    geometry, count, harm, and z/p/p_adj/gi_bin/hot_class for Gi*, risk for a forecast).

    gistar: cells with gi_bin >= level (3 = hot at 99% confidence, FDR-corrected), measure
    "harm" or "count". forecast: the top_k cells by the model's risk for the next month."""
    import geopandas as gpd

    from saferhub.geo.area import data_hull
    from saferhub.geo.grid import Grid

    if source == "forecast":
        from saferhub.forecast.registry import make_model
        from saferhub.forecast.service import forecast_table, load_cube

        cube = load_cube(store, categories=categories or "grip", cell_size=cell_size, force=force,
                         harm_weights=weights)
        risk = make_model(model, target="harm" if measure == "harm" else "count",
                          cell_size=cell_size).fit(cube, cube.months[-1]).predict()
        table = forecast_table(cube, risk).sort_values(["risk", "cell_id"], ascending=[False, True]).head(top_k)
        import shapely

        gdf = gpd.GeoDataFrame({"unit_id": table["cell_id"].to_numpy(), "risk": table["risk"].to_numpy(),
                                "count": 0.0, "harm": 0.0},
                               geometry=shapely.box(table["x"], table["y"], table["x"] + cell_size,
                                                    table["y"] + cell_size), crs="EPSG:27700")
        gdf.attrs["params"] = {"method": "forecast", "model": model, "cell_size": cell_size,
                               "through": str(cube.months[-1]), "top_k": top_k, "measure": measure}
        return gdf.reset_index(drop=True)
    if source != "gistar":
        raise SaferhubError(f"unknown hot-cell source {source!r} (use gistar, forecast or a polygon file)")
    from saferhub.geo.units import grid_units
    from saferhub.hotspots import analyse
    from saferhub.hotspots.inference import class_labels

    df = events if events is not None else _events(store, force, months, categories, weights)
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    area = data_hull(x, y, kind="concave", ratio=0.1, buffer=50.0)
    units = grid_units(Grid.covering(x, y, cell_size), area, (x, y))
    harm = df["harm"].to_numpy()
    vals = analyse.unit_values(units, x, y, harm if measure == "harm" else None)
    g = analyse.gistar_units(units, vals, rings=1, correction="fdr")
    gdf = units.gdf[["unit_id", "geometry"]].copy()
    gdf["count"] = analyse.unit_values(units, x, y)
    gdf["harm"] = analyse.unit_values(units, x, y, harm)
    gdf["z"], gdf["p"], gdf["p_adj"], gdf["gi_bin"] = g.z, g.p, g.p_adjusted, g.cls
    gdf["hot_class"] = class_labels(g.cls)
    gdf = gdf[gdf["gi_bin"] >= level].reset_index(drop=True)
    gdf.attrs["params"] = {"method": "gistar", "cell_size": cell_size, "measure": measure,
                           "months": str(months or "all"), "level": level, "correction": "fdr"}
    return gdf


def force_area_m2(force, store=None, geo_dir=None, x=None, y=None) -> tuple[float, str]:
    """The force area (its boundary), else a concave hull of the events; and what it was."""
    from saferhub.geo.boundary import force_boundary

    b = force_boundary(force, store=store, geo_dir=geo_dir) if force else None
    if b is not None:
        return float(b.area), f"{force} police force area"
    from saferhub.geo.area import data_hull

    return float(data_hull(x, y, kind="concave", ratio=0.1).area), "a hull round the events"


@dataclass
class AreasResult:
    areas: object          # GeoDataFrame, CONTRACTS.md columns plus name parts and reasons
    coverage: dict
    params: dict = field(default_factory=dict)


def make_areas(store=None, force=None, months=None, categories=None, *, source: str = "gistar",
               cell_size: int = 100, max_extent: float = A.MAX_EXTENT, keep: int | None = 20,
               rank_by: str | None = None, level: int = 3, measure: str = "harm", top_k: int = 60,
               model: str = "blend", previous=None, weights=None, geo_dir=None) -> AreasResult:
    """`saferhub patrol areas`: hot cells (Gi*, forecast) or a polygon file -> ranked, named
    areas with stable ids, and the share of area, crime and harm they hold."""
    df = _events(store, force, months, categories, weights)
    path = Path(source)
    if source not in ("gistar", "forecast"):
        if not path.exists():
            raise SaferhubError(f"{source}: no such polygon file (or use gistar / forecast)")
        from saferhub.geo.units import read_layers

        given = read_layers([path])
        raw = A.polygon_areas(given)
        if "area_id" in given.columns and previous is None:   # the file's own ids stay
            previous = given
        params = {"method": "polygon file", "file": str(path)}
    else:
        cells = hot_cells(store, force, months, categories, source=source, cell_size=cell_size,
                          measure=measure, level=level, top_k=top_k, model=model, weights=weights, events=df)
        raw = A.cell_areas(cells, max_extent, "risk" if source == "forecast" else measure)
        params = dict(cells.attrs.get("params", {}))
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    areas = A.describe(raw, x, y, df["category"].to_numpy(), df["harm"].to_numpy(),
                       df["location"].to_numpy(), df["lsoa_name"].to_numpy())
    if "risk" not in areas:
        areas["risk"] = np.nan
    prev = _read_previous(previous)
    areas["area_id"] = A.stable_ids(areas, prev)
    by = rank_by or ("risk" if source == "forecast" else "harm")
    areas = A.rank_areas(areas, by, keep)
    months_text = f"months {months}" if months else "all months in the store"
    areas["reason"] = A.reasons(areas, months_text, by)
    region, region_desc = force_area_m2(force, store, geo_dir, x, y)
    cov = A.coverage(areas, x, y, df["harm"].to_numpy(), region)
    cov["region"] = region_desc
    cov["sentence"] = A.coverage_sentence(cov)
    if prev is not None:
        cov["ids_kept"] = int(areas["area_id"].isin(set(prev["area_id"].astype(str))).sum())
    params.update({"source": source if source in ("gistar", "forecast") else "polygons",
                   "force": force, "months": months, "categories": categories, "max_extent_m": max_extent,
                   "ranked_by": by, "keep": keep})
    cols = ["area_id", "name", "rank", "harm", "count", "risk", "top_categories", "anchor", "cells",
            "reason", "geometry"]
    return AreasResult(areas[cols], cov, params)


def _read_previous(previous):
    import geopandas as gpd

    if previous is None or isinstance(previous, gpd.GeoDataFrame):
        return previous

    try:
        prev = gpd.read_file(previous)
    except Exception as exc:   # pyogrio raises its own error types for unreadable files
        raise SaferhubError(f"{previous}: cannot read the previous areas file ({exc})") from None
    if "area_id" not in prev.columns:
        raise SaferhubError(f"{previous}: the previous areas file has no area_id column")
    return prev.to_crs("EPSG:27700")


def write_areas(areas, path) -> Path:
    """Areas as GPKG or GeoJSON (GeoJSON in WGS84 per RFC 7946), written atomically."""
    from saferhub.hotspots.output import write_units

    path = Path(path)
    if path.suffix.lower() not in (".gpkg", ".geojson", ".json"):
        raise SaferhubError(f"{path}: write areas as .gpkg or .geojson")
    return write_units(areas, path, layer="patrol_areas")


def read_areas(path):
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:   # pyogrio raises its own error types for unreadable files
        raise SaferhubError(f"{path}: cannot read the areas file ({exc})") from None
    missing = {"area_id", "name", "rank", "harm", "count"} - set(gdf.columns)
    if missing:
        raise SaferhubError(f"{path}: not a patrol areas file (missing {', '.join(sorted(missing))}); "
                            "make one with `saferhub patrol areas`")
    return gdf.to_crs("EPSG:27700").sort_values("rank").reset_index(drop=True)
