"""Plans against hand computation: shift times, the crossover's daily split and running balance,
the minimum detectable effect against an independent bisection of its equation (and scipy's
normal quantiles), visit-time draws at their boundaries, beats, the weekly officer-hour cap,
the hour-of-week profile, and the plan's identity and words."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats

from saferhub.errors import SaferhubError
from saferhub.patrol import plan as P
from saferhub.patrol.plan import PlanParams, Team


def _areas(xy, harm, count=30.0, reason=True):
    xy = np.asarray(xy, float)
    d = {"area_id": [f"PA-{i}" for i in range(len(xy))], "name": [f"Street {i}" for i in range(len(xy))],
         "rank": np.arange(1, len(xy) + 1), "harm": harm, "count": np.full(len(xy), count)}
    if reason:
        d["reason"] = [f"why {i}" for i in range(len(xy))]
    return gpd.GeoDataFrame(d, geometry=shapely.box(xy[:, 0] - 100, xy[:, 1] - 100, xy[:, 0] + 100, xy[:, 1] + 100),
                            crs="EPSG:27700")


# ---------------------------------------------------------------- shift times

@pytest.mark.parametrize("text,minutes", [("10:00", 600), ("0:00", 0), ("07:59", 479), ("24:00", 1440),
                                          ("23:05", 1385)])
def test_shift_times(text, minutes):
    assert P._minutes(text) == minutes


@pytest.mark.parametrize("text", ["25:00", "-1:00", "10:60", "10:-1", "ten", "10", "10:00:00"])
def test_bad_shift_times_are_one_line_errors(text):
    with pytest.raises(SaferhubError, match=rf"^shift time {re.escape(repr(text))} is not HH:MM$"):
        P._minutes(text)


# ---------------------------------------------------------------- crossover design

@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_crossover_daily_split_and_running_balance(n):
    ids = [f"A{i}" for i in range(n)]
    dates = [f"2026-06-{d:02d}" for d in range(1, 15)]
    design = P.crossover_design(ids, dates, np.random.default_rng(n))
    assert [(r["area_id"], r["date"]) for r in design] == [(a, d) for d in dates for a in ids]
    assert {r["arm"] for r in design} <= {"patrol", "control"}
    done = dict.fromkeys(ids, 0)
    for j, d in enumerate(dates):
        today = [r for r in design if r["date"] == d]
        # half the areas; with an odd number the spare one is a patrol on every other (odd) day
        assert sum(r["arm"] == "patrol" for r in today) == n // 2 + (n % 2) * (j % 2)
        for r in today:
            done[r["area_id"]] += r["arm"] == "patrol"
        # areas with fewer patrol days go first: after every day the counts differ by at most one
        assert max(done.values()) - min(done.values()) <= 1, (j, done)


def test_crossover_ties_are_broken_by_the_seed():
    ids = [f"A{i}" for i in range(6)]
    dates = ["2026-06-01", "2026-06-02"]
    arms = {s: [r["arm"] for r in P.crossover_design(ids, dates, np.random.default_rng(s))] for s in range(8)}
    assert len({tuple(v) for v in arms.values()}) > 1
    assert arms[3] == [r["arm"] for r in P.crossover_design(ids, dates, np.random.default_rng(3))]


# ---------------------------------------------------------------- minimum detectable effect

def _mde_by_bisection(lam, n_p, n_c, alpha=0.05, power=0.8):
    """The smallest d in (0, 1) with -log(1-d) >= (z_a/2 + z_b) sqrt(1/(E_p (1-d)) + 1/E_c):
    a fine scan for the first sign change, then 200 bisection steps."""
    z = stats.norm.isf(alpha / 2) + stats.norm.isf(1 - power)
    e_p, e_c = lam * n_p, lam * n_c

    def g(d):
        return -np.log(1 - d) - z * np.sqrt(1 / (e_p * (1 - d)) + 1 / e_c)

    ds = np.arange(1, 99_000) / 100_000
    up = np.flatnonzero(g(ds) >= 0)
    if up.size == 0:
        return 1.0
    lo, hi = ds[up[0] - 1], ds[up[0]]
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if g(mid) >= 0 else (mid, hi)
    return hi


@pytest.mark.parametrize("rate,n_p,n_c,alpha,power", [
    (np.full(20, 0.5), 14, 14, 0.05, 0.8), (np.full(10, 0.2), 30, 25, 0.01, 0.8), (np.array([2.0, 2.5]), 14, 9, 0.1, 0.9),
    (np.full(10, 0.1), 30, 25, 0.01, 0.8), (np.full(50, 1.0), 28, 28, 0.05, 0.5)])
def test_mde_solves_its_equation(rate, n_p, n_c, alpha, power):
    got = P.minimum_detectable_effect(rate, n_p, n_c, alpha=alpha, power=power)
    assert got == pytest.approx(_mde_by_bisection(rate.sum(), n_p, n_c, alpha, power), abs=1e-7)
    assert 0 < got < 1


def test_mde_by_hand_for_one_case_and_its_edges():
    # lam 10/day, 14 + 14 days: E = 140 each; z = 1.959964 + 0.841621 = 2.801585
    d = P.minimum_detectable_effect(np.array([4.0, 6.0]), 14, 14)
    z = 1.959963984540054 + 0.8416212335729143
    assert -np.log(1 - d) == pytest.approx(z * np.sqrt(1 / (140 * (1 - d)) + 1 / 140), rel=1e-9)
    assert d == pytest.approx(0.3096, abs=5e-4)
    assert np.isnan(P.minimum_detectable_effect(np.zeros(3), 14, 14))
    assert np.isnan(P.minimum_detectable_effect(np.ones(3), 0, 14))
    assert np.isnan(P.minimum_detectable_effect(np.ones(3), 14, 0))
    assert P.minimum_detectable_effect(np.array([0.01]), 2, 2) == 1.0      # 0.02 crimes expected: hopeless
    # 15 and 18 crimes expected: the variance of the patrol count grows as (1 - d) shrinks faster than
    # -log(1 - d) does, so no fall is detectable (the bisection agrees)
    assert P.minimum_detectable_effect(np.full(3, 0.5), 10, 12) == 1.0 == _mde_by_bisection(1.5, 10, 12)
    # more days, more power: the MDE falls
    assert P.minimum_detectable_effect(np.ones(3), 28, 28) < P.minimum_detectable_effect(np.ones(3), 14, 14)


# ---------------------------------------------------------------- visit times

def test_draw_times_boundaries():
    rng = np.random.default_rng(0)
    assert P.draw_times(rng, 10, 9, 2, 0) == []
    assert P.draw_times(rng, 5, 5, 1, 0) == [5]                   # hi is a possible start
    assert P.draw_times(rng, 0, 2, 2, 2) == [0, 2]                # gap is inclusive; only 0 and 2 qualify
    for _ in range(20):
        t = P.draw_times(rng, 600, 1000, 3, 120)
        assert len(t) == 3 and t == sorted(t) and 600 <= t[0] and t[-1] <= 1000
        assert np.all(np.diff(t) >= 120) and all(isinstance(v, int) for v in t)
    assert P.draw_times(rng, 0, 1, 5, 0) == [0, 1]                # no more than the minutes there are
    one = P.draw_times(rng, 0, 10, 3, 100)                        # three times 100 apart in 10 minutes: one
    assert len(one) == 1 and 0 <= one[0] <= 10
    assert P.draw_times(rng, 0, 10, 0, 100) == []


def test_draw_times_follow_the_hour_weights():
    rng = np.random.default_rng(1)
    w = np.zeros(24)
    w[13] = 1.0
    # a window over two days' hours (minute 2000 is 09:20 on day 2); hour 13 of either day only
    for _ in range(30):
        (t,) = P.draw_times(rng, 0, 2879, 1, 0, w)
        assert (t // 60) % 24 == 13
    # every weight zero: the 1e-9 floor makes it uniform, not an error
    ts = [P.draw_times(rng, 0, 1439, 1, 0, np.zeros(24))[0] for _ in range(200)]
    assert len({t // 60 for t in ts}) > 12


# ---------------------------------------------------------------- beats

def test_beats_nearest_station_with_a_capacity():
    ax = np.array([0.0, 10.0, 20.0, 30.0, 1000.0])
    ay = np.zeros(5)
    st = np.array([[0.0, 0.0], [1000.0, 0.0]])
    # cap = ceil(1.25 * 5 / 2) = 4: the first four go to station 0, the far one to station 1
    assert P.beats(ax, ay, st).tolist() == [0, 0, 0, 0, 1]
    ax = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 1000.0])          # cap ceil(3.75) = 4: the 5th near one overflows
    assert P.beats(ax, np.zeros(6), st).tolist() == [0, 0, 0, 0, 1, 1]
    # taken in the given order: the last-ranked near area is the one that overflows
    assert P.beats(ax, np.zeros(6), st, order=[5, 4, 3, 2, 1, 0]).tolist() == [1, 0, 0, 0, 0, 1]
    assert P.beats(ax[:1], np.zeros(1), st[:1]).tolist() == [0]


# ---------------------------------------------------------------- whole plans

def test_plan_errors_are_one_line():
    areas = _areas([(330_000, 330_000)], [1.0])
    with pytest.raises(SaferhubError, match="^a plan needs at least one team$"):
        P.make_plan(areas, [], PlanParams(start="2026-06-01"))
    with pytest.raises(SaferhubError, match="^a plan needs at least one day$"):
        P.make_plan(areas, [Team("T", 330_000, 330_000)], PlanParams(start="2026-06-01", days=0))


def test_a_small_plan_by_hand():
    # two areas next to one station, one team 10:00-18:00 with 4 h of patrol: both areas get their
    # two 15-minute visits a day, 2 h or more apart, inside the shift
    areas = _areas([(330_000, 330_000), (330_300, 330_000)], [10.0, 5.0], reason=False)
    team = Team("T", 330_000, 330_000, officers=3)
    plan = P.make_plan(areas, [team], PlanParams(start="2026-06-01", days=2, seed=4), created="c")
    s = plan.schedule
    assert list(s.columns) == P.SCHEDULE_COLUMNS
    assert len(s) == 8 and plan.not_fitted == []
    assert s.groupby(["date", "area_id"]).size().tolist() == [2, 2, 2, 2]
    assert set(s["area_name"]) == {"Street 0", "Street 1"}
    st_, en = pd.to_datetime(s["planned_start"]), pd.to_datetime(s["planned_end"])
    assert ((en - st_) == pd.Timedelta(minutes=15)).all()
    assert all(x[-6:] == "+01:00" for x in s["planned_start"])                 # BST
    mins = st_.dt.hour * 60 + st_.dt.minute
    assert (mins >= 600).all() and (mins + 15 <= 1080).all()
    for _, g in s.groupby(["date", "area_id"]):
        t = pd.to_datetime(g["planned_start"]).sort_values()
        assert (t.iloc[1] - t.iloc[0]) >= pd.Timedelta(hours=2)
    assert list(s["date"]) == sorted(s["date"])
    assert (plan.start, plan.end, plan.seed, plan.created) == ("2026-06-01", "2026-06-02", 4, "c")
    assert plan.summary == {"visits_planned": 8, "visits_not_fitted": 0,
                            "officer_hours_on_visits": 8 * 3 * 15 / 60, "route_time_limit_reached_days": 0}
    assert plan.reasons == {} and plan.power is None and plan.crossover == []
    assert re.fullmatch(r"plan-2026-06-01-[0-9a-f]{8}", plan.plan_id)
    assert plan.area_ids == ["PA-0", "PA-1"] and plan.teams[0]["officers"] == 3
    j = plan.to_json()
    assert j["plan_id"] == plan.plan_id and j["summary"] == plan.summary and "schedule" not in j


def test_plan_id_covers_the_harm_to_six_decimals():
    team = [Team("T", 330_000, 330_000)]
    p = PlanParams(start="2026-06-01", days=1)
    ident = lambda harm: P.make_plan(_areas([(330_000, 330_000)], [harm]), team, p, created="c").plan_id  # noqa: E731
    assert ident(1.0) == ident(1.0 + 1e-8) == ident(1.0000004)
    assert ident(1.0) != ident(1.00001)
    assert ident(1.0) != P.make_plan(_areas([(330_000, 330_000)], [1.0]), team, PlanParams(start="2026-06-01", days=1,
                                                                                         seed=1),
                                     created="c").plan_id


def test_days_off_and_the_weekly_officer_hour_cap():
    areas = _areas([(330_000, 330_000)], [10.0])
    # a weekend-only team ("sat, SUNDAY" spelt loosely) and a Monday: nobody on duty
    weekend = Team("W", 330_000, 330_000, days="sat, SUNDAY")
    plan = P.make_plan(areas, [weekend], PlanParams(start="2026-06-01", days=2), created="c")   # Mon, Tue
    assert plan.schedule.empty
    assert plan.not_fitted == [{"area_id": "PA-0", "date": d, "reason": "no team on duty that day"}
                               for d in ("2026-06-01", "2026-06-02")]
    plan = P.make_plan(areas, [weekend], PlanParams(start="2026-06-05", days=3), created="c")   # Fri, Sat, Sun
    assert plan.schedule.groupby("date").size().to_dict() == {"2026-06-06": 2, "2026-06-07": 2}
    assert [d["date"] for d in plan.not_fitted] == ["2026-06-05"]
    # weekly cap 0.5 officer-hours, 2 officers, station at the area: one 15-minute visit a week,
    # so an 8-day plan gets one visit in week 1 (day 1) and one in week 2 (day 8)
    team = Team("T", 330_000, 330_000)
    plan = P.make_plan(areas, [team], PlanParams(start="2026-06-01", days=8, weekly_officer_hours=0.5), created="c")
    assert plan.schedule["date"].tolist() == ["2026-06-01", "2026-06-08"]
    # the day's second visit loses to the first (capacity); once the week's hours are gone the budget is 0
    assert {d["reason"] for d in plan.not_fitted} == {
        "capacity: the teams' patrol hours went on higher-harm visits",
        "out of reach: the nearest team needs 15 minutes there and back, more than its patrol budget or its shift allows"}
    assert [d["reason"][:3] for d in plan.not_fitted if d["date"] == "2026-06-01"] == ["cap"]
    assert plan.summary["visits_not_fitted"] == 2 * 8 - 2


def test_an_area_out_of_reach_says_so():
    # 30 km from the only station: the walk alone is hours, more than the 4-hour budget
    areas = _areas([(360_000, 330_000)], [10.0])
    plan = P.make_plan(areas, [Team("T", 330_000, 330_000)], PlanParams(start="2026-06-01", days=1), created="c")
    assert plan.schedule.empty and len(plan.not_fitted) == 2
    walk = 30_000 * 1.3 / (4.8 * 1000 / 60)
    assert plan.not_fitted[0] == {"area_id": "PA-0", "date": "2026-06-01", "visit": 1,
                                  "reason": f"out of reach: the nearest team needs {2 * walk + 15:.0f} minutes there "
                                            "and back, more than its patrol budget or its shift allows"}
    assert plan.not_fitted[1]["visit"] == 2


def test_crossover_plan_power_figure():
    areas = _areas([(330_000 + 300 * i, 330_000) for i in range(5)], [5.0] * 5, count=73.0)
    plan = P.make_plan(areas, [Team("T", 330_600, 330_000)], PlanParams(start="2026-06-01", days=10, crossover=True),
                       history_days=365, created="c")
    assert len(plan.crossover) == 50
    control = {(c["area_id"], c["date"]) for c in plan.crossover if c["arm"] == "control"}
    assert not any((a, d) in control for a, d in zip(plan.schedule["area_id"], plan.schedule["date"]))
    n_p = sum(c["arm"] == "patrol" for c in plan.crossover) / 5
    assert n_p == 5.0                                   # 2 + 3 a day alternately, over 10 days
    pw = plan.power
    mde = _mde_by_bisection(5 * 73 / 365, 5, 5)
    assert pw["minimum_detectable_effect"] == pytest.approx(mde, abs=1e-7)
    assert (pw["alpha"], pw["power"], pw["patrol_days_per_area"], pw["control_days_per_area"]) == (0.05, 0.8, 5, 5)
    assert pw["crimes_per_day_in_areas"] == pytest.approx(1.0)
    assert pw["sentence"] == (f"With 10 days this crossover can detect a fall of {mde:.0%} or more in crime on "
                              "patrol days (80% power, 5% two-sided).")
    assert P.make_plan(areas, [Team("T", 330_600, 330_000)], PlanParams(start="2026-06-01", days=10, crossover=True),
                       created="c").power is None


# ---------------------------------------------------------------- hour of the week

def test_hour_of_week_profile_in_london_time():
    areas = _areas([(330_000, 330_000), (331_000, 330_000)], [1.0, 1.0])
    when = pd.to_datetime(["2026-01-05T00:30:00Z",      # Monday 00:30 GMT -> 0
                           "2026-06-07T23:30:00Z",      # Monday 8 June 00:30 BST -> 0
                           "2026-06-07T22:59:00Z",      # Sunday 23:59 BST -> 167
                           "2026-06-03T12:00:00Z",      # Wednesday 13:00 BST -> 2*24 + 13
                           None, "2026-06-03T12:00:00Z"], utc=True)
    x = np.array([330_000.0, 330_000, 331_000, 331_000, 330_000, 400_000])
    prof = P.hour_of_week_profile(areas, when, x, np.full(6, 330_000.0))
    assert prof.shape == (2, 168) and prof.sum() == 4
    assert prof[0, 0] == 2 and prof[1, 167] == 1 and prof[1, 61] == 1


def test_plan_json_carries_every_field_and_a_creation_time():
    areas = _areas([(330_000, 330_000)], [3.0])
    plan = P.make_plan(areas, [Team("T", 330_000, 330_000)], PlanParams(start="2026-06-01", days=1))
    j = plan.to_json()
    assert set(j) == {"plan_id", "created", "seed", "start", "end", "parameters", "area_ids", "teams", "crossover",
                      "not_fitted", "power", "reasons", "summary", "simulated"}
    assert (j["seed"], j["start"], j["end"], j["simulated"], j["power"]) == (0, "2026-06-01", "2026-06-01", False, None)
    assert j["parameters"]["visit_minutes"] == 15 and j["teams"][0]["name"] == "T" and j["area_ids"] == ["PA-0"]
    assert j["reasons"] == {"PA-0": "why 0"} and j["crossover"] == [] and j["not_fitted"] == plan.not_fitted
    created = pd.Timestamp(j["created"])
    assert created.tzinfo is not None and abs(pd.Timestamp.now(tz="UTC") - created) < pd.Timedelta(minutes=5)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", j["created"])


def test_beats_ties_go_to_the_first_station():
    st = np.array([[-100.0, 0.0], [100.0, 0.0]])
    assert P.beats(np.array([0.0]), np.array([0.0]), st).tolist() == [0]


def test_out_of_reach_names_the_nearest_team():
    areas = _areas([(360_000, 330_000)], [10.0])
    teams = [Team("near", 340_000, 330_000), Team("far", 320_000, 330_000)]     # the nearest is not the last
    plan = P.make_plan(areas, teams, PlanParams(start="2026-06-01", days=1), created="c")
    walk = 20_000 * 1.3 / 80
    assert plan.not_fitted[0]["reason"].startswith(f"out of reach: the nearest team needs {2 * walk + 15:.0f} minutes")
    # reachable within the budget but not before the window closes: a late shift is also out of reach
    late = Team("late", 330_000, 330_000, shift_start="10:00", shift_end="18:00")
    ok = P._why_dropped(331_000, 330_000, (600, 630), [late], [240], PlanParams(start="2026-06-01"), 80.0)
    assert ok.startswith("capacity")
    shut = P._why_dropped(331_000, 330_000, (600, 610), [late], [240], PlanParams(start="2026-06-01"), 80.0)
    assert shut.startswith("out of reach")          # 1000 m x 1.3 / 80 m/min = 16.25 min > 10 min to the window's end


def test_route_problem_gets_half_prizes_for_second_visits_and_windows_round_drawn_times(monkeypatch):
    # what make_plan hands the route search: prize harm / visit number; each window is the drawn
    # time +-30 minutes clipped to [shift start, shift end - visit]; one area's drawn times are at
    # least min_gap + 2 x window apart, so any two starts in their windows stay >= min_gap apart
    seen = []
    real = P.solve_day

    def spy(vx, vy, windows, service, prizes, *a, **kw):
        seen.append((list(windows), [float(p) for p in prizes], service))
        return real(vx, vy, windows, service, prizes, *a, **kw)

    monkeypatch.setattr(P, "solve_day", spy)
    areas = _areas([(330_000, 330_000), (330_000, 330_000)], [10.0, 6.0])
    team = Team("T", 330_000, 330_000, shift_start="08:00", shift_end="20:00", patrol_hours=0.5)
    for seed in range(6):
        seen.clear()
        P.make_plan(areas, [team], PlanParams(start="2026-06-01", days=1, seed=seed), created="c")
        ((windows, prizes, service),) = seen
        assert prizes == [10.0, 5.0, 6.0, 3.0] and service == 15
        lo, hi = 8 * 60, 20 * 60 - 15
        drawn = []
        for w0, w1 in windows:
            assert lo <= w0 < w1 <= hi and w1 - w0 <= 60
            drawn.append(w0 + 30 if w0 > lo else w1 - 30)
            if lo < w0 and w1 < hi:
                assert w1 - w0 == 60
        assert abs(drawn[1] - drawn[0]) >= 180 and abs(drawn[3] - drawn[2]) >= 180


def _spy_windows(monkeypatch):
    seen = []
    real = P.solve_day

    def spy(vx, vy, windows, service, prizes, *a, **kw):
        seen.append(list(windows))
        return real(vx, vy, windows, service, prizes, *a, **kw)

    monkeypatch.setattr(P, "solve_day", spy)
    return seen


def test_gap_between_drawn_times_is_min_gap_plus_two_windows(monkeypatch):
    # shift 08:00-12:00: starts 480..705; one area's two drawn times must be >= 120 + 2 x 30 = 180
    # apart, so the pairs that fit are 180..225 apart (a 210 gap would leave one visit most days)
    seen = _spy_windows(monkeypatch)
    areas = _areas([(330_000, 330_000)], [5.0])
    team = Team("T", 330_000, 330_000, shift_start="08:00", shift_end="12:00")
    P.make_plan(areas, [team], PlanParams(start="2026-06-01", days=6, seed=1), created="c")
    gaps = []
    for windows in seen:
        if len(windows) == 2:
            (a0, a1), (b0, b1) = windows
            drawn = [a0 + 30 if a0 > 480 else a1 - 30, b1 - 30 if b1 < 705 else b0 + 30]
            gaps.append(drawn[1] - drawn[0])
    assert len(gaps) >= 4 and min(gaps) >= 180 and max(gaps) <= 225
    assert min(gaps) < 210


def test_hot_profile_weights_each_weekday_from_its_own_hours(monkeypatch):
    # area 0's incidents: Monday 13h and Tuesday 16h only; the drawn time (window centre) follows
    seen = _spy_windows(monkeypatch)
    areas = _areas([(330_000, 330_000)], [5.0])
    prof = np.zeros((1, 168))
    prof[0, 13] = 50.0
    prof[0, 24 + 16] = 50.0
    team = Team("T", 330_000, 330_000, shift_start="08:00", shift_end="20:00")
    P.make_plan(areas, [team], PlanParams(start="2026-06-01", days=2, visits_per_area_per_day=1, seed=3),
                hot_profile=prof, created="c")
    (mon,), (tue,) = seen
    assert 13 * 60 <= (mon[0] + mon[1]) / 2 < 14 * 60
    assert 16 * 60 <= (tue[0] + tue[1]) / 2 < 17 * 60


def test_draw_times_fallback_is_weighted_too():
    rng = np.random.default_rng(2)
    w = np.zeros(24)
    w[13] = 1.0
    for _ in range(20):
        (t,) = P.draw_times(rng, 0, 1439, 3, 2000, w)      # three times 2000 minutes apart: impossible
        assert 13 * 60 <= t < 14 * 60


@pytest.mark.parametrize("hours,visits", [(0.3125, 0), (19.2 / 60, 1)])
def test_patrol_budget_is_hours_times_60_rounded_down(hours, visits):
    # station 100 m from the area: 2 minutes' walk each way (100 x 1.3 / 80, rounded up) + 15 = 19
    areas = _areas([(330_100, 330_000)], [5.0])
    team = Team("T", 330_000, 330_000, patrol_hours=hours)
    plan = P.make_plan(areas, [team], PlanParams(start="2026-06-01", days=1, visits_per_area_per_day=1), created="c")
    assert len(plan.schedule) == visits                   # 0.3125 h = 18.75 -> 18 minutes: not enough


@pytest.mark.parametrize("weekly,visits", [(0.628, 0), (0.64, 1)])
def test_weekly_cap_in_minutes_per_officer(weekly, visits):
    # 0.628 officer-hours / 2 officers = 18.84 -> 18 minutes < 19; 0.64 -> 19.2 -> 19
    areas = _areas([(330_100, 330_000)], [5.0])
    team = Team("T", 330_000, 330_000)
    plan = P.make_plan(areas, [team], PlanParams(start="2026-06-01", days=1, visits_per_area_per_day=1,
                                                 weekly_officer_hours=weekly), created="c")
    assert len(plan.schedule) == visits


def test_weekly_cap_counts_every_visit_and_the_walk():
    # cap 1.7 officer-hours (51 patrol minutes for 2 officers). Day 1: two visits, 15 + 15 + 2 x 2
    # walking = 34 minutes = 1.133 officer-hours. Day 2: 0.567 left = 17 minutes < 19: nothing.
    # (Forgetting the first visit or the walk would leave 21+ minutes and a visit on day 2.)
    areas = _areas([(330_100, 330_000)], [5.0])
    team = Team("T", 330_000, 330_000)
    plan = P.make_plan(areas, [team], PlanParams(start="2026-06-01", days=2, weekly_officer_hours=1.7), created="c")
    assert plan.schedule["date"].tolist() == ["2026-06-01", "2026-06-01"]


def test_two_teams_both_keep_their_stops_and_drops():
    areas = _areas([(330_000, 330_000), (340_000, 330_000), (390_000, 330_000)], [5.0, 4.0, 3.0])
    teams = [Team("west", 330_000, 330_000), Team("east", 340_000, 330_000)]
    plan = P.make_plan(areas, teams, PlanParams(start="2026-06-01", days=1), created="c")
    assert plan.schedule.groupby("team")["area_id"].apply(sorted).to_dict() == {"east": ["PA-1", "PA-1"],
                                                                             "west": ["PA-0", "PA-0"]}
    assert sorted((d["area_id"], d["visit"]) for d in plan.not_fitted) == [("PA-2", 1), ("PA-2", 2)]


def test_why_dropped_reach_is_inclusive():
    # 800 m x 1.3 / 80 m a minute = 13 minutes exactly: from a 10:00 start the team arrives at 10:13
    team = Team("T", 330_000, 330_000)
    p = PlanParams(start="2026-06-01")
    assert P._why_dropped(330_800, 330_000, (600, 613), [team], [240], p, 80.0).startswith("capacity")
    assert P._why_dropped(330_800, 330_000, (600, 612), [team], [240], p, 80.0).startswith("out of reach")
    assert P._why_dropped(330_800, 330_000, (600, 700), [team], [41], p, 80.0).startswith("capacity")  # 2 x 13 + 15
    assert P._why_dropped(330_800, 330_000, (600, 700), [team], [40], p, 80.0).startswith("out of reach")


def test_beats_measure_distance_in_both_axes():
    st = np.array([[0.0, 0.0], [0.0, 1000.0]])
    assert P.beats(np.array([0.0, 0.0]), np.array([900.0, 100.0]), st).tolist() == [1, 0]


def test_one_area_crossover_power_and_control_days():
    # one area: patrol on odd days only (0 + 1 alternately): 4 patrol days of 9, 5 control
    areas = _areas([(330_000, 330_000)], [5.0], count=365.0)
    plan = P.make_plan(areas, [Team("T", 330_000, 330_000)], PlanParams(start="2026-06-01", days=9, crossover=True),
                       history_days=365, created="c")
    assert [c["arm"] for c in plan.crossover] == ["control", "patrol"] * 4 + ["control"]
    assert sorted(set(plan.schedule["date"])) == ["2026-06-02", "2026-06-04", "2026-06-06", "2026-06-08"]
    pw = plan.power
    assert (pw["patrol_days_per_area"], pw["control_days_per_area"]) == (4.0, 5.0)
    assert pw["minimum_detectable_effect"] == pytest.approx(_mde_by_bisection(1.0, 4, 5), abs=1e-7)


def test_weekly_cap_charges_each_team_its_own_visits_and_walk(monkeypatch):
    # Three teams under one weekly cap: "near" patrols at its station, "far" walks 1.2 km to its area,
    # "idle" has no area in its beat. The next day's budget of each team must be what is left of the
    # cap after ITS OWN visits (15 minutes each) and ITS OWN walking, read from the route solver's
    # answer for that team, in officer-hours (2 officers): (cap - minutes / 60 * 2) * 60 / 2.
    areas = _areas([(330_000, 330_000), (341_200, 330_000)], [5.0, 4.0])
    teams = [Team("near", 330_000, 330_000), Team("far", 340_000, 330_000), Team("idle", 400_000, 400_000)]
    calls, walks = [], []
    real_beat, real_day = P._solve_by_beat, P.solve_day

    def beat(vi, vx, vy, win, prize, on, budgets, *rest):
        day = real_beat(vi, vx, vy, win, prize, on, budgets, *rest)
        calls.append((list(budgets), [(s.team, s.node) for s in day.stops]))
        return day

    def solve(*args, **kw):
        r = real_day(*args, **kw)
        walks.append(dict(r.walk_minutes))
        return r

    monkeypatch.setattr(P, "_solve_by_beat", beat)
    monkeypatch.setattr(P, "solve_day", solve)
    cap = 6.0   # officer-hours a week: 180 patrol minutes for a pair, under the 240 of a shift
    P.make_plan(areas, teams, PlanParams(start="2026-06-01", days=2, weekly_officer_hours=cap), created="c")
    assert len(calls) == 2 and len(walks) == 6          # two days, one route problem per team and day
    assert calls[0][0] == [180, 180, 180]               # day 1: the cap binds before the shift does
    stops = calls[0][1]
    expected = []
    for v in range(3):
        minutes = 15 * sum(1 for team, _ in stops if team == v) + walks[v].get(0, 0)
        expected.append(int(min(240, max(cap - minutes / 60 * 2, 0.0) * 60 / 2)))
    assert walks[1].get(0, 0) > walks[0].get(0, 0)      # the far team really walks further
    assert expected[2] == 180                           # nothing done, nothing charged
    assert calls[1][0] == expected
