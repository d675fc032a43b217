"""Map layers for the web, made once by the jobs (never during a request) and published through
`saferhub.data.products`: hotspot cells (Gi* classes, KDE density), forecast risk, patrol areas
with their dosage, and boundaries (force, districts, wards, LSOAs from the geo folder).

Each layer keeps only the cells a person looks at (significant Gi* cells, the densest KDE cells,
the riskiest forecast cells), carries plain-words properties (street, LSOA, ward, counts, a
monthly trend for the popup) and is listed in the `map-layers` catalogue the map page reads."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from saferhub.briefing import map_labels, map_levels
from saferhub.data.products import read_product, write_product
from saferhub.errors import SaferhubError
from saferhub.geo.areas import read_areas

CATALOGUE = "map-layers"
# Today's hotspot column names -> the contract's (CONTRACTS.md "Hotspot results"); both are read.
RENAME = {"gi_z": "z", "gi_p": "p", "gi_p_adj": "p_adj", "gi_class": "hot_class", "value": "count"}
TOP_SHARE = 0.05  # KDE and forecast layers show the top 5% of cells
BOUNDARY_FILES = {  # layer -> (file or folder under the geo folder, name column, code column)
    "force": ("merseyside_pfa_derived_from_lsoa.geojson.gz", "PFA_NAME", "PFA_NAME"),
    "districts": ("merseyside_lad_2011_derived_from_lsoa.geojson.gz", "LAD11NM", "LAD11CD"),
    "wards": ("uk-geojson/wards_by_lad", "WD13NM", "WD13CD"),
    "lsoas": ("uk-geojson/lsoa_by_lad", "LSOA11NM", "LSOA11CD"),
}


def _read_geo(path: Path) -> gpd.GeoDataFrame:
    files = sorted(path.glob("*.json*")) if path.is_dir() else [path]
    if not files or not all(p.exists() for p in files):
        raise SaferhubError(f"{path}: no boundary file there")
    frames = []
    for p in files:
        with (gzip.open(p) if p.suffix == ".gz" else open(p, "rb")) as f:
            frames.append(gpd.read_file(f))
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs).to_crs(27700)


def boundaries(geo_dir) -> dict[str, gpd.GeoDataFrame]:
    """The boundary layers found in the geo folder, with `name` and `code` columns, in EPSG:27700."""
    out = {}
    for layer, (rel, name, code) in BOUNDARY_FILES.items():
        path = Path(geo_dir) / rel
        if path.exists():
            g = _read_geo(path)
            out[layer] = gpd.GeoDataFrame({"name": g[name].astype(str), "code": g[code].astype(str)},
                                          geometry=g.geometry, crs=g.crs)
    return out


def read_result(path) -> gpd.GeoDataFrame:
    """A hotspot result file (GPKG/GeoJSON, EPSG:27700) with contract column names."""
    path = Path(path)
    if not path.exists():
        raise SaferhubError(f"{path}: no such file")
    g = gpd.read_file(path)
    return g.rename(columns={k: v for k, v in RENAME.items() if k in g.columns and v not in g.columns})


def _places(cells: gpd.GeoDataFrame, events: pd.DataFrame, months: list[str],
            wards: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Add street, LSOA name, ward and a monthly count trend to each cell, from the events in it."""
    pts = gpd.GeoDataFrame(events, geometry=gpd.points_from_xy(events["x"], events["y"]), crs=27700)
    hit = gpd.sjoin(pts, cells[["unit_id", "geometry"]], predicate="within", how="inner")
    cells = cells.copy()
    for col in ("location", "lsoa_name"):
        if col in hit and len(hit):
            top = hit.groupby(["unit_id", col]).size().rename("n").reset_index()
            top = top.sort_values(["unit_id", "n", col], ascending=[True, False, True]).drop_duplicates("unit_id")
            cells[col] = cells["unit_id"].map(top.set_index("unit_id")[col])
    cells = cells.rename(columns={"location": "street"})
    idx = {m: i for i, m in enumerate(months)}
    trend = np.zeros((len(cells), len(months)), dtype=int)
    row = pd.Series(np.arange(len(cells)), index=cells["unit_id"].to_numpy())
    if len(hit):
        r = row.reindex(hit["unit_id"]).to_numpy()
        c = hit["month"].map(idx).to_numpy()
        ok = ~pd.isna(c)
        np.add.at(trend, (r[ok].astype(int), c[ok].astype(int)), 1)
    cells["trend"] = list(trend)
    if wards is not None and len(cells):
        cent = gpd.GeoDataFrame(geometry=cells.geometry.centroid, crs=cells.crs)
        w = gpd.sjoin(cent, wards, predicate="within", how="left")
        cells["ward"] = w.groupby(level=0)["name"].first().reindex(cells.index).to_numpy()
    return cells


