"""The evaluation service: areas + periods in, a stored run out. The CLI, the web and the hub call
these functions; they hold no statistics of their own (that is yoy, did, displacement, methods ...).

A run is `<store>/evaluations/<run_id>.json`: every parameter (so it can be reproduced) and every
figure the report shows. The run id is a hash of the parameters, so re-running is idempotent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.config import settings
from saferhub.errors import SaferhubError
from saferhub.evaluate import costs, design, inputs, power, yoy
from saferhub.fsutil import write_atomic
from saferhub.geo.cellsize import EVALUATION_CELL_SIZE
from saferhub.months import month_str, parse_months

DEFAULT_CELL = float(EVALUATION_CELL_SIZE)  # why 200 m: geo.cellsize


def _months(spec, label: str) -> np.ndarray:
    months = parse_months(spec)
    if months is None or months.size == 0:
        raise SaferhubError(f"--{label}: give months, e.g. 2019-04:2019-12")
    return months


def _store(store) -> Path:
    return settings(store=store).store_path if store is not None else settings().store_path


def evaluate(areas, before, after, categories=None, harm: bool = False, buffers=(100.0, 250.0),
             controls: str = "auto", store=None, force=None, min_events: int = yoy.DEFAULT_MIN_EVENTS,
             cell_size: float = DEFAULT_CELL, seed: int = 1, plan_id: str | None = None, crossover=None,
             dosage: pd.DataFrame | None = None, uplift: float = 1.0, cost_table: str = costs.DEFAULT_TABLE,
             synthetic: bool = False, simulated: bool = False, imd: bool = False, geo_dir=None,
             save: bool = True, query=None) -> dict:
    """Evaluate an operation in `areas` (file or GeoDataFrame) comparing `after` with `before` months.

    Returns the run dict (also written to the store when save=True). controls: "auto" (matched
    untreated cells outside the buffers) is the only choice today. crossover: a DataFrame of
    area_id, date, arm for a randomised crossover design (timestamped incidents are then read).
    dosage: area_id, date, minutes_min, minutes_max rows for the dose-response analysis.
    imd: match controls within the areas' IMD 2019 decile (needs the geo folder).
    simulated: the inputs (e.g. a demonstration plan) are simulated; the report says so.
    query: an EventQuery (saferhub.query) giving store, force and categories instead of those
    keywords (its months are not used: `before` and `after` are the periods).
    """
    if query is not None:
        store, force = query.store, query.force
        categories = None if query.categories is None else ", ".join(query.categories)
    if controls != "auto":
        raise SaferhubError("--controls: only 'auto' (matched untreated places) is available")
    gdf = inputs.read_areas(areas)
    before_m, after_m = _months(before, "before"), _months(after, "after")
    if np.intersect1d(before_m, after_m).size:
        raise SaferhubError("--before and --after overlap; the periods must be separate")
    buffers = tuple(sorted(float(b) for b in buffers))
    if not buffers or buffers[0] <= 0:
        raise SaferhubError("--buffers: give positive distances in metres, e.g. 100,250")
    store_path = _store(store)
    if dosage is not None and "simulated" in dosage.columns and dosage["simulated"].astype(bool).any():
        simulated = True  # simulated dosage makes the whole run a demonstration
    params = {"areas": gdf[["area_id", "name"]].to_dict("records"),
              "areas_bounds": [round(v, 1) for v in gdf.total_bounds.tolist()],
              "before": [month_str(m) for m in before_m], "after": [month_str(m) for m in after_m],
              "categories": categories, "harm": harm, "buffers": list(buffers), "controls": controls,
              "force": force, "min_events": min_events, "cell_size": cell_size, "seed": seed,
              "plan_id": plan_id, "uplift": uplift, "cost_table": cost_table, "synthetic": synthetic,
              "simulated": simulated, "imd": imd, "store": str(store_path), "methods": design.METHOD_NOTES}
    run_id = "EV-" + hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:10]
    results = design.run_design(gdf, before_m, after_m, categories=categories, buffers=buffers, store=store_path,
                                force=force, min_events=min_events, cell_size=cell_size, seed=seed, harm=harm,
                                synthetic=synthetic,
                                imd=imd, geo_dir=geo_dir)
    if results.get("result") != yoy.TOO_FEW:
        results["cost"] = _cost(results, uplift, cost_table)
        results["power"] = power.minimum_detectable_effect(
            results["yoy_overall"]["before"] / len(before_m), len(before_m), len(after_m),
            controls_ratio=results["did"].get("controls_ratio", 3.0), shock_var=results["did"].get("shock_var", 0.0))
    if crossover is not None and len(crossover):
        results["crossover"] = design.crossover_result(gdf, crossover, store_path, force, min_events, seed)
        # A simulated plan's randomised days (or simulated incidents) prove nothing: say so on the figure.
        results["crossover"]["simulated"] = bool(simulated)
    if dosage is not None and len(dosage):
        results["dose_response"] = design.dose_result(gdf, dosage, store_path, force, categories, min_events)
    run = {"run_id": run_id, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "params": params, **results}
    if save:
        write_atomic(run_path(run_id, store_path), json.dumps(_jsonable(run), indent=1))
    return _jsonable(run)


def _cost(results: dict, uplift: float, table: str) -> dict:
    """Cost of crime avoided from the DiD rate-ratio interval: avoided = after x (1/RR - 1)."""
    did_r = results["did"]
    after = results["yoy_overall"]["after"]
    if not np.isfinite(did_r.get("low", np.nan)):
        return {"result": "no estimate"}
    avoided = sorted([after * (1 / did_r["high"] - 1), after * (1 / did_r["low"] - 1)])
    out = costs.cost_avoided(avoided[0], avoided[1], results["category_mix"], uplift=uplift, version=table)
    out.update(events_avoided_low=avoided[0], events_avoided_high=avoided[1])
    return out


def evaluate_plan(plan_id: str, store=None, **kw) -> dict:
    """Evaluate a patrol plan: its areas, its months against the same months a year before, and its
    crossover design when the plan randomised patrol and control days."""
    store_path = _store(store)
    plan = inputs.read_plan(plan_id, store_path)
    after = np.arange(np.datetime64(plan.start.strftime("%Y-%m")), np.datetime64(plan.end.strftime("%Y-%m")) + 1)
    before = after - 12
    return evaluate(plan.areas, list(before), list(after), store=store_path, plan_id=plan.plan_id,
                    crossover=plan.crossover, simulated=plan.simulated, **kw)


def run_path(run_id: str, store=None) -> Path:
    return _store(store) / "evaluations" / f"{run_id}.json"


def load_run(run_id: str, store=None) -> dict:
    """A stored evaluation run by id (EV-...)."""
    path = run_path(run_id, store)
    if not path.exists():
        raise SaferhubError(f"no evaluation run {run_id!r} in {path.parent}")
    return json.loads(path.read_text())


def list_runs(store=None) -> list[str]:
    folder = _store(store) / "evaluations"
    return sorted(p.stem for p in folder.glob("EV-*.json")) if folder.exists() else []


def summary_for_assessment(run: dict) -> dict:
    """The figures an OSARA plan's assessment stage quotes, from a run (never hand-typed)."""
    out = {"run_id": run["run_id"], "before": f"{run['params']['before'][0]}:{run['params']['before'][-1]}",
           "after": f"{run['params']['after'][0]}:{run['params']['after'][-1]}",
           "areas": len(run["params"]["areas"]), "result": run.get("result", "estimated")}
    if out["result"] == yoy.TOO_FEW:
        out["headline"] = "Too few events to tell whether anything changed."
        return out
    o, d = run["yoy_overall"], run["did"]
    out.update(events_before=o["before"], events_after=o["after"], yoy_change_pct=o.get("change_pct"),
               did_change_pct=100 * (d["rate_ratio"] - 1), did_change_low_pct=100 * (d["low"] - 1),
               did_change_high_pct=100 * (d["high"] - 1), did_p=d["p"], significant=bool(d["p"] < 0.05),
               displacement_wdq=run["displacement"].get("wdq"), wdd=run["displacement"]["wdd"]["wdd"],
               cost_avoided_low=run["cost"].get("low"), cost_avoided_high=run["cost"].get("high"),
               price_year=run["cost"].get("price_year"))
    out["headline"] = ("SIMULATED data, a demonstration: " if run["params"].get("simulated") else "") + design.headline(run)
    out["simulated"] = bool(run["params"].get("simulated"))
    return out


def _jsonable(obj):
    """numpy/pandas values -> plain JSON types (NaN -> None)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return _jsonable(obj.to_dict("records"))
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, (pd.Timestamp, np.datetime64, dt.date)):
        return str(obj)
    return obj
