"""KDE against kernels written out by hand from Silverman (1986) - not the module's own
`kernel_value` - at cell centres, including the edge of the grid and the dual surfaces' rescaling
of period b (events per km^2, b scaled by months_a / months_b)."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

from saferhub.errors import SaferhubError
from saferhub.geo.grid import Grid

# the statistics module, not the `saferhub.hotspots.kde` verb that shadows its name on the package
kde = importlib.import_module("saferhub.hotspots.kde")


def _quartic(d, h):
    return 3.0 / (math.pi * h * h) * (1 - (d / h) ** 2) ** 2 if d < h else 0.0


def _gaussian(d, h):
    return math.exp(-d * d / (2 * h * h)) / (2 * math.pi * h * h) if d <= 4 * h else 0.0


def _by_hand(grid, x, y, h, kernel, w=None):
    cx, cy = grid.centres()
    f = _quartic if kernel == "quartic" else _gaussian
    w = np.ones(len(x)) if w is None else w
    out = np.zeros(grid.shape)
    for r in range(grid.ny):
        for c in range(grid.nx):
            out[r, c] = sum(wi * f(math.hypot(cx[r, c] - xi, cy[r, c] - yi), h)
                            for xi, yi, wi in zip(x, y, w))
    return out


def _events_on_centres(grid, n, seed):
    rng = np.random.default_rng(seed)
    cx, cy = grid.centres()
    i, j = rng.integers(0, grid.ny, n), rng.integers(0, grid.nx, n)
    return cx[i, j], cy[i, j]


@pytest.mark.parametrize("kernel,h", [("quartic", 25.0), ("quartic", 95.0), ("gaussian", 10.0),
                                      ("gaussian", 30.0)])
def test_kde_equals_hand_written_kernel_sum_up_to_the_grid_edge(kernel, h):
    g = Grid.from_bounds(0, 0, 190, 150, 20)  # 10 x 8 cells: events on the edge rows too
    x, y = _events_on_centres(g, 25, 3)
    w = np.random.default_rng(4).uniform(0.5, 2.0, x.size)
    np.testing.assert_allclose(kde.kde_grid(g, x, y, h, kernel, weights=w), _by_hand(g, x, y, h, kernel, w),
                               rtol=1e-9, atol=1e-15)


def test_kernel_boundaries_by_hand():
    h = 100.0
    assert kde.kernel_value(100.0, h, "quartic") == 0.0
    assert kde.kernel_value(0.0, h) == pytest.approx(3 / (math.pi * h * h))
    assert kde.kernel_value(400.0, h, "gaussian") == pytest.approx(math.exp(-8) / (2 * math.pi * h * h))
    assert kde.kernel_value(400.001, h, "gaussian") == 0.0
    # a 200 m gaussian on 100 m cells reaches 8 cells out (4 h), a 200 m quartic 2 cells
    assert kde.kernel_grid(100.0, 200.0, "gaussian").shape == (17, 17)
    assert kde.kernel_grid(100.0, 200.0).shape == (5, 5)
    with pytest.raises(SaferhubError, match=r"unknown kernel 'epanechnikov' \(use quartic, gaussian\)"):
        kde.kernel_value(1.0, 1.0, "epanechnikov")


def test_dual_kde_rescales_period_b_per_square_km():
    g = Grid.from_bounds(0, 0, 190, 190, 20)
    xa, ya = _events_on_centres(g, 12, 1)
    xb, yb = _events_on_centres(g, 7, 2)
    h, scale = 70.0, 12 / 5  # a: 12 months, b: 5 months -> b scaled to 12 months
    d = kde.dual_kde(g, xa, ya, xb, yb, h, "quartic", scale_b=scale)
    a = _by_hand(g, xa, ya, h, "quartic") * 1e6
    b = _by_hand(g, xb, yb, h, "quartic") * 1e6 * scale
    np.testing.assert_allclose(d.a, a, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d.b, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d.difference, a - b, rtol=1e-9, atol=1e-9)
    pos = b > 1e-9
    np.testing.assert_allclose(d.ratio[pos], a[pos] / b[pos], rtol=1e-8, atol=1e-9)
    assert np.isnan(d.ratio[b == 0]).all()


def _binned(raw, levels):
    """Each h replaced by the geometric middle of its bin among `levels` equal log-width bins."""
    lo, hi = math.log(min(raw)), math.log(max(raw))
    width = (hi - lo) / levels
    return [math.exp(lo + (min(int((math.log(h) - lo) / width), levels - 1) + 0.5) * width) for h in raw]


def test_adaptive_bandwidth_is_the_kth_neighbour_distance_floored_and_binned_by_hand():
    rng = np.random.default_rng(8)
    x, y = rng.uniform(0, 3000, 40), rng.uniform(0, 3000, 40)
    k, floor, levels = 4, 120.0, 5
    raw = []
    for i in range(40):
        dist = sorted(math.hypot(x[i] - x[j], y[i] - y[j]) for j in range(40) if j != i)
        raw.append(max(dist[k - 1], floor))
    got = kde.adaptive_bandwidths(x, y, k=k, min_bandwidth=floor, levels=levels)
    np.testing.assert_allclose(got, _binned(raw, levels), rtol=1e-9)
    # defaults: 15th neighbour, 50 m floor, 16 levels
    x2, y2 = rng.uniform(0, 5000, 60), rng.uniform(0, 5000, 60)
    d15 = [sorted(math.hypot(x2[i] - x2[j], y2[i] - y2[j]) for j in range(60) if j != i)[14]
           for i in range(60)]
    got2 = kde.adaptive_bandwidths(x2, y2)
    assert len(np.unique(got2)) <= 16
    lo2, hi2 = math.log(max(min(d15), 50)), math.log(max(max(d15), 50))
    assert got2.min() == pytest.approx(math.exp(lo2 + (hi2 - lo2) / 32))
    # fewer events than k: the farthest other event; equal distances: no binning
    np.testing.assert_allclose(kde.adaptive_bandwidths([0, 300, 0], [0, 0, 400], k=15),
                               _binned([400, 500, 500], 16), rtol=1e-9)
    np.testing.assert_allclose(kde.adaptive_bandwidths([0.0, 200.0], [0.0, 0.0]), [200, 200])
    with pytest.raises(SaferhubError, match="^adaptive bandwidth needs at least 2 located events$"):
        kde.adaptive_bandwidths([1.0], [1.0])


def test_adaptive_kde_sums_one_hand_kernel_per_event():
    g = Grid.from_bounds(0, 0, 190, 190, 20)
    x, y = _events_on_centres(g, 9, 5)
    h = np.array([30.0, 30, 30, 60, 60, 60, 90, 90, 90])
    w = np.arange(1.0, 10.0)
    want = sum(_by_hand(g, [xi], [yi], hi, "quartic", [wi]) for xi, yi, hi, wi in zip(x, y, h, w))
    np.testing.assert_allclose(kde.kde_grid_adaptive(g, x, y, h, weights=w), want, rtol=1e-9, atol=1e-15)


def test_bandwidth_checks_name_the_problem():
    g = Grid.from_bounds(0, 0, 190, 190, 20)
    assert kde.kde_grid(g, [10.0], [10.0], 10.0).max() > 0  # exactly half a cell: allowed
    with pytest.raises(SaferhubError, match=r"^bandwidth 9\.9 m is under half the cell size 20 m: the "
                                            r"surface would just be the counts; use a larger bandwidth$"):
        kde.kde_grid(g, [10.0], [10.0], 9.9)
    for bad in (0.0, -5.0, float("nan")):
        with pytest.raises(SaferhubError, match="bandwidth must be > 0 metres"):
            kde.kde_grid(g, [10.0], [10.0], bad)
    fine = Grid.from_bounds(0, 0, 9, 9, 1)  # one-metre cells: a 0.75 m bandwidth is fine
    assert kde.kde_grid(fine, [1.5], [1.5], 0.75).max() > 0
    with pytest.raises(SaferhubError, match=r"unknown kernel 'box' \(use quartic, gaussian\)"):
        kde.kde_grid(g, [10.0], [10.0], 50.0, "box")


def test_dual_and_adaptive_kde_honour_the_kernel_and_default_to_no_rescaling():
    g = Grid.from_bounds(0, 0, 190, 190, 20)
    xa, ya = _events_on_centres(g, 6, 11)
    xb, yb = _events_on_centres(g, 4, 12)
    d = kde.dual_kde(g, xa, ya, xb, yb, 30.0, "gaussian")  # scale_b defaults to 1
    np.testing.assert_allclose(d.a, _by_hand(g, xa, ya, 30.0, "gaussian") * 1e6, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d.b, _by_hand(g, xb, yb, 30.0, "gaussian") * 1e6, rtol=1e-9, atol=1e-12)
    h = np.array([15.0, 15, 25, 25, 25, 40])
    want = sum(_by_hand(g, [xi], [yi], hi, "gaussian") for xi, yi, hi in zip(xa, ya, h))
    np.testing.assert_allclose(kde.kde_grid_adaptive(g, xa, ya, h, "gaussian"), want, rtol=1e-9, atol=1e-15)
