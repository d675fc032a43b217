"""The real Merseyside files: exact known totals, nothing lost, re-ingest adds nothing."""

from __future__ import annotations

import gzip

import numpy as np
import pyarrow.compute as pc
import pytest

from conftest import MERSEYSIDE, MERSEYSIDE_ASB_ROWS, MERSEYSIDE_STREET_ROWS
from saferhub.data import events, outcomes, stop_searches
from saferhub.data.ingest import ingest_paths
from saferhub.data.status import store_status

pytestmark = pytest.mark.slow


def _csv_rows(path) -> int:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return sum(1 for _ in fh) - 1


def test_every_street_row_is_stored_and_none_quarantined(merseyside_store, merseyside_ingest_report):
    table = events(merseyside_store)
    assert table.num_rows == MERSEYSIDE_STREET_ROWS
    asb = pc.sum(pc.equal(table["category"], "Anti-social behaviour")).as_py()
    assert asb == MERSEYSIDE_ASB_ROWS
    street = [f for f in merseyside_ingest_report["files"] if f["kind"] == "street"]
    assert len(street) == 36
    assert sum(f["quarantined"] for f in street) == 0
    for f in merseyside_ingest_report["files"]:
        assert f["read"] == f["stored"] + f["quarantined"] + f["ignored"], f["name"]
        assert f["read"] == _csv_rows(f["name"]), f["name"]


def test_asb_exact_repeats_are_kept_with_distinct_ids(merseyside_store):
    table = events(merseyside_store, categories="Anti-social behaviour")
    ids = table["event_id"]
    assert pc.count_distinct(ids).as_py() == table.num_rows
    df = table.select(["month", "lon", "lat", "location", "lsoa"]).to_pandas()
    # PROVENANCE.md: 34,369 ASB rows repeat an earlier row exactly; all are stored.
    assert int(df.duplicated().sum()) == 34_369


def test_projection_and_normalisation(merseyside_store):
    table = events(merseyside_store, months="2018-01")
    assert table.num_rows == 13_220
    assert set(table["force"].unique().to_pylist()) == {"merseyside"}
    assert pc.all(pc.equal(table["month"].cast("string"), "2018-01-01")).as_py()
    x = table["x"].to_numpy()
    y = table["y"].to_numpy()
    # Merseyside in British National Grid metres.
    assert 320_000 < np.nanmin(x) and np.nanmax(x) < 365_000
    assert 375_000 < np.nanmin(y) and np.nanmax(y) < 425_000
    # The first row of the file, projected independently with pyproj.
    from pyproj import Transformer

    first = table.filter(pc.equal(table["event_id"],
                                  "a1433ebc5e6279122eba9d04cccad65b8571d7488fd7466a36c6b3feb4b89314"))
    ex, ey = Transformer.from_crs(4326, 27700, always_xy=True).transform(-2.804451, 53.352456)
    assert first["x"][0].as_py() == pytest.approx(ex, abs=1e-6)
    assert first["y"][0].as_py() == pytest.approx(ey, abs=1e-6)
    assert first["category_slug"][0].as_py() == "vehicle-crime"
    assert first["outcome"][0].as_py() == "Investigation complete; no suspect identified"


def test_outcomes_and_stop_and_search_load(merseyside_store, merseyside_ingest_report):
    out = outcomes(merseyside_store)
    assert out.num_rows == 11_484 + 11_241 + 11_570
    searches = stop_searches(merseyside_store)
    s_files = [f for f in merseyside_ingest_report["files"] if f["kind"] == "stop-and-search"]
    assert sum(f["read"] for f in s_files) == 3_286 + 2_915 + 2_520
    assert searches.num_rows == sum(f["stored"] for f in s_files)
    # The UTC timestamp of the first July search is the previous evening; it stays in July.
    july = stop_searches(merseyside_store, months="2019-07")
    assert pc.min(july["occurred_at"]).as_py().isoformat().startswith("2019-06-30")


def test_filters(merseyside_store):
    grip_2020 = events(merseyside_store, months="2020-01:2020-12", categories="grip")
    df = grip_2020.select(["month", "category"]).to_pandas()
    assert set(df["category"]) == {"Violence and sexual offences", "Robbery", "Possession of weapons",
                                   "Anti-social behaviour"}
    assert df["month"].min().isoformat() == "2020-01-01" and df["month"].max().isoformat() == "2020-12-01"
    box = (340_000, 385_000, 345_000, 392_000)
    inside = events(merseyside_store, months="2020-06", bbox=box)
    x = inside["x"].to_numpy()
    y = inside["y"].to_numpy()
    assert inside.num_rows > 0 and (x >= 340_000).all() and (x <= 345_000).all() and (y >= 385_000).all()
    assert events(merseyside_store, force="Merseyside Police", months="2020-06").num_rows == 14_684
    assert events(merseyside_store, force="kent").num_rows == 0
    gdf = events(merseyside_store, months="2020-06", geo=True)
    assert gdf.crs.to_epsg() == 27700 and len(gdf) == 14_684
    harm = events(merseyside_store, months="2020-06", categories="Robbery")["harm_weight"].to_numpy()
    assert (harm == harm[0]).all() and harm[0] > 1
    from saferhub.harm import load_weights

    slim = events(merseyside_store, months="2020-06", columns=["x", "category", "harm_weight"])
    assert slim.column_names == ["x", "category", "harm_weight"] and slim.num_rows == 14_684
    w = load_weights()
    expect = [w.get(c, 1.0) for c in slim["category"].to_pylist()]
    assert slim["harm_weight"].to_pylist() == expect
    with pytest.raises(Exception, match="unknown column"):
        events(merseyside_store, columns=["nope"])


def test_reingest_adds_nothing(merseyside_store, tmp_path):
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(merseyside_store, copy)
    report = ingest_paths([MERSEYSIDE], store=copy)
    assert report.added == 0
    assert {f.change for f in report.files} == {"unchanged"}
    assert events(copy).num_rows == MERSEYSIDE_STREET_ROWS


def test_status_summary(merseyside_store):
    s = store_status(merseyside_store)
    assert s["forces"] == [{"force": "merseyside", "first_month": "2018-01", "last_month": "2020-12",
                            "months": 36, "missing_months": []}]
    assert s["rows"]["events"] == MERSEYSIDE_STREET_ROWS
    by_cat = {c["category"]: c["rows"] for c in s["by_category"]}
    assert by_cat["Anti-social behaviour"] == MERSEYSIDE_ASB_ROWS
    assert sum(by_cat.values()) == MERSEYSIDE_STREET_ROWS
    assert s["unlocated_events"] == 0
    assert s["quarantined"] == sum(s["quarantined_by_reason"].values())
