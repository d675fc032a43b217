"""CLI: `saferhub patrol areas | plan | simulate | ingest | visits | dosage | notes` — thin shells over
saferhub.patrol.service."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from saferhub import options
from saferhub.geo.cellsize import PATROL_CELL_SIZE

patrol = typer.Typer(help="Act: patrol areas, plans and routes, visits from GPS, dosage and compliance.",
                     no_args_is_help=True)


def _err():
    return options.console(stderr=True)


def _out():
    return options.console()


@patrol.command("areas")
def areas_cmd(
    out: Path = typer.Option(..., "--out", help="areas file to write: .gpkg or .geojson"),
    source: str = typer.Option("gistar", help="gistar | forecast | a polygon file (GPKG/GeoJSON)"),
    store: options.Store = None, force: options.Force = None, months: options.Months = None,
    categories: options.Categories = None, geo_dir: options.GeoDir = None,
    cell_size: int = typer.Option(PATROL_CELL_SIZE, help="hot-cell size in metres"),
    max_extent: float = typer.Option(300.0, help="largest area, metres each way"),
    keep: int = typer.Option(20, help="how many areas to keep (best first)"),
    rank_by: Optional[str] = typer.Option(None, help="harm | count | risk (default harm; risk for forecast)"),
    level: int = typer.Option(3, min=1, max=3, help="Gi*: 3 = hot at 99%, 2 = 95%, 1 = 90% confidence"),
    top_k: int = typer.Option(60, help="forecast: top cells by risk"),
    previous: Optional[Path] = typer.Option(None, help="last run's areas file: persisting areas keep their ids"),
    json_out: options.Json = False,
):
    """Patrol areas from Gi* hot cells, a forecast's top cells or a polygon file: merged, ranked
    by harm, named, with stable ids; says what share of area, crime and harm they hold."""
    import json

    from saferhub.patrol import service

    r = service.make_areas(store, force, months, categories, source=source, cell_size=cell_size,
                           max_extent=max_extent, keep=keep, rank_by=rank_by, level=level, top_k=top_k,
                           previous=previous, geo_dir=geo_dir)
    service.write_areas(r.areas, out)
    for note in r.params.get("notes", []):
        if note.startswith("WARNING"):
            _err().print(note, style="bold yellow", highlight=False)
    if json_out:
        _out().print_json(json.dumps({"coverage": r.coverage, "params": r.params, "file": str(out)}, default=str))
        return
    from rich.table import Table

    t = Table("rank", "id", "name", "crimes", "harm")
    for a in r.areas.itertuples():
        t.add_row(str(a.rank), a.area_id, a.name, f"{a.count:.0f}", f"{a.harm:,.0f}")
    _out().print(t)
    _out().print(r.coverage["sentence"] + ".")
    if "ids_kept" in r.coverage:
        _out().print(f"{r.coverage['ids_kept']} area ids kept from {previous}.")
    _err().print(f"wrote {out}")


@patrol.command("plan")
def plan_cmd(
    areas: Path = typer.Option(..., "--areas", help="areas file from `saferhub patrol areas`"),
    start: str = typer.Option(..., "--start", help="first day, YYYY-MM-DD"),
    days: int = typer.Option(7, min=1, max=92),
    teams: Optional[Path] = typer.Option(None, help="teams CSV: team, x,y or lon,lat, shift_start, shift_end, patrol_hours, officers, days"),
    n_teams: int = typer.Option(2, help="without --teams: this many teams placed among the areas"),
    shift: str = typer.Option("10:00-18:00", help="without --teams: the shift window"),
    patrol_hours: float = typer.Option(4.0, help="without --teams: patrol hours per shift per team"),
    seed: int = typer.Option(0, help="random seed (recorded): the same seed and inputs give the same plan"),
    visit_minutes: int = typer.Option(15), visits_per_day: int = typer.Option(2, help="visits per area per day"),
    min_gap_hours: float = typer.Option(2.0, help="hours between visits to one area"),
    walk_kmh: float = typer.Option(4.8), detour: float = typer.Option(1.3),
    weekly_hours: Optional[float] = typer.Option(None, help="officer-hours per team per week, at most"),
    crossover: bool = typer.Option(False, help="random patrol/control days per area, balanced by weekday"),
    history_months: float = typer.Option(12.0, help="months the areas' counts cover (for the power figure)"),
    out_dir: Optional[Path] = typer.Option(None, help="also write schedule, areas, GPX routes and the briefing here"),
    pdf: bool = typer.Option(True, help="with --out-dir: the briefing as PDF too"),
    store: options.Store = None, force: options.Force = None,
):
    """A patrol plan: routes per team per shift covering the most harm (OR-Tools), visit times
    at random inside the shifts, optional crossover days; stored with the store."""
    from saferhub.patrol import service

    try:
        s0, s1 = shift.split("-")
    except ValueError:
        raise typer.BadParameter("--shift is HH:MM-HH:MM") from None
    plan = service.make_plan(areas, start, days=days, teams=teams, n_teams=n_teams, seed=seed, store=store,
                             force=force, history_months=history_months,
                             team_defaults={"shift_start": s0, "shift_end": s1, "patrol_hours": patrol_hours},
                             visit_minutes=visit_minutes, visits_per_area_per_day=visits_per_day,
                             min_gap_hours=min_gap_hours, walk_kmh=walk_kmh, detour=detour,
                             weekly_officer_hours=weekly_hours, crossover=crossover)
    con = _out()
    con.print(f"plan {plan.plan_id}: {plan.summary['visits_planned']} visits planned for "
              f"{len(plan.teams)} team(s), {plan.start} to {plan.end}")
    if plan.not_fitted:
        import collections

        for reason, n in collections.Counter(d["reason"] for d in plan.not_fitted).most_common():
            con.print(f"  not fitted: {n} visit(s): {reason}")
    if plan.power:
        con.print(plan.power["sentence"])
    if out_dir:
        service.write_plan_files(plan, out_dir, store=store, force=force, pdf=pdf)
        _err().print(f"wrote the schedule, areas, GPX routes and briefing to {out_dir}")


@patrol.command("simulate")
def simulate_cmd(
    plan: str = typer.Option("latest", help="plan id (default the newest)"),
    seed: int = typer.Option(0), interval: Optional[float] = typer.Option(None, help="seconds between pings (default 10 s-5 min per radio)"),
    compliance: float = typer.Option(0.55, min=0.0, max=1.0, help="share of planned visits delivered"),
    out: Optional[Path] = typer.Option(None, help="folder for the SIMULATED pings CSV (default the plan's folder)"),
    store: options.Store = None,
):
    """SIMULATED GPS pings of teams walking a plan (noise, drop-outs, drive-bys, faults) + truth."""
    from saferhub.patrol import service

    pings, truth, faults = service.simulate(store, plan_id=plan, seed=seed, interval=interval,
                                            compliance=compliance, out=out)
    _out().print(f"SIMULATED pings: {pings}\nSIMULATED truth: {truth}\ninjected faults: {faults}")


@patrol.command("ingest")
def ingest_cmd(paths: list[Path] = typer.Argument(..., help="pings CSV or GPX files"),
               manual: bool = typer.Option(False, help="the files are manual visit logs (callsign, area_id, start, end)"),
               store: options.Store = None, force: options.Force = None, geo_dir: options.GeoDir = None,
               json_out: options.Json = False):
    """GPS pings into the store (dataset "pings", by day); bad rows quarantined with reasons."""
    import json

    from saferhub.patrol import service

    if manual:
        from saferhub.patrol.logs import import_log

        for p in paths:
            r = import_log(p, store)
            _out().print(f"{r['file']}: {r['change']}: {r['visits']} logged visits")
        return

    reports = service.ingest(paths, store=store, force=force, geo_dir=geo_dir)
    if json_out:
        _out().print_json(json.dumps(reports))
        return
    for r in reports:
        reasons = "; ".join(f"{k} {v}" for k, v in r["by_reason"].items()) or "none"
        _out().print(f"{r['file']}: {r['change']}: read {r['read']:,} = stored {r['stored']:,} + quarantined "
                     f"{r['quarantined']:,} ({reasons})")


@patrol.command("visits")
def visits_cmd(out: Path = typer.Option(..., "--out", help="visits CSV"),
               plan: Optional[str] = typer.Option(None, help="plan id (default the newest)"),
               areas: Optional[Path] = typer.Option(None, help="an areas file instead of a plan"),
               since: Optional[str] = None, until: Optional[str] = None, store: options.Store = None):
    """Patrol visits (radios together in an area count once) with dwell [min, max] minutes."""
    from saferhub.fsutil import write_atomic
    from saferhub.patrol import service

    det, pv, _, _ = service.visits(store, plan_id=plan, areas_path=areas, since=since, until=until)
    write_atomic(out, pv.to_csv(index=False))
    _out().print(f"{len(pv):,} patrol visits ({len(det.visits):,} radio visits; {det.drive_bys:,} drive-bys "
                 f"and {det.too_short:,} pass-throughs not counted) -> {out}")


@patrol.command("dosage")
def dosage_cmd(out: Optional[Path] = typer.Option(None, "--out", help="dosage CSV (area, date)"),
               report: Optional[Path] = typer.Option(None, help="HTML report with charts and a map"),
               plan: Optional[str] = typer.Option(None, help="plan id (default the newest)"),
               areas: Optional[Path] = typer.Option(None, help="an areas file instead of a plan"),
               since: Optional[str] = None, until: Optional[str] = None, store: options.Store = None,
               force: options.Force = None, geo_dir: options.GeoDir = None):
    """Dosage per area per day and week, compliance against the plan, time between visits."""
    from saferhub.fsutil import write_atomic
    from saferhub.patrol import dosage as D
    from saferhub.patrol import report as R
    from saferhub.patrol import service

    day = service.dosage(store, plan_id=plan, areas_path=areas, since=since, until=until)
    if out:
        write_atomic(out, day.to_csv(index=False))
    if report:
        from saferhub.geo.boundary import force_boundary

        _, area_gdf = service._plan_or_areas(plan, areas, store)
        outline = force_boundary(force, store=store, geo_dir=geo_dir) if force else None
        write_atomic(report, R.dosage_html(day, D.weekly(day), area_gdf, outline))
    con = _out()
    con.print(day.attrs["headline"])
    c = day.attrs["compliance"]
    if c["planned_visits"]:
        con.print(f"{c['delivered_visits']} of {c['planned_visits']} planned visits delivered "
                  f"({c['visit_compliance']:.0%}); {c['missed_windows']} windows missed")



@patrol.command("notes")
def notes_cmd(path: Path = typer.Argument(..., help="notes CSV: note_id, time, area_id, kind, detail"),
              plan: Optional[str] = typer.Option(None, help="plan id whose areas the notes name (default newest)"),
              areas: Optional[Path] = typer.Option(None, help="an areas file instead of a plan"),
              store: options.Store = None):
    """Patrol intelligence notes into the store as partner incidents (agency police-patrol) for the hub."""
    from saferhub.patrol import service
    from saferhub.patrol.notes import import_notes

    _, area_gdf = service._plan_or_areas(plan, areas, store)
    report = import_notes(path, area_gdf, store)
    for f in report.files:
        _out().print(f"{path.name}: read {f.read} = stored {f.stored} + quarantined {f.quarantined}")


def register(app: typer.Typer) -> None:
    app.add_typer(patrol, name="patrol")
