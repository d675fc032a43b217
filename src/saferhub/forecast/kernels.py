"""Spatial kernels on the grid and fast smoothing by FFT convolution.

The hotspots package owns the user-facing KDE; forecasting needs its own small, array-only
smoothers (a retrospective KDE, the prospective kernel, SEPP's triggering kernel), so they live
here and stay independent of that package.
"""

from __future__ import annotations

import numpy as np


def offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """(2r+1, 2r+1) arrays of row and column offsets in cells."""
    r = np.arange(-radius, radius + 1)
    return np.meshgrid(r, r, indexing="ij")


def gaussian_kernel(sigma_cells: float, truncate: float = 3.0) -> np.ndarray:
    """Discrete Gaussian over cell offsets, truncated at `truncate` sigma, summing to 1."""
    radius = max(1, int(np.ceil(truncate * sigma_cells)))
    dr, dc = offsets(radius)
    k = np.exp(-(dr**2 + dc**2) / (2.0 * sigma_cells**2))
    return k / k.sum()


def prospective_kernel(bandwidth_cells: float) -> np.ndarray:
    """Bowers, Johnson & Pease (2004) spatial weight 1 / (1 + d), d the centre-to-centre distance
    in cell widths, zero beyond the bandwidth (not normalised: the original scores are sums)."""
    radius = int(np.floor(bandwidth_cells))
    dr, dc = offsets(radius)
    d = np.hypot(dr, dc)
    return np.where(d <= bandwidth_cells, 1.0 / (1.0 + d), 0.0)


def smooth(grid_values: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve a (ny, nx) or (t, ny, nx) array with a 2-D kernel ('same' size, zero outside).

    Small kernels use a direct sum over the kernel's offsets (cheaper than FFT for a 3x3 or 5x5);
    larger ones use FFT. Tiny negative FFT round-off is clipped to zero.
    """
    a = np.asarray(grid_values, dtype="float64")
    if kernel.size <= 25:
        return _direct(a, kernel)
    from scipy.signal import (
        fftconvolve,  # slow to import: only when a large kernel needs it
    )

    axes = (-2, -1)
    k = kernel if a.ndim == 2 else kernel[None, :, :]
    out = fftconvolve(a, k, mode="same", axes=axes)
    return np.maximum(out, 0.0)


def _direct(a: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    kr, kc = kernel.shape
    rr, rc = kr // 2, kc // 2
    pad = [(0, 0)] * (a.ndim - 2) + [(rr, rr), (rc, rc)]
    p = np.pad(a, pad)
    out = np.zeros_like(a)
    ny, nx = a.shape[-2:]
    for i in range(kr):
        for j in range(kc):
            w = kernel[i, j]
            if w:
                # convolution flips the kernel: output[r, c] += k[i, j] * a[r - (i - rr), c - (j - rc)]
                out += w * p[..., kr - 1 - i: kr - 1 - i + ny, kc - 1 - j: kc - 1 - j + nx]
    return out
