"""Forecast smoothing kernels by their definitions, written out here (no call to the module's
helpers), and smoothing against scipy.signal.convolve2d with zero outside the grid."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import convolve2d

from saferhub.forecast import kernels


def test_offsets_are_row_then_column_offsets():
    dr, dc = kernels.offsets(1)
    np.testing.assert_array_equal(dr, [[-1, -1, -1], [0, 0, 0], [1, 1, 1]])
    np.testing.assert_array_equal(dc, [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])
    dr, dc = kernels.offsets(0)
    assert dr.tolist() == [[0]] and dc.tolist() == [[0]]


@pytest.mark.parametrize("sigma,truncate,radius", [(1.0, 3.0, 3), (0.7, 3.0, 3), (1.5, 3.0, 5), (0.2, 3.0, 1),
                                                   (1.0, 1.5, 2), (2.0, 0.1, 1)])
def test_gaussian_kernel_by_definition(sigma, truncate, radius):
    want = np.array([[math.exp(-(i * i + j * j) / (2 * sigma * sigma)) for j in range(-radius, radius + 1)]
                     for i in range(-radius, radius + 1)])
    got = kernels.gaussian_kernel(sigma) if truncate == 3.0 else kernels.gaussian_kernel(sigma, truncate)
    assert got.shape == want.shape  # radius = max(1, ceil(truncate x sigma))
    np.testing.assert_allclose(got, want / want.sum(), rtol=1e-12)


@pytest.mark.parametrize("bandwidth", [0.5, 1.0, 1.7, 3.0])
def test_prospective_kernel_by_definition(bandwidth):
    r = int(math.floor(bandwidth))
    want = [[1 / (1 + math.hypot(i, j)) if math.hypot(i, j) <= bandwidth else 0.0 for j in range(-r, r + 1)]
            for i in range(-r, r + 1)]
    np.testing.assert_allclose(kernels.prospective_kernel(bandwidth), want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("size", [5, 7, 11])
def test_smooth_is_convolution_and_never_negative(size):
    rng = np.random.default_rng(size)
    a = np.zeros((3, 17, 19))
    a[:, 3, 4] = [1.0, 0.0, 2.0]  # isolated events: FFT round-off far away must not go negative
    a[1, 12, 15] = 5.0
    k = rng.uniform(0, 1, (size, size))
    k[0, 1] = 0.0  # zero entries are skipped by the direct sum and must stay zero-weighted
    got = kernels.smooth(a, k)
    assert got.shape == a.shape and (got >= 0).all()
    for t in range(3):
        np.testing.assert_allclose(got[t], convolve2d(a[t], k, mode="same"), atol=1e-12)
    np.testing.assert_allclose(kernels.smooth(a[2], k), convolve2d(a[2], k, mode="same"), atol=1e-12)
    assert (kernels.smooth(a[1], k)[a[1] == 0] >= 0).all()
