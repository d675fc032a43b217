"""Survey estimates against hand-computed values and independent implementations (statsmodels'
beta interval; a statsmodels GLM with a robust sandwich for the logit interval)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from saferhub.community import survey as S


def test_hand_computed_small_case():
    y = np.array([1, 0, 1, 1])
    w = np.array([1.0, 2.0, 1.0, 4.0])
    p, var = S.weighted_proportion(y, w)
    assert p == pytest.approx(6 / 8)
    # n/(n-1) * sum w^2 (y-p)^2 / (sum w)^2 = 4/3 * (1*.0625 + 4*.5625 + 1*.0625 + 16*.0625) / 64
    assert var == pytest.approx(4 / 3 * (0.0625 + 2.25 + 0.0625 + 1.0) / 64)
    assert S.kish_n_eff(w) == pytest.approx(64 / 22)
    e = S.interval(y, w, "beta")
    ne = 64 / 22
    assert e.low == pytest.approx(stats.beta.ppf(0.025, ne * 0.75, ne * 0.25 + 1))
    assert e.high == pytest.approx(stats.beta.ppf(0.975, ne * 0.75 + 1, ne * 0.25))
    lg = S.interval(y, w, "logit")
    se = np.sqrt(var) / (0.75 * 0.25)
    assert lg.low == pytest.approx(1 / (1 + np.exp(-(np.log(3) - 1.959963985 * se))))


def test_unweighted_beta_is_clopper_pearson():
    from statsmodels.stats.proportion import proportion_confint

    y = np.r_[np.ones(37), np.zeros(63)]
    e = S.interval(y, None, "beta")
    lo, hi = proportion_confint(37, 100, alpha=0.05, method="beta")
    assert (e.low, e.high) == (pytest.approx(lo), pytest.approx(hi))
    assert e.n == 100 and e.n_eff == pytest.approx(100)


def test_weighted_beta_matches_statsmodels_with_kish_n_eff():
    from statsmodels.stats.proportion import proportion_confint

    rng = np.random.default_rng(4)
    y = rng.random(400) < 0.62
    w = rng.lognormal(0, 0.6, 400)
    e = S.interval(y, w, "beta")
    ne = w.sum() ** 2 / (w ** 2).sum()
    lo, hi = proportion_confint(ne * e.p, ne, alpha=0.05, method="beta")
    assert (e.low, e.high) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))
    assert e.n_eff < 400


def test_logit_interval_matches_a_robust_glm():
    """svyciprop(method="logit") is an intercept-only quasi-binomial svyglm: statsmodels' GLM with the
    weights and an HC1 sandwich gives the same standard error on the logit scale."""
    import statsmodels.api as sm

    rng = np.random.default_rng(9)
    y = (rng.random(300) < 0.3).astype(float)
    w = rng.uniform(0.5, 3, 300)
    e = S.interval(y, w, "logit")
    fit = sm.GLM(y, np.ones((300, 1)), family=sm.families.Binomial(), var_weights=w).fit(cov_type="HC0")
    # statsmodels' GLM sandwich has no small-sample factor; survey's has n/(n-1)
    se = fit.bse[0] * np.sqrt(300 / 299)
    lo, hi = fit.params[0] - stats.norm.ppf(0.975) * se, fit.params[0] + stats.norm.ppf(0.975) * se
    assert e.low == pytest.approx(1 / (1 + np.exp(-lo)), rel=1e-6)
    assert e.high == pytest.approx(1 / (1 + np.exp(-hi)), rel=1e-6)


def test_change_flagged_only_when_significant():
    a = S.interval(np.r_[np.ones(500), np.zeros(500)])          # 50%
    b = S.interval(np.r_[np.ones(600), np.zeros(400)])          # 60%
    c = S.interval(np.r_[np.ones(520), np.zeros(480)])          # 52%
    up = S.change(a, b)
    assert up["result"] == "up" and up["diff_pts"] == pytest.approx(10)
    z = 0.1 / np.sqrt(0.25 / 999 + 0.24 / 999)
    assert up["p"] == pytest.approx(2 * stats.norm.sf(z))
    assert S.change(a, c)["result"] == "no clear change"
    assert S.change(b, a)["result"] == "down"


def test_small_bases_are_withheld_but_shown():
    import pandas as pd

    df = pd.DataFrame({"area": ["A"] * 60 + ["B"] * 12, "q": [1, 0] * 36, "weight": 1.0})
    rows = S.estimate_table(df, ["q"], by="area", min_base=50)
    assert rows[0]["area"] == "A" and rows[0]["withheld"] is False and rows[0]["p"] == pytest.approx(0.5)
    assert rows[1] == {"area": "B", "question": "q", "n": 12, "withheld": True}
