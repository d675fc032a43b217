"""Published products (saferhub.data.products) and the map layers made from results."""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely import box

from saferhub.briefing import layers
from saferhub.data.products import list_products, product_path, read_product, write_product
from saferhub.errors import SaferhubError


def test_geodataframe_is_written_as_wgs84_geojson_atomically(tmp_path):
    # Liverpool Town Hall, roughly: a 150 m cell in British National Grid
    g = gpd.GeoDataFrame({"unit_id": ["E334200N390450"], "count": [np.int64(12)], "trend": [np.array([1, 0, 11])],
                          "note": [float("nan")]}, geometry=[box(334200, 390450, 334350, 390600)], crs=27700)
    path = write_product("hotspots-test", g, tmp_path)
    assert path.name == "hotspots-test.geojson" and product_path("hotspots-test", tmp_path) == path
    assert [p.name for p in path.parent.iterdir()] == ["hotspots-test.geojson"]  # no temp files left
    fc = read_product("hotspots-test", tmp_path)
    props = fc["features"][0]["properties"]
    assert props == {"unit_id": "E334200N390450", "count": 12, "trend": [1, 0, 11], "note": None}
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    to_wgs = Transformer.from_crs(27700, 4326, always_xy=True)
    want = {tuple(round(v, 5) for v in to_wgs.transform(x, y)) for x, y in
            [(334200, 390450), (334350, 390450), (334350, 390600), (334200, 390600)]}
    got = {tuple(p) for p in ring}
    assert len(got) == 4
    for p in got:  # each corner within 2e-5 degrees (about 1.5 m) of an independent transform
        assert min(abs(p[0] - w[0]) + abs(p[1] - w[1]) for w in want) < 2e-5


def test_json_products_replace_geojson_of_the_same_name_and_list(tmp_path):
    g = gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs=27700)
    write_product("thing", g, tmp_path)
    write_product("thing", {"when": dt.date(2026, 1, 2), "n": np.float64(1.5)}, tmp_path)
    assert read_product("thing", tmp_path) == {"when": "2026-01-02", "n": 1.5}
    assert [(p["name"], p["kind"]) for p in list_products(tmp_path)] == [("thing", "json")]
    assert read_product("never-published", tmp_path) is None


@pytest.mark.parametrize("bad", ["../etc/passwd", "Upper", "", "a b", "x" * 90])
def test_bad_product_names_are_refused(tmp_path, bad):
    with pytest.raises(SaferhubError, match="product name"):
        write_product(bad, {}, tmp_path)


def test_corrupt_product_is_a_clear_error(tmp_path):
    (tmp_path / "products").mkdir()
    (tmp_path / "products" / "broken.json").write_text("{not json")
    with pytest.raises(SaferhubError, match="broken.json: not valid JSON"):
        read_product("broken", tmp_path)


def test_forecast_layer_keeps_the_riskiest_five_percent_ranked():
    rng = np.random.default_rng(1)
    n = 400
    table = pd.DataFrame({"cell_id": [f"E{i * 150}N0" for i in range(n)], "x": np.arange(n) * 150.0, "y": 0.0,
                          "risk": rng.gamma(1.0, 1.0, n)})
    cells = layers.forecast_layer(table, 150)
    assert len(cells) == 20  # 5% of 400
    assert cells["risk"].tolist() == sorted(table["risk"], reverse=True)[:20]
    assert cells["rank"].tolist() == list(range(1, 21))
    assert cells["risk_share_pct"].iloc[0] == pytest.approx(100 * table["risk"].max() / table["risk"].sum(), abs=1e-3)
    assert cells.geometry.iloc[0].area == pytest.approx(150 * 150)


def test_patrol_layer_compliance_is_minutes_over_planned_this_week():
    areas = gpd.GeoDataFrame({"area_id": ["PA-1", "PA-2"], "name": ["Lord Street, Liverpool", "Park Road"],
                              "rank": [1, 2], "harm": [10.0, 5.0]},
                             geometry=[box(0, 0, 100, 100), box(200, 0, 300, 100)], crs=27700)
    monday = dt.date(2026, 11, 23)
    dosage = pd.DataFrame({"area_id": ["PA-1", "PA-1", "PA-2", "PA-1"],
                           "date": ["2026-11-23", "2026-11-24", "2026-11-24", "2026-11-30"],  # last: next week
                           "visits": [2, 1, 0, 5], "minutes_min": [30, 15, 0, 99], "minutes_max": [40, 20, 0, 120],
                           "planned_minutes": [30, 30, 30, 30], "planned_visits": [2, 2, 2, 2]})
    out = layers.patrol_layer(areas, dosage, monday).set_index("area_id")
    assert out.loc["PA-1", "visits"] == 3 and out.loc["PA-1", "minutes_min"] == 45
    assert out.loc["PA-1", "compliance_pct"] == 75.0   # 45 of 60 planned minutes
    assert out.loc["PA-2", "compliance_pct"] == 0.0
    assert not out["simulated"].any()


def test_patrol_layer_refuses_areas_without_the_contract_columns():
    areas = gpd.GeoDataFrame({"id": ["x"]}, geometry=[box(0, 0, 1, 1)], crs=27700)
    with pytest.raises(SaferhubError, match="area_id"):
        layers.patrol_layer(areas, None, dt.date(2026, 11, 23))


@pytest.mark.slow
def test_published_gistar_layer_counts_match_each_cells_monthly_trend(published, web_store):
    """Two independent countings of the same events: the hotspot module's per-cell count and
    the layer's point-in-polygon monthly trend must agree for every cell."""
    fc = json.loads((web_store / "products" / "hotspots-grip-gistar.geojson").read_text())
    result = layers.read_result(published["gistar_file"])
    significant = result[result["gi_bin"] != 0]
    assert len(fc["features"]) == len(significant)
    assert fc["meta"]["months"] == ["2020-10", "2020-11", "2020-12"]
    for f in fc["features"]:
        p = f["properties"]
        assert sum(p["trend"]) == p["count"], p["unit_id"]
        assert p["hot_class"].startswith(("Hot spot", "Cold spot", "Beside a hot spot"))
    # a cell with crimes names its commonest street and LSOA (a hot cell may have none of its own)
    with_crime = [f["properties"] for f in fc["features"] if f["properties"]["count"] > 0]
    assert all(p.get("street", "").startswith("On or near") and p.get("lsoa_name") for p in with_crime)
    assert sum(bool(p.get("ward")) for p in with_crime) >= 0.98 * len(with_crime)


@pytest.mark.slow
def test_published_kde_layer_is_the_densest_five_percent(published, web_store):
    fc = json.loads((web_store / "products" / "hotspots-grip-kde.geojson").read_text())
    result = layers.read_result(published["kde_file"])
    cut = result["density_km2"].quantile(0.95)
    assert len(fc["features"]) == int((result["density_km2"] >= cut).sum())
    assert {f["properties"]["band"] for f in fc["features"]} == {1, 2, 3, 4, 5}
