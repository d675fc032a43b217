"""Emerging hot spots: Mann–Kendall against a scalar reference, each of ArcGIS's eight categories
(hot and cold) from hand-built cubes, and an end-to-end grid with planted patterns."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy import stats

from saferhub.errors import SaferhubError
em = importlib.import_module("saferhub.hotspots.emerging")  # the module; saferhub.hotspots.emerging is the verb


def _mk_reference(x):
    """Textbook Mann–Kendall for one series (Kendall 1975), loops on purpose."""
    n = len(x)
    s = sum(np.sign(x[j] - x[i]) for i in range(n) for j in range(i + 1, n))
    _, counts = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in counts)) / 18
    z = 0.0 if s == 0 else (s - np.sign(s)) / np.sqrt(var)
    return s, var, z, 2 * stats.norm.sf(abs(z))


def test_mann_kendall_matches_scalar_reference_with_and_without_ties():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(20, 15)), rng.poisson(1.5, size=(20, 15)).astype(float),
                   np.arange(15.0)[None, :], -np.arange(15.0)[None, :], np.ones((1, 15))])
    mk = em.mann_kendall(X)
    for row in range(X.shape[0]):
        s, var, z, p = _mk_reference(X[row])
        assert mk.s[row] == s
        assert mk.var[row] == pytest.approx(var)
        assert mk.z[row] == pytest.approx(z)
        assert mk.p[row] == pytest.approx(p)
    # Without ties tau is Kendall's tau against time.
    tau_ref = stats.kendalltau(np.arange(15), X[0]).statistic
    assert mk.tau[0] == pytest.approx(tau_ref)


T = 10
SIG, NOT = 0.001, 0.5


def _series(hot=(), cold=(), z_hot=None):
    z = np.zeros(T)
    p = np.full(T, NOT)
    for t in hot:
        z[t], p[t] = 3.0, SIG
    for t in cold:
        z[t], p[t] = -3.0, SIG
    if z_hot is not None:
        z = np.asarray(z_hot, float)
        p = np.where(np.abs(z) >= 2.58, SIG, NOT)
    return z, p


CUBES = {
    "new hot spot": _series(hot=[9]),
    "consecutive hot spot": _series(hot=[7, 8, 9]),
    "intensifying hot spot": _series(z_hot=np.linspace(2.7, 6.0, T)),
    "persistent hot spot": _series(z_hot=[3.1, 3.4, 2.9, 3.3, 3.0, 3.4, 2.9, 3.2, 3.0, 3.3]),
    "diminishing hot spot": _series(z_hot=np.linspace(6.0, 2.7, T)),
    "sporadic hot spot": _series(hot=[2, 5, 9]),
    "oscillating hot spot": _series(hot=[6, 9], cold=[3]),
    "historical hot spot": _series(hot=range(9)),
    "no pattern": _series(),
}


def _cube_arrays(cubes):
    z = np.vstack([c[0] for c in cubes.values()])
    p = np.vstack([c[1] for c in cubes.values()])
    return z, p


def test_each_arcgis_hot_category_from_hand_built_series():
    z, p = _cube_arrays(CUBES)
    labels, _ = em.classify(z, p)
    assert labels.tolist() == list(CUBES)


def test_each_arcgis_cold_category_is_the_mirror_image():
    z, p = _cube_arrays(CUBES)
    labels, _ = em.classify(-z, p)
    expected = [k.replace("hot spot", "cold spot") for k in CUBES]
    assert labels.tolist() == expected


def test_category_edge_cases():
    cases = {
        # hot only at the end but once cold: the cold history wins (documented choice)
        "oscillating hot spot": _series(hot=[9], cold=[2]),
        # a final run of two after an earlier hot slice is sporadic, not consecutive
        "sporadic hot spot": _series(hot=[1, 8, 9]),
        # 90% hot including the final slice but with a gap: persistent, not consecutive
        "persistent hot spot": _series(hot=[0, 1, 2, 3, 5, 6, 7, 8, 9]),
        # final slice not hot and < 90% hot: nothing
        "no pattern": _series(hot=range(8)),
    }
    z, p = _cube_arrays(cases)
    z[2] = np.where(p[2] <= SIG, 3.0 + 0.01 * (np.arange(T) % 2), 0)  # keep MK flat
    labels, _ = em.classify(z, p)
    assert labels.tolist() == list(cases)


def test_simple_classes():
    hot = np.zeros((5, 12), bool)
    hot[0] = True  # persistent
    hot[1, 8:] = True  # emerging
    hot[2, :3] = True  # former
    hot[3, [1, 9]] = True  # intermittent
    assert em.simple_classes(hot).tolist() == ["persistent", "emerging", "former", "intermittent", "none"]


def test_cube_counts_events_by_unit_and_time():
    c = em.cube([0, 0, 1, 2, -1, 2], [0, 0, 1, 2, 1, 5], n_units=3, n_times=3)
    assert c.tolist() == [[2, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_emerging_frame_on_a_grid_recovers_planted_patterns():
    """Gi* per monthly slice (time_lags=0) on grid units, events placed at the cells' centres."""
    from saferhub.geo.grid import Grid
    from saferhub.geo.units import grid_units
    from saferhub.hotspots.analyse import emerging_frame

    rng = np.random.default_rng(12)
    T, ny, nx = 24, 30, 30
    C = rng.poisson(1.0, size=(T, ny, nx)).astype(float)
    C[-3:, 5:8, 5:8] += 12  # appears in the last three months only -> consecutive
    C[:, 20:23, 20:23] += np.round(np.linspace(4, 30, T))[:, None, None]  # always hot, growing -> intensifying
    units = grid_units(Grid.from_bounds(0, 0, 100 * nx - 10, 100 * ny - 10, 100))
    t, r, c = np.nonzero(C)
    k = C[t, r, c].astype(int)
    x, y, t = np.repeat(c * 100 + 50.0, k), np.repeat(r * 100 + 50.0, k), np.repeat(t, k)
    gdf, cube = emerging_frame(units, x, y, t, T, rings=1, time_lags=0)
    at = lambda row, col: gdf.iloc[units.assign([col * 100 + 50.0], [row * 100 + 50.0])[0]]  # noqa: E731
    assert cube.sum() == C.sum()
    assert at(6, 6)["category"] == "consecutive hot spot"
    assert at(21, 21)["category"] == "intensifying hot spot"
    assert at(21, 21)["simple"] == "persistent" and at(6, 6)["simple"] == "emerging"
    assert (gdf["category"] == "no pattern").mean() > 0.8


