"""The patrol service: every `saferhub patrol` verb as a Python function over the store.
Plans live in <store>/patrol/plans/<plan_id>/ (plan.json, areas.gpkg, schedule.csv; CONTRACTS.md),
the device-id key in <store>/patrol/pseudonym.key (0600), pings in the dataset "pings"."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError
from saferhub.geo.cellsize import PATROL_CELL_SIZE  # why 100 m: see geo.cellsize
from saferhub.patrol import areas as A
from saferhub.patrol.logs import logged_visits
from saferhub.patrol.teams import default_teams, read_teams
from saferhub.query import EventQuery, UnitSpec


EVENT_COLUMNS = ("event_id", "month", "occurred_at", "category", "x", "y", "location", "lsoa_name", "source")


def _events(query: EventQuery):
    from saferhub.hotspots.load import load_events

    return load_events(query=query, columns=EVENT_COLUMNS)


def hot_cells(store=None, force=None, months=None, categories=None, *, source: str = "gistar",
              cell_size: int = PATROL_CELL_SIZE, measure: str = "harm", level: int = 3, top_k: int = 60,
              model: str = "blend", weights=None, events=None, geo_dir=None,
              query: EventQuery | None = None, area=None):
    """Hot cells from the hotspot / forecast services, as the CONTRACTS.md hotspot GeoDataFrame
    (EPSG:27700, unit_id "E<x>N<y>", geometry, count, harm, and z/p/p_adj/gi_bin/hot_class for
    Gi*, risk for a forecast), on the one study area (saferhub.geo.study_area).

    gistar: cells with gi_bin >= level (3 = hot at 99% confidence, FDR-corrected), measure
    "harm" or "count". forecast: the top_k cells by the model's risk for the month after the
    last month of the events. `query` (an EventQuery) replaces store/force/months/categories/
    weights; `area` is the force's StudyArea when resolved already."""
    q = query or EventQuery(store, force, months, categories, weights)
    if source == "forecast":
        from saferhub.forecast.service import forecast

        df = events if events is not None else _events(q)
        through = str(np.datetime64(df["month"].max(), "M"))
        fq = q if q.categories is not None else q.replace(categories="grip")
        fc = forecast(through, model=model, cell_size=cell_size, harm=measure == "harm", geo_dir=geo_dir,
                      query=fq, area=area)
        cells = fc.cells.sort_values(["risk", "cell_id"], ascending=[False, True]).head(top_k)
        gdf = cells.rename(columns={"cell_id": "unit_id"})[["unit_id", "geometry", "risk"]].copy()
        gdf["count"], gdf["harm"] = 0.0, 0.0  # counted per area afterwards (areas.describe)
        gdf.attrs["params"] = {**fc.params, "method": "forecast", "top_k": top_k, "measure": measure}
        return gdf.reset_index(drop=True)
    if source != "gistar":
        raise SaferhubError(f"unknown hot-cell source {source!r} (use gistar, forecast or a polygon file)")
    from saferhub.hotspots import gistar

    gdf = gistar(events, harm=measure == "harm", query=q,
                 spec=UnitSpec(cell_size=cell_size, geo_dir=geo_dir, drop_strays=True, area=area))
    params = dict(gdf.attrs.get("params", {}), level=level)
    gdf = gdf[gdf["gi_bin"] >= level].reset_index(drop=True)
    gdf.attrs["params"] = params
    return gdf


def region_of(area, force=None) -> tuple[float, str]:
    """The study area's size in m² and what it is, for the coverage sentence."""
    if area.kind == "force boundary" and isinstance(force, str):
        return float(area.geometry.area), f"the {force.replace('-', ' ').title()} police force area"
    return float(area.geometry.area), area.source


@dataclass
class AreasResult:
    areas: object          # GeoDataFrame, CONTRACTS.md columns plus name parts and reasons
    coverage: dict
    params: dict = field(default_factory=dict)


