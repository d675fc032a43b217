"""CLI for forecasting: `saferhub forecast` (one month ahead, per cell) and `saferhub backtest`,
thin shells over `saferhub.forecast.service`.

Stable contract (others script against it): `forecast` writes CSV `cell_id,x,y,risk`, one row
per study-area cell, x/y the lower-left BNG corner on multiples of the cell size.
"""

from __future__ import annotations

from pathlib import Path

import typer

from saferhub import options
from saferhub.geo.cellsize import DEFAULT_CELL_SIZE

err = options.console(stderr=True)
Categories = typer.Option("grip", "--categories",
                          help="Crime categories: names, slugs or groups (grip, violence, ...), comma-separated.")
CellSize = typer.Option(DEFAULT_CELL_SIZE, "--cell-size", help="Grid cell size in metres (at least 10).")
Harm = typer.Option(False, "--harm", help="Forecast harm-weighted crime instead of counts.")


def _say(message: str) -> None:
    err.print(message, highlight=False)


def forecast(
    through: str = typer.Option(..., "--through", help="Last month known (YYYY-MM); the forecast is for the month after."),
    model: str = typer.Option("best", "--model", help="Model name (naive, counts12, decay, kde, blend, prospective, sepp, gbm, ensemble) or 'best'."),
    cell_size: int = CellSize,
    categories: str = Categories,
    out: Path = typer.Option(..., "--out", help="Output CSV: cell_id,x,y,risk."),
    force: options.Force = None,
    harm: bool = Harm,
    geo_dir: options.GeoDir = None,
    store: options.Store = None,
):
    """Risk per grid cell for the month after --through (higher = more crime expected)."""
    from saferhub.forecast.service import forecast as run_forecast
    from saferhub.fsutil import write_atomic

    result = run_forecast(through, model=model, cell_size=cell_size, categories=categories, force=force,
                          harm=harm, store=store, geo_dir=geo_dir, say=_say,
                          progress=lambda total: options.progress(total, "backtesting"))
    write_atomic(out, result.table().to_csv(index=False, float_format="%.8g"))
    p = result.params
    _say(f"wrote {p['cells']:,} cells ({p['cell_size']} m) forecasting {p['forecast_month']} with {p['model']} to {out}")


def backtest(
    start: str = typer.Option(..., "--from", help="First forecast month (YYYY-MM)."),
    end: str = typer.Option(..., "--to", help="Last forecast month (YYYY-MM)."),
    models: str = typer.Option("all", "--models", help="Comma-separated model names, or 'all'. naive and counts12 are always included."),
    cell_size: int = CellSize,
    categories: str = Categories,
    report: Path = typer.Option(..., "--report", help="HTML report to write; CSVs go beside it."),
    force: options.Force = None,
    harm: bool = Harm,
    audit_coverage: float = typer.Option(0.05, "--audit-coverage", help="Coverage of the top cells in the bias audit."),
    patrol_effect: float = typer.Option(0.2, "--patrol-effect", help="Rise in recorded crime in patrolled cells for the feedback-loop check."),
    geo_dir: options.GeoDir = None,
    store: options.Store = None,
):
    """Rolling-origin backtest: each month from --from to --to is forecast from the months before it."""
    import time

    from saferhub.errors import SaferhubError
    from saferhub.forecast.audit import exposure_by_decile, feedback_check
    from saferhub.forecast.backtest import summarise
    from saferhub.forecast.covariates import resolve_geo_dir
    from saferhub.forecast.registry import make_model, parse_models
    from saferhub.forecast.report import headline, render
    from saferhub.forecast.service import backtest_record, backtest_store, load_cube, save_backtest, thread_limit
    from saferhub.fsutil import write_atomic
    from saferhub.months import month_range, parse_month

    months = month_range(parse_month(start), parse_month(end))
    names = parse_models(models)
    target = "harm" if harm else "count"
    from saferhub.categories import parse_categories

    parse_categories(categories)
    if cell_size < 10:
        raise SaferhubError(f"--cell-size must be at least 10 metres, got {cell_size}")
    resolve_geo_dir(geo_dir)
    if not 0 < audit_coverage <= 1:
        raise SaferhubError("--audit-coverage must be a share between 0 and 1, e.g. 0.05")
    if patrol_effect < 0:
        raise SaferhubError("--patrol-effect must be >= 0, e.g. 0.2 for +20% recorded crime")
    notes: list[str] = []
    t0 = time.perf_counter()
    with err.status("loading events"):
        cube = load_cube(store, categories, cell_size, force=force, geo_dir=geo_dir, notes=notes)
    bar, task = options.progress(len(names) * len(months), "backtesting")
    with bar:
        result = backtest_store(cube, names, months, target, progress=lambda: bar.advance(task))
    summary = summarise(result)
    record = backtest_record(result, {"from": str(months[0]), "to": str(months[-1]), "cell_size": cell_size,
                                      "categories": categories, "models": names, "target": target})
    best = record["best"]
    with err.status("bias audit and feedback-loop check"), thread_limit():
        exposure = exposure_by_decile({m: result.predictions[(best, m)] for m in months}, cube, audit_coverage)
        feedback = feedback_check(make_model(best, target=target), cube, months[-min(3, len(months)):],
                                  audit_coverage, patrol_effect)
    params = dict(record["params"], study_area=cube.study_area, study_area_cells=int(cube.area.sum()),
                  patrol_effect=patrol_effect, audit_coverage=audit_coverage,
                  seconds=round(time.perf_counter() - t0, 1))
    write_atomic(report, render(result, params, exposure, feedback, notes))
    stem = report.with_suffix("")
    write_atomic(f"{stem}.csv", summary.to_csv(index=False, float_format="%.6g"))
    monthly = result.monthly.merge(result.scores, on=["model", "month"], how="left")
    write_atomic(f"{stem}-monthly.csv", monthly.to_csv(index=False, float_format="%.6g"))
    save_backtest(store, record)
    for line in headline(summary):
        err.print(line)
    err.print(f"best overall: {best}; report {report}, tables {stem}.csv and {stem}-monthly.csv")


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast)
    app.command("backtest")(backtest)
