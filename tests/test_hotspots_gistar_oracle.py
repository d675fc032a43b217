"""Gi* on small grids and polygons against oracles written here, not the module's convolution.

Oracles: Getis & Ord's formula summed unit by unit over explicit neighbour lists (loops in this
file), checked itself against esda's `G_Local(star=True, transform='B')`; scipy.stats.norm for the
p-values; statsmodels' multipletests for the corrections; ArcGIS's 90/95/99% bins written out;
the permutation p-values recounted by brute force from the same shuffles (the same seed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats
from statsmodels.stats.multitest import multipletests

from saferhub.errors import SaferhubError
from saferhub.hotspots.gistar import gistar_grid, gistar_sparse, grid_kernel, neighbourhood_sum


def _neighbours_by_distance(cells, cell_size, band):
    """Explicit neighbour lists (focal included) of grid cells (row, col) within `band` metres."""
    out = []
    for r0, c0 in cells:
        out.append([k for k, (r, c) in enumerate(cells)
                    if math.hypot((r - r0) * cell_size, (c - c0) * cell_size) <= band + 1e-9])
    return out


def _neighbours_by_rings(cells, rings):
    return [[k for k, (r, c) in enumerate(cells) if max(abs(r - r0), abs(c - c0)) <= rings]
            for r0, c0 in cells]


def _gistar_by_hand(x, nbrs):
    """z_i = (L_i - xbar W_i) / (s sqrt((n W_i - W_i^2) / (n - 1))), s the population SD."""
    x = [float(v) for v in x]
    n = len(x)
    mean = sum(x) / n
    s = math.sqrt(sum((v - mean) ** 2 for v in x) / n)
    z, local, card = [], [], []
    for nb in nbrs:
        L = sum(x[j] for j in nb)
        W = len(nb)
        den = s * math.sqrt((n * W - W * W) / (n - 1))
        z.append((L - mean * W) / den if den > 0 else math.nan)
        local.append(L)
        card.append(W)
    return np.array(z), np.array(local), np.array(card, float)


def _classes_by_hand(z, p_adj):
    out = []
    for zi, pi in zip(z, p_adj):
        if not np.isfinite(zi) or not np.isfinite(pi):
            out.append(0)
            continue
        level = 3 if pi <= 0.01 else 2 if pi <= 0.05 else 1 if pi <= 0.10 else 0
        out.append(int(np.sign(zi)) * level)
    return np.array(out)


def _adjusted(p, correction):
    ok = np.isfinite(p)
    out = np.full(p.shape, np.nan)
    method = {"fdr": "fdr_bh", "holm": "holm"}.get(correction)
    out[ok] = p[ok] if method is None else multipletests(p[ok], method=method)[1]
    return out


@pytest.fixture(scope="module")
def small_grid():
    """A 9 x 11 grid of small non-integer harm values (SD < 1) with a planted block, and an
    irregular study area (a disc with a hole) so edge cells have fewer neighbours."""
    rng = np.random.default_rng(11)
    v = rng.gamma(0.6, 0.1, (9, 11))
    v[3:5, 6:8] += 0.9
    rr, cc = np.mgrid[0:9, 0:11]
    mask = (np.hypot(rr - 4, cc - 5) <= 4.6) & ~((rr == 4) & (cc == 2))
    return v, mask


@pytest.mark.parametrize("kind,arg", [("distance", 100.0), ("distance", 250.0), ("distance", 141.5),
                                      ("rings", 1), ("rings", 2)])
@pytest.mark.parametrize("correction", ["fdr", "holm", "none"])
def test_grid_gistar_equals_the_formula_unit_by_unit(small_grid, kind, arg, correction):
    v, mask = small_grid
    kernel = grid_kernel(100.0, **{kind: arg})
    res = gistar_grid(v, kernel, mask.astype(int), correction=correction)  # a 0/1 mask works too
    cells = [tuple(rc) for rc in np.argwhere(mask)]
    nbrs = (_neighbours_by_distance(cells, 100.0, arg) if kind == "distance"
            else _neighbours_by_rings(cells, arg))
    z, local, card = _gistar_by_hand(v[mask], nbrs)
    assert np.isfinite(z).all()
    np.testing.assert_allclose(res.z[mask], z, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.local_sum[mask], local, rtol=1e-12)
    np.testing.assert_array_equal(res.n_neighbours[mask], card)
    p = 2 * stats.norm.sf(np.abs(z))
    np.testing.assert_allclose(res.p[mask], p, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(res.p_adjusted[mask], _adjusted(p, correction), rtol=1e-9, atol=1e-300)
    np.testing.assert_array_equal(res.cls[mask], _classes_by_hand(z, _adjusted(p, correction)))
    assert res.correction == correction
    assert res.p_sim is None
    for arr in (res.z, res.p, res.p_adjusted, res.local_sum, res.n_neighbours):
        assert arr.dtype == np.float64 and arr.shape == v.shape
        assert np.isnan(arr[~mask]).all()
    assert (res.cls[~mask] == 0).all()
    assert (res.cls != 0).any()  # the planted block is found, so the bins are exercised


def test_the_hand_formula_is_esdas_gistar(small_grid):
    """The oracle above is itself Getis-Ord's Gi* as esda computes it."""
    import esda
    import libpysal

    v, mask = small_grid
    cells = np.argwhere(mask)
    pts = cells[:, ::-1] * 100.0
    w = libpysal.weights.DistanceBand(pts, threshold=250.0, binary=True, silence_warnings=True)
    ref = esda.G_Local(v[mask], w, transform="B", star=True, permutations=0).Zs
    z, _, _ = _gistar_by_hand(v[mask], _neighbours_by_distance([tuple(c) for c in cells], 100.0, 250.0))
    np.testing.assert_allclose(z, ref, rtol=1e-9)