def make_areas(store=None, force=None, months=None, categories=None, *, source: str = "gistar",
               cell_size: int = PATROL_CELL_SIZE, max_extent: float = A.MAX_EXTENT, keep: int | None = 20,
               rank_by: str | None = None, level: int = 3, measure: str = "harm", top_k: int = 60,
               model: str = "blend", previous=None, weights=None, geo_dir=None,
               query: EventQuery | None = None, area=None) -> AreasResult:
    """`saferhub patrol areas`: hot cells (Gi*, forecast) or a polygon file -> ranked, named
    areas with stable ids, and the share of area, crime and harm they hold. `query` (an
    EventQuery) replaces store/force/months/categories/weights; `area` is the force's StudyArea
    (resolved here once otherwise, and used for the hot cells and the share of area alike)."""
    from saferhub.data.area import resolve_area

    q = query or EventQuery(store, force, months, categories, weights)
    force, months = q.force, (q.months_text if q.months else None)
    categories = None if q.categories is None else q.categories_text
    df = _events(q)
    area = resolve_area(q, UnitSpec(area=area, geo_dir=geo_dir))
    path = Path(source)
    if source not in ("gistar", "forecast"):
        if not path.exists():
            raise SaferhubError(f"{source}: no such polygon file (or use gistar / forecast)")
        from saferhub.geo.units import read_layers

        given = read_layers([path])
        raw = A.polygon_areas(given)
        if "area_id" in given.columns and previous is None:   # the file's own ids stay
            previous = given
        params = {"method": "polygon file", "file": str(path)}
    else:
        cells = hot_cells(source=source, cell_size=cell_size, measure=measure, level=level, top_k=top_k,
                          model=model, events=df, geo_dir=geo_dir, query=q, area=area)
        raw = A.cell_areas(cells, max_extent, "risk" if source == "forecast" else measure)
        params = dict(cells.attrs.get("params", {}))
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    areas = A.describe(raw, x, y, df["category"].to_numpy(), df["harm"].to_numpy(),
                       df["location"].to_numpy(), df["lsoa_name"].to_numpy())
    if "risk" not in areas:
        areas["risk"] = np.nan
    prev = _read_previous(previous)
    areas["area_id"] = A.stable_ids(areas, prev)
    by = rank_by or ("risk" if source == "forecast" else "harm")
    areas = A.rank_areas(areas, by, keep)
    months_text = f"months {months}" if months else "all months in the store"
    areas["reason"] = A.reasons(areas, months_text, by)
    region, region_desc = region_of(area, force)
    cov = A.coverage(areas, x, y, df["harm"].to_numpy(), region)
    cov["region"] = region_desc
    cov["sentence"] = A.coverage_sentence(cov)
    if prev is not None:
        cov["ids_kept"] = int(areas["area_id"].isin(set(prev["area_id"].astype(str))).sum())
    if q.months is not None:  # the events were read here, so the hot cells cannot tell
        from saferhub.data.store import missing_months

        missing, warning = missing_months(q.month_list, q.store, q.force)
        params.update(months_missing=missing, notes=([warning] if warning else []) + list(params.get("notes", [])))
    params.update({"study_area": area.source, "study_area_kind": area.kind,
                   "source": source if source in ("gistar", "forecast") else "polygons",
                   "force": force, "months": months, "categories": categories, "max_extent_m": max_extent,
                   "ranked_by": by, "keep": keep})
    cols = ["area_id", "name", "rank", "harm", "count", "risk", "top_categories", "anchor", "cells",
            "reason", "geometry"]
    return AreasResult(areas[cols], cov, params)


def _read_previous(previous):
    if previous is None or hasattr(previous, "geometry"):
        return previous
    return read_areas(previous)


def write_areas(areas, path) -> Path:
    """Areas as GPKG or GeoJSON (saferhub.geo.areas, the one areas writer)."""
    from saferhub.geo.areas import write_areas as write

    return write(areas, path)


