"""`saferhub evaluate`, `evaluate-calibrate` and `evaluate-callers`: thin shells over service, calibrate and
costs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from saferhub import options
from saferhub.errors import SaferhubError


def _buffers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise SaferhubError(f"--buffers: expected metres like 100,250, got {text!r}") from None


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate(
        areas: Optional[Path] = typer.Option(None, "--areas", help="Areas file (GPKG/GeoJSON polygons; area_id, name)."),
        plan: Optional[str] = typer.Option(None, "--plan", help="Evaluate a stored patrol plan by id instead of --areas."),
        before: Optional[str] = typer.Option(None, "--before", help="Before months, e.g. 2019-04:2019-12."),
        after: Optional[str] = typer.Option(None, "--after", help="After months, e.g. 2020-04:2020-12."),
        categories: options.Categories = None,
        harm: bool = typer.Option(False, "--harm", help="Also report harm (CCHI-weighted) outcomes."),
        buffers: str = typer.Option("100,250", "--buffers", help="Displacement ring edges in metres."),
        controls: str = typer.Option("auto", "--controls", help="Control places: auto (matched untreated places)."),
        dosage: Optional[Path] = typer.Option(None, "--dosage", help="Dosage CSV (area_id, date, minutes_min, minutes_max)."),
        min_events: int = typer.Option(20, "--min-events", help="Fewer events than this: 'too few events to tell'."),
        uplift: float = typer.Option(1.0, "--price-uplift", help="Multiply 2015/16 unit costs by this (e.g. a GDP deflator ratio)."),
        synthetic: bool = typer.Option(False, "--synthetic", help="Add a synthetic control (one area only)."),
        imd: bool = typer.Option(False, "--imd", help="Match controls within the areas' IMD 2019 decile."),
        geo_dir: options.GeoDir = None,
        report: Optional[Path] = typer.Option(None, "--report", help="Write the report here (.html, or .pdf)."),
        store: options.Store = None,
        force: options.Force = None,
        out: options.Out = None,
    ) -> None:
        """Did it work? Year-on-year, difference-in-differences, displacement, harm and cost for areas."""
        from saferhub.evaluate import inputs, report as rep, service

        dose = inputs.read_csv_columns(dosage, ["area_id", "date", "minutes_min", "minutes_max"]) if dosage else None
        kw = dict(harm=harm, buffers=_buffers(buffers), controls=controls, min_events=min_events,
                  uplift=uplift, synthetic=synthetic, dosage=dose, imd=imd, geo_dir=geo_dir, force=force, categories=categories)
        if plan:
            run = service.evaluate_plan(plan, store=store, **kw)
            gdf = inputs.read_plan(plan, service._store(store)).areas
        else:
            if areas is None or before is None or after is None:
                raise SaferhubError("give --areas, --before and --after (or --plan PLAN_ID)")
            gdf = inputs.read_areas(areas)
            run = service.evaluate(gdf, before, after, store=store, **kw)
        if out:
            from saferhub.fsutil import write_atomic

            write_atomic(out, json.dumps(run, indent=1))
        if report:
            rep.write(run, report, areas=gdf)
        summary = service.summary_for_assessment(run)
        typer.echo(f"run {run['run_id']} stored in {service.run_path(run['run_id'], store)}")
        typer.echo(summary["headline"])

    @app.command("evaluate-calibrate")
    def evaluate_calibrate(
        programmes: int = typer.Option(200, "--programmes", help="Placebo programmes."),
        areas: int = typer.Option(10, "--areas", help="Hot cells per programme."),
        effect: float = typer.Option(-0.2, "--effect", help="Injected change for the power table."),
        months: options.Months = "2018-01:2020-12",
        categories: options.Categories = None,
        store: options.Store = None,
        force: options.Force = None,
        seed: int = typer.Option(1, "--seed"),
        out: options.Out = None,
    ) -> None:
        """Check the methods on real data: how often placebo programmes look significant, and power."""
        from saferhub.evaluate.calibrate import calibrate_store

        result = calibrate_store(store=store, force=force, months=months, categories=categories,
                                 n_programmes=programmes, n_areas=areas, effect=effect, seed=seed)
        table = result["table"]
        typer.echo(table.drop(columns="what").to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        typer.echo(f"{programmes} programmes in {result['seconds']:.1f} s")
        if out:
            from saferhub.fsutil import write_atomic

            write_atomic(out, json.dumps({"params": result["params"], "table": table.to_dict("records"),
                                          "seconds": result["seconds"]}, indent=1))

    @app.command("evaluate-callers")
    def evaluate_callers(
        calls: Path = typer.Option(..., "--calls", help="Calls CSV: caller_id, date, flagged (true/false); optional simulated."),
        start: str = typer.Option(..., "--start", help="Date the hub's work with flagged callers began, e.g. 2024-04-01."),
        unit_cost: float = typer.Option(..., "--unit-cost", help="Cost of one call or attendance, in pounds."),
        boot: int = typer.Option(2000, "--boot", help="Bootstrap resamples for the interval."),
        seed: int = typer.Option(1, "--seed"),
        out: options.Out = None,
    ) -> None:
        """Demand saved by hub work with frequent callers: flagged callers' calls after the start against
        unflagged callers with the same number of calls before, x the unit cost, as a range."""
        import pandas as pd

        from saferhub.evaluate import costs, inputs

        if unit_cost < 0:
            raise SaferhubError("--unit-cost: give the cost of one call or attendance (0 or more)")
        try:
            when = pd.Timestamp(start)
        except ValueError:
            raise SaferhubError(f"--start: expected a date like 2024-04-01, got {start!r}") from None
        frame = inputs.read_calls(calls)
        simulated = bool(frame["simulated"].any()) if "simulated" in frame else False
        result = costs.caller_savings(frame, when, unit_cost, n_boot=boot, seed=seed)
        result.update(simulated=simulated, start=str(when.date()), calls_file=str(calls))
        label = "SIMULATED data: a demonstration, not a result. " if simulated else ""
        typer.echo(f"{label}Calls saved by {result['flagged_callers']} flagged callers over {result['window_days']} days: "
                   f"{result['calls_saved_low']:,.0f} to {result['calls_saved_high']:,.0f} (95% bootstrap interval), "
                   f"worth £{result['saving_low']:,.0f} to £{result['saving_high']:,.0f} at £{unit_cost:,.2f} each; "
                   f"compared with {result['comparison_callers']} unflagged callers with the same calls before.")
        if result["saving_low"] <= 0:
            typer.echo("The range includes no saving: none can be claimed.")
        if out:
            from saferhub.fsutil import write_atomic

            write_atomic(out, json.dumps(result, indent=1))
