"""Patrol areas: merging, ranking, names, stable ids, coverage — against brute force on real data."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from saferhub.patrol import areas as A
from saferhub.patrol.locate import AreaIndex, effective_areas


def test_merge_cells_by_hand():
    # five cells in a row, 100 m: the best (x=200) anchors and takes its best neighbours while
    # the box stays within 300 m; the two left over make their own areas
    x0 = np.array([0, 100, 200, 300, 400.0])
    groups = A.merge_cells(x0, np.zeros(5), 100, np.array([1, 5, 9, 4, 3.0]), max_extent=300)
    assert groups == [[2, 1, 3], [4], [0]]


def test_merge_cells_square_limit():
    # a 5 x 5 block of equal cells at 100 m with a 300 m limit: no area wider than 3 cells
    xx, yy = np.meshgrid(np.arange(5) * 100.0, np.arange(5) * 100.0)
    groups = A.merge_cells(xx.ravel(), yy.ravel(), 100, np.ones(25), max_extent=300)
    assert sorted(i for g in groups for i in g) == list(range(25))
    for g in groups:
        assert np.ptp(xx.ravel()[g]) <= 200 and np.ptp(yy.ravel()[g]) <= 200


def test_areas_on_real_data(areas_result, patrol_store):
    from saferhub.hotspots.load import load_events

    a = areas_result.areas
    assert len(a) == 20
    assert list(a["rank"]) == list(range(1, 21))
    assert a["area_id"].is_unique and a["area_id"].str.match(r"^PA-[0-9a-f]{6,}$").all()
    assert (np.diff(a["harm"].to_numpy()) <= 0).all()            # ranked by harm
    b = shapely.bounds(np.asarray(a.geometry.values, dtype=object))
    assert (b[:, 2] - b[:, 0] <= 300 + 1e-6).all() and (b[:, 3] - b[:, 1] <= 300 + 1e-6).all()
    # names: a street and an LSOA name ("Liverpool 060C")
    assert a["name"].str.contains(r", [A-Z][A-Za-z. ]+ \d{3}[A-Z]$").all()
    assert a["reason"].str.startswith("Ranked").all()
    # counts and harm against a brute-force point-in-polygon count
    ev = load_events(patrol_store, "merseyside", "2020-01:2020-03")
    for r in a.head(5).itertuples():
        inside = shapely.contains_xy(r.geometry, ev["x"].to_numpy(), ev["y"].to_numpy())
        assert r.count == inside.sum()
        assert r.harm == pytest.approx(ev["harm"].to_numpy()[inside].sum())
    cov = areas_result.coverage
    assert cov["crimes_in_areas"] == int(a["count"].sum())
    assert cov["share_of_crime"] == pytest.approx(a["count"].sum() / len(ev))
    # the Merseyside boundary is 645 km^2 (PROVENANCE): 20 areas of <= 0.09 km^2 each
    assert 0 < cov["share_of_area"] <= 20 * 0.09 / 600
    assert "Merseyside police force area" in cov["region"]


def test_ids_are_stable_across_runs(areas_result, areas_file, patrol_store):
    from saferhub.patrol import service

    again = service.make_areas(patrol_store, force="merseyside", months="2020-01:2020-03", previous=areas_file)
    assert list(again.areas["area_id"]) == list(areas_result.areas["area_id"])
    nxt = service.make_areas(patrol_store, force="merseyside", months="2020-02:2020-04", previous=areas_file)
    prev = areas_result.areas
    kept = 0
    for r in nxt.areas.itertuples():   # brute force: who overlaps whom by at least half
        share = [r.geometry.intersection(p).area / min(r.geometry.area, p.area) for p in prev.geometry]
        best = int(np.argmax(share))
        if share[best] >= 0.5 and prev["area_id"].iloc[best] == r.area_id:
            kept += 1
        if share[best] < 0.5:
            assert r.area_id not in set(prev["area_id"])
    assert kept == nxt.coverage["ids_kept"] and kept >= 10


def test_polygon_file_keeps_its_ids(areas_file, patrol_store):
    from saferhub.patrol import service

    r = service.make_areas(patrol_store, force="merseyside", months="2020-04", source=str(areas_file))
    import geopandas as gpd

    given = gpd.read_file(areas_file)
    assert set(r.areas["area_id"]) == set(given["area_id"])


def test_area_index_matches_shapely():
    rng = np.random.default_rng(1)
    polys = [shapely.box(0, 0, 300, 300), shapely.Point(400, 150).buffer(120), shapely.box(250, 250, 600, 400)]
    x, y = rng.uniform(-50, 650, 200_000), rng.uniform(-50, 450, 200_000)
    got = AreaIndex(polys, bucket=25).assign(x, y)
    want = np.full(x.size, -1)
    for k in reversed(range(len(polys))):   # the first area in the list wins
        want[shapely.contains_xy(polys[k], x, y)] = k
    assert np.array_equal(got, want)


def test_effective_areas_are_disjoint_and_keep_cores():
    polys = [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)]
    eff = effective_areas(polys, 25)
    assert shapely.intersection(eff[0], eff[1]).area == pytest.approx(0, abs=1e-6)
    assert eff[0].contains(shapely.box(1, 1, 99, 99)) and eff[1].contains(shapely.box(101, 1, 199, 99))
    assert eff[1].contains(shapely.Point(210, 50))   # its own ring


@pytest.mark.slow
def test_areas_from_a_forecast(patrol_store):
    from saferhub.patrol import service

    r = service.make_areas(patrol_store, force="merseyside", source="forecast", categories="grip", keep=5)
    a = r.areas
    assert list(a["rank"]) == [1, 2, 3, 4, 5] and (np.diff(a["risk"].to_numpy()) <= 0).all()
    b = shapely.bounds(np.asarray(a.geometry.values, dtype=object))
    assert (b[:, 2] - b[:, 0] <= 300 + 1e-6).all()
    assert r.params["method"] == "forecast" and "% of" in r.coverage["sentence"]
