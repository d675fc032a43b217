"""Analyses on any spatial units, returning GeoDataFrames ready to write or map.

These glue the pure statistics (gistar, kde, emerging, change) to `saferhub.geo.units.Units`; the
CLI and API call these. Inputs are arrays of BNG x, y (and month index, harm weight) per event.
"""

from __future__ import annotations

import numpy as np

from saferhub.errors import SaferhubError
from saferhub.geo.units import Units
from saferhub.hotspots.change import compound_poisson_change, poisson_change
from saferhub.hotspots.emerging import classify, simple_classes, spacetime_gistar
from saferhub.hotspots.emerging import cube as spacetime_cube
from saferhub.hotspots.kde import PER_KM2, adaptive_bandwidths, dual_kde, kde_grid, kde_grid_adaptive
from saferhub.hotspots import weights as wmod
from saferhub.hotspots.gistar import GiStar, gistar_grid, gistar_sparse, grid_kernel


def unit_values(units: Units, x, y, weights=None) -> np.ndarray:
    """Count (or summed weight) of events per unit, in unit order."""
    idx = units.assign(x, y)
    keep = idx >= 0
    w = None if weights is None else np.asarray(weights, float)[keep]
    return np.bincount(idx[keep], weights=w, minlength=units.n).astype("float64")


def counts_frame(units: Units, x, y, harm=None, population: dict | None = None):
    """GeoDataFrame of units with `count`, `harm` (when per-event harm weights are given) and
    `rate_per_1000` residents (when a unit_id -> population mapping is given)."""
    gdf = units.gdf.copy()
    gdf["count"] = unit_values(units, x, y)
    if harm is not None:
        gdf["harm"] = unit_values(units, x, y, harm)
    if population:
        pop = gdf["unit_id"].map(population).astype("float64")
        gdf["population"] = pop
        with np.errstate(divide="ignore", invalid="ignore"):
            gdf["rate_per_1000"] = np.where(pop > 0, gdf["count"] / pop * 1000, np.nan)
    return gdf


def neighbours_description(units: Units, distance: float | None, rings: int | None) -> str:
    if distance is not None:
        return f"distance band {distance:g} m (binary weights, focal unit included)"
    if units.kind in ("grid", "hex"):
        return f"{rings} ring(s) of neighbouring cells (binary weights, focal unit included)"
    return "units sharing a boundary or touching (queen contiguity, focal unit included)"


def gistar_units(units: Units, values, distance: float | None = None, rings: int | None = 1,
                 correction: str = "fdr", permutations: int = 0, seed: int | None = None) -> GiStar:
    """Gi* over any units. Grid: convolution with a distance-band or k-ring kernel. Hexagons:
    distance band, or k rings (centres within k x spacing). Polygons / segments: distance band
    between centroids, or contiguity (shared boundary / touching lines) when no distance is given."""
    values = np.asarray(values, float)
    if distance is not None:
        rings = None
    if units.kind == "grid":
        kern = grid_kernel(units.grid.cell_size, distance=distance, rings=rings)
        g = gistar_grid(units.to_grid(values), kern, units.mask, correction, permutations, seed)
        pick = units.from_grid
        return GiStar(pick(g.z), pick(g.p), pick(g.p_adjusted), pick(g.cls), pick(g.local_sum),
                      pick(g.n_neighbours), g.correction, None if g.p_sim is None else pick(g.p_sim))
    cx, cy = units.centroids()
    if units.kind == "hex" and distance is None:
        from saferhub.geo.hexgrid import HexGrid
        distance = HexGrid(units.cell_size).spacing * int(rings) * 1.001
    if distance is not None:
        W = wmod.distance_band(cx, cy, distance)
    else:
        W = wmod.contiguity(units.gdf.geometry.values)
    return gistar_sparse(values, W, correction, permutations, seed)


def kde_frame(units: Units, x, y, bandwidth: float, kernel: str = "quartic", adaptive_k: int | None = None,
              weights=None):
    """KDE surface (events per km^2) on square-grid units; adaptive_k gives a kNN bandwidth per event."""
    if units.kind != "grid":
        raise SaferhubError("KDE is computed on a square grid (--units grid)")
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if adaptive_k:
        h = adaptive_bandwidths(x[ok], y[ok], k=adaptive_k, min_bandwidth=units.grid.cell_size)
        w = None if weights is None else np.asarray(weights, float)[ok]
        dens = kde_grid_adaptive(units.grid, x[ok], y[ok], h, kernel, w)
    else:
        dens = kde_grid(units.grid, x, y, bandwidth, kernel, weights)
    gdf = units.gdf.copy()
    gdf["density_km2"] = units.from_grid(dens) * PER_KM2
    return gdf


def dual_kde_frame(units: Units, xa, ya, xb, yb, bandwidth: float, kernel: str = "quartic",
                   scale_b: float = 1.0):
    """Dual KDE on square-grid units: density of a (e.g. the later period) and of b (scaled by
    `scale_b`, e.g. months_a / months_b), their difference and ratio, per km^2."""
    if units.kind != "grid":
        raise SaferhubError("KDE is computed on a square grid (--units grid)")
    d = dual_kde(units.grid, xa, ya, xb, yb, bandwidth, kernel, scale_b)
    gdf = units.gdf.copy()
    gdf["density_a_km2"] = units.from_grid(d.a)
    gdf["density_b_km2"] = units.from_grid(d.b)
    gdf["difference_km2"] = units.from_grid(d.difference)
    gdf["ratio"] = units.from_grid(d.ratio)
    return gdf


