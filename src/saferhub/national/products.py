"""One force's national products, computed inside the task a worker is handed
(`national.runner.force_task`): the national-table row, its backtest summary, and its map layers.

- Backtest: the model and the naive baseline (last month's counts) forecast each of the query's
  last `BACKTEST_MONTHS` months from the months before; per model, PAI and hit rate at 5% of the
  area, months beating the baseline. The national backtest is these rows for every force, and a
  summary across forces (`summarise_backtest`).
- Layers: the force's Gi* hot/cold cells and its forecast's riskiest cells, made by the SAME layer
  functions and written by the SAME `write_product` as the single-force `saferhub publish`
  (briefing.layers), named `national-<force>-hotspots-<categories>-gistar` and
  `national-<force>-forecast-<categories>`, so the web map can show any force. Workers write
  only their own force's files (atomic); the driver lists them once in the `national-map-layers`
  catalogue (same entry format as `map-layers`), so workers never race on one catalogue file.
  Like `saferhub publish`, each layer also gets its 2x2..16x16 blocks (`levels`, drawn zoomed out)
  and `hot_bounds` (where the map opens on the force); the Gi* entry carries the force's `overview`
  (a point inside its study area and its national-table figures) for the web map's national view.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

CATALOGUE = "national-map-layers"
BACKTEST_MONTHS = 12
COVERAGE = 0.05
BACKTEST_COLUMNS = ["force", "model", "months", "pai", "hit_rate", "pai_vs_naive", "months_beating_naive"]


def backtest_rows(force: str, result, months: int) -> list[dict]:
    """Per model, over the last `months` forecast months of `result`, at 5% of the area: mean PAI
    and hit rate, PAI against naive, months beating it."""
    import dataclasses

    from saferhub.forecast.backtest import summarise

    last = sorted(result.monthly["month"].astype(str).unique())[-months:]
    result = dataclasses.replace(result, monthly=result.monthly[result.monthly["month"].astype(str).isin(last)],
                                 scores=result.scores[result.scores["month"].astype(str).isin(last)])
    s = summarise(result, baseline="naive")
    s = s[np.isclose(s["coverage"], COVERAGE)]
    return [{"force": force, "model": r.model, "months": int(r.months), "pai": _r(r.pai), "hit_rate": _r(r.hit_rate),
             "pai_vs_naive": _r(r.pai_vs_baseline), "months_beating_naive": int(r.months_beating_baseline)}
            for r in s.itertuples()]


def _r(v):
    return None if v is None or not np.isfinite(v) else round(float(v), 6)


def summarise_backtest(rows: pd.DataFrame) -> pd.DataFrame:
    """Across forces, per model: forces, mean and median PAI against naive, forces where the model
    beats naive on average."""
    if rows.empty:
        return pd.DataFrame(columns=["model", "forces", "pai", "pai_vs_naive_mean", "pai_vs_naive_median",
                                     "forces_beating_naive"])
    g = rows.groupby("model", sort=True)
    return g.agg(forces=("force", "nunique"), pai=("pai", "mean"), pai_vs_naive_mean=("pai_vs_naive", "mean"),
                 pai_vs_naive_median=("pai_vs_naive", "median"),
                 forces_beating_naive=("pai_vs_naive", lambda s: int((s > 1).sum()))).reset_index()


def layer_names(force: str, categories: str) -> tuple[str, str]:
    from saferhub.briefing.layers import _slug

    return f"national-{force}-hotspots-{_slug(categories)}-gistar", f"national-{force}-forecast-{_slug(categories)}"


def overview(area, summary: dict | None) -> dict:
    """The force's point on the national view: a point inside its study area (WGS84, [lat, lon])
    and its national-table figures (events, hot cells at 99%, their share of cells and of crime)."""
    from saferhub.geo.project import to_wgs84

    p = area.geometry.representative_point()
    lon, lat = to_wgs84([p.x], [p.y])
    keys = ("events", "cells", "hot_cells", "hot_cell_share", "crime_in_hot_cells")
    return {"centre": [round(float(lat[0]), 5), round(float(lon[0]), 5)]} | {k: (summary or {}).get(k) for k in keys}


def publish_force_layers(q, u, area, hot, model: str, summary: dict | None = None) -> list[dict]:
    """Write the force's Gi* and forecast layers and their blocks (module doc); returns their
    catalogue entries. `summary`: the force's national-table row (for the overview)."""
    from saferhub.briefing.layers import forecast_layer, hotspot_layer, publish_levels
    from saferhub.data import events
    from saferhub.data.products import write_product
    from saferhub.forecast.service import forecast

    cats = q.categories_text or "all"
    hot_name, fc_name = layer_names(q.force, cats)
    t = events(store=q.store, force=q.force, categories=list(q.categories) if q.categories else None,
               months=list(q.months) if q.months else None, located_only=True,
               columns=["x", "y", "month", "location", "lsoa_name"]).to_pandas()
    t["month"] = t["month"].astype(str).str.slice(0, 7)
    cells = hotspot_layer(hot, "gistar", t)
    cells.attrs["meta"] |= {"force": q.force, "study_area": area.source}
    write_product(hot_name, cells, q.store)
    months = cells.attrs["meta"]["months"]
    last = q.months[-1] if q.months else (months[-1] if months else None)
    f = forecast(last, model=model, cell_size=u.cell_size, query=q, area=area, geo_dir=u.geo_dir, say=lambda *_: None)
    fc = forecast_layer(f.table(), u.cell_size)
    fc.attrs["meta"] = {"force": q.force, "study_area": area.source, "model": model}
    write_product(fc_name, fc, q.store)
    target = str(np.datetime64(last, "M") + 1)
    base = {"force": q.force, "categories": cats, "cell_size": u.cell_size, "study_area_kind": area.kind}
    return [base | {"name": hot_name, "group": "hotspots", "method": "gistar", "months": months, "features": int(len(cells)),
                    "overview": overview(area, summary)} | publish_levels(hot_name, cells, u.cell_size, q.store),
            base | {"name": fc_name, "group": "forecast", "method": "forecast", "model": model, "target_month": target,
                    "features": int(len(fc))} | publish_levels(fc_name, fc, u.cell_size, q.store)]


def register_layers(store, entries: list[dict], failed=()) -> None:
    """List the forces' layers in the `national-map-layers` catalogue (written once, by the
    driver): entries of this run replace those of the same names; a failed force's old entries
    are dropped (its files may be stale)."""
    from saferhub.data.products import read_product, write_product

    cat = read_product(CATALOGUE, store) or {"layers": []}
    new = {e["name"] for e in entries}
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    keep = [x for x in cat["layers"] if x["name"] not in new and x.get("force") not in set(failed)]
    layers = keep + [e | {"published": now} for e in entries]
    write_product(CATALOGUE, {"layers": sorted(layers, key=lambda x: (x["force"], x["group"], x["name"]))}, store)
