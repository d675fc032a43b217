"""Every force at once: the same verbs, one task per force, in this process or on Dask.

`national(query, spec, ...)` lists the store's forces (or `query.force`), and runs `force_task`
for each — a task a worker can be handed whole, since its arguments are the typed contracts
(`EventQuery`, `UnitSpec`, serialised with `to_dict`): it resolves the force's study area ONCE and
passes it to every verb (Gi* hot spots, crime concentration, a backtest of the forecast against
the naive baseline, and with `layers` the force's map layers: national.products). Tasks run one after another (`workers=0`), on a
`distributed.LocalCluster` of `workers` processes, or on a running cluster (`scheduler=ADDRESS`,
whose workers read the same Parquet store). A force that fails is reported with its one-line
reason and does not stop the others. Dask's own guidance is tasks of >= 100 ms (its overhead is
~1 ms a task): one force is seconds, so one task per force.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError
from saferhub.geo.cellsize import DEFAULT_CELL_SIZE
from saferhub.query import EventQuery, UnitSpec

SKILL_COVERAGE = 0.05  # PAI at 5% of the area: the share a hot-spot programme can patrol
SKILL_MONTHS = 3       # forecast months scored per force (the last ones of the query)
SCHEDULER_TIMEOUT_S = 10  # a scheduler that does not answer in this time is an error, not a hang
COLUMNS = ["force", "events", "months", "study_area_kind", "cells", "gini", "cells_holding_50pct",
           "hot_cells", "hot_cell_share", "crime_in_hot_cells", "model", "pai_model", "pai_naive", "skill_vs_naive",
           "seconds", "gistar_digest", "study_area"]


@dataclass
class NationalResult:
    table: pd.DataFrame                      # one row per force that ran (COLUMNS)
    failures: dict[str, str] = field(default_factory=dict)   # force -> one-line reason
    params: dict = field(default_factory=dict)
    backtest: pd.DataFrame | None = None     # per force x model (national.products), if asked
    backtest_summary: pd.DataFrame | None = None  # per model, across forces
    layers: list = field(default_factory=list)    # catalogue entries of the published layers


def forces_in_store(store=None) -> list[str]:
    from saferhub.config import resolve_store
    from saferhub.data.store import Catalog

    keys = Catalog.load(resolve_store(store)).partitions
    return sorted({k.split("/")[1] for k in keys if k.startswith("events/")})


def fingerprint(store, force: str, months=None) -> str:
    """What a force's row was computed from: the content stamps of the force's event partitions
    (of `months`, else all). police.uk republishing a month changes its stamp, so the row is
    recomputed by `--update`; a month it did not touch leaves the fingerprint as it was."""
    from saferhub.config import resolve_store
    from saferhub.data.store import Catalog

    wanted = None if months is None else set(months)
    parts = Catalog.load(resolve_store(store)).partitions
    lines = sorted(f"{k}={rec.get('content')}" for k, rec in parts.items()
                   if k.startswith(f"events/{force}/") and (wanted is None or k.rsplit("/", 1)[1] in wanted))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _saved_path(store):
    from saferhub.config import resolve_store

    return resolve_store(store) / "national" / "latest.json"


def _load_saved(store, setup: dict) -> dict:
    """The last run's rows and fingerprints by force, when it was run with the same settings."""
    import json

    path = _saved_path(store)
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}   # unreadable: everything is recomputed, and the file rewritten
    return doc.get("forces", {}) if doc.get("setup") == setup else {}


def _save(store, setup: dict, forces: dict) -> None:
    import json

    from saferhub.fsutil import write_atomic

    write_atomic(_saved_path(store), json.dumps({"setup": setup, "forces": forces}, indent=1, default=str))


def force_summary(query: dict, spec: dict, model: str = "counts12") -> dict:
    """One force's national-table row (`force_task` without the backtest rows and layers)."""
    return force_task(query, spec, model)["row"]


