"""Oracle tests for displacement.py: every output of wdq/wdd/rings against hand computation, scipy and
plane geometry (written after mutation testing showed which outputs no test read)."""

import numpy as np
import pytest
from scipy import stats

from saferhub.evaluate import displacement as dsp

EXAMPLE = dsp.Counts(t0=207, t1=110, c0=308, c1=318, d0=178, d1=157, cd0=150, cd1=140)


def test_wdq_parts_by_hand():
    r = dsp.wdq(EXAMPLE)
    success = 110 / 318 - 207 / 308       # Ra/Ca - Rb/Cb
    buffer = 157 / 318 - 178 / 308        # Da/Ca - Db/Cb
    assert r["success_measure"] == pytest.approx(success) and r["buffer_measure"] == pytest.approx(buffer)
    assert r["wdq"] == pytest.approx(buffer / success)
    tne = (207 * 318 / 308 - 110) + (178 * 318 / 308 - 157)
    assert r["total_net_effect"] == pytest.approx(tne)


def test_wdq_is_undefined_when_the_treated_area_did_not_change_against_its_control():
    r = dsp.wdq(dsp.Counts(t0=100, t1=100, c0=200, c1=200, d0=50, d1=40))
    assert r["success_measure"] == 0 and np.isnan(r["wdq"])
    # a success measure of exactly 1 is an ordinary value, not a special case
    one = dsp.wdq(dsp.Counts(t0=0, t1=100, c0=100, c1=100, d0=50, d1=150))
    assert one["success_measure"] == pytest.approx(1.0) and one["wdq"] == pytest.approx(1.0)


def test_wdd_z_p_and_interval_against_scipy():
    r = dsp.wdd(EXAMPLE)
    se = np.sqrt(1568)
    assert r["z"] == pytest.approx(-118 / se)
    assert r["p"] == pytest.approx(2 * stats.norm.cdf(-118 / se))
    crit = stats.norm.ppf(0.975)
    assert r["low"] == pytest.approx(-118 - crit * se) and r["high"] == pytest.approx(-118 + crit * se)
    r90 = dsp.wdd(EXAMPLE, conf=0.90)
    assert r90["high"] - r90["low"] == pytest.approx(2 * stats.norm.ppf(0.95) * se)
    assert r["dispersion"] == 1.0


def test_three_area_wdd_drops_the_displacement_control():
    k = dsp.Counts(t0=207, t1=110, c0=308, c1=318, d0=178, d1=157)
    r = dsp.wdd(k)
    assert r["wdd"] == pytest.approx((110 - 207) - (318 - 308) + (157 - 178))
    assert r["se"] == pytest.approx(np.sqrt(207 + 110 + 308 + 318 + 178 + 157))


def test_wdd_with_no_events_has_no_test():
    r = dsp.wdd(dsp.Counts(0, 0, 0, 0, 0, 0, 0, 0))
    assert r["wdd"] == 0 and r["se"] == 0 and np.isnan(r["z"])
    # a tiny but positive SE still gives a test (no threshold other than zero)
    small = dsp.wdd(dsp.Counts(0, 0, 0, 0, 0, 0, 0, 0), variance_sums={n: 0.01 for n in
                                                                        ("t0", "t1", "c0", "c1", "d0", "d1", "cd0", "cd1")})
    assert small["se"] == pytest.approx(np.sqrt(0.08)) and small["z"] == 0 and small["p"] == pytest.approx(1.0)


def test_area_weights_apply_to_each_count_separately():
    w = {"t0": 2.0, "t1": 2.0, "c0": 4.0, "c1": 4.0, "d0": 1.0, "d1": 1.0, "cd0": 0.5, "cd1": 0.5}
    r = dsp.wdd(EXAMPLE, weights=w)
    est = (110 - 207) / 2 - (318 - 308) / 4 + (157 - 178) / 1 - (140 - 150) / 0.5
    var = (207 + 110) / 4 + (308 + 318) / 16 + (178 + 157) / 1 + (150 + 140) / 0.25
    assert r["wdd"] == pytest.approx(est) and r["se"] == pytest.approx(np.sqrt(var))


def test_rings_columns_and_outer_ring_area_by_geometry():
    import geopandas as gpd
    from shapely.geometry import box

    areas = gpd.GeoDataFrame({"area_id": ["A"]}, geometry=[box(0, 0, 100, 100)], crs="EPSG:27700")
    rings = dsp.rings(areas, (250, 100))  # given out of order: sorted
    assert rings["inner_m"].tolist() == [0.0, 100.0] and rings["outer_m"].tolist() == [100.0, 250.0]
    assert list(rings["ring"]) == ["0-100 m", "100-250 m"] and rings.crs == areas.crs
    # a square of side a buffered by r has area a^2 + 4ar + pi r^2 (rounded corners)
    full = lambda r: 100 * 100 + 4 * 100 * r + np.pi * r * r  # noqa: E731
    assert rings.geometry.iloc[1].area == pytest.approx(full(250) - full(100), rel=2e-3)
    assert not rings.geometry.iloc[0].intersects(box(10, 10, 90, 90))  # the area itself is no ring
