"""Patrol plans: capacity, visit times, routes per team per day, crossover days and power.

Pure: areas (GeoDataFrame ranked by the areas step) + teams + parameters -> a Plan. The same
inputs and seed give the byte-identical schedule (the seed drives every random choice, and the
route search is deterministic). The service stores plans; route.py solves each day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely

from saferhub.errors import SaferhubError
from saferhub.patrol.route import DayRoutes, Stop, solve_day

LONDON = ZoneInfo("Europe/London")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SCHEDULE_COLUMNS = ["team", "date", "area_id", "area_name", "planned_start", "planned_end"]


@dataclass
class Team:
    name: str
    x: float                   # station (start and end point), BNG metres
    y: float
    shift_start: str = "10:00"
    shift_end: str = "18:00"
    patrol_hours: float = 4.0  # hours of each shift given to hotspot patrol (walking included)
    officers: int = 2          # officers in the patrol
    days: str = ",".join(WEEKDAYS)


@dataclass
class PlanParams:
    start: str                          # first day, YYYY-MM-DD
    days: int = 7
    seed: int = 0
    visit_minutes: int = 15             # Koper: about 15 minutes gives the longest residual deterrence
    visits_per_area_per_day: int = 2
    min_gap_hours: float = 2.0          # between visits to one area
    window_minutes: int = 30            # a visit may start this much either side of its drawn time
    walk_kmh: float = 4.8
    detour: float = 1.3                 # streets are longer than straight lines
    weekly_officer_hours: float | None = None   # cap per team per week (all officers), if any
    crossover: bool = False             # random patrol / control days per area, balanced by weekday
    time_limit_s: float = 5.0           # per day, a safety cap on the route search


@dataclass
class Plan:
    plan_id: str
    created: str
    seed: int
    start: str
    end: str
    parameters: dict
    area_ids: list
    teams: list
    crossover: list                      # [{area_id, date, arm}]
    schedule: pd.DataFrame               # SCHEDULE_COLUMNS (+ team-internal order)
    not_fitted: list = field(default_factory=list)
    power: dict | None = None
    reasons: dict = field(default_factory=dict)    # area_id -> why it was chosen
    simulated: bool = False
    summary: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"plan_id": self.plan_id, "created": self.created, "seed": self.seed, "start": self.start,
                "end": self.end, "parameters": self.parameters, "area_ids": self.area_ids, "teams": self.teams,
                "crossover": self.crossover, "not_fitted": self.not_fitted, "power": self.power,
                "reasons": self.reasons, "summary": self.summary, "simulated": self.simulated}


def _minutes(hhmm: str) -> int:
    try:
        h, m = (int(p) for p in str(hhmm).split(":"))
    except ValueError:
        raise SaferhubError(f"shift time {hhmm!r} is not HH:MM") from None
    if not (0 <= h <= 24 and 0 <= m < 60):
        raise SaferhubError(f"shift time {hhmm!r} is not HH:MM")
    return h * 60 + m


def crossover_design(area_ids, dates, rng) -> list[dict]:
    """Each day half the areas are patrol and the rest control (with an odd number of areas the
    spare one goes to patrol every other day, so weekdays a week apart balance), chosen so every
    area's patrol and control days differ by at most one (areas with fewer patrol days so far go
    first, ties broken at random). Balanced by date, hence by weekday."""
    n = len(area_ids)
    patrol_days = np.zeros(n, int)
    out = []
    for j, d in enumerate(dates):
        order = np.lexsort((rng.random(n), patrol_days))
        chosen = set(order[: n // 2 + (n % 2) * (j % 2)].tolist())
        for i, a in enumerate(area_ids):
            arm = "patrol" if i in chosen else "control"
            patrol_days[i] += arm == "patrol"
            out.append({"area_id": a, "date": d, "arm": arm})
    return out


def minimum_detectable_effect(daily_rate: np.ndarray, patrol_days: int, control_days: int,
                              alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest fall d in crime on patrol days a crossover of this size detects (two-sided Wald
    test of the Poisson rate ratio on the log scale), solving
    -log(1 - d) = (z_a/2 + z_b) * sqrt(1 / (E_patrol (1 - d)) + 1 / E_control)
    where E are the expected crimes on patrol and control days without patrol."""
    from scipy.optimize import brentq
    from scipy.stats import norm

    lam = float(np.sum(daily_rate))
    e_p, e_c = lam * patrol_days, lam * control_days
    if e_p <= 0 or e_c <= 0:
        return float("nan")
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    f = lambda d: -np.log1p(-d) - z * np.sqrt(1 / (e_p * (1 - d)) + 1 / e_c)  # noqa: E731
    grid = np.linspace(0.0, 0.99, 100)
    up = np.flatnonzero(f(grid) >= 0)   # f rises from below 0, then falls again near d = 1
    if up.size == 0:
        return 1.0                       # too little crime: no fall short of 100% is detectable
    return float(brentq(f, grid[up[0] - 1], grid[up[0]]))


