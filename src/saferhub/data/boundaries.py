"""Neighbourhood polygons from the police.uk API, and a force's outline cached from them.

The fetcher asks the API for each neighbourhood's boundary (lat/lon points); these become valid
shapely polygons to query crimes with. Their union is the force's area: `cache_boundary` keeps it
as `<store>/boundaries/<force>.geojson` (WGS84), where `saferhub.geo.boundary.force_boundary`
finds it, so every later ingest of that force checks points against the real area.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from saferhub.fsutil import write_atomic
from saferhub.geo.boundary import BOUNDARY_DIR

# Neighbourhood polygons are grown by this much (degrees, ~10 cm) and split halves overlap by it,
# so a snap point lying exactly on a shared border or a cut line is inside at least one query
# whatever the API's boundary rule; the duplicates this makes are dropped by crime id.
EDGE_EPS = 1e-6


def poly_param(polygon) -> str:
    """A shapely Polygon (x=lon, y=lat) -> the API's 'lat,lng:lat,lng:...' (exact floats, open ring)."""
    coords = list(polygon.exterior.coords)[:-1]
    return ":".join(f"{lat!r},{lon!r}" for lon, lat in coords)


def _polygons(geom) -> list:
    """The areal parts of a geometry (intersections can yield multi-parts, lines and points)."""
    from shapely.geometry import MultiPolygon, Polygon

    if isinstance(geom, Polygon):
        return [geom] if geom.area > 0 else []
    if isinstance(geom, MultiPolygon) or hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _polygons(g)]
    return []


def boundary_polygon(points: list[tuple[float, float]]):
    """(lat, lon) boundary points -> valid shapely Polygons (lon/lat), grown by EDGE_EPS; [] when
    the API gives no usable boundary."""
    import shapely
    from shapely.geometry import Polygon

    if len(points) < 3:
        return []
    poly = Polygon([(lon, lat) for lat, lon in points])
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
    return _polygons(poly.buffer(EDGE_EPS, join_style="mitre"))


def split_polygon(polygon, eps: float | None = None) -> list:
    """Cut a polygon in two across the longer side of its box (lon scaled by cos(lat)); the two
    halves overlap by 2*eps (default EDGE_EPS) so nothing on the cut line is missed. Returns the
    areal parts."""
    from shapely.geometry import box

    eps = EDGE_EPS if eps is None else eps

    minx, miny, maxx, maxy = polygon.bounds
    coslat = np.cos(np.radians((miny + maxy) / 2))
    if (maxx - minx) * coslat >= (maxy - miny):
        mid = (minx + maxx) / 2
        halves = [box(minx, miny, mid + eps, maxy), box(mid - eps, miny, maxx, maxy)]
    else:
        mid = (miny + maxy) / 2
        halves = [box(minx, miny, maxx, mid + eps), box(minx, mid - eps, maxx, maxy)]
    return [p for h in halves for p in _polygons(polygon.intersection(h))]


def cache_boundary(store_root, force: str, polygons: list) -> Path:
    """Write the union of a force's neighbourhood polygons (lon/lat) as its boundary file."""
    import shapely

    area = shapely.union_all(polygons)
    doc = {"type": "FeatureCollection", "name": force, "features": [{
        "type": "Feature",
        "properties": {"force": force, "source": "union of the police.uk API neighbourhood boundaries",
                       "neighbourhood_polygons": len(polygons)},
        "geometry": json.loads(shapely.to_geojson(area)),
    }]}
    path = Path(store_root) / BOUNDARY_DIR / f"{force}.geojson"
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, json.dumps(doc))


def neighbourhoods_path(store_root, force: str) -> Path:
    return Path(store_root) / BOUNDARY_DIR / f"{force}-neighbourhoods.geojson"


def hood_names(hoods: list[dict]) -> list[str]:
    """The page name of each neighbourhood: its police.uk name, with its id when two share it."""
    names = [str(h.get("name") or h["id"]).strip() for h in hoods]
    return [n if names.count(n) == 1 else f"{n} ({h['id']})" for h, n in zip(hoods, names)]


def cache_neighbourhoods(store_root, force: str, hoods: list[dict], groups: list[list]) -> Path:
    """Write the force's police.uk neighbourhoods (id, name, polygon in lon/lat), as `saferhub fetch`
    learnt them, for the public neighbourhood pages. A name two neighbourhoods share gets its id."""
    import shapely

    features = [{"type": "Feature",
                 "properties": {"id": str(h["id"]), "name": n,
                                "force": force, "source": "police.uk API neighbourhood boundary"},
                 "geometry": json.loads(shapely.to_geojson(shapely.union_all(g)))}
                for h, n, g in zip(hoods, hood_names(hoods), groups) if g]
    doc = {"type": "FeatureCollection", "name": f"{force} neighbourhoods", "features": features,
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}}
    path = neighbourhoods_path(store_root, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, json.dumps(doc))
