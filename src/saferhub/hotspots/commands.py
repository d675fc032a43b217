"""CLI: `saferhub hotspots`, `saferhub concentration`, `saferhub nearrepeat` — thin Typer shells
over the verbs in `saferhub.hotspots.service`: parse options, call the verb, write files."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from saferhub import options


class Method(str, Enum):
    count = "count"
    kde = "kde"
    gistar = "gistar"
    emerging = "emerging"
    change = "change"


class Hull(str, Enum):
    concave = "concave"
    convex = "convex"


class TimeUnit(str, Enum):
    months = "months"
    days = "days"
    hours = "hours"


def _console():

    return options.console(stderr=True)


def _area_options(units, cell_size, boundaries, network, snap, id_column, area, hull, drop_strays, store, force,
                  months, categories, weights, geo_dir) -> dict:
    return {"units": units.value, "cell_size": cell_size, "boundaries": boundaries, "network": network, "snap": snap,
            "id_column": id_column, "area": area, "hull": hull.value, "drop_strays": drop_strays, "store": store,
            "force": force, "months": months, "categories": categories, "weights": weights, "geo_dir": geo_dir}


def _check_out(out: Path | None) -> None:
    from saferhub.errors import SaferhubError
    from saferhub.hotspots.output import FORMATS

    if out and out.suffix.lower() not in FORMATS:  # say so before minutes of work, not after
        raise SaferhubError(f"{out}: unknown output format (use {', '.join(FORMATS)})")


def _say_notes(result) -> None:
    con = _console()
    for note in result.attrs["params"].get("notes", []):
        style = "bold yellow" if note.startswith("WARNING") else "dim"
        con.print(note, style=style, highlight=False)


Boundaries = typer.Option(None, help="--units lsoa: polygon file, folder or quoted glob ('lsoa_by_lad/*.json.gz'); repeatable")
Network = typer.Option(None, help="street lines for --units segments")
Snap = typer.Option(30.0, help="segments: snap events within this many metres")
IdColumn = typer.Option(None, help="unit id column in --boundaries/--network")
AreaOpt = typer.Option(None, help="study area polygon (GeoJSON/GPKG); default the force boundary when known, else a hull")
HullOpt = typer.Option(Hull.concave, help="study area when no boundary is known: concave | convex hull of the events")
Strays = typer.Option(False, help="leave out stray far-away points (named in a warning)")
Weights = typer.Option(None, help="harm weights version or CSV (category,weight)")
UnitsOpt = typer.Option(options.Units.grid, help="grid | hex | lsoa | segments")


def hotspots(
    method: Method = typer.Option(Method.gistar, help="count | kde | gistar | emerging | change"),
    categories: options.Categories = None,
    months: str | None = typer.Option(None, help="e.g. 2020-01:2020-12 (for change: the 'after' period)"),
    before: str | None = typer.Option(None, help="change, or kde for a dual KDE: the 'before' period, e.g. 2019-01:2019-12"),
    versus: str | None = typer.Option(None, help="kde: dual KDE of --categories against these categories (same months)"),
    force: options.Force = None,
    store: options.Store = None,
    geo_dir: options.GeoDir = None,
    units: options.Units = UnitsOpt,
    cell_size: options.CellSize = None,
    boundaries: Optional[list[str]] = Boundaries,
    network: Optional[Path] = Network,
    snap: float = Snap,
    id_column: Optional[str] = IdColumn,
    area: Optional[Path] = AreaOpt,
    hull: Hull = HullOpt,
    drop_strays: bool = Strays,
    harm: bool = typer.Option(False, help="analyse harm-weighted counts instead of counts"),
    weights: Optional[str] = Weights,
    population: Optional[Path] = typer.Option(None, help="CSV of LSOA residents for rates (--units lsoa)"),
    bandwidth: Optional[float] = typer.Option(None, help="kde: bandwidth in metres (default 3 cells)"),
    kernel: str = typer.Option("quartic", help="kde: quartic | gaussian"),
    adaptive_k: Optional[int] = typer.Option(None, help="kde: adaptive bandwidth from the k-th nearest event"),
    distance: Optional[float] = typer.Option(None, help="Gi*: distance band in metres"),
    rings: int = typer.Option(1, help="Gi*: rings of neighbouring cells (grid/hex) if no --distance"),
    correction: options.Correction = typer.Option(options.Correction.fdr, help="multiple testing: fdr | holm | none"),
    time_lags: int = typer.Option(1, help="emerging: previous months in the space-time neighbourhood (ArcGIS default 1; 0 = Gi* per month)"),
    permutations: int = typer.Option(0, help="Gi*: permutations for a pseudo p-value (0 = analytical only)"),
    seed: Optional[int] = typer.Option(None, help="random seed for permutations"),
    out: Optional[Path] = typer.Option(None, help="write units: .gpkg .geojson .parquet .csv"),
    report: Optional[Path] = typer.Option(None, help="write a self-contained HTML report"),
    png: Optional[Path] = typer.Option(None, help="write the map as PNG"),
):
    """Find hotspots: counts, harm, KDE, Getis-Ord Gi*, emerging hotspots or change per unit."""
    from saferhub.errors import SaferhubError
    from saferhub.hotspots import service

    if not (out or report or png):
        raise SaferhubError("nothing to write: give --out FILE, --report FILE.html and/or --png FILE.png")
    _check_out(out)
    if versus and (method != Method.kde or before):
        raise SaferhubError("--versus is for --method kde, without --before")
    where = _area_options(units, cell_size, boundaries, network, snap, id_column, area, hull, drop_strays, store,
                          force, months, categories, weights, geo_dir)
    m, corr = method.value, correction.value
    with _console().status(f"{m}: reading events and running the analysis"):
        if m == "count":
            gdf = service.counts(harm=harm, population=population, **where)
        elif m == "kde":
            gdf = service.kde(bandwidth=bandwidth, kernel=kernel, adaptive_k=adaptive_k, harm=harm, before=before,
                              versus=versus, **where)
        elif m == "gistar":
            gdf = service.gistar(harm=harm, distance=distance, rings=rings, correction=corr,
                                 permutations=permutations, seed=seed, **where)
        elif m == "emerging":
            gdf = service.emerging(harm=harm, time_lags=time_lags, distance=distance, rings=rings,
                                   correction=corr, **where)
        else:
            gdf = service.change(before=before, harm=harm, correction=corr, **where)
    _say_notes(gdf)
    write_result(gdf, out, report, png)
    _summary(gdf, out, report, png)


def write_result(gdf, out=None, report=None, png=None) -> None:
    """Write a hotspot result: units (.gpkg/.geojson/.parquet/.csv), the HTML report, the PNG map."""
    from saferhub.fsutil import write_atomic

    if out:
        from saferhub.hotspots.output import write_units

        write_units(gdf, out)
    if png or report:
        from saferhub.hotspots import report as R

        if png:
            from saferhub.report.maps import save_png

            save_png(R.map_figure(gdf), png)
        if report:
            write_atomic(report, R.html_report(gdf))


def _summary(gdf, out, report, png) -> None:
    p = gdf.attrs["params"]
    msg = f"{p['method']}: {len(gdf):,} units"
    if p["method"] == "gistar":
        msg += f", {int((gdf['gi_bin'] > 0).sum()):,} hot and {int((gdf['gi_bin'] < 0).sum()):,} cold"
    if p["method"] == "emerging":
        msg += f", {int(gdf['category'].astype(str).str.contains('hot spot').sum()):,} with a hot-spot pattern"
    written = [str(x) for x in (out, report, png) if x]
    _console().print(msg + (" -> " + ", ".join(written) if written else ""), highlight=False)


def concentration(
    categories: options.Categories = None,
    months: options.Months = None,
    force: options.Force = None,
    store: options.Store = None,
    geo_dir: options.GeoDir = None,
    units: options.Units = UnitsOpt,
    cell_size: options.CellSize = None,
    boundaries: Optional[list[str]] = Boundaries,
    network: Optional[Path] = Network,
    snap: float = Snap,
    id_column: Optional[str] = IdColumn,
    area: Optional[Path] = AreaOpt,
    hull: Hull = HullOpt,
    drop_strays: bool = Strays,
    weights: Optional[str] = Weights,
    out: Optional[Path] = typer.Option(None, help="write the measures as CSV"),
    report: Optional[Path] = typer.Option(None, help="HTML report with the Lorenz curve"),
):
    """How concentrated crime and harm are: Gini, generalized Gini, units holding 25% / 50%."""
    from rich.table import Table

    from saferhub.fsutil import write_atomic
    from saferhub.hotspots import service

    where = _area_options(units, cell_size, boundaries, network, snap, id_column, area, hull, drop_strays, store,
                          force, months, categories, weights, geo_dir)
    with _console().status("concentration: reading events"):
        gdf = service.concentration(**where)
    _say_notes(gdf)
    table, p = gdf.attrs["summary"], gdf.attrs["params"]
    t = Table(title=f"Concentration over {p['n_units']:,} {p['units']} units ({p['events']:,} events)")
    for col in table.columns:
        t.add_column(col)
    for row in table.itertuples(index=False):
        t.add_row(*[_cell_text(v) for v in row])
    options.console().print(t)
    if out:
        write_atomic(out, table.to_csv(index=False))
    if report:
        from saferhub.hotspots.report import concentration_html

        write_atomic(report, concentration_html(gdf))


def _cell_text(value) -> str:
    """Counts as whole numbers, measures to 4 places, and 'n/a' where a measure does not apply
    (the generalized Gini is defined for counts, not harm weights)."""
    if isinstance(value, float):
        if value != value:
            return "n/a"
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:,.4f}"
    return str(value)


def nearrepeat(
    categories: options.Categories = None,
    months: options.Months = None,
    force: options.Force = None,
    store: options.Store = None,
    space_bands: str = typer.Option("0,100,200,300,400", help="metres, inclusive upper bounds; 0 = same place"),
    time_bands: str = typer.Option("0,1,2,3", help="time units, inclusive upper bounds; 0 = same time unit"),
    time_unit: TimeUnit = typer.Option(TimeUnit.months, help="months (police.uk) | days | hours (timestamped data)"),
    permutations: int = typer.Option(99, help="Monte Carlo permutations of the times"),
    seed: Optional[int] = typer.Option(None, help="random seed (reproducible p-values)"),
    drop_strays: bool = Strays,
    out: Optional[Path] = typer.Option(None, help="write the Knox table as CSV"),
    report: Optional[Path] = typer.Option(None, help="HTML report with the Knox table and heat map"),
):
    """Near repeat (Knox test): are events close in space also close in time?"""
    from rich.table import Table

    from saferhub.fsutil import write_atomic
    from saferhub.hotspots import service

    with _console().status(f"Knox test, {permutations} permutations"):
        table = service.near_repeat(space_bands=space_bands, time_bands=time_bands, time_unit=time_unit.value,
                                    permutations=permutations, seed=seed, drop_strays=drop_strays, store=store,
                                    force=force, months=months, categories=categories)
    _say_notes(table)
    k = table.attrs["knox"]
    rt = Table(title=f"Knox test: {k.n_events:,} events, {k.n_close_pairs:,} close pairs, {k.permutations} permutations")
    for col in table.columns:
        rt.add_column(col)
    for row in table.itertuples(index=False):
        rt.add_row(row.space, row.time, f"{row.observed:,}", f"{row.expected:,.1f}", f"{row.knox_ratio:.2f}",
                   f"{row.p:.3f}")
    options.console().print(rt)
    if out:
        write_atomic(out, table.to_csv(index=False))
    if report:
        from saferhub.hotspots.report import near_repeat_html

        write_atomic(report, near_repeat_html(table))


def register(app: typer.Typer) -> None:
    app.command("hotspots")(hotspots)
    app.command("concentration")(concentration)
    app.command("nearrepeat")(nearrepeat)
