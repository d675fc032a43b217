"""README's stable contract for `saferhub forecast`, including the row order docs/forecast.md
promises ("south to north, west to east"), on a small store of three real Merseyside months."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import MERSEYSIDE
from typer.testing import CliRunner

from saferhub.cli import app
from saferhub.data import events
from saferhub.data.ingest import ingest_paths


@pytest.mark.slow
def test_forecast_csv_rows_run_south_to_north_then_west_to_east(tmp_path):
    store = tmp_path / "s"
    ingest_paths([MERSEYSIDE / f"2020-{m}-merseyside-street.csv.gz" for m in ("09", "10", "11")], store=store)
    out = tmp_path / "f.csv"
    r = CliRunner().invoke(app, ["forecast", "--through", "2020-11", "--model", "naive", "--cell-size", "500",
                                 "--categories", "Burglary", "--out", str(out), "--store", str(store)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert list(df.columns) == ["cell_id", "x", "y", "risk"]
    assert len(df) > 100 and df.cell_id.is_unique
    # the order: by northing, then by easting within a row of cells
    key = list(zip(df.y, df.x))
    assert key == sorted(key)
    assert (df.y.diff().dropna() >= 0).all()
    # naive = last month's count per cell: check it against the store directly
    ev = events(store, categories="Burglary", months="2020-11").to_pandas().dropna(subset=["x"])
    ids = "E" + (np.floor(ev.x / 500) * 500).astype(int).astype(str) + "N" + \
          (np.floor(ev.y / 500) * 500).astype(int).astype(str)
    want = ids.value_counts()
    got = df.set_index("cell_id").risk
    common = got.index.intersection(want.index)
    assert len(common) > 0.95 * len(want)
    np.testing.assert_allclose(got[common], want[common])
