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

R = 2
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


@pytest.fixture  # per test, not per module: mutmut credits a module fixture's calls to one test only
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


def _check_m_step(N, mu, init, p, check_q=True):
    """sigma, q, theta after one iteration against maxima of the expected complete-data
    log-likelihood written from the model, from an E-step summed term by term."""
    theta, q = init["theta"], init["q"]
    lam, trig, lagged, by_offset = _e_step(N, mu, theta, q, init["sigma"])
    ll = float((N[N > 0] * np.log(lam[N > 0])).sum() - lam.sum())
    assert p["loglik"][0] == pytest.approx(ll, rel=1e-12)
    trg = float((N * trig / lam).sum())  # expected triggered crimes
    lags = float((N * lagged / lam).sum())  # expected sum of their lags k
    Wd = {d: float((N * v / lam).sum()) for d, v in by_offset.items()}  # ... and their offsets

    # sigma: sum_d Wd log K_s(d) - trg log C(s) with C(s) the offspring that land on the grid
    # within the window (weights at the current q), theta profiled out.
    def q_sigma(s):
        K = _K(s)
        return sum(Wd[d] * math.log(K[d]) for d in OFFS) - trg * math.log(_compensator(N, q, s))

    assert p["sigma"] == pytest.approx(_argmax(q_sigma, 0.15, 2.0 * R), abs=3e-4)

    # q: trg log(1-q) + (lags - trg) log q - trg log C(q), at the new sigma
    def q_q(qq):
        return trg * math.log1p(-qq) + (lags - trg) * math.log(qq) - trg * math.log(_compensator(N, qq, p["sigma"]))

    if check_q:
        assert p["q"] == pytest.approx(_argmax(q_q, 1e-4, 0.995), abs=2e-4)
    # theta: triggered crimes over the compensator at the new (q, sigma)
    assert p["theta"] == pytest.approx(trg / _compensator(N, p["q"], p["sigma"]), rel=1e-9)
    return trg


def test_triggering_update_maximises_the_expected_complete_loglik(one_iteration):
    N, mu, init, p = one_iteration
    assert _check_m_step(N, mu, init, p) > 1


def _sparse_history():
    N = np.zeros((6, 4, 5))  # most cells never see a crime; the last month is quiet
    N[0, 0, 0] = 1
    N[1, 1, 1] = 2
    N[3, 1, 2] = 1
    N[4, 2, 2] = 1
    N[4, 3, 4] = 1
    return N


@pytest.mark.parametrize("which", ["sparse", "quiet last month"])
def test_triggering_update_on_sparse_and_quiet_histories(which):
    if which == "sparse":
        N, mu = _sparse_history(), np.full((4, 5), 0.02)
    else:
        N, mu = _history()
        N[-1] = 0.0
    init = {"mu": mu, "theta": 0.5, "q": 0.6, "sigma": 1.1}
    _check_m_step(N, mu, init, fit_sepp(N, radius=R, max_iter=1, init=init))


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
    assert fit_sepp(N, radius=R, max_iter=50, tol=0.5)["iterations"] == 2  # the first possible stop


# --- the SEPP model class: parameter checks, window and warm start wiring -------------------------
# (fit_sepp and sepp_intensity_next are pinned by the oracles above and in test_forecast_sepp_oracle.py;
# here they only say what the model class must hand on.)

from saferhub.errors import SaferhubError  # noqa: E402
from saferhub.forecast.sepp import SEPP, sepp_intensity_next  # noqa: E402


def test_sepp_defaults_are_the_documented_ones():
    m = SEPP()
    assert (m.window, m.radius, m.bg_bandwidth, m.warm_start, m.target) == (24, 3, 0.0, True, "count")
    m._check()


@pytest.mark.parametrize("kw,msg", [
    ({"window": 1}, "window must be a whole number of months >= 2"),
    ({"window": 2.5}, "window must be a whole number of months >= 2"),
    ({"radius": -1}, "radius must be a whole number of cells >= 0"),
    ({"radius": 1.5}, "radius must be a whole number of cells >= 0"),
    ({"bg_bandwidth": -0.1}, "bg_bandwidth must be >= 0"),
    ({"max_iter": 0}, "max_iter must be >= 1 and tol > 0"),
    ({"tol": 0.0}, "max_iter must be >= 1 and tol > 0"),
    ({"target": "crimes"}, "target must be 'count' or 'harm', not 'crimes'"),
])
def test_sepp_parameter_checks_name_the_parameter(kw, msg):
    with pytest.raises(SaferhubError, match=rf"^SEPP: {__import__('re').escape(msg)}$"):
        SEPP(**kw)._check()


