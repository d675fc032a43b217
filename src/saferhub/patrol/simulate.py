"""SIMULATED GPS tracks of patrol teams walking a plan, with known truth, for tests and demos.

Nothing here is real: every row carries simulated=true and files are named "simulated-...".
The generator (documented in docs/patrol.md):
  - each team (two officers, one radio each) delivers a planned visit with probability
    `compliance` (studies find ~55%), arriving within +-10 minutes of the planned start and
    staying 0.8-1.3 x the planned length, walking between random points inside the area;
  - teams walk at 1.4 m/s between areas; with probability `drive_by` a trip is by car (12 m/s)
    through the middle of another area (a drive-by that must not count as a visit);
  - each radio pings every `interval` seconds (+-10%; default drawn from 10 s to 5 minutes per
    radio), with fix errors from a Gaussian whose 95% radius is the reported accuracy (5-30 m),
    drop-outs (2-6 minute silences), and faults: no fix, poor accuracy, repeated rows, rows out of
    order, and 20 km spikes;
  - times are written with their Europe/London offset, so a clock-change day is handled as data.
The truth is the true (noise-free) track's time in each area buffered by `buffer` metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from saferhub.patrol.locate import AreaIndex, effective_areas

WALK = 1.4     # m/s
DRIVE = 12.0   # m/s
LABEL = "SIMULATED"


@dataclass
class Simulation:
    pings: pd.DataFrame    # the CSV rows, file order: device, time, lon, lat, accuracy, speed, simulated
    truth: pd.DataFrame    # device, team, area_id, start, end (UTC), seconds: true time in each area
    faults: dict           # how many rows of each injected fault


def _inside_point(rng, poly):
    minx, miny, maxx, maxy = poly.bounds
    for _ in range(200):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(poly, x, y):
            return x, y
    c = poly.representative_point()
    return c.x, c.y


def _walkable(geoms, buffer):
    """Where patrols walk during a visit: the area's interior, 15 m in from its edge and clear of
    neighbouring areas (buffer + 30 m), so the truth belongs to the area visited."""
    out = []
    for k, g in enumerate(geoms):
        others = shapely.union_all(np.delete(geoms, k)) if len(geoms) > 1 else None
        inner = g.buffer(-15)
        if others is not None:
            clear = inner.difference(others.buffer(buffer + 30))
            inner = clear if clear.area > 0.1 * g.area else inner
        out.append(inner if not inner.is_empty else g)
    return out


def _holding_point(x, y, station, clear):
    """The first point from (x, y) towards the station that is clear of every area."""
    dx, dy = station[0] - x, station[1] - y
    length = max(np.hypot(dx, dy), 1.0)
    steps = np.arange(0.0, length + 10.0, 10.0)
    px, py = x + dx / length * steps, y + dy / length * steps
    free = ~shapely.contains_xy(clear, px, py)
    i = int(np.argmax(free)) if free.any() else len(steps) - 1
    return px[i], py[i]


def _team_track(rng, visits, geoms, inner, station, compliance, drive_by, area_order, clear):
    """Waypoints (t seconds, x, y) of one team's shift following its planned visits."""
    t0 = visits["start_s"].min() - 1800.0
    pts = [(t0, *station)]
    t, (x, y) = t0, station
    for v in visits.itertuples():
        if rng.random() >= compliance:
            continue   # not delivered: the team is elsewhere (at the station) for this one
        ex, ey = _inside_point(rng, inner[v.k])
        car = rng.random() < drive_by and len(geoms) > 1
        via = []
        if car:
            others = [k for k in area_order if k != v.k]
            c = geoms[others[rng.integers(len(others))]].centroid
            via = [(c.x, c.y)]
        legs = [(x, y), *via, (ex, ey)]
        dist = sum(np.hypot(b[0] - a[0], b[1] - a[1]) for a, b in zip(legs[:-1], legs[1:]))
        travel = dist / (DRIVE if car else WALK)
        arrive = max(t + travel, v.start_s + rng.uniform(-600, 600))
        depart = arrive - travel
        home = np.hypot(station[0] - x, station[1] - y) / WALK
        if depart - t > 2 * home + 1200:   # a long wait: back to the station and out again
            pts += [(t + home, *station), (depart - home, *station)]
        elif depart > t:   # a short one: step out of the areas towards the station and wait there
            hx, hy = _holding_point(x, y, station, clear)
            out_t = np.hypot(hx - x, hy - y) / WALK
            if depart - t > 2 * out_t:
                pts += [(t + out_t, hx, hy), (depart - out_t, hx, hy)]
            pts.append((depart, x, y))
        tt = depart
        for a, b in zip(legs[:-1], legs[1:]):
            tt += np.hypot(b[0] - a[0], b[1] - a[1]) / (DRIVE if car else WALK)
            pts.append((tt, *b))
        stay = (v.end_s - v.start_s) * rng.uniform(0.8, 1.3)
        n_legs = int(rng.integers(3, 7))
        for i in range(1, n_legs + 1):
            pts.append((arrive + stay * i / n_legs, *_inside_point(rng, inner[v.k])))
        t, (x, y) = arrive + stay, pts[-1][1:]
    back = np.hypot(station[0] - x, station[1] - y) / WALK
    pts.append((t + back, *station))
    pts.append((t + back + 1800.0, *station))
    return np.array(pts)


