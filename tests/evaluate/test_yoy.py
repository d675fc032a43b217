"""Year-on-year statistics: known answers and independent oracles (scipy, statsmodels, brute force)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from saferhub.evaluate import yoy


def test_exact_poisson_interval_for_ten_is_the_published_one():
    lo, hi = yoy.poisson_interval(10)
    assert lo == pytest.approx(4.795, abs=5e-4)
    assert hi == pytest.approx(18.390, abs=5e-4)


def test_zero_count_interval_starts_at_zero():
    lo, hi = yoy.poisson_interval(0)
    assert lo == 0 and hi == pytest.approx(3.689, abs=1e-3)


@pytest.mark.parametrize("k1,k0,t1,t0", [(10, 20, 1, 1), (30, 18, 2, 1), (7, 15, 9, 12)])
def test_unpooled_e_test_matches_scipy(k1, k0, t1, t0):
    ours = yoy.e_test(k1, k0, t1, t0, variance="unpooled")
    oracle = stats.poisson_means_test(k1, t1, k0, t0).pvalue
    assert ours == pytest.approx(oracle, abs=1e-8)


def test_unpooled_e_test_for_larger_counts_against_a_full_double_sum():
    # scipy truncates its sums for counts in the hundreds (0.06755 here); a full double sum is exact.
    k1, k0, t = 120, 150, 9.0
    lam = (k1 + k0) / (2 * t)
    x = np.arange(400.0)
    pmf = stats.poisson.pmf(x, t * lam)
    a, b = x[:, None], x[None, :]
    with np.errstate(all="ignore"):
        piv = np.nan_to_num((a / t - b / t) / np.sqrt(a / t**2 + b / t**2))
    obs = abs((k1 - k0) / t / np.sqrt((k1 + k0) / t**2))
    p = (pmf[:, None] * pmf[None, :] * (np.abs(piv) >= obs * (1 - 1e-12))).sum()
    assert yoy.e_test(k1, k0, t, t) == pytest.approx(p, abs=1e-10)


def test_pooled_e_test_equals_unpooled_for_equal_periods_and_differs_otherwise():
    assert yoy.e_test(30, 18, 1, 1, "pooled") == pytest.approx(yoy.e_test(30, 18, 1, 1, "unpooled"))
    assert abs(yoy.e_test(30, 18, 2, 1, "pooled") - yoy.e_test(30, 18, 2, 1, "unpooled")) > 1e-3


def test_pooled_e_test_against_brute_force_double_sum():
    k1, k0, t1, t0 = 12, 5, 1.5, 1.0
    lam = (k1 + k0) / (t1 + t0)
    def piv(a, b):
        v = (a + b) / (t1 + t0) * (1 / t1 + 1 / t0)
        return 0.0 if v == 0 else (a / t1 - b / t0) / np.sqrt(v)
    obs = abs(piv(k1, k0))
    p = sum(stats.poisson.pmf(a, t1 * lam) * stats.poisson.pmf(b, t0 * lam)
            for a in range(80) for b in range(80) if abs(piv(a, b)) >= obs - 1e-12)
    assert yoy.e_test(k1, k0, t1, t0, "pooled") == pytest.approx(p, abs=1e-9)


def test_c_test_is_the_binomial_test_with_the_exposure_share():
    assert yoy.c_test(7, 15, 9, 12) == pytest.approx(stats.binomtest(7, 22, 9 / 21).pvalue)


def test_rate_ratio_interval_is_clopper_pearson_mapped_to_the_ratio():
    from statsmodels.stats.proportion import proportion_confint

    rr, lo, hi = yoy.rate_ratio(30, 45, 9, 12)
    plo, phi = proportion_confint(30, 75, alpha=0.05, method="beta")
    olo, ohi = plo / (1 - plo) * 12 / 9, phi / (1 - phi) * 12 / 9
    assert rr == pytest.approx((30 / 9) / (45 / 12))
    assert (lo, hi) == pytest.approx((olo, ohi), rel=1e-6)


def test_yoy_table_says_too_few_events_instead_of_an_estimate():
    counts = pd.DataFrame({"area_id": ["A", "B"], "before": [3, 200], "after": [2, 150]})
    table = yoy.yoy_table(counts, 9, 9, min_events=20).set_index("area_id")
    assert table.loc["A", "result"] == yoy.TOO_FEW and np.isnan(table.loc["A"].get("rate_ratio", np.nan))
    assert table.loc["B", "rate_ratio"] == pytest.approx(0.75)
    assert table.loc["All areas", "before"] == 203 and table.loc["All areas", "after"] == 152


def test_harm_ratio_interval_from_squared_weights_brute_force():
    rng = np.random.default_rng(3)
    w0, w1 = rng.gamma(2, 50, 300), rng.gamma(2, 50, 250)
    est, lo, hi = yoy.harm_ratio(w1.sum(), w0.sum(), (w1**2).sum(), (w0**2).sum())
    se = np.sqrt((w1**2).sum() / w1.sum() ** 2 + (w0**2).sum() / w0.sum() ** 2)
    assert est == pytest.approx(w1.sum() / w0.sum())
    assert np.log(hi / est) == pytest.approx(1.959964 * se, rel=1e-5)


def test_referenced_p_is_uniform_under_exchangeability():
    rng = np.random.default_rng(0)
    ps = [yoy.referenced_p(rng.normal(), rng.normal(size=199)) for _ in range(2000)]
    assert np.mean(np.array(ps) < 0.05) == pytest.approx(0.05, abs=0.015)
