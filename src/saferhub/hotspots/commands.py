"""CLI: `saferhub hotspots`, `saferhub concentration`, `saferhub nearrepeat` — thin shells that read
the event store, call the pure analyses, and write files, PNG maps and self-contained HTML reports."""

from __future__ import annotations

from pathlib import Path

import typer

METHODS = ("count", "kde", "gistar", "emerging", "change")
# Concave-hull tightness for the default study area: on Merseyside 2018-2020 a ratio of 0.1 gives
# 659 km^2 against the force's 645 km^2 (0.2 gives 799 km^2 and takes in West Lancashire fields).
HULL_RATIO = 0.1
UNIT_KINDS = ("grid", "hex", "lsoa", "segments")


def _console():
    from rich.console import Console

    return Console(stderr=True)


class _Steps:
    """A rich spinner naming the current step (analyses can take more than a second)."""

    def __init__(self):
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.p = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                          console=_console(), transient=True)
        self.task = None

    def __enter__(self):
        self.p.__enter__()
        self.task = self.p.add_task("starting")
        return self

    def step(self, text: str):
        self.p.update(self.task, description=text)

    def __exit__(self, *exc):
        return self.p.__exit__(*exc)


def _setup_area(df, store, force, area_path, hull, drop_strays, steps):
    """Strays check, then the study area: --area, or a hull of the force's located events."""

    from saferhub.geo.area import data_hull, read_area
    from saferhub.geo.strays import check_strays, find_strays
    from saferhub.hotspots.load import event_labels

    con = _console()
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    # With --area the study area is the user's, so strays outside it are simply left out (loudly).
    keep = check_strays(x, y, event_labels(df, find_strays(x, y)), drop=drop_strays or bool(area_path),
                        warn=lambda m: con.print(f"[bold yellow]{m}[/]", highlight=False))
    df = df[keep]
    if area_path:
        steps.step(f"reading the study area {area_path}")
        area = read_area(area_path)
        desc = f"polygon from {area_path}"
    else:
        steps.step("drawing the study area round the force's located events")
        from saferhub.errors import SaferhubError
        from saferhub.hotspots.load import load_events

        try:
            allev = load_events(store=store, force=force, columns=("x", "y"))
        except SaferhubError:  # the hull is a convenience; fall back to the selected events
            allev = df
        ax, ay = allev["x"].to_numpy(), allev["y"].to_numpy()
        ok = check_strays(ax, ay, drop=True)
        area = data_hull(ax[ok], ay[ok], kind=hull, ratio=HULL_RATIO, buffer=50.0)
        desc = f"{hull} hull of the force's {int(ok.sum()):,} located events (+50 m)"
        if area.area <= 0:
            raise_err("the events span no area (all at one point?); pass --area")
    inside = _inside(area, df["x"].to_numpy(), df["y"].to_numpy())
    return df[inside], area, desc, int((~inside).sum())


def raise_err(msg):
    from saferhub.errors import SaferhubError

    raise SaferhubError(msg)


def _inside(area, x, y):
    import shapely

    shapely.prepare(area)
    return shapely.contains_xy(area, x, y)


def _units(kind, area, cell_size, boundaries, network, snap, id_column, points=None):
    """The spatial units; grid cells and hexagons holding any of `points` are always kept."""
    from saferhub.geo import units as U
    from saferhub.geo.grid import Grid

    if kind == "grid":
        return U.grid_units(Grid.from_bounds(*area.bounds, cell_size), area, points)
    if kind == "hex":
        return U.hex_units(cell_size, area, points)
    if kind == "lsoa":
        if not boundaries:
            raise_err("--units lsoa needs --boundaries FILE (GeoJSON/GeoPackage polygons, .gz allowed)")
        return U.polygon_units(U.read_layers(list(boundaries)), id_column=id_column, area=area)
    if kind == "segments":
        if not network:
            raise_err("--units segments needs --network FILE (GeoPackage/GeoJSON street lines)")
        return U.segment_units(U.read_layers([network]), max_distance=snap, id_column=id_column, area=area)
    raise_err(f"unknown units {kind!r} (use {', '.join(UNIT_KINDS)})")


