"""Risky facilities: each place against its own class (Eck, Clarke & Guerette 2007).

In any class of facility a few places hold most of the crime (the J-curve), so a pub is compared
with pubs, not with supermarkets. For each place with k crimes over T months in a class:

- rate ratio = k / m, where m is the mean count of the *other* places in the class (leave one out,
  so a very busy place does not raise its own yardstick); its 95% interval is the exact (Garwood)
  Poisson interval of k divided by m;
- p-value = P(X >= k) when X is negative binomial with the other places' mean m and their
  method-of-moments dispersion alpha = max(0, (v - m) / m^2) (v their variance), i.e. the
  class's own spread: places in a class differ far more than Poisson would allow, and a test that
  ignored it would flag most places. alpha = 0 gives the Poisson tail;
- flagged = Benjamini-Hochberg adjusted p < alpha_fdr over every place tested (one family).
A class needs at least MIN_CLASS places to compare within it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from saferhub.evaluate.yoy import poisson_interval, rate_ratio
from saferhub.hotspots.inference import bh_adjust

MIN_CLASS = 5
FDR = 0.05


def concentration_curve(counts) -> pd.DataFrame:
    """Places sorted from most to least crime: share_of_places (0..1] vs cumulative share_of_crime."""
    c = np.sort(np.asarray(counts, float))[::-1]
    n, total = c.size, c.sum()
    return pd.DataFrame({"share_of_places": np.arange(1, n + 1) / max(n, 1),
                         "share_of_crime": np.cumsum(c) / total if total > 0 else np.zeros(n)})


def share_held(counts, top: float) -> float:
    """Share of the crime held by the top `top` share of places (e.g. 0.1 -> the busiest 10%)."""
    cur = concentration_curve(counts)
    if cur.empty:
        return float("nan")
    k = max(1, int(np.ceil(top * len(cur))))
    return float(cur["share_of_crime"].iloc[k - 1])


def nb_upper_tail(k, mean, alpha) -> np.ndarray:
    """P(X >= k) for X negative binomial with `mean` and dispersion `alpha` (variance
    mean + alpha*mean^2); Poisson where alpha == 0."""
    k, mean, alpha = (np.asarray(v, float) for v in np.broadcast_arrays(k, mean, alpha))
    out = np.full(k.shape, np.nan)
    ok = np.isfinite(mean) & (mean > 0)
    pois = ok & (alpha <= 0)
    out[pois] = stats.poisson.sf(k[pois] - 1, mean[pois])
    nb = ok & (alpha > 0)
    size = 1.0 / alpha[nb]
    out[nb] = stats.nbinom.sf(k[nb] - 1, size, size / (size + mean[nb]))
    out[ok & (k <= 0)] = 1.0
    return out


def class_comparison(counts, classes, fdr: float = FDR, min_class: int = MIN_CLASS) -> pd.DataFrame:
    """Per place: class_size, class_mean (leave-one-out m), dispersion, ratio, ratio_low,
    ratio_high, p, p_adj, flagged. Places in classes smaller than min_class get NaN."""
    k = np.asarray(counts, float)
    cls = pd.Series(np.asarray(classes, dtype=object))
    size = cls.map(cls.value_counts()).to_numpy(float)
    s1 = pd.Series(k).groupby(cls).transform("sum").to_numpy()
    s2 = pd.Series(k * k).groupby(cls).transform("sum").to_numpy()
    n_other = size - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        m = (s1 - k) / n_other
        var = ((s2 - k * k) - n_other * m * m) / (n_other - 1)      # sample variance of the others
        alpha = np.where(m > 0, np.maximum(0.0, (var - m) / (m * m)), 0.0)
        lo, hi = poisson_interval(k)
        ratio, r_lo, r_hi = k / m, lo / m, hi / m
    usable = (size >= min_class) & (m > 0)
    p = np.where(usable, nb_upper_tail(k, np.where(usable, m, 1.0), np.where(usable, alpha, 0.0)), np.nan)
    p_adj = bh_adjust(p)
    nan = lambda a: np.where(usable, a, np.nan)  # noqa: E731
    return pd.DataFrame({"class_size": size.astype(int), "class_mean": nan(m), "dispersion": nan(alpha),
                         "ratio": nan(ratio), "ratio_low": nan(r_lo), "ratio_high": nan(r_hi), "p": p,
                         "p_adj": p_adj, "flagged": usable & (p_adj < fdr)})


def trend(monthly: np.ndarray) -> pd.DataFrame:
    """Per place (rows of `monthly`, columns months in order): the second half of the months against
    the first half as a rate ratio with its exact conditional interval, and a word for it."""
    monthly = np.asarray(monthly, float)
    t = monthly.shape[1]
    h = t // 2
    first, second = monthly[:, :h].sum(1), monthly[:, t - h:].sum(1)
    rows = []
    for a, b in zip(second, first):
        rr, lo, hi = rate_ratio(a, b) if h else (np.nan, np.nan, np.nan)
        word = ("too few to tell" if a + b < 10 else "rising" if lo > 1 else "falling" if hi < 1 else "steady")
        rows.append((rr, lo, hi, word))
    return pd.DataFrame(rows, columns=["trend_ratio", "trend_low", "trend_high", "trend"])


def plain_words(row) -> str:
    """One line for the licensing team: the place, its street and ward, its type, its counts and
    how it compares with its class."""
    street = row.get("street") or ""
    where = row["name"] + (f" — {street}" if street and street not in row["name"] else "")
    ward = f", {row['ward']} ward" if row.get("ward") else ""
    line = f"{where}{ward} ({row['type']}): {int(row['crimes'])} crimes and {int(row['asb'])} ASB incidents"
    if np.isfinite(row.get("ratio", np.nan)):
        line += (f", {row['ratio']:.1f} times its class's average "
                 f"(95% interval {row['ratio_low']:.1f}–{row['ratio_high']:.1f})")
    if row.get("trend") and row["trend"] != "too few to tell":
        line += f", {row['trend']}"
    if "flagged" in row:  # say which of the listed places the correction kept, in words
        line += ("; significantly above its class" if row["flagged"]
                 else "; not significantly above its class once every place tested is allowed for")
    return line