def _truth(track, index, ids, device, team):
    """The true track sampled each second: runs inside each buffered area."""
    ts = np.arange(track[0, 0], track[-1, 0], 1.0)
    xs, ys = np.interp(ts, track[:, 0], track[:, 1]), np.interp(ts, track[:, 0], track[:, 2])
    a = index.assign(xs, ys)
    edges = np.flatnonzero(np.diff(np.r_[-1, a, -1]) != 0)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        if a[lo] >= 0:
            rows.append((device, team, ids[a[lo]], ts[lo], ts[hi - 1] + 1.0))
    return rows


def simulate(areas, schedule: pd.DataFrame, seed: int = 0, interval: float | None = None,
             compliance: float = 0.55, drive_by: float = 0.15, buffer: float = 25.0,
             faults: bool = True, stations: dict | None = None) -> Simulation:
    """Walk every team of `schedule` (team, area_id, planned_start, planned_end) through `areas`
    (GeoDataFrame with area_id, geometry in BNG). interval: seconds between pings (None = drawn
    per radio from 10 s to 5 minutes). stations: team -> (x, y) start point."""
    from saferhub.geo.project import to_wgs84

    rng = np.random.default_rng(seed)
    ids = areas["area_id"].astype(str).to_numpy()
    geoms = np.asarray(areas.geometry.values, dtype=object)
    inner = _walkable(geoms, buffer)
    index = AreaIndex(effective_areas(geoms, buffer))
    k_of = {a: k for k, a in enumerate(ids)}
    sched = schedule.copy()
    sched["k"] = sched["area_id"].astype(str).map(k_of)
    if sched["k"].isna().any():
        raise ValueError("the schedule names areas that are not in the areas file")
    sched["start_s"] = _seconds(sched["planned_start"])
    sched["end_s"] = _seconds(sched["planned_end"])
    sched["day"] = pd.to_datetime(sched["planned_start"], utc=True).dt.tz_convert("Europe/London").dt.date
    union = shapely.union_all(geoms)
    clear = union.buffer(buffer + 60)
    shapely.prepare(clear)
    frames, truth = [], []
    for (team, _day), visits in sched.sort_values(["team", "start_s"]).groupby(["team", "day"], sort=True):
        if stations and team in stations:
            station = stations[team]
        else:   # a point 800 m east of the team's first area, outside every area
            c = geoms[int(visits["k"].iloc[0])].centroid
            station = (c.x + 800.0, c.y)
            while shapely.contains_xy(union.buffer(buffer + 50), *station):
                station = (station[0] + 200.0, station[1])
        track = _team_track(rng, visits, geoms, inner, station, compliance, drive_by, range(len(geoms)), clear)
        for officer in (1, 2):
            device = f"{LABEL}-{team}-{officer}"
            truth += _truth(track, index, ids, device, team)
            frames.append(_pings(rng, track, device, interval))
    pings = pd.concat(frames, ignore_index=True)
    counts = {}
    if faults:
        pings, counts = _faults(rng, pings)
    lon, lat = to_wgs84(pings["x"].to_numpy(), pings["y"].to_numpy())
    when = pd.to_datetime(pings["t"] * 1e6, unit="us", utc=True).dt.tz_convert("Europe/London")
    out = pd.DataFrame({
        "device": pings["device"], "time": when.dt.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "lon": np.round(lon, 7), "lat": np.round(lat, 7), "accuracy": np.round(pings["accuracy"], 1),
        "speed": np.round(pings["speed"], 2), "simulated": True})
    nofix = pings["nofix"].to_numpy()
    out["lon"] = out["lon"].astype(object).where(~nofix, "")
    out["lat"] = out["lat"].astype(object).where(~nofix, "")
    tr = pd.DataFrame(truth, columns=["device", "team", "area_id", "start", "end"])
    tr["seconds"] = tr["end"] - tr["start"]
    tr["start"] = pd.to_datetime(tr["start"] * 1e6, unit="us", utc=True)
    tr["end"] = pd.to_datetime(tr["end"] * 1e6, unit="us", utc=True)
    return Simulation(out, tr, counts)


