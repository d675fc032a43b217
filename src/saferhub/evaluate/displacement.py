"""Displacement and diffusion of benefits around treated areas (DOMAIN.md, Proving impact).

WDQ, the weighted displacement quotient (Bowers & Johnson 2003), with the total net effect; WDD, the
weighted displacement difference (Wheeler & Ratcliffe 2018), with its Poisson standard error (its
calibrated test on real data is reference.referenced_wdd).
Time weights (periods of different length) and area weights (areas of different size) divide each
count by its weight; harm weighting passes harm sums instead of counts (and sums of squared weights
for the variance). Buffer rings themselves are drawn by `rings()`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

DEFAULT_BUFFERS = (100.0, 250.0)


@dataclass
class Counts:
    """Before/after counts (or harm sums) for the treated (response) area R, its control C, the
    displacement buffer D and the buffer's control CD."""
    t0: float
    t1: float
    c0: float
    c1: float
    d0: float
    d1: float
    cd0: float | None = None
    cd1: float | None = None


def wdq(k: Counts) -> dict:
    """WDQ = (Da/Ca - Db/Cb) / (Ra/Ca - Rb/Cb) and TNE = [Rb*Ca/Cb - Ra] + [Db*Ca/Cb - Da].

    WDQ > 0: diffusion of benefits into the buffer; < 0: displacement; |WDQ| > 1: the buffer's
    change outweighs the treated area's. TNE > 0 is the net number of events prevented."""
    ratio = k.c1 / k.c0
    success = k.t1 / k.c1 - k.t0 / k.c0
    buffer = k.d1 / k.c1 - k.d0 / k.c0
    quotient = buffer / success if success != 0 else np.nan
    tne = (k.t0 * ratio - k.t1) + (k.d0 * ratio - k.d1)
    return {"wdq": float(quotient), "success_measure": float(success),
            "buffer_measure": float(buffer), "total_net_effect": float(tne)}


def wdd(k: Counts, weights: dict | None = None, variance_sums: dict | None = None,
        dispersion: float = 1.0, conf: float = 0.95) -> dict:
    """WDD = (T1 - T0) - (C1 - C0) + (D1 - D0) - (CD1 - CD0), negative = crime prevented.

    weights: optional divisor per count name (e.g. {"t0": 12, "t1": 9} for months, or areas in km2);
    the variance is then sum(count / w^2) (Wheeler & Ratcliffe 2018). variance_sums: for harm, the
    sums of squared weights per name, used instead of the counts. dispersion: a quasi-Poisson scale
    (>= 1) that multiplies the variance when counts are overdispersed. On real data even that
    over-claims (places swing together); reports decide on reference.referenced_wdd instead.
    The displacement-control terms drop out when cd0/cd1 are None (the paper's 3-area version)."""
    w = {name: 1.0 for name in asdict(k)}
    w.update(weights or {})
    vals = {name: v for name, v in asdict(k).items() if v is not None}
    sign = {"t1": 1, "t0": -1, "c1": -1, "c0": 1, "d1": 1, "d0": -1, "cd1": -1, "cd0": 1}
    est = sum(sign[n] * v / w[n] for n, v in vals.items())
    var_src = variance_sums or vals
    se = float(np.sqrt(dispersion * sum(var_src[n] / w[n] ** 2 for n in vals)))
    z = est / se if se > 0 else np.nan
    crit = stats.norm.ppf(0.5 + conf / 2)
    return {"wdd": float(est), "se": se, "z": float(z), "p": float(2 * stats.norm.sf(abs(z))),
            "low": float(est - crit * se), "high": float(est + crit * se), "dispersion": float(dispersion)}


def rings(areas, buffers=DEFAULT_BUFFERS):
    """Buffer rings around the union of the areas: a GeoDataFrame with one row per ring,
    ring "0-100 m", "100-250 m", ... (each ring excludes the areas and the inner rings)."""
    import geopandas as gpd

    core = areas.geometry.union_all()
    inner, rows, last = core, [], 0.0
    for b in sorted(float(x) for x in buffers):
        outer = core.buffer(b)
        rows.append({"ring": f"{last:g}-{b:g} m", "inner_m": last, "outer_m": b,
                     "geometry": outer.difference(inner)})
        inner, last = outer, b
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=areas.crs)
