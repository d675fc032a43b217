"""One evaluation design applied to a places x months matrix: year-on-year (with the referenced test),
DiD and WDD together. The service (real areas) and the calibration (placebo programmes) both call
`assess`, so the methods calibrated are exactly the methods reported."""

from __future__ import annotations

import numpy as np
from scipy import stats

from saferhub.evaluate import did, displacement, reference, yoy


def shock_variance(before: np.ndarray, after: np.ndarray) -> float:
    """Variance of the shared log change of reference sets beyond Poisson noise (>= 0):
    var(log(after/before)) - mean(1/before + 1/after). Real places swing together (weather, events,
    recording changes, lockdowns); Poisson variance alone ignores that and over-claims."""
    ok = (before > 0) & (after > 0)
    if ok.sum() < 10:
        return 0.0
    lr = np.log(after[ok] / before[ok])
    return float(max(0.0, lr.var(ddof=1) - np.mean(1 / before[ok] + 1 / after[ok])))


def assess(T: np.ndarray, C: np.ndarray, D: np.ndarray, CD: np.ndarray, before: np.ndarray,
           after: np.ndarray, did_cols: np.ndarray, ref_sets: np.ndarray | None = None,
           ring_observed: np.ndarray | None = None, ring_reference: np.ndarray | None = None,
           family: str = "quasipoisson",
           variance: str = "unpooled") -> dict:
    """T, C: treated and control places x months counts; D, CD: buffer and buffer-control monthly sums;
    before/after: column indices of the two YoY periods; did_cols: the DiD months (boolean post for
    `after` columns inside it); ref_sets: reference sets x months sums (reference.draw_sets: one
    member of each matched group, the treated area itself included) for the referenced YoY and WDD;
    ring_reference: the same sets' own rings, sets x months; ring_observed: the treated areas' own
    rings counted the same way (months). The published WDD's weights scale each control to its
    treated counterpart's before-period level, so a shared proportional trend cancels; its Poisson
    p-value is shown, the referenced WDD decides. Returns the p-values and estimates of every method."""
    k0, k1 = T[:, before].sum(), T[:, after].sum()
    t0, t1 = float(len(before)), float(len(after))
    rr, lo, hi = yoy.rate_ratio(k1, k0, t1, t0)
    out = {"yoy_before": float(k0), "yoy_after": float(k1), "yoy_rr": rr, "yoy_low": lo, "yoy_high": hi,
           "yoy_p_c": yoy.c_test(k1, k0, t1, t0), "yoy_p_e": yoy.e_test(k1, k0, t1, t0, variance)}
    if ref_sets is not None and k0 > 0 and k1 > 0:
        ref = np.log(ref_sets[:, after].sum(axis=1) / np.maximum(ref_sets[:, before].sum(axis=1), 1e-9))
        out["yoy_p_ref"] = yoy.referenced_p(np.log(k1 / k0), ref)
        out["yoy_ref_rr"] = float(np.exp(np.median(ref[np.isfinite(ref)])))
        out["shock_var"] = shock_variance(ref_sets[:, before].sum(axis=1), ref_sets[:, after].sum(axis=1))
    post = np.isin(did_cols, after)
    treated = np.r_[np.ones(len(T), bool), np.zeros(len(C), bool)]
    res = did.did_glm(np.vstack([T, C])[:, did_cols], treated, post, family=family)
    if np.isfinite(res.get("se", np.nan)):
        # The treated set's own shared swing (estimated on the reference sets) is not in the
        # place-level dispersion; add it to the variance of the DiD log rate ratio.
        se = float(np.sqrt(res["se"] ** 2 + out.get("shock_var", 0.0)))
        res.update(se=se, low=float(np.exp(res["log_rr"] - 1.959964 * se)),
                   high=float(np.exp(res["log_rr"] + 1.959964 * se)),
                   p=float(2 * stats.norm.sf(abs(res["log_rr"]) / se)))
    out.update({f"did_{k}": v for k, v in res.items() if k in ("rate_ratio", "low", "high", "p")})
    counts = displacement.Counts(t0=k0, t1=k1, c0=C[:, before].sum(), c1=C[:, after].sum(),
                                 d0=D[before].sum(), d1=D[after].sum(), cd0=CD[before].sum(), cd1=CD[after].sum())
    c_weight = counts.c0 / counts.t0 if counts.t0 > 0 and counts.c0 > 0 else 1.0
    cd_weight = counts.cd0 / counts.d0 if counts.d0 > 0 and counts.cd0 > 0 else 1.0
    weights = {"c0": c_weight, "c1": c_weight, "cd0": cd_weight, "cd1": cd_weight}
    plain = displacement.wdd(counts, weights)
    out.update(wdd_published=plain["wdd"], wdd_se_poisson=plain["se"], wdd_p_poisson=plain["p"])
    if ref_sets is not None and ring_reference is not None and ring_observed is not None:
        ref = reference.referenced_wdd(
            k0, k1, counts.d0, (ring_observed[before].sum(), ring_observed[after].sum()),
            (ref_sets[:, before].sum(axis=1), ref_sets[:, after].sum(axis=1)),
            (ring_reference[:, before].sum(axis=1), ring_reference[:, after].sum(axis=1)))
        out.update(wdd=ref["wdd"], wdd_low=ref["low"], wdd_high=ref["high"], wdd_p=ref["p"])
    if min(counts.c0, counts.c1) > 0:
        out.update(displacement.wdq(counts))
    return out
