"""The thin layer between the store and the pure forecasting code: load events into a cube over
the study area, run forecasts and backtests, and keep the latest backtest with the store."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from saferhub.categories import parse_categories
from saferhub.config import resolve_store
from saferhub.errors import SaferhubError
from saferhub.forecast.covariates import (
    cell_covariates,
    load_lsoa_table,
    resolve_geo_dir,
)
from saferhub.forecast.cube import Cube, build_cube, count_layer, modal_labels
from saferhub.geo.area import cells_in, data_hull
from saferhub.geo.grid import Grid

LATEST = "backtest-latest.json"


def load_cube(store=None, categories="grip", cell_size: float = 150, force=None, geo_dir=None,
              harm_weights=None, notes: list | None = None, layers: bool = False) -> Cube:
    """Events of the chosen categories binned monthly on a grid over the study area: the cells
    whose centres lie in a concave hull (shapely, ratio 0.2) of ALL the located events of the
    force(s) in the store, so the area does not move with the categories or the month chosen."""
    from saferhub.data import events

    if cell_size is None or cell_size < 10:
        raise SaferhubError(f"cell size must be at least 10 metres, got {cell_size}")
    cats = parse_categories(categories)
    # Only what the cube, the predictor layers and the LSOA covariates use: a fifth of the store's
    # columns, and the rest (ids, free text) are the expensive ones to read.
    table = events(store, force=force, located_only=True, harm_weights=harm_weights,
                   columns=["x", "y", "month", "category", "lsoa", "harm_weight"])
    if table.num_rows == 0:
        raise SaferhubError(f"no located events in the store {resolve_store(store)}; "
                            "ingest police.uk CSVs first (saferhub ingest PATH)")
    x = table["x"].to_numpy()
    y = table["y"].to_numpy()
    grid = Grid.covering(x, y, cell_size)
    mask = cells_in(grid, data_hull(x, y, kind="concave"))
    if cats is not None:
        sel = table.filter(pc.is_in(table["category"], value_set=pa.array(cats)))
    else:
        sel = table
    if sel.num_rows == 0:
        raise SaferhubError(f"no located events of {', '.join(cats or [])} in the store")
    month = sel["month"].to_numpy().astype("datetime64[M]")
    all_months = table["month"].to_numpy().astype("datetime64[M]")
    months = np.arange(all_months.min(), all_months.max() + 1, dtype="datetime64[M]")
    cube = build_cube(sel["x"].to_numpy(), sel["y"].to_numpy(), month, grid, months=months,
                      harm=sel["harm_weight"].to_numpy(), mask=mask)
    if layers:
        # predictor layers for the learners: each forecast category apart, and all other crime
        cat = table["category"].to_numpy(zero_copy_only=False)
        chosen = cats if cats is not None else []
        groups = {c: cat == c for c in chosen} if len(chosen) > 1 else {}
        if chosen:
            groups["other crime"] = ~np.isin(cat, chosen)
        for name, s in groups.items():
            if s.any():
                cube.layers[name] = count_layer(x[s], y[s], all_months[s], grid, months)
    folder = resolve_geo_dir(geo_dir)
    if folder is None:
        if notes is not None:
            notes.append("no geo folder (--geo-dir / SAFERHUB_GEO_DIR): IMD and population covariates "
                         "are not used and the bias audit by deprivation is skipped")
        return cube
    lsoa_table = load_lsoa_table(folder)
    if lsoa_table.empty:
        if notes is not None:
            notes.append(f"{folder} holds no IMD 2019 / population files: covariates not used")
        return cube
    cell_lsoa = modal_labels(grid, x, y, table["lsoa"].to_numpy(zero_copy_only=False))
    cube.covariates = cell_covariates(cell_lsoa, lsoa_table)
    return cube


def forecast_table(cube: Cube, risk: np.ndarray) -> pd.DataFrame:
    """cell_id, x, y (lower-left BNG corner), risk for every study-area cell, row-major from the
    south-west corner (a stable order)."""
    area = cube.area
    X, Y = cube.grid.lower_left()
    return pd.DataFrame({"cell_id": cube.grid.cell_ids()[area], "x": X[area].astype(np.int64),
                         "y": Y[area].astype(np.int64), "risk": np.asarray(risk, dtype="float64")[area]})


def backtest_dir(store=None) -> Path:
    return resolve_store(store) / "forecast"


def save_backtest(store, record: dict) -> Path:
    from saferhub.report.html import write_atomic

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

    models = {n: make_model(n, target=target, cell_size=cube.grid.cell_size) for n in names}
    return run_backtest(cube, models, months, progress=progress)


def backtest_record(result, params: dict) -> dict:
    """What is saved with the store: the parameters, the summary, the monthly rows, the winner."""
    from saferhub.forecast.backtest import best_model, summarise

    summary = summarise(result)
    return {"params": params, "best": best_model(summary),
            "summary": summary.replace({np.nan: None}).to_dict(orient="records"),
            "timings": result.timings}
