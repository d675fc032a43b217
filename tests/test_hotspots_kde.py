"""KDE: brute-force kernel sums, normalisation, planted hotspots, adaptive and dual surfaces."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from saferhub.errors import SaferhubError
from saferhub.geo.grid import Grid
kde = importlib.import_module("saferhub.hotspots.kde")  # the module; saferhub.hotspots.kde is the verb


def brute_force_kde(cx, cy, x, y, bandwidth, kernel: str = "quartic", weights=None) -> np.ndarray:
    """Reference: the plain kernel sum at points (cx, cy), O(cells x events): what the FFT
    convolution must equal."""
    cx = np.asarray(cx, float).ravel()
    cy = np.asarray(cy, float).ravel()
    d = np.hypot(cx[:, None] - np.asarray(x, float)[None, :], cy[:, None] - np.asarray(y, float)[None, :])
    k = kde.kernel_value(d, np.broadcast_to(np.asarray(bandwidth, float), (1, len(np.atleast_1d(x))))
                         if np.ndim(bandwidth) else bandwidth, kernel)
    w = np.ones(len(np.atleast_1d(x))) if weights is None else np.asarray(weights, float)
    return k @ w


def _points_on_centres(grid, n, rng):
    cx, cy = grid.centres()
    i = rng.integers(0, grid.ny, n)
    j = rng.integers(0, grid.nx, n)
    return cx[i, j], cy[i, j]


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
@pytest.mark.parametrize("bandwidth", [35.0, 57.0, 240.0])
def test_fixed_kde_equals_brute_force_sum_at_cell_centres(kernel, bandwidth):
    rng = np.random.default_rng(11)
    g = Grid.from_bounds(1000, 2000, 1990, 2790, 10)  # 100 x 80 cells
    x, y = _points_on_centres(g, 60, rng)
    w = rng.uniform(0.5, 3, x.size)
    got = kde.kde_grid(g, x, y, bandwidth, kernel, weights=w)
    cx, cy = g.centres()
    ref = brute_force_kde(cx, cy, x, y, bandwidth, kernel, weights=w).reshape(g.shape)
    np.testing.assert_allclose(got, ref, atol=1e-12 * ref.max(), rtol=0)


def test_kde_of_arbitrary_points_is_within_binning_error_of_exact():
    """Events off the cell centres move at most half a cell diagonal; the error is bounded by the
    kernel's Lipschitz constant times that shift."""
    rng = np.random.default_rng(5)
    g = Grid.from_bounds(0, 0, 1990, 1990, 10)
    x, y = rng.uniform(200, 1800, 300), rng.uniform(200, 1800, 300)
    h = 200.0
    got = kde.kde_grid(g, x, y, h, "quartic")
    cx, cy = g.centres()
    ref = brute_force_kde(cx, cy, x, y, h, "quartic").reshape(g.shape)
    # |dK/dd| <= 3/(pi h^2) * max|d/dd (1-u^2)^2| = 3/(pi h^2) * 8/(3 sqrt3 h)
    lip = 3 / (np.pi * h * h) * 8 / (3 * np.sqrt(3) * h)
    assert np.abs(got - ref).max() <= x.size * lip * (5 * np.sqrt(2)) + 1e-15
    assert np.abs(got - ref).max() < 0.03 * ref.max()  # 10 m cells, 200 m bandwidth


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
def test_density_integrates_to_the_number_of_events(kernel):
    rng = np.random.default_rng(2)
    g = Grid.from_bounds(0, 0, 9990, 9990, 10)
    x, y = rng.uniform(3000, 7000, 500), rng.uniform(3000, 7000, 500)
    d = kde.kde_grid(g, x, y, 300, kernel)
    assert d.sum() * 100 == pytest.approx(500, rel=2e-3)


def test_planted_hotspot_is_the_peak():
    rng = np.random.default_rng(9)
    g = Grid.from_bounds(0, 0, 4990, 4990, 10)
    bx, by = rng.uniform(0, 5000, 3000), rng.uniform(0, 5000, 3000)
    hx, hy = rng.normal(3210, 40, 300), rng.normal(1480, 40, 300)
    d = kde.kde_grid(g, np.r_[bx, hx], np.r_[by, hy], 150)
    r, c = np.unravel_index(np.argmax(d), d.shape)
    cx, cy = g.centres()
    assert abs(cx[r, c] - 3210) < 40 and abs(cy[r, c] - 1480) < 40


def test_adaptive_kde_equals_brute_force_with_the_bandwidths_used():
    rng = np.random.default_rng(4)
    g = Grid.from_bounds(0, 0, 995, 995, 5)
    x, y = _points_on_centres(g, 80, rng)
    h = kde.adaptive_bandwidths(x, y, k=4, min_bandwidth=15, levels=6)
    assert 1 < np.unique(h).size <= 6
    got = kde.kde_grid_adaptive(g, x, y, h, "quartic")
    cx, cy = g.centres()
    ref = brute_force_kde(cx, cy, x, y, h, "quartic").reshape(g.shape)
    np.testing.assert_allclose(got, ref, atol=1e-12 * ref.max(), rtol=0)


def test_adaptive_bandwidths_shrink_in_dense_areas():
    rng = np.random.default_rng(1)
    dense = rng.normal(0, 20, (200, 2))
    sparse = rng.uniform(2000, 6000, (50, 2))
    pts = np.vstack([dense, sparse])
    h = kde.adaptive_bandwidths(pts[:, 0], pts[:, 1], k=5, min_bandwidth=1, levels=32)
    assert np.median(h[:200]) < np.median(h[200:]) / 5


def test_dual_kde_difference_and_ratio():
    rng = np.random.default_rng(8)
    g = Grid.from_bounds(0, 0, 1990, 1990, 10)
    xa, ya = rng.uniform(0, 2000, 400), rng.uniform(0, 2000, 400)
    xb, yb = rng.uniform(0, 2000, 200), rng.uniform(0, 2000, 200)
    dual = kde.dual_kde(g, xa, ya, xb, yb, 200, scale_b=2.0)
    a = kde.kde_grid(g, xa, ya, 200) * 1e6
    b = kde.kde_grid(g, xb, yb, 200) * 1e6 * 2
    np.testing.assert_allclose(dual.difference, a - b)
    ok = b > 0
    np.testing.assert_allclose(dual.ratio[ok], a[ok] / b[ok])
    assert np.isnan(dual.ratio[~ok]).all()


def test_bad_parameters_are_clear_errors():
    g = Grid.from_bounds(0, 0, 990, 990, 10)
    with pytest.raises(SaferhubError, match="kernel"):
        kde.kde_grid(g, [5], [5], 50, "epanechnikov")
    with pytest.raises(SaferhubError, match="bandwidth"):
        kde.kde_grid(g, [5], [5], 2)
    with pytest.raises(SaferhubError, match="bandwidth"):
        kde.kde_grid(g, [5], [5], -1)
