"""Oracles for data/validate.py: coordinate parsing at the exact UK bounds, projection against
pyproj called directly and a published grid reference, the boundary tolerance at exactly
--far-km, and far-from-core distances computed by hand and by a brute-force loop in this file."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from pyproj import Transformer

from saferhub.data import validate as v
from saferhub.geo.pointmemo import Memos

HALF_DIAG = 5000 * math.sqrt(0.5)   # a 5 km cell's centre to its corner, metres


def parse(lon, lat):
    return v.parse_coordinates(pd.Series(lon, dtype=object), pd.Series(lat, dtype=object))


# ---- parse_coordinates -------------------------------------------------------------------

def test_parse_reasons_and_values_by_hand():
    lon, lat, reason = parse(["-2.98", "", " ", None, "-2.98", "", "abc", "-2.98", " -3.0 ", "nan"],
                             ["53.40", "", "", None, "", "53.4", "53.40", "x", "53.5\t", "53.4"])
    assert reason.tolist() == [
        None, None, None, None,
        "only one of longitude/latitude given", "only one of longitude/latitude given",
        "unparseable coordinates ('abc', '53.40')", "unparseable coordinates ('-2.98', 'x')",
        None, "unparseable coordinates ('nan', '53.4')"]
    assert lon[0] == -2.98 and lat[0] == 53.40 and lon[8] == -3.0 and lat[8] == 53.5
    assert np.isnan(np.delete(lon, [0, 8])).all() and np.isnan(np.delete(lat, [0, 8])).all()
    assert lon.dtype == np.float64 and lat.dtype == np.float64


def test_uk_bounds_are_inclusive_at_exactly_the_stated_edges():
    assert v.UK_LON == (-8.8, 2.0) and v.UK_LAT == (49.8, 61.0)
    cases = [("-8.8", "55.0", True), ("-8.800001", "55.0", False), ("2.0", "51.0", True),
             ("2.000001", "51.0", False), ("-1.0", "49.8", True), ("-1.0", "49.799999", False),
             ("-1.0", "61.0", True), ("-1.0", "61.000001", False), ("0", "0", False)]
    lon, lat, reason = parse([c[0] for c in cases], [c[1] for c in cases])
    for i, (a, b, inside) in enumerate(cases):
        if inside:
            assert reason[i] is None and lon[i] == float(a) and lat[i] == float(b), (a, b)
        else:
            assert reason[i] == f"coordinates ({float(a):.6f}, {float(b):.6f}) are outside the UK", (a, b)
            assert np.isnan(lon[i]) and np.isnan(lat[i])


def test_arrow_inputs_chunked_and_plain_give_the_same_answer():
    lon_t, lat_t = ["-2.98", "", "10.5", "-3.1"], ["53.40", "", "45.0", None]
    want_reason = [None, None, "coordinates (10.500000, 45.000000) are outside the UK",
                   "only one of longitude/latitude given"]
    for lon_in, lat_in in [
        (pa.chunked_array([lon_t[:2], lon_t[2:]]), pa.chunked_array([lat_t[:1], lat_t[1:]])),
        (pa.array(lon_t, pa.large_string()), pa.array(lat_t)),
        (pd.Series(lon_t, dtype="string"), pd.Series(lat_t, dtype="string")),
    ]:
        lon, lat, reason = v.parse_coordinates(lon_in, lat_in)
        assert reason.tolist() == want_reason
        assert lon[0] == -2.98 and lat[0] == 53.40 and np.isnan(lon[1:]).all() and np.isnan(lat[1:]).all()


def test_numbers_beside_text_still_parse_on_the_lenient_path():
    # "abc" makes Arrow's cast fail; the other rows must still get their values.
    lon, lat, reason = parse(["-2.98", "abc", "1e-1"], ["53.4", "53.4", "5.34e1"])
    assert lon[0] == -2.98 and lon[2] == 0.1 and lat[2] == 53.4 and reason[1].startswith("unparseable")
    # the arrays come back writable (callers mark rows NaN in place)
    lon[0] = 0.0
    lat[0] = 0.0


# ---- projection ---------------------------------------------------------------------------

def test_projection_matches_pyproj_and_a_published_grid_reference():
    # Big Ben, WGS84 (51.50073, -0.12462); OS grid reference TQ 3026 7962 (530260, 179620).
    lon = np.array([-0.12462, -2.9916, np.nan])
    lat = np.array([51.50073, 53.4048, np.nan])
    reason = np.full(3, None, dtype=object)
    x, y = v.project_and_check(lon, lat, reason, check_area=False)
    tx, ty = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon[:2], lat[:2])
    np.testing.assert_allclose(x[:2], tx, atol=1e-6)
    np.testing.assert_allclose(y[:2], ty, atol=1e-6)
    assert abs(x[0] - 530260) < 100 and abs(y[0] - 179620) < 100
    assert np.isnan(x[2]) and np.isnan(y[2]) and reason.tolist() == [None] * 3


# ---- boundary ----------------------------------------------------------------------------

SQUARE = shapely.box(300_000, 380_000, 340_000, 420_000)   # a 40 km square in BNG


def test_boundary_km_by_hand():
    x = np.array([320_000.0, 343_000.0, 300_000.0, 343_000.0, 290_000.0])
    y = np.array([400_000.0, 400_000.0, 400_000.0, 424_000.0, 380_000.0])
    # inside, 3 km east, on the edge, 3-4-5 from the corner, 10 km west
    np.testing.assert_allclose(v.boundary_km(SQUARE, x, y), [0, 3, 0, 5, 10], atol=1e-12)


def _lonlat(x, y):
    return Transformer.from_crs(27700, 4326, always_xy=True).transform(np.asarray(x, float), np.asarray(y, float))


def test_boundary_tolerance_is_exactly_far_km():
    lon, lat = _lonlat([320_000, 365_000, 352_000, 352_000], [400_000, 400_000, 400_000, 400_000])
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True).transform
    km = [SQUARE.distance(shapely.Point(*to_bng(a, b))) / 1000 for a, b in zip(lon, lat)]
    assert km[0] == 0 and 24.99 < km[1] < 25.01 and 11.99 < km[2] < 12.01
    reason = np.full(4, None, dtype=object)
    reason[3] = "earlier reason"
    x, y = v.project_and_check(lon, lat, reason, True, far_km=km[2], boundary=SQUARE)
    # row 2 sits exactly at the tolerance: kept; row 3 (same spot) keeps its earlier reason
    assert reason.tolist() == [
        None, f"outside the force area ({km[1]:.0f} km beyond its boundary; at {lon[1]:.6f}, {lat[1]:.6f})",
        None, "earlier reason"]
    assert np.isfinite(x).all() and np.isfinite(y).all()
    reason = np.full(4, None, dtype=object)
    v.project_and_check(lon, lat, reason, True, far_km=km[2] - 1e-9, boundary=SQUARE)
    assert [r is None for r in reason] == [True, False, False, False]
    assert reason[2] == f"outside the force area (12 km beyond its boundary; at {lon[2]:.6f}, {lat[2]:.6f})"
    # check_area off: the boundary is ignored
    reason = np.full(4, None, dtype=object)
    v.project_and_check(lon, lat, reason, False, far_km=1, boundary=SQUARE)
    assert reason.tolist() == [None] * 4


def test_default_tolerance_is_20_km_and_memos_carry_between_files():
    assert v.FAR_KM == 20.0 and v.CORE_CELL_M == 5000 and v.CORE_SHARE == 0.05
    lon, lat = _lonlat([359_000, 361_000], [400_000, 400_000])   # 19 km and 21 km east of the square
    memos = Memos()
    for _ in range(2):   # the second call answers from the memo
        reason = np.full(2, None, dtype=object)
        x, y = v.project_and_check(lon, lat, reason, True, boundary=SQUARE, memos=memos)
        assert reason[0] is None and reason[1].startswith("outside the force area (21 km beyond its boundary")
        np.testing.assert_allclose(x, [359_000, 361_000], atol=1e-3)
        np.testing.assert_allclose(y, [400_000, 400_000], atol=1e-3)


# ---- far from the core (no boundary) ---------------------------------------------------------

def test_lone_far_point_at_exactly_the_tolerance_by_hand():
    # 10 points at one cell's centre (342500, 392500); one point 30 km east of it, alone in its cell.
    x = np.array([342_500.0] * 10 + [372_500.0])
    y = np.array([392_500.0] * 11)
    beyond = (30_000 - HALF_DIAG) / 1000          # distance to the core cell's corner, km
    assert v.far_from_core(x, y, beyond)[-1] == 0   # exactly at the tolerance: inside
    got = v.far_from_core(x, y, beyond - 1e-6)
    assert got[:10].tolist() == [0] * 10 and got[-1] == pytest.approx(beyond, abs=1e-9)
    got = v.far_from_core(x, y)                     # default 20 km
    assert got[-1] == pytest.approx(26.464466094, abs=1e-8)
    assert v.far_from_core(x, y, 27)[-1] == 0


def test_small_clusters_are_inside_at_exactly_the_core_share():
    def file(small):
        x = np.r_[np.full(100 - small, 342_500.0), np.full(small, 382_500.0)]   # 40 km apart
        return x, np.full(100, 392_500.0)
    got = v.far_from_core(*file(5))     # 5 of 100 = exactly CORE_SHARE: part of the force
    assert (got == 0).all()
    got = v.far_from_core(*file(4))     # 4 of 100: outside, 40 km less half a diagonal
    assert (got[:96] == 0).all() and got[96:] == pytest.approx((40_000 - HALF_DIAG) / 1000, abs=1e-9)
    # the same small cluster 25 km away is linked to the body (link = 20 km + a cell diagonal)
    x, y = file(4)
    x[96:] = 367_500.0
    assert (v.far_from_core(x, y) == 0).all()


def test_when_every_cell_is_sparse_the_fullest_cells_are_the_core():
    # cells hold 2, 2, 1 points: the core threshold drops to 2; the lone point 100 km away is outside
    x = np.array([342_500.0, 342_600, 347_500, 347_400, 442_500])
    y = np.full(5, 392_500.0)
    got = v.far_from_core(x, y)
    assert got[:4].tolist() == [0] * 4
    assert got[4] == pytest.approx((442_500 - 347_500 - HALF_DIAG) / 1000, abs=1e-9)
    # fewer than 2 located points: nothing to compare against
    assert v.far_from_core(np.array([1.0, np.nan]), np.array([1.0, 2.0])).tolist() == [0, 0]
    assert v.far_from_core(np.array([1.0]), np.array([1.0])).tolist() == [0]


def _brute_force(x, y, far_km):
    """The documented rule, spelled out with loops: 5 km cells, core = cells with >= 3 points
    (or the fullest if none has 3), clusters linked within far_km + a diagonal, body = clusters
    with >= 5% of the points or the largest; distance to the nearest body cell less half a diagonal."""
    cells = {}
    for i, (a, b) in enumerate(zip(x, y)):
        if math.isfinite(a) and math.isfinite(b):
            cells.setdefault((math.floor(a / 5000), math.floor(b / 5000)), []).append(i)
    need = min(3, max(len(m) for m in cells.values()))
    core = [c for c, m in cells.items() if len(m) >= need]
    centre = {c: ((c[0] + 0.5) * 5000, (c[1] + 0.5) * 5000) for c in cells}
    link = far_km * 1000 + 5000 * math.sqrt(2)
    label = {c: k for k, c in enumerate(core)}
    changed = True
    while changed:   # propagate the smallest label along links until nothing changes
        changed = False
        for c in core:
            for d in core:
                if math.dist(centre[c], centre[d]) <= link and label[d] > label[c]:
                    label[d] = label[c]
                    changed = True
    held = {}
    for c in core:
        held[label[c]] = held.get(label[c], 0) + len(cells[c])
    total = sum(len(m) for m in cells.values())
    body = [c for c in core if held[label[c]] >= 0.05 * total or held[label[c]] == max(held.values())]
    out = np.zeros(len(x))
    for c, members in cells.items():
        if c in body:
            continue
        for i in members:
            d = min(math.dist((x[i], y[i]), centre[b]) for b in body)
            beyond = max(d - 5000 * math.sqrt(0.5), 0) / 1000
            out[i] = beyond if beyond > far_km else 0.0
    return out


@pytest.mark.parametrize("seed", range(6))
def test_far_from_core_matches_a_brute_force_loop(seed):
    """Random files: a dense town, a few satellite villages at random distances, scattered strays,
    some negative coordinates (west of the grid's origin, as in Northern Ireland) and NaNs."""
    rng = np.random.default_rng(seed)
    origin = rng.choice([-60_000.0, 340_000.0])
    parts = [rng.normal([origin, 390_000], 4000, size=(300, 2))]
    for _ in range(rng.integers(1, 5)):
        centre = [origin, 390_000] + rng.uniform(-120_000, 120_000, 2)
        parts.append(rng.normal(centre, 800, size=(int(rng.integers(3, 25)), 2)))
    parts.append(rng.uniform([origin - 200_000, 200_000], [origin + 200_000, 600_000], size=(8, 2)))
    pts = np.vstack(parts)
    pts[rng.choice(len(pts), 5, replace=False)] = np.nan
    far_km = float(rng.choice([10.0, 20.0, 35.0]))
    got = v.far_from_core(pts[:, 0], pts[:, 1], far_km)
    want = _brute_force(pts[:, 0], pts[:, 1], far_km)
    np.testing.assert_allclose(got, want, atol=1e-9)
    assert (got > 0).any()


def test_many_small_clusters_leave_only_the_largest_as_the_body():
    # 30 clusters 40 km apart on a line: one of 4 points, 29 of 3 (3/91 and 4/91 are under 5%)
    counts = [4] + [3] * 29
    x = np.concatenate([np.full(n, 40_000.0 * k + 2500) for k, n in enumerate(counts)])
    y = np.full(len(x), 2500.0)
    got = v.far_from_core(x, y)
    want = np.concatenate([np.full(n, 0.0 if k == 0 else (40_000 * k - HALF_DIAG) / 1000)
                           for k, n in enumerate(counts)])
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_no_boundary_reason_names_the_bulk_of_the_points():
    x = np.r_[np.full(50, 342_500.0), 402_500.0]
    y = np.full(51, 392_500.0)
    lon, lat = _lonlat(x, y)
    lon = np.r_[lon, np.nan]
    lat = np.r_[lat, np.nan]
    reason = np.full(52, None, dtype=object)
    px, py = v.project_and_check(lon, lat, reason, True)
    km = (60_000 - HALF_DIAG) / 1000
    assert reason[:50].tolist() == [None] * 50 and reason[51] is None
    assert reason[50] == f"outside the force area ({km:.0f} km from the bulk of its points; at {lon[50]:.6f}, {lat[50]:.6f})"
    assert np.isnan(px[51]) and np.isnan(py[51])
    # a point already quarantined for another reason is neither re-judged nor counted in the body
    reason = np.full(52, None, dtype=object)
    reason[:50] = "bad"
    v.project_and_check(lon, lat, reason, True)
    assert reason[50] is None


# ---- second round: the edges the first mutation run showed untested ------------------------

def test_a_pandas_series_over_several_arrow_chunks():
    s_lon = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([["-2.98", ""], ["10.5"]])))
    s_lat = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([["53.4"], ["", "45.0"]])))
    lon, lat, reason = v.parse_coordinates(s_lon, s_lat)
    assert reason.tolist() == [None, None, "coordinates (10.500000, 45.000000) are outside the UK"]
    assert lon[0] == -2.98 and lat[0] == 53.4


