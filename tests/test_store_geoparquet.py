"""The event store's GeoParquet 1.1 layout, on real Merseyside rows: valid "geo" metadata with a
bbox covering, rows in Hilbert order, moderate row groups; `events(bbox=...)` equals a brute-force
filter while skipping partitions and row groups; geopandas reads the files with its own bbox
filter; a partition written before this layout still reads, and a re-ingest rewrites it once."""

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import MERSEYSIDE

MONTH = "2019-03"
BOX = (334000.0, 389000.0, 336000.0, 391000.0)   # 2 km in Liverpool city centre


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from saferhub.data.ingest import ingest_paths

    src = tmp_path_factory.mktemp("gp-src")
    for m in ("2019-03", "2019-04"):
        shutil.copy(MERSEYSIDE / f"{m}-merseyside-street.csv.gz", src)
    root = tmp_path_factory.mktemp("gp") / "store"
    ingest_paths([src], store=root)
    return root


def _partition(root, month=MONTH):
    from saferhub.data.store import Catalog

    rec = Catalog.load(root).partitions[f"events/merseyside/{month}"]
    return root / rec["file"], rec


def test_partition_is_geoparquet_11_with_a_bbox_covering_in_hilbert_order(store):
    from saferhub.data.geoparquet import ROW_GROUP_ROWS, hilbert_keys

    path, rec = _partition(store)
    pf = pq.ParquetFile(path)
    geo = json.loads(pf.schema_arrow.metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    col = geo["columns"]["geometry"]
    assert col["encoding"] == "WKB" and col["geometry_types"] == ["Point"]
    assert col["crs"]["id"] == {"authority": "EPSG", "code": 27700}
    assert col["covering"] == {"bbox": {f: ["bbox", f] for f in ("xmin", "ymin", "xmax", "ymax")}}
    t = pq.read_table(path)
    x, y = t["x"].to_numpy(zero_copy_only=False), t["y"].to_numpy(zero_copy_only=False)
    ok = np.isfinite(x)
    assert col["bbox"] == [x[ok].min(), y[ok].min(), x[ok].max(), y[ok].max()] == rec["extent"]
    assert np.all(np.diff(hilbert_keys(x, y).astype(np.float64)) >= 0)          # Hilbert order
    assert ok[:ok.sum()].all()                                                  # unlocated rows last
    bbox = t["bbox"].combine_chunks()
    np.testing.assert_array_equal(bbox.field("xmin").to_numpy(zero_copy_only=False), x)
    np.testing.assert_array_equal(bbox.field("ymax").to_numpy(zero_copy_only=False), y)
    assert bbox.null_count == t["geometry"].null_count == (~ok).sum()
    sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]
    assert pf.num_row_groups >= 2 and max(sizes) <= ROW_GROUP_ROWS and sum(sizes) == t.num_rows
    # the covering's statistics are written, so readers can skip row groups
    names = [pf.metadata.row_group(0).column(i).path_in_schema for i in range(pf.metadata.num_columns)]
    stats = pf.metadata.row_group(0).column(names.index("bbox.xmin")).statistics
    assert stats.has_min_max and stats.min == np.nanmin(x[:sizes[0]])


def test_events_bbox_equals_brute_force_and_skips_row_groups(store):
    from saferhub.data import events

    full = events(store, columns=["event_id", "x", "y"]).to_pandas()
    x0, y0, x1, y1 = BOX
    want = full[(full.x >= x0) & (full.x <= x1) & (full.y >= y0) & (full.y <= y1)]
    got = events(store, bbox=BOX, columns=["event_id", "x", "y"]).to_pandas()
    assert 500 < len(got) < len(full) / 5
    assert sorted(got["event_id"].dropna()) == sorted(want["event_id"].dropna()) and len(got) == len(want)
    # Hilbert order makes the box touch a few row groups of the partition, not all
    path, _ = _partition(store)
    md = pq.ParquetFile(path).metadata
    names = [md.row_group(0).column(i).path_in_schema for i in range(md.num_columns)]
    ix, iy = names.index("bbox.xmin"), names.index("bbox.ymin")
    touched = [i for i in range(md.num_row_groups)
               if not (md.row_group(i).column(ix).statistics.min > x1 or md.row_group(i).column(ix).statistics.max < x0
                       or md.row_group(i).column(iy).statistics.min > y1 or md.row_group(i).column(iy).statistics.max < y0)]
    assert 1 <= len(touched) < md.num_row_groups