def _month_list(events: pd.DataFrame) -> list[str]:
    if events.empty:
        return []
    m = pd.to_datetime(events["month"].astype(str).str.slice(0, 7))
    rng = pd.period_range(m.min(), m.max(), freq="M")
    return [str(p) for p in rng]


def _events(store, categories, months) -> pd.DataFrame:
    from saferhub.data import events

    t = events(store=store, categories=categories, months=months, located_only=True,
               columns=["x", "y", "month", "location", "lsoa_name"])
    df = t.to_pandas()
    df["month"] = df["month"].astype(str).str.slice(0, 7)
    return df


def hotspot_layer(result: gpd.GeoDataFrame, method: str, events: pd.DataFrame,
                  wards: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The cells worth drawing: Gi* hot and cold cells, or the densest 5% of KDE cells."""
    if method == "gistar":
        need = {"unit_id", "gi_bin", "z", "p_adj", "hot_class", "count"}
        missing = need - set(result.columns)
        if missing:
            raise SaferhubError(f"the Gi* result lacks columns {sorted(missing)}")
        keep = result[result["gi_bin"] != 0]
        cols = ["unit_id", "gi_bin", "hot_class", "z", "p_adj", "count"]
    elif method == "kde":
        dens = "density_km2" if "density_km2" in result.columns else "density"
        if dens not in result.columns:
            raise SaferhubError("the KDE result lacks a density column (density_km2)")
        cut = result[dens].quantile(1 - TOP_SHARE)
        keep = result[result[dens] >= cut].assign(density_km2=result[dens])
        keep = keep.assign(band=pd.qcut(keep[dens].rank(method="first"), 5, labels=False) + 1)
        cols = ["unit_id", "density_km2", "band"]
    else:
        raise SaferhubError(f"unknown hotspot method {method!r} (gistar or kde)")
    months = _month_list(events)
    cells = gpd.GeoDataFrame(keep[cols], geometry=keep.geometry, crs=result.crs or 27700)
    cells = _places(cells.reset_index(drop=True), events, months, wards)
    cells.attrs["meta"] = {"months": months}
    return cells


def top_hotspots(cells: gpd.GeoDataFrame, n: int = 50) -> list[dict]:
    """Hot cells with crimes of their own, the most confident and busiest first."""
    hot = cells[(cells["gi_bin"] > 0) & (cells["count"] > 0)]
    hot = hot.sort_values(["gi_bin", "count", "unit_id"], ascending=[False, False, True]).head(n)
    centre = hot.geometry.centroid.to_crs(4326) if len(hot) else None  # the briefing's map links
    rows = pd.DataFrame(hot.drop(columns=hot.geometry.name))
    if centre is not None:
        rows["lon"], rows["lat"] = centre.x.round(6).to_numpy(), centre.y.round(6).to_numpy()
    return rows.to_dict("records")


def forecast_layer(table: pd.DataFrame, cell_size: float, wards: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The riskiest 5% of forecast cells (from `saferhub forecast --out X.csv`: cell_id, x, y, risk)."""
    from shapely import box

    need = {"cell_id", "x", "y", "risk"}
    if need - set(table.columns):
        raise SaferhubError(f"the forecast table lacks columns {sorted(need - set(table.columns))}")
    total = float(table["risk"].sum()) or 1.0
    top = table[table["risk"] >= table["risk"].quantile(1 - TOP_SHARE)].sort_values("risk", ascending=False)
    geom = [box(x, y, x + cell_size, y + cell_size) for x, y in zip(top["x"], top["y"])]
    cells = gpd.GeoDataFrame({"unit_id": top["cell_id"].astype(str).to_numpy(),
                              "risk": top["risk"].to_numpy(),
                              "risk_share_pct": (100 * top["risk"] / total).round(3).to_numpy(),
                              "rank": np.arange(1, len(top) + 1)}, geometry=geom, crs=27700)
    if wards is not None and len(cells):
        cent = gpd.GeoDataFrame(geometry=cells.geometry.centroid, crs=27700)
        cells["ward"] = gpd.sjoin(cent, wards, predicate="within", how="left").groupby(level=0)["name"].first()
    return cells


def patrol_layer(areas: gpd.GeoDataFrame, dosage: pd.DataFrame | None, week_start: dt.date) -> gpd.GeoDataFrame:
    """Patrol areas (CONTRACTS.md areas format) with this week's visits, minutes and compliance
    (minutes_min over planned_minutes, as a percentage)."""
    need = {"area_id", "name", "rank", "geometry"}
    if need - set(areas.columns):
        raise SaferhubError(f"the patrol areas lack columns {sorted(need - set(areas.columns))}")
    out = gpd.GeoDataFrame(areas[["area_id", "name", "rank"] + [c for c in ("harm", "count", "risk")
                                                                  if c in areas.columns]],
                           geometry=areas.geometry, crs=areas.crs or 27700)
    out["simulated"] = bool(areas["simulated"].any()) if "simulated" in areas.columns else False
    if dosage is not None and len(dosage):
        d = dosage.assign(date=pd.to_datetime(dosage["date"]).dt.date)
        d = d[(d["date"] >= week_start) & (d["date"] < week_start + dt.timedelta(days=7))]
        week = d.groupby("area_id")[["visits", "minutes_min", "planned_minutes"]].sum()
        out = out.join(week, on="area_id")
        out["compliance_pct"] = (100 * out["minutes_min"] / out["planned_minutes"].where(out["planned_minutes"] > 0)).round(0)
    out.attrs["meta"] = {"week_start": week_start.isoformat()}
    return out


def _register(store, name: str, entry: dict) -> None:
    cat = read_product(CATALOGUE, store) or {"layers": []}
    layers = [x for x in cat["layers"] if x["name"] != name]
    layers.append(entry | {"name": name, "published": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    write_product(CATALOGUE, {"layers": sorted(layers, key=lambda x: (x["group"], x["name"]))}, store)


def publish_hotspots(path, *, method: str, categories: str, months: str, cell_size: float, store=None,
                     geo_dir=None) -> dict:
    """Publish a hotspot result file as layer `hotspots-<categories>-<method>`."""
    result = read_result(path)
    ev = _events(store, categories, months)
    wards = boundaries(geo_dir).get("wards") if geo_dir else None
    cells = hotspot_layer(result, method, ev, wards)
    name = f"hotspots-{_slug(categories)}-{method}"
    write_product(name, cells, store)
    if method == "gistar":  # the briefing's "active hotspots": a small file, not the whole layer
        write_product(f"{name}-top", top_hotspots(cells), store)
    entry = {"group": "hotspots", "method": method, "categories": categories, "months": cells.attrs["meta"]["months"],
             "cell_size": cell_size, "features": int(len(cells)), "source": str(path)}
    entry |= publish_levels(name, cells, cell_size, store)
    _register(store, name, entry)
    return entry | {"name": name}


def publish_forecast(path, *, categories: str, cell_size: float, target_month: str | None = None, store=None,
                     geo_dir=None) -> dict:
    path = Path(path)
    if not path.exists():
        raise SaferhubError(f"{path}: no such file")
    wards = boundaries(geo_dir).get("wards") if geo_dir else None
    cells = forecast_layer(pd.read_csv(path), cell_size, wards)
    name = f"forecast-{_slug(categories)}"
    write_product(name, cells, store)
    entry = {"group": "forecast", "method": "forecast", "categories": categories, "cell_size": cell_size,
             "target_month": target_month, "features": int(len(cells)), "source": str(path)}
    entry |= publish_levels(name, cells, cell_size, store)
    _register(store, name, entry)
    return entry | {"name": name}


def publish_patrol(areas_path, dosage_path=None, *, week_start: dt.date | None = None, store=None) -> dict:
    areas = read_areas(areas_path)
    dosage = pd.read_csv(dosage_path) if dosage_path else None
    week_start = week_start or (dt.date.today() - dt.timedelta(days=dt.date.today().weekday()))
    layer = patrol_layer(areas, dosage, week_start)
    write_product("patrol-areas", layer, store, simplify=5)
    if dosage is not None:
        write_product("patrol-dosage", dosage.to_dict("records"), store)
    entry = {"group": "patrol", "method": "patrol", "features": int(len(layer)), "week_start": week_start,
             "simulated": bool(layer["simulated"].any())}
    _register(store, "patrol-areas", entry)
    return entry | {"name": "patrol-areas"}


def publish_levels(name: str, cells: gpd.GeoDataFrame, cell_size: float, store) -> dict:
    """Publish the layer's blocks of `map_levels.FACTORS` cells a side (for zoomed-out views); the catalogue entry's
    `levels` and `hot_bounds` (the opening view)."""
    levels = []
    for factor in map_levels.FACTORS:
        if len(cells):
            blocks = map_levels.aggregate_cells(cells, cell_size, factor)
            write_product(f"{name}-x{factor}", blocks, store)
            levels.append({"factor": factor, "name": f"{name}-x{factor}", "features": int(len(blocks))})
    return {"levels": levels, "hot_bounds": map_levels.hot_bounds(cells) if len(cells) else None}


def _street_events(store) -> pd.DataFrame | None:
    """Every located event's place text (for street labels); None when the store has no events."""
    from saferhub.data import events

    try:
        return events(store=store, located_only=True, columns=["x", "y", "location"]).to_pandas()
    except SaferhubError:
        return None


def publish_boundaries(geo_dir, store=None) -> list[dict]:
    """Force, district, ward and LSOA boundaries, each simplified for three bands of zooms
    (`boundary-wards-z11` ...: what a screen pixel can show), and the place labels (district and
    ward names; street names from the store's events)."""
    if geo_dir is None:
        raise SaferhubError("no geo folder: set SAFERHUB_GEO_DIR or pass --geo-dir")
    done = []
    tolerance = {"force": 20, "districts": 20, "wards": 10, "lsoas": 5}
    found = boundaries(geo_dir)
    for layer, g in found.items():
        name = f"boundary-{layer}"
        write_product(name, g, store, simplify=tolerance[layer])
        levels = []
        for suffix, max_zoom, tol in map_levels.BOUNDARY_LEVELS:
            write_product(f"{name}-{suffix}", map_levels.simplify_boundaries(g, tol), store)
            levels.append({"max_zoom": max_zoom, "name": f"{name}-{suffix}"})
        _register(store, name, {"group": "boundaries", "method": layer, "features": int(len(g)), "levels": levels})
        done.append({"name": name, "features": int(len(g))})
        if layer == "lsoas":  # the briefing names LSOAs ("Liverpool 060C"), not codes
            write_product("lsoa-names", dict(zip(g["code"], g["name"])), store)
    if not done:
        raise SaferhubError(f"{geo_dir}: no boundary files found ({', '.join(f[0] for f in BOUNDARY_FILES.values())})")
    for part, g in map_labels.label_layers(found, _street_events(store)).items():
        name = f"map-labels-{part}"
        write_product(name, g, store)
        _register(store, name, {"group": "labels", "method": part, "features": int(len(g))})
        done.append({"name": name, "features": int(len(g))})
    return done


def _slug(categories: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in (categories or "all").lower()).strip("-")[:30] or "all"
