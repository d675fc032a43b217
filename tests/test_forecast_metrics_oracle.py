"""Forecast metrics against independent oracles: brute-force enumeration of tie orders, hand
computation on small cases, and the edge cases a month can really produce (no crime, one crime,
a forecast that predicts nothing, a 0/1 hotspot mask as the forecast)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from saferhub.forecast import metrics as M


def _brute_weights(risk, k):
    """Expected top-k indicator when ties are broken uniformly at random: average over EVERY order
    of the cells (sorting by risk, then by the order), enumerated in full."""
    n = len(risk)
    total = np.zeros(n)
    orders = list(itertools.permutations(range(n)))
    for perm in orders:
        rank = {cell: pos for pos, cell in enumerate(perm)}
        chosen = sorted(range(n), key=lambda c: (-risk[c], rank[c]))[:k]
        total[chosen] += 1
    return total / len(orders)


@pytest.mark.parametrize("seed", range(4))
def test_selection_weights_equal_the_average_over_every_tie_order(seed):
    rng = np.random.default_rng(seed)
    risk = rng.integers(0, 3, 6).astype(float)  # few values: many ties
    for k in range(1, 7):
        np.testing.assert_allclose(M.selection_weights(risk, k), _brute_weights(list(risk), k),
                                   atol=1e-12, err_msg=f"k={k} risk={risk}")


def test_a_true_false_hotspot_mask_is_a_valid_forecast():
    mask = np.array([True, False, True, False])
    actual = np.array([2, 1, 0, 1])
    # k = 1 of 4 cells: the two True cells tie, each counts half: hits = (2 + 0) / 2
    assert M.selection_weights(mask, 1).tolist() == [0.5, 0.0, 0.5, 0.0]
    assert M.top_cells(mask, 2).tolist() == [0, 2]
    r = M.coverage_metrics(mask, actual, 0.25)
    assert r["hits"] == pytest.approx(1.0)
    assert r["pai"] == pytest.approx((1 / 4) / (1 / 4))


def test_hand_computed_metrics_report_their_coverage():
    risk = np.array([0.3, 0.1, 0.05, 0.05])  # sums to 0.5: a probability-scale forecast
    actual = np.array([1, 0, 0, 0])  # a single crime
    r = M.coverage_metrics(risk, actual, 0.25)
    assert r["coverage"] == 0.25 and r["cells"] == 1
    assert r["hit_rate"] == 1.0
    assert r["pai"] == pytest.approx(4.0)
    assert r["pei"] == 1.0
    assert r["pei_star"] == pytest.approx(1.0)
    assert r["rri"] == pytest.approx(1.0 / (0.3 / 0.5))
    harm = np.array([1.0, 0, 0, 0])  # total harm exactly 1
    assert M.coverage_metrics(risk, actual, 0.25, harm)["harm_hit_rate"] == 1.0


def test_whole_area_selection_has_pei_star_one():
    actual = np.array([1.0, 2, 3, 4])
    r = M.coverage_metrics(np.array([4.0, 3, 2, 1]), actual, 1.0)
    assert r["cells"] == 4 and r["pai"] == 1.0 and r["pei_star"] == 1.0 and r["pei"] == 1.0


def test_month_without_crime_gives_nan_without_floating_point_errors():
    with np.errstate(all="raise"):
        r = M.coverage_metrics(np.array([3.0, 2, 1, 0]), np.zeros(4), 0.5, harm=np.zeros(4))
        assert all(math.isnan(r[key]) for key in ("hit_rate", "pai", "pei", "pei_star", "rri",
                                                  "harm_hit_rate"))
        flat = M.coverage_metrics(np.zeros(4), np.array([1.0, 0, 0, 0]), 0.5)  # predicts nothing
        assert math.isnan(flat["rri"])
        assert flat["hits"] == pytest.approx(0.5)  # 2 places shared by 4 tied cells
        assert math.isnan(M.jaccard(np.array([], int), np.array([], int)))


def test_expected_counts_by_hand():
    np.testing.assert_allclose(M.expected_counts([-1.0, 1.0, 3.0], 8.0), [0, 2, 6])  # negatives -> 0
    np.testing.assert_allclose(M.expected_counts([0.0, 0.5, 1.5], 8.0), [0, 2, 6])  # sum under 1
    with np.errstate(all="raise"):
        np.testing.assert_allclose(M.expected_counts([0.0, 0.0, 0.0, 0.0], 8.0), [2, 2, 2, 2])
    np.testing.assert_allclose(M.expected_counts([0.0], 3.0), [3.0])


def test_probability_scores_clip_certainty_by_hand():
    # lambda = (50, 0): p = 1 - e^-50 rounds to 1 and is clipped to 1 - 1e-9; p = 0 -> 1e-9
    s = M.probability_scores(np.array([1.0, 0.0]), np.array([0, 1]), expected_total=50.0)
    assert s["log_score"] == pytest.approx(-math.log(1e-9), rel=1e-6)
    assert s["brier"] == pytest.approx(1.0, abs=1e-8)


def test_probability_scores_single_crime_cell_by_hand():
    # lambda = (2, 1): p = 1 - e^-2, 1 - e^-1; one crime in the first cell only
    s = M.probability_scores(np.array([2.0, 1.0]), np.array([1, 0]), expected_total=3.0)
    p0, p1 = 1 - math.exp(-2), 1 - math.exp(-1)
    assert s["brier"] == pytest.approx(((p0 - 1) ** 2 + p1**2) / 2)
    assert s["log_score"] == pytest.approx(-(math.log(p0) + math.log(1 - p1)) / 2)


def test_selection_of_distinct_risks_is_exactly_the_top_k_by_sorting():
    rng = np.random.default_rng(42)
    risk = rng.permutation(2000).astype(float)  # distinct values: no ties
    for k in (1, 2, 17, 500, 1999):
        want = np.zeros(2000)
        want[np.argsort(-risk)[:k]] = 1.0  # brute force: sort everything, take the first k
        np.testing.assert_array_equal(M.selection_weights(risk, k), want)