def test_sepp_boundary_parameters_are_accepted():
    SEPP(window=2, radius=0, bg_bandwidth=0.0, max_iter=1, tol=1e-12)._check()


def test_sepp_fits_the_last_window_months_and_warm_starts_from_the_last_fit():
    rng = np.random.default_rng(9)
    H = rng.poisson(0.4, (9, 4, 5)).astype(float)
    H[:, 0, 0] = 0.0  # a cell without crime: its fitted background is 0, floored to 1e-9 on restart
    H2 = H.copy()
    H2[-1, 0, 0] = 2.0  # ... and where the next window has crime, so the floor matters
    m = SEPP(window=5, radius=1, max_iter=2, tol=1e-9, bg_bandwidth=0.0)
    risk = m._risk(H, None)
    p1 = fit_sepp(H[-5:], radius=1, bg_bandwidth=0.0, max_iter=2, tol=1e-9)
    # bg_bandwidth and tol are handed on: a smoothed background, and a stop after 2 of 9 iterations
    m3 = SEPP(window=5, radius=1, max_iter=9, tol=0.5, bg_bandwidth=0.8)
    m3._risk(H, None)
    p3 = fit_sepp(H[-5:], radius=1, bg_bandwidth=0.8, max_iter=9, tol=0.5)
    assert m3.params_["iterations"] == p3["iterations"] == 2
    np.testing.assert_array_equal(m3.params_["mu"], p3["mu"])
    for k in ("theta", "q", "sigma"):
        assert m.params_[k] == p1[k]
    np.testing.assert_array_equal(m.params_["mu"], p1["mu"])
    assert p1["mu"][0, 0] == 0.0
    np.testing.assert_array_equal(risk, sepp_intensity_next(H[-5:], p1))
    risk2 = m._risk(H2, None)
    init = {"mu": np.maximum(p1["mu"], 1e-9), "theta": p1["theta"], "q": p1["q"], "sigma": p1["sigma"]}
    p2 = fit_sepp(H2[-5:], radius=1, bg_bandwidth=0.0, max_iter=2, tol=1e-9, init=init)
    np.testing.assert_allclose(risk2, sepp_intensity_next(H2[-5:], p2), rtol=1e-12)
    cold = fit_sepp(H2[-5:], radius=1, bg_bandwidth=0.0, max_iter=2, tol=1e-9)
    assert not np.allclose(risk2, sepp_intensity_next(H2[-5:], cold), rtol=1e-6)  # the start matters
    # without warm start, or on another grid, every fit starts afresh
    m2 = SEPP(window=5, radius=1, max_iter=2, tol=1e-9, warm_start=False)
    m2._risk(H, None)
    np.testing.assert_allclose(m2._risk(H2, None), sepp_intensity_next(H2[-5:], cold), rtol=1e-12)
    m._risk(H2[:, :3, :4], None)
    fresh = fit_sepp(H2[-5:, :3, :4], radius=1, max_iter=2, tol=1e-9)
    assert m.params_["theta"] == fresh["theta"] and m.params_["q"] == fresh["q"]


def _one_step_by_hand(N, mu, theta, q, sigma):
    """theta after one EM step, with (q, sigma) as returned: expected triggered / compensator."""
    lam, trig, _, _ = _e_step(N, mu, theta, q, sigma)
    return float((N * trig / lam).sum()), lam


