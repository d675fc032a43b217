"""Concentration: Gini against the mean-difference definition, generalized Gini cases, and the
share of units holding 50% of violence + ASB on the real 2018–2020 Merseyside data."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from conftest import MERSEYSIDE

from saferhub.errors import SaferhubError
conc = importlib.import_module("saferhub.hotspots.concentration")  # the module; saferhub.hotspots.concentration is the verb


def test_gini_equals_mean_absolute_difference_definition():
    rng = np.random.default_rng(0)
    v = rng.poisson(0.7, 300).astype(float)
    ref = np.abs(v[:, None] - v[None, :]).sum() / (2 * v.size**2 * v.mean())
    assert conc.gini(v) == pytest.approx(ref, rel=1e-12)


def test_gini_extremes_and_lorenz_area():
    assert conc.gini(np.ones(50)) == pytest.approx(0)
    one = np.zeros(50)
    one[3] = 9
    assert conc.gini(one) == pytest.approx(49 / 50)
    u, s = conc.lorenz(np.array([1.0, 2, 3, 4]))
    assert u[0] == s[0] == 0 and u[-1] == s[-1] == 1
    # Gini = 1 - 2 x area under the Lorenz curve (trapezoids).
    area = np.trapezoid(s, u)
    assert conc.gini(np.array([1.0, 2, 3, 4])) == pytest.approx(1 - 2 * area)


def test_generalized_gini_rescales_sparse_data():
    n = 100
    spread = np.zeros(n)
    spread[:30] = 1  # 30 events, as evenly as 30 events can be over 100 units
    assert conc.gini(spread) == pytest.approx(0.7)
    assert conc.generalized_gini(spread) == pytest.approx(0.0)
    dense = np.full(n, 3.0)
    assert conc.generalized_gini(dense) == pytest.approx(conc.gini(dense))
    with pytest.raises(SaferhubError, match="counts"):
        conc.generalized_gini(np.array([0.5, 1.5, 2.0]))


def test_examples_from_the_authors_lorenzgini_package():
    """Known answers from Bernasco & Steenbeek's R package documentation (wsteenbeek/lorenzgini)."""
    dense = np.array([10, 8, 2] + [0] * 7, float)
    assert conc.gini(dense) == pytest.approx(0.78)
    assert conc.generalized_gini(dense) == pytest.approx(0.78)
    sparse = np.array([5, 2, 1] + [0] * 7, float)
    assert conc.gini(sparse) == pytest.approx(0.8)
    assert conc.generalized_gini(sparse) == pytest.approx(0.75)
    one = np.array([10] + [0] * 9, float)
    assert conc.gini(one) == pytest.approx(0.9)
    assert conc.generalized_gini(one, unbiased=True) == pytest.approx(1.0)


def test_share_of_units():
    v = np.array([10.0, 5, 3, 1, 1, 0, 0, 0, 0, 0])
    assert conc.share_of_units(v, 0.5) == (1, 0.1)
    assert conc.share_of_units(v, 0.75) == (2, 0.2)
    assert conc.share_of_units(v, 1.0) == (5, 0.5)


def test_bad_input():
    with pytest.raises(SaferhubError, match="no events"):
        conc.summarise(np.zeros(5))
    with pytest.raises(SaferhubError, match="non-negative"):
        conc.gini(np.array([1.0, -1]))


@pytest.mark.slow
def test_share_of_cells_holding_half_of_violence_and_asb_matches_pandas_on_real_data():
    """2018-2020 Merseyside, violence + ASB, 250 m cells over the cells that hold any event of any
    category (the study area). The package path (Grid + analyse + concentration) against an
    independent pandas group-by."""
    from saferhub.geo.grid import Grid
    from saferhub.geo.project import to_bng
    from saferhub.geo.units import grid_units
    from saferhub.hotspots.analyse import unit_values

    files = sorted(MERSEYSIDE.glob("20*-merseyside-street.csv.gz"))
    assert len(files) == 36
    df = pd.concat([pd.read_csv(f, usecols=["Longitude", "Latitude", "Crime type"]) for f in files])
    df = df.dropna(subset=["Longitude"])
    x, y = to_bng(df["Longitude"].to_numpy(), df["Latitude"].to_numpy())
    cs = 250
    grid = Grid.covering(x, y, cs)
    units = grid_units(grid)
    any_event = unit_values(units, x, y) > 0
    focus = df["Crime type"].isin(["Violence and sexual offences", "Anti-social behaviour"]).to_numpy()
    counts = unit_values(units, x[focus], y[focus])[any_event]
    pkg = conc.summarise(counts)

    # Independent: pandas cell keys, value_counts, cumulative share.
    cells = pd.DataFrame({"cx": np.floor(x / cs).astype(int), "cy": np.floor(y / cs).astype(int),
                          "focus": focus})
    n_units = len(cells[["cx", "cy"]].drop_duplicates())
    per_cell = cells[cells.focus].groupby(["cx", "cy"]).size().sort_values(ascending=False)
    cum = per_cell.cumsum() / per_cell.sum()
    k50 = int((cum < 0.5).sum()) + 1
    share50 = k50 / n_units
    assert pkg.n_units == n_units
    assert pkg.n_events == per_cell.sum() == focus.sum()
    assert pkg.share_50 == pytest.approx(share50, abs=1e-4)
    # Reported for the record (law of concentration: a small minority of places).
    print(f"violence+ASB 2018-2020: {pkg.share_50:.2%} of {n_units} cells hold 50%; Gini {pkg.gini:.3f}")
    assert 0.01 < pkg.share_50 < 0.2
