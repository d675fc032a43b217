"""Change in counts per unit between two periods, with Poisson-based significance.

If counts a (before) and b (after) are Poisson with rates in the ratio of the periods' lengths
(r = length_after / length_before) under "no change", then conditional on a + b, b is
Binomial(a + b, r / (1 + r)) (the conditional test of two Poisson means, Przyborowski & Wilenski
1940; what Ratcliffe's and Wheeler's before/after tools use). We report the exact two-sided p (doubled one-sided tail, the 'central' method), its
BH/Holm adjustment, and Wheeler's square-root z = 2 (sqrt(b) - sqrt(a r)) for quick ranking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from saferhub.hotspots import inference


@dataclass
class Change:
    before: np.ndarray
    after: np.ndarray
    difference: np.ndarray
    ratio: np.ndarray
    z: np.ndarray
    p: np.ndarray
    p_adjusted: np.ndarray
    direction: np.ndarray  # +1 significant rise, -1 significant fall, 0 neither (at alpha)


def poisson_change(before, after, length_ratio: float = 1.0, correction: str = "fdr",
                   alpha: float = 0.05) -> Change:
    """Per-unit change from `before` to `after` counts; `length_ratio` = after length / before length."""
    a = np.asarray(before, dtype="float64")
    b = np.asarray(after, dtype="float64")
    n = a + b
    pi = length_ratio / (1.0 + length_ratio)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = stats.binom.cdf(b, n, pi)
        upper = stats.binom.sf(b - 1, n, pi)
        p = np.where(n > 0, np.minimum(1.0, 2 * np.minimum(lower, upper)), 1.0)
        ratio = np.where(a > 0, b / (a * length_ratio), np.nan)
    z = 2 * (np.sqrt(b) - np.sqrt(a * length_ratio))
    p_adj = inference.adjust(p, correction)
    expected = a * length_ratio
    direction = np.where(p_adj <= alpha, np.sign(b - expected), 0).astype(np.int8)
    return Change(a, b, b - a, ratio, z, p, p_adj, direction)
