"""Self-exciting point process (ETAS) on the grid, fitted by expectation-maximisation.

Model (Mohler et al. 2011, 2015, in their grid form), for counts N[t, c] per month t and cell c:

    lambda[t, c] = mu[c] + theta * sum_{k>=1} g(k) * sum_d K(d) * N[t - k, c - d]

- mu: a background rate per cell (optionally smoothed: `bg_bandwidth` cells);
- theta: expected "offspring" crimes per crime (0 <= theta < 1);
- g(k) = (1 - q) q^(k-1): the exponential (geometric) decay of triggering over months k >= 1;
- K: a Gaussian over neighbouring cells (sigma cells, truncated to a (2r+1)^2 square, normalised).

Month-only timing: police.uk gives months, not times, so crimes in the same month cannot be
ordered; triggering therefore runs only from earlier months (k >= 1), and within-month clustering
is absorbed into the background. This is the discrete-time ETAS; its EM is exact on the grid:

- E-step: each month-cell's crimes split into background and triggered shares in proportion to
  mu and the triggering sum (only cells with crime are visited: the sums are gathered sparsely).
- M-step: mu = background share / months; (theta, q) maximise the expected complete-data
  likelihood with the exact compensator (parents late in the window have fewer months of
  offspring observed; offspring landing outside the grid are not observed), and sigma likewise.

The recursions S[t] = q S[t-1] + N[t-1] (and its lag-weighted twin) give the triggering sums
for all cells in O(T * cells), which is what makes a 50k-event fit take well under a second.
"""

from __future__ import annotations

import numpy as np

from saferhub.forecast.kernels import gaussian_kernel, smooth
from saferhub.forecast.models import Model


def kernel_1d(sigma: float, radius: int) -> np.ndarray:
    d = np.arange(-radius, radius + 1, dtype="float64")
    k = np.exp(-(d**2) / (2.0 * sigma**2))
    return k / k.sum()


def kernel_2d(sigma: float, radius: int) -> np.ndarray:
    k = kernel_1d(sigma, radius)
    return np.outer(k, k)


def _inside_mass(n: int, k1: np.ndarray) -> np.ndarray:
    """For each of n positions, the share of a 1-D kernel that lands inside [0, n)."""
    r = (len(k1) - 1) // 2
    c = np.concatenate([[0.0], np.cumsum(k1)])
    pos = np.arange(n)
    lo = np.maximum(r - pos, 0)  # kernel index of the offset reaching position 0 (always <= r)
    hi = np.minimum(n - pos + r, len(k1))  # one past the offset reaching n - 1 (always >= r + 1)
    return c[hi] - c[lo]


