"""Evaluate fixtures: hot areas from the Gi* verb on the real Merseyside store, and a patrol
plan folder written by hand in the CONTRACTS.md layout (the patrol package is built elsewhere)."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="session")
def hot_areas(merseyside_store, tmp_path_factory):
    """The five hottest 250 m cells (Gi*, grip crimes 2019) as a patrol-areas GPKG with area_id, name."""
    from saferhub.hotspots import gistar

    gdf = gistar(store=merseyside_store, months="2019-01:2019-12", categories="grip", cell_size=250,
                 drop_strays=True)
    top = gdf[gdf["gi_bin"] == 3].sort_values(["count", "unit_id"], ascending=[False, True]).head(5).copy()
    top["area_id"] = ["PA-" + u for u in top["unit_id"]]
    top["name"] = top["street"].where(top["street"].astype(bool), top["unit_id"])
    path = tmp_path_factory.mktemp("areas") / "areas.gpkg"
    top[["area_id", "name", "geometry"]].to_file(path)
    return path


@pytest.fixture()
def plan_store(merseyside_store, hot_areas, tmp_path):
    """A store folder holding a hand-written plan (and a symlink to the real events)."""
    import geopandas as gpd

    store = tmp_path / "store"
    store.mkdir()
    for item in merseyside_store.iterdir():
        (store / item.name).symlink_to(item)
    folder = store / "patrol" / "plans" / "PLAN-test"
    folder.mkdir(parents=True)
    gpd.read_file(hot_areas).to_file(folder / "areas.gpkg")
    areas = list(gpd.read_file(hot_areas)["area_id"])
    days = [str(d) for d in np.arange(np.datetime64("2020-04-01"), np.datetime64("2020-05-01"))]
    rng = np.random.default_rng(5)
    assignment = [{"area_id": a, "date": d, "arm": str(rng.choice(["patrol", "control"]))} for a in areas for d in days]
    (folder / "plan.json").write_text(json.dumps({
        "plan_id": "PLAN-test", "created": "2020-03-20T10:00:00+00:00", "seed": 5,
        "start": "2020-04-01", "end": "2020-12-31", "parameters": {}, "area_ids": areas, "teams": [],
        "crossover": assignment, "simulated": True}))
    return store
