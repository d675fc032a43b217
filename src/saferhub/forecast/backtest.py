"""Rolling-origin backtest: for each month, fit every model on what was known before it and score
its forecast of that month. The backtest knows nothing about any one model beyond the contract."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError
from saferhub.forecast import metrics as M
from saferhub.geo.cube import Cube
from saferhub.forecast.models import Ensemble, Model
from saferhub.forecast.registry import BASELINE


@dataclass
class BacktestResult:
    monthly: pd.DataFrame          # one row per model x month x coverage
    scores: pd.DataFrame           # one row per model x month: Brier, log score
    predictions: dict = field(default_factory=dict)  # (model, month) -> risk over area cells
    timings: dict = field(default_factory=dict)      # model -> seconds fitting + predicting
    coverages: tuple = M.COVERAGES


def run_backtest(cube: Cube, models: dict[str, Model], months, coverages=M.COVERAGES,
                 progress=None) -> BacktestResult:
    """Score `models` ({name: model}) on each month in `months` (the forecast months)."""
    area = cube.area
    months = np.asarray(months, dtype="datetime64[M]")
    rows, score_rows, preds = [], [], {}
    timings = {name: 0.0 for name in models}
    for m in months:
        i = cube.index_of(m)
        if i == 0 or i >= len(cube.months):
            raise SaferhubError(f"cannot backtest {m}: the data cover {cube.months[0]}..{cube.months[-1]} "
                                "and a forecast month needs at least one month before it")
        through = m - 1
        actual = cube.counts[i][area]
        harm = cube.harm[i][area] if cube.harm is not None else None
        # the expected monthly total known at forecast time: mean of the last 12 months
        past = cube.counts[max(0, i - 12):i]
        expected_total = float(np.mean([p[area].sum() for p in past]))
        for name, model in models.items():
            t0 = time.perf_counter()
            if isinstance(model, Ensemble) and all((n, m) in preds for n in model.member_names):
                full = np.zeros(area.shape)
                full[area] = model.combine([preds[(n, m)] for n in model.member_names])
                risk = full[area]
            else:
                risk = model.fit(cube, through).predict(area)
            timings[name] += time.perf_counter() - t0
            preds[(name, m)] = risk
            for c in coverages:
                row = M.coverage_metrics(risk, actual, c, harm)
                row.update(model=name, month=str(m))
                rows.append(row)
            sc = M.probability_scores(risk, actual, expected_total)
            sc.update(model=name, month=str(m))
            score_rows.append(sc)
            if progress:
                progress()
    monthly = pd.DataFrame(rows)
    scores = pd.DataFrame(score_rows)
    monthly = _add_stability(monthly, preds, list(models), months, coverages)
    return BacktestResult(monthly, scores, preds, timings, tuple(coverages))


def _add_stability(monthly, preds, names, months, coverages):
    """Jaccard overlap of each model's top cells with its own top cells the month before."""
    stab = []
    for name in names:
        for c in coverages:
            prev = None
            for m in months:
                risk = preds[(name, m)]
                top = M.top_cells(risk, M.n_selected(risk.size, c))
                stab.append({"model": name, "month": str(m), "coverage": c,
                             "stability": M.jaccard(top, prev) if prev is not None else np.nan})
                prev = top
    return monthly.merge(pd.DataFrame(stab), on=["model", "month", "coverage"], how="left")


def summarise(result: BacktestResult, baseline: str = BASELINE) -> pd.DataFrame:
    """Per model x coverage: mean and month-to-month SD of each metric, and the PAI ratio to the
    baseline (mean of monthly ratios, its SD, months won)."""
    mo = result.monthly
    base = mo[mo.model == baseline][["month", "coverage", "pai"]].rename(columns={"pai": "base_pai"})
    mo = mo.merge(base, on=["month", "coverage"], how="left")
    mo["pai_ratio"] = mo.pai / mo.base_pai
    g = mo.groupby(["model", "coverage"], sort=False)
    out = g.agg(months=("month", "nunique"), hit_rate=("hit_rate", "mean"), pai=("pai", "mean"),
                pai_sd=("pai", "std"), pei=("pei", "mean"), pei_star=("pei_star", "mean"),
                rri=("rri", "mean"), stability=("stability", "mean"),
                pai_vs_baseline=("pai_ratio", "mean"), pai_vs_baseline_sd=("pai_ratio", "std"),
                months_beating_baseline=("pai_ratio", lambda s: int((s > 1).sum()))).reset_index()
    if "harm_hit_rate" in mo:
        out = out.merge(g.harm_hit_rate.mean().reset_index(), on=["model", "coverage"])
    sc = result.scores.groupby("model", sort=False)[["brier", "log_score"]].mean().reset_index()
    out = out.merge(sc, on="model", how="left")
    out["pai_gain_pct"] = 100 * (out.pai_vs_baseline - 1)
    return out


def best_model(summary: pd.DataFrame) -> str:
    """The winner: highest PAI relative to the baseline, averaged over the coverages (scale-free,
    so the 1% coverage's large PAIs do not swamp the others). Ties go to the simpler (earlier) model."""
    score = summary.groupby("model", sort=False).pai_vs_baseline.mean()
    return str(score.idxmax())


def winners_by_coverage(summary: pd.DataFrame) -> pd.DataFrame:
    idx = summary.groupby("coverage").pai.idxmax()
    return summary.loc[idx, ["coverage", "model", "pai", "pai_sd", "pai_gain_pct", "pai_vs_baseline_sd",
                             "months_beating_baseline", "months"]].reset_index(drop=True)