def force_task(query: dict, spec: dict, model: str = "counts12", backtest_months: int = 0,
               layers: bool = False) -> dict:
    """Everything one force contributes (the Dask task): its table row, with `backtest_months`
    its backtest rows, with `layers` its published map layers (national.products). `query` /
    `spec`: EventQuery / UnitSpec as dicts, so any worker can rebuild them exactly; the worker
    reads its own force's events from the Parquet store (nothing but these dicts is sent)."""
    from saferhub.data.area import resolve_area
    from saferhub.forecast.service import backtest_store, load_cube
    from saferhub.hotspots import concentration, gistar
    from saferhub.hotspots.concentration import summarise
    from saferhub.national.products import backtest_rows, publish_force_layers

    t0 = time.perf_counter()
    q, u = EventQuery.from_dict(query), UnitSpec.from_dict(spec)
    area = resolve_area(q, u)                      # once per force, passed to every verb
    u = u.replace(area=area, drop_strays=True)
    hot = gistar(query=q, spec=u)
    conc = concentration(query=q, spec=u)
    counts = conc["count"].to_numpy()
    c = summarise(counts, counts=True)
    hot_mask = hot["gi_bin"].to_numpy() >= 3       # hot at 99% confidence, FDR-corrected
    row = {"force": q.force, "events": int(hot.attrs["params"]["events"]), "months": hot.attrs["params"]["months"],
           "study_area_kind": area.kind, "study_area": area.source, "cells": int(len(hot)),
           "gini": round(c.gini, 6), "cells_holding_50pct": round(c.share_50, 6),
           "hot_cells": int(hot_mask.sum()), "hot_cell_share": round(float(hot_mask.mean()), 6),
           "crime_in_hot_cells": round(float(hot["count"].to_numpy()[hot_mask].sum() / max(1, hot["count"].sum())), 6),
           "gistar_digest": _digest(hot)}
    out = {"row": row, "backtest": [], "layers": []}
    # forecast skill: the model against the naive baseline (last month's counts) on the last months;
    # each month's forecast uses only the months before it, so one backtest serves both products
    cube = load_cube(cell_size=u.cell_size, geo_dir=u.geo_dir, query=q, area=area)
    last = np.datetime64(q.months[-1], "M") if q.months else cube.months[-1]
    span = max(SKILL_MONTHS, int(backtest_months))
    months = np.arange(max(cube.months[0] + 1, last - span + 1), last + 1, dtype="datetime64[M]")
    row["model"] = model
    if len(months) and model != "naive":
        res = backtest_store(cube, ["naive", model], months)
        mo = res.monthly[np.isclose(res.monthly["coverage"], SKILL_COVERAGE)]
        mo = mo[mo["month"].to_numpy().astype(str).astype("datetime64[M]") > last - SKILL_MONTHS]
        pai = mo.groupby("model")["pai"].mean()
        row.update(pai_model=round(float(pai[model]), 6), pai_naive=round(float(pai["naive"]), 6),
                   skill_vs_naive=round(float(pai[model] / pai["naive"]), 6) if pai["naive"] > 0 else None)
        if backtest_months:
            out["backtest"] = backtest_rows(q.force, res, int(backtest_months))
    if layers:
        out["layers"] = publish_force_layers(q, u, area, hot, model, summary=row)
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _digest(gdf) -> str:
    """A fingerprint of a Gi* result (cell ids, counts, z to 1e-9): equal results, equal digests."""
    h = hashlib.sha256()
    h.update("|".join(gdf["unit_id"].astype(str)).encode())
    h.update(np.asarray(gdf["count"], float).tobytes())
    h.update(np.round(np.asarray(gdf["z"], float), 9).tobytes())
    return h.hexdigest()[:16]


def _one(fn, force, *args):
    try:
        return force, fn(*args), None
    except SaferhubError as exc:
        return force, None, str(exc)
    except Exception as exc:  # noqa: BLE001 (a worker's crash is reported for its force, the rest go on)
        return force, None, f"{type(exc).__name__}: {exc}"


