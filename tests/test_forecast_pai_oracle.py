"""PAI, hit rate, PEI, PEI* and RRI recomputed by brute force, on small grids whose study area is a
strict subset of the grid and whose coverage does not divide the study cells evenly, so that the
plausible wrong formulas give different answers:

- PAI over the nominal coverage instead of the share of cells actually selected (13 cells at 10%
  select 1 cell, a share of 1/13, not 0.10);
- the number of cells floored instead of rounded (13 x 30% = 3.9: 4 cells, not 3);
- the area share, the crime total or the risk total taken over every grid cell instead of the
  study area's (checked through the backtest, which is what hands the metric its cells).

The oracle knows nothing of thresholds or partitions: it enumerates every k-subset of the study
cells, keeps those a top-k selection could be (no unselected cell riskier than a selected one: the
tie-breaks) and averages over them, which is what breaking ties uniformly at random means."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from saferhub.forecast import metrics as M
from saferhub.forecast.backtest import run_backtest
from saferhub.geo.cube import Cube
from saferhub.forecast.models import Model
from saferhub.geo.grid import Grid


def _k(n_cells: int, coverage: float) -> int:
    """Cells selected: coverage x cells rounded half up, exact arithmetic, at least one."""
    x = Fraction(str(coverage)) * n_cells
    return max(1, min(n_cells, int(x + Fraction(1, 2))))


def _oracle(risk, actual, coverage, harm=None) -> dict[str, float]:
    risk, actual = list(map(float, risk)), list(map(float, actual))
    n = len(risk)
    k = _k(n, coverage)
    cells = range(n)
    valid = [S for S in itertools.combinations(cells, k)
             if min(risk[c] for c in S) >= max((risk[c] for c in cells if c not in S), default=-np.inf)]
    mean = lambda f: sum(f(S) for S in valid) / len(valid)  # noqa: E731
    N, R = sum(actual), sum(risk)
    hits = mean(lambda S: sum(actual[c] for c in S))
    share = k / n  # of the study area's cells
    out = {"cells": k, "hits": hits, "hit_rate": hits / N, "pai": (hits / N) / share}
    # the best possible selection of k cells, by trying every one
    n_max = max(sum(actual[c] for c in S) for S in itertools.combinations(cells, k))
    out["pei"] = hits / n_max
    # PAI*: the best selection needs only as many cells as the fewest that still hold n_max
    a_star = min(size for size in range(1, k + 1) for S in itertools.combinations(cells, size)
                 if sum(actual[c] for c in S) == n_max)
    out["pei_star"] = out["pai"] / ((n_max / N) / (a_star / n))
    out["rri"] = (hits / N) / (mean(lambda S: sum(risk[c] for c in S)) / R)
    if harm is not None:
        out["harm_hit_rate"] = mean(lambda S: sum(harm[c] for c in S)) / sum(harm)
    return out


def _check(risk, actual, coverage, harm=None):
    got = M.coverage_metrics(np.asarray(risk, float), np.asarray(actual, float), coverage,
                             None if harm is None else np.asarray(harm, float))
    want = _oracle(risk, actual, coverage, harm)
    assert got["cells"] == want["cells"], (coverage, got["cells"], want["cells"])
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12), (key, coverage, got[key], value)
    return got, want


# 13 study cells: 10% -> 1.3 (1 cell), 20% -> 2.6 (3), 30% -> 3.9 (4), 40% -> 5.2 (5)
UNEVEN = (0.1, 0.2, 0.3, 0.4)


def test_a_hand_case_where_each_wrong_formula_differs():
    risk = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0.5, 0.4, 0.3, 0.2]
    actual = [2, 0, 1, 3, 0, 0, 1, 0, 0, 0, 1, 0, 0]  # 8 crimes
    got, _ = _check(risk, actual, 0.3)
    # k = round(3.9) = 4 cells (not floor: 3) holding 2 + 0 + 1 + 3 = 6 of 8 crimes
    assert got["cells"] == 4 and got["hits"] == 6
    assert got["pai"] == pytest.approx((6 / 8) / (4 / 13))
    assert got["pai"] != pytest.approx((6 / 8) / 0.3)            # nominal coverage
    assert got["pai"] != pytest.approx((3 / 8) / (3 / 13))       # floored k
    # the best 4 cells hold 3 + 2 + 1 + 1 = 7: PEI 6/7; every 4-subset with 7 needs all 4 cells
    assert got["pei"] == pytest.approx(6 / 7)
    assert got["pei_star"] == pytest.approx(got["pai"] / ((7 / 8) / (4 / 13)))
    assert got["rri"] == pytest.approx((6 / 8) / (30 / sum(risk)))


def test_pei_star_differs_from_pei_when_fewer_cells_than_k_saw_crime():
    risk = [5, 4, 3, 2, 1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    actual = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]  # crime in only 2 cells, k = 4 at 30%
    got, _ = _check(risk, actual, 0.3)
    assert got["pei"] == pytest.approx(1 / 5)
    # PAI* uses a* = 2 cells, not k = 4: PEI* = PAI / ((5/5) / (2/13)) = PEI / 2
    assert got["pei_star"] == pytest.approx(((1 / 5) / (4 / 13)) / (1 / (2 / 13)))
    assert got["pei_star"] != pytest.approx(got["pei"])


def test_half_a_cell_rounds_up_and_the_rule_holds_for_every_study_area_size():
    # 13 x 50% = 6.5 cells: 7 selected (half up; Python's round() would give 6, floor 6)
    risk = [13.0 - i for i in range(13)]
    actual = [0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 0, 0, 1]
    got, _ = _check(risk, actual, 0.5)
    assert got["cells"] == 7 and got["hits"] == 5
    # the project's coverages on every study-area size up to 1,000 cells, exact arithmetic
    for c in M.COVERAGES + UNEVEN + (0.5,):
        for n in range(1, 1001):
            assert M.coverage_metrics(np.arange(n, dtype=float), np.ones(n), c)["cells"] == _k(n, c), (c, n)


@pytest.mark.parametrize("seed", range(6))
def test_random_study_areas_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 13
    risk = rng.gamma(1.0, 1.0, n)                     # distinct: no ties
    actual = rng.poisson(0.8, n).astype(float)
    actual[rng.integers(n)] += 2.0                     # at least two crimes
    harm = actual * rng.uniform(0.5, 3.0, n)
    for c in UNEVEN:
        _check(risk, actual, c, harm)


@pytest.mark.parametrize("seed", range(6))
def test_ties_equal_the_average_over_every_valid_top_k(seed):
    rng = np.random.default_rng(100 + seed)
    n = 11                                              # 11 cells: 0.1 -> 1, 0.2 -> 2, 0.3 -> 3, 0.4 -> 4
    risk = rng.integers(0, 3, n).astype(float)          # counts forecasts: many ties
    actual = rng.poisson(1.0, n).astype(float)
    actual[0] += 1.0
    harm = actual * 2.5
    for c in UNEVEN:
        _check(risk, actual, c, harm)


class _Fixed(Model):
    """A forecast that is always the same (ny, nx) surface: the backtest's cells are the question."""

    def __init__(self, surface):
        self.surface = surface

    def _risk(self, history, cube):
        return self.surface