def draw_times(rng, lo: int, hi: int, count: int, gap: int, weights=None) -> list[int]:
    """Up to `count` start minutes in [lo, hi], at least `gap` apart, at random (weighted by
    hour when `weights`, 24 values, are given)."""
    if hi < lo:
        return []
    minutes = np.arange(lo, hi + 1)
    p = None
    if weights is not None:
        p = np.asarray(weights, float)[(minutes // 60) % 24] + 1e-9
        p = p / p.sum()
    for _ in range(50):
        times = np.sort(rng.choice(minutes, size=min(count, minutes.size), replace=False, p=p))
        if np.all(np.diff(times) >= gap):
            return [int(t) for t in times]
    return [int(rng.choice(minutes, p=p))] if count else []


def make_plan(areas, teams: list[Team], params: PlanParams, hot_profile: np.ndarray | None = None,
              history_days: float | None = None, created: str | None = None) -> Plan:
    """Build a plan. areas: ranked GeoDataFrame (area_id, name, rank, harm, count, reason);
    hot_profile: (n_areas, 168) partner incidents per hour of the week (Mon 00h first);
    history_days: days the areas' counts cover (for the power figure)."""
    if not teams:
        raise SaferhubError("a plan needs at least one team")
    if params.days < 1:
        raise SaferhubError("a plan needs at least one day")
    rng = np.random.default_rng(params.seed)
    first = dt.date.fromisoformat(params.start)
    dates = [first + dt.timedelta(days=i) for i in range(params.days)]
    ids = areas["area_id"].astype(str).tolist()
    cen = shapely.centroid(np.asarray(areas.geometry.values, dtype=object))
    ax, ay = shapely.get_x(cen), shapely.get_y(cen)
    harm = areas["harm"].to_numpy(float)
    names = areas["name"].astype(str).tolist()
    cross = crossover_design(ids, [d.isoformat() for d in dates], rng) if params.crossover else []
    arm = {(c["area_id"], c["date"]): c["arm"] for c in cross}
    speed = params.walk_kmh * 1000 / 60
    gap = int(params.min_gap_hours * 60) + 2 * params.window_minutes
    rows, dropped, limits = [], [], 0
    week_used: dict = {}
    for d in dates:
        wd = d.weekday()
        on = [t for t in teams if WEEKDAYS[wd] in [s.strip()[:3].title() for s in t.days.split(",")]]
        patrol = [i for i, a in enumerate(ids) if arm.get((a, d.isoformat()), "patrol") == "patrol"]
        if not on:
            dropped += [{"area_id": ids[i], "date": d.isoformat(), "reason": "no team on duty that day"}
                        for i in patrol]
            continue
        lo = min(_minutes(t.shift_start) for t in on)
        hi = max(_minutes(t.shift_end) for t in on) - params.visit_minutes
        vi, vx, vy, win, prize, visit_no = [], [], [], [], [], []
        for i in patrol:
            w = None if hot_profile is None else hot_profile[i, wd * 24:(wd + 1) * 24]
            for j, tmin in enumerate(draw_times(rng, lo, hi, params.visits_per_area_per_day, gap, w)):
                vi.append(i)
                vx.append(ax[i])
                vy.append(ay[i])
                win.append((max(lo, tmin - params.window_minutes), min(hi, tmin + params.window_minutes)))
                prize.append(harm[i] / (j + 1))   # a second visit the same day is worth less
                visit_no.append(j + 1)
        week = (d - first).days // 7
        budgets = []
        for t in on:
            b = t.patrol_hours * 60
            if params.weekly_officer_hours is not None:
                left = params.weekly_officer_hours - week_used.get((t.name, week), 0.0)
                b = min(b, max(left, 0.0) * 60 / t.officers)
            budgets.append(int(b))
        day = _solve_by_beat(vi, vx, vy, win, prize, on, budgets, params, speed, ax, ay)
        limits += day.hit_time_limit
        used = {}
        for s in day.stops:
            t = on[s.team]
            i = vi[s.node]
            start = dt.datetime.combine(d, dt.time()) + dt.timedelta(minutes=s.arrive)
            start = start.replace(tzinfo=LONDON)
            end = start + dt.timedelta(minutes=params.visit_minutes)
            rows.append((t.name, d.isoformat(), ids[i], names[i], start.isoformat(), end.isoformat()))
            used[t.name] = used.get(t.name, 0) + params.visit_minutes
        for v, t in enumerate(on):
            mins = used.get(t.name, 0) + day.walk_minutes.get(v, 0)
            week_used[(t.name, week)] = week_used.get((t.name, week), 0.0) + mins / 60 * t.officers
        for node in day.dropped:
            i = vi[node]
            dropped.append({"area_id": ids[i], "date": d.isoformat(), "visit": visit_no[node],
                            "reason": _why_dropped(ax[i], ay[i], win[node], on, budgets, params, speed)})
    schedule = pd.DataFrame(rows, columns=SCHEDULE_COLUMNS).sort_values(
        ["date", "team", "planned_start", "area_id"], kind="stable").reset_index(drop=True)
    power = None
    if params.crossover and history_days:
        n_p = sum(c["arm"] == "patrol" for c in cross) / max(len(ids), 1)
        n_c = params.days - n_p
        rate = areas["count"].to_numpy(float) / history_days
        mde = minimum_detectable_effect(rate, n_p, n_c)
        power = {"minimum_detectable_effect": mde, "alpha": 0.05, "power": 0.8,
                 "crimes_per_day_in_areas": float(rate.sum()), "patrol_days_per_area": n_p,
                 "control_days_per_area": n_c,
                 "sentence": f"With {params.days} days this crossover can detect a fall of {mde:.0%} or more "
                             f"in crime on patrol days (80% power, 5% two-sided)."}
    param_doc = asdict(params)
    digest = hashlib.sha256(json.dumps([param_doc, [asdict(t) for t in teams], ids,
                                        harm.round(6).tolist()], sort_keys=True).encode()).hexdigest()
    planned = len(schedule)
    summary = {"visits_planned": planned, "visits_not_fitted": len(dropped),
               "officer_hours_on_visits": float(schedule["team"].map({t.name: t.officers for t in teams}).sum()
                                                * params.visit_minutes / 60),
               "route_time_limit_reached_days": int(limits)}
    return Plan(plan_id=f"plan-{params.start}-{digest[:8]}", created=created or
                dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), seed=params.seed,
                start=dates[0].isoformat(), end=dates[-1].isoformat(), parameters=param_doc, area_ids=ids,
                teams=[asdict(t) for t in teams], crossover=cross, schedule=schedule, not_fitted=dropped,
                power=power, reasons=dict(zip(ids, areas["reason"].astype(str))) if "reason" in areas else {},
                summary=summary)


def beats(ax, ay, team_xy, order=None) -> np.ndarray:
    """Each area's team: the nearest station whose beat is not yet full (at most 1.25 x an even
    share), areas taken best-ranked first — so the teams' loads stay even and each team's route
    is a small problem the solver finishes quickly."""
    n, k = len(ax), len(team_xy)
    cap = int(np.ceil(1.25 * n / k))
    d = np.hypot(np.asarray(ax)[:, None] - team_xy[:, 0][None, :], np.asarray(ay)[:, None] - team_xy[:, 1][None, :])
    load = np.zeros(k, int)
    out = np.full(n, -1)
    for i in (range(n) if order is None else order):
        for v in np.argsort(d[i], kind="stable"):
            if load[v] < cap:
                out[i] = v
                load[v] += 1
                break
    return out


def _solve_by_beat(vi, vx, vy, win, prize, on, budgets, params, speed, ax, ay) -> DayRoutes:
    """One route problem per team over its beat's visits; merged into one day."""
    team_xy = np.array([(t.x, t.y) for t in on], float)
    beat = beats(ax, ay, team_xy)
    vi = np.asarray(vi, int)
    stops, dropped, walked, limit = [], [], {}, False
    for v, t in enumerate(on):
        mine = np.flatnonzero(beat[vi] == v) if vi.size else np.zeros(0, int)
        r = solve_day(np.asarray(vx)[mine], np.asarray(vy)[mine], [win[j] for j in mine], params.visit_minutes,
                      np.asarray(prize)[mine], [(t.x, t.y)], [(_minutes(t.shift_start), _minutes(t.shift_end))],
                      [budgets[v]], speed_m_min=speed, detour=params.detour, time_limit_s=params.time_limit_s)
        stops += [Stop(int(mine[s.node]), v, s.arrive) for s in r.stops]
        dropped += [int(mine[j]) for j in r.dropped]
        walked[v] = r.walk_minutes.get(0, 0)
        limit |= r.hit_time_limit
    return DayRoutes(stops, sorted(dropped), walked, limit)


def _why_dropped(x, y, window, on, budgets, params, speed) -> str:
    """Plain words for a visit left out: out of reach, or the hours went on more harm."""
    best = None
    for t, b in zip(on, budgets):
        walk = np.hypot(t.x - x, t.y - y) * params.detour / speed
        need = 2 * walk + params.visit_minutes
        reach = _minutes(t.shift_start) + walk <= window[1] and need <= b
        best = need if best is None else min(best, need)
        if reach:
            return "capacity: the teams' patrol hours went on higher-harm visits"
    return (f"out of reach: the nearest team needs {best:.0f} minutes there and back, more than its "
            f"patrol budget or its shift allows")


def hour_of_week_profile(areas, times_utc, x, y) -> np.ndarray:
    """Partner incidents per area per hour of the week (Europe/London, Mon 00h = 0): the hot
    times that weight the visit times. times_utc: tz-aware timestamps."""
    from saferhub.patrol.locate import AreaIndex

    idx = AreaIndex(areas.geometry.values).assign(x, y)
    t = pd.DatetimeIndex(pd.to_datetime(times_utc, utc=True)).tz_convert("Europe/London")
    how = (t.day_of_week * 24 + t.hour).to_numpy()   # float, NaN where the time is missing
    ok = (idx >= 0) & ~np.asarray(pd.isna(t))
    prof = np.zeros((len(areas), 168))
    np.add.at(prof, (idx[ok], how[ok].astype(np.int64)), 1.0)
    return prof
