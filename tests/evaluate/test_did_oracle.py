"""DiD against statsmodels formula fits written here (Poisson, quasi-Poisson and negative binomial
GLMs with place and period effects, cluster-robust by place), matching against brute-force
nearest neighbours, level and trend against numpy's polyfit, and synthetic-control weights against
scipy's NNLS with the sum-to-one row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import optimize, stats

from saferhub.evaluate import did


def _panel(n=24, m=10, effect=0.7, seed=0, start=6, overdispersed=False):
    rng = np.random.default_rng(seed)
    level = rng.gamma(3, 3, n)
    treated = np.arange(n) < n // 3
    post = np.arange(m) >= start
    mu = level[:, None] * (1 + 0.15 * np.cos(np.arange(m)))[None, :]
    mu = mu * np.where(treated[:, None] & post[None, :], effect, 1.0)
    if overdispersed:
        mu = mu * rng.gamma(2.0, 0.5, mu.shape)
    return rng.poisson(mu).astype(float), treated, post


def _long(y, treated, post):
    n, m = y.shape
    df = pd.DataFrame({"y": y.ravel(), "place": np.repeat(np.arange(n), m), "month": np.tile(np.arange(m), n)})
    df["d"] = (np.repeat(treated, m) & np.tile(post, n)).astype(float)
    return df


def _collapsed(y, treated, post):
    tot = np.column_stack([y[:, ~post].sum(axis=1), y[:, post].sum(axis=1)])
    return _long(tot, treated, np.array([False, True])).rename(columns={"month": "period"})


def _check(ours, ref, conf=0.95):
    b, se = ref.params["d"], ref.bse["d"]
    z = stats.norm.isf((1 - conf) / 2)
    assert ours["rate_ratio"] == pytest.approx(np.exp(b), rel=1e-6)
    assert ours["se"] == pytest.approx(se, rel=1e-5)
    assert ours["low"] == pytest.approx(np.exp(b - z * se), rel=1e-5)
    assert ours["high"] == pytest.approx(np.exp(b + z * se), rel=1e-5)
    assert ours["p"] == pytest.approx(ref.pvalues["d"], rel=1e-4, abs=1e-12)


@pytest.mark.parametrize("conf", [0.95, 0.8])
def test_collapsed_poisson_equals_statsmodels_with_period_effects(conf):
    y, treated, post = _panel(overdispersed=True)
    df = _collapsed(y, treated, post)
    ref = smf.glm("y ~ C(place) + C(period) + d", df, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": df["place"]})
    ours = did.did_glm(y, treated, post, family="poisson", conf=conf)
    _check(ours, ref, conf)
    assert (ours["places"], ours["treated_places"], ours["months"], ours["family"]) == (24, 8, 2, "poisson")


@pytest.mark.parametrize("conf", [0.95, 0.9])
def test_collapsed_quasipoisson_equals_statsmodels_pearson_scale(conf):
    y, treated, post = _panel(overdispersed=True, seed=3)
    df = _collapsed(y, treated, post)
    ref = smf.glm("y ~ C(place) + C(period) + d", df, family=sm.families.Poisson()).fit(scale="X2")
    ours = did.did_glm(y, treated, post, family="quasipoisson", conf=conf)
    _check(ours, ref, conf)
    assert ours["log_rr"] == pytest.approx(ref.params["d"], rel=1e-7)
    # "months": the columns the model saw (two periods once collapsed), as for the Poisson fit
    assert (ours["places"], ours["treated_places"], ours["months"], ours["family"]) == (24, 8, 2, "quasipoisson")


def test_monthly_quasipoisson_and_poisson_equal_statsmodels():
    y, treated, post = _panel(n=12, m=8, seed=5, start=5, overdispersed=True)
    df = _long(y, treated, post)
    ref = smf.glm("y ~ C(place) + C(month) + d", df, family=sm.families.Poisson()).fit(scale="X2")
    ours = did.did_glm(y, treated, post, family="quasipoisson", collapse=False)
    _check(ours, ref)
    assert ours["months"] == 8 and ours["places"] == 12


def test_negative_binomial_equals_statsmodels_with_the_moment_alpha():
    y, treated, post = _panel(n=18, m=6, seed=9, start=3, overdispersed=True)
    df = _long(y, treated, post)
    pois = smf.glm("y ~ C(place) + C(month) + d", df, family=sm.families.Poisson()).fit()
    mu = pois.fittedvalues.to_numpy()
    # alpha from Var = mu + alpha mu^2 by moments: sum((y - mu)^2 - mu) / sum(mu^2)
    alpha = ((df["y"].to_numpy() - mu) ** 2 - mu).sum() / (mu**2).sum()
    assert alpha > 0.05
    ref = smf.glm("y ~ C(place) + C(month) + d", df, family=sm.families.NegativeBinomial(alpha=alpha)).fit(
        cov_type="cluster", cov_kwds={"groups": df["place"]})
    ours = did.did_glm(y, treated, post, family="negbin", collapse=False)
    _check(ours, ref)
    assert ours["family"] == "negbin"
    # equidispersed counts: the moment estimate would be negative, the floor 1e-6 keeps it Poisson
    _, t2, p2 = _panel(n=30, m=6, seed=1, start=3)
    r = did.did_glm(np.full((30, 6), 7.0), t2, p2, family="negbin", collapse=False)
    assert r["rate_ratio"] == pytest.approx(1.0, abs=1e-6) and r["se"] < 1e-3


def test_all_zero_places_are_dropped_and_one_group_gives_nan():
    y, treated, post = _panel(seed=2)
    base = did.did_glm(y, treated, post, family="poisson")
    y0 = np.vstack([y, np.zeros((2, y.shape[1]))])
    t0 = np.r_[treated, True, False]
    again = did.did_glm(y0, t0, post, family="poisson")
    assert again["rate_ratio"] == pytest.approx(base["rate_ratio"], rel=1e-9)
    assert again["se"] == pytest.approx(base["se"], rel=1e-9) and again["places"] == base["places"] == 24
    for t in (np.ones(24, bool), np.zeros(24, bool)):
        r = did.did_glm(y, t, post)
        assert np.isnan([r["rate_ratio"], r["low"], r["high"], r["p"]]).all() and r["family"] == "poisson"
    # treated places all zero after dropping: also NaN
    r = did.did_glm(np.vstack([np.zeros((1, y.shape[1])), y[~treated]]), np.r_[True, np.zeros((~treated).sum(), bool)],
                    post)
    assert np.isnan(r["rate_ratio"])


def test_quasipoisson_needs_a_count_in_every_cell_and_three_places():
    y, treated, post = _panel(seed=4)
    y2 = y.copy()
    y2[treated][:, post] = 0
    y2[np.ix_(treated, post)] = 0.0            # no treated events after: log RR undefined
    r = did.did_glm(y2, treated, post, family="quasipoisson")
    assert np.isnan([r["rate_ratio"], r["low"], r["high"], r["p"]]).all()
    r = did.did_glm(y[[0, 20]], np.array([True, False]), post, family="quasipoisson")   # 2 places: no df
    assert np.isnan(r["rate_ratio"])
    r = did.did_glm(y[[0, 1, 20]], np.array([True, True, False]), post, family="quasipoisson")
    t = y[[0, 1]]
    c = y[[20]]
    assert r["rate_ratio"] == pytest.approx((t[:, post].sum() / t[:, ~post].sum()) / (c[:, post].sum() / c[:, ~post].sum()))


def test_event_study_equals_statsmodels_interactions():
    y, treated, post = _panel(n=15, m=7, seed=6, start=4, overdispersed=True)
    df = _long(y, treated, post)
    ref_month = 3                                           # the last month before the start
    names = []
    for j in range(7):
        if j != ref_month:
            df[f"e{j}"] = (np.repeat(treated, 7) & (df["month"] == j)).astype(float)
            names.append(f"e{j}")
    ref = smf.glm("y ~ C(place) + C(month) + " + " + ".join(names), df, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": df["place"]})
    labels = [f"2020-{k:02d}" for k in range(1, 8)]
    es = did.event_study(y, treated, post, month_labels=labels, conf=0.9)
    assert list(es["relative"]) == [-3, -2, -1, 0, 1, 2, 3]
    assert list(es["month"]) == labels
    assert list(es["post"]) == [False] * 4 + [True] * 3
    z = stats.norm.isf(0.05)
    for r in es.itertuples():
        if r.relative == 0:
            assert (r.rate_ratio, r.low, r.high) == (1.0, 1.0, 1.0)
            continue
        b, se = ref.params[f"e{r.relative + 3}"], ref.bse[f"e{r.relative + 3}"]
        assert r.rate_ratio == pytest.approx(np.exp(b), rel=1e-5)
        assert r.low == pytest.approx(np.exp(b - z * se), rel=1e-4)
        assert r.high == pytest.approx(np.exp(b + z * se), rel=1e-4)
    # without labels the months are numbered; an all-zero place changes nothing
    es2 = did.event_study(np.vstack([y, np.zeros(7)]), np.r_[treated, False], post, conf=0.9)
    assert list(es2["month"]) == list(range(7))
    np.testing.assert_allclose(es2["rate_ratio"], es["rate_ratio"], rtol=1e-9)


def test_level_and_trend_equal_polyfit():
    rng = np.random.default_rng(1)
    pre = rng.poisson(rng.gamma(2, 5, (6, 1)), (6, 9)).astype(float)
    lt = did.level_and_trend(pre)
    assert lt.shape == (6, 2)
    for i in range(6):
        assert lt[i, 0] == pytest.approx(np.log1p(pre[i].mean()))
        assert lt[i, 1] == pytest.approx(np.polyfit(np.arange(9), np.log1p(pre[i]), 1)[0], rel=1e-9, abs=1e-12)
    assert did.level_and_trend(np.array([[3.0], [5.0]]))[:, 1].tolist() == [0.0, 0.0]    # one month: no slope


def _standardised(pre, eligible):
    f = np.column_stack([np.log1p(pre.mean(axis=1)),
                         [np.polyfit(np.arange(pre.shape[1]), np.log1p(r), 1)[0] for r in pre]])
    sd = f[eligible].std(axis=0)
    return f / np.where(sd > 0, sd, 1.0)


def test_match_pools_equal_a_greedy_brute_force():
    rng = np.random.default_rng(8)
    pre = rng.poisson(rng.gamma(2, 6, (40, 1)) * np.linspace(0.7, 1.3, 8)[None, :] ** rng.normal(0, 1, (40, 1)))
    pre = pre.astype(float)
    treated = np.array([3, 17, 25, 30])
    eligible = np.ones(40, bool)
    eligible[[5, 6, 7]] = False                          # inside a buffer
    strata = rng.integers(0, 3, 40)
    f = _standardised(pre, eligible)
    for st in (None, strata):
        free = eligible.copy()
        free[treated] = False
        want = {}
        for i in sorted(treated, key=lambda i: -f[i, 0]):      # busiest first
            cand = [j for j in range(40) if free[j]]
            same = [j for j in cand if st is not None and st[j] == st[i]]
            if st is not None and len(same) >= 3:
                cand = same
            pick = sorted(cand, key=lambda j: ((f[j] - f[i]) ** 2).sum())[:3]
            want[i] = pick
            free[pick] = False
        got = did.match_pools(pre, treated, eligible, per_treated=3, strata=st)
        assert got.shape == (4, 3)
        for row, i in enumerate(treated):
            assert got[row].tolist() == want[i]
        ctl = did.choose_controls(pre, treated, eligible, per_treated=3, strata=st)
        assert sorted(ctl.tolist()) == sorted(j for v in want.values() for j in v)


def test_match_pools_run_out_and_small_strata_fall_back():
    pre = np.array([[5, 5, 5], [5, 6, 5], [1, 1, 1], [9, 9, 9], [5, 5, 6]], float)
    eligible = np.array([False, True, True, True, True])
    out = did.match_pools(pre, np.array([0]), eligible, per_treated=6)
    assert out.shape == (1, 6) and sorted(out[0, :4].tolist()) == [1, 2, 3, 4] and out[0, 4:].tolist() == [-1, -1]
    assert did.choose_controls(pre, np.array([0]), eligible, per_treated=6).size == 4
    # treated place 0's stratum holds only place 2 (too few for 2 picks): the whole pool is used
    strata = np.array([1, 0, 1, 0, 0])
    whole = did.match_pools(pre, np.array([0]), eligible, per_treated=2)
    assert 2 not in whole[0]
    assert did.match_pools(pre, np.array([0]), eligible, per_treated=2, strata=strata).tolist() == whole.tolist()
    # with exactly enough places in the stratum it is used
    strata = np.array([1, 0, 1, 1, 0])
    assert sorted(did.match_pools(pre, np.array([0]), eligible, per_treated=2, strata=strata)[0].tolist()) == [2, 3]


def test_nearest_pools_equal_brute_force_with_replacement():
    rng = np.random.default_rng(2)
    pre = rng.poisson(rng.gamma(2, 6, (30, 1)), (30, 6)).astype(float) + np.arange(6)[None, :] * rng.integers(0, 3, (30, 1))
    eligible = np.r_[np.zeros(5, bool), np.ones(25, bool)]
    f = _standardised(pre, eligible)
    targets = np.array([0, 1, 2])
    got = did.nearest_pools(pre, targets, eligible, k=4)
    for row, i in enumerate(targets):
        d = ((f[5:] - f[i]) ** 2).sum(axis=1)
        assert sorted(got[row].tolist()) == sorted((np.argsort(d)[:4] + 5).tolist())
    assert got.shape == (3, 4)
    assert did.nearest_pools(pre, np.array([], int), eligible).shape == (0, 0)
    assert did.nearest_pools(pre, targets, np.zeros(30, bool)).shape == (3, 0)
    assert did.nearest_pools(pre, targets, eligible & (np.arange(30) < 7), k=10).shape == (3, 2)   # k > pool


def test_synthetic_weights_equal_nnls_on_the_simplex():
    rng = np.random.default_rng(3)
    donors = rng.gamma(4, 10, (6, 15))
    target = 0.5 * donors[1] + 0.3 * donors[4] + 0.2 * donors[5] + rng.normal(0, 4, 15)
    w = did.synthetic_weights(target, donors)
    big = 1e4   # the sum-to-one row, heavily weighted; NNLS keeps the weights non-negative
    ref, _ = optimize.nnls(np.vstack([donors.T, np.full(6, big)]), np.r_[target, big])
    assert w.sum() == pytest.approx(1.0, abs=1e-12) and (w >= 0).all()
    np.testing.assert_allclose(w, ref, atol=2e-3)
    loss = lambda v: ((target - v @ donors) ** 2).sum()  # noqa: E731
    assert loss(w) <= loss(ref) * (1 + 1e-6)


def test_synthetic_control_effect_and_placebo_p_by_hand():
    rng = np.random.default_rng(6)
    donors = rng.gamma(5, 6, (5, 12)) + 20
    target = 0.5 * donors[0] + 0.5 * donors[3]
    target[8:] -= 10.0                                     # a fall of exactly 10 a month after month 8
    sc = did.synthetic_control(target, donors, n_pre=8)
    assert sc["weights"] == pytest.approx([0.5, 0, 0, 0.5, 0], abs=1e-4)
    synth = sc["weights"] @ donors
    np.testing.assert_allclose(sc["synthetic"], synth)
    assert sc["effect"] == pytest.approx(-40.0, abs=0.05)
    assert sc["effect_pct"] == pytest.approx(100 * -40.0 / synth[8:].sum(), rel=1e-3)
    # the target is fitted almost exactly before: its RMSPE ratio beats every placebo's, p = 1/6
    assert sc["p"] == pytest.approx(1 / 6)
    pre = np.sqrt(np.mean((target[:8] - synth[:8]) ** 2))
    post = np.sqrt(np.mean((target[8:] - synth[8:]) ** 2))
    assert sc["rmspe_ratio"] == pytest.approx(post / max(pre, 1e-9), rel=1e-3)
    # no effect and a target in the middle of the donors: the placebo p is far from significant
    flat = did.synthetic_control(donors[:3].mean(axis=0), donors, n_pre=8)
    assert flat["p"] > 0.3
    n_ge = sum(did.synthetic_control(donors[i], np.delete(donors, i, 0), 8)["rmspe_ratio"] >= flat["rmspe_ratio"]
               for i in range(5))
    assert flat["p"] == pytest.approx((1 + n_ge) / 6)


def test_two_month_slope_is_the_log_difference():
    lt = did.level_and_trend(np.array([[3.0, 8.0]]))
    assert lt[0, 1] == pytest.approx(np.log(9) - np.log(4))


def test_pools_are_integers_and_the_defaults_are_3_and_10():
    rng = np.random.default_rng(4)
    pre = rng.poisson(rng.gamma(2, 6, (30, 1)), (30, 6)).astype(float)
    eligible = np.r_[np.zeros(2, bool), np.ones(28, bool)]
    pools = did.match_pools(pre, np.array([0, 1]), eligible)
    assert pools.shape == (2, 3) and pools.dtype.kind == "i"
    assert did.choose_controls(pre, np.array([0, 1]), eligible).size == 6
    near = did.nearest_pools(pre, np.array([0, 1]), eligible)
    assert near.shape == (2, 10) and near.dtype.kind == "i"
    assert did.nearest_pools(pre, np.array([0]), np.zeros(30, bool)).dtype.kind == "i"


def test_matching_when_every_eligible_place_is_flat():
    # the eligible places have no trend (slope sd 0: left unscaled), so the level decides
    pre = np.array([[4, 6, 8, 10], [1, 1, 1, 1], [7, 7, 7, 7], [30, 30, 30, 30], [6, 6, 6, 6]], float)
    eligible = np.array([False, True, True, True, True])
    assert sorted(did.match_pools(pre, np.array([0]), eligible, per_treated=2)[0].tolist()) == [2, 4]
    assert sorted(did.nearest_pools(pre, np.array([0]), eligible, k=2)[0].tolist()) == [2, 4]


def test_a_place_with_one_event_is_kept():
    y, treated, post = _panel(n=12, m=6, seed=11, start=3)
    y = np.vstack([y, [0, 0, 1, 0, 0, 0]])
    treated = np.r_[treated, False]
    df = _long(y, treated, post)
    ref = smf.glm("y ~ C(place) + C(month) + d", df, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": df["place"]})
    ours = did.did_glm(y, treated, post, collapse=False)
    _check(ours, ref)
    assert ours["places"] == 13 and ours["log_rr"] == pytest.approx(ref.params["d"], rel=1e-6)
    es = did.event_study(y, treated, post)
    assert list(es.columns) == ["month", "relative", "rate_ratio", "low", "high", "post"]
    e = df.copy()
    for j in (0, 1, 3, 4, 5):
        e[f"e{j}"] = (np.repeat(treated, 6) & (e["month"] == j)).astype(float)
    ref = smf.glm("y ~ C(place) + C(month) + e0 + e1 + e3 + e4 + e5", e, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": e["place"]})
    z = stats.norm.isf(0.025)                                   # the default 95%
    r = es.set_index("relative").loc[1]
    assert r["rate_ratio"] == pytest.approx(np.exp(ref.params["e3"]), rel=1e-5)
    assert r["high"] == pytest.approx(np.exp(ref.params["e3"] + z * ref.bse["e3"]), rel=1e-4)


@pytest.mark.parametrize("cell", ["t0", "t1", "c0", "c1"])
def test_quasipoisson_undefined_when_any_group_period_is_empty(cell):
    y, treated, post = _panel(seed=4)
    rows = treated if cell[0] == "t" else ~treated
    cols = ~post if cell[1] == "0" else post
    y = y.copy()
    y[np.ix_(rows, cols)] = 0.0
    r = did.did_glm(y, treated, post, family="quasipoisson")
    assert np.isnan([r["rate_ratio"], r["low"], r["high"], r["p"]]).all()


def test_quasipoisson_with_a_single_event_in_a_cell_is_estimated():
    y, treated, post = _panel(seed=4)
    y = y.copy()
    y[np.ix_(treated, post)] = 0.0
    y[0, -1] = 1.0                                            # the treated places' one event after
    r = did.did_glm(y, treated, post, family="quasipoisson")
    df = _collapsed(y, treated, post)
    ref = smf.glm("y ~ C(place) + C(period) + d", df, family=sm.families.Poisson()).fit(scale="X2")
    assert r["rate_ratio"] == pytest.approx(np.exp(ref.params["d"]), rel=1e-6)
