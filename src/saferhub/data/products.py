"""Precomputed products the web reads: map layers (GeoJSON in WGS84) and small JSON documents.

Jobs that compute something (hotspots, forecast, patrol plans, dosage) publish it here with
`write_product`; the web map and the briefing only ever read (`read_product`, `product_path`), so
no page computes during a request. Every write is atomic (a reader sees the old file or the new
one, never half), so a job may republish while the server runs.

Layout: `<store>/products/<name>.geojson` for geometries, `<store>/products/<name>.json` for any
other JSON-able object. Names are short slugs (`hotspots-grip-gistar`, `boundary-wards`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from saferhub.errors import SaferhubError
from saferhub.fsutil import write_atomic

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,80}$")
PRECISION = 5  # decimal places of longitude/latitude: about 1 m, plenty for 150 m cells


def products_dir(store=None) -> Path:
    from saferhub.config import resolve_store

    return resolve_store(store) / "products"


def plans_dir(store=None) -> Path:
    """Where patrol plans live, `<store>/patrol/plans/` (one folder per plan: plan.json,
    areas.gpkg, schedule.csv) — built here only, for the patrol service and the evaluation alike."""
    from saferhub.config import resolve_store

    return resolve_store(store) / "patrol" / "plans"


def plan_folder(plan_id: str, store=None) -> Path:
    return plans_dir(store) / plan_id


def _check(name: str) -> str:
    if not NAME.match(name or ""):
        raise SaferhubError(f"product name {name!r} must be lower-case letters, digits, '-' or '_'")
    return name


def product_path(name: str, store=None) -> Path | None:
    """The file holding product `name`, or None when it has not been published."""
    folder = products_dir(store)
    for suffix in (".geojson", ".json"):
        p = folder / f"{_check(name)}{suffix}"
        if p.exists():
            return p
    return None


def _default(v):
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if hasattr(v, "tolist"):  # numpy arrays and scalars
        return v.tolist()
    return str(v)


def _geojson(gdf, simplify: float | None) -> str:
    """A GeoDataFrame (any projected CRS) as compact WGS84 GeoJSON text."""
    import shapely

    g = gdf
    if g.crs is None:
        raise SaferhubError("a map layer needs a coordinate reference system (EPSG:27700 expected)")
    if simplify:
        g = g.assign(geometry=g.geometry.simplify(simplify, preserve_topology=True))
    g = g.to_crs(4326)
    try:
        g = g.assign(geometry=shapely.set_precision(g.geometry.values, 10 ** -PRECISION))
    except shapely.errors.GEOSException:  # an edge a rounding would fold over: round the points only (drawn, not analysed)
        g = g.assign(geometry=shapely.set_precision(g.geometry.values, 10 ** -PRECISION, mode="pointwise"))
    props = g.drop(columns=g.geometry.name)
    features = []
    for geom, rec in zip(shapely.to_geojson(g.geometry.values), props.to_dict("records")):
        clean = {k: (None if _missing(v) else v) for k, v in rec.items()}
        features.append('{"type":"Feature","geometry":' + geom + ',"properties":'
                        + json.dumps(clean, default=_default, separators=(",", ":")) + "}")
    meta = json.dumps(dict(gdf.attrs.get("meta", {})), default=_default, separators=(",", ":"))
    return '{"type":"FeatureCollection","meta":' + meta + ',"features":[' + ",".join(features) + "]}"


def _missing(v) -> bool:
    if v is None:
        return True
    return isinstance(v, float) and v != v  # NaN is the only value not equal to itself


def write_product(name: str, obj, store=None, *, simplify: float | None = None) -> Path:
    """Publish `obj` as product `name`, atomically. A GeoDataFrame becomes WGS84 GeoJSON (with
    `gdf.attrs["meta"]` as the collection's `meta`; `simplify` in the layer's CRS units); anything
    else is written as JSON. Returns the file written."""
    folder = products_dir(store)
    _check(name)
    if hasattr(obj, "geometry") and hasattr(obj, "to_crs"):
        path, text = folder / f"{name}.geojson", _geojson(obj, simplify)
        (folder / f"{name}.json").unlink(missing_ok=True)
    else:
        path = folder / f"{name}.json"
        text = json.dumps(obj, default=_default, separators=(",", ":"))
        (folder / f"{name}.geojson").unlink(missing_ok=True)
    return write_atomic(path, text)


def read_product(name: str, store=None):
    """The published object (GeoJSON as a dict), or None when `name` was never published."""
    path = product_path(name, store)
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SaferhubError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}); republish it") from None


def list_products(store=None) -> list[dict]:
    """Every published product: name, kind (geojson|json), bytes, written (UTC ISO time)."""
    folder = products_dir(store)
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.glob("*.json")) + sorted(folder.glob("*.geojson")):
        if p.name.startswith("."):
            continue  # a write in progress
        st = p.stat()
        out.append({"name": p.stem, "kind": p.suffix.lstrip("."), "bytes": st.st_size,
                    "written": dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc).isoformat(timespec="seconds")})
    return sorted(out, key=lambda d: d["name"])
