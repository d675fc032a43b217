"""The forecast service: load events into a cube over the study area, choose a model, forecast,
backtest, and keep the latest backtest with the store. Other modules use `forecast(...)`, whose
result knows its grid (cell ids, geometry, risk), and never touch the cube.

    from saferhub.forecast.service import forecast
    f = forecast("2020-12", model="best", cell_size=150, categories="grip")
    f.cells      # GeoDataFrame: cell_id, x, y, geometry, risk, count (last 12 months), street, lsoa,
                 # lsoa_name, ward, nearby, share_of_crime (EPSG:27700)
    f.params     # model, how it was chosen, forecast month, cell size, study area, ...
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from saferhub.config import resolve_store
from saferhub.errors import SaferhubError
from saferhub.forecast.covariates import cell_covariates, load_lsoa_table, resolve_geo_dir
from saferhub.geo.cube import Cube, build_cube, count_layer, modal_labels
from saferhub.forecast.threads import thread_limit
from saferhub.fsutil import write_atomic
from saferhub.geo.cellsize import DEFAULT_CELL_SIZE
from saferhub.geo.grid import Grid
from saferhub.query import EventQuery, UnitSpec

log = logging.getLogger("saferhub.forecast")
LATEST = "backtest-latest.json"
SHORT_BACKTEST_MONTHS = 2
SHORT_BACKTEST_MODELS = ("naive", "counts12", "decay", "kde", "blend", "prospective", "sepp", "gbm")


@dataclass
class Forecast:
    """Risk per study-area cell for one month: `cells` (cell_id, x, y, geometry, risk and place
    context: the last 12 months' `count`, `street`, `lsoa`, `lsoa_name`, `ward`, `nearby`,
    `share_of_crime`), the grid."""

    cells: object  # GeoDataFrame, EPSG:27700, row-major from the south-west corner
    grid: Grid
    params: dict = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """The stable CSV contract: cell_id, x, y (lower-left BNG corner), risk."""
        return pd.DataFrame(self.cells[["cell_id", "x", "y", "risk"]])


def load_cube(store=None, categories="grip", cell_size: float = DEFAULT_CELL_SIZE, force=None, geo_dir=None,
              harm_weights=None, notes: list | None = None, layers: bool = False, *,
              query: EventQuery | None = None, area=None) -> Cube:
    """Events of the chosen categories binned monthly on the study area's grid
    (`saferhub.data.area.resolve_area`: the force boundary when known, else a hull of ALL the
    force's located events), so the cells are the hotspot analyses' cells and do not move with the
    categories or months chosen. `query` (an EventQuery) replaces store/force/categories/
    harm_weights; `area` is a StudyArea already resolved for the force (or a polygon)."""
    from saferhub.data import events
    from saferhub.data.area import resolve_area

    if cell_size is None or cell_size < 10:
        raise SaferhubError(f"cell size must be at least 10 metres, got {cell_size}")
    q = query or EventQuery(store=store, force=force, categories=categories, weights=harm_weights)
    store, force, harm_weights = q.store, q.force, q.weights
    cats = None if q.categories is None else list(q.categories)
    # Only what the cube, the predictor layers and the LSOA covariates use: the rest (ids, free
    # text) are the expensive columns to read.
    table = events(store, force=force, located_only=True, harm_weights=harm_weights,
                   columns=["x", "y", "month", "category", "lsoa", "harm_weight", "force"])
    if table.num_rows == 0:
        raise SaferhubError(f"no located events in the store {resolve_store(store)}; "
                            "ingest police.uk CSVs first (saferhub ingest PATH)")
    x, y = table["x"].to_numpy(), table["y"].to_numpy()
    forces = q.forces or sorted(pc.unique(table["force"]).to_pylist())
    area = resolve_area(q, UnitSpec(area=area, geo_dir=geo_dir), forces=forces, points=(x, y))
    grid = area.grid(cell_size)
    sel = table if cats is None else table.filter(pc.is_in(table["category"], value_set=pa.array(cats)))
    all_months = table["month"].to_numpy().astype("datetime64[M]")
    if sel.num_rows == 0:
        raise SaferhubError(f"no located events of {', '.join(cats or [])} in the store (it holds forces "
                            f"{', '.join(forces)}; months {all_months.min()}..{all_months.max()})")
    months = np.arange(all_months.min(), all_months.max() + 1, dtype="datetime64[M]")
    cube = build_cube(sel["x"].to_numpy(), sel["y"].to_numpy(), sel["month"].to_numpy().astype("datetime64[M]"),
                      grid, months=months, harm=sel["harm_weight"].to_numpy(), mask=area.cells(grid))
    cube.study_area, cube.study_area_kind = area.source, area.kind
    if layers:  # predictor layers for the learners: each forecast category apart, and all other crime
        cat = table["category"].to_numpy(zero_copy_only=False)
        chosen = cats if cats is not None else []
        groups = {c: cat == c for c in chosen} if len(chosen) > 1 else {}
        if chosen:
            groups["other crime"] = ~np.isin(cat, chosen)
        for name, s in groups.items():
            if s.any():
                cube.layers[name] = count_layer(x[s], y[s], all_months[s], grid, months)
    folder = resolve_geo_dir(geo_dir)
    lsoa_table = load_lsoa_table(folder) if folder is not None else None
    if folder is None or lsoa_table.empty:
        if notes is not None:
            notes.append("no geo folder (--geo-dir / SAFERHUB_GEO_DIR): IMD and population covariates are not used "
                         "and the bias audit by deprivation is skipped" if folder is None else
                         f"{folder} holds no IMD 2019 / population files: covariates not used")
        return cube
    cell_lsoa = modal_labels(grid, x, y, table["lsoa"].to_numpy(zero_copy_only=False))
    cube.covariates = cell_covariates(cell_lsoa, lsoa_table)
    return cube


def choose_model(cube: Cube, through, target: str = "count", store=None, categories="grip", say=log.info,
                 progress=None) -> tuple[str, dict]:
    """The 'best' model: the winner of the latest backtest saved with the store; with none, a short
    backtest (the SHORT_BACKTEST_MONTHS months up to `through`) is run, saved and its winner used.
    `progress(total)` -> (a Rich Progress, its task), as `saferhub.options.progress` gives, shows
    the short backtest's progress. Returns (model name, the backtest record it came from)."""
    month = np.datetime64(through, "M")
    latest = load_latest_backtest(store)
    if latest is None and month <= cube.months[0]:
        say(f"no backtest saved and no month before {month} to run one on: using counts12")
        return "counts12", {"best": "counts12", "params": {}}
    if latest is None:
        first = max(cube.months[0] + 1, month - SHORT_BACKTEST_MONTHS + 1)
        months = np.arange(first, month + 1, dtype="datetime64[M]")
        names = list(SHORT_BACKTEST_MODELS)
        say(f"no backtest saved with this store yet: running a short one first ({len(names)} models, "
            f"forecast months {months[0]}..{months[-1]}) to pick the best model")
        if progress is None:
            result = backtest_store(cube, names, months, target)
        else:
            bar, task = progress(len(names) * len(months))
            with bar:
                result = backtest_store(cube, names, months, target, progress=lambda: bar.advance(task))
        latest = backtest_record(result, {"from": str(months[0]), "to": str(months[-1]),
                                          "cell_size": cube.grid.cell_size, "categories": categories,
                                          "models": names, "target": target, "short": True})
        save_backtest(store, latest)
    p = latest.get("params", {})
    saved = f", saved {latest['saved_at']}" if latest.get("saved_at") else ""
    say(f"best model: {latest['best']} (backtest {p.get('from')}..{p.get('to')}, {p.get('cell_size')} m, "
        f"{p.get('categories')}{saved})")
    return latest["best"], latest


def forecast(through, model: str = "best", cell_size: float = DEFAULT_CELL_SIZE, categories="grip", force=None,
             harm: bool = False, store=None, geo_dir=None, say=log.info, progress=None, *,
             query: EventQuery | None = None, area=None) -> Forecast:
    """Risk per study-area cell for the month after `through`. Every option is checked before the
    (slower) store read; thread pools are sized to the CPUs this process may use. `query` (an
    EventQuery: store, force, categories, weights) replaces those keyword arguments; `area` is
    the force's StudyArea when the caller resolved it already."""
    from saferhub.forecast.registry import make_model
    from saferhub.months import parse_month

    month = parse_month(through)
    target = "harm" if harm else "count"
    name = model.strip().lower()
    if name != "best":
        make_model(name, target=target)  # an unknown name is an error before the store is read
    q = query or EventQuery(store=store, force=force, categories=categories)
    if query is not None:
        store, force, categories = q.store, q.force, q.categories_text
    if cell_size is None or cell_size < 10:
        raise SaferhubError(f"--cell-size must be at least 10 metres, got {cell_size}")
    resolve_geo_dir(geo_dir)
    notes: list[str] = []
    cube = load_cube(cell_size=cell_size, geo_dir=geo_dir, notes=notes, query=q, area=area)
    if cube.index_of(month) >= len(cube.months):
        raise SaferhubError(f"--through {month} is after the last month in the store ({cube.months[-1]})")
    from saferhub.data.store import missing_months

    window = (str(month - 11), str(month))  # the twelve months the forecast and its context lean on
    missing, warning = missing_months(window, store, force)
    if warning:
        say(warning)
        notes.append(warning)
    with thread_limit():
        chosen = {"chosen_by": "asked"}
        if name == "best":
            name, record = choose_model(cube, month, target, store, categories, say, progress)
            chosen = {"chosen_by": "backtest", "backtest": record.get("params", {})}
        if name in ("gbm", "ensemble"):
            for n in notes:
                say(n)
        risk = make_model(name, target=target).fit(cube, month).predict()
    i = cube.index_of(month)
    last12 = cube.counts[max(0, i - 11): i + 1].sum(axis=0)
    cells = cube.grid.to_geodataframe({"risk": np.asarray(risk, dtype="float64"), "count": last12}, mask=cube.area)
    cells = _with_places(cells, cube, month, q, geo_dir)
    params = {"model": name, **chosen, "through": str(month), "forecast_month": str(month + 1),
              "cell_size": cube.grid.cell_size, "categories": categories, "target": target,
              "force": force or "all", "study_area": cube.study_area, "study_area_kind": cube.study_area_kind,
              "cells": len(cells), "months_missing": missing, "notes": notes}
    return Forecast(cells, cube.grid, params)


def _with_places(cells, cube: Cube, month, q: EventQuery, geo_dir):
    """Place context for the forecast cells (saferhub.geo.places), from the chosen categories'
    crimes of the 12 months up to `month`; `count` and `share_of_crime` are of those months."""
    from saferhub.config import settings
    from saferhub.data import events
    from saferhub.geo.places import add_context
    from saferhub.geo.units import grid_units

    ev = events(q.store, force=q.force, months=(str(month - 11), str(month)), categories=q.categories, located_only=True,
                columns=["x", "y", "location", "lsoa", "lsoa_name"]).to_pandas()
    return add_context(cells, grid_units(cube.grid, mask=cube.area), ev, settings(geo_dir=geo_dir).geo_dir)


def backtest_dir(store=None) -> Path:
    return resolve_store(store) / "forecast"


def save_backtest(store, record: dict) -> Path:
    record = dict(record, saved_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    return write_atomic(backtest_dir(store) / LATEST, json.dumps(record, indent=1, default=_jsonable))


def load_latest_backtest(store=None) -> dict | None:
    path = backtest_dir(store) / LATEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SaferhubError(f"{path}: unreadable saved backtest ({exc}); delete it or run saferhub backtest")


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def backtest_store(cube: Cube, names: list[str], months, target: str = "count", progress=None):
    """Run the named models over the forecast months on a loaded cube; returns the result."""
    from saferhub.forecast.backtest import run_backtest
    from saferhub.forecast.registry import make_model

    models = {n: make_model(n, target=target) for n in names}
    with thread_limit():
        return run_backtest(cube, models, months, progress=progress)


def backtest_record(result, params: dict) -> dict:
    """What is saved with the store: the parameters, the summary, the monthly rows, the winner."""
    from saferhub.forecast.backtest import best_model, summarise

    summary = summarise(result)
    return {"params": params, "best": best_model(summary),
            "summary": summary.replace({np.nan: None}).to_dict(orient="records"),
            "timings": result.timings}
