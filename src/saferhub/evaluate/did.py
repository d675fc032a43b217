"""Difference-in-differences against automatically matched control places, the event study of
pre-trends, and a synthetic control for a single area. Pure: arrays and DataFrames in and out.

The DiD model is a Poisson GLM (statsmodels) of monthly counts with place and month fixed effects and
one treated-after term; its standard error is cluster-robust by place, so overdispersion and
serial correlation within a place do not shrink it (a Poisson-model SE would: see the calibration in
benchmarks/RESULTS.md). family="negbin" fits a negative binomial GLM instead (alpha from the
Poisson fit's Pearson residuals), with the same clustered SE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats


def level_and_trend(pre: np.ndarray) -> np.ndarray:
    """Per place (rows of a places x months count matrix): log mean level and the slope of log counts
    per month (least squares on log1p), the two things controls are matched on."""
    pre = np.asarray(pre, dtype=float)
    t = np.arange(pre.shape[1]) - (pre.shape[1] - 1) / 2
    logs = np.log1p(pre)
    slope = (logs * t).sum(axis=1) / max((t**2).sum(), 1e-9)
    return np.column_stack([np.log1p(pre.mean(axis=1)), slope])


def match_pools(pre: np.ndarray, treated: np.ndarray, eligible: np.ndarray, per_treated: int = 3,
                strata: np.ndarray | None = None) -> np.ndarray:
    """For each treated place (rows, in the given order) the `per_treated` nearest eligible places
    (untreated, outside the buffers) on standardised pre-period level and trend, without replacement
    across treated places, within the same stratum (e.g. IMD decile) when it has enough places.
    Returns an int array (treated x per_treated), -1 where the pool ran out."""
    treated = np.asarray(treated)
    feats = level_and_trend(pre)
    scale = feats[eligible].std(axis=0)
    feats = feats / np.where(scale > 0, scale, 1.0)
    free = np.asarray(eligible, bool).copy()
    free[treated] = False
    out = np.full((treated.size, per_treated), -1, dtype=int)
    for row in np.argsort(-feats[treated, 0]):  # busiest first: hardest to match
        i = treated[row]
        pool = free.copy()
        if strata is not None and (pool & (strata == strata[i])).sum() >= per_treated:
            pool &= strata == strata[i]
        cand = np.flatnonzero(pool)
        pick = cand[np.argsort(((feats[cand] - feats[i]) ** 2).sum(axis=1))[:per_treated]]
        out[row, :pick.size] = pick
        free[pick] = False
    return out


def nearest_pools(pre: np.ndarray, targets: np.ndarray, eligible: np.ndarray, k: int = 10) -> np.ndarray:
    """For many target places at once (e.g. every cell of a buffer), the k nearest eligible places on
    standardised level and trend (a k-d tree; with replacement across targets). targets x k."""
    from scipy.spatial import cKDTree

    feats = level_and_trend(pre)
    scale = feats[eligible].std(axis=0)
    feats = feats / np.where(scale > 0, scale, 1.0)
    cand = np.flatnonzero(eligible)
    if len(targets) == 0 or cand.size == 0:
        return np.zeros((len(targets), 0), dtype=int)
    _, idx = cKDTree(feats[cand]).query(feats[np.asarray(targets)], k=min(k, cand.size))
    return cand[np.asarray(idx).reshape(len(targets), -1)]


def choose_controls(pre: np.ndarray, treated: np.ndarray, eligible: np.ndarray, per_treated: int = 3,
                    strata: np.ndarray | None = None) -> np.ndarray:
    """Control places for DiD: the matched pools flattened (see match_pools)."""
    pools = match_pools(pre, treated, eligible, per_treated, strata)
    return pools[pools >= 0]


def _design(n_places: int, n_months: int, extra: np.ndarray) -> np.ndarray:
    """Place and month dummies (first of each dropped into the intercept) beside the extra columns."""
    place = np.repeat(np.arange(n_places), n_months)
    month = np.tile(np.arange(n_months), n_places)
    cols = [np.ones(n_places * n_months)]
    cols += [(place == p).astype(float) for p in range(1, n_places)]
    cols += [(month == m).astype(float) for m in range(1, n_months)]
    return np.column_stack(cols + [extra])


def _fit(y: np.ndarray, X: np.ndarray, groups: np.ndarray, family: str):
    import warnings

    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    with warnings.catch_warnings():  # one treated place makes each event-study month a saturated cell
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        return _fit_glm(y, X, groups, family)


def _fit_glm(y: np.ndarray, X: np.ndarray, groups: np.ndarray, family: str):
    if family == "quasipoisson":  # Poisson mean, variance scaled by the Pearson dispersion
        return sm.GLM(y, X, family=sm.families.Poisson()).fit(scale="X2")
    fam = sm.families.Poisson()
    if family == "negbin":
        pois = sm.GLM(y, X, family=fam).fit()
        mu = pois.fittedvalues
        alpha = max(((y - mu) ** 2 - mu).sum() / max((mu**2).sum(), 1e-9), 1e-6)
        fam = sm.families.NegativeBinomial(alpha=alpha)
    return sm.GLM(y, X, family=fam).fit(cov_type="cluster", cov_kwds={"groups": groups})


def did_glm(counts: np.ndarray, treated: np.ndarray, post: np.ndarray, family: str = "poisson",
            conf: float = 0.95, collapse: bool = True) -> dict:
    """DiD rate ratio from a places x months count matrix. treated: bool per place; post: bool per
    month. Returns the rate ratio exp(delta), its interval and p-value (cluster-robust by place).
    collapse: sum each place's months into one before and one after total first (period effects
    instead of month effects): the same estimate when trends are shared, far faster, and what the
    calibration measured; the month-by-month view is `event_study`."""
    counts = np.asarray(counts, dtype=float)
    post = np.asarray(post, bool)
    if collapse:
        counts = np.column_stack([counts[:, ~post].sum(axis=1), counts[:, post].sum(axis=1)])
        post = np.array([False, True])
    n, m = counts.shape
    keep = counts.sum(axis=1) > 0  # an all-zero place has no information and breaks the fit
    counts, treated = counts[keep], np.asarray(treated)[keep]
    n = counts.shape[0]
    if treated.sum() == 0 or (~treated).sum() == 0:
        return {"rate_ratio": np.nan, "low": np.nan, "high": np.nan, "p": np.nan, "family": family}
    if collapse and family == "quasipoisson":
        return _two_period_quasipoisson(counts, treated, conf) | {"family": family, "months": int(len(post))}
    inter = (np.repeat(treated, m) & np.tile(np.asarray(post, bool), n)).astype(float)
    res = _fit(counts.ravel(), _design(n, m, inter[:, None]), np.repeat(np.arange(n), m), family)
    b, se = float(res.params[-1]), float(res.bse[-1])
    z = stats.norm.ppf(0.5 + conf / 2)
    return {"rate_ratio": float(np.exp(b)), "low": float(np.exp(b - z * se)), "high": float(np.exp(b + z * se)),
            "p": float(res.pvalues[-1]), "log_rr": b, "se": se, "family": family,
            "places": int(n), "treated_places": int(treated.sum()), "months": int(m)}


def _two_period_quasipoisson(counts: np.ndarray, treated: np.ndarray, conf: float) -> dict:
    """The quasi-Poisson GLM with place and period effects on before/after totals, in closed form
    (the calibration fits it 400 times): given each place's total, its after count is binomial with one
    share per group, so delta = log of the ratio of ratios, Poisson var = 1/T0 + 1/T1 + 1/C0 + 1/C1,
    scaled by Pearson X^2 / (places - 2). Equal to statsmodels' fit(scale="X2") (tests)."""
    b, a = counts[:, 0], counts[:, 1]
    t0, t1, c0, c1 = b[treated].sum(), a[treated].sum(), b[~treated].sum(), a[~treated].sum()
    if min(t0, t1, c0, c1) <= 0 or len(counts) < 3:
        return {"rate_ratio": np.nan, "low": np.nan, "high": np.nan, "p": np.nan}
    log_rr = float(np.log(t1 / t0) - np.log(c1 / c0))
    share = np.where(treated, t1 / (t0 + t1), c1 / (c0 + c1))
    n = a + b
    x2 = float(((a - n * share) ** 2 / (n * share * (1 - share))).sum())
    se = float(np.sqrt((1 / t0 + 1 / t1 + 1 / c0 + 1 / c1) * x2 / (len(counts) - 2)))
    z = stats.norm.ppf(0.5 + conf / 2)
    return {"rate_ratio": float(np.exp(log_rr)), "low": float(np.exp(log_rr - z * se)),
            "high": float(np.exp(log_rr + z * se)), "p": float(2 * stats.norm.sf(abs(log_rr) / se)),
            "log_rr": log_rr, "se": se, "places": int(len(counts)), "treated_places": int(treated.sum())}


