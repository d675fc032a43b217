"""How good is a risk surface? Metrics at a fixed area coverage, computed over the study-area cells.

Definitions (n = crimes in the selected cells, N = crimes in the area, a/A = selected area share):
- hit rate = n / N; PAI = (n / N) / (a / A)  (Chainey, Tompson & Uhlig 2008).
- PEI = n / n_max, n_max the crimes in the best possible selection of the same area (Hunt 2016).
- PEI* = PAI / PAI*, where PAI* is the PAI of the best selection using only as many cells as hold
  crime (a* = cells with crime among the best k), the "operationally realistic" efficiency of the
  NIJ forecasting challenge (Hunt 2016; White, Hunt & Green 2023). Equal to PEI unless fewer than k
  cells saw crime.
- RRI = (n / N) / (r / R): the share of next month's crime recaptured by the selected cells over
  the share of the forecast's own risk in them (Levine 2008's recapture rate index, the model's
  input period standing in for "period 1"; for count models r/R is exactly the past share).
- harm hit rate = harm-weighted crime in selected cells / all harm in the area.
- Brier and log score of P(cell sees >= 1 crime), p = 1 - exp(-lambda), lambda the risk rescaled to
  the expected monthly total (so models on arbitrary scales compare).

Ties at the coverage threshold: k = round(coverage * cells) cells are selected (at least 1). Cells
whose risk is strictly above the k-th highest risk are in; cells tied AT the k-th value share the
remaining places fractionally (each counts with weight places / tied cells). That is the expected
result of breaking ties uniformly at random, computed exactly, so it is deterministic and neither
flatters nor punishes coarse (count-based) forecasts, which tie a lot. `top_cells` (used for
stability and the bias audit, which need a concrete set) breaks ties by flat cell index instead.
"""

from __future__ import annotations

import numpy as np

COVERAGES = (0.01, 0.02, 0.05, 0.10, 0.20)
_EPS = 1e-12


def n_selected(n_cells: int, coverage: float) -> int:
    return max(1, min(n_cells, int(np.floor(coverage * n_cells + 0.5))))


def selection_weights(risk: np.ndarray, k: int) -> np.ndarray:
    """Weight in [0, 1] per cell: 1 above the k-th highest risk, fractional for ties at it."""
    risk = np.asarray(risk, dtype="float64")
    n = risk.size
    if k >= n:
        return np.ones(n)
    kth = np.partition(-risk, k - 1)[k - 1] * -1.0  # k-th largest value
    above = risk > kth
    tied = risk == kth
    w = above.astype("float64")
    places = k - int(above.sum())
    w[tied] = places / tied.sum()
    return w


def top_cells(risk: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest-risk cells, ties broken by lower index (deterministic)."""
    risk = np.asarray(risk, dtype="float64")
    order = np.lexsort((np.arange(risk.size), -risk))
    return order[:k]


def coverage_metrics(risk, actual, coverage: float, harm=None) -> dict[str, float]:
    """Hit rate, PAI, PEI, PEI*, RRI and harm hit rate for one forecast at one coverage.

    `risk`, `actual` (and `harm`, harm-weighted actual) are 1-D over the study-area cells."""
    risk = np.asarray(risk, dtype="float64")
    actual = np.asarray(actual, dtype="float64")
    n_cells = risk.size
    k = n_selected(n_cells, coverage)
    area_share = k / n_cells
    w = selection_weights(risk, k)
    N = actual.sum()
    n = float(w @ actual)
    hit = n / N if N > 0 else np.nan
    pai = hit / area_share
    best = np.sort(actual)[::-1][:k]
    n_max = best.sum()
    a_star = max(1, int((best > 0).sum()))
    pai_star = (n_max / N) / (a_star / n_cells) if N > 0 else np.nan
    R = risk.sum()
    risk_share = float(w @ risk) / R if R > 0 else np.nan
    out = {
        "coverage": coverage,
        "cells": k,
        "hits": n,
        "hit_rate": hit,
        "pai": pai,
        "pei": n / n_max if n_max > 0 else np.nan,
        "pei_star": pai / pai_star if N > 0 and pai_star > 0 else np.nan,
        "rri": hit / risk_share if risk_share and risk_share > 0 else np.nan,
    }
    if harm is not None:
        harm = np.asarray(harm, dtype="float64")
        H = harm.sum()
        out["harm_hit_rate"] = float(w @ harm) / H if H > 0 else np.nan
    return out


def expected_counts(risk, expected_total: float) -> np.ndarray:
    """Rescale a risk surface so it sums to the expected monthly total (a Poisson mean per cell)."""
    risk = np.clip(np.asarray(risk, dtype="float64"), 0.0, None)
    s = risk.sum()
    if s <= 0:
        return np.full(risk.shape, expected_total / max(risk.size, 1))
    return risk * (expected_total / s)


def probability_scores(risk, actual, expected_total: float) -> dict[str, float]:
    """Brier score and mean log loss of p = P(at least one crime) = 1 - exp(-lambda) per cell."""
    lam = expected_counts(risk, expected_total)
    p = np.clip(-np.expm1(-lam), 1e-9, 1 - 1e-9)
    y = (np.asarray(actual) > 0).astype("float64")
    brier = float(np.mean((p - y) ** 2))
    log_loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
    return {"brier": brier, "log_score": log_loss}


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap |A n B| / |A u B| of two sets of cell indices (top-cell stability)."""
    a, b = np.unique(a), np.unique(b)
    union = np.union1d(a, b).size
    return np.intersect1d(a, b).size / union if union else np.nan
