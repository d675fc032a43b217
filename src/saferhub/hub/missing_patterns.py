"""Patterns of missing episodes: pure functions (lists and numbers in, dicts out; no database).

Per person: episodes in the last 30 / 90 / 365 days, nights missing, hours to return.
Per home: episodes per registered place and per month, and the home's rate against comparable
homes (same kind) with exact intervals. Partnership shares (under-18s, from care) with Wilson
intervals. The interval methods are named in every answer so a reader can check them:
- a rate: exact Poisson (Garwood 1936), from the chi-square quantiles;
- a rate ratio: exact conditional (the home's share of the two counts is binomial given their
  sum; Clopper-Pearson on that share, mapped back to the ratio);
- a share: Wilson score (Wilson 1927), which behaves at small n and near 0 or 100%."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

from scipy import stats

CARE_KINDS = ("care_home", "foster_home")
Z95 = 1.959963984540054
YEAR = dt.timedelta(days=365)


def poisson_ci(k: int, exposure: float, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) interval for a rate k / exposure."""
    lo = 0.0 if k == 0 else stats.chi2.ppf(alpha / 2, 2 * k) / 2
    hi = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    return float(lo / exposure), float(hi / exposure)


def rate_ratio_ci(k1: int, e1: float, k2: int, e2: float, alpha: float = 0.05) -> tuple[float, float | None]:
    """Exact conditional interval for (k1/e1) / (k2/e2); the upper end is None (unbounded) when k2 = 0."""
    n = k1 + k2
    if n == 0:
        return 0.0, None
    p_lo = 0.0 if k1 == 0 else stats.beta.ppf(alpha / 2, k1, k2 + 1)
    p_hi = 1.0 if k2 == 0 else stats.beta.ppf(1 - alpha / 2, k1 + 1, k2)
    scale = e2 / e1
    lo = float(p_lo / (1 - p_lo) * scale)
    hi = None if p_hi >= 1 else float(p_hi / (1 - p_hi) * scale)
    return lo, hi


def wilson_ci(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a share k / n (n >= 1)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    return t.replace(tzinfo=dt.timezone.utc) if t is not None and t.tzinfo is None else t


def nights(start: dt.datetime, end: dt.datetime) -> int:
    """Nights spent missing: midnights (UTC) crossed between report and return."""
    return max(0, (end.date() - start.date()).days)


def person_pattern(episodes: Iterable[tuple[dt.datetime, dt.datetime | None]], now: dt.datetime) -> dict:
    """Counts in the last 30/90/365 days (by the time reported), nights missing and hours to return
    over the last 365 days (an episode still open counts up to `now`)."""
    eps = sorted((_aware(r), _aware(b)) for r, b in episodes)
    out = {f"last_{d}_days": sum(1 for r, _ in eps if now - dt.timedelta(days=d) < r <= now) for d in (30, 90, 365)}
    year = [(r, b) for r, b in eps if now - YEAR < r <= now]
    hours = sorted((b - r).total_seconds() / 3600 for r, b in year if b is not None)
    out["nights_missing_365_days"] = sum(nights(r, b or now) for r, b in year)
    out["hours_to_return_median"] = round(_median(hours), 1) if hours else None
    out["hours_to_return_longest"] = round(hours[-1], 1) if hours else None
    out["missing_now"] = any(b is None for _, b in eps)
    out["episodes_total"] = len(eps)
    return out


def _median(xs: Sequence[float]) -> float:
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def month_starts(now: dt.datetime, n: int = 12) -> list[dt.date]:
    y, m = now.year, now.month
    out = []
    for _ in range(n):
        out.append(dt.date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def _month_counts(times: Iterable[dt.datetime], months: list[dt.date]) -> list[int]:
    idx = {(d.year, d.month): i for i, d in enumerate(months)}
    out = [0] * len(months)
    for t in times:
        i = idx.get((t.year, t.month))
        if i is not None:
            out[i] += 1
    return out


def _rate(k: int, exposure: float) -> dict:
    lo, hi = poisson_ci(k, exposure)
    return {"episodes": k, "place_years": round(exposure, 3), "per_place_year": round(k / exposure, 3),
            "low": round(lo, 3), "high": round(hi, 3)}


def _ratio(k1: int, e1: float, k2: int, e2: float) -> dict:
    lo, hi = rate_ratio_ci(k1, e1, k2, e2)
    est = None if k2 == 0 else (k1 / e1) / (k2 / e2)
    return {"ratio": None if est is None else round(est, 3), "low": round(lo, 3),
            "high": None if hi is None else round(hi, 3)}


def home_pattern(home_times: Iterable[dt.datetime], home_places: int, others: Iterable[tuple[dt.datetime, int]],
                 other_places: int, n_other_homes: int, now: dt.datetime, residents: int) -> dict:
    """One home's last 12 months against comparable homes (same kind, `others`: (reported_at,
    home id) of their episodes; `other_places`: their registered places in total).

    Exposure is registered places x years (a home that is not full is over-counted as exposed:
    rates per place are then conservative). The trend compares the last 6 months with the 6 before."""
    start, half = now - YEAR, now - YEAR / 2
    mine = [_aware(t) for t in home_times if start < _aware(t) <= now]
    theirs = [_aware(t) for t, _ in others if start < _aware(t) <= now]
    months = month_starts(now)
    out = {
        "window": {"start": start, "end": now},
        "residents_with_episodes": residents,
        "home_rate": _rate(len(mine), home_places),
        "comparable": _rate(len(theirs), other_places) if other_places else None,
        "comparable_homes": n_other_homes,
        "months": [d.isoformat()[:7] for d in months],
        "home_per_month": _month_counts(mine, months),
        "comparable_per_place_per_month": (
            [round(c / other_places, 3) for c in _month_counts(theirs, months)] if other_places else None),
        "methods": {"rate": "exact Poisson (Garwood)", "ratio": "exact conditional (Clopper-Pearson on the share)"},
    }
    out["home_vs_comparable"] = _ratio(len(mine), home_places, len(theirs), other_places) if other_places else None
    recent = sum(1 for t in mine if t > half)
    out["home_trend"] = {"last_6_months": recent, "previous_6_months": len(mine) - recent}
    out["home_trend"] |= _ratio(recent, 1.0, len(mine) - recent, 1.0)
    if other_places:
        r2 = sum(1 for t in theirs if t > half)
        out["comparable_trend"] = {"last_6_months": r2, "previous_6_months": len(theirs) - r2} | _ratio(
            r2, 1.0, len(theirs) - r2, 1.0)
    else:
        out["comparable_trend"] = None
    return out


def shares(people: Iterable[tuple[bool | None, bool]]) -> dict:
    """The seed's two shares over people with an episode: (under 18 at their first episode, or None
    when the date of birth is unknown; went missing from care at least once)."""
    rows = list(people)
    known = [u for u, _ in rows if u is not None]
    out = {"people": len(rows), "method": "Wilson score interval, 95%"}
    out["under_18"] = _share(sum(known), len(known))
    out["from_care"] = _share(sum(1 for _, c in rows if c), len(rows))
    return out


def _share(k: int, n: int) -> dict:
    if n == 0:
        return {"count": 0, "of": 0, "percent": None, "low": None, "high": None}
    lo, hi = wilson_ci(k, n)
    return {"count": k, "of": n, "percent": round(100 * k / n, 1), "low": round(100 * lo, 1),
            "high": round(100 * hi, 1)}
