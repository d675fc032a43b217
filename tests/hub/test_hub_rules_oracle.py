"""rules.py against a brute force written here (issue 14, second pass): for every incident, count
by plain Python loops the same subject's incidents in the window ending at it (calendar months as
year * 12 + month; days as dates), and keep each subject's first crossing of the threshold. The
documented defaults (DOMAIN.md / docs/hub.md) are checked as numbers, not read from the module."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest

from saferhub.errors import SaferhubError
from saferhub.hub import rules as R

ASB = "Anti-social behaviour"


def _incidents(seed: int, n: int = 300, with_times: bool = True) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        day = dt.date(2019, 11, 1) + dt.timedelta(days=rng.randrange(0, 500))
        rows.append({
            "month": pd.Timestamp(day.replace(day=1)),
            "occurred_at": (pd.Timestamp(day) + pd.Timedelta(hours=rng.randrange(24))).tz_localize("UTC")
            if with_times and rng.random() > 0.2 else pd.NaT,
            "caller_ref": rng.choice(["c1", "c2", "c3", "c4", None]),
            "caller_is_child": rng.choice([True, False, None, float("nan")]),  # unknown: an adult
            "victim_ref": rng.choice(["v1", "v2", "v3", None]),
            "location_key": rng.choice(["L1", "L2", 7, None]),
            "category": rng.choice([ASB, ASB, "Burglary", "Violence and sexual offences"]),
        })
    return pd.DataFrame(rows)


def _when(row, unit):
    m = row["month"]
    if unit == "month":
        return m.year * 12 + m.month
    occ = row["occurred_at"]
    return (occ.date() if not pd.isna(occ) else m.date()).toordinal()


def brute(df: pd.DataFrame, rule: R.Rule) -> dict[str, tuple[dt.date, int, int]]:
    """subject -> (first day it met the rule, count then, all its incidents under the rule's filters)."""
    rows = []
    for r in df.to_dict("records"):
        if r[rule.subject] is None or pd.isna(r[rule.subject]):
            continue
        if rule.categories is not None and r["category"] not in rule.categories:
            continue
        if rule.child is not None and (r["caller_is_child"] is True) != rule.child:
            continue
        rows.append((str(r[rule.subject]), _when(r, rule.unit)))
    out = {}
    for subject, t in sorted(rows, key=lambda x: x[1]):
        count = sum(1 for s2, t2 in rows if s2 == subject and t - rule.window < t2 <= t)
        if count >= rule.threshold and subject not in out:
            if rule.unit == "month":
                first = dt.date((t - 1) // 12, (t - 1) % 12 + 1, 1)
            else:
                first = dt.date.fromordinal(t)
            out[subject] = (first, count, sum(1 for s2, _ in rows if s2 == subject))
    return out


def _as_dict(flags: pd.DataFrame) -> dict:
    return {r.subject_key: (r.first_triggered, int(r.count), int(r.incidents_total)) for r in flags.itertuples()}


RULES = [
    R.Rule("m1", 3, "caller_ref", 3, 1, "month"),
    R.Rule("m3_adult", 1, "caller_ref", 6, 3, "month", child=False),
    R.Rule("m6_child", 1, "caller_ref", 2, 6, "month", child=True),
    R.Rule("v12", 2, "victim_ref", 4, 12, "month"),
    R.Rule("loc_asb", 1, "location_key", 5, 2, "month", categories=(ASB,)),
    R.Rule("d30", 1, "victim_ref", 3, 30, "day"),
    R.Rule("d1", 1, "caller_ref", 2, 1, "day"),
    R.Rule("d183_asb", 1, "victim_ref", 3, 183, "day", categories=(ASB, "Burglary")),
]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_flags_equal_the_brute_force(seed, rule):
    df = _incidents(seed)
    flags = R.evaluate_rule(df, rule)
    assert list(flags.columns) == R.FLAG_COLUMNS
    want = brute(df, rule)
    assert want, "the scenario must flag someone"
    assert _as_dict(flags) == want
    assert set(flags["rule"]) == {rule.name} and set(flags["rule_version"]) == {rule.version}
    kind = {"caller_ref": "caller", "victim_ref": "victim", "location_key": "location"}[rule.subject]
    assert set(flags["subject_kind"]) == {kind}
    # months from the database arrive as Python dates (object column): same answer
    as_dates = df.assign(month=[m.date() for m in df["month"]])
    assert _as_dict(R.evaluate_rule(as_dates, rule)) == want


def test_day_rules_without_times_use_the_first_of_the_month():
    df = _incidents(3, with_times=False).drop(columns=["occurred_at"])
    rule = R.Rule("d40", 1, "victim_ref", 3, 40, "day")
    assert _as_dict(R.evaluate_rule(df, rule)) == brute(df.assign(occurred_at=pd.NaT), rule)


def test_a_rule_nobody_meets_and_a_frame_with_no_subjects():
    df = _incidents(4)
    never = R.evaluate_rule(df, R.Rule("never", 1, "caller_ref", 10_000, 1))
    assert never.empty and list(never.columns) == R.FLAG_COLUMNS
    one = df.iloc[:1].assign(caller_ref="solo")  # a single incident meets a threshold of 1
    assert _as_dict(R.evaluate_rule(one, R.Rule("x", 1, "caller_ref", 1, 1))) == {
        "solo": (one["month"].iloc[0].date(), 1, 1)}
    empty = R.evaluate_rule(df.assign(caller_ref=None), R.Rule("x", 1, "caller_ref", 1, 1))
    assert empty.empty and list(empty.columns) == R.FLAG_COLUMNS
    none = R.evaluate(df.iloc[:0], R.DEFAULT_RULES)
    assert none.empty and list(none.columns) == R.FLAG_COLUMNS
    with pytest.raises(SaferhubError, match=r"^rule x needs incident columns \['caller_ref'\]$"):
        R.evaluate_rule(df.drop(columns=["caller_ref"]), R.Rule("x", 1, "caller_ref", 1, 1))


def test_thresholds_are_inclusive_and_windows_exact():
    # 3 calls in a calendar month flag a threshold of 3; across Jan 31 / Feb 1 they do not
    df = pd.DataFrame({"month": pd.to_datetime(["2020-01-01"] * 2 + ["2020-02-01"]), "caller_ref": ["a"] * 3,
                       "occurred_at": pd.to_datetime(["2020-01-01", "2020-01-31", "2020-02-01"], utc=True),
                       "category": [ASB] * 3, "caller_is_child": [False] * 3})
    assert R.evaluate_rule(df, R.Rule("m", 1, "caller_ref", 3, 1)).empty
    assert _as_dict(R.evaluate_rule(df, R.Rule("m", 1, "caller_ref", 2, 1))) == {"a": (dt.date(2020, 1, 1), 2, 3)}
    assert _as_dict(R.evaluate_rule(df, R.Rule("m", 1, "caller_ref", 3, 2))) == {"a": (dt.date(2020, 2, 1), 3, 3)}
    # days: Jan 1 .. Feb 1 spans 32 days
    assert R.evaluate_rule(df, R.Rule("d", 1, "caller_ref", 3, 31, "day")).empty
    assert _as_dict(R.evaluate_rule(df, R.Rule("d", 1, "caller_ref", 3, 32, "day"))) == {"a": (dt.date(2020, 2, 1), 3, 3)}
    assert _as_dict(R.evaluate_rule(df, R.Rule("d", 1, "caller_ref", 2, 1, "day"))) == {}
    assert _as_dict(R.evaluate_rule(df, R.Rule("d", 1, "caller_ref", 2, 2, "day"))) == {"a": (dt.date(2020, 2, 1), 2, 3)}


def test_day_windows_count_in_utc_whatever_offset_the_time_was_given_in():
    # 23:30 at UTC-2 on 31 January is 01:30 UTC on 1 February: the same day as the other two
    df = pd.DataFrame({"month": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-02-01"]), "victim_ref": ["v"] * 3,
                       "occurred_at": ["2020-01-31T23:30:00-02:00", "2020-02-01T10:00:00+00:00",
                                       "2020-02-01T12:00:00+01:00"], "category": [ASB] * 3})
    rule = R.Rule("d", 1, "victim_ref", 3, 1, "day")
    assert _as_dict(R.evaluate_rule(df, rule)) == {"v": (dt.date(2020, 2, 1), 3, 3)}
    assert R.reports_in_window(df, "v", dt.date(2020, 2, 1), rule) == 3
    assert R.reports_in_window(df, "v", dt.date(2020, 1, 31), R.Rule("d", 1, "victim_ref", 3, 5, "day")) == 0


def test_documented_defaults():
    want = {  # name: (subject, threshold, window in months, child, categories)
        "frequent_caller_adult_month": ("caller_ref", 5, 1, False, None),
        "frequent_caller_adult_3_months": ("caller_ref", 12, 3, False, None),
        "frequent_caller_child_6_months": ("caller_ref", 3, 6, True, None),
        "repeat_victim_12_months": ("victim_ref", 2, 12, None, None),
        "repeat_location_asb_3_months": ("location_key", 5, 3, None, (ASB,)),
        "asb_case_review_threshold": ("victim_ref", 3, 6, None, (ASB,)),
    }
    got = {r.name: (r.subject, r.threshold, r.window, r.child, r.categories) for r in R.DEFAULT_RULES}
    assert got == want
    assert {(r.unit, r.version) for r in R.DEFAULT_RULES} == {("month", 1)}
    assert R.DEFAULT_RULES[4].params() == {"threshold": 5, "window": 3, "unit": "month", "categories": [ASB],
                                           "child": None}
    assert R.DEFAULT_RULES[0].params() == {"threshold": 5, "window": 1, "unit": "month", "categories": None,
                                           "child": False}


def test_evaluate_runs_every_rule_on_one_frame():
    df = _incidents(5)
    out = R.evaluate(df, RULES[:4])
    assert list(out.columns) == R.FLAG_COLUMNS and list(out.index) == list(range(len(out)))
    for rule in RULES[:4]:
        assert _as_dict(out[out["rule"] == rule.name]) == brute(df, rule)
    assert len(R.evaluate(df)) == sum(len(R.evaluate_rule(df, r)) for r in R.DEFAULT_RULES)


def test_rule_with_refuses_nonsense():
    base = R.DEFAULT_RULES[0]
    assert R.rule_with(base, threshold=1, window=1) == R.Rule(base.name, 1, "caller_ref", 1, 1, "month", child=False)
    assert R.rule_with(base, unit="day").unit == "day"
    for bad in ({"threshold": 0}, {"window": 0}, {"threshold": -3}):
        with pytest.raises(SaferhubError, match=r"^rule frequent_caller_adult_month: threshold and window must be "
                                                r"at least 1$"):
            R.rule_with(base, **bad)
    with pytest.raises(SaferhubError, match=r"^rule frequent_caller_adult_month: unit must be 'month' or 'day', "
                                            r"not 'week'$"):
        R.rule_with(base, unit="week")


@pytest.mark.parametrize("unit,window", [("month", 6), ("day", 183), ("month", 1), ("day", 1)])
def test_reports_in_window_counts_by_hand(unit, window):
    df = _incidents(6)
    records = df.to_dict("records")
    rule = R.Rule("r", 1, "victim_ref", 3, window, unit, categories=(ASB,))
    for on in (dt.date(2020, 3, 31), dt.date(2020, 7, 1), dt.date(2021, 1, 15)):
        end = (on.year * 12 + on.month) if unit == "month" else on.toordinal()
        for subject in ("v1", "v2", "nobody"):
            want = sum(1 for r in records if r["victim_ref"] == subject and r["category"] == ASB
                       and end - window < _when(r, unit) <= end)
            assert R.reports_in_window(df, subject, on, rule) == want, (subject, on)


@pytest.mark.parametrize("seed", [7, 8])
def test_rolling_counts_by_hand(seed):
    rng = np.random.default_rng(seed)
    keys = rng.choice(np.array(["a", "b", "c"], dtype=object), 60)
    t = rng.integers(-5, 40, 60)
    for window in (1, 3, 10):
        order, counts = R.rolling_counts(keys, t, window)
        assert sorted(order.tolist()) == list(range(60))
        pairs = [(keys[i], t[i]) for i in order]  # grouped by key (in any key order), by time within
        runs = [k for n, (k, _) in enumerate(pairs) if n == 0 or pairs[n - 1][0] != k]
        assert len(runs) == len(set(runs)) == 3
        assert all(a[1] <= b[1] for a, b in zip(pairs, pairs[1:]) if a[0] == b[0])
        for i, c in zip(order, counts):
            assert c == sum(1 for j in range(60) if keys[j] == keys[i] and t[i] - window < t[j] <= t[i])
        # integer keys take the same path
        codes = np.array([{"a": 5, "b": 9, "c": 2}[k] for k in keys])
        o2, c2 = R.rolling_counts(codes, t, window)
        assert sorted(zip(o2.tolist(), c2.tolist())) == sorted(zip(order.tolist(), counts.tolist()))
    o, c = R.rolling_counts(np.array([], dtype=object), np.array([], dtype=np.int64), 3)
    assert o.dtype == np.int64 and c.dtype == np.int64 and len(o) == len(c) == 0
    o, c = R.rolling_counts(np.array(["a"], dtype=object), np.array([7]), 3)
    assert o.tolist() == [0] and c.tolist() == [1]