def test_bbox_outside_every_partition_reads_nothing_and_bad_bbox_is_refused(store):
    from saferhub.data import events
    from saferhub.data.store import Catalog, _select_partitions
    from saferhub.errors import SaferhubError

    far = (0.0, 0.0, 1000.0, 1000.0)
    assert _select_partitions(Catalog.load(store), "events", None, None, far) == []
    assert events(store, bbox=far).num_rows == 0
    for bad in ((1, 2, 3), ("a", 0, 1, 1), (10, 0, 0, 10)):
        with pytest.raises(SaferhubError, match="bbox"):
            events(store, bbox=bad)


def test_event_query_carries_the_bbox(store):
    from saferhub.query import EventQuery

    q = EventQuery(store=store, months="2019-03", bbox=[*BOX])
    assert q.bbox == BOX and EventQuery.from_dict(q.to_dict()) == q
    t = q.read(columns=["x", "y"])
    assert t.num_rows > 0 and (np.asarray(t["x"]) >= BOX[0]).all() and (np.asarray(t["y"]) <= BOX[3]).all()


def test_geopandas_reads_our_files_with_its_bbox_filter(store):
    import geopandas as gpd

    path, _ = _partition(store)
    g = gpd.read_parquet(path, bbox=BOX)
    assert g.crs.to_epsg() == 27700 and len(g) > 0
    t = pq.read_table(path, columns=["x", "y"]).to_pandas()
    x0, y0, x1, y1 = BOX
    assert len(g) == ((t.x >= x0) & (t.x <= x1) & (t.y >= y0) & (t.y <= y1)).sum()
    np.testing.assert_array_equal(g.geometry.x.to_numpy(), g["x"].to_numpy())


def test_a_pre_geoparquet_partition_still_reads_and_is_rewritten_once(tmp_path, store):
    """A store written before this layout: plain Parquet, no extent in the catalog, the old schema
    tag. It reads (bbox by filtering), a re-ingest upgrades it once, a second changes nothing."""
    import pyarrow as pa

    from saferhub.data import events
    from saferhub.data.ingest import ingest_paths
    from saferhub.data.schemas import EVENT_SCHEMA
    from saferhub.data.store import Catalog

    root = tmp_path / "old"
    shutil.copytree(store, root)
    cat = Catalog.load(root)
    for key, rec in cat.partitions.items():
        path = root / rec["file"]
        # plain Parquet, and without the newest column (lsoa11), as a store of that time was
        old = pq.read_table(path).select(EVENT_SCHEMA.names[:-1]).replace_schema_metadata(None)
        rows = np.random.default_rng(0).permutation(old.num_rows)   # not in Hilbert order
        pq.write_table(old.take(pa.array(rows)), path, write_statistics=["month", "x", "y"])
        rec.pop("extent")
        rec["schema"] = "0ld5chema000"
    cat.save()
    want = sorted(events(store, bbox=BOX, columns=["event_id"])["event_id"].to_pylist())
    old_read = events(root, bbox=BOX, columns=["event_id", "lsoa11"])
    assert sorted(old_read["event_id"].to_pylist()) == want and old_read["lsoa11"].null_count == len(want)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(MERSEYSIDE / f"{MONTH}-merseyside-street.csv.gz", src)
    first = ingest_paths([src], store=root)
    assert [f.change for f in first.files] == ["upgraded"] and first.added == 0
    path, rec = _partition(root)
    assert b"geo" in pq.ParquetFile(path).schema_arrow.metadata and "extent" in rec
    again = ingest_paths([src], store=root)
    assert [f.change for f in again.files] == ["unchanged"] and again.added == 0
    assert _partition(root)[0] == path
    assert sorted(events(root, bbox=BOX, columns=["event_id"])["event_id"].to_pylist()) == want


def test_readers_see_every_commit_through_the_catalog_cache(tmp_path):
    """Readers parse catalog.json once per version: each commit must still be seen at once."""
    from saferhub.data import events
    from saferhub.data.ingest import ingest_paths
    from saferhub.data.store import months_held

    root = tmp_path / "s"
    held = []
    for m in ("2019-03", "2019-04"):
        src = tmp_path / m
        src.mkdir()
        shutil.copy(MERSEYSIDE / f"{m}-merseyside-street.csv.gz", src)
        n = ingest_paths([src], store=root).rows_after
        held.append(m)
        assert months_held(root) == held and events(root, columns=["month"]).num_rows == n
