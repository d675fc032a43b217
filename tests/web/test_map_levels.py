"""What `publish` makes for a map with no tiles (issue 20): hotspot blocks per zoom (checked against a
brute-force regrouping of the published cells), boundaries simplified per zoom band, place labels
from the shared boundaries and the event store's street names, the opening view and the deep link's
validation."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from saferhub.briefing import layers, map_labels, map_levels
from saferhub.hub.services.maps import opening_view, view_link
from tests.web.conftest import GEO


def _cells(web_store, name):
    g = gpd.read_file(web_store / "products" / f"{name}.geojson").to_crs(27700)
    return g


@pytest.mark.parametrize("factor", map_levels.FACTORS)
def test_blocks_regroup_the_published_cells_exactly(published, web_store, factor):
    """Every published Gi* cell is in exactly one block; each block's count, trend, hot cells and
    class equal a brute-force regrouping by the block each cell's centre falls in."""
    cells = _cells(web_store, "hotspots-grip-gistar")
    cells["trend"] = [json.loads(t) if isinstance(t, str) else list(t) for t in cells["trend"]]
    blocks = _cells(web_store, f"hotspots-grip-gistar-x{factor}")
    entry = {x["name"]: x for x in json.loads((web_store / "products" / "map-layers.json").read_text())["layers"]}
    assert {"factor": factor, "name": f"hotspots-grip-gistar-x{factor}", "features": len(blocks)} in entry["hotspots-grip-gistar"]["levels"]
    side = 150 * factor
    want = {}
    for _, c in cells.iterrows():
        p = c.geometry.centroid
        key = (math.floor(round(p.x, 1) / side), math.floor(round(p.y, 1) / side))
        w = want.setdefault(key, {"cells": 0, "count": 0, "hot": 0, "bins": [], "trend": np.zeros(len(c["trend"]), int)})
        w["cells"] += 1
        w["count"] += c["count"]
        w["hot"] += c["gi_bin"] > 0
        w["bins"].append(c["gi_bin"])
        w["trend"] += np.array(c["trend"])
    assert len(blocks) == len(want) and blocks["cells"].sum() == len(cells)
    for _, b in blocks.iterrows():
        p = b.geometry.centroid
        w = want[(math.floor(p.x / side), math.floor(p.y / side))]
        hot = [x for x in w["bins"] if x > 0]
        assert (b["cells"], b["count"], b["hot_cells"]) == (w["cells"], w["count"], w["hot"])
        assert b["gi_bin"] == (max(hot) if hot else min(w["bins"]))
        trend = json.loads(b["trend"]) if isinstance(b["trend"], str) else list(b["trend"])
        assert trend == w["trend"].tolist()
        assert abs(b.geometry.area - side * side) / (side * side) < 0.01  # a square of factor x factor cells


def test_block_keeps_the_busiest_cells_place():
    sq = [shapely.box(x, 0, x + 150, 150) for x in (0, 150, 300)]
    cells = gpd.GeoDataFrame({"gi_bin": [1, 3, -2], "hot_class": ["h90", "h99", "c95"], "count": [5.0, 2.0, 9.0],
                              "street": ["On or near A Road", "On or near B Street", "On or near C Lane"],
                              "ward": ["W1", "W2", "W3"], "trend": [[1, 4], [2, 0], [4, 5]]}, geometry=sq, crs=27700)
    b = map_levels.aggregate_cells(cells, 150, 2).sort_values("cells", ascending=False)
    first = b.iloc[0]  # cells 0 and 1 (x 0..300); cell 2 alone in the next block
    assert (first["cells"], first["hot_cells"], first["gi_bin"], first["hot_class"], first["count"]) == (2, 2, 3, "h99", 7.0)
    assert first["street"] == "On or near A Road" and first["trend"] == [3, 4]
    second = b.iloc[1]
    assert (second["cells"], second["hot_cells"], second["gi_bin"], second["street"]) == (1, 0, -2, "On or near C Lane")


def test_hot_bounds_cover_exactly_the_hot_cells(published, web_store):
    cells = _cells(web_store, "hotspots-grip-gistar")
    hot = cells[cells["gi_bin"] > 0].to_crs(4326)
    w, s, e, n = hot.total_bounds
    cat = {x["name"]: x for x in json.loads((web_store / "products" / "map-layers.json").read_text())["layers"]}
    (s2, w2), (n2, e2) = cat["hotspots-grip-gistar"]["hot_bounds"]
    assert max(abs(s - s2), abs(w - w2), abs(n - n2), abs(e - e2)) < 2e-5


def test_boundaries_per_zoom_are_simpler_when_zoomed_out_and_keep_every_area(published, web_store):
    cat = {x["name"]: x for x in json.loads((web_store / "products" / "map-layers.json").read_text())["layers"]}
    for layer, n in (("wards", 111), ("lsoas", None)):
        levels = cat[f"boundary-{layer}"]["levels"]
        assert [lv["max_zoom"] for lv in levels] == [11, 13, 19]
        coords, names = [], None
        for lv in levels:
            g = gpd.read_file(web_store / "products" / f"{lv['name']}.geojson")
            assert g.is_valid.all() and not g.is_empty.any()
            coords.append(int(shapely.get_num_coordinates(g.geometry.values).sum()))
            names = names or sorted(g["name"])
            assert sorted(g["name"]) == names and (n is None or len(g) == n)
        assert coords[0] < coords[1] <= coords[2], coords


