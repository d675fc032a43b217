"""Forecast models: hand-computed small cases and recovery of a planted pattern."""

import numpy as np
import pandas as pd
import pytest

from saferhub.errors import SaferhubError
from saferhub.forecast import metrics as M
from saferhub.geo.cube import Cube, build_cube, modal_labels
from saferhub.forecast.kernels import (
    _direct,
    gaussian_kernel,
    prospective_kernel,
    smooth,
)
from saferhub.forecast.models import (
    Counts,
    Ensemble,
    ProspectiveHotspot,
    RetrospectiveKDE,
)
from saferhub.forecast.registry import ALL, make_model, parse_models
from saferhub.geo.grid import Grid

MONTHS = np.arange(np.datetime64("2018-01"), np.datetime64("2020-01"), dtype="datetime64[M]")


def tiny_cube(counts):
    counts = np.asarray(counts, float)
    grid = Grid(100, 0, 0, counts.shape[2], counts.shape[1])
    return Cube(grid, MONTHS[: counts.shape[0]], counts)


def test_build_cube_bins_by_month_and_cell():
    grid = Grid(100, 0, 0, 3, 2)
    x = [50, 150, 150, 250, np.nan]
    y = [50, 50, 50, 150, 50]
    month = np.array(["2018-01", "2018-01", "2018-02", "2018-02", "2018-01"], dtype="datetime64[M]")
    cube = build_cube(x, y, month, grid, harm=[1, 2, 3, 4, 5])
    assert cube.counts.shape == (2, 2, 3)
    assert cube.counts[0].tolist() == [[1, 1, 0], [0, 0, 0]]
    assert cube.counts[1].tolist() == [[0, 1, 0], [0, 0, 1]]
    assert cube.harm[1][1, 2] == 4


def test_modal_labels_picks_most_common_then_alphabetical():
    grid = Grid(100, 0, 0, 2, 1)
    lab = modal_labels(grid, [10, 20, 30, 110, 120], [10, 10, 10, 10, 10], ["B", "A", "B", "Z", "Y"])
    assert lab.tolist() == [["B", "Y"]]


def test_counts_window_and_decay_by_hand():
    c = np.zeros((4, 1, 2))
    c[:, 0, 0] = [1, 2, 3, 4]
    c[:, 0, 1] = [4, 0, 0, 0]
    cube = tiny_cube(c)
    assert Counts(window=1).fit(cube, "2018-04").predict().tolist() == [[4, 0]]
    assert Counts(window=2).fit(cube, "2018-04").predict().tolist() == [[7, 0]]
    assert Counts(window=12).fit(cube, "2018-03").predict().tolist() == [[6, 4]]
    got = Counts(window=4, half_life=1).fit(cube, "2018-04").predict()
    assert got[0, 0] == pytest.approx(4 + 3 / 2 + 2 / 4 + 1 / 8)
    assert got[0, 1] == pytest.approx(4 / 8)


def test_prospective_weights_by_hand():
    c = np.zeros((2, 9, 9))
    c[1, 4, 4] = 1  # last month, centre
    c[0, 4, 4] = 1  # a month earlier: half weight
    cube = tiny_cube(c)
    r = ProspectiveHotspot(bandwidth=200, time_bandwidth=2).fit(cube, "2018-02").predict()
    assert r[4, 4] == pytest.approx(1.5)
    assert r[4, 5] == pytest.approx(1.5 / 2)
    assert r[5, 5] == pytest.approx(1.5 / (1 + np.sqrt(2)))
    assert r[4, 6] == pytest.approx(1.5 / 3)
    assert r[4, 7] == 0  # beyond 200 m
    assert prospective_kernel(2.0)[2, 2] == 1.0


def test_kde_keeps_mass_and_peaks_at_the_event():
    c = np.zeros((1, 31, 31))
    c[0, 15, 15] = 10
    r = RetrospectiveKDE(bandwidth=200, window=1).fit(tiny_cube(c), "2018-01").predict()
    assert r.sum() == pytest.approx(10)
    assert np.unravel_index(r.argmax(), r.shape) == (15, 15)


