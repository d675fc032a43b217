"""Attribution known answers: hand-placed points, radii and ties."""

import numpy as np
import pandas as pd
import pytest

from saferhub.places.attribute import hour_of_week, hour_of_week_counts, month_counts, nearest_place


def test_snap_point_only_at_radius_zero():
    px, py = np.array([0.0, 100.0]), np.array([0.0, 0.0])
    ex, ey = np.array([0.0, 0.4, 5.0, 100.0, 50.0]), np.array([0.0, 0.0, 0.0, 0.0, 0.0])
    idx, d = nearest_place(ex, ey, px, py, radius=0)
    assert idx.tolist() == [0, 0, -1, 1, -1]
    assert d[0] == 0 and d[1] == pytest.approx(0.4) and np.isinf(d[2])


def test_radius_nearest_and_each_event_once():
    px, py = np.array([0.0, 100.0, 300.0]), np.zeros(3)
    ex = np.array([10.0, 60.0, 140.0, 199.0, 260.0, 500.0])
    idx, d = nearest_place(ex, np.zeros(6), px, py, radius=50)
    # 60 is 40 from place 1 (nearer than 60 from place 0); 199 is 99/101 away: outside 50 m
    assert idx.tolist() == [0, 1, 1, -1, 2, -1]
    assert d[1] == pytest.approx(40.0)


def test_ties_go_to_lowest_index_even_three_way():
    # event at the centre of an equilateral-ish set: places 2, 0, 1 all at distance 10
    px = np.array([10.0, -10.0, 0.0, 0.0])
    py = np.array([0.0, 0.0, 10.0, 50.0])
    idx, d = nearest_place(np.array([0.0]), np.array([0.0]), px, py, radius=20)
    assert idx.tolist() == [0] and d[0] == pytest.approx(10)
    # the same places in another order: still the lowest index among the tied
    idx2, _ = nearest_place(np.array([0.0]), np.array([0.0]), px[[3, 2, 1, 0]], py[[3, 2, 1, 0]], radius=20)
    assert idx2.tolist() == [1]
    # two-way tie between indexes 1 and 2 only
    idx3, _ = nearest_place(np.array([5.0]), np.array([0.0]), np.array([100.0, 10.0, 0.0]), np.zeros(3), radius=20)
    assert idx3.tolist() == [1]


def test_unlocated_events_and_empty_inputs():
    idx, d = nearest_place(np.array([np.nan, 0.0]), np.array([0.0, 0.0]), np.array([0.0]), np.array([0.0]), 10)
    assert idx.tolist() == [-1, 0]
    idx, d = nearest_place(np.array([1.0]), np.array([1.0]), np.array([]), np.array([]), 10)
    assert idx.tolist() == [-1]


def test_matches_brute_force_on_random_data():
    rng = np.random.default_rng(3)
    px, py = rng.integers(0, 50, 200).astype(float), rng.integers(0, 50, 200).astype(float)  # many ties on a lattice
    ex, ey = rng.integers(0, 50, 3000).astype(float), rng.integers(0, 50, 3000).astype(float)
    idx, d = nearest_place(ex, ey, px, py, radius=4)
    dist = np.hypot(ex[:, None] - px[None], ey[:, None] - py[None])
    best = dist.min(1)
    want = np.where(best <= 4, np.argmax(dist <= best[:, None] + 1e-9, axis=1), -1)
    assert (idx == want).all()


def test_month_and_hour_of_week_counts():
    c = month_counts(np.array([0, 0, 1, -1, 1]), np.array([0, 1, 1, 0, -1]), 2, 2)
    assert c.tolist() == [[1, 1], [0, 1]]
    # Monday 2024-01-01 23:30 UTC is 23:30 local (winter); Saturday 2024-07-06 00:30 UTC is 01:30 BST
    how = hour_of_week(pd.to_datetime(["2024-01-01 23:30", "2024-07-06 00:30", None], utc=True))
    assert how.tolist() == [23, 5 * 24 + 1, -1]
    h = hour_of_week_counts(np.array([0, 0, 0]), how, 1)
    assert h.sum() == 2 and h[0, 23] == 1
