"""CLI for forecasting: `saferhub forecast` (one month ahead, per cell) and `saferhub backtest`.

Stable contract (others script against it): `forecast` writes CSV `cell_id,x,y,risk`, one row
per study-area cell, x/y the lower-left BNG corner on multiples of the cell size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

StoreOpt = typer.Option(None, "--store", envvar="SAFERHUB_STORE",
                        help="Event store folder (default: ~/.local/share/saferhub/store).")
GeoOpt = typer.Option(None, "--geo-dir", envvar="SAFERHUB_GEO_DIR",
                      help="Folder with the IMD 2019 / population CSVs (covariates, bias audit).")
CatOpt = typer.Option("grip", "--categories",
                      help="Crime categories: names, slugs or groups (grip, violence, ...), comma-separated.")
err = Console(stderr=True)

SHORT_BACKTEST_MONTHS = 2


def _progress(total: int, label: str):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err, transient=True)
    return progress, progress.add_task(label, total=total)


def _check_cell_size(cell_size: int) -> None:
    from saferhub.errors import SaferhubError

    if cell_size < 10:
        raise SaferhubError(f"--cell-size must be at least 10 metres, got {cell_size}")


def _run_backtest(cube, names, months, target):
    from saferhub.forecast.service import backtest_store

    progress, task = _progress(len(names) * len(months), "backtesting")
    with progress:
        return backtest_store(cube, names, months, target, progress=lambda: progress.advance(task))


def forecast(
    through: str = typer.Option(..., "--through", help="Last month known (YYYY-MM); the forecast is for the month after."),
    model: str = typer.Option("best", "--model", help="Model name (naive, counts12, decay, kde, blend, prospective, sepp, gbm, ensemble) or 'best'."),
    cell_size: int = typer.Option(150, "--cell-size", help="Grid cell size in metres."),
    categories: str = CatOpt,
    out: Path = typer.Option(..., "--out", help="Output CSV: cell_id,x,y,risk."),
    force: Optional[str] = typer.Option(None, "--force", help="Police force (default: every force in the store)."),
    harm: bool = typer.Option(False, "--harm", help="Forecast harm-weighted crime instead of counts."),
    geo_dir: Optional[Path] = GeoOpt,
    store: Optional[Path] = StoreOpt,
):
    """Risk per grid cell for the month after --through (higher = more crime expected)."""
    import numpy as np

    from saferhub.categories import parse_categories
    from saferhub.errors import SaferhubError
    from saferhub.forecast.covariates import resolve_geo_dir
    from saferhub.forecast.registry import make_model
    from saferhub.forecast.service import (
        backtest_record,
        forecast_table,
        load_cube,
        load_latest_backtest,
        save_backtest,
    )
    from saferhub.months import parse_month
    from saferhub.report.html import write_atomic

    # check everything the user typed before the (slower) store read
    month = parse_month(through)
    target = "harm" if harm else "count"
    if model.strip().lower() != "best":
        make_model(model, target=target, cell_size=cell_size)
    parse_categories(categories)
    _check_cell_size(cell_size)
    resolve_geo_dir(geo_dir)
    notes: list[str] = []
    with err.status("loading events"):
        cube = load_cube(store, categories, cell_size, force=force, geo_dir=geo_dir, notes=notes)
    i = cube.index_of(month)
    if i >= len(cube.months):
        raise SaferhubError(f"--through {month} is after the last month in the store ({cube.months[-1]})")
    name = model.strip().lower()
    if name == "best":
        latest = load_latest_backtest(store)
        if latest is None and month <= cube.months[0]:
            err.print(f"no backtest saved and no month before {month} to run one on: using counts12")
            latest = {"best": "counts12", "params": {}}
        if latest is None:
            first = max(cube.months[0] + 1, month - SHORT_BACKTEST_MONTHS + 1)
            months = np.arange(first, month + 1, dtype="datetime64[M]")
            names = ["naive", "counts12", "decay", "kde", "blend", "prospective", "sepp", "gbm"]
            err.print(f"no backtest saved with this store yet: running a short one first "
                      f"({len(names)} models, forecast months {months[0]}..{months[-1]}) to pick the best model")
            result = _run_backtest(cube, names, months, target)
            latest = backtest_record(result, {"from": str(months[0]), "to": str(months[-1]),
                                              "cell_size": cell_size, "categories": categories,
                                              "models": names, "target": target, "short": True})
            save_backtest(store, latest)
        name = latest["best"]
        p = latest.get("params", {})
        if p:
            saved = f", saved {latest['saved_at']}" if latest.get("saved_at") else ""
            err.print(f"best model: {name} (backtest {p.get('from')}..{p.get('to')}, {p.get('cell_size')} m, "
                      f"{p.get('categories')}{saved})")
    for n in notes:
        if name in ("gbm", "ensemble"):
            err.print(n)
    m = make_model(name, target=target, cell_size=cell_size)
    with err.status(f"fitting {name}"):
        risk = m.fit(cube, month).predict()
    table = forecast_table(cube, risk)
    write_atomic(out, table.to_csv(index=False, float_format="%.8g"))
    err.print(f"wrote {len(table):,} cells ({cell_size} m) forecasting {month + 1} with {name} to {out}")


def backtest(
    start: str = typer.Option(..., "--from", help="First forecast month (YYYY-MM)."),
    end: str = typer.Option(..., "--to", help="Last forecast month (YYYY-MM)."),
    models: str = typer.Option("all", "--models", help="Comma-separated model names, or 'all'. naive and counts12 are always included."),
    cell_size: int = typer.Option(150, "--cell-size", help="Grid cell size in metres."),
    categories: str = CatOpt,
    report: Path = typer.Option(..., "--report", help="HTML report to write; CSVs go beside it."),
    force: Optional[str] = typer.Option(None, "--force", help="Police force (default: every force in the store)."),
    harm: bool = typer.Option(False, "--harm", help="Models forecast harm-weighted crime."),
    audit_coverage: float = typer.Option(0.05, "--audit-coverage", help="Coverage of the top cells in the bias audit."),
    patrol_effect: float = typer.Option(0.2, "--patrol-effect", help="Rise in recorded crime in patrolled cells for the feedback-loop check."),
    geo_dir: Optional[Path] = GeoOpt,
    store: Optional[Path] = StoreOpt,
):
    """Rolling-origin backtest: each month from --from to --to is forecast from the months before it."""
    import time

    from saferhub.categories import parse_categories
    from saferhub.errors import SaferhubError
    from saferhub.forecast.audit import exposure_by_decile, feedback_check
    from saferhub.forecast.backtest import summarise
    from saferhub.forecast.covariates import resolve_geo_dir
    from saferhub.forecast.registry import make_model, parse_models
    from saferhub.forecast.report import headline, render
    from saferhub.forecast.service import backtest_record, load_cube, save_backtest
    from saferhub.months import month_range, parse_month
    from saferhub.report.html import write_atomic

    months = month_range(parse_month(start), parse_month(end))
    names = parse_models(models)
    target = "harm" if harm else "count"
    parse_categories(categories)
    _check_cell_size(cell_size)
    resolve_geo_dir(geo_dir)
    if not 0 < audit_coverage <= 1:
        raise SaferhubError("--audit-coverage must be a share between 0 and 1, e.g. 0.05")
    if patrol_effect < 0:
        raise SaferhubError("--patrol-effect must be >= 0, e.g. 0.2 for +20% recorded crime")
    notes: list[str] = []
    t0 = time.perf_counter()
    with err.status("loading events"):
        cube = load_cube(store, categories, cell_size, force=force, geo_dir=geo_dir, notes=notes)
    result = _run_backtest(cube, names, months, target)
    summary = summarise(result)
    record = backtest_record(result, {"from": str(months[0]), "to": str(months[-1]), "cell_size": cell_size,
                                      "categories": categories, "models": names, "target": target})
    best = record["best"]
    with err.status("bias audit and feedback-loop check"):
        exposure = exposure_by_decile({m: result.predictions[(best, m)] for m in months}, cube, audit_coverage)
        feedback = feedback_check(make_model(best, target=target, cell_size=cell_size), cube,
                                  months[-min(3, len(months)):], audit_coverage, patrol_effect)
    params = dict(record["params"], study_area_cells=int(cube.area.sum()), patrol_effect=patrol_effect,
                  audit_coverage=audit_coverage, seconds=round(time.perf_counter() - t0, 1))
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
