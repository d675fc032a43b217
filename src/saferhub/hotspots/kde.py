"""Kernel density estimation on a BNG grid by FFT convolution.

Events are binned to the output cells and the binned counts are convolved with the kernel sampled
at whole-cell offsets, so the density at a cell centre is the exact kernel sum over events taken
at their cells' centres (the binning moves each event by at most half a cell diagonal). 50k events
onto a 10k-cell grid take a few milliseconds (benchmarks/bench_hotspots_kde.py).

Kernels (Silverman 1986; the quartic is the one ArcGIS and CrimeStat use for crime maps):
  quartic   K(d) = 3 / (pi h^2) (1 - d^2/h^2)^2 for d < h, else 0
  gaussian  K(d) = 1 / (2 pi h^2) exp(-d^2 / (2 h^2)), cut at 4 h (mass beyond: e^-8 ~ 0.03%)
Both integrate to 1, so the density is in events per square metre; `density(...)` reports it per
square kilometre. Adaptive bandwidth: each event's h is the distance to its k-th nearest other
event (Silverman's nearest-neighbour method), floored at `min_bandwidth`, then rounded to one of
`levels` log-spaced values so each level is one FFT (the exact h used are returned).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal
from scipy.spatial import cKDTree

from saferhub.errors import SaferhubError
from saferhub.geo.grid import Grid

KERNELS = ("quartic", "gaussian")
GAUSS_CUT = 4.0
PER_KM2 = 1e6


def kernel_value(d, h, kernel: str = "quartic") -> np.ndarray:
    """Kernel weight at distance(s) d for bandwidth(s) h (per square metre)."""
    d = np.asarray(d, dtype="float64")
    h = np.asarray(h, dtype="float64")
    u2 = (d / h) ** 2
    if kernel == "quartic":
        return np.where(u2 < 1, 3.0 / (np.pi * h * h) * (1 - u2) ** 2, 0.0)
    if kernel == "gaussian":
        return np.where(u2 <= GAUSS_CUT**2, np.exp(-0.5 * u2) / (2 * np.pi * h * h), 0.0)
    raise SaferhubError(f"unknown kernel {kernel!r} (use {', '.join(KERNELS)})")


def kernel_grid(cell_size: float, bandwidth: float, kernel: str = "quartic") -> np.ndarray:
    """The kernel sampled at whole-cell offsets, (2r+1) x (2r+1), r = support / cell size."""
    support = bandwidth if kernel == "quartic" else GAUSS_CUT * bandwidth
    r = int(np.ceil(support / cell_size))
    off = np.arange(-r, r + 1) * float(cell_size)
    dx, dy = np.meshgrid(off, off)
    return kernel_value(np.hypot(dx, dy), bandwidth, kernel)


def _check(bandwidth, cell_size, kernel):
    if kernel not in KERNELS:
        raise SaferhubError(f"unknown kernel {kernel!r} (use {', '.join(KERNELS)})")
    if not np.isfinite(bandwidth) or bandwidth <= 0:
        raise SaferhubError(f"bandwidth must be > 0 metres, got {bandwidth!r}")
    if bandwidth < cell_size / 2:
        raise SaferhubError(f"bandwidth {bandwidth:g} m is under half the cell size {cell_size} m: "
                            "the surface would just be the counts; use a larger bandwidth")


def _convolve(counts: np.ndarray, k: np.ndarray) -> np.ndarray:
    if k.size <= 49:
        from scipy import ndimage
        return ndimage.correlate(counts, k, mode="constant", cval=0.0)
    out = signal.fftconvolve(counts, k, mode="same")  # kernel is symmetric
    # FFT round-off leaves +-1e-16 (relative) where the density is 0; zero it, or a dual KDE's
    # ratio a / b would read 1e15 in cells where period b has no events nearby at all
    out[out < 1e-12 * out.max(initial=0.0)] = 0.0
    return out


def kde_grid(grid: Grid, x, y, bandwidth: float, kernel: str = "quartic", weights=None) -> np.ndarray:
    """(ny, nx) fixed-bandwidth density in events (or weight units) per square metre."""
    _check(bandwidth, grid.cell_size, kernel)
    counts = grid.counts(x, y, weights)
    return _convolve(counts, kernel_grid(grid.cell_size, bandwidth, kernel))


def adaptive_bandwidths(x, y, k: int = 15, min_bandwidth: float = 50.0, levels: int = 16) -> np.ndarray:
    """Per-event bandwidth: distance to the k-th nearest other event, floored, rounded to `levels`
    log-spaced values (so the KDE needs only `levels` convolutions)."""
    pts = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    n = len(pts)
    if n < 2:
        raise SaferhubError("adaptive bandwidth needs at least 2 located events")
    k = int(min(k, n - 1))
    d, _ = cKDTree(pts).query(pts, k=k + 1)
    h = np.maximum(d[:, -1], float(min_bandwidth))
    lo, hi = np.log(h.min()), np.log(h.max())
    if hi - lo < 1e-9:
        return h
    edges = np.linspace(lo, hi, levels + 1)
    mids = np.exp((edges[:-1] + edges[1:]) / 2)
    idx = np.clip(np.searchsorted(edges, np.log(h), side="right") - 1, 0, levels - 1)
    return mids[idx]


def kde_grid_adaptive(grid: Grid, x, y, bandwidths, kernel: str = "quartic", weights=None) -> np.ndarray:
    """(ny, nx) density with a bandwidth per event (from `adaptive_bandwidths`): one convolution per
    distinct bandwidth, summed."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    h = np.asarray(bandwidths, float)
    w = np.ones(x.size) if weights is None else np.asarray(weights, float)
    out = np.zeros(grid.shape)
    for hv in np.unique(h):  # a handful of levels, each fully vectorised
        sel = h == hv
        _check(hv, grid.cell_size, kernel)
        out += _convolve(grid.counts(x[sel], y[sel], w[sel]), kernel_grid(grid.cell_size, hv, kernel))
    return out


@dataclass
class DualKDE:
    a: np.ndarray
    b: np.ndarray
    difference: np.ndarray  # a - b (per km^2)
    ratio: np.ndarray  # a / b, NaN where b is 0


def dual_kde(grid: Grid, xa, ya, xb, yb, bandwidth: float, kernel: str = "quartic",
             scale_b: float = 1.0) -> DualKDE:
    """Two KDE surfaces on one grid (two periods or two categories) and their difference and ratio,
    in events per km^2. `scale_b` rescales b (e.g. months_a / months_b for unequal periods)."""
    a = kde_grid(grid, xa, ya, bandwidth, kernel) * PER_KM2
    b = kde_grid(grid, xb, yb, bandwidth, kernel) * PER_KM2 * scale_b
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(b > 0, a / b, np.nan)
    return DualKDE(a, b, a - b, ratio)

