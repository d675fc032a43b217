"""Crossover randomisation inference against exact p-values enumerated by hand: every within-stratum
(area x weekday) rearrangement of the arms of a tiny design, counted with exact fractions."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from saferhub.evaluate import crossover
from saferhub.evaluate.yoy import TOO_FEW

MONDAYS = ["2026-06-01", "2026-06-08", "2026-06-15", "2026-06-22"]
TUESDAYS = ["2026-06-02", "2026-06-09", "2026-06-16", "2026-06-23"]

# three strata of four days, two patrol days in each: 6 x 6 x 6 = 216 equally likely arrangements
DESIGN = [("A", MONDAYS, [5, 1, 4, 0], "PCPC"), ("A", TUESDAYS, [2, 2, 3, 1], "CPPC"),
          ("B", MONDAYS, [0, 1, 0, 2], "PCCP")]


def _days(design=DESIGN):
    rows = [(a, d, {"P": "patrol", "C": "control"}[arm], float(c))
            for a, dates, counts, arms in design for d, c, arm in zip(dates, counts, arms)]
    return pd.DataFrame(rows, columns=["area_id", "date", "arm", "count"])


def exact_p(design=DESIGN):
    """Share of all within-stratum arrangements whose |log rate ratio| is at least the observed one.
    Every arrangement has the same numbers of patrol and control days, so the rate ratio is a
    constant times (patrol sum / control sum): compare max(r, 1/r) exactly as fractions."""
    def extremity(patrol_sum, total):
        r = Fraction(patrol_sum, total - patrol_sum)
        return max(r, 1 / r)

    total = sum(sum(c) for _, _, c, _ in design)
    obs = extremity(sum(c for _, _, cs, arms in design for c, a in zip(cs, arms) if a == "P"), total)
    choices = [[sum(cs[i] for i in pick) for pick in itertools.combinations(range(len(cs)), arms.count("P"))]
               for _, _, cs, arms in design]
    n = hits = 0
    for sums in itertools.product(*choices):
        n += 1
        hits += extremity(sum(sums), total) >= obs
    return Fraction(hits, n), n


def test_exact_p_value_by_enumeration():
    want, n = exact_p()
    assert n == 216
    # observed: patrol 5+4 + 2+3 + 0+2 = 16, control 5: ratio 16/5
    # by hand: extreme means a patrol sum S >= 16 or S <= 5 of 21; stratum sums A-Mon {6,9,5,5,1,4},
    # A-Tue {4,5,3,5,3,4}, B-Mon {1,0,2,1,3,2}: S >= 16 needs 9 + (4,3) or 9 + (5,>=2): 2 + 6 = 8 ways;
    # S <= 5 needs 1 + (3,<=1) or 1 + (4,0): 6 + 2 = 8 ways; 16 of 216
    assert want == Fraction(16, 216)
    r = crossover.crossover_test(_days(), n_perm=20_000, seed=3)
    assert r["result"] == "estimated" and r["permutations"] == 20_000
    assert r["p"] == pytest.approx(float(want), abs=0.006)           # Monte-Carlo error ~0.0015
    assert r["rate_ratio"] == pytest.approx(16 / 5, rel=1e-8)
    assert r["change_pct"] == pytest.approx(100 * (16 / 5 - 1), rel=1e-8)
    assert (r["patrol_rate"], r["control_rate"]) == (16 / 6, 5 / 6)
    assert (r["incidents"], r["patrol_days"], r["control_days"]) == (21.0, 6, 6)


def test_exact_p_with_unequal_arms_and_a_second_design():
    # strata with 1 patrol of 3 days and 2 of 3: arms of unequal size within a stratum
    fri = ["2026-06-05", "2026-06-12", "2026-06-19"]
    sat = ["2026-06-06", "2026-06-13", "2026-06-20"]
    design = [("X", fri, [9, 1, 2], "PCC"), ("X", sat, [3, 0, 4], "PCP"), ("Y", fri, [1, 6, 0], "CPC")]
    d = _days(design)
    y = d["count"].to_numpy()
    p_days = (d["arm"] == "patrol").to_numpy()
    obs = np.log((y[p_days].sum() / 4) / (y[~p_days].sum() / 5))

    def stat(arms):   # arms: per stratum, the indices of the patrol days
        patrol = np.zeros(9, bool)
        for k, idx in enumerate(arms):
            patrol[[3 * k + i for i in idx]] = True
        return np.log((y[patrol].sum() / 4) / (y[~patrol].sum() / 5))

    picks = [list(itertools.combinations(range(3), arms.count("P"))) for *_, arms in design]
    stats_ = [stat(a) for a in itertools.product(*picks)]
    want = np.mean(np.abs(stats_) >= abs(obs) - 1e-12)
    assert len(stats_) == 27
    r = crossover.crossover_test(d, n_perm=20_000, seed=5, min_events=20)
    assert r["p"] == pytest.approx(want, abs=0.01)
    assert r["rate_ratio"] == pytest.approx(np.exp(obs), rel=1e-8)
    assert r["patrol_rate"] == pytest.approx(y[p_days].sum() / 4) and r["control_rate"] == pytest.approx(y[~p_days].sum() / 5)


def test_p_value_counts_ties_and_adds_one():
    # every day the same count: every rearrangement ties with the observed ratio of 1, p = 1 exactly
    d = _days([("A", MONDAYS, [3, 3, 3, 3], "PCPC"), ("B", TUESDAYS, [3, 3, 3, 3], "CPCP")])
    r = crossover.crossover_test(d, n_perm=9, seed=1)
    assert r["p"] == 1.0 and r["rate_ratio"] == pytest.approx(1.0) and r["change_pct"] == pytest.approx(0.0)
    # a stratum of one day cannot move: with one such stratum per day every permutation equals the
    # observed split, so p = (1 + 9) / (9 + 1) = 1 even though the ratio is far from 1 (shuffling
    # across strata, here across weekdays, would swap the arms half the time)
    one = pd.DataFrame({"area_id": ["A", "A"], "date": ["2026-06-01", "2026-06-02"], "arm": ["patrol", "control"],
                        "count": [30.0, 2.0]})
    r = crossover.crossover_test(one, n_perm=9)
    assert r["p"] == 1.0 and r["rate_ratio"] == pytest.approx(15.0)


def test_the_smallest_possible_p_is_one_over_n_plus_one():
    # 8 Mondays in one area, 4 patrol days with all 40 incidents and 4 control days with none: only
    # the observed arrangement (1 of 70) is as extreme, and its mirror (all on control days)
    dates = [str(d.date()) for d in pd.date_range("2026-06-01", periods=8, freq="7D")]
    d = pd.DataFrame({"area_id": "A", "date": dates, "arm": ["patrol"] * 4 + ["control"] * 4,
                      "count": [10.0] * 4 + [0.0] * 4})
    r = crossover.crossover_test(d, n_perm=2000, seed=2)
    assert r["p"] == pytest.approx(2 / 70, abs=0.012)
    assert r["p"] >= 1 / 2001
    # the patrol rate of 10 against 0: the ratio is (10 + 1e-9) / 1e-9, not a division by zero
    assert r["rate_ratio"] == pytest.approx(1e10, rel=1e-6) and r["control_rate"] == 0.0


@pytest.mark.parametrize("counts,arms,min_events,result", [
    ([5, 5, 5, 4], "PCPC", 20, TOO_FEW),          # 19 incidents < 20
    ([5, 5, 5, 5], "PCPC", 20, "estimated"),      # exactly 20 is enough
    ([5, 5, 5, 5], "PCPC", 21, TOO_FEW),
    ([9, 9, 9, 9], "PPPP", 20, TOO_FEW),          # no control days
    ([9, 9, 9, 9], "CCCC", 20, TOO_FEW),          # no patrol days
])
def test_too_few_events_or_one_arm(counts, arms, min_events, result):
    r = crossover.crossover_test(_days([("A", MONDAYS, counts, arms)]), n_perm=19, min_events=min_events)
    assert r["result"] == result
    assert r["incidents"] == sum(counts)
    assert (r["patrol_days"], r["control_days"]) == (arms.count("P"), arms.count("C"))
    if result == TOO_FEW:
        assert "p" not in r and "rate_ratio" not in r


def test_same_seed_same_p_other_seed_other_draws():
    a = crossover.crossover_test(_days(), n_perm=499, seed=11)["p"]
    assert crossover.crossover_test(_days(), n_perm=499, seed=11)["p"] == a
    assert len({crossover.crossover_test(_days(), n_perm=499, seed=s)["p"] for s in range(5)}) > 1
    assert crossover.crossover_test(_days(), n_perm=499)["p"] == crossover.crossover_test(_days(), n_perm=499,
                                                                                          seed=1)["p"]


def test_daily_counts_by_hand():
    assignment = pd.DataFrame({"area_id": ["A", "A", "B"], "date": ["2026-06-01", "2026-06-02", "2026-06-01"],
                               "arm": ["patrol", "control", "control"]})
    incidents = pd.DataFrame({"area_id": ["A", "A", "A", "B", "B", "C"],
                              "date": ["2026-06-01 00:10", "2026-06-01 23:59", "2026-06-03 12:00", "2026-06-01 00:00",
                                       "2026-06-01 08:00", "2026-06-01 00:00"]})
    out = crossover.daily_counts(assignment, incidents)
    assert list(out["count"]) == [2.0, 0.0, 2.0] and out["count"].dtype == float
    assert list(out["arm"]) == ["patrol", "control", "control"]
    assert list(out["date"]) == list(pd.to_datetime(["2026-06-01", "2026-06-02", "2026-06-01"]))
    assert list(assignment["date"]) == ["2026-06-01", "2026-06-02", "2026-06-01"]     # the input is not changed


def test_simulated_incidents_follow_their_rates():
    dates = [str(d.date()) for d in pd.date_range("2026-01-01", periods=2000)]
    a = pd.DataFrame({"area_id": "A", "date": dates, "arm": ["patrol", "control"] * 1000})
    inc = crossover.simulate_incidents(a, base_rate=2.0, patrol_effect=-0.25, seed=4)
    assert list(inc.columns) == ["area_id", "date", "simulated"]
    assert inc["simulated"].dtype == bool and inc["simulated"].all()
    per = inc.merge(a, on=["area_id", "date"]).groupby("arm").size()
    # Poisson means 1.5 and 2.0 over 1000 days each: sd of a mean ~0.04
    assert per["patrol"] / 1000 == pytest.approx(1.5, abs=0.15)
    assert per["control"] / 1000 == pytest.approx(2.0, abs=0.15)
    assert crossover.simulate_incidents(a, seed=4).equals(crossover.simulate_incidents(a, seed=4))
    assert len(crossover.simulate_incidents(a)) == pytest.approx(1600, abs=150)      # default rate 0.8 a day
    assert crossover.simulate_incidents(a).equals(crossover.simulate_incidents(a, seed=1, patrol_effect=0.0))


def test_defaults_are_9999_permutations_and_20_events():
    r = crossover.crossover_test(_days())                     # 21 incidents
    assert r["permutations"] == 9999 and r["result"] == "estimated"
    assert r["p"] == pytest.approx(16 / 216, abs=0.01)
    assert r["p"] == crossover.crossover_test(_days(), seed=1)["p"]
    d = _days([("A", MONDAYS, [5, 5, 5, 5], "PCPC")])        # exactly 20
    assert crossover.crossover_test(d, n_perm=19)["result"] == "estimated"
