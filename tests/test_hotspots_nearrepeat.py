"""Knox test: observed table against brute force, planted near repeats, null behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from saferhub.errors import SaferhubError
from saferhub.hotspots.nearrepeat import knox


def _brute(x, y, t, s_edges, t_edges):
    n = len(x)
    out = np.zeros((len(s_edges) + 1, len(t_edges) + 1), int)
    for i in range(n):
        for j in range(i + 1, n):
            d = np.hypot(x[i] - x[j], y[i] - y[j])
            s = np.searchsorted(s_edges, d, side="left")
            k = np.searchsorted(t_edges, abs(t[i] - t[j]), side="left")
            out[s, k] += 1
    return out


def test_observed_table_equals_brute_force_including_beyond_bands():
    rng = np.random.default_rng(0)
    n = 400
    # snap-point-like data: many exact repeats of locations
    sx, sy = rng.uniform(0, 3000, 120), rng.uniform(0, 3000, 120)
    pick = rng.integers(0, 120, n)
    x, y = sx[pick], sy[pick]
    t = rng.integers(0, 36, n)
    res = knox(x, y, t, "0,100,250,500", "0,1,2,6", permutations=5, seed=1)
    ref = _brute(x, y, t, [0, 100, 250, 500], [0, 1, 2, 6])
    np.testing.assert_array_equal(res.observed, ref)
    assert res.observed.sum() == n * (n - 1) // 2
    # Permutations keep the all-pairs time-lag histogram: every simulated table has the same column sums.
    np.testing.assert_allclose(res.expected.sum(axis=0), ref.sum(axis=0))


def test_planted_near_repeats_are_detected():
    rng = np.random.default_rng(3)
    n0 = 1500
    x, y = rng.uniform(0, 10000, n0), rng.uniform(0, 10000, n0)
    t = rng.integers(0, 365, n0)
    # 200 follow-on events within 50 m and 0-7 days of an earlier one
    src = rng.integers(0, n0, 200)
    fx = x[src] + rng.uniform(-35, 35, 200)
    fy = y[src] + rng.uniform(-35, 35, 200)
    ft = t[src] + rng.integers(0, 8, 200)
    res = knox(np.r_[x, fx], np.r_[y, fy], np.r_[t, ft], "50,200", "7,14", permutations=99, seed=2,
               time_unit="days")
    table = res.table()
    close = table[(table.space == "0 to 50 m") & (table.time == "0 to 7 days")].iloc[0]
    assert close.knox_ratio > 5
    assert close.p == pytest.approx(0.01)


def test_no_near_repeat_pattern_in_random_data():
    rng = np.random.default_rng(5)
    n = 3000
    res = knox(rng.uniform(0, 10000, n), rng.uniform(0, 10000, n), rng.integers(0, 36, n),
               "100,200,300", "0,1,2", permutations=99, seed=4)
    close = res.ratio[:3, :3]
    assert np.all(np.abs(close - 1) < 0.5)
    assert (res.p[:3, :3] <= 0.01).sum() <= 2


def test_labels_and_errors():
    res = knox([0, 1, 2, 3.0], [0, 0, 0, 0.0], [0, 1, 2, 3], "0,100", "0,1,3", permutations=3, seed=0)
    assert res.space_labels == ["same (0 m)", "0 to 100 m", "beyond 100 m"]
    assert res.time_labels == ["same (0 months)", "1 months", "2 to 3 months", "beyond 3 months"]
    with pytest.raises(SaferhubError, match="increasing"):
        knox([0, 1, 2], [0, 1, 2], [0, 1, 2], "100,50", "0,1")
    with pytest.raises(SaferhubError, match="whole units"):
        knox([0, 1, 2], [0, 1, 2], [0, 0.5, 2], "100", "0,1")
