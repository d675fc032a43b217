"""Rolling backtest, summary, winner, bias audit and feedback check on synthetic cubes."""

import numpy as np
import pandas as pd
import pytest
from test_forecast_models import planted

from saferhub.forecast import metrics as M
from saferhub.forecast.audit import exposure_by_decile, feedback_check
from saferhub.forecast.backtest import (
    best_model,
    run_backtest,
    summarise,
    winners_by_coverage,
)
from saferhub.forecast.models import Counts, Ensemble
from saferhub.forecast.report import headline, render


@pytest.fixture(scope="module")
def result():
    cube, lam = planted(seed=4, months=30)
    models = {"naive": Counts(window=1), "counts12": Counts(window=12), "all": Counts(window=30),
              "ens": Ensemble([("naive", Counts(window=1), 1.0), ("all", Counts(window=30), 1.0)])}
    months = cube.months[-4:]
    return cube, months, run_backtest(cube, models, months)


def test_rows_and_metrics_match_a_direct_computation(result):
    cube, months, res = result
    assert len(res.monthly) == 4 * len(months) * len(M.COVERAGES)
    row = res.monthly[(res.monthly.model == "counts12") & (res.monthly.month == str(months[1]))
                      & np.isclose(res.monthly.coverage, 0.05)].iloc[0]
    i = cube.index_of(months[1])
    risk = cube.counts[i - 12:i].sum(axis=0).ravel()
    want = M.coverage_metrics(risk, cube.counts[i].ravel(), 0.05, cube.harm[i].ravel())
    for k in ("hit_rate", "pai", "pei", "pei_star", "rri", "harm_hit_rate"):
        assert row[k] == pytest.approx(want[k]), k
    # stability: undefined at the first month, a Jaccard in [0, 1] after
    st = res.monthly[res.monthly.model == "counts12"].groupby("month").stability.first()
    assert np.isnan(st.iloc[0]) and st.iloc[1:].between(0, 1).all()


def test_ensemble_reuses_member_forecasts(result):
    cube, months, res = result
    m = months[2]
    a, b = res.predictions[("naive", m)], res.predictions[("all", m)]
    assert np.allclose(res.predictions[("ens", m)], a / a.sum() + b / b.sum())


def test_summary_and_winner(result):
    cube, months, res = result
    s = summarise(res)
    assert set(s.model) == {"naive", "counts12", "all", "ens"}
    base = s[s.model == "counts12"]
    assert np.allclose(base.pai_vs_baseline, 1.0) and (base.months_beating_baseline == 0).all()
    # a stationary planted pattern: the longest window wins; last month alone loses
    assert best_model(s) in ("all", "ens")
    assert s[s.model == "naive"].pai_gain_pct.mean() < 0
    w = winners_by_coverage(s)
    assert len(w) == len(M.COVERAGES)
    lines = headline(s)
    assert len(lines) == len(M.COVERAGES) and all("coverage" in line for line in lines)
    html = render(res, {"from": str(months[0]), "to": str(months[-1]), "cell_size": 150,
                        "categories": "grip"})
    assert html.startswith("<!doctype html>") and "data:image/png;base64" in html and "http" not in html.split("<footer>")[0].replace("http-equiv", "")


def test_exposure_by_decile_shares():
    cube, lam = planted(seed=5)
    dec = np.full(lam.shape, 5.0)
    dec[8:12, 8:13] = 1.0  # the big planted cluster is in decile 1
    cube.covariates = {"imd_decile": dec}
    risk = lam.ravel()
    ex = exposure_by_decile({cube.months[-1]: risk}, cube, coverage=0.0125)  # 20 cells = all decile 1
    d1 = ex[ex.imd_decile == "1"].iloc[0]
    assert d1.share_of_top_cells == pytest.approx(1.0)
    actual = cube.counts[-1]
    assert d1.share_of_crime == pytest.approx(actual[8:12, 8:13].sum() / actual.sum())
    assert ex.share_of_top_cells.sum() == pytest.approx(1.0)
    assert d1.cells == 20 and ex.cells.sum() == lam.size


def test_feedback_check_counts_displaced_cells():
    cube, lam = planted(seed=6)
    fb = feedback_check(Counts(window=1), cube, cube.months[-2:], coverage=0.05, effect=0.5)
    assert len(fb) == 2 and fb.jaccard_with_before.between(0, 1).all()
    # boosting the top cells' own counts cannot push them out of a last-month-count top set
    assert (fb.cells_displaced == 0).all()
    assert isinstance(fb, pd.DataFrame)
