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


def compound_poisson_change(before, after, before_sq, after_sq, length_ratio: float = 1.0,
                            correction: str = "fdr", alpha: float = 0.05) -> Change:
    """Change in summed weights (harm) per unit. Each period's sum of weights is compound Poisson,
    with variance estimated by the sum of squared weights, so under "no change"
        z = (b - r a) / sqrt(b2 + r^2 a2)
    is approximately standard normal (a Wald test; with unit weights it is the usual Poisson
    Wald test). p is two-sided; units with no events in either period get p = 1."""
    a = np.asarray(before, dtype="float64")
    b = np.asarray(after, dtype="float64")
    r = float(length_ratio)
    var = np.asarray(after_sq, dtype="float64") + r * r * np.asarray(before_sq, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(var > 0, (b - r * a) / np.sqrt(var), 0.0)
        ratio = np.where(a > 0, b / (a * r), np.nan)
    p = np.where(var > 0, inference.two_sided_p(z), 1.0)
    p_adj = inference.adjust(p, correction)
    direction = np.where(p_adj <= alpha, np.sign(z), 0).astype(np.int8)
    return Change(a, b, b - a, ratio, z, p, p_adj, direction)