def _population(path, units):
    """unit_id -> residents from a CSV with an LSOA code column and a population column."""
    import pandas as pd

    from saferhub.errors import BadFileError

    try:
        t = pd.read_csv(path, thousands=",", encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise BadFileError(path, f"not a readable CSV ({exc})") from None
    code = next((c for c in t.columns if "code" in c.lower() and "lsoa" in c.lower()), None)
    pop = next((c for c in t.columns if "population" in c.lower() or c.lower() in ("persons", "residents")), None)
    if code is None or pop is None:
        raise BadFileError(path, "need an LSOA code column and a population column")
    return dict(zip(t[code].astype(str), pd.to_numeric(t[pop], errors="coerce")))


def _cell_text(value) -> str:
    """Counts as whole numbers, measures to 4 places, and 'n/a' where a measure does not apply
    (the generalized Gini is defined for counts, not harm weights)."""
    if isinstance(value, float):
        if value != value:
            return "n/a"
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:,.4f}"
    return str(value)


def _params_table(d):
    from saferhub.report.html import params_html

    return params_html({k: v for k, v in d.items() if v is not None})


def register(app: typer.Typer) -> None:
    @app.command("hotspots")
    def hotspots(
        method: str = typer.Option("gistar", help="count | kde | gistar | emerging | change"),
        categories: str | None = typer.Option(None, help="categories, slugs or groups (grip, violence...); default all"),
        months: str | None = typer.Option(None, help="e.g. 2020-01:2020-12 (for change: the 'after' period)"),
        before: str | None = typer.Option(None, help="change, or kde for a dual KDE: the 'before' period, e.g. 2019-01:2019-12"),
        versus: str | None = typer.Option(None, help="kde: dual KDE of --categories against these categories (same months)"),
        force: str | None = typer.Option(None, help="police force (default: all in the store)"),
        store: Path | None = typer.Option(None, help="event store folder"),
        units: str = typer.Option("grid", help="grid | hex | lsoa | segments"),
        cell_size: int | None = typer.Option(None, help="cell size in metres (default: chosen from the area)"),
        boundaries: list[str] | None = typer.Option(None, help="--units lsoa: polygon file, folder or quoted glob ('lsoa_by_lad/*.json.gz'); repeatable"),
        network: Path | None = typer.Option(None, help="street lines for --units segments"),
        snap: float = typer.Option(30.0, help="segments: snap events within this many metres"),
        id_column: str | None = typer.Option(None, help="unit id column in --boundaries/--network"),
        area: Path | None = typer.Option(None, help="study area polygon (GeoJSON/GPKG); default a hull of the data"),
        hull: str = typer.Option("concave", help="default study area: concave | convex hull"),
        drop_strays: bool = typer.Option(False, help="leave out stray far-away points (named in a warning)"),
        harm: bool = typer.Option(False, help="analyse harm-weighted counts instead of counts"),
        weights: str | None = typer.Option(None, help="harm weights version or CSV (category,weight)"),
        population: Path | None = typer.Option(None, help="CSV of LSOA residents for rates (--units lsoa)"),
        bandwidth: float | None = typer.Option(None, help="kde: bandwidth in metres (default 3 cells)"),
        kernel: str = typer.Option("quartic", help="kde: quartic | gaussian"),
        adaptive_k: int | None = typer.Option(None, help="kde: adaptive bandwidth from the k-th nearest event"),
        distance: float | None = typer.Option(None, help="Gi*: distance band in metres"),
        rings: int = typer.Option(1, help="Gi*: rings of neighbouring cells (grid/hex) if no --distance"),
        correction: str = typer.Option("fdr", help="multiple testing: fdr | holm | none"),
        time_lags: int = typer.Option(1, help="emerging: previous months in the space-time neighbourhood (ArcGIS default 1; 0 = Gi* per month)"),
        permutations: int = typer.Option(0, help="Gi*: permutations for a pseudo p-value (0 = analytical only)"),
        seed: int | None = typer.Option(None, help="random seed for permutations"),
        out: Path | None = typer.Option(None, help="write units: .gpkg .geojson .parquet .csv"),
        report: Path | None = typer.Option(None, help="write a self-contained HTML report"),
        png: Path | None = typer.Option(None, help="write the map as PNG"),
    ):
        """Find hotspots: counts, harm, KDE, Getis-Ord Gi*, emerging hotspots or change per unit."""
        import numpy as np

        from saferhub.categories import parse_categories
        from saferhub.geo.cellsize import default_cell_size
        from saferhub.hotspots import analyse
        from saferhub.hotspots.inference import CORRECTIONS
        from saferhub.hotspots.load import load_events
        from saferhub.months import parse_months

        if method not in METHODS:
            raise_err(f"unknown method {method!r} (use {', '.join(METHODS)})")
        if units not in UNIT_KINDS:
            raise_err(f"unknown units {units!r} (use {', '.join(UNIT_KINDS)})")
        if correction not in CORRECTIONS:
            raise_err(f"unknown correction {correction!r} (use {', '.join(CORRECTIONS)})")
        if hull not in ("concave", "convex"):
            raise_err("--hull must be concave or convex")
        if method == "change" and not before:
            raise_err("--method change needs --before PERIOD (and --months for the after period)")
        if not (out or report or png):
            raise_err("nothing to write: give --out FILE, --report FILE.html and/or --png FILE.png")
        from saferhub.hotspots.output import FORMATS

        if out and out.suffix.lower() not in FORMATS:  # say so before minutes of work, not after
            raise_err(f"{out}: unknown output format (use {', '.join(FORMATS)})")
        cats = parse_categories(categories)
        mon = parse_months(months)
        con = _console()
        with _Steps() as steps:
            steps.step("reading events")
            df = load_events(store, force, mon, cats, weights)
            dfb = None
            if versus and (method != "kde" or before):
                raise_err("--versus is for --method kde, without --before")
            if method == "change" or (method == "kde" and before):
                mb = parse_months(before)
                dfb = load_events(store, force, mb, cats, weights)
            elif method == "kde" and versus:
                dfb = load_events(store, force, mon, parse_categories(versus), weights)
            df, area_poly, area_desc, n_out = _setup_area(df, store, force, area, hull, drop_strays, steps)
            if dfb is not None:
                dfb = dfb[_inside(area_poly, dfb["x"].to_numpy(), dfb["y"].to_numpy())]
            notes = []
            if cell_size is None and units in ("grid", "hex"):
                cell_size, why = default_cell_size(*area_poly.bounds)
                notes.append(why)
                con.print(why, highlight=False)
            steps.step(f"building {units} units")
            x, y = df["x"].to_numpy(), df["y"].to_numpy()
            pts = (x, y) if dfb is None else (np.r_[x, dfb["x"].to_numpy()], np.r_[y, dfb["y"].to_numpy()])
            U = _units(units, area_poly, cell_size, boundaries, network, snap, id_column, pts)
            val_w = df["harm"].to_numpy() if harm else None
            measure = "harm" if harm else "count"
            steps.step(f"running {method} on {U.n:,} units")
            pop = _population(population, U) if population else None
            if method == "count":
                gdf = analyse.counts_frame(U, x, y, harm=df["harm"].to_numpy(), population=pop)
                show = ("continuous", gdf[measure].to_numpy(), f"{measure} per unit")
            elif method == "kde" and versus:
                cs = U.grid.cell_size if U.grid else cell_size
                bw = bandwidth or 3 * cs
                if adaptive_k or harm:
                    raise_err("a dual KDE (--versus) uses a fixed bandwidth and counts; drop --adaptive-k/--harm")
                if len(dfb) == 0:
                    raise_err("no events of the --versus categories in those months")
                gdf = analyse.dual_kde_frame(U, x, y, dfb["x"].to_numpy(), dfb["y"].to_numpy(), bw, kernel)
                show = ("diverging", gdf["difference_km2"].to_numpy(),
                        f"density difference per km² ({categories or 'all'} - {versus})")
                notes.append(f"dual KDE of two category sets: a = --categories, b = --versus {versus}; "
                             f"bandwidth {bw:g} m, kernel {kernel}")
            elif method == "kde" and before:
                cs = U.grid.cell_size if U.grid else cell_size
                bw = bandwidth or 3 * cs
                if adaptive_k or harm:
                    raise_err("a dual KDE (--before) uses a fixed bandwidth and counts; drop --adaptive-k/--harm")
                len_a = len(np.unique(df["month_index"]))
                len_b = len(np.unique(dfb["month_index"])) if len(dfb) else 0
                if len_b == 0:
                    raise_err("no events in the --before period")
                gdf = analyse.dual_kde_frame(U, x, y, dfb["x"].to_numpy(), dfb["y"].to_numpy(), bw, kernel,
                                             scale_b=len_a / len_b)
                show = ("diverging", gdf["difference_km2"].to_numpy(), "density difference per km² (after - before)")
                notes.append(f"dual KDE: bandwidth {bw:g} m, kernel {kernel}; before scaled by {len_a}/{len_b} months")
            elif method == "kde":
                cs = U.grid.cell_size if U.grid else cell_size
                bw = bandwidth or 3 * cs
                gdf = analyse.kde_frame(U, x, y, bw, kernel, adaptive_k, val_w)
                show = ("continuous", gdf["density_km2"].to_numpy(), f"{measure} density per km²")
                notes.append(f"bandwidth: {'adaptive, k=' + str(adaptive_k) if adaptive_k else f'{bw:g} m'}; kernel {kernel}")
            elif method == "gistar":
                vals = analyse.unit_values(U, x, y, val_w)
                gdf = analyse.gistar_frame(U, vals, distance=distance, rings=rings, correction=correction,
                                           permutations=permutations, seed=seed)
                show = ("gi", gdf["gi_bin"].to_numpy(), "Getis-Ord Gi*")
            elif method == "emerging":
                first = int(df["month_index"].min())
                n_t = int(df["month_index"].max()) - first + 1
                if n_t < 3:
                    raise_err("emerging hot spots need at least 3 months (--months)")
                if time_lags < 0:
                    raise_err("--time-lags must be 0 or more")
                gdf, cube_ = analyse.emerging_frame(U, x, y, df["month_index"].to_numpy() - first, n_t,
                                                    distance=distance, rings=rings, correction=correction,
                                                    time_lags=time_lags)
                show = ("emerging", gdf["category"].to_numpy(), "Emerging hot spots")
            else:
                len_a = len(np.unique(dfb["month_index"])) if len(dfb) else 0
                len_b = len(np.unique(df["month_index"]))
                if len_a == 0:
                    raise_err("no events in the --before period")
                gdf = analyse.change_frame(U, dfb["x"].to_numpy(), dfb["y"].to_numpy(), x, y,
                                           length_ratio=len_b / len_a, correction=correction)
                show = ("change", gdf["direction"].to_numpy(), "Change (after vs before)")
            params = {"method": method, "categories": ", ".join(cats) if cats else "all",
                      "months": months or "all", "before": before, "versus": versus, "force": force,
                      "cell size (m)": cell_size if units in ("grid", "hex") else None,
                      "measure": measure, "harm weights": (weights or "default") if harm else None,
                      "study area": area_desc, "events analysed": f"{len(df):,}",
                      "events outside the area": n_out, "units": f"{U.n:,} {units}",
                      "neighbours": analyse.neighbours_description(U, distance, rings)
                      if method in ("gistar", "emerging") else None,
                      "correction": correction if method in ("gistar", "emerging", "change") else None,
                      "time lags (months)": time_lags if method == "emerging" else None,
                      "notes": "; ".join(notes) or None}
            if out:
                steps.step(f"writing {out}")
                from saferhub.hotspots.output import write_units

                write_units(gdf, out)
            fig_map = None
            if png or report:
                steps.step("drawing the map")
                fig_map = _map(U, show, area_poly, params)
            if png:
                from saferhub.report.maps import save_png

                if report:
                    import copy
                    save_png(copy.deepcopy(fig_map), png)
                else:
                    save_png(fig_map, png)
            if report:
                steps.step(f"writing the report {report}")
                _hotspot_report(report, method, gdf, U, fig_map, params, df,
                                cube_ if method == "emerging" else None)
        _summary(con, method, gdf, out, report, png)

    @app.command("concentration")
    def concentration(
        categories: str | None = typer.Option(None, help="categories, slugs or groups"),
        months: str | None = typer.Option(None, help="e.g. 2018-01:2020-12"),
        force: str | None = typer.Option(None, help="police force (default: all in the store)"),
        store: Path | None = typer.Option(None, help="event store folder (default SAFERHUB_STORE)"),
        units: str = typer.Option("grid", help="grid | hex | lsoa | segments"),
        cell_size: int | None = typer.Option(None, help="metres (default: chosen from the area)"),
        boundaries: list[str] | None = typer.Option(None, help="--units lsoa: polygon file, folder or quoted glob; repeatable"),
        network: Path | None = typer.Option(None, help="street lines for --units segments"),
        snap: float = typer.Option(30.0, help="segments: snap events within this many metres"),
        id_column: str | None = typer.Option(None, help="unit id column in --boundaries/--network"),
        area: Path | None = typer.Option(None, help="study area polygon; default a hull of the data"),
        hull: str = typer.Option("concave", help="default study area: concave | convex hull"),
        drop_strays: bool = typer.Option(False, help="leave out stray far-away points (named in a warning)"),
        weights: str | None = typer.Option(None, help="harm weights version or CSV"),
        out: Path | None = typer.Option(None, help="write the measures as CSV"),
        report: Path | None = typer.Option(None, help="HTML report with the Lorenz curve"),
    ):
        """How concentrated crime and harm are: Gini, generalized Gini, units holding 25% / 50%."""
        import pandas as pd

        from saferhub.categories import parse_categories
        from saferhub.geo.cellsize import default_cell_size
        from saferhub.hotspots import analyse
        from saferhub.hotspots import concentration as conc
        from saferhub.hotspots.load import load_events
        from saferhub.months import parse_months

        cats = parse_categories(categories)
        con = _console()
        with _Steps() as steps:
            steps.step("reading events")
            df = load_events(store, force, parse_months(months), cats, weights)
            df, area_poly, area_desc, _ = _setup_area(df, store, force, area, hull, drop_strays, steps)
            if cell_size is None and units in ("grid", "hex"):
                cell_size, why = default_cell_size(*area_poly.bounds)
                con.print(why, highlight=False)
            steps.step(f"building {units} units")
            x, y = df["x"].to_numpy(), df["y"].to_numpy()
            U = _units(units, area_poly, cell_size, boundaries, network, snap, id_column, (x, y))
            c = analyse.unit_values(U, x, y)
            h = analyse.unit_values(U, x, y, df["harm"].to_numpy())
            sc, sh = conc.summarise(c, counts=True), conc.summarise(h, counts=False)
        table = sc.as_frame("crime").merge(sh.as_frame("harm"), on="measure")
        from rich.table import Table

        t = Table(title=f"Concentration over {U.n:,} {units} units ({len(df):,} events)")
        for col in table.columns:
            t.add_column(col)
        for row in table.itertuples(index=False):
            t.add_row(*[_cell_text(v) for v in row])
        from rich.console import Console
        Console().print(t)
        if out:
            from saferhub.report.html import write_atomic

            write_atomic(out, table.to_csv(index=False))
        if report:
            from saferhub.report.charts import lorenz_chart
            from saferhub.report.html import figure_html, page, table_html, write_atomic

            fig = lorenz_chart({"crime": conc.lorenz(c), "harm": conc.lorenz(h)})
            params = {"categories": ", ".join(cats) if cats else "all", "months": months or "all",
                      "units": f"{U.n:,} {units}", "cell size (m)": cell_size if units in ("grid", "hex") else None,
                      "study area": area_desc, "events": f"{len(df):,}", "harm weights": weights or "default"}
            html_ = page("Crime concentration", [
                ("Measures", table_html(pd.DataFrame(table), float_format="{:,.4f}")),
                ("Lorenz curve", figure_html(fig, "Lorenz curves of crime and harm")),
                ("Parameters", _params_table(params)),
                ("How to read this", ("<p>The share of units holding 50% of crime is the law-of-concentration "
                 "figure (Weisburd 2015: 2–6% of street segments). The generalized Gini (Bernasco &amp; "
                 "Steenbeek 2017) corrects the Gini when there are fewer events than units.</p>"))])
            write_atomic(report, html_)

    @app.command("nearrepeat")
    def nearrepeat(
        categories: str | None = typer.Option(None, help="categories, slugs or groups (e.g. burglary)"),
        months: str | None = typer.Option(None, help="e.g. 2019-01:2020-12 (default all)"),
        force: str | None = typer.Option(None, help="police force (default: all in the store)"),
        store: Path | None = typer.Option(None, help="event store folder (default SAFERHUB_STORE)"),
        space_bands: str = typer.Option("0,100,200,300,400", help="metres, inclusive upper bounds; 0 = same place"),
        time_bands: str = typer.Option("0,1,2,3", help="time units, inclusive upper bounds; 0 = same time unit"),
        time_unit: str = typer.Option("months", help="months (police.uk) | days | hours (timestamped data)"),
        permutations: int = typer.Option(99, help="Monte Carlo permutations of the times"),
        seed: int | None = typer.Option(None, help="random seed (reproducible p-values)"),
        drop_strays: bool = typer.Option(False, help="leave out stray far-away points (named in a warning)"),
        out: Path | None = typer.Option(None, help="write the Knox table as CSV"),
        report: Path | None = typer.Option(None, help="HTML report with the Knox table and heat map"),
    ):
        """Near repeat (Knox test): are events close in space also close in time?"""
        import numpy as np
        import pandas as pd

        from saferhub.categories import parse_categories
        from saferhub.geo.strays import check_strays, find_strays
        from saferhub.hotspots.load import event_labels, load_events
        from saferhub.hotspots.nearrepeat import knox

        if time_unit not in ("months", "days", "hours"):
            raise_err("--time-unit must be months, days or hours")
        if permutations < 1:
            raise_err("--permutations must be at least 1")
        cats = parse_categories(categories)
        from saferhub.months import parse_months

        with _Steps() as steps:
            steps.step("reading events")
            df = load_events(store, force, parse_months(months), cats)
            x, y = df["x"].to_numpy(), df["y"].to_numpy()
            keep = check_strays(x, y, event_labels(df, find_strays(x, y)), drop=drop_strays,
                                warn=lambda m: _console().print(f"[bold yellow]{m}[/]", highlight=False))
            df = df[keep]
            if time_unit == "months":
                t = df["month_index"].to_numpy()
            else:
                ts = pd.to_datetime(df.get("occurred_at"), utc=True) if "occurred_at" in df else None
                if ts is None or ts.isna().all():
                    raise_err(f"--time-unit {time_unit} needs timestamped events (police.uk rows only have months)")
                n_missing = int(ts.isna().sum())
                if n_missing:
                    _console().print(f"[yellow]leaving out {n_missing:,} events without a timestamp[/]")
                df, ts = df[ts.notna()], ts[ts.notna()]
                step = pd.Timedelta(days=1) if time_unit == "days" else pd.Timedelta(hours=1)
                # Whole days/hours since the epoch (UTC), independent of the timestamp resolution.
                t = ((ts - pd.Timestamp(0, tz="UTC")) // step).to_numpy().astype(np.int64)
            steps.step(f"Knox test on {len(df):,} events, {permutations} permutations")
            k = knox(df["x"].to_numpy(), df["y"].to_numpy(), np.asarray(t), space_bands, time_bands,
                     permutations, seed, time_unit=time_unit)
        table = k.table()
        from rich.table import Table

        rt = Table(title=f"Knox test: {k.n_events:,} events, {k.n_close_pairs:,} close pairs, "
                         f"{k.permutations} permutations")
        for col in table.columns:
            rt.add_column(col)
        for row in table.itertuples(index=False):
            rt.add_row(row.space, row.time, f"{row.observed:,}", f"{row.expected:,.1f}",
                       f"{row.knox_ratio:.2f}", f"{row.p:.3f}")
        from rich.console import Console
        Console().print(rt)
        if out:
            from saferhub.report.html import write_atomic

            write_atomic(out, table.to_csv(index=False))
        if report:
            from saferhub.report.charts import knox_chart
            from saferhub.report.html import figure_html, page, table_html, write_atomic

            params = {"categories": ", ".join(cats) if cats else "all", "months": months or "all",
                      "events": f"{k.n_events:,}", "space bands (m)": space_bands,
                      f"time bands ({time_unit})": time_bands, "permutations": permutations, "seed": seed}
            html_ = page("Near repeat (Knox test)", [
                ("Knox ratios", figure_html(knox_chart(k), "Knox ratio heat map")),
                ("Knox table", table_html(table, float_format="{:,.3f}")),
                ("Parameters", _params_table(params)),
                ("How to read this", ("<p>Observed: pairs of events this close in space and time. Expected: the "
                 "mean over random re-assignments of the times (Monte Carlo). A Knox ratio above 1 with a small "
                 "p means more near repeats than chance (Ratcliffe's Near Repeat Calculator). Police.uk "
                 "locations are snap points, so 'same place' means the same snap point.</p>"))])
            write_atomic(report, html_)


def _map(U, show, area_poly, params):
    from saferhub.hotspots.inference import CLASS_LABELS
    from saferhub.report import maps

    kind, values, label = show
    title = f"{label}: {params['categories']}, {params['months']}"
    if kind == "continuous":
        return maps.continuous_map(U, values, title, label, area_poly)
    if kind == "diverging":
        return maps.diverging_map(U, values, title, label, area_poly)
    if kind == "gi":
        return maps.categorical_map(U, values.astype(int).tolist(), maps.GI_COLOURS, CLASS_LABELS, title, area_poly)
    if kind == "emerging":
        return maps.categorical_map(U, values, maps.EMERGING_COLOURS, {}, title, area_poly)
    return maps.categorical_map(U, values.astype(int).tolist(), maps.CHANGE_COLOURS,
                                {-1: "significant fall", 0: "no significant change", 1: "significant rise"},
                                title, area_poly)


def _hotspot_report(path, method, gdf, U, fig_map, params, df, cube_):
    import numpy as np
    import pandas as pd

    from saferhub.hotspots import concentration as conc
    from saferhub.report import charts
    from saferhub.report.html import figure_html, page, table_html, write_atomic

    sections = [("Map", figure_html(fig_map, f"map of {method} result") +
                 "<p class='meta'>Legend beside the map; coordinates are British National Grid metres.</p>")]
    base = [c for c in ("unit_id",) if c in gdf]
    if method == "count":
        col = "harm" if params["measure"] == "harm" else "count"
        top = gdf.sort_values(col, ascending=False).head(15)
        sections.append(("Top units", table_html(pd.DataFrame(top[base + [c for c in ("count", "harm", "rate_per_1000") if c in gdf]]))))
        v = gdf[col].to_numpy()
        if v.sum() > 0:
            sections.append(("Lorenz curve", figure_html(charts.lorenz_chart({col: conc.lorenz(v)}), "Lorenz curve")))
    elif method == "kde" and "difference_km2" in gdf:
        for lab, asc in (("Largest rises", False), ("Largest falls", True)):
            top = gdf.sort_values("difference_km2", ascending=asc).head(10)
            sections.append((lab, table_html(pd.DataFrame(top[base + ["density_b_km2", "density_a_km2",
                                                                       "difference_km2", "ratio"]]))))
    elif method == "kde":
        top = gdf.sort_values("density_km2", ascending=False).head(15)
        sections.append(("Densest cells", table_html(pd.DataFrame(top[base + ["density_km2"]]))))
    elif method == "gistar":
        counts = gdf["gi_class"].value_counts().rename_axis("class").reset_index(name="units")
        sections.append(("Classes", table_html(counts)))
        top = gdf.sort_values("gi_z", ascending=False).head(15)
        sections.append(("Strongest hot spots", table_html(pd.DataFrame(top[base + ["value", "gi_z", "gi_p_adj", "gi_class"]]))))
        sections.append(("z-scores", figure_html(charts.histogram(gdf["gi_z"], "Gi* z-scores", "z"), "histogram of z")))
    elif method == "emerging":
        counts = gdf["category"].value_counts().rename_axis("category").reset_index(name="units")
        simple = gdf["simple"].value_counts().rename_axis("simple class").reset_index(name="units")
        sections.append(("Categories (ArcGIS)", table_html(counts)))
        sections.append(("Simple classes", table_html(simple)))
        first = int(df["month_index"].min())
        labels = np.arange(first, first + cube_.shape[0]).astype("datetime64[M]")
        from saferhub.hotspots.emerging import trend_sparkline_data

        spark = trend_sparkline_data(cube_, gdf["category"].to_numpy())
        spark.pop("no pattern", None)
        if spark:
            sections.append(("Trends", figure_html(charts.sparklines(spark, labels), "trend sparklines")))
    else:
        counts = pd.Series(gdf["direction"]).map({-1: "significant fall", 0: "no significant change",
                                                   1: "significant rise"}).value_counts()
        sections.append(("Units by change", table_html(counts.rename_axis("change").reset_index(name="units"))))
        top = gdf.sort_values("change_z", ascending=False).head(10)
        sections.append(("Largest rises", table_html(pd.DataFrame(top[base + ["before", "after", "change_p_adj"]]))))
        tot = pd.DataFrame({"period": ["before", "after"], "events": [gdf["before"].sum(), gdf["after"].sum()]})
        sections.append(("Totals", table_html(tot)))
    sections.append(("Parameters", _params_table(params)))
    write_atomic(path, page(f"Hotspots: {method}", sections, subtitle=f"{params['categories']} · {params['months']}"))


def _summary(con, method, gdf, out, report, png):
    msg = f"{method}: {len(gdf):,} units"
    if method == "gistar":
        msg += f", {int((gdf['gi_bin'] > 0).sum()):,} hot and {int((gdf['gi_bin'] < 0).sum()):,} cold"
    if method == "emerging":
        msg += f", {int(gdf['category'].astype(str).str.contains('hot spot').sum()):,} with a hot-spot pattern"
    written = [str(p) for p in (out, report, png) if p]
    con.print(msg + (" -> " + ", ".join(written) if written else ""), highlight=False)
