"""Money: the cost of crime avoided, from a versioned unit-cost table, always as an interval; and demand
savings from hub work with frequent callers.

Unit costs: Home Office, "The economic and social costs of crime", second edition, Heeks, Reed,
Tafsiri & Prince (2018), Research Report 99, Table 1 (p. 15), costs per offence in 2015/16 prices.
The packaged table `costs/ho-rr99-2015-16-v2.csv` maps police.uk categories to RR99 offences; where a
category mixes offences of different cost, it carries a low and a high unit cost (docs/evaluate.md).
Which figures were checked, against what, is in `costs/SOURCE.txt` and the table's `verified` column;
v1 (one figure wrong) stays so that runs naming it reproduce.
Uplift: none by default (figures are 2015/16 prices); pass `uplift` (e.g. a GDP deflator ratio) to
restate them, and it is recorded with the run. Categories without an RR99 cost are not costed and
are listed as such, never guessed.
"""

from __future__ import annotations

import io
from importlib import resources

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError

DEFAULT_TABLE = "ho-rr99-2015-16-v2"
PRICE_YEAR = "2015/16"
SOURCE = ("Heeks, Reed, Tafsiri & Prince (2018) The economic and social costs of crime, second edition. "
          "Home Office Research Report 99")


def load_costs(version: str = DEFAULT_TABLE) -> pd.DataFrame:
    path = resources.files("saferhub.evaluate") / "costs" / f"{version}.csv"
    if not path.is_file():
        raise SaferhubError(f"unknown unit-cost table {version!r}")
    return pd.read_csv(io.StringIO(path.read_text()))


def cost_avoided(avoided_low: float, avoided_high: float, mix: dict[str, float], uplift: float = 1.0,
                 version: str = DEFAULT_TABLE) -> dict:
    """Cost of crime avoided as an interval. avoided_low/high: the interval of events avoided (from
    the effect's confidence interval; negative = more events); mix: category -> share of the treated
    areas' events. The low end pairs the low event figure with low unit costs, the high end the high.
    """
    table = load_costs(version).set_index("category")
    total_share = sum(mix.values()) or 1.0
    costed, not_costed, low_unit, high_unit = 0.0, [], 0.0, 0.0
    for cat, share in mix.items():
        s = share / total_share
        if cat in table.index and pd.notna(table.loc[cat, "unit_cost_low"]):
            costed += s
            low_unit += s * float(table.loc[cat, "unit_cost_low"]) * uplift
            high_unit += s * float(table.loc[cat, "unit_cost_high"]) * uplift
        elif s > 0:
            not_costed.append(cat)
    lo, hi = sorted((avoided_low, avoided_high))
    ends = [lo * low_unit if lo >= 0 else lo * high_unit, hi * high_unit if hi >= 0 else hi * low_unit]
    return {"low": float(min(ends)), "high": float(max(ends)), "price_year": PRICE_YEAR, "uplift": uplift,
            "table": version, "source": SOURCE, "costed_share": float(costed), "not_costed": not_costed,
            "unverified": _unverified(table, mix)}


def _unverified(table: pd.DataFrame, mix: dict[str, float]) -> list[str]:
    """Costed categories of the mix whose unit costs were not checked against a source."""
    if "verified" not in table:
        return sorted(c for c in mix if c in table.index and pd.notna(table.loc[c, "unit_cost_low"]))
    return sorted(c for c in mix if c in table.index and "unverified" in str(table.loc[c, "verified"]))


def caller_savings(calls: pd.DataFrame, start, unit_cost: float, n_boot: int = 2000, seed: int = 1,
                   conf: float = 0.95) -> dict:
    """Demand saved by hub work with frequent callers: calls per caller before and after `start` for
    flagged callers, against unflagged callers with the same number of calls before (exact matching on
    the before count, capped at 20); saved calls = expected after - observed after, x unit_cost.
    calls: caller_id, date, flagged (bool per row, constant per caller). Interval: bootstrap over callers.
    Before and after windows have the same length (the shorter of the two sides of `start`)."""
    c = calls.copy()
    c["date"] = pd.to_datetime(c["date"])
    start = pd.Timestamp(start)
    span = min(start - c["date"].min(), c["date"].max() - start + pd.Timedelta(days=1))
    c = c[(c["date"] >= start - span) & (c["date"] < start + span)]
    per = c.assign(after=c["date"] >= start).groupby(["caller_id", "after"]).size().unstack(fill_value=0)
    per = per.reindex(columns=[False, True], fill_value=0)
    per.columns = ["before", "after"]
    per["flagged"] = c.groupby("caller_id")["flagged"].first()
    per["level"] = per["before"].clip(upper=20)
    flagged, others = per[per["flagged"]], per[~per["flagged"]]
    if len(flagged) == 0 or len(others) == 0:
        raise SaferhubError("caller savings need both flagged and unflagged callers in the calls file")
    rng = np.random.default_rng(seed)

    def saved(f: pd.DataFrame, o: pd.DataFrame) -> float:
        ratio = o.groupby("level")["after"].sum() / o.groupby("level")["before"].sum().replace(0, np.nan)
        r = f["level"].map(ratio).fillna(o["after"].sum() / max(o["before"].sum(), 1))
        return float((f["before"] * r).sum() - f["after"].sum())

    point = saved(flagged, others)
    boots = [saved(flagged.sample(len(flagged), replace=True, random_state=rng.integers(1 << 31)),
                   others.sample(len(others), replace=True, random_state=rng.integers(1 << 31)))
             for _ in range(n_boot)]
    lo, hi = np.quantile(boots, [(1 - conf) / 2, (1 + conf) / 2])
    return {"calls_saved_low": float(lo), "calls_saved_high": float(hi), "calls_saved_estimate": point,
            "saving_low": float(lo * unit_cost), "saving_high": float(hi * unit_cost), "unit_cost": unit_cost,
            "flagged_callers": int(len(flagged)), "comparison_callers": int(len(others)),
            "window_days": int(span.days)}