def event_study(counts: np.ndarray, treated: np.ndarray, post: np.ndarray, month_labels=None,
                conf: float = 0.95) -> pd.DataFrame:
    """Treated-vs-control rate ratio for every month relative to the last month before the start
    (1 by construction). Flat, near-1 pre-period ratios support the parallel-trends assumption."""
    counts = np.asarray(counts, dtype=float)
    keep = counts.sum(axis=1) > 0
    counts, treated = counts[keep], np.asarray(treated)[keep]
    n, m = counts.shape
    post = np.asarray(post, bool)
    ref = int(np.flatnonzero(~post)[-1]) if (~post).any() else 0
    months = [j for j in range(m) if j != ref]
    place_t = np.repeat(treated, m)
    month_idx = np.tile(np.arange(m), n)
    extra = np.column_stack([(place_t & (month_idx == j)).astype(float) for j in months])
    res = _fit(counts.ravel(), _design(n, m, extra), np.repeat(np.arange(n), m), "poisson")
    k = len(months)
    b, se = np.asarray(res.params[-k:]), np.asarray(res.bse[-k:])
    z = stats.norm.ppf(0.5 + conf / 2)
    labels = list(month_labels) if month_labels is not None else list(range(m))
    rows = [{"month": labels[ref], "relative": 0, "rate_ratio": 1.0, "low": 1.0, "high": 1.0, "post": False}]
    for j, bj, sj in zip(months, b, se):
        rows.append({"month": labels[j], "relative": j - ref, "rate_ratio": float(np.exp(bj)),
                     "low": float(np.exp(bj - z * sj)), "high": float(np.exp(bj + z * sj)), "post": bool(post[j])})
    return pd.DataFrame(rows).sort_values("relative").reset_index(drop=True)


