"""CLI: `saferhub publish hotspots|forecast|patrol|boundaries` (map layers for the web, from the
jobs' result files) and `saferhub briefing simulate-demo | pdf`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

import typer

from saferhub import options
from saferhub.geo.cellsize import DEFAULT_CELL_SIZE

publish_app = typer.Typer(help="Publish precomputed map layers for the web map (atomic; safe while serving).",
                          no_args_is_help=True)
briefing_app = typer.Typer(help="The daily partnership briefing.", no_args_is_help=True)
Result = Annotated[Path, typer.Argument(help="A result file written by the job (GPKG / GeoJSON / CSV).")]


def _say(entry: dict) -> None:

    options.console().print(f"published {entry['name']}: {entry['features']:,} features", highlight=False)


@publish_app.command("hotspots")
def publish_hotspots(path: Result, method: Annotated[str, typer.Option(help="gistar | kde")] = "gistar",
                     categories: options.Categories = None, months: options.Months = None,
                     cell_size: options.CellSize = None, store: options.Store = None,
                     geo_dir: options.GeoDir = None) -> None:
    """A `saferhub hotspots --out X.gpkg` result (same --categories/--months) as a map layer."""
    from saferhub.briefing import layers
    from saferhub.config import settings

    s = settings(store=store, geo_dir=geo_dir)
    _say(layers.publish_hotspots(path, method=method, categories=categories or "all", months=months,
                                 cell_size=cell_size, store=s.store_path, geo_dir=s.geo_dir))


@publish_app.command("forecast")
def publish_forecast(path: Result, categories: options.Categories = None, cell_size: options.CellSize = DEFAULT_CELL_SIZE,
                     target_month: Annotated[Optional[str], typer.Option(help="The month forecast, e.g. 2021-01.")] = None,
                     store: options.Store = None, geo_dir: options.GeoDir = None) -> None:
    """A `saferhub forecast --out X.csv` table (cell_id, x, y, risk) as a map layer."""
    from saferhub.briefing import layers
    from saferhub.config import settings

    s = settings(store=store, geo_dir=geo_dir)
    _say(layers.publish_forecast(path, categories=categories or "all", cell_size=cell_size,
                                 target_month=target_month, store=s.store_path, geo_dir=s.geo_dir))


@publish_app.command("patrol")
def publish_patrol(areas: Result, dosage: Annotated[Optional[Path], typer.Option(
                       help="Dosage CSV (area_id, date, visits, minutes_min, minutes_max, planned_minutes).")] = None,
                   week_start: Annotated[Optional[str], typer.Option(help="Monday of the week shown (default: this week).")] = None,
                   store: options.Store = None) -> None:
    """Patrol areas (CONTRACTS.md format) with this week's dosage and compliance."""
    from saferhub.briefing import layers
    from saferhub.config import settings
    from saferhub.errors import SaferhubError

    try:
        week = dt.date.fromisoformat(week_start) if week_start else None
    except ValueError:
        raise SaferhubError(f"--week-start {week_start!r}: give a date as YYYY-MM-DD") from None
    _say(layers.publish_patrol(areas, dosage, week_start=week, store=settings(store=store).store_path))


@publish_app.command("boundaries")
def publish_boundaries(store: options.Store = None, geo_dir: options.GeoDir = None) -> None:
    """Force, district, ward and LSOA boundaries from the geo folder."""
    from saferhub.briefing import layers
    from saferhub.config import settings

    s = settings(store=store, geo_dir=geo_dir)
    for entry in layers.publish_boundaries(s.geo_dir, s.store_path):
        _say(entry)


@briefing_app.command("simulate-demo")
def simulate_demo(db: options.Db = None, store: options.Store = None,
                  seed: Annotated[int, typer.Option(help="Random seed.")] = 20240601) -> None:
    """Add a simulated week of partner activity to a seeded demo hub (labelled simulated)."""

    from saferhub.config import settings
    from saferhub.data.products import read_product
    from saferhub.hub import demo
    from saferhub.hub.db import make_engine, resolve_db_url, session_factory

    names = read_product("lsoa-names", settings(store=store).store_path) or {}
    engine = make_engine(resolve_db_url(db))
    with session_factory(engine)() as s:
        result = demo.simulate(s, seed=seed, lsoa_names=names)
        s.commit()
    engine.dispose()
    options.console().print(f"simulated demo week: {result}", highlight=False)


@briefing_app.command("pdf")
def briefing_pdf(email: Annotated[str, typer.Option(help="The user the briefing is for.")],
                 purpose: Annotated[str, typer.Option(help="Why (logged with every record read).")],
                 out: options.Out = None, db: options.Db = None, store: options.Store = None) -> None:
    """Write the daily briefing for one user as a PDF (the morning meeting pack)."""
    from saferhub.briefing import assemble, render
    from saferhub.config import settings
    from saferhub.errors import SaferhubError
    from saferhub.fsutil import write_atomic
    from saferhub.hub.db import make_engine, resolve_db_url, session_factory
    from saferhub.hub.services.directory import active_user

    engine = make_engine(resolve_db_url(db))
    with session_factory(engine)() as s:
        user = active_user(s, email)
        if user is None:
            raise SaferhubError(f"no active user {email}")
        b = assemble.assemble(s, user, purpose, store=settings(store=store).store_path)
        pdf = render.pdf_bytes(b)
        s.commit()
    engine.dispose()
    target = out or Path(f"briefing-{b.now:%Y-%m-%d}.pdf")
    write_atomic(target, pdf)
    print(f"wrote {target} ({len(pdf):,} bytes)")


def register(app: typer.Typer) -> None:
    app.add_typer(publish_app, name="publish")
    app.add_typer(briefing_app, name="briefing")
