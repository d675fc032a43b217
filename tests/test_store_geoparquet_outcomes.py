"""Outcomes and stop-and-search partitions in the GeoParquet 1.1 layout of street events (issue 23),
on real Merseyside files: valid "geo" metadata with a bbox covering, rows in Hilbert order, the
partition's box in the catalog, every row of the file kept; a partition written before (plain
Parquet, rows in file order, the old schema tag) reads the same rows, and a re-ingest rewrites it
once."""

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import MERSEYSIDE

MONTH = "2019-07"
FILES = {"outcomes": f"{MONTH}-merseyside-outcomes.csv.gz", "stop_search": f"{MONTH}-merseyside-stop-and-search.csv.gz"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from saferhub.data.ingest import ingest_paths

    src = tmp_path_factory.mktemp("gp-os-src")
    for name in FILES.values():
        shutil.copy(MERSEYSIDE / name, src)
    root = tmp_path_factory.mktemp("gp-os") / "store"
    report = ingest_paths([src], store=root)
    stored = {d: next(f for f in report.files if f.name.endswith(name)) for d, name in FILES.items()}
    return root, stored


def _partition(root, dataset):
    from saferhub.data.store import Catalog

    rec = Catalog.load(root).partitions[f"{dataset}/merseyside/{MONTH}"]
    return root / rec["file"], rec


def _read(root, dataset):
    from saferhub.data import outcomes, stop_searches

    return (outcomes if dataset == "outcomes" else stop_searches)(root, months=MONTH).to_pandas()


def _sorted(df):   # row order is the layout's: compare as multisets of rows
    return df.sort_values(list(df.columns), ignore_index=True)


@pytest.mark.parametrize("dataset", list(FILES))
def test_partition_is_geoparquet_11_in_hilbert_order_and_keeps_every_row(store, dataset):
    from saferhub.data.geoparquet import hilbert_keys

    store, files = store
    path, rec = _partition(store, dataset)
    pf = pq.ParquetFile(path)
    geo = json.loads(pf.schema_arrow.metadata[b"geo"])
    col = geo["columns"]["geometry"]
    assert geo["version"] == "1.1.0" and col["encoding"] == "WKB" and col["crs"]["id"]["code"] == 27700
    assert col["covering"] == {"bbox": {f: ["bbox", f] for f in ("xmin", "ymin", "xmax", "ymax")}}
    t = pq.read_table(path)
    x, y = t["x"].to_numpy(zero_copy_only=False), t["y"].to_numpy(zero_copy_only=False)
    ok = np.isfinite(x)
    assert 0 < ok.sum() and col["bbox"] == [x[ok].min(), y[ok].min(), x[ok].max(), y[ok].max()] == rec["extent"]
    assert np.all(np.diff(hilbert_keys(x, y).astype(np.float64)) >= 0) and ok[:ok.sum()].all()
    assert t["bbox"].null_count == t["geometry"].null_count == (~ok).sum()
    # every stored row of the police.uk file, none twice (the reader's columns, not the layout's)
    f = files[dataset]
    csv = pd.read_csv(MERSEYSIDE / FILES[dataset], dtype=str)
    got = _read(store, dataset)
    assert len(got) == f.stored == len(csv) - f.quarantined - f.ignored and f.stored > 1000
    assert "geometry" not in got and "bbox" not in got
    if dataset == "outcomes":
        assert set(got["crime_id"]) <= set(csv["Crime ID"]) and len(set(got["crime_id"])) >= csv["Crime ID"].nunique() - f.quarantined
    assert int(got["lon"].notna().sum()) == int(ok.sum()) >= int(csv["Longitude"].notna().sum()) - f.quarantined


@pytest.mark.parametrize("dataset", list(FILES))
def test_a_plain_partition_still_reads_and_is_rewritten_once(tmp_path, store, dataset):
    from saferhub.data.ingest import ingest_paths
    from saferhub.data.store import Catalog

    store = store[0]
    root = tmp_path / "old"
    shutil.copytree(store, root)
    cat = Catalog.load(root)
    for rec in cat.partitions.values():   # as written before: plain Parquet in file order, old tag, no box
        path = root / rec["file"]
        t = pq.read_table(path)
        old = t.drop_columns(["geometry", "bbox"]).replace_schema_metadata(None)
        pq.write_table(old.take(pa.array(np.random.default_rng(1).permutation(old.num_rows))), path)
        rec.pop("extent", None)
        rec["schema"] = "0ld5chema000"
    cat.save()
    want = _sorted(_read(store, dataset))
    pd.testing.assert_frame_equal(_sorted(_read(root, dataset)), want)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(MERSEYSIDE / FILES[dataset], src)
    first = ingest_paths([src], store=root)
    assert [f.change for f in first.files] == ["upgraded"] and first.added == 0
    path, rec = _partition(root, dataset)
    assert b"geo" in pq.ParquetFile(path).schema_arrow.metadata and rec["extent"]
    again = ingest_paths([src], store=root)
    assert [f.change for f in again.files] == ["unchanged"] and _partition(root, dataset)[0] == path
    pd.testing.assert_frame_equal(_sorted(_read(root, dataset)), want)