def _recursions(N: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """S[t] = sum_k q^(k-1) N[t-k] for t = 0..T-1, and S[T] (the month after the history)."""
    T = N.shape[0]
    S = np.zeros((T + 1,) + N.shape[1:])
    for t in range(1, T + 1):
        S[t] = q * S[t - 1] + N[t - 1]
    return S[:T], S[T]


def _recursions_flat(N: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """The recursions for t = 0..T-1 over a (T, cells) array, vectorised across cells."""
    T = N.shape[0]
    S = np.zeros_like(N)
    S1 = np.zeros_like(N)
    for t in range(1, T):
        S[t] = q * S[t - 1] + N[t - 1]
        S1[t] = N[t - 1] + q * (S1[t - 1] + S[t - 1])
    return S, S1


_ESTEP = None


def _estep(*args):
    """The E-step pass, compiled by numba on first use (numba is slow to import, so lazily)."""
    global _ESTEP
    if _ESTEP is None:
        from numba import njit

        from saferhub.forecast.sepp_estep import estep

        _ESTEP = njit(cache=True)(estep)
    return _ESTEP(*args)


def fit_sepp(N: np.ndarray, radius: int = 3, bg_bandwidth: float = 0.0, max_iter: int = 100,
             tol: float = 1e-6, init: dict | None = None, fix_mu: bool = False) -> dict:
    """EM fit of the grid ETAS to a (T, ny, nx) count history. Returns the parameters, the
    background mu (ny, nx), iterations used and the log-likelihood trace (without log n! terms).

    Work per iteration is proportional to months x "active" cells (cells with any crime: no other
    cell can hold a parent) plus crime cells x (2r+1)^2 in one compiled pass.
    `fix_mu` keeps the background at init["mu"] (used to check the triggering estimates)."""
    from scipy.optimize import minimize_scalar

    N = np.asarray(N, dtype="float64")
    T, ny, nx = N.shape
    r = int(radius)
    init = init or {}
    theta, q, sigma = init.get("theta", 0.3), init.get("q", 0.5), init.get("sigma", 1.0)
    mu = np.asarray(init.get("mu", N.mean(axis=0) * (1 - theta) + 1e-9), dtype="float64")

    act_idx = np.full(ny * nx, -1, np.int64)  # -1: never had crime, so never a parent
    act_flat = np.flatnonzero(N.sum(axis=0) > 0)
    act_idx[act_flat] = np.arange(act_flat.size)
    NA = N.reshape(T, -1)[:, act_flat]

    t_i, r_i, c_i = np.nonzero(N)
    n_i = N[t_i, r_i, c_i]
    cell_i = r_i * nx + c_i
    dr, dc = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1), indexing="ij")
    dr, dc = dr.ravel(), dc.ravel()
    pr = r_i[:, None] - dr[None, :]  # parent rows/cols for each offset (child = parent + d)
    pc = c_i[:, None] - dc[None, :]
    on = (pr >= 0) & (pr < ny) & (pc >= 0) & (pc < nx)
    nb = np.where(on, act_idx[np.clip(pr, 0, ny - 1) * nx + np.clip(pc, 0, nx - 1)], -1)
    remaining = (T - 1 - np.arange(T)).astype("float64")  # months of offspring each month can show
    rem_i = remaining[t_i]
    smoother = gaussian_kernel(bg_bandwidth) if bg_bandwidth > 0 else None
    trace: list[float] = []

    def margins(sig):
        k1 = kernel_1d(sig, r)
        return k1, _inside_mass(ny, k1)[r_i] * _inside_mass(nx, k1)[c_i]

    k1, inside_i = margins(sigma)  # share of each crime cell's offspring kernel inside the grid
    it = 0
    for it in range(1, max_iter + 1):
        S, S1 = _recursions_flat(NA, q)
        mu_i = mu.ravel()[cell_i]
        lam, trg, lsum, Wd = _estep(S, S1, t_i, nb, n_i, mu_i, np.outer(k1, k1).ravel(), theta * (1 - q))
        comp = T * mu.sum() + theta * np.sum(n_i * inside_i * (1 - q ** rem_i))
        trace.append(float(n_i @ np.log(lam) - comp))
        w = n_i / lam
        W2 = Wd.reshape(2 * r + 1, 2 * r + 1)
        Wr, Wc = W2.sum(axis=1), W2.sum(axis=0)
        # M-step: background (optionally smoothed: Silverman's EMS; see the module notes)
        if fix_mu:
            new_mu = mu
        else:
            new_mu = np.bincount(cell_i, weights=w * mu_i, minlength=ny * nx).reshape(ny, nx) / T
            if smoother is not None:
                total = new_mu.sum()
                new_mu = smooth(new_mu, smoother)
                new_mu *= total / max(new_mu.sum(), 1e-300)
        if trg > 1e-9:
            # sigma: expected complete log-likelihood of the offsets, theta profiled out
            lagw = np.bincount(cell_i, weights=n_i * (1 - q ** rem_i), minlength=ny * nx).reshape(ny, nx)

            def neg_sigma(s):
                kk = kernel_1d(s, r)
                lk = np.log(np.maximum(kk, 1e-300))
                comp_s = _inside_mass(ny, kk) @ lagw @ _inside_mass(nx, kk)
                return -(Wr @ lk + Wc @ lk - trg * np.log(max(comp_s, 1e-300)))

            new_sigma = float(minimize_scalar(neg_sigma, bounds=(0.15, 2.0 * r), method="bounded",
                                              options={"xatol": 1e-4}).x)
            k1, inside_i = margins(new_sigma)
            w_t = np.bincount(t_i, weights=n_i * inside_i, minlength=T)  # per parent month

            # (theta, q): theta = trg / compensator(q), profiled out
            def neg_q(qq):
                C = max(w_t @ (1 - qq ** remaining), 1e-300)
                return -(trg * np.log1p(-qq) + (lsum - trg) * np.log(qq) - trg * np.log(C))

            new_q = float(minimize_scalar(neg_q, bounds=(1e-4, 0.995), method="bounded",
                                          options={"xatol": 1e-6}).x)
            new_theta = trg / max(w_t @ (1 - new_q ** remaining), 1e-300)
        else:
            new_sigma, new_q, new_theta = sigma, q, 0.0
        mu, theta, q, sigma = new_mu, float(new_theta), float(new_q), new_sigma
        # converged when the log-likelihood stops rising (relative change < tol); q and sigma
        # are barely identified when theta is ~0, so a rule on the parameters would never stop
        if len(trace) > 1 and abs(trace[-1] - trace[-2]) < tol * abs(trace[-1]):
            break
    return {"mu": mu, "theta": theta, "q": q, "sigma": sigma, "radius": r, "iterations": it,
            "loglik": trace}