def read_areas(path):
    """A patrol areas file (saferhub.geo.areas, the one areas reader), sorted by rank."""
    from saferhub.geo.areas import read_areas as read

    return read(path, patrol=True)


# ---------------------------------------------------------------------------------------------
# Plans


def plans_dir(store=None) -> Path:
    from saferhub.data.products import plans_dir as where

    return where(store)


def hot_profile(areas, store=None, force=None):
    """Hour-of-week profile of timestamped partner incidents in each area, or None if none."""
    from saferhub.data import events
    from saferhub.patrol.plan import hour_of_week_profile

    table = events(store, force=force, sources="incident", located_only=True, harm_weights=None,
                   columns=["occurred_at", "x", "y", "agency"])
    if table.num_rows == 0:
        return None
    from saferhub.patrol.notes import AGENCY

    df = table.to_pandas().dropna(subset=["occurred_at"])
    df = df[df["agency"] != AGENCY]   # our own patrol notes would chase the patrols themselves
    if df.empty:
        return None
    prof = hour_of_week_profile(areas, df["occurred_at"], df["x"].to_numpy(), df["y"].to_numpy())
    return prof if prof.sum() > 0 else None


def make_plan(areas_path, start: str, *, days: int = 7, teams=None, n_teams: int = 2, seed: int = 0,
              store=None, force=None, history_months: float = 12.0, created: str | None = None,
              team_defaults: dict | None = None, **params):
    """`saferhub patrol plan`: a plan for the areas file, stored under <store>/patrol/plans/."""
    from saferhub.patrol.plan import PlanParams
    from saferhub.patrol.plan import make_plan as build

    areas = read_areas(areas_path)
    team_list = read_teams(teams) if teams else default_teams(areas, n_teams, seed, **(team_defaults or {}))
    try:
        dt_start = pd.Timestamp(start).date().isoformat()
    except ValueError:
        raise SaferhubError(f"--start {start!r} is not a date (YYYY-MM-DD)") from None
    p = PlanParams(start=dt_start, days=days, seed=seed, **params)
    prof = hot_profile(areas, store, force)
    plan = build(areas, team_list, p, hot_profile=prof, history_days=history_months * 30.44, created=created)
    plan.parameters["hot_times"] = "partner incidents by hour of week" if prof is not None else \
        "none (no timestamped partner incidents in the areas): times drawn evenly over the shifts"
    save_plan(plan, areas, store)
    plan.areas = areas
    return plan


def save_plan(plan, areas, store=None) -> Path:
    """plan.json, areas.gpkg and schedule.csv under <store>/patrol/plans/<plan_id>/ (atomic)."""
    from saferhub.fsutil import write_atomic

    folder = plans_dir(store) / plan.plan_id
    folder.mkdir(parents=True, exist_ok=True)
    write_areas(areas[[c for c in areas.columns]], folder / "areas.gpkg")
    write_atomic(folder / "schedule.csv", plan.schedule.to_csv(index=False))
    write_atomic(folder / "plan.json", json.dumps(plan.to_json(), indent=1, sort_keys=True, default=str))
    return folder


def list_plans(store=None) -> list[str]:
    d = plans_dir(store)
    return sorted(p.name for p in d.iterdir() if (p / "plan.json").exists()) if d.exists() else []


