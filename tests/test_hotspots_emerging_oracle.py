"""Emerging hot spots against oracles written here: the space-time cube counted event by event,
space-time Gi* summed bin by bin over explicit (unit, month) neighbour lists with statsmodels'
corrections, Mann–Kendall by its pairwise definition, and the category rules' edges by hand."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats
from statsmodels.stats.multitest import multipletests

from saferhub.errors import SaferhubError

em = importlib.import_module("saferhub.hotspots.emerging")


def test_cube_counts_and_sums_weights_event_by_event():
    units = [0, 2, 2, 3, 1, 2, -1, 0, 1]
    times = [0, 1, 1, 0, 2, 3, 1, -1, 1]
    harm = [1.5, 2.0, 0.25, 9.0, 4.0, 7.0, 100.0, 100.0, 3.0]
    # unit 3 == n_units and time 3 == n_times are outside, like negative indices
    want_counts = np.zeros((3, 3))
    want_harm = np.zeros((3, 3))
    for u, t, w in zip(units, times, harm):
        if 0 <= u < 3 and 0 <= t < 3:
            want_counts[t, u] += 1
            want_harm[t, u] += w
    got = em.cube(np.array(units, float), np.array(times, float), n_units=3, n_times=3)  # float indices too
    np.testing.assert_array_equal(got, want_counts)
    assert got.dtype == np.float64
    np.testing.assert_allclose(em.cube(units, times, 3, 3, weights=harm), want_harm, rtol=0, atol=1e-12)
    assert want_harm[1, 2] == 2.25 and want_counts.sum() == 5  # the example has teeth


def _mk_by_definition(x):
    n = len(x)
    s = sum(np.sign(x[j] - x[i]) for i in range(n) for j in range(i + 1, n))
    _, ties = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties)) / 18
    z = 0.0 if s == 0 else (s - np.sign(s)) / math.sqrt(var)
    return s, var, z, 2 * stats.norm.sf(abs(z)), s / (n * (n - 1) / 2)


def test_mann_kendall_with_three_slices_and_nans_as_zero():
    X = np.array([[0.0, 1.0, 2.0], [2.0, 2.0, 1.0], [1.0, 1.0, 1.0], [np.nan, 3.0, -1.0], [0.0, 0.0, 1.0]])
    with np.errstate(all="raise"):  # a constant row (variance 0) gives z = 0 without a warning
        mk = em.mann_kendall(X)
    for row, x in enumerate(np.nan_to_num(X)):
        s, var, z, p, tau = _mk_by_definition(x)
        assert (mk.s[row], mk.var[row]) == (s, pytest.approx(var))
        assert mk.z[row] == pytest.approx(z) and mk.p[row] == pytest.approx(p) and mk.tau[row] == pytest.approx(tau)
    with pytest.raises(SaferhubError, match=r"^a trend test needs at least 3 time slices, got 2$"):
        em.mann_kendall(np.zeros((4, 2)))
    with pytest.raises(SaferhubError, match=r"^mann_kendall needs a 2-D \(units x time\) array$"):
        em.mann_kendall(np.zeros(5))


def test_trailing_run_counts_the_final_uninterrupted_run():
    flags = np.array([[0, 0, 0, 0], [1, 0, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]], bool)
    want = []
    for row in flags:
        k = 0
        while k < len(row) and row[len(row) - 1 - k]:
            k += 1
        want.append(k)
    assert em._trailing_run(flags).tolist() == want == [0, 2, 4, 0, 1]


T = 10
SIG, NOT = 0.001, 0.5


def _hot(slices, z=3.0):
    zz = np.zeros(T)
    p = np.full(T, NOT)
    zz[list(slices)], p[list(slices)] = z, SIG
    return zz, p


def test_a_final_run_of_exactly_two_is_consecutive_and_of_one_is_new():
    cases = {"consecutive hot spot": _hot([8, 9]), "new hot spot": _hot([9]),
             "consecutive cold spot": _hot([8, 9], z=-3.0)}
    z = np.vstack([c[0] for c in cases.values()])
    p = np.vstack([c[1] for c in cases.values()])
    labels, _ = em.classify(z, p)
    assert labels.tolist() == list(cases)
    assert labels.dtype == object


def test_significance_is_p_at_most_alpha_and_a_z_of_either_sign():
    # default alpha 0.05: p = 0.2 is not significant, p = 0.05 exactly is; z = 0 is neither hot nor cold;
    # a small positive z (0.9) with a significant p is hot.
    z = np.array([[0.0] * 9 + [1.3], [0.0] * 9 + [0.9], [0.0] * 9 + [0.0], [0.0] * 9 + [-0.4],
                  [0.0] * 9 + [2.0]])
    p = np.array([[NOT] * 9 + [0.2], [NOT] * 9 + [0.01], [NOT] * 9 + [0.001], [NOT] * 9 + [0.01],
                  [NOT] * 9 + [0.05]])
    labels, _ = em.classify(z, p)
    assert labels.tolist() == ["no pattern", "new hot spot", "no pattern", "new cold spot", "new hot spot"]
    labels, _ = em.classify(z, p, alpha=0.3)
    assert labels[0] == "new hot spot"


def test_trend_is_significant_at_p_at_most_trend_alpha_and_signed_by_z():
    z, p = _hot(range(T))
    Z, P = np.vstack([z] * 5), np.vstack([p] * 5)
    n = 5
    mk = em.MannKendall(s=np.zeros(n), var=np.ones(n), tau=np.zeros(n),
                        z=np.array([0.5, -0.5, 0.0, 3.0, -3.0]), p=np.array([0.05, 0.05, 0.01, 0.06, 0.2]))
    labels, got = em.classify(Z, P, mk=mk)
    assert got is mk
    assert labels.tolist() == ["intensifying hot spot", "diminishing hot spot", "persistent hot spot",
                               "persistent hot spot", "persistent hot spot"]
    labels, _ = em.classify(-Z, P, mk=mk)  # a cold spot intensifies as its z falls
    assert labels.tolist() == ["diminishing cold spot", "intensifying cold spot", "persistent cold spot",
                               "persistent cold spot", "persistent cold spot"]
    labels, _ = em.classify(Z, P, mk=mk, trend_alpha=0.1)
    assert labels[3] == "intensifying hot spot"


def _simple_by_hand(row):
    h = len(row) // 2
    early, late = row[:h], row[h:]
    if sum(early) / len(early) >= 0.5 and sum(late) / len(late) >= 0.5:
        return "persistent"
    if not any(early) and not any(late):
        return "none"
    if not any(early):
        return "emerging"
    if not any(late):
        return "former"
    return "intermittent"


def test_simple_classes_by_hand_for_odd_lengths_and_integer_flags():
    rows = [[1, 0, 1, 0, 1, 0, 1], [1, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1, 1], [1, 1, 0, 0, 0, 0, 0],
            [0, 1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0], [0] * 7,
            [1, 0, 0, 0, 1, 1, 0], [0, 0, 1, 1, 0, 0, 0]]
    got = em.simple_classes(np.array(rows, dtype=int))  # 0/1 flags, 7 slices: halves of 3 and 4
    assert got.tolist() == [_simple_by_hand(r) for r in rows]
    assert got.tolist()[:7] == ["persistent", "intermittent", "emerging", "former", "former", "former", "emerging"]
    # exactly half of each half hot is persistent (8 slices: halves of 4)
    even = np.array([[1, 0, 1, 0, 0, 1, 0, 1], [1, 1, 1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 1, 1, 1, 1]], bool)
    assert em.simple_classes(even).tolist() == [_simple_by_hand(r) for r in even.tolist()]
    assert em.simple_classes(even).tolist() == ["persistent", "intermittent", "intermittent"]


def _spacetime_by_hand(C, nbrs, lags):
    """Space-time Gi*: bin (t, i) sums bins (t', j), j in i's neighbourhood, t - lags <= t' <= t;
    mean and population SD over all n T bins."""
    T, n = C.shape
    x = C.ravel()
    N = x.size
    mean = x.mean()
    s = math.sqrt(((x - mean) ** 2).mean())
    z = np.full((T, n), np.nan)
    for t in range(T):
        for i in range(n):
            bins = [(tt, j) for tt in range(max(0, t - lags), t + 1) for j in nbrs[i]]
            L = sum(C[tt, j] for tt, j in bins)
            W = len(bins)
            den = s * math.sqrt((N * W - W * W) / (N - 1))
            if den > 0:
                z[t, i] = (L - mean * W) / den
    return z


def _fdr(p):
    out = np.full(p.size, np.nan)
    ok = np.isfinite(p.ravel())
    out[ok] = multipletests(p.ravel()[ok], method="fdr_bh")[1]
    return out.reshape(p.shape)


def test_spacetime_gistar_default_is_one_lag_and_fdr_on_small_values_and_self_links():
    rng = np.random.default_rng(6)
    T, n = 6, 12
    C = rng.gamma(0.5, 0.1, (T, n))  # harm-like values, SD well under 1
    C[3:, :2] += 0.6
    pairs = {(i, (i + 1) % n) for i in range(n)} | {(0, 5), (3, 9)}
    pairs |= {(j, i) for i, j in pairs}
    nbrs = [sorted({i} | {j for a, j in pairs if a == i}) for i in range(n)]
    rows, cols = zip(*sorted(pairs))
    Ws = sp.csr_matrix((np.full(len(rows), 0.3), (rows, cols)), shape=(n, n))
    want = _spacetime_by_hand(C, nbrs, 1)
    want_p = _fdr(2 * stats.norm.sf(np.abs(want)))
    for W in (Ws, Ws + sp.identity(n) * 2.0, Ws + sp.identity(n)):  # self-links, weight values do not matter
        z, p = em.spacetime_gistar(C, W)
        np.testing.assert_allclose(z, want, rtol=1e-9)
        np.testing.assert_allclose(p, want_p, rtol=1e-9)
    assert (p < 0.05).any()
    z0, p0 = em.spacetime_gistar(C, Ws, time_lags=0, correction="none")
    np.testing.assert_allclose(z0, _spacetime_by_hand(C, nbrs, 0), rtol=1e-9)
    np.testing.assert_allclose(p0, 2 * stats.norm.sf(np.abs(z0)), rtol=1e-9)


def test_spacetime_bin_seeing_the_whole_cube_has_no_z_and_no_warning():
    # 3 units all neighbours, 3 slices, 2 lags: the last slice's bins see all 9 bins (W = N).
    # (seed 0: there the numerator L - mean W is round-off, about 1e-15, not exactly 0)
    C = np.random.default_rng(0).uniform(0, 1, (3, 3))
    Ws = sp.csr_matrix(np.ones((3, 3)) - np.eye(3))
    with np.errstate(all="raise"):
        z, p = em.spacetime_gistar(C, Ws, time_lags=2)
    assert np.isnan(z[2]).all() and np.isnan(p[2]).all() and np.isfinite(z[:2]).all()
    np.testing.assert_allclose(z[:2], _spacetime_by_hand(C, [[0, 1, 2]] * 3, 2)[:2], rtol=1e-9)


def test_spacetime_errors_are_one_line():
    Ws = sp.csr_matrix((3, 3))
    with pytest.raises(SaferhubError, match=r"^time lags must be >= 0, got -1$"):
        em.spacetime_gistar(np.arange(9.0).reshape(3, 3), Ws, time_lags=-1)
    with pytest.raises(SaferhubError, match=r"^every bin of the space-time cube has the same value; Gi\* is undefined$"):
        em.spacetime_gistar(np.full((3, 3), 4.0), Ws)


def test_trend_sparkline_data_is_the_mean_count_per_slice_of_each_category():
    cube = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [0.0, 1.0, 0.0, 2.0]])
    labels = np.array(["new hot spot", "no pattern", "new hot spot", "historical cold spot"], dtype=object)
    out = em.trend_sparkline_data(cube, labels)
    assert list(out) == ["no pattern", "new hot spot", "historical cold spot"]  # in LABELS order
    np.testing.assert_allclose(out["new hot spot"], [2.0, 6.0, 0.0])
    np.testing.assert_allclose(out["no pattern"], [2.0, 6.0, 1.0])
    np.testing.assert_allclose(out["historical cold spot"], [4.0, 8.0, 2.0])