def test_the_lenient_path_still_returns_floats():
    # Arrow refuses " 1" (inner use only: parse_coordinates trims first); pandas reads it as an integer
    got = v._to_float(pa.array([" 1", "2"]))
    assert got.dtype == np.float64 and got.tolist() == [1.0, 2.0]


def test_a_point_with_one_nan_coordinate_is_not_located():
    x = np.array([342_500.0] * 5 + [442_500.0, 442_500.0])
    y = np.array([392_500.0] * 5 + [np.nan, 392_500.0])
    got = v.far_from_core(x, y)
    assert got[5] == 0 and got[6] == pytest.approx((100_000 - HALF_DIAG) / 1000, abs=1e-9)


def test_negative_northings_keep_their_cells():
    # south of the grid's false origin (y < 0, reachable inside the UK bounds): cells must not wrap
    x = np.r_[np.full(20, 2500.0), np.full(4, 2500.0), 2500.0]
    y = np.r_[np.full(20, -2500.0), np.full(4, -42_500.0), -102_500.0]
    got = v.far_from_core(x, y)
    np.testing.assert_allclose(got, _brute_force(x, y, 20.0), atol=1e-9)
    assert got[:20].tolist() == [0] * 20
    # the 4-point cluster 40 km south holds 16% of the points, so it is body: the stray is 60 km from it
    assert (got[20:24] == 0).all() and got[-1] == pytest.approx((60_000 - HALF_DIAG) / 1000, abs=1e-9)


