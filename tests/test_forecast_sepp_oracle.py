"""SEPP's triggering kernel and the forecast smoothers against independent oracles: the grid-ETAS
intensity summed term by term in plain Python (Mohler et al. 2011's formula, not the module's
recursions), kernels written out from their definitions, and convolution by scipy.signal."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import convolve2d

from saferhub.forecast import kernels, sepp


def _gauss_weights(sigma, radius):
    """Gaussian over the (2r+1)^2 square of cell offsets, normalised to sum 1 (separable)."""
    w = {(dr, dc): math.exp(-(dr * dr + dc * dc) / (2 * sigma * sigma))
         for dr in range(-radius, radius + 1) for dc in range(-radius, radius + 1)}
    total = sum(w.values())
    return {k: v / total for k, v in w.items()}


def _intensity_by_hand(N, mu, theta, q, sigma, radius):
    """lambda[c] = mu[c] + theta * sum_{k>=1} (1 - q) q^(k-1) sum_d K(d) N[T - k, c - d]."""
    T, ny, nx = N.shape
    K = _gauss_weights(sigma, radius)
    out = np.array(mu, dtype=float)
    for r in range(ny):
        for c in range(nx):
            trig = 0.0
            for k in range(1, T + 1):
                g = (1 - q) * q ** (k - 1)
                for (dr, dc), w in K.items():
                    pr, pc = r - dr, c - dc
                    if 0 <= pr < ny and 0 <= pc < nx:
                        trig += g * w * N[T - k, pr, pc]
            out[r, c] += theta * trig
    return out


@pytest.mark.parametrize("q,sigma,radius", [(0.5, 1.0, 2), (0.8, 0.7, 1), (0.3, 1.6, 3)])
def test_next_month_intensity_equals_the_etas_sum_term_by_term(q, sigma, radius):
    rng = np.random.default_rng(3)
    N = rng.poisson(0.6, (5, 7, 9)).astype(float)
    mu = rng.uniform(0.01, 0.2, (7, 9))
    params = {"mu": mu, "theta": 0.4, "q": q, "sigma": sigma, "radius": radius}
    np.testing.assert_allclose(sepp.sepp_intensity_next(N, params),
                               _intensity_by_hand(N, mu, 0.4, q, sigma, radius), rtol=1e-10, atol=1e-14)


def test_triggering_decays_geometrically_with_the_months_since():
    # one crime, k months ago, in the middle of a 1 x 1 grid with radius 0: lambda = mu + theta (1-q) q^(k-1)
    for k in (1, 2, 5):
        N = np.zeros((6, 1, 1))
        N[6 - k, 0, 0] = 1
        lam = sepp.sepp_intensity_next(N, {"mu": np.array([[0.1]]), "theta": 0.5, "q": 0.6,
                                           "sigma": 1.0, "radius": 0})
        assert lam[0, 0] == pytest.approx(0.1 + 0.5 * 0.4 * 0.6 ** (k - 1))


def test_kernels_by_definition():
    k1 = sepp.kernel_1d(1.3, 2)
    want = np.exp(-np.arange(-2, 3) ** 2 / (2 * 1.3**2))
    np.testing.assert_allclose(k1, want / want.sum())
    w = _gauss_weights(0.9, 2)
    np.testing.assert_allclose(sepp.kernel_2d(0.9, 2), [[w[(i, j)] for j in range(-2, 3)] for i in range(-2, 3)])
    g = kernels.gaussian_kernel(0.5)  # radius = ceil(3 * 0.5) = 2
    assert g.shape == (5, 5) and g.sum() == pytest.approx(1.0)
    assert g[2, 2] / g[2, 3] == pytest.approx(math.exp(1 / (2 * 0.25)))
    assert kernels.gaussian_kernel(0.1).shape == (3, 3)  # at least one cell each way
    assert kernels.gaussian_kernel(1.0, truncate=2.0).shape == (5, 5)
    p = kernels.prospective_kernel(2.5)  # Bowers et al. 1 / (1 + d), zero beyond 2.5 cells
    assert p.shape == (5, 5)
    assert p[2, 2] == 1.0 and p[2, 4] == pytest.approx(1 / 3) and p[1, 1] == pytest.approx(1 / (1 + math.sqrt(2)))
    assert p[0, 0] == 0.0  # corner: sqrt(8) = 2.83 cells > 2.5
    assert p[0, 1] == pytest.approx(1 / (1 + math.sqrt(5)))  # sqrt(5) = 2.24 cells <= 2.5
    assert kernels.prospective_kernel(2.0)[0, 2] == pytest.approx(1 / 3)  # exactly at the bandwidth: in


@pytest.mark.parametrize("size", [3, 5, 9])
def test_smooth_equals_scipy_convolution_with_zero_outside(size):
    rng = np.random.default_rng(size)
    a = rng.poisson(1.0, (2, 11, 13)).astype(float)
    k = rng.uniform(0, 1, (size, size))  # asymmetric on purpose: convolution must flip it
    got = kernels.smooth(a, k)
    for t in range(2):
        np.testing.assert_allclose(got[t], convolve2d(a[t], k, mode="same", boundary="fill"), atol=1e-12)
    np.testing.assert_allclose(kernels.smooth(a[0], k), convolve2d(a[0], k, mode="same"), atol=1e-12)
