"""The backtest report: one self-contained HTML file (charts inline) plus CSVs beside it.

It says in words which model wins at each coverage, by how much over the last-12-months
baseline, and how much that varies month to month, before any table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from saferhub.forecast.backtest import (
    BacktestResult,
    best_model,
    summarise,
    winners_by_coverage,
)
from saferhub.forecast.registry import BASELINE, DESCRIPTIONS


def headline(summary: pd.DataFrame) -> list[str]:
    """Plain sentences: the winner at each coverage against the baseline."""
    lines = []
    for _, w in winners_by_coverage(summary).iterrows():
        base = summary[(summary.model == BASELINE) & (summary.coverage == w.coverage)].iloc[0]
        if w.model == BASELINE:
            lines.append(f"At {w.coverage:.0%} coverage the last-12-months baseline itself wins "
                         f"(mean PAI {w.pai:.2f}); no model beats it on average.")
            continue
        lines.append(
            f"At {w.coverage:.0%} coverage {w.model} wins: mean PAI {w.pai:.2f} vs {base.pai:.2f} for "
            f"the baseline, {w.pai_gain_pct:+.1f}% (month-to-month SD of the ratio "
            f"{100 * (w.pai_vs_baseline_sd if np.isfinite(w.pai_vs_baseline_sd) else 0):.1f} points); "
            f"it beat the baseline in {int(w.months_beating_baseline)} of {int(w.months)} months.")
    return lines


def _charts(result: BacktestResult, summary: pd.DataFrame):
    import matplotlib.pyplot as plt

    from saferhub.report.html import figure_html

    out = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, g in summary.groupby("model", sort=False):
        ax.errorbar(g.coverage * 100, g.pai_gain_pct, yerr=100 * g.pai_vs_baseline_sd.fillna(0),
                    marker="o", capsize=3, label=name, lw=2.5 if name == BASELINE else 1.2)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xticks([1, 2, 5, 10, 20], ["1", "2", "5", "10", "20"])
    ax.set_xlabel("area coverage (%)")
    ax.set_ylabel(f"PAI vs {BASELINE} (%, bars = month-to-month SD)")
    lo = summary.pai_gain_pct.min()
    if lo < -15:  # keep the close race readable; far-behind models are in the table
        ax.set_ylim(max(lo, -15) - 1, summary.pai_gain_pct.max() + 3)
    ax.legend(fontsize=8)
    out.append(figure_html(fig, "PAI gain over the baseline by coverage for each model"))

    fig, ax = plt.subplots(figsize=(7, 4))
    mo = result.monthly[np.isclose(result.monthly.coverage, 0.05)]
    for name, g in mo.groupby("model", sort=False):
        ax.plot(pd.to_datetime(g.month), g.pai, marker=".", label=name, lw=2.5 if name == BASELINE else 1.2)
    ax.set_ylabel("PAI at 5% coverage")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    out.append(figure_html(fig, "PAI at 5% coverage per forecast month"))
    return out


def _exposure_chart(exposure: pd.DataFrame) -> str:
    import matplotlib.pyplot as plt

    from saferhub.report.html import figure_html

    ex = exposure[exposure.imd_decile != "unknown"]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    pos = np.arange(len(ex))
    ax.bar(pos - 0.2, ex.share_of_top_cells, 0.4, label="share of top cells")
    ax.bar(pos + 0.2, ex.share_of_crime, 0.4, label="share of recorded crime")
    ax.set_xticks(pos, ex.imd_decile)
    ax.set_xlabel("IMD 2019 decile (1 = most deprived)")
    ax.legend(fontsize=8)
    return figure_html(fig, "Share of top cells and of crime by IMD decile")


def render(result: BacktestResult, params: dict, exposure: pd.DataFrame | None = None,
           feedback: pd.DataFrame | None = None, notes: list[str] | None = None) -> str:
    from saferhub.report.html import escape, page, params_html, table_html

    summary = summarise(result)
    best = best_model(summary)
    cols = ["model", "coverage", "hit_rate", "pai", "pai_sd", "pai_gain_pct", "months_beating_baseline",
            "pei", "pei_star", "rri", "harm_hit_rate", "stability", "brier", "log_score"]
    cols = [c for c in cols if c in summary]
    words = "".join(f"<p>{escape(s)}</p>" for s in headline(summary))
    words += (f"<p><b>Best overall</b> (PAI relative to the baseline, averaged over coverages): "
              f"<b>{escape(best)}</b> — {escape(DESCRIPTIONS.get(best, ''))}. "
              f"<code>saferhub forecast --model best</code> will use it.</p>")
    if notes:
        words += "".join(f"<p class='note'>{escape(n)}</p>" for n in notes)
    sections = [("What wins", words)]
    charts = _charts(result, summary)
    sections.append(("Accuracy by coverage", charts[0] + table_html(summary[cols])))
    sections.append(("Month to month", charts[1] + "<p>Stability = Jaccard overlap of a model's top "
                     "cells with its own top cells the month before.</p>"))
    timing = pd.DataFrame({"model": list(result.timings), "seconds": list(result.timings.values())})
    if exposure is not None and not exposure.empty:
        sections.append(("Bias audit: exposure by IMD decile", "<p>Share of the best model's top "
                         f"{params.get('audit_coverage', 0.05):.0%} cells in each deprivation decile "
                         "(1 = most deprived) against that decile's share of the recorded crime, pooled "
                         "over the forecast months. A ratio above 1: more attention than crime.</p>"
                         + _exposure_chart(exposure) + table_html(exposure)))
    if feedback is not None and not feedback.empty:
        sections.append(("Feedback-loop check", "<p>If patrols in the top cells raised their recorded "
                         f"crime by {params.get('patrol_effect', 0.2):.0%} in the last known month, how "
                         "many top cells would change at the next forecast? A Jaccard near 1 means the "
                         "model keeps picking the same cells once patrolled (it cannot 'see' crime "
                         "displaced elsewhere).</p>" + table_html(feedback)))
    sections.append(("Run", params_html(params) + table_html(timing)))
    sections.append(("Definitions", "<p>PAI = hit rate / area share (Chainey et al. 2008). PEI = hits / "
                     "best possible hits in the same area; PEI* = PAI / best PAI using only cells that "
                     "saw crime (Hunt 2016). RRI = share of crime captured / share of forecast risk in "
                     "the selected cells (Levine 2008). Ties at the coverage threshold share the "
                     "remaining places fractionally (the exact expectation of a random tie-break). "
                     "Brier and log score are for P(at least one crime) per cell.</p>"))
    return page("Forecast backtest", sections, subtitle=f"{params.get('from')} to {params.get('to')}, "
                f"{params.get('cell_size')} m cells, {params.get('categories')}")
