"""Grid SEPP: parameters recovered from simulations of the model itself."""

import numpy as np
import pytest

from saferhub.forecast.kernels import smooth
from saferhub.forecast.sepp import (
    SEPP,
    _recursions,
    fit_sepp,
    kernel_2d,
    sepp_intensity_next,
    simulate_sepp,
)


def _loglik(N, mu, theta, q, sigma, r=3):
    """Brute-force Poisson log-likelihood of the model (without log n!), by dense convolution."""
    S, _ = _recursions(N, q)
    lam = mu[None] + theta * smooth((1 - q) * S, kernel_2d(sigma, r))
    safe = np.where(N > 0, lam, 1.0)
    return float((N * np.log(safe)).sum() - lam.sum())


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(7)
    mu = np.full((50, 50), 0.08)
    mu[10:25, 10:25] = 0.3
    N = simulate_sepp(mu, theta=0.4, q=0.6, sigma=1.2, months=60, radius=3, rng=rng)
    return mu, N


def test_recovers_triggering_parameters_with_known_background(simulated):
    mu, N = simulated
    p = fit_sepp(N, radius=3, init={"mu": mu}, fix_mu=True, max_iter=200, tol=1e-9)
    assert p["theta"] == pytest.approx(0.4, rel=0.12)
    assert p["q"] == pytest.approx(0.6, rel=0.12)
    assert p["sigma"] == pytest.approx(1.2, rel=0.15)


def test_full_em_is_monotone_and_finds_the_triggering(simulated):
    mu, N = simulated
    p = fit_sepp(N, radius=3, max_iter=150, tol=1e-9)
    trace = np.array(p["loglik"])
    assert np.all(np.diff(trace) > -1e-6 * np.abs(trace[1:]))  # EM never decreases the likelihood
    # the free per-cell background absorbs some clustering in 60 months: theta is biased low but
    # clearly present, and the likelihood beats the true parameters' (it is the MLE)
    assert 0.2 < p["theta"] < 0.5
    assert _loglik(N, p["mu"], p["theta"], p["q"], p["sigma"]) >= _loglik(N, mu, 0.4, 0.6, 1.2)
    # the trace's last value is the same likelihood computed independently
    assert trace[-1] == pytest.approx(_loglik(N, p["mu"], p["theta"], p["q"], p["sigma"]), rel=1e-3)


def test_no_triggering_is_found_when_there_is_none():
    rng = np.random.default_rng(2)
    mu = np.full((30, 30), 0.2)
    N = simulate_sepp(mu, theta=0.0, q=0.5, sigma=1.0, months=48, rng=rng)
    p = fit_sepp(N, radius=3, init={"mu": mu}, fix_mu=True, max_iter=100)
    assert p["theta"] < 0.05


def test_next_month_intensity_by_hand():
    N = np.zeros((2, 7, 7))
    N[1, 3, 3] = 2
    N[0, 3, 3] = 1
    params = {"mu": np.full((7, 7), 0.1), "theta": 0.5, "q": 0.5, "sigma": 1.0, "radius": 2}
    lam = sepp_intensity_next(N, params)
    # S_next = N[1] + q N[0] = 2.5 at the centre; triggering = theta (1-q) S * K, with K the
    # Gaussian (sigma 1 cell) over the 5 x 5 offsets normalised to 1, written out by hand here
    z = sum(np.exp(-(i * i + j * j) / 2) for i in range(-2, 3) for j in range(-2, 3))
    assert lam[3, 3] == pytest.approx(0.1 + 0.5 * 0.5 * 2.5 * 1 / z)
    assert lam[3, 4] == pytest.approx(0.1 + 0.5 * 0.5 * 2.5 * np.exp(-0.5) / z)
    assert lam[1, 1] == pytest.approx(0.1 + 0.5 * 0.5 * 2.5 * np.exp(-4) / z)  # the corner offset
    assert lam[0, 0] == pytest.approx(0.1)


def test_sepp_model_contract():
    rng = np.random.default_rng(1)
    from test_forecast_models import planted
    cube, lam = planted()
    m = SEPP(window=12, max_iter=20).fit(cube, cube.months[-2])
    assert m.predict().shape == lam.shape
    assert 0 <= m.params_["theta"] < 1
    del rng
