"""Event partitions as GeoParquet 1.1: a WKB `geometry` column (EPSG:27700 points), a `bbox`
covering column (struct xmin/ymin/xmax/ymax, declared in the "geo" metadata's `covering`), rows
in Hilbert order and moderate row groups; and the reading of a box from such files.

Why: a reader asking for a small box (ours, geopandas `read_parquet(bbox=...)`, DuckDB, GDAL)
skips every row group whose statistics lie outside it; Hilbert order keeps each row group a
compact patch of the force, so a 2 km box touches one or two of them. The store's own reader
filters on the `x`/`y` statistics (the same numbers as the covering for points, and present in
files written before this layout), so old partitions still read, only without the Hilbert
locality.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from saferhub.errors import SaferhubError

LAYOUT = "geoparquet-1.1-hilbert-4096"   # part of the events schema tag: a new layout rewrites once
ROW_GROUP_ROWS = 4096
# A fixed grid over Great Britain in BNG metres (with room for synthetic forces moved south and
# east): the same point gets the same Hilbert key in every partition and every run.
GRID = (-500_000.0, -2_000_000.0, 1_500_000.0, 1_300_000.0)
ORDER = 16   # 2**16 cells a side: ~50 m cells, finer than any row group
BBOX_FIELDS = ("xmin", "ymin", "xmax", "ymax")
BBOX_TYPE = pa.struct([(f, pa.float64()) for f in BBOX_FIELDS])


def hilbert_keys(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The Hilbert-curve index (uint64) of each point on the fixed GRID; NaN points get the
    largest key, so unlocated rows sort last."""
    x0, y0, x1, y1 = GRID
    n = 1 << ORDER
    located = np.isfinite(x) & np.isfinite(y)
    xi = np.clip(((np.where(located, x, x0) - x0) / (x1 - x0) * n), 0, n - 1).astype(np.uint64)
    yi = np.clip(((np.where(located, y, y0) - y0) / (y1 - y0) * n), 0, n - 1).astype(np.uint64)
    d = np.zeros(x.shape, np.uint64)
    s = np.uint64(n >> 1)
    one = np.uint64(1)
    while s > 0:   # the classic xy2d, one bit level at a time over the whole array
        rx = ((xi & s) > 0).astype(np.uint64)
        ry = ((yi & s) > 0).astype(np.uint64)
        d += s * s * ((np.uint64(3) * rx) ^ ry)
        flip = ry == 0
        mirror = flip & (rx == one)
        xi = np.where(mirror, np.uint64(n - 1) - xi, xi)
        yi = np.where(mirror, np.uint64(n - 1) - yi, yi)
        xi, yi = np.where(flip, yi, xi), np.where(flip, xi, yi)
        s >>= one
    d[~located] = np.iinfo(np.uint64).max
    return d


