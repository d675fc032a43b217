"""Place names for points: the electoral ward and the LSOA they fall in, from the boundary files
in the geo folder (`--geo-dir` / SAFERHUB_GEO_DIR):
  uk-geojson/wards_by_lad/*.json.gz  (ONS wards 2013: WD13CD, WD13NM)
  uk-geojson/lsoa_by_lad/*.json.gz   (ONS LSOA 2011: LSOA11CD, LSOA11NM)
No geo folder, or no such files, gives empty names: the caller says so rather than guessing."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

LAYERS = {"ward": ("wards_by_lad", "WD13NM"), "lsoa": ("lsoa_by_lad", "LSOA11CD"),
          "lsoa_name": ("lsoa_by_lad", "LSOA11NM")}


def place_files(geo_dir, folder: str) -> list[Path]:
    if not geo_dir:
        return []
    base = Path(geo_dir) / "uk-geojson" / folder
    return sorted(base.glob("*.json.gz")) + sorted(base.glob("*.json")) if base.is_dir() else []


@functools.lru_cache(maxsize=4)
def _layer(files: tuple[str, ...]):
    from saferhub.geo.units import read_layers

    return read_layers(list(files))


def names_at(x, y, geo_dir, what: str = "ward") -> np.ndarray:
    """Object array: the `what` ("ward", "lsoa", "lsoa_name") at each BNG point; "" where the
    point is in no polygon or the geo folder has no such layer."""
    import shapely

    x, y = np.asarray(x, float), np.asarray(y, float)
    out = np.full(x.shape, "", dtype=object)
    folder, column = LAYERS[what]
    files = place_files(geo_dir, folder)
    if not files or x.size == 0:
        return out
    layer = _layer(tuple(map(str, files)))
    tree = shapely.STRtree(layer.geometry.values)
    pts, poly = tree.query(shapely.points(x, y), predicate="intersects")
    # a point on a shared boundary matches two polygons: keep the first, deterministically
    first = np.unique(pts, return_index=True)[1]
    out[pts[first]] = layer[column].astype(str).to_numpy()[poly[first]]
    return out
