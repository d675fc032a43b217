"""Year-on-year comparison of two periods' counts: exact Poisson intervals, rate ratios and the two
two-sample Poisson tests (DOMAIN.md, Proving impact). Pure functions: numbers and DataFrames in and out.

Which test: the C-test (conditional binomial; Przyborowski & Wilenski 1940) is exact given the total
and conservative; the E-test (Krishnamoorthy & Thomson 2004) is more powerful. The E-test needs a
variance for its pivot, and the two usual choices differ when the periods differ in length:
"unpooled" is K&T's eq. (3.2), X1/t1^2 + X0/t0^2 (scipy.stats.poisson_means_test uses it too);
"pooled" uses the common rate under the null, (X1+X0)/(t1+t0) * (1/t1 + 1/t0). We default to unpooled.

Real crime counts are overdispersed (places and months vary more than Poisson allows), so a Poisson
p-value alone over-claims. `referenced_p` ranks the treated areas' change among the changes of many
reference sets of the same size and level over the same months (built by evaluate/reference.py, the
areas in their own matched groups): that test is calibrated on real data (benchmarks/RESULTS.md) and
is the one that decides "significant" in our reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

TOO_FEW = "too few events to tell"
DEFAULT_MIN_EVENTS = 20


def poisson_interval(k, conf: float = 0.95):
    """Exact (Garwood) interval for a Poisson mean from an observed count k: (lower, upper)."""
    k = np.asarray(k, dtype=float)
    a = 1.0 - conf
    lower = np.where(k > 0, stats.chi2.ppf(a / 2, 2 * k) / 2, 0.0)
    upper = stats.chi2.ppf(1 - a / 2, 2 * k + 2) / 2
    return lower, upper


def rate_ratio(k1, k0, t1: float = 1.0, t0: float = 1.0, conf: float = 0.95):
    """Rate ratio (k1/t1)/(k0/t0) with its exact conditional interval: given n = k1+k0, k1 is
    binomial(n, p) with p = t1*RR/(t1*RR + t0); a Clopper-Pearson interval on p maps to RR."""
    k1, k0 = float(k1), float(k0)
    n = k1 + k0
    if n == 0:
        return np.nan, np.nan, np.nan
    a = 1.0 - conf
    p_lo = stats.beta.ppf(a / 2, k1, k0 + 1) if k1 > 0 else 0.0
    p_hi = stats.beta.ppf(1 - a / 2, k1 + 1, k0) if k0 > 0 else 1.0
    to_rr = lambda p: (p / (1 - p)) * (t0 / t1) if p < 1 else np.inf  # noqa: E731
    est = (k1 / t1) / (k0 / t0) if k0 > 0 else np.inf
    return est, to_rr(p_lo), to_rr(p_hi)


def c_test(k1, k0, t1: float = 1.0, t0: float = 1.0) -> float:
    """Two-sided C-test of equal rates: k1 | k1+k0 ~ binomial(n, t1/(t1+t0)) under the null."""
    n = int(k1 + k0)
    if n == 0:
        return 1.0
    return float(stats.binomtest(int(k1), n, t1 / (t1 + t0)).pvalue)


def e_test(k1, k0, t1: float = 1.0, t0: float = 1.0, variance: str = "unpooled") -> float:
    """Two-sided E-test (Krishnamoorthy & Thomson 2004) of equal Poisson rates.

    The p-value is P(|T(X1, X0)| >= |T(k1, k0)|) with X1 ~ Poisson(t1*lam), X0 ~ Poisson(t0*lam) and
    lam the pooled rate, T = (X1/t1 - X0/t0) / sqrt(variance). See the module note for `variance`."""
    if variance not in ("unpooled", "pooled"):
        raise ValueError("variance must be 'unpooled' or 'pooled'")
    k1, k0 = int(k1), int(k0)
    if k1 + k0 == 0:
        return 1.0
    lam = (k1 + k0) / (t1 + t0)

    def pivot(x1, x0):
        if variance == "unpooled":
            var = x1 / t1**2 + x0 / t0**2
        else:
            var = (x1 + x0) / (t1 + t0) * (1 / t1 + 1 / t0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(var > 0, (x1 / t1 - x0 / t0) / np.sqrt(np.where(var > 0, var, 1)), 0.0)

    t_obs = abs(float(pivot(np.array(k1), np.array(k0))))
    if t_obs == 0:
        return 1.0
    # Sum the joint pmf over each variable's range holding all but ~1e-12 of its mass.
    x1 = np.arange(int(stats.poisson.ppf(1e-13, t1 * lam)), int(stats.poisson.isf(1e-13, t1 * lam)) + 1)
    x0 = np.arange(int(stats.poisson.ppf(1e-13, t0 * lam)), int(stats.poisson.isf(1e-13, t0 * lam)) + 1)
    p1 = stats.poisson.pmf(x1, t1 * lam)
    p0 = stats.poisson.pmf(x0, t0 * lam)
    extreme = np.abs(pivot(x1[:, None].astype(float), x0[None, :].astype(float))) >= t_obs * (1 - 1e-12)
    return float(min(1.0, (p1[:, None] * p0[None, :] * extreme).sum()))


def harm_ratio(h1, h0, h1_sq, h0_sq, t1: float = 1.0, t0: float = 1.0, conf: float = 0.95):
    """Harm-weighted rate ratio with a log-normal interval. Harm is a sum of per-event weights, a
    compound Poisson total whose variance is the sum of squared weights (delta method on the log)."""
    if h1 <= 0 or h0 <= 0:
        return np.nan, np.nan, np.nan
    est = (h1 / t1) / (h0 / t0)
    se = np.sqrt(h1_sq / h1**2 + h0_sq / h0**2)
    z = stats.norm.ppf(0.5 + conf / 2)
    return est, est * np.exp(-z * se), est * np.exp(z * se)


def referenced_p(observed_log_rr: float, reference_log_rr) -> float:
    """Two-sided empirical p-value of a change against untreated reference sets' changes over the
    same months (each reference set the same size and pre-period level as the treated set)."""
    ref = np.asarray(reference_log_rr, dtype=float)
    ref = ref[np.isfinite(ref)]
    if not np.isfinite(observed_log_rr) or ref.size == 0:
        return np.nan
    lower = (1 + np.sum(ref <= observed_log_rr)) / (ref.size + 1)
    upper = (1 + np.sum(ref >= observed_log_rr)) / (ref.size + 1)
    return float(min(1.0, 2 * min(lower, upper)))


def yoy_table(counts: pd.DataFrame, t_before: float = 1.0, t_after: float = 1.0, conf: float = 0.95,
              min_events: int = DEFAULT_MIN_EVENTS, variance: str = "unpooled") -> pd.DataFrame:
    """Per-area and overall year-on-year figures.

    counts: one row per area with area_id, before, after (event counts) and optionally harm_before,
    harm_after, harm_sq_before, harm_sq_after (sums of weights and of squared weights).
    t_before/t_after: period lengths (months). Returns one row per area plus an "All areas" row.
    Rows with fewer than `min_events` events in the two periods together say TOO_FEW, no estimate.
    """
    df = counts.copy()
    total = {"area_id": "All areas", **df.drop(columns="area_id").sum(numeric_only=True).to_dict()}
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    rows = []
    for rec in df.to_dict("records"):
        k0, k1 = float(rec["before"]), float(rec["after"])
        row = {"area_id": rec["area_id"], "before": k0, "after": k1}
        if k0 + k1 < min_events:
            row["result"] = TOO_FEW
            rows.append(row)
            continue
        rr, lo, hi = rate_ratio(k1, k0, t_after, t_before, conf)
        row.update(rate_ratio=rr, rr_low=lo, rr_high=hi, change_pct=100 * (rr - 1),
                   p_c_test=c_test(k1, k0, t_after, t_before),
                   p_e_test=e_test(k1, k0, t_after, t_before, variance), result="estimated")
        if "harm_before" in rec:
            hr, hlo, hhi = harm_ratio(float(rec["harm_after"]), float(rec["harm_before"]),
                                      float(rec["harm_sq_after"]), float(rec["harm_sq_before"]),
                                      t_after, t_before, conf)
            row.update(harm_before=float(rec["harm_before"]), harm_after=float(rec["harm_after"]),
                       harm_ratio=hr, harm_low=hlo, harm_high=hhi)
        rows.append(row)
    return pd.DataFrame(rows)
