"""The feedback-loop check (Ensign et al. 2018) on a case small enough to do by hand.

The test's own model scores a cell by the crime recorded in its two neighbours (a 1 x 6 strip,
last two months summed): raising the recorded crime of the top cells raises their NEIGHBOURS'
scores, so a cell outside the old top set can get in. Every number below is worked out in the
comments, not by the code under test."""

from __future__ import annotations

import numpy as np
import pytest

from saferhub.forecast.audit import feedback_check
from saferhub.geo.cube import Cube
from saferhub.forecast.models import Model
from saferhub.geo.grid import Grid


class NeighbourModel(Model):
    """risk[c] = crime in cells c - 1 and c + 1 over the last two known months."""

    def _risk(self, history, cube):
        n = history[-2:].sum(axis=0)
        out = np.zeros_like(n)
        out[:, 1:] += n[:, :-1]
        out[:, :-1] += n[:, 1:]
        return out


def _cube():
    g = Grid.from_bounds(0, 0, 750, 0, 150)
    assert g.shape == (1, 6)
    months = np.arange("2024-01", "2024-05", dtype="datetime64[M]")
    counts = np.zeros((4, 1, 6))
    counts[1, 0] = [1, 3, 2, 2, 0, 0]  # Feb
    counts[2, 0] = [0, 0, 0, 0, 0, 0]  # Mar: nothing recorded
    mask = np.array([[True, True, True, True, True, False]])  # the sixth cell is outside the area
    return Cube(grid=g, months=months, counts=counts, mask=mask)


def test_boost_in_the_last_month_only_changes_nothing_here():
    cube = _cube()
    before = cube.counts.copy()
    # forecast April from data through March. Risk = neighbours over Feb + Mar:
    # cells 0..4 -> [3, 1 + 2, 3 + 2, 2 + 0, 2] = [3, 3, 5, 2, 2]; k = round(0.4 * 5) = 2:
    # cell 2, then cells 0 and 1 tie at 3 -> cell 0. Boosting March (all zero) changes nothing.
    fb = feedback_check(NeighbourModel(), cube, ["2024-04"], coverage=0.4)
    assert fb.to_dict("records") == [{"month": "2024-04", "cells": 2, "jaccard_with_before": 1.0,
                                      "cells_displaced": 0}]
    np.testing.assert_array_equal(cube.counts, before)  # the caller's cube is left alone


@pytest.mark.parametrize("effect,displaced", [(0.2, 1), (1.0, 1), (0.0, 0)])
def test_boosting_two_patrolled_months_lets_a_neighbour_in(effect, displaced):
    cube = _cube()
    before = cube.counts.copy()
    # Boost Feb and Mar in the top cells {0, 2} by `effect`: Feb becomes
    # [1 + e, 3, 2 (1 + e), 2, 0]; risk of cell 1 = (1 + e) + 2 (1 + e) = 3 + 3e, cell 2 stays 3 + 2 = 5,
    # cell 0 stays 3. For e = 0.2: cell 1 = 3.6 > 3 -> new top {2, 1}: one displaced, Jaccard 1/3.
    fb = feedback_check(NeighbourModel(), cube, ["2024-04"], coverage=0.4, effect=effect,
                        patrolled_months=2)
    row = fb.iloc[0]
    assert row.cells_displaced == displaced
    assert row.jaccard_with_before == pytest.approx(1 / 3 if displaced else 1.0)
    np.testing.assert_array_equal(cube.counts, before)


def test_one_row_per_forecast_month_with_the_month_named():
    cube = _cube()
    # forecasting March from Jan + Feb: risk = neighbours of Feb -> [3, 3, 5, 2, 2] again, and the
    # boost (default +20%) of Feb's top cells {0, 2} lifts cell 1 to 3.6: one displaced
    fb = feedback_check(NeighbourModel(), cube, ["2024-03", "2024-04"], coverage=0.4)
    assert fb.month.tolist() == ["2024-03", "2024-04"]
    assert fb.cells_displaced.tolist() == [1, 0]
    assert fb.cells.tolist() == [2, 2]
