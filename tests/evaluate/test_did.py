"""DiD, event study, control matching and synthetic control on generated panels with known truth."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from saferhub.evaluate import did


def _panel(n=40, m=18, effect=0.7, seed=0):
    rng = np.random.default_rng(seed)
    level = rng.gamma(3, 4, n)
    season = 1 + 0.2 * np.sin(np.arange(m) / 2)
    treated = np.arange(n) < 10
    post = np.arange(m) >= 12
    mu = level[:, None] * season[None, :] * np.where(treated[:, None] & post[None, :], effect, 1.0)
    return rng.poisson(mu).astype(float), treated, post


def test_monthly_did_matches_a_statsmodels_formula_fit():
    y, treated, post = _panel()
    ours = did.did_glm(y, treated, post, family="poisson", collapse=False)
    n, m = y.shape
    df = pd.DataFrame({"y": y.ravel(), "place": np.repeat(np.arange(n), m), "month": np.tile(np.arange(m), n)})
    df["d"] = (np.repeat(treated, m) & np.tile(post, n)).astype(float)
    ref = smf.glm("y ~ C(place) + C(month) + d", df, family=__import__("statsmodels.api").api.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": df["place"]})
    assert ours["rate_ratio"] == pytest.approx(np.exp(ref.params["d"]), rel=1e-6)
    assert ours["p"] == pytest.approx(ref.pvalues["d"], rel=1e-4)


def test_collapsed_poisson_did_is_the_ratio_of_ratios():
    y, treated, post = _panel()
    r = did.did_glm(y, treated, post, family="quasipoisson")
    t, c = y[treated], y[~treated]
    rr = (t[:, post].sum() / t[:, ~post].sum()) / (c[:, post].sum() / c[:, ~post].sum())
    assert r["rate_ratio"] == pytest.approx(rr, rel=1e-6)
    assert r["low"] < 0.7 < r["high"]


def test_event_study_pre_period_is_flat_and_post_shows_the_effect():
    y, treated, post = _panel(n=200, effect=0.5, seed=2)
    es = did.event_study(y, treated, post)
    assert es.loc[es["relative"] == 0, "rate_ratio"].item() == 1.0
    assert es.loc[~es["post"], "rate_ratio"].between(0.8, 1.25).all()
    assert es.loc[es["post"], "rate_ratio"].mean() == pytest.approx(0.5, abs=0.08)


def test_match_pools_prefers_same_level_and_trend_and_respects_eligibility():
    pre = np.array([[10, 10, 10, 10], [1, 1, 1, 1], [10, 11, 9, 10], [2, 4, 8, 16], [10, 10, 10, 10]], float)
    eligible = np.array([False, True, True, True, False])
    pools = did.match_pools(pre, np.array([0]), eligible, per_treated=2)
    assert pools[0, 0] == 2 and 4 not in pools[0]
    strata = np.array([1, 2, 1, 2, 1])
    assert did.match_pools(pre, np.array([0]), eligible, per_treated=1, strata=strata)[0, 0] == 2


def test_synthetic_control_weights_are_a_convex_combination_recovering_the_truth():
    rng = np.random.default_rng(4)
    donors = rng.gamma(5, 5, (8, 24)).cumsum(axis=1)
    truth = np.array([0.6, 0.4] + [0] * 6)
    target = truth @ donors
    target[18:] *= 0.8
    sc = did.synthetic_control(target, donors, n_pre=18)
    assert sc["weights"].sum() == pytest.approx(1) and (sc["weights"] >= 0).all()
    assert sc["weights"][:2] == pytest.approx([0.6, 0.4], abs=0.05)
    assert sc["effect_pct"] == pytest.approx(-20, abs=2)


def test_closed_form_two_period_quasipoisson_equals_the_statsmodels_glm():
    import statsmodels.api as sm

    y, treated, post = _panel(seed=7)
    ours = did.did_glm(y, treated, post, family="quasipoisson")
    tot = np.column_stack([y[:, ~post].sum(axis=1), y[:, post].sum(axis=1)])
    n = len(tot)
    X = did._design(n, 2, (np.repeat(treated, 2) & np.tile([False, True], n)).astype(float)[:, None])
    ref = sm.GLM(tot.ravel(), X, family=sm.families.Poisson()).fit(scale="X2")
    assert np.log(ours["rate_ratio"]) == pytest.approx(ref.params[-1], rel=1e-7)
    assert ours["se"] == pytest.approx(ref.bse[-1], rel=1e-6)
    assert ours["p"] == pytest.approx(ref.pvalues[-1], rel=1e-5)