def test_coverage_simplification_keeps_neighbours_sharing_one_edge():
    """Two areas sharing a wiggly edge: after simplifying, they still meet with no gap or overlap."""
    edge = [(0, 0)] + [(i * 10, (i % 2) * 4) for i in range(1, 20)] + [(200, 0)]
    a = shapely.Polygon(edge + [(200, 100), (0, 100)])
    b = shapely.Polygon(edge + [(200, -100), (0, -100)])
    g = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[a, b], crs=27700)
    s = map_levels.simplify_boundaries(g, 10.0)
    assert s.geometry.iloc[0].intersection(s.geometry.iloc[1]).area < 1e-6
    assert abs(s.geometry.union_all().area - g.geometry.union_all().area) < 1e-6
    assert shapely.get_num_coordinates(s.geometry.values).sum() < shapely.get_num_coordinates(g.geometry.values).sum()


@pytest.mark.parametrize("text,name", [("On or near Bold Street", "Bold Street"), ("On or near Parking Area", None),
                                       ("On or near Supermarket", None), ("on or near  Duke Street Lane", "Duke Street Lane"),
                                       ("On or near Nightclub", None), (None, None), ("On or near ", None)])
def test_street_names_from_police_uk_places(text, name):
    assert map_labels.street_name(text) == name


def test_street_labels_name_the_busiest_street_per_square_once():
    ev = pd.DataFrame({"x": [10, 20, 30, 500, 900, 910], "y": [10, 20, 30, 500, 10, 20],
                       "location": ["On or near A Street", "On or near A Street", "On or near B Road",
                                    "On or near B Road", "On or near Supermarket", "On or near C Lane"]})
    st = map_labels.street_labels(ev)
    coarse = st[st["minzoom"] == 14].sort_values("x")
    # 800 m squares: (0,0) holds A x2, B x2 -> the tie goes to the name first in order; (1,0) holds C only
    assert coarse[["name", "count"]].values.tolist() == [["A Street", 2], ["C Lane", 1]]
    assert coarse.iloc[0][["x", "y"]].tolist() == [15.0, 15.0]  # the mean of that street's events in the square
    fine = st[st["minzoom"] == 15]
    # 400 m squares: B Road at (500, 500) is a square of its own, not named by its 800 m square
    assert fine[["name", "count"]].values.tolist() == [["B Road", 1]]


def test_published_labels_name_every_district_and_ward(published, web_store):
    areas = json.loads((web_store / "products" / "map-labels-areas.geojson").read_text())["features"]
    names = {k: sorted(f["properties"]["name"] for f in areas if f["properties"]["kind"] == k) for k in ("district", "ward")}
    b = layers.boundaries(GEO)
    assert names["district"] == sorted(b["districts"]["name"]) and names["ward"] == sorted(b["wards"]["name"])
    for f in areas:  # each name inside its own area
        kind = "districts" if f["properties"]["kind"] == "district" else "wards"
        g = b[kind][b[kind]["name"] == f["properties"]["name"]].to_crs(4326)
        assert g.buffer(1e-4).contains(shapely.Point(f["geometry"]["coordinates"])).any()
    streets = json.loads((web_store / "products" / "map-labels-streets.geojson").read_text())["features"]
    assert len(streets) > 500 and all(map_labels.street_name(f["properties"]["name"]) for f in streets)


CAT = {"layers": [{"name": "hotspots-asb-gistar", "method": "gistar", "categories": "asb", "hot_bounds": [[1, 1], [2, 2]]},
                  {"name": "hotspots-grip-gistar", "method": "gistar", "categories": "grip", "hot_bounds": [[53.3, -3.1], [53.6, -2.7]]}]}


@pytest.mark.parametrize("lat,lon,zoom,layer,want", [
    ("53.4", "-2.98", "15", "kde", {"center": [53.4, -2.98], "zoom": 15.0, "source": "link", "layer": "kde"}),
    ("53.4", "-2.98", None, None, {"center": [53.4, -2.98], "zoom": 16.0, "source": "link", "layer": None}),
    ("53.4", "-2.98", "12.3", "x", {"center": [53.4, -2.98], "zoom": 12.5, "source": "link", "layer": None}),
    ("abc", "-2.98", "15", None, None), ("0", "0", "15", None, None), ("53.4", "-2.98", "99", None, None),
    ("53.4", "inf", "15", None, None), ("nan", "-2.98", "15", None, None), ("53.4", "-2.98", "5", None, None),
    ("9" * 30, "-2.98", "15", None, None), (None, None, None, "forecast", None),
])
def test_opening_view_takes_a_valid_deep_link_else_the_hot_spots(lat, lon, zoom, layer, want):
    got = opening_view(CAT, lat, lon, zoom, layer)
    if want is None:  # the fitted default: the grip layer's hot cells
        assert got == {"bounds": [[53.3, -3.1], [53.6, -2.7]], "source": "hot spots",
                       "layer": layer if layer in ("gistar", "kde", "forecast", "none") else None}
    else:
        assert got == want
    assert opening_view({"layers": []}) == {"source": "layer", "layer": None}


def test_the_purpose_form_returns_to_the_checked_view():
    assert view_link(opening_view(CAT, "53.4022", "-2.9793", "15", "kde")) == "/web/map?lat=53.4022&lon=-2.9793&zoom=15&layer=kde"
    assert view_link(opening_view(CAT, "53.4", "-2.98", "12.3", None)) == "/web/map?lat=53.4&lon=-2.98&zoom=12.5"
    assert view_link(opening_view(CAT, "x<script>", "-2.98", "15", "'\"><b>")) == "/web/map"
    assert view_link(opening_view(CAT, None, None, None, "forecast")) == "/web/map?layer=forecast"
