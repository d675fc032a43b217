"""Visit detection against hand-computed intervals at the rules' exact boundaries, and against a
brute-force, one-ping-at-a-time detector written here from the rules in visits.py's docstring
(loops over devices and pings; the box edges measured by hand, not by shapely)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely

from saferhub.patrol.visits import VisitRules, detect_visits, patrol_visits

T0 = 1_770_000_000               # seconds; a winter Sunday, no clock change nearby
BOX = (0.0, 0.0, 300.0, 300.0)
AREA = [shapely.box(*BOX)]
IN, OUT = 150.0, -500.0          # x of a ping in the middle of the box / far outside it


def run(times, xs, ys=None, dev="a", rules=VisitRules(), **kw):
    """detect_visits on one device; times in seconds from T0."""
    times = np.asarray(times, float)
    ys = np.full(times.size, 150.0) if ys is None else np.asarray(ys, float)
    kw.setdefault("accuracy", np.full(times.size, 5.0))
    return detect_visits(np.full(times.size, dev), ((T0 + times) * 1e6).astype(np.int64), np.asarray(xs, float), ys,
                         AREA, ["PA-1"], rules=rules, **kw)


# ---------------------------------------------------------------- hand-computed boundaries

def test_interval_ends_and_timestamps_by_hand():
    # outside at 0 and 100 s; inside at 400, 460, ..., 1000 s; outside at 1150 s and 2000 s
    t = [0, 100] + list(range(400, 1001, 60)) + [1150, 2000]
    x = [OUT, OUT] + [IN] * 11 + [OUT, OUT]
    det = run(t, x)
    v = det.visits
    assert (det.pings, det.in_areas, det.drive_bys, det.too_short) == (15, 11, 0, 0)
    assert len(v) == 1
    r = v.iloc[0]
    assert r["dwell_min_s"] == 600.0                       # 1000 - 400
    assert r["dwell_max_s"] == 600.0 + 300.0 + 150.0       # back to the ping at 100, on to 1150
    assert r["minutes_min"] == 10.0 and r["minutes_max"] == 17.5
    assert r["pings"] == 11 and r["area_id"] == "PA-1" and r["device"] == "a"
    ts = lambda s: pd.Timestamp((T0 + s) * 10**9, tz="UTC")  # noqa: E731
    assert (r["start"], r["end"]) == (ts(400), ts(1000))
    assert (r["earliest"], r["latest"]) == (ts(100), ts(1150))
    assert not r["simulated"]
    assert list(v.columns) == ["device", "area_id", "start", "end", "earliest", "latest", "dwell_min_s",
                               "dwell_max_s", "minutes_min", "minutes_max", "pings", "simulated"]


def test_unseen_time_is_capped_at_max_gap_each_side_and_at_the_radios_first_and_last_ping():
    # ping before 2000 s earlier, after 1000 s later: each side capped at 900 s
    v = run([0, 2000, 2300, 2600, 3600], [OUT, IN, IN, IN, OUT]).visits.iloc[0]
    assert (v["dwell_min_s"], v["dwell_max_s"]) == (600.0, 600.0 + 900.0 + 900.0)
    # the radio's first and last pings are in the area: nothing known either side, cap both
    v = run([0, 300], [IN, IN]).visits.iloc[0]
    assert (v["dwell_min_s"], v["dwell_max_s"]) == (300.0, 300.0 + 2 * 900.0)
    # a smaller max_gap caps at its own value
    v = run([0, 2000, 2300, 2600, 3600], [OUT, IN, IN, IN, OUT], rules=VisitRules(max_gap=120.0)).visits.iloc[0]
    assert v["dwell_max_s"] == 600.0 + 240.0


@pytest.mark.parametrize("gap,visits", [(900, 1), (901, 2)])
def test_merge_gap_is_inclusive(gap, visits):
    # 6 in-area pings a minute apart, `gap` seconds with no ping, 6 more
    a = np.arange(6) * 60.0
    t = np.r_[a, a[-1] + gap + a]
    det = run(t, np.full(t.size, IN))
    assert len(det.visits) == visits
    if visits == 1:
        assert det.visits["dwell_min_s"].iloc[0] == 300 + gap + 300
        assert det.visits["pings"].iloc[0] == 12


def test_merge_gap_bridges_pings_outside_but_a_longer_gap_splits():
    # in, out for 10 minutes (pings outside), in again: one visit; the pings outside do not split it
    t = [0, 60, 120, 180, 240, 300, 360, 420, 480, 540]
    x = [IN, IN, IN, OUT, OUT, OUT, OUT, IN, IN, IN]
    v = run(t, x).visits
    assert len(v) == 1 and v["pings"].iloc[0] == 6 and v["dwell_min_s"].iloc[0] == 540
    v = run(t, x, rules=VisitRules(merge_gap=240.0, min_dwell=60.0)).visits   # 120 -> 420 is 300 s > 240
    assert list(v["pings"]) == [3, 3]


@pytest.mark.parametrize("span,kept", [(300, True), (299, False)])
def test_min_dwell_is_inclusive(span, kept):
    t = [0.0, span / 2, float(span)]
    det = run(t, [IN] * 3)
    assert (len(det.visits) == 1) is kept
    assert det.too_short == (0 if kept else 1)
    assert det.drive_bys == 0


@pytest.mark.parametrize("fast,drive_by", [(2, False), (3, True)])
def test_drive_by_needs_more_than_half_the_pings_fast(fast, drive_by):
    # 4 in-area pings over 10 minutes, `fast` of them reporting 10 m/s, the rest 1 m/s
    speed = np.r_[np.full(fast, 10.0), np.full(4 - fast, 1.0)]
    det = run([0, 200, 400, 600], [IN] * 4, speed=speed)
    assert det.drive_bys == int(drive_by)
    assert len(det.visits) == int(not drive_by)


def test_vehicle_speed_threshold_is_strict_and_reported_nan_falls_back_to_implied():
    det = run([0, 200, 400, 600], [IN] * 4, speed=np.full(4, 4.0))      # exactly 4 m/s: not a vehicle
    assert det.drive_bys == 0 and len(det.visits) == 1
    det = run([0, 200, 400, 600], [IN] * 4, speed=np.full(4, 4.001))
    assert det.drive_bys == 1 and det.visits.empty
    # NaN reported speed: the implied speed (standing still: 0) is used, so no drive-by
    det = run([0, 200, 400, 600], [IN] * 4, speed=np.array([np.nan, np.nan, np.nan, 9.0]))
    assert det.drive_bys == 0 and len(det.visits) == 1


def test_implied_speed_is_the_slower_neighbour_over_at_least_20_seconds():
    # pings every 10 s stepping 60 m: 6 m/s over 10 s, but the 20 s floor makes it 3 m/s: a walk
    t = np.arange(0, 400, 10.0)
    x = 10 + (np.arange(t.size) * 60.0) % 280
    det = run(t, x)
    assert det.drive_bys == 0 and len(det.visits) == 1
    # the same steps every 20 s imply 3 m/s; every 12 s with 100 m steps imply 100/20 = 5 m/s: a vehicle
    x2 = 10 + (np.arange(t.size) * 100.0) % 280
    det = run(np.arange(t.size) * 12.0, x2)
    assert det.drive_bys == 1
    # one fast jump between two still stretches: the slower of the two neighbours decides, so each
    # ping next to the jump is still slow (v_in 0 or v_out 0) and there is no drive-by
    t = np.arange(0, 600, 60.0)
    x = np.r_[np.full(5, 50.0), np.full(5, 250.0)]
    det = run(t, x, speed=None)
    assert det.drive_bys == 0 and len(det.visits) == 1


def test_buffer_counts_pings_just_outside_the_area():
    t = [0, 100, 200, 300, 400]
    near_outside = [-400, -20, -20, -20, -400]              # 20 m west of the box: inside a 25 m buffer
    det = run(t + [500, 600], near_outside + [-20, -400], accuracy=np.full(7, 1.0))
    assert det.in_areas == 4 and len(det.visits) == 1
    det = run(t + [500, 600], near_outside + [-20, -400], accuracy=np.full(7, 1.0), rules=VisitRules(buffer=15.0))
    assert det.in_areas == 0 and det.visits.empty


def test_a_first_or_last_ping_near_the_edge_narrows_the_least_dwell():
    # in-area pings at 0..600 s; the first one is 10 m inside the edge (of the box grown by 25 m)
    t = [-100, 0, 100, 200, 300, 400, 500, 600, 700]
    x = [OUT, -15.0, IN, IN, IN, IN, IN, IN, OUT]
    acc = np.full(9, 5.0)
    assert run(t, x, accuracy=acc).visits["dwell_min_s"].iloc[0] == 600       # 10 m > 5 m accuracy
    acc[1] = 10.0                                                             # within accuracy (<=)
    assert run(t, x, accuracy=acc).visits["dwell_min_s"].iloc[0] == 500
    acc[1] = np.nan                                                           # default accuracy 20 m
    assert run(t, x, accuracy=acc).visits["dwell_min_s"].iloc[0] == 500
    acc[1] = 5.0
    x[7] = 315.0                                                              # last in-area ping 10 m in
    acc[7] = 15.0
    assert run(t, x, accuracy=acc).visits["dwell_min_s"].iloc[0] == 500       # 0 .. 500
    # no accuracy column at all: every fix gets the default 20 m
    v = run(t, x, accuracy=None).visits.iloc[0]
    assert v["dwell_min_s"] == 400                                            # 100 .. 500
    assert run(t, x, accuracy=None, rules=VisitRules(default_accuracy=5.0)).visits["dwell_min_s"].iloc[0] == 600


def test_a_bounding_ping_near_the_edge_widens_the_most_dwell_by_one_more_ping():
    # ping before the visit is 10 m outside the buffered edge (35 m outside the box) with 30 m
    # accuracy: it may have been inside, so the interval reaches back to the ping before it
    t = [-900, -300, 0, 200, 400, 600, 900, 1000]
    x = [OUT, -35.0, IN, IN, IN, IN, OUT, OUT]
    acc = np.r_[5.0, 30.0, np.full(6, 5.0)]
    v = run(t, x, accuracy=acc).visits.iloc[0]
    assert v["dwell_max_s"] == 600 + (300 + 600) + 300
    acc[1] = 5.0
    assert run(t, x, accuracy=acc).visits["dwell_max_s"].iloc[0] == 600 + 300 + 300
    # the same on the far side: ping after 5 m outside the buffered edge, accuracy 5
    x2 = [OUT, OUT, IN, IN, IN, IN, 330.0, OUT]
    acc2 = np.full(8, 5.0)
    assert run(t, x2, accuracy=acc2).visits["dwell_max_s"].iloc[0] == 600 + 300 + 300 + 100
    # the widened side is capped too: 2000 s before the bounding ping counts as max_gap
    t3 = [-2300, -300, 0, 200, 400, 600, 900, 1000]
    assert run(t3, x, accuracy=np.r_[5.0, 30.0, np.full(6, 5.0)]).visits["dwell_max_s"].iloc[0] == \
        600 + (300 + 900) + 300


def test_one_ping_run_near_the_edge_keeps_itself():
    # a single in-area ping cannot narrow to an inner one; min dwell 0 < 300: too short, no crash
    det = run([0, 300, 600], [OUT, 5.0, OUT], accuracy=np.full(3, 20.0))
    assert det.too_short == 1 and det.visits.empty
    det = run([0, 300, 600], [OUT, 5.0, OUT], accuracy=np.full(3, 20.0), rules=VisitRules(min_dwell=0.0))
    v = det.visits.iloc[0]
    assert (v["dwell_min_s"], v["pings"]) == (0.0, 1)


def test_devices_do_not_leak_into_each_other():
    # device a's last ping is inside and device b's first ping is inside, adjacent after sorting:
    # neither borrows the other's pings for gaps, speeds or runs
    t = np.r_[0, 300, 600, 900]
    dev = np.array(["a", "a", "b", "b"])
    x = np.array([IN, IN, IN, 10_000.0 + IN])
    det = detect_visits(dev, ((T0 + np.r_[t[:2], t[:2] + 5]) * 1e6).astype(np.int64), x, np.full(4, 150.0), AREA,
                        ["PA-1"], accuracy=np.full(4, 5.0))
    v = det.visits
    assert list(v["device"]) == ["a"] and v["dwell_max_s"].iloc[0] == 300 + 1800
    assert det.drive_bys == 1 and det.too_short == 0   # b: one ping, then 10 km away 5 s later: 500 m/s


def test_integer_device_codes_are_kept_and_out_of_order_rows_give_the_same_visits():
    rng = np.random.default_rng(3)
    t = np.r_[np.arange(0, 1200, 60.0), np.arange(0, 1200, 60.0) + 7]
    dev = np.r_[np.zeros(20, int), np.ones(20, int)]
    x = np.r_[np.full(3, OUT), np.full(14, IN), np.full(3, OUT)] .tolist() * 2
    acc = rng.uniform(3, 30, 40)
    sim = np.r_[np.zeros(25, bool), True, np.zeros(14, bool)]
    kw = dict(areas=AREA, area_ids=["PA-1"], simulated=sim)
    us = ((T0 + t) * 1e6).astype(np.int64)
    a = detect_visits(dev, us, np.array(x), np.full(40, 150.0), accuracy=acc, **kw)
    perm = rng.permutation(40)
    b = detect_visits(dev[perm], us[perm], np.array(x)[perm], np.full(40, 150.0), accuracy=acc[perm],
                      simulated=sim[perm], areas=AREA, area_ids=["PA-1"])
    pd.testing.assert_frame_equal(a.visits, b.visits)
    assert list(a.visits["device"]) == [0, 1]
    assert list(a.visits["simulated"]) == [False, True]
    assert list(a.visits["pings"]) == [14, 14]


def test_no_pings_in_any_area():
    det = run([0, 60, 120], [OUT, OUT, OUT])
    assert det.visits.empty and (det.pings, det.in_areas, det.drive_bys, det.too_short) == (3, 0, 0, 0)
    assert list(det.visits.columns)[:4] == ["device", "area_id", "start", "end"]


# ---------------------------------------------------------------- brute force on random tracks

BOXES = [(0.0, 0.0, 300.0, 300.0), (1000.0, 0.0, 1300.0, 300.0)]


def _inside(b, x, y):
    return b[0] < x < b[2] and b[1] < y < b[3]


def _edge_distance(b, x, y):
    if _inside(b, x, y):
        return min(x - b[0], b[2] - x, y - b[1], b[3] - y)
    dx = max(b[0] - x, 0.0, x - b[2])
    dy = max(b[1] - y, 0.0, y - b[3])
    return math.hypot(dx, dy)


def brute_force(dev, t, x, y, acc, speed, sim, rules):
    """One device at a time, one ping at a time, straight from the rules."""
    rows, drive_bys, too_short, in_areas = [], 0, 0, 0
    for d in sorted(set(dev)):
        k = sorted((i for i in range(len(dev)) if dev[i] == d), key=lambda i: t[i])
        P = [dict(t=t[i], x=x[i], y=y[i], acc=acc[i] if np.isfinite(acc[i]) else rules.default_accuracy,
                  v=speed[i], sim=sim[i]) for i in k]
        area = [next((a for a, b in enumerate(BOXES) if _inside(b, p["x"], p["y"])), -1) for p in P]
        in_areas += sum(a >= 0 for a in area)

        def gap(i, j):
            return abs(P[j]["t"] - P[i]["t"]) if 0 <= j < len(P) else math.inf

        def implied(i):
            vs = [math.hypot(P[j]["x"] - P[i]["x"], P[j]["y"] - P[i]["y"]) / max(gap(i, j), 20.0)
                  for j in (i - 1, i + 1) if 0 <= j < len(P)]
            return min(vs) if vs else 0.0

        for a in range(len(BOXES)):
            mine = [i for i in range(len(P)) if area[i] == a]
            runs, cur = [], []
            for i in mine:
                if cur and P[i]["t"] - P[cur[-1]]["t"] > rules.merge_gap:
                    runs.append(cur)
                    cur = []
                cur.append(i)
            if cur:
                runs.append(cur)
            for r in runs:
                near = lambda i: _edge_distance(BOXES[a], P[i]["x"], P[i]["y"]) <= P[i]["acc"]  # noqa: E731
                f, l = r[0], r[-1]
                lo = r[1] if near(f) and len(r) > 1 else f
                hi = r[-2] if near(l) and len(r) > 1 else l
                dmin = max(P[hi]["t"] - P[lo]["t"], 0.0)
                before = min(gap(f, f - 1), rules.max_gap)
                if f > 0 and near(f - 1):
                    before += min(gap(f - 1, f - 2), rules.max_gap)
                after = min(gap(l, l + 1), rules.max_gap)
                if l < len(P) - 1 and near(l + 1):
                    after += min(gap(l + 1, l + 2), rules.max_gap)
                v = [P[i]["v"] if np.isfinite(P[i]["v"]) else implied(i) for i in r]
                if 2 * sum(s > rules.vehicle_speed for s in v) > len(r):
                    drive_bys += 1
                    continue
                if dmin < rules.min_dwell:
                    too_short += 1
                    continue
                rows.append((d, f"A{a}", P[f]["t"], P[l]["t"], P[f]["t"] - before, P[l]["t"] + after, dmin,
                             P[l]["t"] - P[f]["t"] + before + after, len(r), any(P[i]["sim"] for i in r)))
    cols = ["device", "area_id", "start", "end", "earliest", "latest", "dwell_min_s", "dwell_max_s", "pings",
            "simulated"]
    return pd.DataFrame(rows, columns=cols).sort_values(["device", "start", "area_id"]).reset_index(drop=True), \
        drive_bys, too_short, in_areas


def _random_tracks(rng, devices=4, pings=120):
    dev, t, x, y = [], [], [], []
    for d in range(devices):
        now = float(rng.integers(0, 3600))
        px, py = 150.0, 150.0
        for _ in range(pings):
            now += float(rng.choice([5, 15, 30, 60, 120, 300, 600, 900, 901, 1500]))
            r = rng.random()
            if r < 0.08:       # jump to another place: in A, in B, outside, or just round an edge
                px, py = [(150.0, 150.0), (1150.0, 150.0), (-400.0, 600.0), (1150.0, -400.0)][rng.integers(4)]
            elif r < 0.2:
                px, py = rng.choice([1.5, 7.5, 298.5, 1003.5, 1296.5, -6.5, 306.5]) + 0.25, 150.25
            else:              # walk (sometimes run) a little
                px += rng.normal(0, 25 if rng.random() < 0.8 else 150)
                py += rng.normal(0, 25)
            dev.append(f"dev{d}")
            t.append(now)
            x.append(px)
            y.append(py)
    n = len(t)
    acc = rng.choice([3.0, 10.0, 20.0, 60.0, np.nan], n)
    speed = np.where(rng.random(n) < 0.3, rng.choice([0.5, 2.0, 4.0, 6.0], n), np.nan)
    sim = rng.random(n) < 0.05
    return np.array(dev), np.array(t), np.array(x), np.array(y), acc, speed, sim


@pytest.mark.parametrize("seed", range(6))
def test_equals_a_brute_force_detector_on_random_tracks(seed):
    rng = np.random.default_rng(seed)
    dev, t, x, y, acc, speed, sim = _random_tracks(rng)
    rules = VisitRules(buffer=0.0, min_dwell=[300.0, 120.0][seed % 2], merge_gap=[900.0, 400.0][seed % 3 == 0],
                       max_gap=[900.0, 600.0][seed % 2])
    want, drive_bys, too_short, in_areas = brute_force(dev, t, x, y, acc, speed, sim, rules)
    perm = rng.permutation(t.size)           # rows arrive out of order
    det = detect_visits(dev[perm], ((T0 + t[perm]) * 1e6).astype(np.int64), x[perm], y[perm],
                        [shapely.box(*b) for b in BOXES], ["A0", "A1"], speed=speed[perm], accuracy=acc[perm],
                        simulated=sim[perm], rules=rules)
    got = det.visits
    assert len(want) >= 5 and drive_bys + too_short >= 3          # the tracks exercise every rule
    assert (det.pings, det.in_areas, det.drive_bys, det.too_short) == (t.size, in_areas, drive_bys, too_short)
    assert list(got["device"]) == list(want["device"])
    assert list(got["area_id"]) == list(want["area_id"])
    for c in ("start", "end", "earliest", "latest"):
        assert np.allclose((got[c] - pd.Timestamp(T0, unit="s", tz="UTC")).dt.total_seconds().to_numpy(), want[c].to_numpy(), atol=1e-3), c
    np.testing.assert_allclose(got["dwell_min_s"], want["dwell_min_s"], atol=1e-6)
    np.testing.assert_allclose(got["dwell_max_s"], want["dwell_max_s"], atol=1e-6)
    np.testing.assert_allclose(got["minutes_min"], want["dwell_min_s"] / 60, atol=1e-8)
    np.testing.assert_allclose(got["minutes_max"], want["dwell_max_s"] / 60, atol=1e-8)
    assert list(got["pings"]) == list(want["pings"])
    assert list(got["simulated"]) == list(want["simulated"])


# ---------------------------------------------------------------- patrol visits (union of spans)

def _dv(rows):
    """rows: (device, area, start min, end min, earliest min, latest min, simulated)."""
    base = pd.Timestamp("2026-02-01 10:00", tz="UTC")
    m = lambda v: base + pd.Timedelta(minutes=v)  # noqa: E731
    return pd.DataFrame([{"device": d, "area_id": a, "start": m(s), "end": m(e), "earliest": m(lo), "latest": m(hi),
                          "simulated": sim} for d, a, s, e, lo, hi, sim in rows])


def test_patrol_visits_union_of_chained_spans_by_hand():
    dv = _dv([("a", "A", 0, 10, -5, 12, False), ("b", "A", 5, 20, 3, 25, False), ("c", "A", 18, 30, 15, 31, True),
              ("a", "A", 31, 40, 30, 45, False)])
    pv = patrol_visits(dv)
    assert len(pv) == 2
    r = pv.iloc[0]
    assert (r["minutes_min"], r["minutes_max"], r["devices"], bool(r["simulated"])) == (30.0, 36.0, 3, True)
    r = pv.iloc[1]
    assert (r["minutes_min"], r["minutes_max"], r["devices"], bool(r["simulated"])) == (9.0, 15.0, 1, False)
    assert list(pv.columns) == ["area_id", "start", "end", "earliest", "latest", "minutes_min", "minutes_max",
                                "devices", "simulated"]


def test_patrol_visits_touching_spans_join_and_a_one_second_gap_splits():
    dv = _dv([("a", "A", 0, 10, 0, 10, False), ("b", "A", 10, 20, 10, 20, False)])
    assert len(patrol_visits(dv)) == 1
    dv = _dv([("a", "A", 0, 10, 0, 10, False), ("b", "A", 10 + 1 / 60, 20, 10, 20, False)])
    assert len(patrol_visits(dv)) == 2


def test_patrol_visits_do_not_chain_across_areas():
    # area A's long visit ends after both of B's: the running end must restart in area B
    dv = _dv([("a", "A", 0, 100, 0, 100, False), ("b", "B", 10, 20, 10, 20, False), ("b", "B", 50, 60, 50, 60, False),
              ("c", "C", 70, 80, 70, 80, False), ("c", "C", 5, 8, 5, 8, False)])
    pv = patrol_visits(dv)
    assert list(pv["area_id"]) == ["A", "B", "B", "C", "C"]
    assert list(pv["minutes_min"]) == [100.0, 10.0, 10.0, 3.0, 10.0]
    assert patrol_visits(dv.iloc[:0]).empty
    assert list(patrol_visits(dv.iloc[:0]).columns)[-1] == "simulated"


# ---------------------------------------------------------------- rows out of order, the last ping, speeds

def _same_as_sorted(dev, t, x, rules=VisitRules(min_dwell=0.0)):
    """detect_visits on rows as given and on the same rows sorted by device then time."""
    dev, t, x = np.asarray(dev), np.asarray(t, float), np.asarray(x, float)
    us = ((T0 + t) * 1e6).astype(np.int64)
    order = np.lexsort((t, dev))
    kw = dict(areas=AREA, area_ids=["PA-1"], rules=rules)
    a = detect_visits(dev, us, x, np.full(t.size, 150.0), accuracy=np.full(t.size, 5.0), **kw)
    b = detect_visits(dev[order], us[order], x[order], np.full(t.size, 150.0), accuracy=np.full(t.size, 5.0), **kw)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    return b.visits


def test_unsorted_rows_of_every_kind_are_sorted_first():
    # two pings, newest first
    v = _same_as_sorted(["a", "a"], [300, 0], [IN, IN])
    assert (v["dwell_min_s"].iloc[0], v["dwell_max_s"].iloc[0]) == (300.0, 2100.0)
    # one radio, times running backwards
    v = _same_as_sorted(["a"] * 5, [1200, 900, 600, 300, 0], [OUT, IN, IN, IN, OUT])
    assert (v["dwell_min_s"].iloc[0], v["dwell_max_s"].iloc[0]) == (600.0, 1200.0)
    # two radios interleaved with times running forwards
    v = _same_as_sorted(["a", "b", "a", "b", "a", "b", "a", "b"], [0, 1, 300, 301, 600, 601, 900, 901],
                        [OUT, OUT, IN, IN, IN, IN, OUT, OUT])
    assert list(v["device"]) == ["a", "b"] and list(v["dwell_max_s"]) == [900.0, 900.0]
    # a later radio listed first, each radio in time order
    v = _same_as_sorted(["b", "b", "b", "a", "a", "a"], [0, 300, 600, 50, 350, 650], [OUT, IN, OUT, IN, IN, IN])
    assert list(v["device"]) == ["a", "b"] and list(v["dwell_min_s"]) == [600.0, 0.0]


def test_integer_codes_stay_integers_and_simulated_is_boolean():
    det = detect_visits(np.array([7, 7, 7]), ((T0 + np.array([0, 300, 600])) * 1e6).astype(np.int64),
                        np.full(3, IN), np.full(3, 150.0), AREA, ["PA-1"])
    v = det.visits
    assert v["device"].tolist() == [7] and v["device"].dtype.kind == "i"
    assert v["simulated"].dtype == bool and v["pings"].dtype.kind == "i"


def test_last_run_of_two_pings_with_the_first_near_the_edge():
    # the run is the last in-area run in the data: its inner ping is its second, not its first
    det = run([0, 400, 800], [-15.0, IN, OUT], rules=VisitRules(min_dwell=0.0), accuracy=np.array([20.0, 5, 5]))
    v = det.visits.iloc[0]
    assert (v["dwell_min_s"], v["pings"]) == (0.0, 2)


def test_the_ping_after_is_the_radios_last_and_only_it_is_tested_for_the_edge():
    # the last in-area ping is near the edge, the ping after it (the very last ping) is far out:
    # the interval is not stretched beyond that ping
    det = run([0, 300, 600, 900, 1000], [OUT, IN, IN, 320.0, OUT])
    v = det.visits.iloc[0]
    assert v["dwell_max_s"] == 600 + 300 + 100
    assert v["dwell_min_s"] == 300                          # the near-edge last ping is not counted


def test_implied_speed_floor_is_20_seconds_exactly():
    # zig-zag 82 m every 10 s: 82 / 20 = 4.1 m/s > 4: a vehicle (at a 21 s floor it would be 3.9)
    t = np.arange(0, 400, 10.0)
    x = np.where(np.arange(t.size) % 2 == 0, 100.0, 182.0)
    det = run(t, x)
    assert det.drive_bys == 1 and det.visits.empty
    x = np.where(np.arange(t.size) % 2 == 0, 100.0, 178.0)                    # 3.9 m/s: on foot
    assert run(t, x).drive_bys == 0


def test_a_lone_ping_has_no_implied_speed():
    # a radio with a single ping: no neighbour, speed 0, so under a very low vehicle_speed it is still
    # on foot (and with min_dwell 0 a visit of one ping)
    det = run([0], [IN], rules=VisitRules(vehicle_speed=0.5, min_dwell=0.0))
    assert det.drive_bys == 0 and len(det.visits) == 1


def test_patrol_visits_merge_overlaps_in_every_area_not_only_the_first():
    dv = _dv([("a", "A", 0, 10, 0, 10, False), ("a", "B", 0, 10, 0, 12, False), ("b", "B", 5, 15, 4, 16, False),
              ("c", "C", 40, 50, 40, 50, False), ("d", "C", 45, 60, 44, 60, True)])
    pv = patrol_visits(dv)
    assert list(pv["area_id"]) == ["A", "B", "C"]
    assert list(pv["minutes_min"]) == [10.0, 15.0, 20.0] and list(pv["devices"]) == [1, 2, 2]
    assert list(pv["minutes_max"]) == [10.0, 16.0, 20.0] and list(pv["simulated"]) == [False, False, True]


def test_rows_sorted_only_against_the_first_row_are_still_sorted():
    # codes 0, 1, 2, 1 are each above the first row's code, and times 0, 600, 300, 900 each at or
    # after the first row's: neither makes the rows sorted
    v = _same_as_sorted(["a", "b", "c", "b", "b"], [0, 0, 0, 300, 600], [OUT, IN, IN, IN, OUT])
    assert list(v["device"]) == ["b", "c"] and list(v["dwell_max_s"]) == [1500.0, 1800.0]
    # radio b's visit starts in its second block of rows: its ping before is b's, not c's
    v = _same_as_sorted(["a", "b", "c", "b", "b", "b"], [0, 0, 0, 300, 600, 900], [OUT, OUT, IN, IN, IN, OUT])
    assert list(v["device"]) == ["b", "c"] and list(v["dwell_max_s"]) == [300.0 + 300 + 300, 1800.0]
    v = _same_as_sorted(["a"] * 5, [0, 600, 300, 900, 1200], [OUT, IN, IN, IN, OUT])
    assert (v["dwell_min_s"].iloc[0], v["dwell_max_s"].iloc[0]) == (600.0, 1200.0)
