"""Dosage and compliance against hand computation: the grace window's exact edges, local dates
over the clock change, per-day sums written out with loops, ISO weeks, and the headline's words."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from saferhub.patrol import dosage as D

LONDON = ZoneInfo("Europe/London")


def utc(s):
    return pd.Timestamp(s, tz="UTC")


def patrols(rows):
    """rows: (area, start UTC, end UTC, minutes_min, minutes_max)."""
    return pd.DataFrame([{"area_id": a, "start": utc(s), "end": utc(e), "minutes_min": lo, "minutes_max": hi,
                          "devices": 1, "simulated": False} for a, s, e, lo, hi in rows])


def schedule(rows):
    """rows: (area, date, planned_start ISO, planned_end ISO)."""
    return pd.DataFrame([{"team": "T", "date": d, "area_id": a, "area_name": a.lower(), "planned_start": s,
                          "planned_end": e} for a, d, s, e in rows])


PLAN = schedule([("A", "2026-06-01", "2026-06-01T10:00:00+01:00", "2026-06-01T10:15:00+01:00")])  # 09:00-09:15 UTC


@pytest.mark.parametrize("start,end,hit", [
    ("2026-06-01 08:00", "2026-06-01 08:30", True),      # ends exactly at start - 30 min grace
    ("2026-06-01 08:00", "2026-06-01 08:29:59", False),  # one second short of it
    ("2026-06-01 09:45", "2026-06-01 10:00", True),      # starts exactly at end + 30 min grace
    ("2026-06-01 09:45:01", "2026-06-01 10:00", False),
    ("2026-06-01 08:00", "2026-06-01 11:00", True),      # spans the whole window
    ("2026-06-01 09:05", "2026-06-01 09:10", True),      # inside it
])
def test_delivered_window_edges_are_inclusive(start, end, hit):
    assert D.delivered(PLAN, patrols([("A", start, end, 5, 6)])).tolist() == [hit]


def test_delivered_respects_the_area_the_grace_and_empty_inputs():
    p = patrols([("B", "2026-06-01 09:00", "2026-06-01 09:15", 15, 15)])      # right time, wrong area
    assert D.delivered(PLAN, p).tolist() == [False]
    p = patrols([("A", "2026-06-01 08:00", "2026-06-01 08:50", 5, 6)])        # 10 min before the window
    assert D.delivered(PLAN, p, grace_minutes=10).tolist() == [True]
    assert D.delivered(PLAN, p, grace_minutes=9).tolist() == [False]
    assert D.delivered(PLAN, p, grace_minutes=0).tolist() == [False]
    empty = D.delivered(PLAN.iloc[:0], p)
    assert empty.dtype == bool and empty.size == 0
    none = D.delivered(PLAN, p.iloc[:0])
    assert none.dtype == bool and none.tolist() == [False]


def _by_hand(p, sch, devs, area_ids, dates, grace):
    """Every (area, local date): loops and zoneinfo, no pandas grouping."""
    out = {}
    for a in area_ids:
        for d in dates:
            out[(a, d)] = dict(visits=0, minutes_min=0.0, minutes_max=0.0, planned_minutes=0.0, planned_visits=0,
                               delivered_visits=0, devices=set())
    for r in p.itertuples():
        d = r.start.to_pydatetime().astimezone(LONDON).date().isoformat()
        if (r.area_id, d) in out:
            o = out[(r.area_id, d)]
            o["visits"] += 1
            o["minutes_min"] += r.minutes_min
            o["minutes_max"] += r.minutes_max
    for r in devs.itertuples():
        d = r.start.to_pydatetime().astimezone(LONDON).date().isoformat()
        if (r.area_id, d) in out:
            out[(r.area_id, d)]["devices"].add(r.device)
    for r in sch.itertuples():
        s = dt.datetime.fromisoformat(r.planned_start)
        e = dt.datetime.fromisoformat(r.planned_end)
        o = out[(r.area_id, r.date)]
        o["planned_minutes"] += (e - s).total_seconds() / 60
        o["planned_visits"] += 1
        g = dt.timedelta(minutes=grace)
        o["delivered_visits"] += any(q.area_id == r.area_id and q.start <= e + g and q.end >= s - g
                                     for q in p.itertuples())
    return out


def test_daily_equals_loops_over_a_clock_change_weekend():
    # BST starts 2026-03-29 01:00 UTC: 23:30 UTC on the 28th is still the 28th (GMT), 23:30 UTC on the
    # 29th is already the 30th (BST)
    p = patrols([("A", "2026-03-28 23:30", "2026-03-28 23:50", 20, 25),
                 ("A", "2026-03-29 23:30", "2026-03-29 23:45", 15, 19),
                 ("A", "2026-03-29 09:00", "2026-03-29 09:20", 20, 22.5),
                 ("B", "2026-03-29 12:00", "2026-03-29 12:07", 7, 11),
                 ("B", "2026-03-31 12:00", "2026-03-31 12:07", 7, 11)])          # outside the dates asked
    sch = schedule([("A", "2026-03-28", "2026-03-28T23:00:00+00:00", "2026-03-28T23:15:00+00:00"),
                    ("A", "2026-03-29", "2026-03-29T10:00:00+01:00", "2026-03-29T10:20:00+01:00"),
                    ("A", "2026-03-29", "2026-03-29T15:00:00+01:00", "2026-03-29T15:12:00+01:00"),
                    ("B", "2026-03-30", "2026-03-30T13:00:00+01:00", "2026-03-30T13:15:00+01:00")])
    devs = pd.DataFrame({"device": ["r1", "r2", "r1", "r3"], "area_id": ["A", "A", "A", "B"],
                         "start": [utc("2026-03-29 09:00"), utc("2026-03-29 09:01"), utc("2026-03-29 23:30"),
                                   utc("2026-03-29 12:00")]})
    dates = ["2026-03-28", "2026-03-29", "2026-03-30"]
    day = D.daily(p, sch, ["A", "B", "C"], dates, device_visits=devs, grace_minutes=20)
    assert list(day.columns) == D.DOSAGE_COLUMNS
    assert len(day) == 9 and list(day["area_id"]) == ["A"] * 3 + ["B"] * 3 + ["C"] * 3
    assert list(day["date"]) == dates * 3
    want = _by_hand(p, sch, devs, ["A", "B", "C"], dates, 20)
    for r in day.itertuples():
        w = want[(r.area_id, r.date)]
        assert (r.visits, r.planned_visits, r.delivered_visits, r.devices) == \
            (w["visits"], w["planned_visits"], w["delivered_visits"], len(w["devices"])), r
        assert (r.minutes_min, r.minutes_max, r.planned_minutes) == \
            pytest.approx((w["minutes_min"], w["minutes_max"], w["planned_minutes"])), r
        assert r.missed_windows == w["planned_visits"] - w["delivered_visits"]
    a = day.set_index(["area_id", "date"])
    assert a.loc[("A", "2026-03-28"), "visits"] == 1 and a.loc[("A", "2026-03-30"), "visits"] == 1
    assert a.loc[("A", "2026-03-29"), "planned_minutes"] == 32
    assert a.loc[("A", "2026-03-29"), "delivered_visits"] == 1 and a.loc[("A", "2026-03-29"), "missed_windows"] == 1
    assert a.loc[("A", "2026-03-29"), "devices"] == 2
    for c in ("visits", "planned_visits", "delivered_visits", "missed_windows", "devices"):
        assert day[c].dtype.kind == "i", c


def test_daily_with_nothing_but_the_grid():
    empty = patrols([]).reindex(columns=["area_id", "start", "end", "minutes_min", "minutes_max", "devices",
                                         "simulated"])
    day = D.daily(empty, None, ["A"], [dt.date(2026, 6, 1), dt.date(2026, 6, 2)])
    assert list(day.columns) == D.DOSAGE_COLUMNS
    assert list(day["date"]) == ["2026-06-01", "2026-06-02"]
    assert (day[D.DOSAGE_COLUMNS[2:]] == 0).all().all()
    assert day["visits"].dtype.kind == "i"
    # planned but nothing done: every window missed
    day = D.daily(empty, PLAN, ["A"], ["2026-06-01"])
    assert day[["planned_visits", "delivered_visits", "missed_windows", "planned_minutes"]].iloc[0].tolist() == \
        [1, 0, 1, 15]


def test_weekly_weeks_start_on_monday():
    day = pd.DataFrame({"area_id": ["A"] * 4 + ["B"], "date": ["2026-06-07", "2026-06-08", "2026-06-14", "2026-06-15",
                                                              "2026-06-10"],
                        "visits": [1, 2, 3, 4, 5], "minutes_min": [1.0, 2, 3, 4, 5], "minutes_max": [2.0, 3, 4, 5, 6],
                        "planned_minutes": [15.0, 15, 30, 0, 15], "planned_visits": [1, 1, 2, 0, 1],
                        "delivered_visits": [1, 0, 2, 0, 1], "missed_windows": [0, 1, 0, 0, 0]})
    w = D.weekly(day)
    # Sunday 7 June is in the week of Monday 1 June; 8-14 June is one week; 15 June starts the next
    assert list(zip(w["area_id"], w["week"])) == [("A", "2026-06-01"), ("A", "2026-06-08"), ("A", "2026-06-15"),
                                                  ("B", "2026-06-08")]
    assert list(w["visits"]) == [1, 5, 4, 5]
    assert list(w["minutes_max"]) == [2, 7, 5, 6]
    assert list(w["planned_visits"]) == [1, 3, 0, 1] and list(w["missed_windows"]) == [0, 1, 0, 0]
    assert list(w.columns) == ["area_id", "week", "visits", "minutes_min", "minutes_max", "planned_minutes",
                               "planned_visits", "delivered_visits", "missed_windows"]


def test_compliance_ratios_by_hand_and_none_without_a_plan():
    day = pd.DataFrame({"planned_visits": [2, 2], "delivered_visits": [1, 2], "planned_minutes": [30.0, 50.0],
                        "minutes_min": [10.0, 30.0], "minutes_max": [20.0, 70.0], "missed_windows": [1, 0]})
    c = D.compliance(day)
    assert c == {"planned_visits": 4, "delivered_visits": 3, "visit_compliance": 0.75, "planned_minutes": 80.0,
                 "minutes_min": 40.0, "minutes_max": 90.0, "minutes_compliance_min": 0.5,
                 "minutes_compliance_max": 90 / 80, "missed_windows": 1}
    z = D.compliance(day.assign(planned_visits=0, planned_minutes=0.0, delivered_visits=0))
    assert z["visit_compliance"] is None and z["minutes_compliance_min"] is None
    assert z["minutes_compliance_max"] is None and z["minutes_max"] == 90.0


def test_time_between_by_hand():
    p = patrols([("A", "2026-06-01 16:00", "2026-06-01 16:30", 1, 1),     # given out of order
                 ("A", "2026-06-01 10:00", "2026-06-01 10:15", 1, 1),
                 ("A", "2026-06-01 12:15", "2026-06-01 13:00", 1, 1),
                 ("A", "2026-06-02 09:00", "2026-06-02 09:10", 1, 1),
                 ("B", "2026-06-01 09:00", "2026-06-01 09:10", 1, 1)])
    tb = D.time_between(p).set_index("area_id")
    gaps = [2.0, 3.0, 16.5]                                             # 10:15->12:15, 13:00->16:00, 16:30->09:00
    assert tb.loc["A", "visits"] == 4
    assert tb.loc["A", "median_hours_between"] == pytest.approx(np.median(gaps))
    assert tb.loc["A", "longest_hours_between"] == pytest.approx(16.5)
    assert tb.loc["B", "visits"] == 1 and np.isnan(tb.loc["B", "median_hours_between"])
    assert np.isnan(tb.loc["B", "longest_hours_between"])
    assert list(D.time_between(p.iloc[:0]).columns) == ["area_id", "visits", "median_hours_between",
                                                        "longest_hours_between"]


def test_headline_words():
    one = patrols([("A", "2026-06-01 09:00", "2026-06-01 09:10", 1, 1)])
    assert D.headline(one, "2026-06-01") == "1 foot patrol visit in hotspot areas since 1 June 2026"
    many = pd.concat([one] * 1234, ignore_index=True)
    assert D.headline(many, "2026-11-09", simulated=True) == \
        "SIMULATED: 1,234 foot patrol visits in hotspot areas since 9 November 2026"
    assert D.headline(one.iloc[:0], "2026-06-01").startswith("0 foot patrol visits ")


def test_daily_uses_its_grace_and_the_default_is_30_minutes():
    sch = PLAN.assign(date="2026-06-01")
    # ends 30.5 minutes before the planned start (09:00 UTC): missed at the default 30, kept at 31
    late = patrols([("A", "2026-06-01 08:00", "2026-06-01 08:29:30", 5, 6)])
    assert D.daily(late, sch, ["A"], ["2026-06-01"])["delivered_visits"].tolist() == [0]
    # 15 minutes before: delivered by default, missed with a 10-minute grace
    early = patrols([("A", "2026-06-01 08:00", "2026-06-01 08:45", 5, 6)])
    assert D.daily(early, sch, ["A"], ["2026-06-01"])["delivered_visits"].tolist() == [1]
    assert D.daily(early, sch, ["A"], ["2026-06-01"], grace_minutes=10)["delivered_visits"].tolist() == [0]