def load_plan(plan_id: str, store=None):
    """A stored plan (CONTRACTS.md): .plan_id .created .seed .start .end .parameters .area_ids
    .teams .crossover .schedule (DataFrame) .areas (GeoDataFrame) ... ; "latest" = the newest."""
    from saferhub.patrol.plan import Plan

    if plan_id == "latest":
        plans = list_plans(store)
        if not plans:
            raise SaferhubError(f"no patrol plans in {plans_dir(store)}; make one with `saferhub patrol plan`")
        plan_id = max(plans, key=lambda p: (plans_dir(store) / p / "plan.json").stat().st_mtime)
    folder = plans_dir(store) / plan_id
    if not (folder / "plan.json").exists():
        known = ", ".join(list_plans(store)) or "none"
        raise SaferhubError(f"no patrol plan {plan_id!r} in {plans_dir(store)} (have: {known})")
    doc = json.loads((folder / "plan.json").read_text())
    schedule = pd.read_csv(folder / "schedule.csv", dtype=str)
    plan = Plan(plan_id=doc["plan_id"], created=doc["created"], seed=doc["seed"], start=doc["start"],
                end=doc["end"], parameters=doc["parameters"], area_ids=doc["area_ids"], teams=doc["teams"],
                crossover=doc["crossover"], schedule=schedule, not_fitted=doc.get("not_fitted", []),
                power=doc.get("power"), reasons=doc.get("reasons", {}), simulated=doc.get("simulated", False),
                summary=doc.get("summary", {}))
    plan.areas = read_areas(folder / "areas.gpkg")
    return plan


# ---------------------------------------------------------------------------------------------
# Pings, visits, dosage


def ingest(paths, store=None, force: str | None = None, geo_dir=None, **rules) -> list[dict]:
    """`saferhub patrol ingest`: pings files (CSV / GPX) into the store's "pings" dataset."""
    from saferhub.data.pings import ingest_pings
    from saferhub.geo.boundary import force_boundary

    boundary = force_boundary(force, store=store, geo_dir=geo_dir) if force else None
    return [ingest_pings(p, store=store, force=force or "unassigned", boundary=boundary, **rules)
            for p in paths]


def _plan_or_areas(plan_id=None, areas_path=None, store=None):
    if areas_path is not None:
        return None, read_areas(areas_path)
    plan = load_plan(plan_id or "latest", store)
    return plan, plan.areas


def visits(store=None, *, plan_id=None, areas_path=None, since=None, until=None, rules=None):
    """`saferhub patrol visits`: device visits and patrol visits from the stored pings, for a
    plan's dates (default the latest plan) or since/until. Returns (Detected, patrol visits)."""
    from saferhub.data.pings import pings
    from saferhub.patrol.visits import VisitRules, detect_visits, patrol_visits

    plan, areas = _plan_or_areas(plan_id, areas_path, store)
    first = since or (plan.start if plan else None)
    last = until or (plan.end if plan else None)
    days = (str(first), str(last)) if first and last else None
    t = pings(store, days=days)
    codes = t["device"].combine_chunks().dictionary_encode() if t.num_rows else None
    dev = codes.indices.to_numpy(zero_copy_only=False).astype("int64") if codes is not None else np.zeros(0, "int64")
    det = detect_visits(dev, t["time"].cast("int64").to_numpy(),
                        t["x"].to_numpy(), t["y"].to_numpy(), areas.geometry.values, areas["area_id"],
                        speed=t["speed"].to_numpy(zero_copy_only=False),
                        accuracy=t["accuracy"].to_numpy(zero_copy_only=False),
                        simulated=t["simulated"].to_numpy(zero_copy_only=False), rules=rules or VisitRules())
    if codes is not None and len(det.visits):   # Arrow dictionary codes back to the pseudonyms
        det.visits["device"] = np.asarray(codes.dictionary.to_pylist(), dtype=object)[det.visits["device"].to_numpy()]
    logged = logged_visits(store, first, last)
    if len(logged):   # officers' own logs count alongside GPS (overlapping ones merge)
        logged = logged[logged["area_id"].isin(set(areas["area_id"]))]
        det.visits = pd.concat([det.visits, logged], ignore_index=True) if len(det.visits) else logged
    return det, patrol_visits(det.visits), plan, areas