def sepp_intensity_next(N: np.ndarray, params: dict) -> np.ndarray:
    """Expected counts for the month after the history N under fitted parameters."""
    q, theta, r = params["q"], params["theta"], params["radius"]
    _, S_next = _recursions(np.asarray(N, dtype="float64"), q)
    trig = smooth((1 - q) * S_next, kernel_2d(params["sigma"], r))
    return params["mu"] + theta * trig


def simulate_sepp(mu: np.ndarray, theta: float, q: float, sigma: float, months: int,
                  radius: int = 3, rng=None) -> np.ndarray:
    """Simulate counts (months, ny, nx) from the grid ETAS (offspring off the grid are lost)."""
    rng = np.random.default_rng(rng)
    K = kernel_2d(sigma, radius)
    ny, nx = mu.shape
    N = np.zeros((months, ny, nx))
    S = np.zeros((ny, nx))
    for t in range(months):
        if t:
            S = q * S + N[t - 1]
        lam = mu + theta * smooth((1 - q) * S, K)
        N[t] = rng.poisson(lam)
    return N


class SEPP(Model):
    """Grid ETAS fitted by EM to the last `window` months; the forecast is the expected count
    (background plus triggering) for the next month."""

    def __init__(self, window: int = 24, radius: int = 3, bg_bandwidth: float = 0.0,
                 max_iter: int = 60, tol: float = 2e-5, warm_start: bool = True,
                 target: str = "count"):
        self.window, self.radius, self.bg_bandwidth, self.max_iter = window, radius, bg_bandwidth, max_iter
        self.tol, self.warm_start, self.target = tol, warm_start, target

    def _check(self):
        from saferhub.forecast.models import _need

        super()._check()
        _need(self, int(self.window) == self.window and self.window >= 2, "window must be a whole number of months >= 2")
        _need(self, int(self.radius) == self.radius and self.radius >= 0, "radius must be a whole number of cells >= 0")
        _need(self, self.bg_bandwidth >= 0, "bg_bandwidth must be >= 0")
        _need(self, self.max_iter >= 1 and self.tol > 0, "max_iter must be >= 1 and tol > 0")

    def _risk(self, history, cube):
        N = history[-int(self.window):]
        init = None
        prev = getattr(self, "params_", None)
        # warm start (scikit-learn's meaning): a rolling backtest refits month after month on
        # windows that differ by one month, so the last fit is a far better start than a guess
        if self.warm_start and prev is not None and prev["mu"].shape == N.shape[1:]:
            init = {k: prev[k] for k in ("mu", "theta", "q", "sigma")}
            init["mu"] = np.maximum(init["mu"], 1e-9)
        self.params_ = fit_sepp(N, radius=int(self.radius), bg_bandwidth=self.bg_bandwidth,
                                max_iter=self.max_iter, tol=self.tol, init=init)
        return sepp_intensity_next(N, self.params_)