def _cube_with_a_smaller_study_area(seed=7):
    """A 4 x 5 grid (20 cells) whose study area is 13 of them, with crime outside the area too."""
    rng = np.random.default_rng(seed)
    ny, nx = 4, 5
    mask = np.zeros((ny, nx), bool)
    mask.ravel()[[0, 1, 2, 5, 6, 7, 8, 10, 11, 12, 13, 16, 17]] = True
    counts = rng.poisson(1.2, (3, ny, nx)).astype(float)
    counts[:, ~mask] += 3.0                       # busy cells just outside the area
    months = np.arange(np.datetime64("2024-01"), np.datetime64("2024-04"))
    cube = Cube(Grid(150, 300000, 400000, nx, ny), months, counts, harm=counts * 1.5, mask=mask)
    surface = rng.gamma(1.0, 1.0, (ny, nx))
    surface[~mask] += 10.0                        # outside the area the forecast is highest
    return cube, surface


def test_the_backtest_scores_the_study_area_cells_only():
    cube, surface = _cube_with_a_smaller_study_area()
    month = cube.months[-1]
    res = run_backtest(cube, {"fixed": _Fixed(surface)}, [month], coverages=UNEVEN)
    area = cube.mask
    assert int(area.sum()) == 13 and area.size == 20
    risk, actual, harm = surface[area], cube.counts[-1][area], cube.harm[-1][area]
    for c in UNEVEN:
        row = res.monthly[np.isclose(res.monthly.coverage, c)].iloc[0]
        want = _oracle(risk, actual, c, harm)
        assert row["cells"] == want["cells"]
        for key in ("hit_rate", "pai", "pei", "pei_star", "rri", "harm_hit_rate"):
            assert row[key] == pytest.approx(want[key], rel=1e-12), (key, c)
        # the same forecast scored over the whole grid is a different (wrong) answer
        wrong = _oracle(surface.ravel(), cube.counts[-1].ravel(), c)
        assert row["pai"] != pytest.approx(wrong["pai"])
    # the forecast kept for stability and reports is over the study area's 13 cells
    assert res.predictions[("fixed", month)].shape == (13,)
