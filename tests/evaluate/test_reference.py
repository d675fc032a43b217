"""Matched-set randomisation tests (reference.py): hand-computed values, a brute-force matcher, and
exactness on simulated exchangeable places (where the test must call ~5% of nulls significant)."""

import numpy as np
import pytest

from saferhub.evaluate import did, reference, yoy


def test_groups_hold_the_treated_place_then_its_nearest_eligible_places():
    rng = np.random.default_rng(0)
    pre = rng.poisson(rng.gamma(2.0, 3.0, 300)[:, None], (300, 12)).astype(float)
    treated = np.array([5, 17])
    eligible = np.ones(300, bool)
    eligible[treated] = False
    eligible[40:60] = False
    groups = reference.matched_groups(pre, treated, eligible, k=4)
    feats = did.level_and_trend(pre)
    feats = feats / feats[eligible].std(axis=0)
    for row, i in enumerate(treated):
        assert groups[row, 0] == i
        dist = ((feats - feats[i]) ** 2).sum(axis=1)
        dist[~eligible] = np.inf
        assert set(groups[row, 1:]) == set(np.argsort(dist)[:4])  # brute force


def test_groups_stay_in_the_stratum_when_it_has_enough_places():
    pre = np.tile(np.arange(1.0, 201.0)[:, None], (1, 6))
    strata = np.r_[np.zeros(100, int), np.ones(100, int)]
    eligible = np.ones(200, bool)
    eligible[[99, 100]] = False
    groups = reference.matched_groups(pre, np.array([99, 100]), eligible, k=3, strata=strata)
    assert set(groups[0, 1:]) == {96, 97, 98} and set(groups[1, 1:]) == {101, 102, 103}


def test_draw_sets_takes_one_member_of_every_group():
    groups = np.array([[0, 1, 2], [10, 11, 12]])
    sets = reference.draw_sets(groups, 500, np.random.default_rng(1))
    assert sets.shape == (500, 2)
    assert set(sets[:, 0]) == {0, 1, 2} and set(sets[:, 1]) == {10, 11, 12}


def test_referenced_wdd_by_hand():
    # Areas 100 -> 80, rings 300 (own-ring count 300 -> 330); four reference sets.
    ref = (np.array([50.0, 40.0, 60.0, 100.0]), np.array([50.0, 44.0, 54.0, 90.0]))
    ring = (np.array([200.0, 100.0, 300.0, 400.0]), np.array([210.0, 100.0, 270.0, 440.0]))
    r = reference.referenced_wdd(100.0, 80.0, 300.0, (300.0, 330.0), ref, ring)
    s = 100 * np.array([1.0, 1.1, 0.9, 0.9]) + 300 * np.array([1.05, 1.0, 0.9, 1.1])  # 415, 410, 360, 420
    s_obs = 80 + 300 * 1.1  # 410
    assert r["observed"] == pytest.approx(410) and r["expected"] == pytest.approx(np.median(s))
    assert r["wdd"] == pytest.approx(410 - 412.5)
    assert r["low"] == pytest.approx(s_obs - np.quantile(s, 0.975))
    assert r["high"] == pytest.approx(s_obs - np.quantile(s, 0.025))
    # rank: 2 of 4 at or below 410 -> lower (1+2)/5, upper (1+3)/5 -> p = 2 * 0.6 -> 1
    assert r["p"] == pytest.approx(1.0)
    assert np.isnan(reference.referenced_wdd(0.0, 5.0, 1.0, (1.0, 1.0), ref, ring)["wdd"])  # no before count


def test_matched_set_test_is_exact_on_exchangeable_overdispersed_places():
    # Each group: the treated place and 10 others with the SAME gamma-Poisson law (overdispersed,
    # with a group-specific level); no effect. An exact randomisation test rejects ~5% at 5%;
    # drawing references from the 10 others only (the old design) rejects more.
    rng = np.random.default_rng(3)
    n_sim, n_groups, k = 1500, 10, 10
    hits_in, hits_out = 0, 0
    for _ in range(n_sim):
        level = rng.gamma(3.0, 30.0, n_groups)[:, None]
        b = rng.poisson(level * rng.gamma(4.0, 0.25, (n_groups, k + 1)))
        a = rng.poisson(level * rng.gamma(4.0, 0.25, (n_groups, k + 1)))
        obs = np.log(a[:, 0].sum() / b[:, 0].sum())
        pick = rng.integers(0, k + 1, (199, n_groups))
        rows = np.arange(n_groups)
        ref = np.log(a[rows, pick].sum(axis=1) / b[rows, pick].sum(axis=1))
        hits_in += yoy.referenced_p(obs, ref) < 0.05
        pick = rng.integers(1, k + 1, (199, n_groups))
        ref = np.log(a[rows, pick].sum(axis=1) / b[rows, pick].sum(axis=1))
        hits_out += yoy.referenced_p(obs, ref) < 0.05
    assert 0.035 <= hits_in / n_sim <= 0.065
    assert hits_out / n_sim > hits_in / n_sim
