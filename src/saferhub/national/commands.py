"""CLI: `saferhub national run | counts | synthetic` — thin shells over saferhub.national."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from saferhub import options

national_app = typer.Typer(help="Every force at once: the national table of forces, on Dask or in one process.",
                           no_args_is_help=True)


@national_app.command("run")
def run(
    store: options.Store = None,
    force: Annotated[Optional[str], typer.Option("--force", help="Forces, comma-separated (default: every force in the store).")] = None,
    months: options.Months = None,
    categories: options.Categories = "grip",
    cell_size: options.CellSize = None,
    model: Annotated[str, typer.Option("--model", help="Forecast model scored against the naive baseline.")] = "counts12",
    workers: Annotated[int, typer.Option("--workers", min=0, help="Dask LocalCluster worker processes (0: run in this process).")] = 2,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Address of a running Dask scheduler (tcp://host:8786) instead of a LocalCluster.")] = None,
    geo_dir: options.GeoDir = None,
    update: Annotated[bool, typer.Option("--update", help="Recompute only the forces whose months changed since the last run (same settings).")] = False,
    backtest_months: Annotated[int, typer.Option("--backtest-months", min=0, max=120, help="Also the national backtest: the model and naive forecast each of the last N months, per force (0: off).")] = 0,
    layers: Annotated[bool, typer.Option("--layers", help="Also publish every force's Gi* and forecast map layers (national-map-layers catalogue).")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the national table as CSV.")] = None,
    backtest_out: Annotated[Optional[Path], typer.Option("--backtest-out", help="Write the national backtest (per force x model) as CSV.")] = None,
    json_out: options.Json = False,
):
    """Per force: events, Gi* hot cells and the crime they hold, concentration (Gini, share of cells
    holding half the crime) and forecast skill against the naive baseline; failures are listed."""
    from saferhub.fsutil import write_atomic
    from saferhub.national.runner import forces_in_store, national
    from saferhub.query import EventQuery, UnitSpec

    q = EventQuery(store=store, months=months, categories=categories)
    forces = [f.strip() for f in force.split(",") if f.strip()] if force else forces_in_store(q.store)
    u = UnitSpec(cell_size=cell_size, geo_dir=geo_dir)
    bar, task = options.progress(len(forces), "forces")
    with bar:
        r = national(q, u, model=model, workers=workers, scheduler=scheduler, forces=forces,
                     progress=lambda: bar.advance(task), update=update, backtest_months=backtest_months, layers=layers)
    if out:
        write_atomic(out, r.table.to_csv(index=False))
    if backtest_out and r.backtest is not None:
        write_atomic(backtest_out, r.backtest.to_csv(index=False))
    err = options.console(stderr=True)
    for f, why in sorted(r.failures.items()):
        err.print(f"{f}: FAILED: {why}", style="bold red", highlight=False)
    if json_out:
        doc = {"params": r.params, "failures": r.failures, "forces": r.table.to_dict("records")}
        if r.backtest is not None:
            doc |= {"backtest": r.backtest.to_dict("records"), "backtest_summary": r.backtest_summary.to_dict("records")}
        if layers:
            doc["layers"] = r.layers
        options.console().print_json(json.dumps(doc, default=str))
        return
    from rich.table import Table

    t = Table("force", "events", "cells", "Gini", "cells with half the crime", "hot cells", "crime in hot cells",
              f"skill of {model} vs naive (PAI at 5%)", "study area")
    for row in r.table.itertuples():
        skill = "" if pd_isna(row.skill_vs_naive) else f"{row.skill_vs_naive:.2f}x"
        t.add_row(row.force, f"{row.events:,}", f"{row.cells:,}", f"{row.gini:.2f}", f"{row.cells_holding_50pct:.1%}",
                  f"{row.hot_cells:,}", f"{row.crime_in_hot_cells:.1%}", skill, row.study_area_kind)
    options.console().print(t)
    if r.backtest_summary is not None and len(r.backtest_summary):
        b = Table("model", "forces", "mean PAI at 5%", "PAI vs naive (mean)", "(median)", "forces beating naive",
                  title=f"national backtest, last {backtest_months} months")
        for m in r.backtest_summary.itertuples():
            b.add_row(m.model, str(m.forces), f"{m.pai:.2f}", f"{m.pai_vs_naive_mean:.2f}x",
                      f"{m.pai_vs_naive_median:.2f}x", str(m.forces_beating_naive))
        options.console().print(b)
    if layers:
        err.print(f"published {len(r.layers)} map layers of {r.params['ran']} forces (national-map-layers)", highlight=False)
    p = r.params
    err.print(f"{p['ran']} of {p['forces']} forces in {p['seconds']} s on {p['run_on']}; {p['failed']} failed"
              + (f"; {len(p['reused'])} unchanged since the last run, kept" if p["reused"] else ""), highlight=False)


def pd_isna(v) -> bool:
    import pandas as pd

    return v is None or bool(pd.isna(v))


@national_app.command("synthetic")
def synthetic(
    source: Annotated[Path, typer.Option("--source", help="Store whose real events are replayed (e.g. Merseyside's).")],
    out_store: Annotated[Path, typer.Option("--out-store", help="The synthetic national store to write.")],
    forces: Annotated[int, typer.Option("--forces", min=1, max=500)] = 44,
    months: options.Months = None,
    fraction: Annotated[float, typer.Option("--fraction", help="Share of rows kept per force (0-1].")] = 1.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
):
    """Write a SYNTHETIC national store: the source's real events replayed as `synthetic-NN` forces,
    moved in space and time (docs/national.md)."""
    from saferhub.national.synthetic import synthesize

    bar, task = options.progress(forces, "synthetic forces")
    with bar:
        s = synthesize(source, out_store, forces=forces, months=months, fraction=fraction, seed=seed,
                       progress=lambda: bar.advance(task))
    options.console(stderr=True).print(
        f"wrote {s['rows']:,} SYNTHETIC rows as {s['forces']} forces (replaying {s['source']}, seed {s['seed']}) "
        f"to {out_store}", highlight=False)


@national_app.command("counts")
def counts(
    store: options.Store = None,
    force: Annotated[Optional[str], typer.Option("--force", help="Forces, comma-separated (default: every force).")] = None,
    months: options.Months = None,
    categories: options.Categories = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb | pyarrow | auto (the faster measured, DuckDB).")] = "auto",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the counts as CSV.")] = None,
    json_out: options.Json = False,
):
    """Events by month and category over every force in the store, read straight from its Parquet files."""
    from saferhub.fsutil import write_atomic
    from saferhub.national.counts import national_counts

    forces = [f.strip() for f in force.split(",") if f.strip()] if force else None
    df = national_counts(store, months=months, categories=categories, force=forces, engine=engine)
    if out:
        write_atomic(out, df.to_csv(index=False))
    if json_out:
        options.console().print_json(json.dumps(df.to_dict("records")))
        return
    wide = df.pivot_table(index="month", columns="category", values="events", aggfunc="sum", fill_value=0)
    from rich.table import Table

    t = Table("month", *wide.columns, "total")
    for month, row in wide.iterrows():
        t.add_row(month, *(f"{v:,}" for v in row), f"{row.sum():,}")
    options.console().print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(national_app, name="national")
