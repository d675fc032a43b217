"""The forecast service and the one study-area rule, on the small real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import GEO, REPO
from find_helpers import small_store  # noqa: F401

from saferhub.errors import SaferhubError


@pytest.mark.parametrize("geo_dir", [None, GEO], ids=["hull", "force boundary"])
def test_hotspot_and_forecast_cells_are_the_same_cells(small_store, geo_dir, monkeypatch):  # noqa: F811
    from saferhub.forecast.service import forecast
    from saferhub.hotspots import gistar

    monkeypatch.delenv("SAFERHUB_GEO_DIR", raising=False)
    hot = gistar(store=small_store, months="2020-01:2020-12", categories="grip", cell_size=200, geo_dir=geo_dir)
    f = forecast("2020-12", model="naive", cell_size=200, categories="grip", store=small_store, geo_dir=geo_dir)
    assert list(hot["unit_id"]) == list(f.cells["cell_id"])
    assert hot.attrs["params"]["study_area"] == f.params["study_area"]
    # every event inside the area lies in one of the cells (cells share area with it, not just centres)
    assert f.cells.geometry.union_all().contains(hot.attrs["area"].buffer(-0.01))


def test_forecast_result_knows_its_grid_and_matches_the_counts(small_store):  # noqa: F811
    from saferhub.data import events
    from saferhub.forecast.service import forecast

    f = forecast("2020-11", model="counts12", cell_size=200, categories="grip", store=small_store)
    t = f.table()
    assert list(t.columns) == ["cell_id", "x", "y", "risk"]
    assert (t["cell_id"] == "E" + t["x"].astype(str) + "N" + t["y"].astype(str)).all()
    assert f.grid.cell_size == 200 and f.cells.crs.to_epsg() == 27700
    assert f.params["model"] == "counts12" and f.params["chosen_by"] == "asked"
    assert f.params["forecast_month"] == "2020-12"
    assert {"street", "lsoa_name", "ward", "share_of_crime"} <= set(f.cells.columns)
    top = f.cells.sort_values("risk", ascending=False).iloc[0]
    assert top["street"].startswith("On or near") and top["lsoa_name"].startswith("Liverpool")
    # counts12 = the last 12 months' Grip crimes per cell, tallied independently
    ev = events(small_store, categories="grip", months="2019-12:2020-11", located_only=True).to_pandas()
    ids = ("E" + (np.floor(ev.x / 200) * 200).astype(int).astype(str) + "N"
           + (np.floor(ev.y / 200) * 200).astype(int).astype(str))
    tally = ids.value_counts()
    got = t.set_index("cell_id")["risk"]
    assert np.allclose(got[tally.index], tally.to_numpy())
    assert np.allclose(f.cells.set_index("cell_id").loc[tally.index, "count"], tally.to_numpy())
    assert got.drop(tally.index).eq(0).all()
    # rows in a stable order: row-major from the south-west corner
    assert t.sort_values(["y", "x"]).index.equals(t.index)


def test_choose_model_uses_the_saved_backtest(small_store, tmp_path):  # noqa: F811
    import shutil

    from saferhub.forecast.service import choose_model, load_cube, save_backtest

    store = tmp_path / "store"
    shutil.copytree(small_store, store, ignore=shutil.ignore_patterns(".built"))
    cube = load_cube(store, "grip", 300)
    said = []
    save_backtest(store, {"best": "decay", "params": {"from": "2020-01", "to": "2020-06", "cell_size": 300}})
    name, record = choose_model(cube, "2020-12", store=store, say=said.append)
    assert name == "decay" and record["params"]["to"] == "2020-06"
    assert "best model: decay" in said[-1]
    (store / "forecast" / "backtest-latest.json").unlink()
    name, record = choose_model(cube, "2019-07", store=store, say=said.append)  # nothing before: the baseline
    assert name == "counts12"


def test_model_parameters_are_checked_at_fit_not_at_construction():
    from saferhub.geo.cube import build_cube
    from saferhub.forecast.models import Counts
    from saferhub.forecast.registry import make_model
    from saferhub.geo.grid import Grid

    m = Counts(window=0)
    assert m.get_params() == {"window": 0, "half_life": None, "bandwidth": 0.0, "blend": 0.0, "target": "count"}
    cube = build_cube([5.0], [5.0], ["2020-01"], Grid(10, 0, 0, 1, 1))
    with pytest.raises(SaferhubError, match="Counts: window"):
        m.fit(cube, "2020-01")
    assert all("cell_size" not in make_model(n).get_params() for n in ("naive", "kde", "sepp", "gbm"))


def test_thread_pools_use_the_free_cores():
    from saferhub.forecast.threads import available_cores

    n = available_cores()
    assert 1 <= n <= len(os.sched_getaffinity(0))


def test_writing_bytes_and_geo_units_stay_light():
    """write_atomic comes from fsutil (no matplotlib); geo.units does not import geo.area (no cycle)."""
    code = ("import sys, saferhub.fsutil, saferhub.hotspots.output, saferhub.geo.units, saferhub.geo.grid; "
            "print(json.dumps(['matplotlib' in sys.modules, 'saferhub.geo.area' in sys.modules]))")
    r = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert json.loads(r.stdout) == [False, False], r.stderr


def test_study_area_rule(tmp_path):
    import shapely

    from saferhub.geo.area import HULL_BUFFER_M, study_area

    g = np.linspace(0, 1000, 11)
    x = np.r_[np.repeat(g, 11), 400_000.0]  # a 1 km square of points, and a stray: left out of the hull
    y = np.r_[np.tile(g, 11), 400_000.0]
    sa = study_area(points=(x, y))
    assert sa.kind == "hull" and sa.geometry.area == pytest.approx((1000 + 2 * HULL_BUFFER_M) ** 2, rel=0.01)
    given = shapely.box(0, 0, 300, 300)
    assert study_area(area=given, force="merseyside", points=(x, y)).kind == "given"
    fb = study_area(force="merseyside", geo_dir=GEO, store=tmp_path, points=(x, y))
    assert fb.kind == "force boundary" and 640e6 < fb.geometry.area < 650e6  # Merseyside: 645 km²
    assert study_area(force=["merseyside", "cheshire"], geo_dir=GEO, store=tmp_path, points=(x, y)).kind == "hull"
    grid = sa.grid(300)
    cells = sa.cells(grid)
    # a cell belongs when it shares area with the hull: here every cell of the covering grid
    assert cells.all() and pd.Series(grid.cell_ids()[cells]).str.match(r"E-?\d+N-?\d+").all()
