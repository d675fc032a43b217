"""Did it work? For children (or homes) with a plan — the care-home PCSOs' relationship work, an
Early Help plan — episodes before and after the plan's start against matched children (homes)
without one: difference-in-differences with the evaluation package's matching and Poisson GLM.

The counts come from the hub through `services.missing_figures.monthly_counts` (need-to-know and purpose
logging there); the hub never imports this package. Controls are matched on the pre-period's
level and trend (`did.match_pools`), within the same kind of home where there are enough, so a
child in a care home is compared with children in care homes. The estimate is the rate ratio of
the treated group's after/before change to the controls' (1 = no difference; below 1 = fewer
episodes than the matched children), with a cluster-robust interval by child (`did.did_glm`)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from saferhub.errors import SaferhubError
from saferhub.evaluate import did
from saferhub.hub.services import missing_figures as figures


def plan_effect(db, user, purpose: str | None, *, start: dt.date, unit: str = "person", treated: list[int] | None = None,
                before: int = 6, after: int = 6, per_treated: int = 3) -> dict:
    """`treated`: ids with a plan starting in `start`'s month (default: the people whose hub case
    has a plan). `before` / `after`: whole months either side (the start month counts as after)."""
    first = figures.add_months(start.replace(day=1), -before)
    data = figures.monthly_counts(db, user, purpose, unit=unit, first=first, months=before + after)
    ids = np.array(data["ids"], dtype=int)
    counts = np.array(data["counts"], dtype=float).reshape(len(ids), before + after)
    is_treated = np.isin(ids, treated) if treated is not None else np.array(data["planned"], dtype=bool)
    if not is_treated.any():
        raise SaferhubError("no children or homes with a plan to evaluate")
    post = np.arange(before + after) >= before
    _, strata = np.unique(np.array(data["home_kinds"], dtype=object).astype(str), return_inverse=True)
    pools = did.match_pools(counts[:, :before], np.flatnonzero(is_treated), ~is_treated, per_treated, strata)
    controls = pools[pools >= 0]
    if controls.size == 0:
        raise SaferhubError("no comparable children or homes without a plan to match against")
    rows = np.r_[np.flatnonzero(is_treated), controls]
    result = did.did_glm(counts[rows], is_treated[rows], post, family="poisson")

    def totals(mask):
        c = counts[mask]
        return {"units": int(mask.sum()), "before": int(c[:, ~post].sum()), "after": int(c[:, post].sum())}

    ctrl = np.zeros(len(ids), bool)
    ctrl[controls] = True
    return {"unit": unit, "start": start.replace(day=1).isoformat()[:7], "months_before": before,
            "months_after": after, "treated": totals(is_treated), "controls": totals(ctrl),
            "rate_ratio": result["rate_ratio"], "low": result["low"], "high": result["high"], "p": result["p"],
            "method": "difference-in-differences, Poisson GLM with unit and period effects, SE clustered by "
                      f"unit; {per_treated} controls per treated unit matched on pre-period level and trend "
                      "within the same kind of home"}