def _seconds(times) -> np.ndarray:
    """Seconds since 1970 (UTC) of ISO strings or timestamps, whatever pandas' time unit."""
    return ((pd.to_datetime(times, utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds()).to_numpy()


def _pings(rng, track, device, interval):
    step = interval if interval is not None else float(rng.uniform(10, 300))
    span = track[-1, 0] - track[0, 0]
    gaps = step * rng.uniform(0.9, 1.1, int(span / step * 1.2) + 2)
    t = track[0, 0] + rng.uniform(0, step) + np.cumsum(gaps)
    t = np.floor(t[t < track[-1, 0]])   # whole seconds, as radios report
    t = np.unique(t)
    x, y = np.interp(t, track[:, 0], track[:, 1]), np.interp(t, track[:, 0], track[:, 2])
    seg = np.clip(np.searchsorted(track[:, 0], t, side="right") - 1, 0, len(track) - 2)
    d = np.hypot(np.diff(track[:, 1]), np.diff(track[:, 2])) / np.maximum(np.diff(track[:, 0]), 1e-9)
    acc = rng.uniform(5, 30, t.size)
    sigma = acc / 2.45   # the reported accuracy is the 95% radius of a 2-D Gaussian error
    keep = np.ones(t.size, bool)
    for _ in range(int(rng.poisson(span / 3600.0))):   # about one drop-out an hour
        s0 = rng.uniform(t[0], t[-1]) if t.size else 0
        keep &= ~((t >= s0) & (t < s0 + rng.uniform(120, 360)))
    reports_speed = rng.random() < 0.5
    return pd.DataFrame({
        "device": device, "t": t[keep], "x": (x + rng.normal(0, sigma))[keep],
        "y": (y + rng.normal(0, sigma))[keep], "accuracy": acc[keep],
        "speed": (d[seg] if reports_speed else np.full(t.size, np.nan))[keep], "nofix": False})


def _faults(rng, p):
    """Inject the faults real radios produce; returns the rows in file order and the counts."""
    n = len(p)
    p = p.copy()
    pick = lambda share: rng.random(n) < share  # noqa: E731
    nofix, poor, spike = pick(0.01), pick(0.01), pick(0.003)
    p.loc[nofix, "nofix"] = True
    p.loc[poor & ~nofix, "accuracy"] = 250.0
    p.loc[spike & ~nofix & ~poor, "x"] += 20_000.0
    dup = np.flatnonzero(pick(0.005))
    swap = np.flatnonzero(pick(0.005) & np.r_[p["device"].to_numpy()[1:] == p["device"].to_numpy()[:-1], False])
    order = np.arange(n).astype(float)
    order[swap] += 1.5   # the row is written after its successor: its time goes backwards
    rows = pd.concat([p, p.iloc[dup]], ignore_index=False)
    key = np.r_[order, order[dup] + 0.1]
    rows = rows.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    return rows, {"no fix": int(nofix.sum()), "poor accuracy": int((poor & ~nofix).sum()),
                  "spike": int((spike & ~nofix & ~poor).sum()), "repeated": int(dup.size),
                  "out of order": int(swap.size)}