def test_zero_tolerance_is_the_edge_of_the_body():
    # 10 points in one cell; one in the next cell 2.6 km from the core centre (inside half a
    # diagonal, so 0 km beyond), one 4 km from it (0.4645 km beyond)
    x = np.array([2500.0] * 10 + [5100.0, 6500.0])
    y = np.full(12, 2500.0)
    got = v.far_from_core(x, y, 0.0)
    assert got[:11].tolist() == [0] * 11 and got[11] == pytest.approx((4000 - HALF_DIAG) / 1000, abs=1e-9)


def test_clusters_link_exactly_within_far_km_plus_a_cell_diagonal():
    # a small cluster (4 of 100) whose cell centre is 30 km from the body's
    x = np.r_[np.full(96, 2500.0), np.full(4, 32_500.0)]
    y = np.full(100, 2500.0)
    far_km = 22.928   # link = 22,928 m + 7,071.07 m = 29,999.07 m: just short of 30 km, not linked
    got = v.far_from_core(x, y, far_km)
    assert got[96:] == pytest.approx((30_000 - HALF_DIAG) / 1000, abs=1e-9)
    assert (v.far_from_core(x, y, 22.93) == 0).all()   # link 30,001.07 m: linked, part of the body


def test_sub_kilometre_tolerance_beyond_the_boundary():
    lon, lat = _lonlat([340_600.0, 340_050.0], [400_000.0, 400_000.0])   # 0.6 and 0.05 km east
    reason = np.full(2, None, dtype=object)
    v.project_and_check(lon, lat, reason, True, far_km=0.1, boundary=SQUARE)
    assert reason[0] == f"outside the force area (1 km beyond its boundary; at {lon[0]:.6f}, {lat[0]:.6f})"
    assert reason[1] is None


def test_one_memo_set_kept_apart_per_boundary():
    other = shapely.box(300_000, 380_000, 370_000, 420_000)   # reaches 30 km further east
    lon, lat = _lonlat([365_000.0], [400_000.0])                # 25 km beyond SQUARE, inside other
    memos = Memos()
    got = []
    for boundary in (SQUARE, other, None, SQUARE):
        reason = np.full(1, None, dtype=object)
        v.project_and_check(lon, lat, reason, True, far_km=20, boundary=boundary, memos=memos)
        got.append(reason[0])
    assert got[0] == got[3] and got[0].startswith("outside the force area (25 km beyond its boundary")
    assert got[1] is None and got[2] is None
