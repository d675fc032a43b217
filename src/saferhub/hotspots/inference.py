"""Multiple-testing corrections and ArcGIS-style confidence classes for local statistics.

Gi* tests every unit at once, so at 95% about 1 unit in 20 is "hot" by chance alone. We offer the
Benjamini–Hochberg false discovery rate (Benjamini & Hochberg 1995; what ArcGIS's "Apply False
Discovery Rate correction" does) and Holm's step-down family-wise correction (Holm 1979).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from saferhub.errors import SaferhubError

CORRECTIONS = ("none", "fdr", "holm")
# ArcGIS Gi_Bin: +-3 = 99%, +-2 = 95%, +-1 = 90% confidence, 0 = not significant.
LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))
CLASS_LABELS = {3: "Hot spot 99%", 2: "Hot spot 95%", 1: "Hot spot 90%", 0: "Not significant",
                -1: "Cold spot 90%", -2: "Cold spot 95%", -3: "Cold spot 99%"}


def two_sided_p(z) -> np.ndarray:
    """Two-sided normal p-value of z-scores (NaN stays NaN)."""
    z = np.asarray(z, dtype="float64")
    return 2.0 * special.ndtr(-np.abs(z))  # = 2 norm.sf(|z|), without scipy.stats' overhead


def _finite_only(p, adjust) -> np.ndarray:
    """Apply a p-value adjustment to the finite values only; NaNs are ignored and stay NaN."""
    p = np.asarray(p, dtype="float64")
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = adjust(p[ok])
    return out


def _bh(pv: np.ndarray) -> np.ndarray:
    m = pv.size
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    # Step-up: q_(i) = min over j >= i of p_(j) m / j.
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    adj = np.empty(m)
    adj[order] = np.minimum(q, 1.0)
    return adj


def _holm(pv: np.ndarray) -> np.ndarray:
    m = pv.size
    order = np.argsort(pv)
    ranked = pv[order] * (m - np.arange(m))
    adj = np.empty(m)
    adj[order] = np.minimum(np.maximum.accumulate(ranked), 1.0)
    return adj


def bh_adjust(p) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaNs are ignored and stay NaN."""
    return _finite_only(p, _bh)


def holm_adjust(p) -> np.ndarray:
    """Holm step-down adjusted p-values; NaNs are ignored and stay NaN."""
    return _finite_only(p, _holm)


def adjust(p, correction: str = "fdr") -> np.ndarray:
    """Adjusted p-values for `correction` in none | fdr | holm."""
    if correction == "none":
        return np.asarray(p, dtype="float64").copy()
    if correction == "fdr":
        return bh_adjust(p)
    if correction == "holm":
        return holm_adjust(p)
    raise SaferhubError(f"unknown multiple-testing correction {correction!r} (use {', '.join(CORRECTIONS)})")


def classes(z, p_adjusted) -> np.ndarray:
    """ArcGIS-like Gi_Bin classes: sign(z) x {3: p<=0.01, 2: p<=0.05, 1: p<=0.10}, else 0."""
    z = np.asarray(z, dtype="float64")
    p = np.asarray(p_adjusted, dtype="float64")
    level = np.zeros(z.shape, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        for lev, alpha in LEVELS[::-1]:
            level = np.where(p <= alpha, lev, level)
        sign = np.where(np.isfinite(z), np.sign(z), 0).astype(np.int8)
    return (level * sign).astype(np.int8)


def class_labels(cls) -> np.ndarray:
    cls = np.asarray(cls)
    lut = np.array([CLASS_LABELS[k] for k in range(-3, 4)], dtype=object)
    return lut[cls.astype(int) + 3]
