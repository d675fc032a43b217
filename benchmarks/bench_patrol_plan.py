"""A week's patrol plan for 200 areas and 20 teams (target <= 10 s), against the same problem
given to OR-Tools as ONE routing model over all teams (the undecomposed reference), each day
capped at the same total time.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_patrol_plan.py

Areas are 200 synthetic 300 m squares scattered over a 15 km x 15 km city (seeded), with harm
drawn from a lognormal; teams' stations are scattered the same way.
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import shapely


def synthetic(n_areas: int, n_teams: int, seed: int = 7):
    from saferhub.patrol.plan import Team

    rng = np.random.default_rng(seed)
    x = rng.uniform(330_000, 345_000, n_areas).round(-2)
    y = rng.uniform(385_000, 400_000, n_areas).round(-2)
    harm = rng.lognormal(8, 1, n_areas)
    order = np.argsort(-harm)
    areas = gpd.GeoDataFrame({"area_id": [f"PA-{i:04d}" for i in range(n_areas)],
                              "name": [f"Area {i}" for i in range(n_areas)], "harm": harm[order],
                              "count": rng.poisson(80, n_areas).astype(float), "rank": np.arange(1, n_areas + 1),
                              "reason": "synthetic"},
                             geometry=shapely.box(x[order], y[order], x[order] + 300, y[order] + 300), crs="EPSG:27700")
    tx, ty = rng.uniform(330_000, 345_000, n_teams), rng.uniform(385_000, 400_000, n_teams)
    teams = [Team(f"T{i:02d}", float(a), float(b), shift_start="08:00" if i % 2 else "14:00",
                  shift_end="16:00" if i % 2 else "22:00") for i, (a, b) in enumerate(zip(tx, ty))]
    return areas, teams


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--areas", type=int, default=200)
    ap.add_argument("--teams", type=int, default=20)
    ap.add_argument("--days", type=int, default=7)
    a = ap.parse_args()
    from saferhub.patrol import route
    from saferhub.patrol.plan import PlanParams, make_plan

    areas, teams = synthetic(a.areas, a.teams)
    params = PlanParams(start="2026-03-23", days=a.days, seed=1)
    t0 = time.perf_counter()
    plan = make_plan(areas, teams, params, created="bench")
    ours = time.perf_counter() - t0
    harm = dict(zip(areas["area_id"], areas["harm"]))
    ours_harm = sum(harm[x] for x in plan.schedule["area_id"])
    # reference: one model with every team, first day only, given our whole week's time
    from saferhub.patrol.plan import _minutes, draw_times

    rng = np.random.default_rng(1)
    c = shapely.centroid(np.asarray(areas.geometry.values, dtype=object))
    vx, vy, win, prize = [], [], [], []
    for i in range(len(areas)):
        for j, t in enumerate(draw_times(rng, 480, 1305, 2, 180)):
            vx.append(shapely.get_x(c[i]))
            vy.append(shapely.get_y(c[i]))
            win.append((max(480, t - 30), min(1305, t + 30)))
            prize.append(areas["harm"].iloc[i] / (j + 1))
    t0 = time.perf_counter()
    ref = route.solve_day(vx, vy, win, 15, prize, [(t.x, t.y) for t in teams],
                          [(_minutes(t.shift_start), _minutes(t.shift_end)) for t in teams], [240] * len(teams),
                          speed_m_min=80, detour=1.3, time_limit_s=max(ours, 1.0))
    one_day_ref = time.perf_counter() - t0
    day1 = plan.schedule[plan.schedule["date"] == "2026-03-23"]
    print(f"plan: {a.days} days, {a.areas} areas, {a.teams} teams: {ours:.2f} s "
          f"({len(plan.schedule)} visits planned, {len(plan.not_fitted)} not fitted; target <= 10 s)")
    print(f"reference (one OR-Tools model, all teams, day 1 only, capped at {max(ours, 1.0):.1f} s): "
          f"{one_day_ref:.2f} s for ONE day, {len(ref.stops)} visits; ours day 1: {len(day1)} visits")
    print(f"ratio ours(week) / reference(one day): {ours / one_day_ref:.2f}; harm covered by the week's plan "
          f"{ours_harm:,.0f}; time limit reached on {plan.summary['route_time_limit_reached_days']} day(s)")


if __name__ == "__main__":
    main()