def test_sparse_gistar_equals_the_formula_with_or_without_self_links():
    """Polygon-like units with an explicit neighbour list; the focal unit is added once whether
    or not the matrix holds it, and non-binary weights are read as 'neighbour or not'."""
    rng = np.random.default_rng(5)
    n = 40
    x = rng.poisson(1.5, n).astype(float)
    x[:4] += 6
    pairs = {(i, (i + 1) % n) for i in range(n)} | {(i, (i + 7) % n) for i in range(0, n, 3)}
    pairs |= {(0, 2), (1, 3), (2, 3)}
    pairs |= {(j, i) for i, j in pairs}
    nbrs = [sorted({i} | {j for a, j in pairs if a == i}) for i in range(n)]
    z, local, card = _gistar_by_hand(x, nbrs)
    rows, cols = zip(*sorted(pairs))
    plain = sp.csr_matrix((np.full(len(rows), 0.5), (rows, cols)), shape=(n, n))  # weights 0.5
    with_self = plain + sp.identity(n) * 3.0
    for W in (plain, with_self, plain.tocoo(), (with_self > 0).astype(int)):
        for correction in ("fdr", "holm"):
            res = gistar_sparse(x, W, correction=correction)
            np.testing.assert_allclose(res.z, z, rtol=1e-9)
            np.testing.assert_allclose(res.local_sum, local, rtol=1e-12)
            np.testing.assert_array_equal(res.n_neighbours, card)
            p = 2 * stats.norm.sf(np.abs(z))
            np.testing.assert_allclose(res.p, p, rtol=1e-9)
            np.testing.assert_allclose(res.p_adjusted, _adjusted(p, correction), rtol=1e-9)
            np.testing.assert_array_equal(res.cls, _classes_by_hand(z, _adjusted(p, correction)))
            assert res.correction == correction and res.p_sim is None
    assert (res.cls == 3).any() and (res.cls != 3).any()