def synthetic_weights(target_pre: np.ndarray, donors_pre: np.ndarray) -> np.ndarray:
    """Non-negative donor weights summing to 1 that best reproduce the target's pre-period series
    (least squares, SLSQP)."""
    scale = max(float(np.abs(target_pre).mean()), 1e-9)  # SLSQP stalls on badly scaled losses
    donors_pre = np.asarray(donors_pre, dtype=float) / scale
    target_pre = np.asarray(target_pre, dtype=float) / scale
    k = donors_pre.shape[0]
    loss = lambda w: float(((target_pre - w @ donors_pre) ** 2).sum())  # noqa: E731
    grad = lambda w: -2 * donors_pre @ (target_pre - w @ donors_pre)  # noqa: E731
    res = optimize.minimize(loss, np.full(k, 1 / k), jac=grad, method="SLSQP", bounds=[(0, 1)] * k,
                            constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}], options={"ftol": 1e-12, "maxiter": 500})
    w = np.clip(res.x, 0, None)
    return w / w.sum()


def synthetic_control(target: np.ndarray, donors: np.ndarray, n_pre: int) -> dict:
    """Synthetic control for one area (Abadie et al. 2010): the weighted donor series, the post-period
    gap, and a placebo-in-space p-value (rank of the post/pre RMSPE ratio among the donors')."""
    target, donors = np.asarray(target, float), np.asarray(donors, float)

    def fit(y, pool):
        w = synthetic_weights(y[:n_pre], pool[:, :n_pre])
        synth = w @ pool
        pre = np.sqrt(np.mean((y[:n_pre] - synth[:n_pre]) ** 2))
        post = np.sqrt(np.mean((y[n_pre:] - synth[n_pre:]) ** 2))
        return w, synth, post / max(pre, 1e-9)

    w, synth, ratio = fit(target, donors)
    placebo = [fit(donors[i], np.delete(donors, i, axis=0))[2] for i in range(donors.shape[0])]
    p = (1 + sum(r >= ratio for r in placebo)) / (len(placebo) + 1)
    effect = target[n_pre:].sum() - synth[n_pre:].sum()
    return {"weights": w, "synthetic": synth, "effect": float(effect),
            "effect_pct": float(100 * effect / max(synth[n_pre:].sum(), 1e-9)), "rmspe_ratio": float(ratio), "p": float(p)}
