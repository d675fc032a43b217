"""Emerging hot spots: a space-time cube by month, space-time Gi* (Gi* per time slice is
analyse.emerging_frame's loop), a Mann–Kendall trend per unit, and ArcGIS's eight hot (and eight
cold) spot categories; plus a simpler four-way reading.

ArcGIS Pro's "How Emerging Hot Spot Analysis works" defines the categories (hot shown; cold is the
mirror image with hot<->cold and the trend reversed). "Hot" = a significant positive Gi* in a slice.
  new           hot in the final slice and never hot before
  consecutive   a single uninterrupted run of >= 2 hot slices at the end, never hot before that run,
                and < 90% of slices hot
  intensifying  hot in >= 90% of slices including the final one, and the Gi* z-scores trend upward
                (Mann–Kendall significant)
  persistent    hot in >= 90% of slices including the final one, no significant trend
  diminishing   hot in >= 90% of slices including the final one, significant downward trend
  sporadic      hot in the final slice, < 90% hot, hot before but not in one final run, never cold
  oscillating   hot in the final slice, < 90% hot, and significantly cold in some earlier slice
  historical    not hot in the final slice, but hot in >= 90% of slices
Where ArcGIS's wording overlaps we resolve it thus (and tests pin it): a unit that was ever cold and
is hot only at the end is "oscillating" (its history includes a cold spot), not "new"/"consecutive".
Everything here is vectorised over all units at once; the only loop is over time slices / lags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from saferhub.errors import SaferhubError
from saferhub.hotspots import inference

PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
            "oscillating", "historical")
LABELS = (["no pattern"] + [f"{p} hot spot" for p in PATTERNS] + [f"{p} cold spot" for p in PATTERNS])
SIMPLE = ("none", "persistent", "emerging", "former", "intermittent")


def cube(unit_index, time_index, n_units: int, n_times: int, weights=None) -> np.ndarray:
    """(n_times, n_units) counts (or summed weights) from each event's unit and time-slice index;
    events with a negative index (outside the area or period) are dropped."""
    u = np.asarray(unit_index, dtype=np.int64)
    t = np.asarray(time_index, dtype=np.int64)
    keep = (u >= 0) & (u < n_units) & (t >= 0) & (t < n_times)
    w = None if weights is None else np.asarray(weights, float)[keep]
    flat = np.bincount(t[keep] * n_units + u[keep], weights=w, minlength=n_units * n_times)
    return flat.reshape(n_times, n_units).astype("float64")


@dataclass
class MannKendall:
    s: np.ndarray
    var: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray


def mann_kendall(series) -> MannKendall:
    """Mann–Kendall trend test for every row of an (n_units, T) array at once (Kendall 1975), with
    the tie-corrected variance; NaNs are treated as 0. Two-sided normal p with continuity correction."""
    X = np.nan_to_num(np.asarray(series, dtype="float64"))
    if X.ndim != 2:
        raise SaferhubError("mann_kendall needs a 2-D (units x time) array")
    n_units, T = X.shape
    if T < 3:
        raise SaferhubError(f"a trend test needs at least 3 time slices, got {T}")
    S = np.zeros(n_units)
    for lag in range(1, T):  # T-1 vectorised passes over all units and pairs at that lag
        S += np.sign(X[:, lag:] - X[:, :-lag]).sum(axis=1)
    # Ties: sizes of runs of equal values in each sorted row.
    srt = np.sort(X, axis=1)
    new_run = np.ones((n_units, T), bool)
    new_run[:, 1:] = srt[:, 1:] != srt[:, :-1]
    run_id = np.cumsum(new_run, axis=1) - 1
    flat = (np.arange(n_units)[:, None] * T + run_id).ravel()
    t = np.bincount(flat, minlength=n_units * T).reshape(n_units, T).astype("float64")
    ties = (t * (t - 1) * (2 * t + 5)).sum(axis=1)
    var = (T * (T - 1) * (2 * T + 5) - ties) / 18.0
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where((S != 0) & (var > 0), (S - np.sign(S)) / np.sqrt(var), 0.0)
    p = 2 * stats.norm.sf(np.abs(z))
    tau = S / (T * (T - 1) / 2)
    return MannKendall(S, var, z, p, tau)


def _trailing_run(flags: np.ndarray) -> np.ndarray:
    rev = flags[:, ::-1]
    T = flags.shape[1]
    return np.where(rev.all(axis=1), T, np.argmin(rev, axis=1))


def _one_side(hot, cold, trend_up, trend_down):
    """Pattern codes 1..8 (index into PATTERNS + 1) for 'hot' given the opposite 'cold' flags."""
    T = hot.shape[1]
    final = hot[:, -1]
    frac = hot.sum(axis=1) / T
    run = _trailing_run(hot)
    prior = (hot.sum(axis=1) - run) > 0
    ever_cold = cold.any(axis=1)
    code = np.zeros(hot.shape[0], np.int8)
    mostly = frac >= 0.9
    P = {p: i + 1 for i, p in enumerate(PATTERNS)}
    code[final & mostly & trend_up] = P["intensifying"]
    code[final & mostly & trend_down] = P["diminishing"]
    code[final & mostly & ~trend_up & ~trend_down] = P["persistent"]
    few = final & ~mostly
    code[few & ever_cold] = P["oscillating"]
    code[few & ~ever_cold & prior] = P["sporadic"]
    code[few & ~ever_cold & ~prior & (run == 1)] = P["new"]
    code[few & ~ever_cold & ~prior & (run >= 2)] = P["consecutive"]
    code[~final & mostly] = P["historical"]
    return code


def classify(z, p_adjusted, alpha: float = 0.05, trend_alpha: float = 0.05,
             mk: MannKendall | None = None) -> tuple[np.ndarray, MannKendall]:
    """ArcGIS categories for (n_units, T) Gi* z-scores and adjusted p-values.

    Returns (labels as an object array from LABELS, the Mann–Kendall results on the z-scores)."""
    z = np.asarray(z, float)
    p = np.asarray(p_adjusted, float)
    sig = p <= alpha  # NaN (no Gi* in that slice) compares False: not significant
    hot = sig & (z > 0)
    cold = sig & (z < 0)
    mk = mk or mann_kendall(z)
    up = (mk.p <= trend_alpha) & (mk.z > 0)
    down = (mk.p <= trend_alpha) & (mk.z < 0)
    hot_code = _one_side(hot, cold, up, down)
    cold_code = _one_side(cold, hot, down, up)  # a cold spot intensifies as z falls
    code = np.where(hot_code > 0, hot_code, np.where(cold_code > 0, cold_code + len(PATTERNS), 0))
    return np.array(LABELS, dtype=object)[code], mk


def simple_classes(hot) -> np.ndarray:
    """A plainer reading of a unit's hot slices (n_units, T) for briefings:
    persistent (hot in >= half the slices of both halves), emerging (hot only in the second half),
    former (hot only in the first half), intermittent (any other hot history), none."""
    hot = np.asarray(hot, bool)
    T = hot.shape[1]
    h = T // 2
    early, late = hot[:, :h], hot[:, h:]
    e_any, l_any = early.any(axis=1), late.any(axis=1)
    persistent = (early.mean(axis=1) >= 0.5) & (late.mean(axis=1) >= 0.5)
    out = np.full(hot.shape[0], "intermittent", dtype=object)
    out[~e_any & ~l_any] = "none"
    out[~e_any & l_any] = "emerging"
    out[e_any & ~l_any] = "former"
    out[persistent] = "persistent"
    return out


def spacetime_gistar(cube_units, spatial_weights, time_lags: int = 1, correction: str = "fdr"):
    """Space-time Gi* over a (T, n) cube, ArcGIS-style: a bin's neighbours are the units within the
    spatial neighbourhood (focal included) in the same and the `time_lags` preceding slices; mean
    and variance are over all n x T bins, and the correction runs over the whole cube.

    Equivalent to `gistar_sparse` on the (nT x nT) Kronecker weights (tests check it), but built
    from one sparse product and a cumulative sum over time, never forming that matrix.
    Returns (z, p_adjusted), both (T, n)."""
    import scipy.sparse as sp

    C = np.asarray(cube_units, float)
    T, n = C.shape
    k = int(time_lags)
    if k < 0:
        raise SaferhubError(f"time lags must be >= 0, got {time_lags}")
    Ws = sp.csr_matrix(spatial_weights, dtype=float)
    Ws = (Ws + sp.identity(n, format="csr")).tocsr()
    Ws.data[:] = 1.0  # binary weights, the focal unit included once
    S = np.asarray(Ws @ C.T).T  # (T, n) spatial neighbourhood sums per slice
    cs = np.vstack([np.zeros((1, n)), np.cumsum(S, axis=0)])
    t = np.arange(T)
    lo = np.maximum(t - k, 0)
    local = cs[t + 1] - cs[lo]  # sum over slices lo..t
    card = np.asarray(Ws.sum(axis=1)).ravel()[None, :] * (t - lo + 1)[:, None]
    N = C.size
    mean = C.mean()
    sd = np.sqrt(max((C * C).mean() - mean * mean, 0.0))
    if not sd > 0:
        raise SaferhubError("every bin of the space-time cube has the same value; Gi* is undefined")
    with np.errstate(invalid="ignore", divide="ignore"):
        den = sd * np.sqrt((N * card - card * card) / (N - 1))
        z = np.where(den > 0, (local - mean * card) / den, np.nan)
    p = inference.two_sided_p(z)
    return z, inference.adjust(p.ravel(), correction).reshape(T, n)


def trend_sparkline_data(cube_units: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Mean count per slice for each category present (for the report's trend sparklines)."""
    out = {}
    for lab in LABELS:
        sel = labels == lab
        if sel.any():
            out[lab] = cube_units[:, sel].mean(axis=1)
    return out


__all__ = [
    "LABELS",
    "PATTERNS",
    "classify",
    "cube",
    "inference",
    "mann_kendall",
    "simple_classes",
]
