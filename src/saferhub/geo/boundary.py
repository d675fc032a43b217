"""A police force's real boundary, when one is known, in British National Grid metres.

Where boundaries come from, first found wins:
1. the event store's boundary cache, `<store>/boundaries/<force>.geojson` (written by the fetcher
   from the police.uk API's neighbourhood boundaries, or by `saferhub` from a user's file);
2. the geo folder (`--geo-dir` / SAFERHUB_GEO_DIR): a file named `<force>_pfa*.geojson[.gz]` or
   `<force>_pfa*.gpkg` (e.g. `merseyside_pfa_derived_from_lsoa.geojson.gz` in shared/data/geo).
No boundary is shipped in the package: we ship none we cannot source.
"""

from __future__ import annotations

import functools
from pathlib import Path

BOUNDARY_DIR = "boundaries"


def boundary_files(force: str, *, store=None, geo_dir=None) -> list[Path]:
    """Candidate boundary files for `force`, in the order they are tried."""
    from saferhub.config import settings

    cfg = settings(store=store, geo_dir=geo_dir)
    found: list[Path] = []
    cached = cfg.store_path / BOUNDARY_DIR / f"{force}.geojson"
    if cached.is_file():
        found.append(cached)
    if cfg.geo_dir and Path(cfg.geo_dir).is_dir():
        for pattern in (f"{force}_pfa*.geojson", f"{force}_pfa*.geojson.gz", f"{force}_pfa*.gpkg"):
            found.extend(sorted(Path(cfg.geo_dir).glob(pattern)))
    return found


def force_boundary(force: str, *, store=None, geo_dir=None):
    """The force's boundary as one shapely (Multi)Polygon in EPSG:27700, or None when none is known."""
    files = boundary_files(force, store=store, geo_dir=geo_dir)
    if not files:
        return None
    path = files[0]
    return _read(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read(path: str, _mtime: int):
    from saferhub.geo.area import read_area

    return read_area(path)
