"""Forecast metrics against hand-computed values on small cases."""

import numpy as np
import pytest

from saferhub.forecast import metrics as M


def test_hit_rate_pai_pei_rri_by_hand():
    risk = np.array([5, 4, 3, 2, 1, 0, 0, 0, 0, 0], float)
    actual = np.array([1, 0, 2, 0, 0, 0, 1, 0, 0, 0], float)
    r = M.coverage_metrics(risk, actual, 0.2)
    # k = 2 cells (0 and 1) hold 1 of 4 crimes
    assert r["cells"] == 2
    assert r["hit_rate"] == pytest.approx(0.25)
    assert r["pai"] == pytest.approx(0.25 / 0.2)
    # best 2 cells hold 2 + 1 = 3 crimes
    assert r["pei"] == pytest.approx(1 / 3)
    assert r["pei_star"] == pytest.approx(1.25 / ((3 / 4) / (2 / 10)))
    # forecast risk share in the selection is 9 / 15
    assert r["rri"] == pytest.approx(0.25 / 0.6)


def test_ties_at_threshold_share_places_fractionally():
    risk = np.array([3, 1, 1, 1, 0], float)
    actual = np.array([0, 3, 0, 0, 0], float)
    r = M.coverage_metrics(risk, actual, 0.4)  # k = 2: cell 0, then 1 place among 3 tied cells
    assert r["hits"] == pytest.approx(1.0)
    assert r["pai"] == pytest.approx((1 / 3) / 0.4)
    w = M.selection_weights(risk, 2)
    assert w.tolist() == pytest.approx([1, 1 / 3, 1 / 3, 1 / 3, 0])
    assert w.sum() == pytest.approx(2)


def test_ties_are_deterministic_in_top_cells():
    risk = np.array([1.0, 2.0, 2.0, 2.0, 0.5])
    assert M.top_cells(risk, 2).tolist() == [1, 2]
    assert M.top_cells(risk, 4).tolist() == [1, 2, 3, 0]


def test_pei_star_uses_only_cells_that_saw_crime():
    risk = np.array([1, 0, 2, 0, 0], float)
    actual = np.array([0, 0, 5, 0, 0], float)
    r = M.coverage_metrics(risk, actual, 0.4)  # 2 cells, all 5 crimes caught
    assert r["hit_rate"] == 1 and r["pai"] == pytest.approx(2.5)
    assert r["pei"] == pytest.approx(1.0)
    assert r["pei_star"] == pytest.approx(2.5 / 5.0)  # best PAI uses one cell: 1 / (1/5)


def test_harm_hit_rate():
    risk = np.array([3, 2, 1, 0], float)
    actual = np.array([1, 1, 1, 1], float)
    harm = np.array([120, 1, 365, 1], float)
    r = M.coverage_metrics(risk, actual, 0.25, harm)
    assert r["harm_hit_rate"] == pytest.approx(120 / 487)


def test_brier_and_log_score_by_hand():
    risk = np.array([5.0, 5.0])  # rescaled to 1 expected crime each
    actual = np.array([2, 0])
    s = M.probability_scores(risk, actual, expected_total=2.0)
    p = 1 - np.exp(-1)
    assert s["brier"] == pytest.approx(((p - 1) ** 2 + p**2) / 2)
    assert s["log_score"] == pytest.approx(-(np.log(p) + np.log(1 - p)) / 2)


def test_selection_size_and_jaccard():
    assert M.n_selected(1000, 0.01) == 10
    assert M.n_selected(10, 0.01) == 1
    assert M.n_selected(35125, 0.05) == 1756
    assert M.jaccard(np.array([1, 2, 3]), np.array([2, 3, 4])) == pytest.approx(0.5)


def test_perfect_forecast_has_pei_one_and_max_pai():
    rng = np.random.default_rng(0)
    actual = rng.poisson(0.3, 500).astype(float)
    r = M.coverage_metrics(actual + 1e-9 * np.arange(500)[::-1], actual, 0.05)
    assert r["pei"] == pytest.approx(1.0)
