"""One EM iteration of the grid SEPP against the model's definitions, summed term by term here.

Oracle: for a tiny history the intensity lambda[t, c] = mu[c] + theta sum_k (1-q) q^(k-1)
sum_d K(d) N[t-k, c-d] is summed over k and d in loops (not the module's recursions or its
E-step), so the log-likelihood, the background update, the expected number of triggered crimes,
their lags and offsets, and the M-step's maxima (found by a grid search over the expected
complete-data log-likelihood written from the model) are all computed independently.
Small enough that the E-step also runs uncompiled (NUMBA_DISABLE_JIT=1, as scripts/mutation does).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.signal import convolve2d

from saferhub.forecast.sepp import fit_sepp

R = 1
OFFS = [(dr, dc) for dr in range(-R, R + 1) for dc in range(-R, R + 1)]


def _K(sigma):
    w = {d: math.exp(-(d[0] ** 2 + d[1] ** 2) / (2 * sigma * sigma)) for d in OFFS}
    tot = sum(w.values())
    return {d: v / tot for d, v in w.items()}


def _history():
    rng = np.random.default_rng(4)
    N = rng.poisson(0.5, (6, 4, 5)).astype(float)
    N[2, 1, 2] += 3
    N[3, 1, 3] += 2
    N[4, 2, 2] += 2
    mu = rng.uniform(0.05, 0.3, (4, 5))
    return N, mu


def _e_step(N, mu, theta, q, sigma):
    """Per month-cell: lambda, and for the triggered part its k-weighted sum and its offsets."""
    T, ny, nx = N.shape
    K = _K(sigma)
    lam = np.zeros(N.shape)
    trig = np.zeros(N.shape)
    lagged = np.zeros(N.shape)
    by_offset = {d: np.zeros(N.shape) for d in OFFS}
    for t in range(T):
        for r in range(ny):
            for c in range(nx):
                for k in range(1, t + 1):
                    g = theta * (1 - q) * q ** (k - 1)
                    for d in OFFS:
                        pr, pc = r - d[0], c - d[1]
                        if 0 <= pr < ny and 0 <= pc < nx:
                            v = g * K[d] * N[t - k, pr, pc]
                            trig[t, r, c] += v
                            lagged[t, r, c] += k * v
                            by_offset[d][t, r, c] += v
                lam[t, r, c] = mu[r, c] + trig[t, r, c]
    return lam, trig, lagged, by_offset


def _compensator(N, q, sigma):
    """Expected offspring on the grid within the window per unit theta: sum over parents of
    n (share of K landing on the grid) (1 - q^(months left after the parent's month))."""
    T, ny, nx = N.shape
    inside = np.zeros((ny, nx))  # share of a parent's kernel that lands on the grid
    for d, w in _K(sigma).items():
        rows = (np.arange(ny) + d[0] >= 0) & (np.arange(ny) + d[0] < ny)
        cols = (np.arange(nx) + d[1] >= 0) & (np.arange(nx) + d[1] < nx)
        inside += w * np.outer(rows, cols)
    left = 1 - q ** (T - 1 - np.arange(T))
    return float((N * inside[None] * left[:, None, None]).sum())


def _argmax(f, lo, hi):
    grid = np.linspace(lo, hi, 401)
    best = grid[int(np.argmax([f(v) for v in grid]))]
    step = grid[1] - grid[0]
    res = minimize_scalar(lambda v: -f(v), bounds=(max(lo, best - step), min(hi, best + step)),
                          method="bounded", options={"xatol": 1e-9})
    return res.x


@pytest.fixture(scope="module")
def one_iteration():
    N, mu = _history()
    init = {"mu": mu, "theta": 0.35, "q": 0.45, "sigma": 0.8}
    return N, mu, init, fit_sepp(N, radius=R, max_iter=1, init=init)


def test_first_loglik_is_the_poisson_likelihood_at_the_start(one_iteration):
    N, mu, init, p = one_iteration
    lam, _, _, _ = _e_step(N, mu, init["theta"], init["q"], init["sigma"])
    ll = float((N[N > 0] * np.log(lam[N > 0])).sum() - lam.sum())  # the compensator is the sum of lambda
    assert len(p["loglik"]) == 1 and p["iterations"] == 1 and p["radius"] == R
    assert p["loglik"][0] == pytest.approx(ll, rel=1e-12)


def test_background_update_is_the_expected_background_crimes_per_month(one_iteration):
    N, mu, init, p = one_iteration
    lam, _, _, _ = _e_step(N, mu, init["theta"], init["q"], init["sigma"])
    want = (N * mu[None] / lam).sum(axis=0) / N.shape[0]
    np.testing.assert_allclose(p["mu"], want, rtol=1e-10)


def test_triggering_update_maximises_the_expected_complete_loglik(one_iteration):
    N, mu, init, p = one_iteration
    theta, q = init["theta"], init["q"]
    lam, trig, lagged, by_offset = _e_step(N, mu, theta, q, init["sigma"])
    trg = float((N * trig / lam).sum())  # expected triggered crimes
    lags = float((N * lagged / lam).sum())  # expected sum of their lags k
    Wd = {d: float((N * v / lam).sum()) for d, v in by_offset.items()}  # ... and their offsets
    assert trg > 1

    # sigma: sum_d Wd log K_s(d) - trg log C(s) with C(s) the offspring that land on the grid
    # within the window (weights at the current q), theta profiled out.
    def q_sigma(s):
        K = _K(s)
        return sum(Wd[d] * math.log(K[d]) for d in OFFS) - trg * math.log(_compensator(N, q, s))

    sigma = _argmax(q_sigma, 0.15, 2.0 * R)
    assert p["sigma"] == pytest.approx(sigma, abs=2e-3)

    # q: trg log(1-q) + (lags - trg) log q - trg log C(q), at the new sigma
    def q_q(qq):
        return trg * math.log1p(-qq) + (lags - trg) * math.log(qq) - trg * math.log(_compensator(N, qq, p["sigma"]))

    assert p["q"] == pytest.approx(_argmax(q_q, 1e-4, 0.995), abs=2e-4)
    # theta: triggered crimes over the compensator at the new (q, sigma)
    assert p["theta"] == pytest.approx(trg / _compensator(N, p["q"], p["sigma"]), rel=1e-9)


def test_fixed_and_smoothed_background():
    N, mu = _history()
    init = {"mu": mu, "theta": 0.35, "q": 0.45, "sigma": 0.8}
    fixed = fit_sepp(N, radius=R, max_iter=2, init=init, fix_mu=True)
    np.testing.assert_array_equal(fixed["mu"], mu)
    lam, _, _, _ = _e_step(N, mu, 0.35, 0.45, 0.8)
    raw = (N * mu[None] / lam).sum(axis=0) / N.shape[0]
    bw = 0.7  # Gaussian of 0.7 cells over offsets up to ceil(3 x 0.7) = 3, normalised, zero outside
    g = np.array([[math.exp(-(i * i + j * j) / (2 * bw * bw)) for j in range(-3, 4)] for i in range(-3, 4)])
    smoothed = convolve2d(raw, g / g.sum(), mode="same")
    want = smoothed * raw.sum() / smoothed.sum()  # Silverman's EMS keeps the total background
    got = fit_sepp(N, radius=R, max_iter=1, init=init, bg_bandwidth=bw)
    np.testing.assert_allclose(got["mu"], want, rtol=1e-10)


def test_no_parents_means_no_triggering_and_the_kernel_is_kept():
    N = np.zeros((4, 3, 3))
    N[3, 1, 1] = 2  # crime only in the last month: nothing can have triggered it
    N[3, 0, 2] = 1
    init = {"mu": np.full((3, 3), 0.2), "theta": 0.3, "q": 0.4, "sigma": 0.9}
    p = fit_sepp(N, radius=R, max_iter=1, init=init)
    assert (p["theta"], p["q"], p["sigma"]) == (0.0, 0.4, 0.9)
    np.testing.assert_allclose(p["mu"], N.sum(axis=0) / 4)  # every crime is background


def test_default_start_and_the_stopping_rule():
    N, _ = _history()
    p = fit_sepp(N, radius=R, max_iter=1)
    # default start: theta 0.3, q 0.5, sigma 1, mu = 0.7 x mean count (+1e-9)
    mu0 = N.mean(axis=0) * 0.7 + 1e-9
    lam, _, _, _ = _e_step(N, mu0, 0.3, 0.5, 1.0)
    assert p["loglik"][0] == pytest.approx(float((N[N > 0] * np.log(lam[N > 0])).sum() - lam.sum()), rel=1e-12)
    tol = 1e-4
    p = fit_sepp(N, radius=R, max_iter=200, tol=tol)
    tr = p["loglik"]
    assert p["iterations"] == len(tr) < 200
    assert abs(tr[-1] - tr[-2]) < tol * abs(tr[-1])  # stopped at the first small relative change
    assert all(abs(tr[i] - tr[i - 1]) >= tol * abs(tr[i]) for i in range(1, len(tr) - 1))
    assert all(b >= a - 1e-9 * abs(a) for a, b in zip(tr, tr[1:]))  # EM never lowers the likelihood