def test_direct_and_fft_smoothing_agree():
    rng = np.random.default_rng(3)
    a = rng.poisson(1.0, (2, 20, 17)).astype(float)
    k = gaussian_kernel(1.5)
    assert np.allclose(_direct(a, k), smooth(a, k))
    k3 = np.arange(9.0).reshape(3, 3)  # asymmetric: checks the flip
    from scipy.signal import convolve2d
    assert np.allclose(_direct(a[0], k3), convolve2d(a[0], k3, mode="same"))


def test_ensemble_is_mean_of_normalised_members():
    c = np.zeros((2, 1, 3))
    c[1] = [[1, 2, 1]]
    c[0] = [[0, 0, 4]]
    cube = tiny_cube(c)
    e = Ensemble([("a", Counts(window=1), 1.0), ("b", Counts(window=2), 1.0)])
    got = e.fit(cube, "2018-02").predict()
    want = np.array([[1, 2, 1]]) / 4 + np.array([[1, 2, 5]]) / 8
    assert np.allclose(got, want)


def test_fit_accepts_an_events_table_and_predict_units():
    df = pd.DataFrame({"x": [10.0, 160.0, 170.0], "y": [10.0, 10.0, 20.0],
                       "month": pd.to_datetime(["2019-01-01", "2019-02-01", "2019-02-01"])})
    m = Counts(window=12).fit(df, "2019-02", cell_size=150)
    assert m.predict().tolist() == [[1, 2]]
    assert m.predict(np.array([1])).tolist() == [2]
    assert m.predict(np.array([[False, True]])).tolist() == [2]


def test_errors_are_clear():
    with pytest.raises(SaferhubError, match="fit"):
        Counts().predict()
    with pytest.raises(SaferhubError, match="unknown model"):
        make_model("prophet")
    with pytest.raises(SaferhubError, match="outside the data"):
        Counts().fit(tiny_cube(np.zeros((2, 1, 1))), "2017-01")
    with pytest.raises(SaferhubError, match="harm"):
        Counts(target="harm").fit(tiny_cube(np.zeros((2, 1, 1))), "2018-02")
    assert parse_models("gbm")[:2] == ["naive", "counts12"]


def planted(seed=0, months=24, ny=40, nx=40):
    """Poisson counts with a fixed planted intensity: 40 hot cells in two clusters, low elsewhere."""
    rng = np.random.default_rng(seed)
    lam = np.full((ny, nx), 0.02)
    lam[8:12, 8:13] = 1.5
    lam[25:29, 20:25] = 0.8
    counts = rng.poisson(lam, (months + 1, ny, nx)).astype(float)
    grid = Grid(150, 300000, 400000, nx, ny)
    months_arr = np.arange(np.datetime64("2018-01"), np.datetime64("2018-01") + months + 1)
    cube = Cube(grid, months_arr, counts, harm=counts * 2.0, mask=np.ones((ny, nx), bool))
    return cube, lam


@pytest.mark.parametrize("name", ALL)
def test_every_model_recovers_a_planted_pattern_better_than_uniform(name):
    cube, lam = planted()
    through = cube.months[-2]
    risk = make_model(name).fit(cube, through).predict()
    # the top 5% of cells by risk hold far more of the true intensity than 5% (uniform = PAI 1)
    r = M.coverage_metrics(risk.ravel(), lam.ravel(), 0.05)
    assert r["pai"] > 8, (name, r)
    # and the held-out month's crimes are caught better than uniform
    real = M.coverage_metrics(risk.ravel(), cube.counts[-1].ravel(), 0.05)
    assert real["pai"] > 5, (name, real)


def test_harm_target_uses_harm_weighted_counts():
    cube, lam = planted()
    through = cube.months[-2]
    counts = Counts(window=12).fit(cube, through).predict()
    harm = Counts(window=12, target="harm").fit(cube, through).predict()
    assert np.allclose(harm, 2.0 * counts)  # planted harm = 2 x counts
    g = make_model("gbm", target="harm").fit(cube, through).predict()
    assert g.shape == lam.shape and np.isfinite(g).all()
