"""The forecast / backtest CLI contract on the real Merseyside store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import GEO, REPO


def run(*args, store, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "SAFERHUB_STORE": str(store), "COLUMNS": "200",
           "OMP_NUM_THREADS": "1"}
    env.pop("SAFERHUB_GEO_DIR", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "saferhub", *args], env=env, capture_output=True, text=True)


@pytest.fixture
def own_store(merseyside_store, tmp_path):
    """A private copy of the shared store (these commands save a backtest into the store)."""
    target = tmp_path / "store"
    shutil.copytree(merseyside_store, target, ignore=shutil.ignore_patterns(".built"))
    return target


@pytest.mark.slow
def test_forecast_csv_contract(merseyside_store, tmp_path):
    out = tmp_path / "f.csv"
    r = run("forecast", "--through", "2020-11", "--model", "counts12", "--cell-size", "150",
            "--categories", "Violence and sexual offences,Robbery,Possession of weapons,Anti-social behaviour",
            "--out", str(out), store=merseyside_store)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == ["cell_id", "x", "y", "risk"]
    assert (df.x % 150 == 0).all() and (df.y % 150 == 0).all()
    assert (df.cell_id == "E" + df.x.astype(str) + "N" + df.y.astype(str)).all()
    assert df.cell_id.is_unique and (df.risk >= 0).all()
    assert 30_000 < len(df) < 40_000  # the concave hull of Merseyside at 150 m
    # counts12 risk is the 12-month Grip count per cell: check against the store directly
    from saferhub.data import events
    ev = events(merseyside_store, categories="grip", months="2019-12:2020-11", located_only=True).to_pandas()
    cx = (np.floor(ev.x / 150) * 150).astype(int)
    cy = (np.floor(ev.y / 150) * 150).astype(int)
    per_cell = pd.Series(1, index="E" + cx.astype(str) + "N" + cy.astype(str)).groupby(level=0).sum()
    got = df.set_index("cell_id").risk
    common = got.index.intersection(per_cell.index)
    assert np.allclose(got[common], per_cell[common])
    assert got.sum() == pytest.approx(per_cell[common].sum())
    assert per_cell[common].sum() > 0.99 * per_cell.sum()  # the area holds ~all events


@pytest.mark.slow
def test_backtest_then_best_model(own_store, tmp_path):
    report = tmp_path / "bt.html"
    r = run("backtest", "--from", "2020-05", "--to", "2020-06", "--models", "decay,kde",
            "--cell-size", "250", "--categories", "grip", "--report", str(report), "--geo-dir", str(GEO),
            store=own_store)
    assert r.returncode == 0, r.stderr
    html = report.read_text()
    assert "What wins" in html and "Bias audit" in html and "Feedback-loop" in html
    summary = pd.read_csv(tmp_path / "bt.csv")
    assert set(summary.model) == {"naive", "counts12", "decay", "kde"}
    assert set(np.round(summary.coverage, 2)) == {0.01, 0.02, 0.05, 0.1, 0.2}
    monthly = pd.read_csv(tmp_path / "bt-monthly.csv")
    assert len(monthly) == 4 * 2 * 5 and {"brier", "log_score", "pei_star"} <= set(monthly.columns)
    saved = json.loads((own_store / "forecast" / "backtest-latest.json").read_text())
    assert saved["best"] in {"naive", "counts12", "decay", "kde"}
    out = tmp_path / "best.csv"
    r = run("forecast", "--through", "2020-06", "--model", "best", "--cell-size", "250", "--out", str(out),
            store=own_store)
    assert r.returncode == 0, r.stderr
    assert f"best model: {saved['best']}" in r.stderr
    assert "running a short one" not in r.stderr
    assert len(pd.read_csv(out)) > 1000


@pytest.mark.slow
def test_best_on_fresh_store_runs_a_short_backtest(own_store, tmp_path):
    out = tmp_path / "best.csv"
    r = run("forecast", "--through", "2020-12", "--model", "best", "--cell-size", "400", "--out", str(out),
            store=own_store)
    assert r.returncode == 0, r.stderr
    assert "running a short one" in r.stderr
    assert (own_store / "forecast" / "backtest-latest.json").exists()
    assert list(pd.read_csv(out).columns) == ["cell_id", "x", "y", "risk"]


@pytest.mark.parametrize("args, message", [
    (["--through", "2020-13"], "not a month"),
    (["--through", "2020-06", "--model", "prophet"], "unknown model"),
    (["--through", "2020-06", "--categories", "burglery"], "unknown crime category"),
    (["--through", "2020-06", "--cell-size", "3"], "cell-size"),
])
def test_user_mistakes_are_one_line(merseyside_store, tmp_path, args, message):
    r = run("forecast", *args, "--out", str(tmp_path / "x.csv"), store=merseyside_store)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.slow
def test_through_after_the_data(merseyside_store, tmp_path):
    r = run("forecast", "--through", "2021-03", "--model", "naive", "--out", str(tmp_path / "x.csv"),
            store=merseyside_store)
    assert r.returncode == 2 and "outside the data (2018-01..2020-12)" in r.stderr


def test_empty_store_is_a_clear_error(tmp_path):
    r = run("forecast", "--through", "2020-06", "--model", "naive", "--out", str(tmp_path / "x.csv"),
            store=tmp_path / "empty")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert re.search(r"no located events|ingest", r.stderr)


def test_bad_geo_dir_is_a_clear_error(merseyside_store, tmp_path):
    r = run("forecast", "--through", "2020-06", "--model", "gbm", "--out", str(tmp_path / "x.csv"),
            "--geo-dir", str(tmp_path / "nope"), store=merseyside_store)
    assert r.returncode == 2 and "geo folder not found" in r.stderr


@pytest.mark.slow
def test_load_cube_covariates_from_the_real_geo_files(merseyside_store):
    from saferhub.forecast.service import load_cube

    cube = load_cube(merseyside_store, "grip", 300, geo_dir=GEO)
    area = cube.area
    dec = cube.covariates["imd_decile"]
    known = np.isfinite(dec[area])
    assert known.mean() > 0.3  # cells with events carry their LSOA's decile
    assert set(np.unique(dec[area][known])) <= set(range(1, 11))
    assert {"imd_rank", "population"} <= set(cube.covariates)
    # the cube holds every located Grip event in the study area, by month
    assert cube.counts.shape[0] == 36
    assert 250_000 < cube.counts[:, area].sum() <= 264_976
