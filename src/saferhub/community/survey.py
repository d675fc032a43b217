"""Survey estimates (pure): weighted proportions with 95% intervals whose method is named, Kish's
effective sample size, wave-on-wave changes, minimum bases, the national comparison.

For a 0/1 answer y with weights w (a single-stage design, sampled with replacement, as R's
`svydesign(ids = ~1, weights = ~w)`):
  p     = sum(w y) / sum(w)
  var_p = n/(n-1) * sum(w^2 (y - p)^2) / sum(w)^2           (the linearisation R's svymean uses)
  n_eff = sum(w)^2 / sum(w^2)                                  (Kish 1965)
Intervals (R `svyciprop`'s names):
  "logit": p's interval on the log-odds scale, logit(p) +- z * sqrt(var_p) / (p (1 - p)), mapped back
           (always inside 0..1);
  "beta" (Korn & Graubard 1998): Clopper-Pearson with the effective sample size in place of n:
           x = n_eff * p; lower = Beta(a/2; x, n_eff - x + 1), upper = Beta(1 - a/2; x + 1, n_eff - x).
           `n_eff="kish"` uses Kish's n_eff; `n_eff="design"` uses p (1 - p) / var_p as svyciprop does.
Wave-on-wave: independent samples, so the difference's variance is the sum; flagged "up"/"down"
only when the 95% interval of the difference excludes zero (|z| > 1.96).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

Z95 = stats.norm.ppf(0.975)
METHODS = ("logit", "beta")


@dataclass(frozen=True)
class Estimate:
    p: float
    low: float
    high: float
    n: int            # unweighted base: respondents who answered
    n_eff: float      # Kish's effective sample size
    var: float        # design-based variance of p
    method: str

    def as_dict(self) -> dict:
        return {"p": self.p, "low": self.low, "high": self.high, "n": self.n, "n_eff": self.n_eff,
                "se": float(np.sqrt(self.var)), "method": self.method}


def kish_n_eff(w) -> float:
    w = np.asarray(w, float)
    return float(w.sum() ** 2 / (w ** 2).sum()) if w.size else 0.0


def weighted_proportion(y, w=None) -> tuple[float, float]:
    """(p, var_p) as in the module note. y: 0/1 (NaN = did not answer, left out)."""
    y = np.asarray(y, float)
    w = np.ones_like(y) if w is None else np.asarray(w, float)
    keep = ~np.isnan(y)
    y, w = y[keep], w[keep]
    n = y.size
    if n == 0 or w.sum() <= 0:
        return float("nan"), float("nan")
    p = float((w * y).sum() / w.sum())
    var = float(n / (n - 1) * ((w ** 2) * (y - p) ** 2).sum() / w.sum() ** 2) if n > 1 else float("nan")
    return p, var


def interval(y, w=None, method: str = "beta", level: float = 0.95, n_eff: str = "kish") -> Estimate:
    """The weighted proportion with its interval by `method` ("logit" or "beta")."""
    if method not in METHODS:
        raise ValueError(f"interval method must be one of {', '.join(METHODS)}")
    y = np.asarray(y, float)
    w = np.ones_like(y) if w is None else np.asarray(w, float)
    keep = ~np.isnan(y)
    y, w = y[keep], w[keep]
    p, var = weighted_proportion(y, w)
    kish = kish_n_eff(w)
    a = 1 - level
    if not np.isfinite(p):
        return Estimate(float("nan"), float("nan"), float("nan"), int(y.size), kish, var, method)
    if method == "logit":
        if p in (0.0, 1.0) or not np.isfinite(var) or var == 0:
            lo, hi = p, p  # svyciprop gives a degenerate interval too; the beta method is the one to use then
        else:
            z = stats.norm.ppf(1 - a / 2)
            eta, se = np.log(p / (1 - p)), np.sqrt(var) / (p * (1 - p))
            lo, hi = 1 / (1 + np.exp(-(eta - z * se))), 1 / (1 + np.exp(-(eta + z * se)))
    else:
        ne = kish if n_eff == "kish" else (p * (1 - p) / var if var > 0 else float(y.size))
        x = ne * p
        lo = float(stats.beta.ppf(a / 2, x, ne - x + 1)) if x > 0 else 0.0
        hi = float(stats.beta.ppf(1 - a / 2, x + 1, ne - x)) if ne - x > 0 else 1.0
    return Estimate(p, float(lo), float(hi), int(y.size), kish, var,
                    "logit" if method == "logit" else f"Korn-Graubard ({'Kish' if n_eff == 'kish' else 'design'} n_eff)")


def change(a: Estimate, b: Estimate, level: float = 0.95) -> dict:
    """Wave b against wave a: difference in percentage points with its interval; "up"/"down" only
    when significant at `level`, else "no clear change"."""
    if not (np.isfinite(a.var) and np.isfinite(b.var)):
        return {"result": "too few to tell"}
    d = b.p - a.p
    se = float(np.sqrt(a.var + b.var))
    z = stats.norm.ppf(0.5 + level / 2)
    lo, hi = d - z * se, d + z * se
    p_value = float(2 * stats.norm.sf(abs(d) / se)) if se > 0 else (0.0 if d else 1.0)
    result = "up" if lo > 0 else "down" if hi < 0 else "no clear change"
    return {"result": result, "diff_pts": 100 * d, "low_pts": 100 * lo, "high_pts": 100 * hi, "p": p_value}


def estimate_table(df, questions: list[str], by: str | None = None, weight: str | None = "weight",
                   method: str = "beta", min_base: int = 50) -> list[dict]:
    """One row per (area, question): the estimate, or `withheld` when the unweighted base is
    under `min_base` (the base itself is still shown)."""
    groups = [("All areas", df)] if by is None else list(df.groupby(by, sort=True))
    rows = []
    for area, g in groups:
        for q in questions:
            e = interval(g[q].to_numpy(float), None if weight is None else g[weight].to_numpy(float), method)
            row = {"area": str(area), "question": q, "n": e.n}
            if e.n < min_base:
                row["withheld"] = True
            else:
                row |= e.as_dict() | {"withheld": False}
            rows.append(row)
    return rows