def spatial_weights(units: Units, distance: float | None = None, rings: int | None = 1):
    """Sparse binary neighbour matrix (no self-links) of any units, matching `gistar_units`:
    grid cells from the distance-band / k-ring kernel offsets, hexagons by centre distance,
    polygons and segments by distance band or contiguity."""
    import scipy.sparse as sp

    if distance is not None:
        rings = None
    if units.kind == "grid":
        kern = grid_kernel(units.grid.cell_size, distance=distance, rings=rings)
        r = kern.shape[0] // 2
        ny, nx = units.grid.shape
        rows, cols = np.nonzero(units.mask)
        uid = np.full((ny, nx), -1, np.int64)
        uid[rows, cols] = np.arange(rows.size)
        src, dst = [], []
        for dr, dc in zip(*np.nonzero(kern)):  # one vectorised pass per kernel offset
            dr, dc = dr - r, dc - r
            if dr == 0 and dc == 0:
                continue
            rr, cc = rows + dr, cols + dc
            ok = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
            nb = np.full(rows.size, -1, np.int64)
            nb[ok] = uid[rr[ok], cc[ok]]
            keep = nb >= 0
            src.append(np.flatnonzero(keep))
            dst.append(nb[keep])
        i = np.concatenate(src) if src else np.zeros(0, np.int64)
        j = np.concatenate(dst) if dst else np.zeros(0, np.int64)
        return sp.csr_matrix((np.ones(i.size), (i, j)), shape=(units.n, units.n))
    cx, cy = units.centroids()
    if units.kind == "hex" and distance is None:
        from saferhub.geo.hexgrid import HexGrid
        distance = HexGrid(units.cell_size).spacing * int(rings) * 1.001
    if distance is not None:
        return wmod.distance_band(cx, cy, distance)
    return wmod.contiguity(units.gdf.geometry.values)


def emerging_frame(units: Units, x, y, t_index, n_times: int, distance: float | None = None,
                   rings: int | None = 1, correction: str = "fdr", alpha: float = 0.05,
                   time_lags: int = 0, weights=None):
    """Emerging hot spots over monthly slices: category (ArcGIS), simple class, Mann–Kendall
    trend on the Gi* z-scores, and the per-slice counts (for sparklines). Returns (gdf, cube).

    time_lags = 0: Gi* per slice (each month against its own mean and variance).
    time_lags = k >= 1: ArcGIS's space-time Gi* (neighbourhood = the spatial neighbours in this and
    the k previous months; mean, variance and correction over the whole cube).
    `weights` (per event, e.g. harm) make the cube hold summed weights instead of counts."""
    idx = units.assign(x, y)
    C = spacetime_cube(idx, t_index, units.n, n_times, weights)  # (T, units): counts, or harm with weights
    T = C.shape[0]
    Z = np.full(C.shape, np.nan)
    P = np.full(C.shape, np.nan)
    if time_lags:
        Z, P = spacetime_gistar(C, spatial_weights(units, distance, rings), time_lags, correction)
    else:
        for t in range(T):  # one Gi* (one convolution or sparse product) per slice
            if np.ptp(C[t]) == 0:
                continue
            g = gistar_units(units, C[t], distance=distance, rings=rings, correction=correction)
            Z[t], P[t] = g.z, g.p_adjusted
    labels, mk = classify(Z.T, P.T, alpha=alpha)
    with np.errstate(invalid="ignore"):
        hot = (P.T <= alpha) & (Z.T > 0)
    gdf = units.gdf.copy()
    gdf["count"] = C.sum(axis=0)
    gdf["category"] = labels
    gdf["simple"] = simple_classes(hot)
    gdf["hot_slices"] = hot.sum(axis=1)
    gdf["mk_tau"] = mk.tau
    gdf["mk_z"] = mk.z
    gdf["mk_p"] = mk.p
    return gdf, C


def change_frame(units: Units, xa, ya, xb, yb, length_ratio: float = 1.0, correction: str = "fdr",
                 alpha: float = 0.05, weights_a=None, weights_b=None):
    """Per-unit change from period a (before) to b (after): counts with the exact Poisson test, or
    summed weights (harm; both weights given) with the compound-Poisson test."""
    if (weights_a is None) != (weights_b is None):
        raise SaferhubError("weight both periods or neither")
    a = unit_values(units, xa, ya, weights_a)
    b = unit_values(units, xb, yb, weights_b)
    if weights_a is None:
        c = poisson_change(a, b, length_ratio, correction, alpha)
    else:
        a2 = unit_values(units, xa, ya, np.square(np.asarray(weights_a, float)))
        b2 = unit_values(units, xb, yb, np.square(np.asarray(weights_b, float)))
        c = compound_poisson_change(a, b, a2, b2, length_ratio, correction, alpha)
    gdf = units.gdf.copy()
    gdf["before"] = c.before
    gdf["after"] = c.after
    gdf["difference"] = c.difference
    gdf["ratio"] = c.ratio
    gdf["change_z"] = c.z
    gdf["change_p"] = c.p
    gdf["change_p_adj"] = c.p_adjusted
    gdf["direction"] = c.direction
    return gdf
