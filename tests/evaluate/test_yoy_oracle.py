"""Oracle tests for yoy.py's edges and every output column: scipy/statsmodels and hand computation
(written after mutation testing showed which branches and columns no test read)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from saferhub.evaluate import yoy


def test_poisson_interval_for_one_event():
    lo, hi = yoy.poisson_interval(1)
    assert lo == pytest.approx(stats.chi2.ppf(0.025, 2) / 2) and lo == pytest.approx(0.02532, abs=1e-5)
    assert hi == pytest.approx(stats.chi2.ppf(0.975, 4) / 2) and hi == pytest.approx(5.5716, abs=1e-4)
    lo, hi = yoy.poisson_interval(np.array([0, 1, 10]))
    assert lo[0] == 0 and lo[2] == pytest.approx(4.795, abs=1e-3) and hi[0] == pytest.approx(3.6889, abs=1e-4)


def _to_rr(p, t1=1.0, t0=1.0):
    return p / (1 - p) * t0 / t1


def test_rate_ratio_edges_by_hand():
    assert all(np.isnan(v) for v in yoy.rate_ratio(0, 0))
    assert yoy.rate_ratio(3, 3) == pytest.approx((1.0, _to_rr(stats.beta.ppf(0.025, 3, 4)), _to_rr(stats.beta.ppf(0.975, 4, 3))))
    est, lo, hi = yoy.rate_ratio(5, 0)  # nothing before: unbounded above
    assert est == np.inf and hi == np.inf and lo == pytest.approx(_to_rr(stats.beta.ppf(0.025, 5, 1)))
    est, lo, hi = yoy.rate_ratio(0, 5)  # nothing after: bounded below by zero
    assert est == 0 and lo == 0 and hi == pytest.approx(_to_rr(stats.beta.ppf(0.975, 1, 5)))
    est, lo, hi = yoy.rate_ratio(1, 5, 2.0, 4.0)
    assert est == pytest.approx((1 / 2) / (5 / 4)) and lo == pytest.approx(_to_rr(stats.beta.ppf(0.025, 1, 6), 2, 4))
    est, lo, hi = yoy.rate_ratio(5, 1)
    assert est == pytest.approx(5.0) and hi == pytest.approx(_to_rr(stats.beta.ppf(0.975, 6, 1)))
    _, lo90, hi90 = yoy.rate_ratio(30, 45, conf=0.90)
    assert lo90 == pytest.approx(_to_rr(stats.beta.ppf(0.05, 30, 46)))


def test_c_and_e_tests_with_no_events_or_no_change_are_exactly_one():
    assert yoy.c_test(0, 0) == 1.0 and yoy.e_test(0, 0) == 1.0
    assert yoy.e_test(3, 3) == 1.0 and yoy.e_test(40, 40, 9, 9, "pooled") == 1.0
    with pytest.raises(ValueError, match="^variance must be 'unpooled' or 'pooled'$"):
        yoy.e_test(3, 4, variance="robust")


@pytest.mark.parametrize("k1,k0,t1,t0", [(6, 6, 1.0, 2.0), (1, 0, 1.0, 1.0)])
def test_e_test_small_cases_against_brute_force(k1, k0, t1, t0):
    # 6 and 6 events over 1 and 2 periods (rates differ); a single event (the smallest non-empty case)
    lam = (k1 + k0) / (t1 + t0)

    def piv(a, b):
        v = a / t1**2 + b / t0**2
        return 0.0 if v == 0 else (a / t1 - b / t0) / np.sqrt(v)

    obs = abs(piv(k1, k0))
    p = sum(stats.poisson.pmf(a, t1 * lam) * stats.poisson.pmf(b, t0 * lam)
            for a in range(60) for b in range(80) if abs(piv(a, b)) >= obs - 1e-12)
    assert yoy.e_test(k1, k0, t1, t0) == pytest.approx(p, abs=1e-9) and p < 0.99


def test_harm_ratio_by_hand():
    assert all(np.isnan(v) for v in yoy.harm_ratio(0.0, 10.0, 0.0, 50.0))
    assert all(np.isnan(v) for v in yoy.harm_ratio(10.0, 0.0, 50.0, 0.0))
    est, lo, hi = yoy.harm_ratio(0.5, 2.0, 0.25, 4.0)  # small but positive harm is an estimate
    assert est == pytest.approx(0.25)
    assert yoy.harm_ratio(2.0, 0.5, 4.0, 0.25)[0] == pytest.approx(4.0)
    est, lo, hi = yoy.harm_ratio(30.0, 80.0, 200.0, 900.0, t1=3.0, t0=4.0, conf=0.90)
    se = np.sqrt(200 / 30**2 + 900 / 80**2)
    z = stats.norm.ppf(0.95)
    assert est == pytest.approx((30 / 3) / (80 / 4))
    assert lo == pytest.approx(est * np.exp(-z * se)) and hi == pytest.approx(est * np.exp(z * se))


@pytest.mark.parametrize("obs,expected", [(2.5, 1.0), (0.0, 0.4), (1.0, 0.8), (4.0, 0.8), (5.0, 0.4)])
def test_referenced_p_by_hand(obs, expected):
    # ranks among [1, 2, 3, 4]: lower = (1 + #ref <= obs) / 5, upper = (1 + #ref >= obs) / 5, p = 2 min, capped at 1
    assert yoy.referenced_p(obs, [1.0, 2.0, 3.0, 4.0]) == pytest.approx(expected)


def test_referenced_p_edges():
    assert np.isnan(yoy.referenced_p(np.nan, [1.0, 2.0])) and np.isnan(yoy.referenced_p(1.0, []))
    assert yoy.referenced_p(5.0, [1.0]) == pytest.approx(1.0)  # one reference set: (1+0)/2 each side -> 1
    assert yoy.referenced_p(0.0, [1.0, np.nan, 2.0, np.inf]) == pytest.approx(2 / 3)  # non-finite dropped


def test_yoy_table_every_column_against_the_functions_oracles():
    counts = pd.DataFrame({"area_id": ["A", "B", "C"], "before": [200, 12, 10], "after": [120, 8, 9],
                           "harm_before": [900.0, 40.0, 30.0], "harm_after": [600.0, 20.0, 30.0],
                           "harm_sq_before": [9000.0, 300.0, 200.0], "harm_sq_after": [7000.0, 100.0, 200.0]})
    table = yoy.yoy_table(counts, t_before=12, t_after=9, conf=0.9, min_events=20, variance="pooled").set_index("area_id")
    a = table.loc["A"]
    rr = (120 / 9) / (200 / 12)
    p = stats.beta.ppf([0.05, 0.95], [120, 121], [201, 200])
    assert a["rate_ratio"] == pytest.approx(rr) and a["change_pct"] == pytest.approx(100 * (rr - 1))
    assert (a["rr_low"], a["rr_high"]) == pytest.approx((_to_rr(p[0], 9, 12), _to_rr(p[1], 9, 12)))
    assert a["p_c_test"] == pytest.approx(stats.binomtest(120, 320, 9 / 21).pvalue)
    assert a["p_e_test"] == pytest.approx(yoy.e_test(120, 200, 9, 12, "pooled"))
    assert a["p_e_test"] != pytest.approx(yoy.e_test(120, 200, 9, 12, "unpooled"), abs=1e-6)
    assert a["result"] == "estimated" and a["before"] == 200 and a["after"] == 120
    se = np.sqrt(7000 / 600**2 + 9000 / 900**2)
    h = (600 / 9) / (900 / 12)
    assert a["harm_before"] == 900 and a["harm_after"] == 600 and a["harm_ratio"] == pytest.approx(h)
    assert a["harm_low"] == pytest.approx(h * np.exp(-stats.norm.ppf(0.95) * se))
    assert a["harm_high"] == pytest.approx(h * np.exp(stats.norm.ppf(0.95) * se))
    # exactly the minimum is enough; one fewer is "too few events to tell"
    assert table.loc["B", "result"] == "estimated" and table.loc["C", "result"] == yoy.TOO_FEW
    assert table.loc["All areas", "before"] == 222 and table.loc["All areas", "harm_before"] == 970
