"""The DiD minimum detectable effect against an independent root-finder (scipy brentq on the
stated equation), a Monte-Carlo check of overdispersed counts, and power_for against statsmodels'
NormalIndPower."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.power import NormalIndPower

from saferhub.evaluate import power


def mde_by_brentq(tpm, before, after, ratio=3.0, alpha=0.05, pw=0.8, dispersion=1.0, shock_var=0.0):
    """Solve -log(1 - m) = (z_{1-a/2} + z_pw) * sqrt(disp (1/T0 + 1/(T1 (1-m)) + 1/C0 + 1/C1) + shock)."""
    t0, t1 = tpm * before, tpm * after
    c0, c1 = ratio * t0, ratio * t1
    k = stats.norm.isf(alpha / 2) + stats.norm.isf(1 - pw)

    def se(m):
        return np.sqrt(dispersion * (1 / t0 + 1 / (t1 * (1 - m)) + 1 / c0 + 1 / c1) + shock_var)

    f = lambda m: -np.log1p(-m) - k * se(m)  # noqa: E731
    grid = np.arange(1, 100_000) / 100_000    # f < 0 at 0, rises through 0, falls again as m -> 1
    first = np.flatnonzero(f(grid) >= 0)[0]
    m = optimize.brentq(f, grid[first - 1], grid[first], xtol=1e-14)
    return m, se(m)


@pytest.mark.parametrize("kw", [
    dict(tpm=50, before=9, after=9),
    dict(tpm=12.5, before=12, after=6, ratio=2.0),
    dict(tpm=30, before=24, after=12, ratio=5.0, alpha=0.01, pw=0.9),
    dict(tpm=8, before=12, after=12, dispersion=2.5),
    dict(tpm=80, before=12, after=12, shock_var=0.004),
    dict(tpm=20, before=6, after=3, ratio=1.0, alpha=0.1, pw=0.5, dispersion=1.7, shock_var=0.002),
])
def test_mde_equals_the_root_of_its_equation(kw):
    want, se = mde_by_brentq(**kw)
    got = power.minimum_detectable_effect(kw["tpm"], kw["before"], kw["after"], controls_ratio=kw.get("ratio", 3.0),
                                          alpha=kw.get("alpha", 0.05), power=kw.get("pw", 0.8),
                                          dispersion=kw.get("dispersion", 1.0), shock_var=kw.get("shock_var", 0.0))
    assert got["mde"] == pytest.approx(want, abs=1e-8)
    assert got["se_log_rr"] == pytest.approx(se, rel=1e-7)
    assert got["alpha"] == kw.get("alpha", 0.05) and got["power"] == kw.get("pw", 0.8)
    assert got["expected_before"] == kw["tpm"] * kw["before"]
    assert got["expected_after"] == kw["tpm"] * kw["after"]


def test_mde_by_hand_and_with_no_history():
    # 100 a month, 10 + 10 months, 1:1 controls: T0 = T1 = C0 = C1 = 1000, k = 2.801585
    got = power.minimum_detectable_effect(100, 10, 10, controls_ratio=1.0)
    m, k = got["mde"], 1.959963984540054 + 0.8416212335729143
    assert -np.log(1 - m) == pytest.approx(k * np.sqrt(3 / 1000 + 1 / (1000 * (1 - m))), rel=1e-9)
    assert m == pytest.approx(0.1662, abs=5e-4)
    for tpm, before in ((0, 12), (5, 0), (-1, 12)):
        r = power.minimum_detectable_effect(tpm, before, 12)
        assert np.isnan(r["mde"]) and r["se_log_rr"] == np.inf and set(r) == {"mde", "se_log_rr"}


def test_overdispersed_counts_have_the_stated_power_by_simulation():
    # negative-binomial counts with variance 2 x mean; the MDE with dispersion 2 should have 80% power
    # for a Wald test whose variance is scaled by the true dispersion
    r = power.minimum_detectable_effect(40, 6, 6, controls_ratio=2.0, dispersion=2.0)
    rng = np.random.default_rng(7)

    def nb(mean, size):   # variance = 2 mean: n = mean, p = 1/2
        return rng.negative_binomial(mean, 0.5, size)

    n = 6000
    t0, t1 = nb(240, n), nb(240 * (1 - r["mde"]), n)
    c0, c1 = nb(480, n), nb(480, n)
    lrr = np.log(t1 / t0) - np.log(c1 / c0)
    se = np.sqrt(2.0 * (1 / t0 + 1 / t1 + 1 / c0 + 1 / c1))
    assert np.mean(np.abs(lrr / se) > stats.norm.isf(0.025)) == pytest.approx(0.8, abs=0.025)


@pytest.mark.parametrize("effect,se,alpha", [(-0.2, 0.1, 0.05), (0.3, 0.2, 0.05), (-0.05, 0.08, 0.1),
                                             (-0.5, 0.15, 0.01), (0.0, 0.1, 0.05)])
def test_power_for_equals_statsmodels(effect, se, alpha):
    # a z-test of size alpha on an estimate with standardised effect |log(1 + effect)| / se
    want = NormalIndPower().power(effect_size=abs(np.log1p(effect)) / se, nobs1=1, alpha=alpha, ratio=0)
    assert power.power_for(effect, se, alpha=alpha) == pytest.approx(want, rel=1e-10)


def test_power_for_at_the_mde_is_the_stated_power():
    r = power.minimum_detectable_effect(25, 12, 12, alpha=0.1, power=0.9)
    got = power.power_for(-r["mde"], r["se_log_rr"], alpha=0.1)
    # 0.9 from the near tail plus the far tail's sliver
    far = stats.norm.cdf(-stats.norm.isf(0.05) - (stats.norm.isf(0.05) + stats.norm.isf(0.1)))
    assert got == pytest.approx(0.9 + far, abs=1e-7)
    assert power.power_for(0.0, 0.1) == pytest.approx(0.05, abs=1e-12)


@pytest.mark.parametrize("tpm,before,after", [(20 / 3, 3, 1), (2, 6, 6), (0.5, 3, 3)])
def test_too_few_events_for_any_detectable_fall_is_one_not_a_crash(tpm, before, after):
    # 20 events over 3 months before and 1 month after (the service's smallest run): the variance
    # term 1/(T1 (1 - m)) outgrows -log(1 - m), so the equation has no root (checked on a grid here).
    # This raised ZeroDivisionError before.
    k = stats.norm.isf(0.025) + stats.norm.isf(0.2)
    m = np.arange(1, 100_000) / 100_000
    t0, t1 = tpm * before, tpm * after
    assert (-np.log1p(-m) < k * np.sqrt(1 / t0 + 1 / (t1 * (1 - m)) + 1 / (3 * t0) + 1 / (3 * t1))).all()
    r = power.minimum_detectable_effect(tpm, before, after)
    assert r["mde"] == 1.0 and r["se_log_rr"] == np.inf
    assert (r["expected_before"], r["expected_after"]) == (t0, t1)


def test_few_events_but_a_root_gives_the_first_root():
    # near a 86% fall the fixed-point iteration converges slowly: its 50 steps get within 1e-6
    want, _ = mde_by_brentq(3, 6, 6)
    assert power.minimum_detectable_effect(3, 6, 6)["mde"] == pytest.approx(want, abs=1e-6)


def test_one_expected_event_is_too_few_not_missing():
    # T0 = 1 is history (not "none"): the answer is "no detectable fall", with the design's settings
    r = power.minimum_detectable_effect(0.5, 2, 2, alpha=0.1, power=0.9)
    assert r["mde"] == pytest.approx(1.0, abs=1e-9) and (r["alpha"], r["power"]) == (0.1, 0.9)
    assert (r["expected_before"], r["expected_after"]) == (1.0, 1.0)
    r = power.minimum_detectable_effect(20 / 3, 3, 1)
    assert (r["alpha"], r["power"]) == (0.05, 0.8)