def national(query: EventQuery | None = None, spec: UnitSpec | None = None, *, model: str = "counts12",
             workers: int = 0, scheduler: str | None = None, forces=None, progress=None,
             update: bool = False, backtest_months: int = 0, layers: bool = False) -> NationalResult:
    """The national table: one row per force (see the module doc). `workers=0` runs in this
    process; `workers=N` starts a LocalCluster of N single-threaded processes; `scheduler`
    connects to a running cluster. `progress()` is called once per finished force. Each run is
    saved with the store (`<store>/national/latest.json`, rows and input fingerprints); with
    `update`, a force whose partitions have the same fingerprints as in the saved run (same
    settings) keeps its saved row and only the others are recomputed. `backtest_months`: also
    the national backtest over that many last months; `layers`: also publish every force's map
    layers (saferhub.national.products)."""
    q = query or EventQuery()
    u = spec or UnitSpec(cell_size=DEFAULT_CELL_SIZE)
    if u.cell_size is None:
        u = u.replace(cell_size=DEFAULT_CELL_SIZE)  # one size for every force, so rows compare
    todo = list(forces or q.forces or forces_in_store(q.store))
    if not todo:
        raise SaferhubError("no forces in the event store; ingest police.uk files first")
    args = {f: (q.replace(force=f).to_dict(), u.to_dict()) for f in todo}
    setup = {"query": {**q.to_dict(), "force": None, "store": None}, "spec": u.to_dict(), "model": model,
             "backtest_months": int(backtest_months), "layers": bool(layers)}
    extra = (int(backtest_months), bool(layers))
    prints = {f: fingerprint(q.store, f, q.months) for f in todo}
    saved = _load_saved(q.store, setup) if update else {}
    reused = {f: saved[f]["out"] for f in todo if f in saved and saved[f].get("fingerprint") == prints[f]
              and "out" in saved[f]}
    run = [f for f in todo if f not in reused]
    t0 = time.perf_counter()
    if not run:
        outcomes, how = [], "nothing to recompute"
    elif not workers and not scheduler:
        outcomes = []
        for f in run:
            outcomes.append(_one(force_task, f, *args[f], model, *extra))
            if progress:
                progress()
        how = "one process"
    else:
        outcomes, how = map_forces(force_task, run, {f: (*args[f], model, *extra) for f in run},
                                   workers=workers, scheduler=scheduler, progress=progress)
    if progress:
        for _ in reused:
            progress()
    outs = [o for _, o, _ in outcomes if o is not None] + list(reused.values())
    rows = [o["row"] for o in outs]
    failures = {f: e for f, _, e in outcomes if e is not None}
    keep = {f: v for f, v in _load_saved(q.store, setup).items() if f not in failures}
    keep.update({o["row"]["force"]: {"out": o, "fingerprint": prints[o["row"]["force"]]} for o in outs})
    _save(q.store, setup, keep)
    table = pd.DataFrame(rows, columns=COLUMNS).sort_values("force").reset_index(drop=True)
    from saferhub.national.products import BACKTEST_COLUMNS, register_layers, summarise_backtest

    bt = sm = None
    if backtest_months:
        bt = pd.DataFrame([r for o in outs for r in o["backtest"]], columns=BACKTEST_COLUMNS)
        bt = bt.sort_values(["force", "model"]).reset_index(drop=True)
        sm = summarise_backtest(bt)
    entries = sorted((e for o in outs for e in o["layers"]), key=lambda e: e["name"])
    if layers:
        register_layers(q.store, entries, failed=failures)
    params = {"forces": len(todo), "ran": len(rows), "failed": len(failures), "run_on": how,
              "seconds": round(time.perf_counter() - t0, 1), "cell_size": u.cell_size, "model": model,
              "recomputed": sorted(f for f, r, _ in outcomes if r is not None), "reused": sorted(reused),
              "query": q.to_dict(), "backtest_months": int(backtest_months), "layers": len(entries)}
    return NationalResult(table, failures, params, bt, sm, entries)


def local_cluster(workers: int):
    """A LocalCluster of `workers` single-threaded processes (the numeric kernels have their own
    thread pools; one task per force fills a process). Dask's statistical profiler, which samples
    every worker thread every 10 ms, is off: its CPU scales with wall time, not with the work."""
    import logging

    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR)


def map_forces(fn, todo, args: dict, *, workers: int = 2, scheduler: str | None = None, progress=None):
    """Run `fn(*args[force])` for each force of `todo` on Dask, one task per force (a LocalCluster
    of `workers` single-threaded processes, or the cluster at `scheduler`). Returns
    ([(force, result or None, one-line error or None)], how it ran) — a force that fails, or
    whose worker is lost more often than Dask retries, is reported and the others go on. Tasks
    are handed only `args` (small dicts); workers read their own force's events from the store."""
    from distributed import Client, as_completed

    if scheduler:
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise SaferhubError(f"cannot reach the Dask scheduler at {scheduler} within {SCHEDULER_TIMEOUT_S} s "
                                f"({type(exc).__name__}); is it running, and is the address tcp://HOST:PORT?") from None
        cluster, how = None, f"the Dask cluster at {scheduler}"
    else:
        cluster = local_cluster(int(workers))
        client, how = Client(cluster), f"a Dask LocalCluster of {int(workers)} worker(s)"
    try:
        futures = {client.submit(_one, fn, f, *args[f], key=f"{fn.__name__}-{f}", pure=False): f for f in todo}
        outcomes = []
        for fut in as_completed(futures):
            f = futures[fut]
            try:
                outcomes.append(fut.result())
            except Exception as exc:  # noqa: BLE001 (a worker lost mid-task: report it, go on)
                outcomes.append((f, None, f"the task failed on the cluster ({type(exc).__name__}: {exc})"))
            if progress:
                progress()
        return outcomes, how
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
