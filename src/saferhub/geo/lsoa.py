"""LSOA editions: police.uk rows carry 2011 LSOA codes until early 2023 and 2021 codes after, but
IMD 2019, the IoD population denominators and the boundary files we hold are all 2011-based.

`editions(codes, x, y, geo_dir)` says which edition each code is and gives its 2011 LSOA:
- a code in the 2011 list (`lsoa2011_centroids_ew.csv.gz` in the geo folder) is edition 2011 and its
  own 2011 LSOA (most LSOAs kept their code in 2021, so such a code is valid in both editions);
- any other code that looks like an LSOA code (E01/W01 + 6 digits) is edition 2021 and is mapped to
  the 2011 LSOA that contains the row's point, when the geo folder holds 2011 polygons there
  (`uk-geojson/lsoa_by_lad/*.json.gz`, `*lsoa2011*.geojson.gz`), else to the nearest 2011 centroid.
No ONS best-fit lookup (LSOA 2011 -> 2021) is in the shared data, so the mapping is spatial: a row
is put in the 2011 LSOA its snap point falls in, which is what a best-fit lookup approximates.
Without the geo folder both columns are null (the edition cannot be told from the code alone).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from saferhub.geo.pointmemo import Memos, PointMemo, distinct_points

CENTROIDS = "lsoa2011_centroids_ew.csv.gz"
POLYGON_GLOBS = ("uk-geojson/lsoa_by_lad/*.json.gz", "*lsoa2011*.geojson.gz", "*lsoa2011*.geojson")
LSOA_CODE = r"^[EW]01\d{6}$"


@functools.lru_cache(maxsize=4)
def _centroids(geo_dir: str):
    """(codes as an Arrow array, KD-tree of their BNG centroids) of every 2011 LSOA, or None."""
    path = Path(geo_dir) / CENTROIDS
    if not path.is_file():
        return None
    import pyarrow.csv as pacsv

    from saferhub.geo.project import to_bng

    t = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={"lsoa11cd": pa.string(), "lon": pa.float64(), "lat": pa.float64()}))
    from scipy.spatial import cKDTree

    x, y = to_bng(t["lon"].to_numpy(), t["lat"].to_numpy())
    return t["lsoa11cd"].combine_chunks(), cKDTree(np.column_stack([x, y]))


@functools.lru_cache(maxsize=4)
def _polygons(geo_dir: str):
    """(codes, shapely STRtree of 2011 LSOA polygons in BNG) from the geo folder, or None."""
    files = sorted({p for g in POLYGON_GLOBS for p in Path(geo_dir).glob(g)})
    if not files:
        return None
    import shapely

    from saferhub.geo.units import read_layers

    gdf = read_layers(files)
    col = next((c for c in gdf.columns if c.upper() == "LSOA11CD"), None)
    if col is None:
        return None
    gdf = gdf.drop_duplicates(subset=col)
    return gdf[col].to_numpy(dtype=object), shapely.STRtree(gdf.geometry.values)


@functools.lru_cache(maxsize=4)
def _known_set(geo_dir: str) -> frozenset:
    """The 2011 LSOA codes as a Python set (a file's ~2,000 distinct codes are looked up in it)."""
    return frozenset(_centroids(geo_dir)[0].to_pylist())


def editions(codes, x, y, geo_dir, memos: Memos | None = None) -> tuple[pa.Array, pa.Array]:
    """(lsoa_edition int16: 2011 | 2021 | null, lsoa11 string) for each row's LSOA code and point.
    geo_dir: the geo folder, already resolved (None: there is none, both columns null).
    memos: one ingest's memos, so a point seen in an earlier file is not placed again."""
    codes = codes.combine_chunks() if isinstance(codes, pa.ChunkedArray) else codes
    n = len(codes)
    geo = geo_dir
    lookup = _centroids(str(geo)) if geo else None
    if lookup is None or n == 0:
        return pa.nulls(n, pa.int16()), pa.nulls(n, pa.string())
    # Each distinct code is classified once; rows take their code's answer (null: the last slot).
    encoded = pc.dictionary_encode(codes)
    words = encoded.dictionary
    known = _known_set(str(geo))
    word2011 = np.array([w in known for w in words.to_pylist()] + [False])
    looks = pc.fill_null(pc.match_substring_regex(words, LSOA_CODE), False).to_numpy(zero_copy_only=False)
    word2021 = np.r_[looks, False] & ~word2011
    slot = pc.fill_null(encoded.indices, len(words)).to_numpy(zero_copy_only=False)
    is2011, is2021 = word2011[slot], word2021[slot]
    edition = np.where(is2011, 2011, np.where(is2021, 2021, 0)).astype(np.int16)
    lsoa11 = pc.if_else(pa.array(is2011), codes, pa.scalar(None, pa.string()))
    idx = np.flatnonzero(is2021 & np.isfinite(np.asarray(x, float)) & np.isfinite(np.asarray(y, float)))
    if idx.size:
        mask = np.zeros(n, bool)
        mask[idx] = True
        placed = _place(np.asarray(x, float)[idx], np.asarray(y, float)[idx], str(geo), memos)
        lsoa11 = pc.replace_with_mask(lsoa11, pa.array(mask), placed)
    return pa.array(edition, mask=edition == 0), lsoa11


def lsoa11_of_points(x, y, geo_dir, memos: Memos | None = None) -> pa.Array:
    """The 2011 LSOA holding each point (BNG metres; null where not finite), for rows published
    without an LSOA code (stop and search). geo_dir: resolved geo folder (None: all null)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    out = pa.nulls(len(x), pa.string())
    ok = np.isfinite(x) & np.isfinite(y)
    if geo_dir is None or _centroids(str(geo_dir)) is None or not ok.any():
        return out
    return pc.replace_with_mask(out, pa.array(ok), _place(x[ok], y[ok], str(geo_dir), memos))


def _place(x: np.ndarray, y: np.ndarray, geo_dir: str, memos: Memos | None) -> pa.Array:
    """The 2011 LSOA of each (finite) point, each distinct point placed once per ingest."""
    memo = (memos or Memos()).get(("lsoa11", geo_dir), lambda: _lsoa11_memo(geo_dir))
    _, points, inverse = distinct_points(x, y)
    return pa.array(memo(points)[0][inverse], pa.string())


def _lsoa11_memo(geo_dir: str) -> PointMemo:
    known, tree = _centroids(geo_dir)
    return PointMemo(lambda p: (_map_points(p.real, p.imag, geo_dir, known, tree),), (object,))


def _map_points(x: np.ndarray, y: np.ndarray, geo_dir: str, known, tree) -> np.ndarray:
    """The 2011 LSOA of each (distinct) point: the polygon containing it, else the nearest centroid."""
    points = np.column_stack([x, y])
    _, nearest = tree.query(points)
    out = known.take(pa.array(nearest)).to_numpy(zero_copy_only=False).astype(object)
    polys = _polygons(geo_dir)
    if polys is not None:
        import shapely

        poly_codes, poly_tree = polys
        pt_idx, poly_idx = poly_tree.query(shapely.points(points), predicate="within")
        out[pt_idx] = poly_codes[poly_idx]   # a point on a shared edge takes the last polygon
    return out
