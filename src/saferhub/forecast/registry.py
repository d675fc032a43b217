"""Named models with their default parameters (what `--model NAME` / `--models a,b` mean).

Defaults were chosen on 2019 origins (Merseyside, Grip categories, 150 m) and then frozen before
looking at 2020, the reported test year (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from saferhub.errors import SaferhubError
from saferhub.forecast.gbm import GradientBoosting
from saferhub.forecast.models import (
    Counts,
    Ensemble,
    Model,
    ProspectiveHotspot,
    RetrospectiveKDE,
)
from saferhub.forecast.sepp import SEPP

BASELINE = "counts12"  # the last-12-months count: the yardstick of the accuracy target
NAIVE = ("naive", BASELINE)

DESCRIPTIONS = {
    "naive": "last month's counts",
    "counts12": "counts of the last 12 months (baseline)",
    "decay": "counts of the last 36 months, exponential decay",
    "kde": "retrospective KDE of the last 12 months",
    "blend": "decayed counts blended with their KDE",
    "prospective": "prospective hotspotting (Bowers, Johnson & Pease 2004)",
    "sepp": "grid self-exciting point process (ETAS) by EM",
    "gbm": "gradient boosting on lagged and neighbourhood features",
    "ensemble": "mean of blend, sepp and gbm (each scaled to sum 1)",
}
ALL = tuple(DESCRIPTIONS)


def make_model(name: str, target: str = "count") -> Model:
    """A model by name with its frozen defaults; the cell size is the grid's (fit(..., cell_size))."""
    kw = {"target": target}
    n = name.strip().lower()
    if n == "naive":
        return Counts(window=1, **kw)
    if n == "counts12":
        return Counts(window=12, **kw)
    if n == "decay":
        return Counts(window=36, half_life=12.0, **kw)
    if n == "kde":
        return RetrospectiveKDE(bandwidth=150.0, window=12, **kw)
    if n == "blend":
        return Counts(window=36, half_life=12.0, bandwidth=150.0, blend=0.3, **kw)
    if n == "prospective":
        return ProspectiveHotspot(bandwidth=400.0, time_bandwidth=2, **kw)
    if n == "sepp":
        return SEPP(window=24, radius=3, bg_bandwidth=0.0, max_iter=30, tol=2e-5, **kw)
    if n == "gbm":
        return GradientBoosting(**kw)
    if n == "ensemble":
        members = [(m, make_model(m, target), 1.0) for m in ("blend", "sepp", "gbm")]
        return Ensemble(members, **kw)
    raise SaferhubError(f"unknown model {name!r} (known: {', '.join(ALL)}, best)")


def parse_models(spec: str | None) -> list[str]:
    """'a,b,c' (or 'all') -> model names, always including the naive baselines."""
    names = list(ALL) if not spec or spec.strip().lower() == "all" else [
        s.strip().lower() for s in spec.split(",") if s.strip()]
    for n in names:
        if n not in DESCRIPTIONS:
            raise SaferhubError(f"unknown model {n!r} (known: {', '.join(ALL)})")
    out = [n for n in NAIVE if n not in names] + names
    return list(dict.fromkeys(out))