def _p_sim_by_brute_force(x, nbrs, permutations, seed, expected):
    """(#{|L* - E| >= |L - E|} + 1) / (P + 1), recounted from the same shuffles."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, float)
    obs = np.array([abs(sum(x[j] for j in nb) - e) for nb, e in zip(nbrs, expected)])
    hits = np.zeros(len(x))
    for _ in range(permutations):
        y = rng.permutation(x)
        sim = np.array([abs(sum(y[j] for j in nb) - e) for nb, e in zip(nbrs, expected)])
        hits += sim >= obs - 1e-9
    return (hits + 1) / (permutations + 1)


def test_grid_permutation_p_values_equal_a_recount_of_the_same_shuffles():
    # Small integer counts: many ties |L* - E| == |L - E|, which count as "at least as extreme".
    rng = np.random.default_rng(2)
    v = rng.poisson(0.8, (6, 7)).astype(float)
    v[2, 3] += 5
    mask = np.ones(v.shape, bool)
    mask[0, :2] = False
    kernel = grid_kernel(100.0, rings=1)
    res = gistar_grid(v, kernel, mask, permutations=60, seed=9)
    cells = [tuple(rc) for rc in np.argwhere(mask)]
    nbrs = _neighbours_by_rings(cells, 1)
    mean = v[mask].mean()
    want = _p_sim_by_brute_force(v[mask], nbrs, 60, 9, [mean * len(nb) for nb in nbrs])
    np.testing.assert_allclose(res.p_sim[mask], want, rtol=0, atol=1e-12)
    assert np.isnan(res.p_sim[~mask]).all() and res.p_sim.dtype == np.float64
    assert len(np.unique(want)) > 5  # not all the same: the check has teeth
    again = gistar_grid(v, kernel, mask, permutations=60, seed=9)
    np.testing.assert_array_equal(again.p_sim, res.p_sim)  # the seed makes it reproducible


def test_sparse_permutation_p_values_equal_a_recount_of_the_same_shuffles():
    rng = np.random.default_rng(4)
    n = 30
    x = rng.poisson(1.0, n).astype(float)
    x[:3] += 4
    pairs = {(i, (i + 1) % n) for i in range(n)} | {(i, (i + 5) % n) for i in range(0, n, 2)}
    pairs |= {(j, i) for i, j in pairs}
    nbrs = [sorted({i} | {j for a, j in pairs if a == i}) for i in range(n)]
    rows, cols = zip(*sorted(pairs))
    W = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    res = gistar_sparse(x, W, permutations=50, seed=3)
    want = _p_sim_by_brute_force(x, nbrs, 50, 3, [x.mean() * len(nb) for nb in nbrs])
    np.testing.assert_allclose(res.p_sim, want, rtol=0, atol=1e-12)
    assert len(np.unique(want)) > 5
    np.testing.assert_array_equal(gistar_sparse(x, W, permutations=50, seed=3).p_sim, res.p_sim)


def test_a_neighbourhood_covering_every_unit_has_no_z_and_raises_no_warning():
    # Every cell sees all 9 cells: W = n, the variance term is 0 and Gi* is undefined (NaN), even
    # where the numerator is round-off (about 1e-15) rather than exactly 0.
    v = np.random.default_rng(1).uniform(0, 1, (3, 3))
    assert (neighbourhood_sum(v, np.ones((5, 5))) - v.mean() * 9 != 0).any()
    with np.errstate(all="raise"):
        res = gistar_grid(v, grid_kernel(100.0, rings=2))
        mask = np.ones((3, 3), bool)
        mask[0, 0] = False  # a cell outside the area has W = 0 there too
        res2 = gistar_grid(v, grid_kernel(100.0, rings=1), mask)
    assert np.isnan(res.z).all() and (res.cls == 0).all()
    assert np.isnan(res2.z[0, 0]) and np.isfinite(res2.z[mask]).sum() > 0


def test_three_units_is_the_minimum():
    v = np.array([[1.0, 2.0, 7.0, 0.0]])
    res = gistar_grid(v, grid_kernel(100.0, rings=1), np.array([[True, True, True, False]]))
    z, _, _ = _gistar_by_hand([1.0, 2.0, 7.0], [[0, 1], [0, 1, 2], [1, 2]])
    np.testing.assert_allclose(res.z[0, :3], z, rtol=1e-12)
    with pytest.raises(SaferhubError, match=r"^Gi\* needs at least 3 units in the study area, got 2$"):
        gistar_grid(v, grid_kernel(100.0, rings=1), np.array([[True, True, False, False]]))
    with pytest.raises(SaferhubError, match=r"^Gi\* needs at least 3 units in the study area, got 2$"):
        gistar_sparse([1.0, 2.0], sp.csr_matrix((2, 2)))


def test_grid_kernels_by_definition():
    np.testing.assert_array_equal(grid_kernel(100.0, rings=0), [[1.0]])
    np.testing.assert_array_equal(grid_kernel(100.0, rings=2), np.ones((5, 5)))
    np.testing.assert_array_equal(grid_kernel(100.0, distance=0), [[1.0]])
    np.testing.assert_array_equal(grid_kernel(100.0, distance=0.5), [[1.0]])
    np.testing.assert_array_equal(grid_kernel(100.0, distance=99.0), [[1.0]])  # no ring of zeros
    # a band of exactly 1 and 2 cell sizes keeps the cells at exactly that distance (as esda does)
    np.testing.assert_array_equal(grid_kernel(100.0, distance=100.0), [[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    k2 = grid_kernel(100.0, distance=200.0)
    assert k2.shape == (5, 5) and k2[0, 2] == 1 and k2[0, 1] == 0 and k2[1, 1] == 1 and k2.sum() == 13
    k = grid_kernel(50.0, distance=130.0)  # r = 2; corners at 141 m fall out, (2, 1) at 112 m stay
    want = [[1.0 if math.hypot(i * 50, j * 50) <= 130 else 0.0 for j in range(-2, 3)] for i in range(-2, 3)]
    np.testing.assert_array_equal(k, want)
    assert k.dtype == np.float64


@pytest.mark.parametrize("kw,msg", [
    ({}, r"^give exactly one of a distance band \(metres\) or a number of rings$"),
    ({"distance": 100.0, "rings": 1}, r"^give exactly one of a distance band \(metres\) or a number of rings$"),
    ({"rings": -1}, r"^rings must be a whole number >= 0, got -1$"),
    ({"rings": 1.5}, r"^rings must be a whole number >= 0, got 1\.5$"),
    ({"distance": -5.0}, r"^distance band must be >= 0 metres, got -5\.0$"),
    ({"distance": float("inf")}, r"^distance band must be >= 0 metres, got inf$"),
    ({"distance": float("nan")}, r"^distance band must be >= 0 metres, got nan$"),
])
def test_bad_kernels_are_one_line_errors(kw, msg):
    with pytest.raises(SaferhubError, match=msg):
        grid_kernel(100.0, **kw)


def test_bad_grids_are_one_line_errors():
    k = grid_kernel(100.0, rings=1)
    with pytest.raises(SaferhubError, match=r"^gistar_grid needs a 2-D grid of values$"):
        gistar_grid(np.arange(9.0), k)
    with pytest.raises(SaferhubError, match=r"^mask shape \(2, 2\) differs from the grid \(3, 3\)$"):
        gistar_grid(np.arange(9.0).reshape(3, 3), k, np.ones((2, 2), bool))
    with pytest.raises(SaferhubError, match=r"^every unit has the same value, so Gi\* is undefined \(no variation to test\)$"):
        gistar_grid(np.full((3, 3), 2.0), k)
    with pytest.raises(SaferhubError, match=r"^weights are \(3, 3\) but there are 4 units$"):
        gistar_sparse(np.arange(4.0), sp.identity(3))


def test_neighbourhood_sum_is_a_correlation_for_any_kernel():
    """Not only symmetric grid kernels: an asymmetric kernel, small (direct) and large (FFT)."""
    rng = np.random.default_rng(8)
    v = rng.uniform(0, 3, (13, 15))
    for size in (3, 9, 11):
        k = rng.uniform(0, 1, (size, size))
        h = size // 2
        want = np.zeros_like(v)
        for r in range(v.shape[0]):
            for c in range(v.shape[1]):
                for i in range(size):
                    for j in range(size):
                        rr, cc = r + i - h, c + j - h
                        if 0 <= rr < v.shape[0] and 0 <= cc < v.shape[1]:
                            want[r, c] += k[i, j] * v[rr, cc]
        np.testing.assert_allclose(neighbourhood_sum(v, k), want, rtol=1e-10, atol=1e-10)
        # integer counts with a fractional kernel are summed as floats, not truncated
        counts = rng.poisson(2.0, v.shape)
        want_c = sum(k[i, j] * np.pad(counts, h)[i:i + v.shape[0], j:j + v.shape[1]]
                     for i in range(size) for j in range(size))
        np.testing.assert_allclose(neighbourhood_sum(counts, k), want_c, rtol=1e-10, atol=1e-10)
    counts = rng.poisson(2.0, (13, 15))  # integer input: the FFT path rounds to exact sums
    got = neighbourhood_sum(counts, np.ones((11, 11)))
    assert got.dtype == np.float64 and (got == np.round(got)).all()
