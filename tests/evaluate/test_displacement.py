"""WDQ and WDD: Wheeler & Ratcliffe (2018)'s worked example and hand-computed weighted versions."""

import numpy as np
import pytest

from saferhub.evaluate import displacement as dsp

EXAMPLE = dsp.Counts(t0=207, t1=110, c0=308, c1=318, d0=178, d1=157, cd0=150, cd1=140)


def test_wdd_on_wheeler_ratcliffe_example():
    r = dsp.wdd(EXAMPLE)
    assert r["wdd"] == pytest.approx(-118)
    assert r["se"] == pytest.approx(np.sqrt(1568)) and r["se"] == pytest.approx(39.598, abs=1e-3)


def test_wdq_and_total_net_effect_on_the_same_counts():
    r = dsp.wdq(EXAMPLE)
    assert r["wdq"] == pytest.approx(0.2582, abs=1e-4)
    assert r["total_net_effect"] == pytest.approx(130.5)


def test_time_weights_divide_counts_and_variance_by_the_square():
    # 12 months before, 6 after: per-month rates; variance sum(count / w^2), by hand.
    w = {"t0": 12, "c0": 12, "d0": 12, "cd0": 12, "t1": 6, "c1": 6, "d1": 6, "cd1": 6}
    r = dsp.wdd(EXAMPLE, weights=w)
    est = (110 / 6 - 207 / 12) - (318 / 6 - 308 / 12) + (157 / 6 - 178 / 12) - (140 / 6 - 150 / 12)
    var = (110 + 318 + 157 + 140) / 36 + (207 + 308 + 178 + 150) / 144
    assert r["wdd"] == pytest.approx(est) and r["se"] == pytest.approx(np.sqrt(var))


def test_harm_weighted_variance_uses_sums_of_squares():
    sq = {"t0": 900.0, "t1": 400.0, "c0": 1000.0, "c1": 1100.0, "d0": 500.0, "d1": 450.0, "cd0": 300.0, "cd1": 320.0}
    r = dsp.wdd(EXAMPLE, variance_sums=sq)
    assert r["se"] == pytest.approx(np.sqrt(sum(sq.values())))


def test_dispersion_scales_the_published_variance():
    r = dsp.wdd(EXAMPLE, dispersion=2.5)
    assert r["se"] == pytest.approx(np.sqrt(2.5 * 1568)) and r["wdd"] == pytest.approx(-118)
    assert r["p"] == pytest.approx(2 * (1 - __import__("scipy").stats.norm.cdf(118 / np.sqrt(2.5 * 1568))))


def test_rings_are_disjoint_and_have_the_right_area():
    import geopandas as gpd
    from shapely.geometry import box

    areas = gpd.GeoDataFrame({"area_id": ["A"]}, geometry=[box(0, 0, 100, 100)], crs="EPSG:27700")
    rings = dsp.rings(areas, (100, 250))
    assert list(rings["ring"]) == ["0-100 m", "100-250 m"]
    assert rings.geometry.iloc[0].intersection(rings.geometry.iloc[1]).area < 1e-6
    # square + 100 m buffer with rounded corners minus the square: 4*100*100 + pi*100^2
    assert rings.geometry.iloc[0].area == pytest.approx(40000 + np.pi * 1e4, rel=2e-3)
