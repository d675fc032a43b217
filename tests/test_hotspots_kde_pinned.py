"""KDE through the public verb and the CLI on the small real store (issue 26):

- a dual KDE with `before` over a period of a different length compares per-month rates: the
  before density is the before period's own KDE times months_after / months_before (3/6 here), so
  the unscaled answer (twice as large) fails;
- the CLI's KDE branch honours --bandwidth and --harm: its output equals the verb's for the same
  options and differs from the output without them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from find_helpers import small_store  # noqa: F401
from typer.testing import CliRunner

from saferhub.hotspots import kde

CS = 250
AFTER, BEFORE = "2020-10:2020-12", "2020-01:2020-06"   # 3 months against 6


def _by_unit(gdf, column) -> pd.Series:
    return pd.Series(gdf[column].to_numpy(), index=gdf["unit_id"].to_numpy())


@pytest.fixture(scope="module")
def dual(small_store):  # noqa: F811
    return kde(store=small_store, categories="grip", months=AFTER, before=BEFORE, cell_size=CS, bandwidth=750)


def test_dual_kde_before_a_longer_period_is_a_per_month_rate(small_store, dual):  # noqa: F811
    b_alone = _by_unit(kde(store=small_store, categories="grip", months=BEFORE, cell_size=CS, bandwidth=750),
                       "density_km2")
    a_alone = _by_unit(kde(store=small_store, categories="grip", months=AFTER, cell_size=CS, bandwidth=750),
                       "density_km2")
    a, b = _by_unit(dual, "density_a_km2"), _by_unit(dual, "density_b_km2")
    common = b.index.intersection(b_alone.index).intersection(a_alone.index)
    assert len(common) > 100 and b_alone[common].max() > 0
    np.testing.assert_allclose(b[common], b_alone[common] * 3 / 6, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a[common], a_alone[common], rtol=1e-9, atol=1e-9)
    # the unscaled before density is a different (wrong) answer
    assert not np.allclose(b[common], b_alone[common], rtol=0.1)
    np.testing.assert_allclose(_by_unit(dual, "difference_km2"), a - b, atol=1e-9)
    p = dual.attrs["params"]
    assert p["before"] == "2020-01..2020-06" and p["before_scale"] == "3/6 months"
    assert p["months"] == "2020-10..2020-12"


def _cli(store, tmp_path, name, *extra) -> pd.DataFrame:
    from saferhub.cli import app

    out = tmp_path / f"{name}.csv"
    res = CliRunner().invoke(app, ["hotspots", "--method", "kde", "--categories", "grip", "--months", AFTER,
                                   "--cell-size", str(CS), *extra, "--out", str(out), "--store", str(store)])
    assert res.exit_code == 0, res.output
    return pd.read_csv(out)


def test_cli_kde_honours_bandwidth(small_store, tmp_path):  # noqa: F811
    narrow = _cli(small_store, tmp_path, "narrow", "--bandwidth", "400")
    wide = _cli(small_store, tmp_path, "wide", "--bandwidth", "1200")
    want = kde(store=small_store, categories="grip", months=AFTER, cell_size=CS, bandwidth=400)
    np.testing.assert_allclose(_by_unit(narrow, "density_km2")[want["unit_id"]], want["density_km2"], atol=1e-9)
    common = narrow["unit_id"][narrow["unit_id"].isin(wide["unit_id"])]
    n, w = _by_unit(narrow, "density_km2")[common], _by_unit(wide, "density_km2")[common]
    # a wider kernel spreads the same events: a lower peak, and not the same surface
    assert w.max() < 0.8 * n.max()
    assert not np.allclose(n, w, rtol=0.05)


def test_cli_kde_honours_harm(small_store, tmp_path):  # noqa: F811
    counted = _cli(small_store, tmp_path, "counted", "--bandwidth", "750")
    harmed = _cli(small_store, tmp_path, "harmed", "--bandwidth", "750", "--harm")
    want = kde(store=small_store, categories="grip", months=AFTER, cell_size=CS, bandwidth=750, harm=True)
    np.testing.assert_allclose(_by_unit(harmed, "density_km2")[want["unit_id"]], want["density_km2"], atol=1e-9)
    assert want.attrs["params"]["measure"] == "harm"
    # harm weights differ by crime type: the harm surface is not the count surface rescaled
    c, h = _by_unit(counted, "density_km2"), _by_unit(harmed, "density_km2")
    common = c.index.intersection(h.index)
    ratio = (h[common] / c[common])[c[common] > 1e-6 * c.max()]
    assert ratio.max() > 1.5 * ratio.min()
    # mass: harm density integrates to (nearly) the total harm, count density to the count
    cell_km2 = (CS / 1000) ** 2
    assert h.sum() * cell_km2 == pytest.approx(harmed["harm"].sum(), rel=0.05)
    assert c.sum() * cell_km2 == pytest.approx(counted["count"].sum(), rel=0.05)
