"""Routes for one day: which areas each team visits, in what order and when, to cover the most
harm in its shift — a team orienteering problem with time windows, solved by OR-Tools routing.

Each wanted visit is a node with a prize (the area's harm): leaving it out costs its prize (a
disjunction penalty), so the solver keeps the visits that cover the most harm it can fit. The
time dimension carries walking (straight-line distance x detour factor / walking speed) plus
the visit itself; each visit must start inside its window; each team starts and ends at its
station within its shift and spends at most its patrol budget. The search is greedy descent
from the cheapest-arc first solution (deterministic: the same inputs give the same routes);
the time limit is a safety cap, and the plan says when it was reached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRIZE_SCALE = 1000.0   # OR-Tools costs are integers: harm x 1000 keeps three decimals


@dataclass
class Stop:
    node: int          # index into the visits given
    team: int
    arrive: int        # minute of the day the visit starts


@dataclass
class DayRoutes:
    stops: list[Stop]
    dropped: list[int]          # visit indices left out
    walk_minutes: dict          # team -> minutes walked
    hit_time_limit: bool


def solve_day(vx, vy, windows, service: int, prizes, team_xy, shifts, budgets, *, speed_m_min: float,
              detour: float, time_limit_s: float = 5.0) -> DayRoutes:
    """vx, vy: visit locations (BNG m); windows: (n, 2) earliest/latest start minute; service:
    minutes per visit; prizes: harm per visit; team_xy: (k, 2) stations; shifts: (k, 2) shift
    start/end minutes; budgets: patrol minutes per team (walking + visits)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(vx)
    k = len(team_xy)
    if n == 0 or k == 0:
        return DayRoutes([], list(range(n)), {}, False)
    px = np.r_[np.asarray(team_xy, float)[:, 0], np.asarray(vx, float)]
    py = np.r_[np.asarray(team_xy, float)[:, 1], np.asarray(vy, float)]
    dist = np.hypot(px[:, None] - px[None, :], py[:, None] - py[None, :]) * detour
    walk = np.ceil(dist / speed_m_min).astype(np.int64)   # whole minutes, rounded up: never optimistic
    serve = np.r_[np.zeros(k, np.int64), np.full(n, int(service))]
    transit = (walk + serve[:, None]).tolist()             # leaving node i: its visit, then the walk
    walk_l = walk.tolist()
    manager = pywrapcp.RoutingIndexManager(k + n, k, list(range(k)), list(range(k)))
    routing = pywrapcp.RoutingModel(manager)

    def time_cb(i, j):
        return transit[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def walk_cb(i, j):
        return walk_l[manager.IndexToNode(i)][manager.IndexToNode(j)]

    t_idx = routing.RegisterTransitCallback(time_cb)
    w_idx = routing.RegisterTransitCallback(walk_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(w_idx)   # among equal prizes, walk less
    horizon = 24 * 60 * 2
    routing.AddDimension(t_idx, horizon, horizon, False, "time")
    time = routing.GetDimensionOrDie("time")
    routing.AddDimensionWithVehicleCapacity(t_idx, 0, [int(b) for b in budgets], True, "budget")
    for v in range(k):
        time.CumulVar(routing.Start(v)).SetRange(int(shifts[v][0]), int(shifts[v][1]))
        time.CumulVar(routing.End(v)).SetRange(int(shifts[v][0]), int(shifts[v][1]))
    for i in range(n):
        idx = manager.NodeToIndex(k + i)
        lo, hi = int(windows[i][0]), int(windows[i][1])
        time.CumulVar(idx).SetRange(lo, hi)
        routing.AddDisjunction([idx], int(round(float(prizes[i]) * PRIZE_SCALE)) + 1)
    for v in range(k):
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(v)))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return DayRoutes([], list(range(n)), {}, False)
    stops, seen, walked = [], set(), {}
    for v in range(k):
        idx = routing.Start(v)
        total = 0
        while not routing.IsEnd(idx):
            nxt = solution.Value(routing.NextVar(idx))
            total += walk_l[manager.IndexToNode(idx)][manager.IndexToNode(nxt)]
            idx = nxt
            node = manager.IndexToNode(idx)
            if node >= k:
                stops.append(Stop(node - k, v, int(solution.Min(time.CumulVar(idx)))))
                seen.add(node - k)
        walked[v] = total
    partial = routing.status() == 2   # ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED: the cap hit
    return DayRoutes(stops, [i for i in range(n) if i not in seen], walked, partial)
