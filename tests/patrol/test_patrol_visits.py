"""Visit detection: hand-made tracks with known answers, and simulated tracks with known truth
(drive-bys, gaps, bad fixes, out-of-order rows, the 2026 clock change)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from saferhub.patrol.visits import detect_visits, patrol_visits

from .conftest import schedule_for

AREA = [shapely.box(0, 0, 300, 300)]


def _track(xs, step=60, t0=1_770_000_000):
    t = (t0 + np.arange(len(xs)) * step) * 1_000_000
    return t


def test_hand_made_visit_and_interval():
    # 5 pings outside, 20 pings inside (one a minute), 5 outside: the officer was in for at
    # least 19 minutes (first to last inside ping) and at most 21 (ping before to ping after)
    x = np.r_[np.full(5, -500.0), np.full(20, 150.0), np.full(5, -500.0)]
    y = np.full(30, 150.0)
    det = detect_visits(np.full(30, "a"), _track(x), x, y, AREA, ["PA-1"], accuracy=np.full(30, 5.0))
    v = det.visits
    assert len(v) == 1
    assert v["minutes_min"].iloc[0] == pytest.approx(19.0)
    assert v["minutes_max"].iloc[0] == pytest.approx(21.0)


def test_drive_by_and_short_pass_are_not_visits():
    # a car at 12 m/s crossing the area with a ping every 5 s, then a 2-minute walk through
    x = np.r_[np.arange(-300, 600, 60.0)]
    det = detect_visits(np.full(x.size, "car"), _track(x, step=5), x, np.full(x.size, 150.0), AREA, ["PA-1"],
                        speed=np.full(x.size, 12.0))
    assert det.visits.empty and det.drive_bys == 1
    x2 = np.r_[-300.0, 100.0, 150.0, 200.0, 700.0]
    det2 = detect_visits(np.full(5, "walk"), _track(x2), x2, np.full(5, 150.0), AREA, ["PA-1"])
    assert det2.visits.empty and det2.too_short == 1


def test_gap_is_bridged_and_two_radios_are_one_patrol():
    # in, 8 minutes without a fix, in again: one visit; a second radio alongside counts once
    t = np.r_[np.arange(0, 10), np.arange(18, 28)] * 60
    x = np.full(t.size, 150.0)
    dev = np.r_[np.full(t.size, "a"), np.full(t.size, "b")]
    tt = np.r_[t, t + 30] * 1_000_000 + 1_770_000_000_000_000
    det = detect_visits(dev, tt, np.r_[x, x], np.full(2 * t.size, 150.0), AREA, ["PA-1"])
    assert len(det.visits) == 2                      # one per radio
    pv = patrol_visits(det.visits)
    assert len(pv) == 1 and pv["devices"].iloc[0] == 2
    assert pv["minutes_min"].iloc[0] == pytest.approx(27.5)   # 0:00 to 27:30


def _simulated(areas_result, interval, seed, tmp_path):
    from saferhub.data.pings import ingest_pings, pings, pseudonym_key, pseudonymise
    from saferhub.patrol.simulate import simulate

    areas = areas_result.areas
    sim = simulate(areas, schedule_for(areas), seed=seed, interval=interval, compliance=0.8)
    path = tmp_path / f"simulated-{interval}-{seed}.csv"
    sim.pings.to_csv(path, index=False)
    store = tmp_path / f"store-{interval}-{seed}"
    rep = ingest_pings(path, store=store, force="merseyside")
    t = pings(store)
    det = detect_visits(t["device"].to_numpy(zero_copy_only=False), t["time"].cast("int64").to_numpy(),
                        t["x"].to_numpy(), t["y"].to_numpy(), areas.geometry.values, areas["area_id"],
                        speed=t["speed"].to_numpy(zero_copy_only=False),
                        accuracy=t["accuracy"].to_numpy(zero_copy_only=False))
    truth = sim.truth.assign(device=pseudonymise(sim.truth["device"].to_numpy(), pseudonym_key(store)))
    return sim, rep, det.visits, truth, t


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recall_at_60_seconds(areas_result, tmp_path, seed):
    sim, rep, v, truth, _ = _simulated(areas_result, 60, seed, tmp_path)
    assert rep["read"] == len(sim.pings) == rep["stored"] + rep["quarantined"]
    assert rep["quarantined"] >= sum(sim.faults.values()) * 0.8   # the injected faults are caught
    long = truth[truth["seconds"] >= 15 * 60]
    assert len(long) >= 20
    found = sum(((v["device"] == r.device) & (v["area_id"] == r.area_id) & (v["start"] <= r.end)
                 & (v["end"] >= r.start)).any() for r in long.itertuples())
    assert found / len(long) >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dwell_interval_contains_truth_at_300_seconds(areas_result, tmp_path, seed):
    sim, rep, v, truth, _ = _simulated(areas_result, 300, seed, tmp_path)
    assert len(v) >= 20
    for d in v.itertuples():
        m = truth[(truth["device"] == d.device) & (truth["area_id"] == d.area_id) & (truth["start"] <= d.end)
                  & (truth["end"] >= d.start)]
        assert len(m), f"a visit with no truth behind it: {d}"
        true_s = (m["end"].max() - m["start"].min()).total_seconds()
        assert d.dwell_min_s <= true_s <= d.dwell_max_s, (d, true_s)


def test_simulated_output_is_labelled(areas_result):
    from saferhub.patrol.simulate import simulate

    sim = simulate(areas_result.areas, schedule_for(areas_result.areas, days=("2026-06-01",)), seed=0)
    assert sim.pings["simulated"].all()
    assert sim.pings["device"].str.startswith("SIMULATED-").all()
    assert set(sim.faults) == {"no fix", "poor accuracy", "spike", "repeated", "out of order"}
