"""Power before the operation starts: the smallest reduction a design could detect (the minimum
detectable effect), from the areas' historic counts and the chosen periods.

The variance of the DiD log rate ratio is 1/T0 + 1/T1 + 1/C0 + 1/C1 (Poisson) times a dispersion,
plus the shared-swing variance `shock_var` that real places carry (methods.shock_variance); the
MDE solves (z_{1-alpha/2} + z_{power}) * SE = -log(1 - MDE)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def minimum_detectable_effect(treated_per_month: float, before_months: int, after_months: int,
                              controls_ratio: float = 3.0, alpha: float = 0.05, power: float = 0.8,
                              dispersion: float = 1.0, shock_var: float = 0.0) -> dict:
    """treated_per_month: the treated areas' historic monthly events (all areas together);
    controls_ratio: controls' events per treated event. Returns the MDE as a share (0.2 = 20% fewer)."""
    t0 = treated_per_month * before_months
    if t0 <= 0:
        return {"mde": np.nan, "se_log_rr": np.inf}
    t1 = treated_per_month * after_months
    c0, c1 = t0 * controls_ratio, t1 * controls_ratio
    k = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    mde = 0.0
    for _ in range(50):  # under the alternative the after count is smaller, so its variance term grows
        if mde >= 1.0:   # no root: the variance outgrows any fall, none short of 100% is detectable
            return {"mde": 1.0, "se_log_rr": np.inf, "alpha": alpha, "power": power,
                    "expected_before": t0, "expected_after": t1}
        se = float(np.sqrt(dispersion * (1 / t0 + 1 / (t1 * (1 - mde)) + 1 / c0 + 1 / c1) + shock_var))
        new = float(1 - np.exp(-k * se))
        if abs(new - mde) < 1e-10:
            break
        mde = new
    return {"mde": mde, "se_log_rr": se, "alpha": alpha, "power": power,
            "expected_before": t0, "expected_after": t1}


def power_for(effect: float, se_log_rr: float, alpha: float = 0.05) -> float:
    """Power to detect a relative change `effect` (e.g. -0.2) with a two-sided z-test on the log RR."""
    z = abs(np.log1p(effect)) / se_log_rr
    crit = stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.sf(crit - z) + stats.norm.cdf(-crit - z))
