"""Spatial units: hexagons, grid units, LSOA polygons (checked against police.uk's own LSOA codes),
street segments, stray points, default cell size, study areas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import GEO, MERSEYSIDE

from saferhub.errors import SaferhubError
from saferhub.geo import units as U
from saferhub.geo.area import data_hull, read_area
from saferhub.geo.cellsize import default_cell_size
from saferhub.geo.grid import Grid
from saferhub.geo.hexgrid import HexGrid
from saferhub.geo.project import to_bng
from saferhub.geo.strays import check_strays, find_strays


def test_hexagons_have_the_square_cells_area_and_contain_their_points():
    hg = HexGrid(150)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(330000, 340000, 5000), rng.uniform(385000, 395000, 5000)
    q, r = hg.axial(x, y)
    polys = hg.polygons(q, r)
    assert shapely.area(polys) == pytest.approx(np.full(x.size, 150.0**2))
    assert shapely.contains_xy(polys, x, y).all()
    # Point-in-hexagon by brute force: the nearest hexagon centre.
    for k in range(0, 5000, 250):
        qq, rr = np.meshgrid(np.arange(q[k] - 2, q[k] + 3), np.arange(r[k] - 2, r[k] + 3))
        ax, ay = hg.centre(qq.ravel(), rr.ravel())
        best = np.argmin(np.hypot(ax - x[k], ay - y[k]))
        assert (qq.ravel()[best], rr.ravel()[best]) == (q[k], r[k])


def test_hex_units_assign_and_neighbour_spacing():
    area = shapely.box(0, 0, 3000, 2000)
    units = U.hex_units(200, area)
    assert units.gdf["unit_id"].is_unique
    x, y = np.array([1500.0, 10.0, -5000.0, np.nan]), np.array([1000.0, 10.0, 0.0, 1.0])
    idx = units.assign(x, y)
    assert idx[0] >= 0 and idx[2] == -1 and idx[3] == -1
    assert shapely.contains_xy(units.gdf.geometry.values[idx[0]], 1500, 1000)
    cx, cy = units.centroids()
    from scipy.spatial import cKDTree
    d, _ = cKDTree(np.c_[cx, cy]).query(np.c_[cx, cy], k=2)
    assert d[:, 1] == pytest.approx(HexGrid(200).spacing)


def test_grid_units_follow_the_study_area_and_round_trip():
    g = Grid.from_bounds(0, 0, 999, 999, 100)
    area = shapely.Point(500, 500).buffer(400)
    units = U.grid_units(g, area)
    assert units.n == int(units.mask.sum()) < g.n_cells
    vals = np.arange(units.n, dtype=float)
    np.testing.assert_array_equal(units.from_grid(units.to_grid(vals)), vals)
    idx = units.assign([550, 50], [550, 50])
    assert idx[0] >= 0 and idx[1] == -1  # the corner cell's centre is outside the disc


@pytest.mark.slow
def test_lsoa_units_agree_with_police_uk_lsoa_codes():
    """police.uk gives each crime's LSOA; point-in-polygon on the Liverpool LSOAs must agree."""
    units = U.polygon_units(U.read_layers([GEO / "uk-geojson" / "lsoa_by_lad" / "E08000012.json.gz"]))
    assert units.n == 298 and units.gdf["unit_id"].str.startswith("E01").all()
    df = pd.read_csv(MERSEYSIDE / "2020-06-merseyside-street.csv.gz",
                     usecols=["Longitude", "Latitude", "LSOA code"]).dropna()
    x, y = to_bng(df["Longitude"].to_numpy(), df["Latitude"].to_numpy())
    idx = units.assign(x, y)
    got = np.where(idx >= 0, units.gdf["unit_id"].to_numpy()[np.maximum(idx, 0)], None)
    placed = idx >= 0
    assert placed.sum() > 4000
    codes = df["LSOA code"].to_numpy()
    agree = (got[placed] == codes[placed]).mean()
    assert agree > 0.94
    # The published boundaries are generalised, and snap points sit on boundary streets: every
    # disagreement must lie within a few metres of the LSOA police.uk named.
    bad = placed & (got != codes)
    geo = units.gdf.set_index("unit_id").geometry
    d = np.array([geo[c].distance(shapely.Point(px, py)) for c, px, py in zip(codes[bad], x[bad], y[bad])
                  if c in geo.index])
    assert d.size > 0.9 * bad.sum() and np.percentile(d, 99) < 25