def test_few_triggered_crimes_still_update_theta_and_the_background_keeps_its_total():
    # one parent, and next door one crime in the last month: under one expected triggered crime,
    # and a compensator under 1 (only one month of offspring can be seen)
    N = np.zeros((4, 4, 5))
    N[2, 1, 1] = 1
    N[3, 1, 2] = 1
    mu = np.full((4, 5), 0.05)
    p = fit_sepp(N, radius=R, max_iter=1, init={"mu": mu, "theta": 0.4, "q": 0.5, "sigma": 1.0})
    trg, lam = _one_step_by_hand(N, mu, 0.4, 0.5, 1.0)
    assert 0.05 < trg < 1
    comp = _compensator(N, p["q"], p["sigma"])
    assert comp < 1 and p["theta"] == pytest.approx(trg / comp, rel=1e-9)
    # (all triggered lags are 1 and C(q) is proportional to 1 - q: the q objective is flat here)
    _check_m_step(N, mu, {"mu": mu, "theta": 0.4, "q": 0.5, "sigma": 1.0}, p, check_q=False)
    # smoothed background whose total is below 1: EMS rescales to the raw total, not to 1
    raw = (N * mu[None] / lam).sum(axis=0) / N.shape[0]
    got = fit_sepp(N, radius=R, max_iter=1, init={"mu": mu, "theta": 0.4, "q": 0.5, "sigma": 1.0},
                   bg_bandwidth=0.5)
    assert raw.sum() < 1 and got["mu"].sum() == pytest.approx(raw.sum(), rel=1e-12)


def test_sigma_stops_at_its_upper_bound_when_triggering_does_not_fade_with_distance():
    # a parent cluster in month 0, then the same spread of crime over the whole 5 x 5 square in
    # every later month: no spatial decay, so sigma goes to its upper bound 2 r
    N = np.zeros((5, 5, 5))
    N[0, 2, 2] = 8
    N[1:, :, :] = 1
    N[1:, 2, 2] = 1
    mu = np.full((5, 5), 1e-3)
    p = fit_sepp(N, radius=R, max_iter=1, init={"mu": mu, "theta": 0.9, "q": 0.9, "sigma": 3.0})
    assert p["sigma"] == pytest.approx(2.0 * R, abs=1e-3)


def test_simulation_draws_from_the_intensity_summed_term_by_term():
    rng_seed = 12
    mu = np.array([[0.2, 0.05, 0.1, 0.3], [0.1, 0.4, 0.05, 0.2], [0.3, 0.1, 0.2, 0.1]])
    theta, q, sigma, months = 0.9, 0.3, 2.5, 6
    got = __import__("saferhub.forecast.sepp", fromlist=["simulate_sepp"]).simulate_sepp(
        mu, theta, q, sigma, months, rng=rng_seed)  # default radius: 3
    rng = np.random.default_rng(rng_seed)
    K = {(dr, dc): math.exp(-(dr * dr + dc * dc) / (2 * sigma * sigma)) for dr in range(-3, 4) for dc in range(-3, 4)}
    tot = sum(K.values())
    want = np.zeros((months,) + mu.shape)
    for t in range(months):
        lam = mu.copy()
        for r in range(3):
            for c in range(4):
                for k in range(1, t + 1):
                    for (dr, dc), w in K.items():
                        if 0 <= r - dr < 3 and 0 <= c - dc < 4:
                            lam[r, c] += theta * (1 - q) * q ** (k - 1) * w / tot * want[t - k, r - dr, c - dc]
        want[t] = rng.poisson(lam)
    np.testing.assert_array_equal(got, want)
    assert want[1:].sum() > 0


def test_a_crime_with_no_background_and_no_parent_gets_the_floor_intensity():
    # a warm start can carry mu = 0 into a cell where crime then appears with nothing before it:
    # lambda is floored at 1e-300 (log -690.8), so the fit goes on instead of dividing by zero
    N, mu = _history()
    N[0, 0, 0] = 2.0
    mu[0, 0] = 0.0
    init = {"mu": mu, "theta": 0.35, "q": 0.45, "sigma": 0.8}
    p = fit_sepp(N, radius=R, max_iter=1, init=init)
    lam, _, _, _ = _e_step(N, mu, 0.35, 0.45, 0.8)
    assert lam[0, 0, 0] == 0.0
    floored = np.where(lam > 0, lam, 1e-300)
    ll = float((N[N > 0] * np.log(floored[N > 0])).sum() - lam.sum())
    assert p["loglik"][0] == pytest.approx(ll, rel=1e-12)
    assert np.isfinite(p["theta"]) and np.isfinite(p["mu"]).all()
