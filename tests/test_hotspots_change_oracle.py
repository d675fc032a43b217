"""Before/after change against exact binomial sums in pure Python (math.comb, no scipy): the
conditional test of two Poisson means, with unequal period lengths (the rescaling), and the
Benjamini-Hochberg / Holm adjustments against statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from saferhub.errors import SaferhubError
from saferhub.hotspots import inference
from saferhub.hotspots.change import poisson_change


def _binom_pmf(k, n, p):
    return math.comb(n, k) * p**k * (1 - p) ** (n - k)


def _central_p(a, b, r):
    """Exact two-sided ('central') p of b | a + b ~ Binomial(a + b, r / (1 + r))."""
    n = a + b
    if n == 0:
        return 1.0
    pi = r / (1 + r)
    lower = sum(_binom_pmf(k, n, pi) for k in range(0, b + 1))
    upper = sum(_binom_pmf(k, n, pi) for k in range(b, n + 1))
    return min(1.0, 2 * min(lower, upper))


@pytest.mark.parametrize("r", [1.0, 0.5, 3.0])
def test_p_values_ratio_and_z_equal_hand_sums_for_unequal_periods(r):
    before = np.array([0, 3, 10, 4, 20, 1, 0, 7])
    after = np.array([0, 9, 2, 4, 35, 0, 6, 7])
    c = poisson_change(before, after, length_ratio=r, correction="none")
    want = [_central_p(int(a), int(b), r) for a, b in zip(before, after)]
    np.testing.assert_allclose(c.p, want, rtol=1e-9)
    np.testing.assert_allclose(c.p_adjusted, want, rtol=1e-9)
    np.testing.assert_allclose(c.z, 2 * (np.sqrt(after) - np.sqrt(before * r)))
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(c.ratio, np.where(before > 0, after / (before * r), np.nan))
    np.testing.assert_array_equal(c.difference, after - before)
    np.testing.assert_array_equal(c.before, before)
    np.testing.assert_array_equal(c.after, after)


def test_direction_follows_the_rescaled_expectation():
    # 10 before over 12 months, 10 after over 3 months: r = 1/4, expected after = 2.5 -> a rise
    c = poisson_change([10, 10, 40], [10, 2, 1], length_ratio=0.25, correction="none")
    assert c.p[0] == pytest.approx(_central_p(10, 10, 0.25))
    assert c.direction.tolist() == [1, 0, -1] and c.direction.dtype.kind == "i"  # whole steps
    # the same counts over equal periods: no change in the first unit
    assert poisson_change([10], [10], correction="none").direction.tolist() == [0]
    # alpha decides: p = 0.0215 is significant at 0.05, not at 0.01
    c2 = poisson_change([2], [12], correction="none")
    assert c2.p[0] == pytest.approx(_central_p(2, 12, 1.0))
    assert poisson_change([2], [12], correction="none", alpha=0.05).direction.tolist() == [1]
    assert poisson_change([2], [12], correction="none", alpha=0.01).direction.tolist() == [0]


def test_default_correction_is_benjamini_hochberg_like_statsmodels():
    before = np.array([5, 9, 0, 14, 3, 8, 2, 30])
    after = np.array([15, 2, 6, 14, 3, 20, 9, 12])
    raw = poisson_change(before, after, correction="none").p
    np.testing.assert_allclose(poisson_change(before, after).p_adjusted,
                               multipletests(raw, method="fdr_bh")[1], rtol=1e-12)
    np.testing.assert_allclose(poisson_change(before, after, correction="holm").p_adjusted,
                               multipletests(raw, method="holm")[1], rtol=1e-12)


def test_inference_adjustments_match_statsmodels_and_keep_nans():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.2, 30)
    p[[3, 17]] = np.nan
    ok = np.isfinite(p)
    for method, ours in (("fdr_bh", inference.bh_adjust), ("holm", inference.holm_adjust)):
        got = ours(p)
        np.testing.assert_allclose(got[ok], multipletests(p[ok], method=method)[1], rtol=1e-12)
        assert np.isnan(got[~ok]).all()
    np.testing.assert_array_equal(inference.adjust(p, "none")[ok], p[ok])
    np.testing.assert_allclose(inference.adjust(p[ok]), multipletests(p[ok], method="fdr_bh")[1])
    assert np.isnan(inference.bh_adjust([np.nan, np.nan])).all()


def test_classes_at_the_arcgis_thresholds():
    z = np.array([3.0, 2.0, 1.0, -1.0, -2.5, -3.0, 0.5, np.nan, 4.0])
    p = np.array([0.01, 0.05, 0.10, 0.10, 0.05, 0.0099, 0.11, 0.001, np.nan])
    with np.errstate(all="raise"):  # NaN z or p: class 0, quietly
        cls = inference.classes(z, p)
    assert cls.tolist() == [3, 2, 1, -1, -2, -3, 0, 0, 0] and cls.dtype == np.int8
    with pytest.raises(SaferhubError, match=r"^unknown multiple-testing correction 'bonferroni' "
                                            r"\(use none, fdr, holm\)$"):
        inference.adjust([0.5], "bonferroni")
    assert inference.class_labels(np.array([3, 0, -2])).tolist() == ["Hot spot 99%", "Not significant",
                                                                     "Cold spot 95%"]
    assert inference.two_sided_p([1.959963984540054])[0] == pytest.approx(0.05, rel=1e-12)
    assert np.isnan(inference.two_sided_p([np.nan])[0])


def test_units_without_events_compute_quietly():
    # 0 before and 0 after: p = 1 by definition, no ratio; the 0/0 inside is handled, never raised
    with np.errstate(all="raise"):
        c = poisson_change([0, 0, 3], [0, 4, 0], length_ratio=2.0, correction="none")
    assert c.p[0] == 1.0 and np.isnan(c.ratio[:2]).all() and c.ratio[2] == 0.0
    assert c.p[1] == pytest.approx(_central_p(0, 4, 2.0)) and c.p[2] == pytest.approx(_central_p(3, 0, 2.0))