def test_segment_units_snap_to_the_nearest_line(tmp_path):
    import geopandas as gpd

    lines = gpd.GeoDataFrame({"name": ["A St", "B Rd", "C Ave"]},
                             geometry=[shapely.LineString([(0, 0), (100, 0)]),
                                       shapely.LineString([(100, 0), (100, 100)]),
                                       shapely.LineString([(0, 300), (100, 300)])], crs=27700)
    path = tmp_path / "streets.gpkg"
    lines.to_file(path)
    units = U.segment_units(U.read_layers([path]), max_distance=20)
    idx = units.assign([50, 95, 50, 50], [5, 50, 150, 290])
    assert units.gdf["unit_id"].tolist() == ["A St", "B Rd", "C Ave"]
    assert idx.tolist() == [0, 1, -1, 2]
    from saferhub.hotspots.weights import contiguity
    W = contiguity(units.gdf.geometry.values).toarray()
    assert W[0, 1] == W[1, 0] == 1 and W[2].sum() == 0


def test_stray_points_are_found_named_and_refused():
    rng = np.random.default_rng(1)
    x, y = rng.normal(335000, 6000, 2000), rng.normal(390000, 6000, 2000)
    x[17], y[17] = 530000, 180000  # a point in London
    x[99], y[99] = 0, 0  # a (0, 0) geocode
    stray = find_strays(x, y)
    assert np.flatnonzero(stray).tolist() == [17, 99]
    labels = np.array([f"event-{i}" for i in range(x.size)], dtype=object)
    with pytest.raises(SaferhubError, match=r"2 stray points.*#17 event-17.*#99 event-99.*--drop-strays"):
        check_strays(x, y, labels)
    warned = []
    keep = check_strays(x, y, labels, drop=True, warn=warned.append)
    assert keep.sum() == 1998 and "event-17" in warned[0]


def test_no_strays_in_real_merseyside_month():
    df = pd.read_csv(MERSEYSIDE / "2020-01-merseyside-street.csv.gz", usecols=["Longitude", "Latitude"]).dropna()
    x, y = to_bng(df["Longitude"].to_numpy(), df["Latitude"].to_numpy())
    assert not find_strays(x, y).any()


def test_default_cell_size_says_why():
    size, why = default_cell_size(318000, 378000, 362000, 423000)
    assert size == 1000 and "50" in why
    size, _ = default_cell_size(0, 0, 4000, 9000)
    assert size == 75
    with pytest.raises(SaferhubError):
        default_cell_size(np.nan, 0, 1, 1)


def test_read_area_and_hull(tmp_path):
    area = read_area(GEO / "merseyside_pfa_derived_from_lsoa.geojson.gz")
    assert 600e6 < area.area < 700e6  # Merseyside is ~645 km^2
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 1000, 300), rng.uniform(0, 1000, 300)
    assert data_hull(x, y, "convex").area >= data_hull(x, y, "concave").area > 0
    bad = tmp_path / "pts.geojson"
    import geopandas as gpd
    gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=27700).to_file(bad)
    with pytest.raises(SaferhubError, match="polygons"):
        read_area(bad)
    with pytest.raises(SaferhubError, match="not found"):
        read_area(tmp_path / "nope.geojson")


def test_edge_cells_holding_events_are_kept():
    area = shapely.Point(500, 500).buffer(400)
    g = Grid.from_bounds(0, 0, 999, 999, 100)
    # (199, 299) is inside the disc, but its cell's centre (150, 250) is outside it.
    assert shapely.contains_xy(area, 199, 299) and not shapely.contains_xy(area, 150, 250)
    assert U.grid_units(g, area).assign([199], [299])[0] == -1
    assert U.grid_units(g, area, points=([199.0], [299.0])).assign([199], [299])[0] >= 0
    hx = U.hex_units(150, area, points=([105.0, 500.0], [500.0, 500.0]))
    assert (hx.assign([105.0, 500.0], [500.0, 500.0]) >= 0).all()
    assert hx.gdf["unit_id"].is_unique


@pytest.mark.slow
def test_boundaries_from_a_folder_or_a_glob_give_all_merseyside_lsoas(tmp_path):
    folder = GEO / "uk-geojson" / "lsoa_by_lad"
    a = U.polygon_units(U.read_layers([folder]))
    b = U.polygon_units(U.read_layers([str(folder / "E0800001*.json.gz")]))
    assert a.n == b.n == 910  # the five Merseyside districts (PROVENANCE.md)
    with pytest.raises(SaferhubError, match="no files match"):
        U.read_layers([str(tmp_path / "*.json.gz")])
    with pytest.raises(SaferhubError, match="no GeoJSON"):
        U.read_layers([tmp_path])
