"""WGS84 <-> British National Grid (EPSG:27700).

pyproj's default transform needs no grid files; its ~2 m Helmert error is below the
data.police.uk snap-point anonymisation (DOMAIN.md, Geography).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyproj import Transformer

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"


@lru_cache(maxsize=None)
def _to_bng() -> Transformer:
    return Transformer.from_crs(WGS84, BNG, always_xy=True)


@lru_cache(maxsize=None)
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(BNG, WGS84, always_xy=True)


def to_bng(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Project lon/lat arrays (NaN allowed, stays NaN) to BNG easting/northing in metres."""
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    x, y = _to_bng().transform(lon, lat)
    x = np.where(np.isfinite(lon) & np.isfinite(lat), x, np.nan)
    y = np.where(np.isfinite(lon) & np.isfinite(lat), y, np.nan)
    return x, y


def to_wgs84(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Project BNG easting/northing arrays to lon/lat."""
    return _to_wgs84().transform(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))