def wkb_points(x: np.ndarray, y: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Little-endian WKB points (21 bytes each) built in one buffer; null where not `valid`."""
    n = len(x)
    rec = np.zeros(n, dtype=[("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])
    rec["order"], rec["kind"], rec["x"], rec["y"] = 1, 1, x, y
    offsets = np.arange(n + 1, dtype=np.int32) * 21
    mask = pa.array(valid, pa.bool_()).buffers()[1] if not valid.all() else None
    return pa.BinaryArray.from_buffers(pa.binary(), n, [mask, pa.py_buffer(offsets), pa.py_buffer(rec.tobytes())],
                                       null_count=int((~valid).sum()))


@lru_cache(maxsize=1)
def _bng_projjson() -> dict:
    from pyproj import CRS

    return CRS.from_epsg(27700).to_json_dict()


def geo_metadata(table: pa.Table) -> bytes:
    x = table["x"].to_numpy(zero_copy_only=False)
    y = table["y"].to_numpy(zero_copy_only=False)
    ok = np.isfinite(x) & np.isfinite(y)
    bbox = [float(x[ok].min()), float(y[ok].min()), float(x[ok].max()), float(y[ok].max())] if ok.any() else []
    column = {"encoding": "WKB", "geometry_types": ["Point"], "crs": _bng_projjson(),
              "covering": {"bbox": {f: ["bbox", f] for f in BBOX_FIELDS}}}
    if bbox:
        column["bbox"] = bbox
    return json.dumps({"version": "1.1.0", "primary_column": "geometry",
                       "columns": {"geometry": column}}).encode()


def as_geoparquet(table: pa.Table) -> pa.Table:
    """The partition's rows in Hilbert order with `geometry` and `bbox` appended and the "geo"
    metadata set: what the store writes for the events dataset."""
    x = table["x"].to_numpy(zero_copy_only=False).astype(np.float64)
    y = table["y"].to_numpy(zero_copy_only=False).astype(np.float64)
    order = np.argsort(hilbert_keys(x, y), kind="stable")
    table = table.take(pa.array(order))
    x, y = x[order], y[order]
    valid = np.isfinite(x) & np.isfinite(y)
    mask = pa.array(~valid) if not valid.all() else None
    xs, ys = pa.array(x, pa.float64()), pa.array(y, pa.float64())
    bbox = pa.StructArray.from_arrays([xs, ys, xs, ys], fields=list(BBOX_TYPE), mask=mask)
    table = table.append_column("geometry", wkb_points(x, y, valid)).append_column("bbox", bbox)
    meta = dict(table.schema.metadata or {})
    meta[b"geo"] = geo_metadata(table)
    return table.replace_schema_metadata(meta)


def extent(table: pa.Table) -> list[float] | None:
    """[minx, miny, maxx, maxy] of a table's located rows (None when none is located): kept in the
    catalog so a bbox read opens no partition that cannot hold a match."""
    x = table["x"].to_numpy(zero_copy_only=False)
    y = table["y"].to_numpy(zero_copy_only=False)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None
    return [float(x[ok].min()), float(y[ok].min()), float(x[ok].max()), float(y[ok].max())]


# ---------------------------------------------------------------------------------------------
# Reading a box


def check_bbox(bbox):
    """A box as (minx, miny, maxx, maxy) floats, or a clear error; None stays None."""
    if bbox is None:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise SaferhubError(f"bbox must be four numbers (minx, miny, maxx, maxy) in BNG metres, not {bbox!r}") from None
    if not (minx <= maxx and miny <= maxy):
        raise SaferhubError(f"bbox {bbox!r}: min must not exceed max")
    return (minx, miny, maxx, maxy)


def overlaps(extent, bbox) -> bool:
    if extent is None:   # no located row
        return False
    return not (extent[0] > bbox[2] or extent[2] < bbox[0] or extent[1] > bbox[3] or extent[3] < bbox[1])


def read_box(path, schema: pa.Schema, bbox) -> pa.Table:
    """The row groups of one file whose x/y statistics meet the box (the same numbers as the
    GeoParquet covering for points, and present in pre-GeoParquet files too); the rows are
    filtered by the caller. Columns a file lacks (written before they existed) read as null."""
    pf = pq.ParquetFile(path)
    md = pf.metadata
    if md.num_row_groups == 0:
        return schema.empty_table()
    leaf = {md.row_group(0).column(j).path_in_schema: j for j in range(md.num_columns)}
    minx, miny, maxx, maxy = bbox

    def meets(i: int) -> bool:
        rg = md.row_group(i)
        for name, lo, hi in (("x", minx, maxx), ("y", miny, maxy)):
            st = rg.column(leaf[name]).statistics if name in leaf else None
            if st is not None and st.has_min_max and (st.min > hi or st.max < lo):
                return False
        return True

    groups = [i for i in range(md.num_row_groups) if meets(i)]
    if not groups:
        return schema.empty_table()
    have = set(pf.schema_arrow.names)
    t = pf.read_row_groups(groups, columns=[c for c in schema.names if c in have])
    for f in schema:
        if f.name not in have:
            t = t.append_column(f, pa.nulls(t.num_rows, f.type))
    return t.select(schema.names).cast(schema)
