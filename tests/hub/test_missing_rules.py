"""Missing-episode rules on constructed timelines, at each boundary (72 h, 90 days, the third
episode), and the pattern statistics against independent computations (statsmodels, scipy,
brute force)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from saferhub.hub import missing_patterns as P
from saferhub.hub import missing_rules as R

T0 = dt.datetime(2024, 3, 1, 22, 0, tzinfo=dt.timezone.utc)
H, D, M = dt.timedelta(hours=1), dt.timedelta(days=1), dt.timedelta(minutes=1)


def ep(i, at, person=1, **kw):
    return R.Episode(id=i, person=person, reported_at=at, **kw)


# ---------------------------------------------------------------- third episode in 90 days

@pytest.mark.parametrize("third_at, hits", [
    (T0 + 90 * D, 1),              # exactly 90 days after the first: inside
    (T0 + 90 * D + M, 0),          # a minute later: outside
    (T0 + 91 * D, 0),              # day 91
    (T0 + 89 * D, 1),              # day 89
])
def test_third_episode_boundary(third_at, hits):
    got = R.third_in_90([ep(1, T0), ep(2, T0 + 45 * D), ep(3, third_at)])
    assert len(got) == hits
    if hits:
        assert got[0].key == "episode:3" and got[0].triggered_at == third_at and got[0].refer_to == "early_help"


def test_two_episodes_never_trigger_and_the_third_does():
    assert R.third_in_90([ep(1, T0), ep(2, T0 + D)]) == []
    got = R.third_in_90([ep(1, T0), ep(2, T0 + D), ep(3, T0 + 2 * D, from_care=True)])
    assert [(h.person, h.key, h.refer_to, h.referral_kind) for h in got] == [(1, "episode:3", "police", "missing_persons")]


def test_one_referral_per_run_of_episodes_then_a_new_one_after_90_days():
    eps = [ep(i, T0 + i * 10 * D) for i in range(1, 6)]          # days 10..50: 3rd, 4th, 5th all qualify
    assert [h.key for h in R.third_in_90(eps)] == ["episode:3"]
    eps += [ep(10, T0 + 140 * D), ep(11, T0 + 141 * D)]  # with the 4th and 5th: not three within 90 days
    assert [h.key for h in R.third_in_90(eps)] == ["episode:3"]
    eps += [ep(12, T0 + 142 * D)]  # three new episodes
    assert [h.key for h in R.third_in_90(eps)] == ["episode:3", "episode:12"]


def test_people_are_counted_apart():
    eps = [ep(1, T0, person=1), ep(2, T0 + D, person=2), ep(3, T0 + 2 * D, person=1)]
    assert R.third_in_90(eps) == []


# ---------------------------------------------------------------- return interview within 72 h

BACK = T0 + 20 * H


@pytest.mark.parametrize("done_after, hit", [
    (72 * H, False),               # exactly 72 h: on time
    (72 * H - M, False),           # 71 h 59
    (72 * H + M, True),            # 72 h 01
    (None, True),
])
def test_interview_done_boundary(done_after, hit):
    e = ep(1, T0, returned_at=BACK, interview_done_at=None if done_after is None else BACK + done_after)
    got = R.interview_overdue([e], now=BACK + 10 * D)
    assert len(got) == hit
    if hit:
        assert got[0].triggered_at == BACK + 72 * H and got[0].refer_to == "early_help"


@pytest.mark.parametrize("now_after, hit", [(72 * H, False), (72 * H - M, False), (72 * H + M, True)])
def test_interview_not_yet_overdue_until_72_hours_have_passed(now_after, hit):
    assert len(R.interview_overdue([ep(1, T0, returned_at=BACK)], now=BACK + now_after)) == hit


def test_still_missing_has_no_interview_due_and_a_timely_declined_offer_meets_the_duty():
    assert R.interview_overdue([ep(1, T0)], now=T0 + 30 * D) == []
    ok = ep(1, T0, returned_at=BACK, interview_offered_at=BACK + 72 * H, interview_declined=True)
    late = ep(2, T0, returned_at=BACK, interview_offered_at=BACK + 72 * H + M, interview_declined=True)
    assert [h.key for h in R.interview_overdue([ok, late], now=BACK + 5 * D)] == ["episode:2"]


# ---------------------------------------------------------------- found twice at the same place

def test_found_twice_at_the_same_non_home_place():
    eps = [ep(1, T0, found_key="pt:-2.9800,53.4000"), ep(2, T0 + 5 * D, found_key="pt:-2.9800,53.4000",
                                                        returned_at=T0 + 6 * D)]
    got = R.found_twice(eps)
    assert [(h.key, h.triggered_at, h.refer_to, h.referral_kind) for h in got] == [
        ("place:pt:-2.9800,53.4000", T0 + 6 * D, "youth", "youth_intervention")]
    assert R.found_twice(eps[:1]) == []
    assert R.found_twice([ep(1, T0, found_key="k", found_at_home=True), ep(2, T0 + D, found_key="k",
                                                                          found_at_home=True)]) == []
    assert R.found_twice([ep(1, T0, found_key="a"), ep(2, T0 + D, found_key="b")]) == []
    assert R.found_twice([ep(1, T0, found_key="a", person=1), ep(2, T0 + D, found_key="a", person=2)]) == []


def test_evaluate_is_stable_and_versioned():
    eps = [ep(i, T0 + i * D, returned_at=T0 + i * D + H, found_key="x") for i in range(1, 4)]
    a, b = R.evaluate(eps, T0 + 30 * D), R.evaluate(list(reversed(eps)), T0 + 30 * D)
    assert a == b
    assert {h.rule for h in a} == {"missing_third_in_90_days", "return_interview_overdue_72h", "found_twice_same_place"}
    assert all(h.version == 1 for h in a)


# ---------------------------------------------------------------- statistics against oracles

@pytest.mark.parametrize("k, e", [(0, 4.0), (1, 1.0), (7, 2.5), (40, 12.0), (250, 30.0)])
def test_poisson_interval_matches_statsmodels_exact(k, e):
    lo, hi = P.poisson_ci(k, e)
    want = confint_poisson(k, e, method="exact-c")
    assert lo == pytest.approx(want[0], abs=1e-9) and hi == pytest.approx(want[1], rel=1e-9)


@pytest.mark.parametrize("k, n", [(0, 5), (1, 1), (3, 10), (73, 100), (500, 1000), (10, 10)])
def test_wilson_matches_statsmodels(k, n):
    assert P.wilson_ci(k, n) == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-12)


@pytest.mark.parametrize("k1, e1, k2, e2", [(12, 4.0, 30, 40.0), (0, 2.0, 9, 20.0), (5, 1.0, 5, 1.0), (30, 6.0, 1, 60.0)])
def test_rate_ratio_matches_scipy_conditional_binomial(k1, e1, k2, e2):
    lo, hi = P.rate_ratio_ci(k1, e1, k2, e2)
    ci = stats.binomtest(k1, k1 + k2).proportion_ci(confidence_level=0.95, method="exact")
    to_rr = lambda p: p / (1 - p) * e2 / e1  # noqa: E731
    assert lo == pytest.approx(to_rr(ci.low), rel=1e-7, abs=1e-12)
    assert hi == pytest.approx(to_rr(ci.high), rel=1e-7)


def test_rate_ratio_interval_covers_the_truth_about_95_percent():
    rng = np.random.default_rng(7)
    e1, e2, true = 3.0, 30.0, 2.0
    cover = 0
    for _ in range(2000):
        k1, k2 = rng.poisson(true * 1.5 * e1), rng.poisson(1.5 * e2)
        lo, hi = P.rate_ratio_ci(int(k1), e1, int(k2), e2)
        cover += lo <= true <= (hi if hi is not None else np.inf)
    assert 0.94 <= cover / 2000 <= 0.99  # exact intervals are conservative


def test_person_pattern_brute_force():
    now = dt.datetime(2024, 6, 30, 12, tzinfo=dt.timezone.utc)
    eps = [(now - 10 * D, now - 10 * D + 30 * H),      # two midnights? 30 h from 12:00 -> crosses 2
           (now - 50 * D, now - 50 * D + 5 * H),
           (now - 200 * D, now - 199 * D),
           (now - 400 * D, now - 399 * D),             # outside the year
           (now - 2 * H, None)]                        # missing now
    got = P.person_pattern(eps, now)
    assert (got["last_30_days"], got["last_90_days"], got["last_365_days"]) == (2, 3, 4)
    assert got["nights_missing_365_days"] == 1 + 0 + 1 + 0  # now-2h to now: same day
    assert got["hours_to_return_median"] == 24.0 and got["hours_to_return_longest"] == 30.0
    assert got["missing_now"] is True and got["episodes_total"] == 5


def test_home_pattern_counts_and_ratio_by_brute_force():
    now = dt.datetime(2024, 12, 15, tzinfo=dt.timezone.utc)
    rng = np.random.default_rng(3)
    mine = [now - dt.timedelta(days=float(d)) for d in rng.uniform(0, 400, 60)]
    others = [(now - dt.timedelta(days=float(d)), int(h)) for d, h in zip(rng.uniform(0, 400, 200), rng.integers(1, 6, 200))]
    got = P.home_pattern(mine, 4, others, 20, 5, now, residents=6)
    k1 = sum(now - P.YEAR < t <= now for t in mine)
    k2 = sum(now - P.YEAR < t <= now for t, _ in others)
    assert got["home_rate"]["episodes"] == k1 and got["comparable"]["episodes"] == k2
    assert got["home_rate"]["per_place_year"] == round(k1 / 4, 3)
    assert sum(got["home_per_month"]) == sum(1 for t in mine if t > dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    assert got["months"][0] == "2024-01" and got["months"][-1] == "2024-12"
    assert got["home_vs_comparable"]["ratio"] == round((k1 / 4) / (k2 / 20), 3)
    lo, hi = P.rate_ratio_ci(k1, 4, k2, 20)
    assert got["home_vs_comparable"]["low"] == round(lo, 3) and got["home_vs_comparable"]["high"] == round(hi, 3)
    recent = sum(now - P.YEAR / 2 < t <= now for t in mine)
    assert got["home_trend"]["last_6_months"] == recent and got["home_trend"]["previous_6_months"] == k1 - recent


def test_shares_use_wilson_and_skip_unknown_ages():
    got = P.shares([(True, True)] * 73 + [(False, False)] * 27 + [(None, True)] * 5)
    assert got["people"] == 105
    assert got["under_18"]["count"] == 73 and got["under_18"]["of"] == 100 and got["under_18"]["percent"] == 73.0
    lo, hi = proportion_confint(73, 100, method="wilson")
    assert (got["under_18"]["low"], got["under_18"]["high"]) == (round(100 * lo, 1), round(100 * hi, 1))
    assert got["from_care"]["count"] == 78 and got["from_care"]["of"] == 105