def dosage(store=None, *, plan_id=None, areas_path=None, since=None, until=None, rules=None,
           grace_minutes: float = 30.0) -> pd.DataFrame:
    """CONTRACTS.md: per area per date: visits, minutes_min, minutes_max, planned_minutes,
    planned_visits (+ delivered_visits, missed_windows, devices). attrs: headline, compliance,
    simulated, time_between."""
    from saferhub.patrol import dosage as D

    det, pv, plan, areas = visits(store, plan_id=plan_id, areas_path=areas_path, since=since, until=until,
                                  rules=rules)
    first = pd.Timestamp(since or (plan.start if plan else pv["start"].min())).date()
    last = pd.Timestamp(until or (plan.end if plan else pv["end"].max())).date()
    dates = pd.date_range(first, last, freq="D").date.astype(str)
    day = D.daily(pv, plan.schedule if plan else None, areas["area_id"], dates, det.visits, grace_minutes)
    simulated = bool(len(pv) and pv["simulated"].any())
    day.attrs["simulated"] = simulated
    day["simulated"] = simulated  # a column too, so the CSV and whatever reads it say so
    day.attrs["headline"] = D.headline(pv, first, simulated)
    day.attrs["compliance"] = D.compliance(day)
    day.attrs["time_between"] = D.time_between(pv)
    day.attrs["detection"] = {"pings": det.pings, "pings_in_areas": det.in_areas, "device_visits": len(det.visits),
                              "patrol_visits": len(pv), "drive_bys_discarded": det.drive_bys,
                              "passing_through": det.too_short}
    day.attrs["plan_id"] = plan.plan_id if plan else None
    return day


def simulate(store=None, *, plan_id="latest", seed: int = 0, interval: float | None = None,
             compliance: float = 0.55, out=None):
    """`saferhub patrol simulate`: SIMULATED pings for a plan, written to a CSV named
    simulated-pings-<plan>.csv (and the truth beside it). Returns (pings path, truth path, faults)."""
    from saferhub.fsutil import write_atomic
    from saferhub.patrol.simulate import simulate as walk

    plan = load_plan(plan_id, store)
    teams = {t["name"]: (t["x"], t["y"]) for t in plan.teams}
    sim = walk(plan.areas, plan.schedule, seed=seed, interval=interval, compliance=compliance, stations=teams)
    from saferhub.data.pings import pseudonym_key, pseudonymise

    truth = sim.truth.assign(device=pseudonymise(sim.truth["device"].to_numpy(), pseudonym_key(store)),
                             simulated=True)   # the truth names radios as the store does
    folder = Path(out) if out else plans_dir(store) / plan.plan_id
    pings_path = folder / f"simulated-pings-{plan.plan_id}-seed{seed}.csv"
    truth_path = folder / f"simulated-truth-{plan.plan_id}-seed{seed}.csv"
    write_atomic(pings_path, sim.pings.to_csv(index=False))
    write_atomic(truth_path, truth.to_csv(index=False))
    return pings_path, truth_path, sim.faults


def write_plan_files(plan, out_dir, store=None, force=None, pdf: bool = True) -> list[Path]:
    """The plan's files for people: schedule CSV, areas GPKG + GeoJSON, GPX per team, briefing."""
    from saferhub.fsutil import write_atomic
    from saferhub.patrol import report as R

    out_dir = Path(out_dir)
    paths = [write_atomic(out_dir / "schedule.csv", plan.schedule.to_csv(index=False)),
             write_areas(plan.areas, out_dir / "areas.gpkg"), write_areas(plan.areas, out_dir / "areas.geojson")]
    paths += R.write_gpx(plan, out_dir)
    try:
        import shapely

        minx, miny, maxx, maxy = shapely.total_bounds(plan.areas.geometry.values)
        from saferhub.data import events as read_events

        ev = read_events(store, force=force, bbox=(minx - 200, miny - 200, maxx + 200, maxy + 200),
                         harm_weights=None, columns=["x", "y"]).to_pandas()
    except SaferhubError:
        ev = None
    paths += R.write_briefing(plan, out_dir, ev, pdf=pdf)
    return paths
