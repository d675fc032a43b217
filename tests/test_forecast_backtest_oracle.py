"""The rolling backtest and its summary recomputed by loops (issue 26): Brier and log score against
the expected monthly total of the 12 months before (fewer at the start), stability as the Jaccard
overlap of consecutive months' top cells, the summary's means, SDs, ratios to the baseline and
wins, the winner and its ties, the ensemble reusing its members' forecasts, the time spent per
model (a fake clock) and the error for a month without a month before it.

Every test runs its own small backtest (no shared fixture), so each one exercises the code it pins."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from saferhub.errors import SaferhubError
from saferhub.forecast.backtest import best_model, run_backtest, summarise, winners_by_coverage
from saferhub.geo.cube import Cube
from saferhub.forecast.models import Counts, Ensemble, Model
from saferhub.geo.grid import Grid

COVERAGES = (0.1, 0.3)
CLOCK = [0.0]   # a fake perf_counter: only the models' fits move it


class _Window(Model):
    """Sum of the last `window` months' counts (+ a tiny fixed tilt so there are no ties);
    each fit takes exactly `cost` fake seconds and is counted."""

    def __init__(self, window: int, cost: float = 1.0):
        self.window, self.cost, self.fits_ = window, cost, 0

    def _risk(self, history, cube):
        CLOCK[0] += self.cost
        self.fits_ += 1
        ny, nx = history.shape[1:]
        return history[-self.window:].sum(axis=0) + np.arange(ny * nx).reshape(ny, nx) * 1e-3


def _cube(months=16, seed=3):
    rng = np.random.default_rng(seed)
    ny, nx = 4, 5
    mask = np.zeros((ny, nx), bool)
    mask.ravel()[[0, 1, 2, 5, 6, 7, 8, 10, 11, 12, 13, 16, 17]] = True   # 13 of 20 cells
    lam = rng.gamma(1.0, 1.0, (ny, nx))
    counts = rng.poisson(lam, (months, ny, nx)).astype(float)
    counts[:, ~mask] += 2.0
    m = np.arange(np.datetime64("2024-01"), np.datetime64("2024-01") + months)
    return Cube(Grid(150, 300000, 400000, nx, ny), m, counts, harm=counts * 2.0, mask=mask)


@pytest.fixture
def fake_clock(monkeypatch):
    CLOCK[0] = 0.0
    monkeypatch.setattr(time, "perf_counter", lambda: CLOCK[0])


def _scores_by_hand(risk, actual, expected_total):
    lam = np.clip(risk, 0, None) * expected_total / np.clip(risk, 0, None).sum()
    p = np.clip(1 - np.exp(-lam), 1e-9, 1 - 1e-9)
    y = (actual > 0).astype(float)
    brier = sum((pi - yi) ** 2 for pi, yi in zip(p, y)) / len(p)
    log = -sum(yi * math.log(pi) + (1 - yi) * math.log(1 - pi) for pi, yi in zip(p, y)) / len(p)
    return brier, log


@pytest.mark.parametrize("month_index", [3, 14])   # fewer than 12 months before it, and more
def test_scores_use_the_mean_area_total_of_up_to_12_months_before(month_index, fake_clock):
    cube = _cube()
    m = cube.months[month_index]
    res = run_backtest(cube=cube, models={"w3": _Window(3)}, months=[m], coverages=COVERAGES)
    area = cube.mask
    first = max(0, month_index - 12)
    totals = [cube.counts[t][area].sum() for t in range(first, month_index)]
    assert len(set(totals)) > 1   # months of different totals: which months are averaged matters
    expected_total = sum(totals) / len(totals)
    risk = res.predictions[("w3", m)]
    hist = cube.counts[max(0, month_index - 3):month_index].sum(axis=0) + np.arange(20).reshape(4, 5) * 1e-3
    np.testing.assert_allclose(risk, hist[area])
    brier, log = _scores_by_hand(risk, cube.counts[month_index][area], expected_total)
    row = res.scores.iloc[0]
    assert (row["model"], row["month"]) == ("w3", str(m))
    assert row["brier"] == pytest.approx(brier, rel=1e-12)
    assert row["log_score"] == pytest.approx(log, rel=1e-12)


def _top(risk, k):
    return set(sorted(range(len(risk)), key=lambda c: (-risk[c], c))[:k])


def test_rows_stability_and_timings_by_loops(fake_clock):
    cube = _cube()
    months = list(cube.months[-4:])
    models = {"w1": _Window(1, cost=2.0), "w6": _Window(6, cost=5.0)}
    res = run_backtest(cube=cube, models=models, months=months, coverages=COVERAGES)
    assert res.coverages == COVERAGES
    assert len(res.monthly) == 2 * 4 * 2 and len(res.scores) == 2 * 4
    assert list(res.scores["model"]) == ["w1", "w6"] * 4
    assert list(res.scores["month"]) == [str(m) for m in months for _ in range(2)]
    # time per model: its fits only, summed over the months (2 and 5 fake seconds a fit)
    assert res.timings == {"w1": 8.0, "w6": 20.0}
    assert models["w1"].fits_ == 4
    for name in models:
        for c in COVERAGES:
            rows = res.monthly[(res.monthly.model == name) & np.isclose(res.monthly.coverage, c)]
            assert list(rows["month"]) == [str(m) for m in months]
            k = rows["cells"].iloc[0]
            assert k == (1 if c == 0.1 else 4)       # 13 cells: 1.3 -> 1, 3.9 -> 4
            tops = [_top(res.predictions[(name, m)], k) for m in months]
            want = [np.nan] + [len(a & b) / len(a | b) for a, b in zip(tops[1:], tops[:-1])]
            np.testing.assert_allclose(rows["stability"].to_numpy(), want)


def test_summary_means_ratios_and_wins_by_loops(fake_clock):
    cube = _cube()
    months = list(cube.months[-5:])
    res = run_backtest(cube=cube, models={"w3": _Window(3), "w12": _Window(12), "w1": _Window(1)},
                       months=months, coverages=COVERAGES)
    s = summarise(res, baseline="w12")
    assert list(s["model"]) == ["w3", "w3", "w12", "w12", "w1", "w1"]   # the models' own order, not sorted
    mo = res.monthly
    for _, row in s.iterrows():
        mine = mo[(mo.model == row["model"]) & np.isclose(mo.coverage, row["coverage"])].set_index("month")
        base = mo[(mo.model == "w12") & np.isclose(mo.coverage, row["coverage"])].set_index("month")
        assert row["months"] == len(months)
        for col in ("hit_rate", "pai", "pei", "pei_star", "rri", "harm_hit_rate"):
            assert row[col] == pytest.approx(sum(mine[col]) / len(mine), rel=1e-12), col
        assert row["stability"] == pytest.approx(np.nanmean(mine["stability"]), rel=1e-12)
        pais = list(mine["pai"])
        mean = sum(pais) / len(pais)
        assert row["pai_sd"] == pytest.approx(math.sqrt(sum((p - mean) ** 2 for p in pais) / (len(pais) - 1)))
        ratios = [mine.loc[m, "pai"] / base.loc[m, "pai"] for m in mine.index]
        assert row["pai_vs_baseline"] == pytest.approx(sum(ratios) / len(ratios), rel=1e-12)
        assert row["pai_gain_pct"] == pytest.approx(100 * (sum(ratios) / len(ratios) - 1), rel=1e-9, abs=1e-9)
        r_mean = sum(ratios) / len(ratios)
        assert row["pai_vs_baseline_sd"] == pytest.approx(
            math.sqrt(sum((r - r_mean) ** 2 for r in ratios) / (len(ratios) - 1)), abs=1e-12)
        assert row["months_beating_baseline"] == sum(r > 1 for r in ratios)
        sc = res.scores[res.scores.model == row["model"]]
        assert row["brier"] == pytest.approx(sum(sc["brier"]) / len(sc), rel=1e-12)
        assert row["log_score"] == pytest.approx(sum(sc["log_score"]) / len(sc), rel=1e-12)
    # the winner: the highest mean PAI ratio over the coverages
    by_model = {m: s[s.model == m]["pai_vs_baseline"].mean() for m in ("w1", "w12", "w3")}
    assert best_model(s) == max(by_model, key=by_model.get)
    w = winners_by_coverage(s)
    assert list(w.index) == [0, 1] and list(w["coverage"]) == list(COVERAGES)
    assert list(w.columns) == ["coverage", "model", "pai", "pai_sd", "pai_gain_pct", "pai_vs_baseline_sd",
                               "months_beating_baseline", "months"]
    for _, row in w.iterrows():
        at = s[np.isclose(s.coverage, row["coverage"])]
        assert row["model"] == at.loc[at["pai"].idxmax(), "model"]


def test_a_ratio_above_one_by_less_than_one_is_a_win_and_ties_go_to_the_earlier_model():
    monthly = pd.DataFrame({
        "model": ["base", "base", "b", "b", "a", "a"], "month": ["2024-01", "2024-02"] * 3,
        "coverage": 0.1, "hit_rate": 0.5, "pai": [2.0, 2.0, 2.4, 1.8, 2.4, 1.8], "pei": 0.5,
        "pei_star": 0.5, "rri": 1.0, "stability": np.nan})
    scores = pd.DataFrame({"model": ["base", "b", "a"], "month": "2024-01", "brier": 0.1, "log_score": 0.3})
    from saferhub.forecast.backtest import BacktestResult

    s = summarise(BacktestResult(monthly, scores), baseline="base")
    assert list(s["model"]) == ["base", "b", "a"]
    assert s.set_index("model").loc["b", "months_beating_baseline"] == 1   # 1.2 > 1 (but not > 2), 0.9 < 1
    assert "harm_hit_rate" not in s
    assert best_model(s) == "b"           # b and a tie: the earlier one
    s2 = summarise(BacktestResult(monthly.assign(model=monthly.model.replace({"a": "z", "b": "a"})), scores
                                  .assign(model=["base", "a", "z"])), baseline="base")
    assert best_model(s2) == "a"


def test_the_ensemble_reuses_its_members_forecasts(fake_clock):
    cube = _cube()
    months = list(cube.months[-2:])
    inner = [("w1", _Window(1), 1.0), ("w6", _Window(6), 2.0)]
    ens = Ensemble(inner)
    res = run_backtest(cube=cube, models={"w1": _Window(1), "w6": _Window(6), "ens": ens}, months=months,
                       coverages=COVERAGES)
    # its own member models are never fitted: the members' forecasts of the month are combined
    assert inner[0][1].fits_ == 0 and inner[1][1].fits_ == 0
    for m in months:
        a, b = res.predictions[("w1", m)], res.predictions[("w6", m)]
        want = ens.combine([a, b])
        np.testing.assert_allclose(res.predictions[("ens", m)], want)
        assert np.isfinite(res.predictions[("ens", m)]).all()
    # ... and the fits are what the members' clock says: ensemble time is (fake) zero
    assert res.timings["ens"] == 0.0


def test_an_ensemble_before_its_members_fits_them_itself(fake_clock):
    cube = _cube()
    ens = Ensemble([("w1", Counts(window=1), 1.0), ("w6", Counts(window=6), 1.0)])
    res = run_backtest(cube=cube, models={"ens": ens}, months=[cube.months[-1]], coverages=COVERAGES)
    assert res.predictions[("ens", cube.months[-1])].shape == (13,)


@pytest.mark.parametrize("which", ["first", "after"])
def test_a_month_without_a_month_before_it_or_past_the_data_is_a_clear_error(which):
    cube = _cube(months=6)
    month = cube.months[0] if which == "first" else cube.months[-1] + 1
    with pytest.raises(SaferhubError) as exc:
        run_backtest(cube=cube, models={"w1": Counts(window=1)}, months=[month], coverages=COVERAGES)
    assert str(exc.value) == (f"cannot backtest {month}: the data cover 2024-01..2024-06 and a forecast "
                              "month needs at least one month before it")


def test_a_cube_without_harm_and_months_given_as_text(fake_clock):
    cube = _cube()
    cube.harm = None
    months = [str(m) for m in cube.months[-2:]]          # "2025-03", as a user types them
    res = run_backtest(cube=cube, models={"w1": _Window(1)}, months=months, coverages=COVERAGES)
    assert list(res.scores["month"]) == months
    assert "harm_hit_rate" not in res.monthly and "harm_hit_rate" not in summarise(res, baseline="w1")
    assert np.isfinite(res.monthly["pai"]).all()
