"""Concentration measures against hand-worked values and brute-force definitions written here.

Oracles: the Lorenz curve by hand; the generalized Gini as (G - G_min) / (1 - G_min), with G_min
the Gini of the most even spread of N events over n units and every Gini from the mean absolute
difference (not the module's sorted-rank formula); the share of units by walking the sorted list.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from saferhub.errors import SaferhubError

conc = importlib.import_module("saferhub.hotspots.concentration")


def _gini_mad(v) -> float:
    """Gini = sum_ij |x_i - x_j| / (2 n^2 mean): the mean-difference definition."""
    v = np.asarray(v, float)
    return float(np.abs(v[:, None] - v[None, :]).sum() / (2 * v.size**2 * v.mean()))


def _generalized_by_definition(counts) -> float:
    """Bernasco & Steenbeek: rescale G against the most even spread of the same N events."""
    v = np.asarray(counts, float)
    n, N = v.size, int(v.sum())
    g = _gini_mad(v)
    if N >= n:
        return g
    even = np.zeros(n)
    even[:N] = 1.0
    g_min = _gini_mad(even)
    return (g - g_min) / (1 - g_min)


def test_lorenz_points_by_hand():
    units, total = conc.lorenz([3.0, 1.0, 2.0])
    np.testing.assert_allclose(units, [0, 1 / 3, 2 / 3, 1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(total, [0, 1 / 6, 3 / 6, 1], rtol=0, atol=1e-15)
    # NaNs are not units: they are dropped before the curve is drawn.
    units, total = conc.lorenz(np.array([[np.nan, 4.0], [0.0, np.inf]]))
    np.testing.assert_allclose(units, [0, 0.5, 1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(total, [0, 0, 1], rtol=0, atol=1e-15)


def test_gini_by_hand_and_ignores_non_finite_units():
    # sorted [0, 0, 1, 3]: (2*3-5)*1 + (2*4-5)*3 = 10 over n * sum = 16
    assert conc.gini([3, 1, 0, 0]) == pytest.approx(10 / 16, abs=1e-15)
    assert conc.gini(np.array([[3, np.nan], [1, 0], [0, np.nan]])) == pytest.approx(10 / 16, abs=1e-15)


@pytest.mark.parametrize("counts", [[2, 1, 0, 0, 0, 0], [5, 2, 1, 0, 0, 0, 0, 0, 0, 0],
                                    [1, 1, 1, 0, 0, 0, 0], [3, 1, 0, 0], [4, 4, 4], [1, 0, 0, 0, 0]])
def test_generalized_gini_equals_rescaling_against_the_most_even_spread(counts):
    assert conc.generalized_gini(counts) == pytest.approx(_generalized_by_definition(counts), abs=1e-12)


def test_generalized_gini_on_random_sparse_and_dense_counts():
    rng = np.random.default_rng(7)
    for lam in (0.05, 0.3, 1.0, 4.0):
        v = rng.poisson(lam, 60).astype(float)
        v[0] += 1  # at least one event
        assert conc.generalized_gini(v) == pytest.approx(_generalized_by_definition(v), abs=1e-12)


def test_unbiased_factor_is_min_n_N_over_one_less():
    # n = 6, N = 3: G = 13/18, G' = 2 G - 1 = 4/9; unbiased x 3/2 = 2/3.
    assert conc.generalized_gini([2, 1, 0, 0, 0, 0]) == pytest.approx(4 / 9, abs=1e-12)
    assert conc.generalized_gini([2, 1, 0, 0, 0, 0], unbiased=True) == pytest.approx(2 / 3, abs=1e-12)
    # n = 4, N = 4: G = 10/16, factor 4/3.
    assert conc.generalized_gini([3, 1, 0, 0], unbiased=True) == pytest.approx(10 / 12, abs=1e-12)
    # n = 3, N = 5: m = min(n, N) = 3 (not N).
    g = _gini_mad([4, 1, 0])
    assert conc.generalized_gini([4, 1, 0], unbiased=True) == pytest.approx(g * 3 / 2, abs=1e-12)
    # m = 2 is the smallest allowed: [2, 0] gives G = 1/2, factor 2.
    assert conc.generalized_gini([2, 0], unbiased=True) == pytest.approx(1.0, abs=1e-12)
    assert conc.generalized_gini([1, 1, 0], unbiased=True) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(SaferhubError, match=r"^the unbiased generalized Gini needs at least 2 events and 2 units$"):
        conc.generalized_gini([1, 0, 0], unbiased=True)
    with pytest.raises(SaferhubError, match=r"^the unbiased generalized Gini needs"):
        conc.generalized_gini([5], unbiased=True)


def test_generalized_gini_refuses_weighted_values_with_the_message():
    with pytest.raises(SaferhubError, match=r"^the generalized Gini is defined for event counts, not weighted values$"):
        conc.generalized_gini([1.0, 2.4, 3.0])
    # within allclose's tolerance of whole numbers is still counts
    assert conc.generalized_gini([1.0 + 1e-12, 2.0, 0.0]) == pytest.approx(_generalized_by_definition([1, 2, 0]), abs=1e-9)


def _share_by_walking(values, share):
    v = sorted((float(x) for x in values), reverse=True)
    total, acc = sum(v), 0.0
    for k, x in enumerate(v, start=1):
        acc += x
        if acc >= share * total - 1e-9:
            return k, k / len(v)
    raise AssertionError("unreachable")


def test_share_of_units_equals_walking_the_sorted_units():
    rng = np.random.default_rng(3)
    v = rng.poisson(1.2, 200).astype(float)
    for share in (0.01, 0.25, 0.5, 0.8, 0.999, 1.0):
        assert conc.share_of_units(v, share) == _share_by_walking(v, share)
    # exactly at a cumulative share the unit that reaches it is enough
    assert conc.share_of_units([1, 1, 1, 1], 0.5) == (2, 0.5)
    assert conc.share_of_units([1, 1, 1, 1], 0.25) == (1, 0.25)


@pytest.mark.parametrize("share", [0, -0.1, 1.0000001, 2])
def test_share_outside_zero_one_is_refused(share):
    with pytest.raises(SaferhubError, match=rf"^share must be in \(0, 1\], got {share}$"):
        conc.share_of_units([1, 2, 3], share)


def test_bad_values_have_one_line_messages():
    with pytest.raises(SaferhubError, match=r"^no units to measure concentration over$"):
        conc.gini([])
    with pytest.raises(SaferhubError, match=r"^no units to measure concentration over$"):
        conc.gini([np.nan, np.inf])
    with pytest.raises(SaferhubError, match=r"^concentration needs non-negative values \(counts or harm\)$"):
        conc.lorenz([3.0, -0.5])
    with pytest.raises(SaferhubError, match=r"^there are no events in the chosen units, months and categories$"):
        conc.share_of_units([0, 0, 0], 0.5)


def test_summarise_counts_and_harm_by_hand():
    counts = [0, 6, 0, 2, 1, 0, 0, 1, 0, 0]  # n = 10, N = 10
    s = conc.summarise(counts)
    assert (s.n_units, s.n_events) == (10, 10.0)
    assert s.gini == pytest.approx(_gini_mad(counts), abs=1e-12)
    assert s.generalized_gini == pytest.approx(_gini_mad(counts), abs=1e-12)  # N >= n
    assert (s.units_25, s.share_25) == (1, 0.1)  # 6 of 10 already
    assert (s.units_50, s.share_50) == (1, 0.1)
    sparse = [3, 1, 1, 0, 0, 0, 0, 0]  # n = 8, N = 5
    s = conc.summarise(sparse)
    assert s.generalized_gini == pytest.approx(_generalized_by_definition(sparse), abs=1e-12)
    assert (s.units_25, s.share_25, s.units_50, s.share_50) == (1, 1 / 8, 1, 1 / 8)
    harm = [0.5, 4.0, 2.5, 3.0]  # sorted down 4, 3, 2.5, 0.5 of 10: 25% -> 1 unit, 50% -> 2
    h = conc.summarise(harm, counts=False)
    assert h.generalized_gini is None
    assert (h.n_units, h.n_events) == (4, 10.0)
    assert (h.units_25, h.share_25, h.units_50, h.share_50) == (1, 0.25, 2, 0.5)
    assert h.gini == pytest.approx(_gini_mad(harm), abs=1e-12)
    assert isinstance(h.n_units, int) and isinstance(h.n_events, float)


def test_as_frame_lists_every_measure_in_order():
    s = conc.summarise([3, 1, 0, 0])
    f = s.as_frame("violence")
    expected = pd.DataFrame(
        [("units", 4), ("total", 4.0), ("Gini", 10 / 16), ("generalized Gini", 10 / 16),
         ("units holding 25%", 1), ("share of units holding 25%", 0.25),
         ("units holding 50%", 1), ("share of units holding 50%", 0.25)],
        columns=["measure", "violence"])
    pd.testing.assert_frame_equal(f, expected)
    assert list(s.as_frame().columns) == ["measure", "value"]