def test_bad_cubes_are_clear_errors():
    with pytest.raises(SaferhubError, match="3 time slices"):
        em.mann_kendall(np.zeros((3, 2)))


def test_emerging_frame_on_hexagons_recovers_a_planted_new_hotspot():
    """The generic (sparse-weights) path: points on hexagons, a cluster only in the last month."""
    import shapely

    from saferhub.geo.units import hex_units
    from saferhub.hotspots.analyse import emerging_frame

    rng = np.random.default_rng(21)
    units = hex_units(200, shapely.box(0, 0, 6000, 6000))
    T, n = 12, 6000
    x, y, t = rng.uniform(0, 6000, n), rng.uniform(0, 6000, n), rng.integers(0, T, n)
    hx, hy = rng.normal(3000, 60, 150), rng.normal(3000, 60, 150)
    gdf, cube = emerging_frame(units, np.r_[x, hx], np.r_[y, hy], np.r_[t, np.full(150, T - 1)], T, rings=1)
    centre = units.assign([3000.0], [3000.0])[0]
    assert gdf["category"].iloc[centre] == "new hot spot"
    assert cube.shape == (T, units.n) and cube.sum() == (units.assign(np.r_[x, hx], np.r_[y, hy]) >= 0).sum()
    assert (gdf["category"] == "no pattern").mean() > 0.9


@pytest.mark.parametrize("lags", [0, 1, 2])
def test_spacetime_gistar_equals_gistar_on_explicit_kronecker_weights(lags):
    import scipy.sparse as sp

    from saferhub.hotspots.gistar import gistar_sparse
    from saferhub.hotspots.weights import distance_band

    rng = np.random.default_rng(5)
    n, T = 40, 7
    x, y = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
    Ws = distance_band(x, y, 250)
    C = rng.poisson(2.0, size=(T, n)).astype(float)
    z, p = em.spacetime_gistar(C, Ws, time_lags=lags, correction="holm")
    # Bin (t, i) neighbours bin (t', j) when j is i or a spatial neighbour and t - lags <= t' <= t.
    L = np.zeros((T, T))
    for t in range(T):
        L[t, max(0, t - lags): t + 1] = 1
    S = (Ws + sp.identity(n)).toarray() > 0
    W = sp.csr_matrix(np.kron(L, S))
    ref = gistar_sparse(C.ravel(), W - sp.identity(n * T), correction="holm")
    np.testing.assert_allclose(z.ravel(), ref.z, atol=1e-9)
    np.testing.assert_allclose(p.ravel(), ref.p_adjusted, atol=1e-12)


def test_grid_spatial_weights_match_the_convolution_kernel():
    import shapely

    from saferhub.geo.grid import Grid
    from saferhub.geo.units import grid_units
    from saferhub.hotspots.analyse import gistar_units, spatial_weights
    from saferhub.hotspots.gistar import gistar_sparse

    units = grid_units(Grid.from_bounds(0, 0, 2990, 1990, 100), shapely.Point(1500, 1000).buffer(900))
    rng = np.random.default_rng(2)
    v = rng.poisson(3, units.n).astype(float)
    for kw in ({"rings": 1}, {"rings": 2}, {"distance": 250.0}):
        conv = gistar_units(units, v, **kw)
        sparse = gistar_sparse(v, spatial_weights(units, **kw))
        np.testing.assert_allclose(sparse.z, conv.z, atol=1e-10)


def test_spacetime_emerging_on_a_grid_recovers_planted_patterns():
    """ArcGIS-style space-time Gi* (1 time lag) on grid units built from points."""
    from saferhub.geo.grid import Grid
    from saferhub.geo.units import grid_units
    from saferhub.hotspots.analyse import emerging_frame

    rng = np.random.default_rng(8)
    T = 24
    units = grid_units(Grid.from_bounds(0, 0, 2990, 2990, 100))
    n = 20000
    x, y, t = rng.uniform(0, 3000, n), rng.uniform(0, 3000, n), rng.integers(0, T, n)
    # growing cluster at (2150, 2150) all along; a new cluster at (650, 650) in the last 3 months
    grow_t = np.repeat(np.arange(T), np.linspace(10, 60, T).astype(int))
    gx, gy = rng.normal(2150, 60, grow_t.size), rng.normal(2150, 60, grow_t.size)
    new_t = np.repeat(np.arange(T - 3, T), 60)
    nx_, ny_ = rng.normal(650, 60, new_t.size), rng.normal(650, 60, new_t.size)
    gdf, _ = emerging_frame(units, np.r_[x, gx, nx_], np.r_[y, gy, ny_], np.r_[t, grow_t, new_t], T,
                            rings=1, time_lags=1)
    at = lambda px, py: gdf["category"].iloc[units.assign([px], [py])[0]]  # noqa: E731
    assert at(2150, 2150) == "intensifying hot spot"
    assert at(650, 650) == "consecutive hot spot"
    assert (gdf["category"] == "no pattern").mean() > 0.9
