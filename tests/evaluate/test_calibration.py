"""The headline: on real Merseyside data 2018-2020, placebo programmes are called significant at 5%
between 2% and 9% of the time by each method we use to decide (YoY referenced, DiD, WDD referenced)."""

import numpy as np
import pytest

from saferhub.evaluate import calibrate
from saferhub.geo.cube import build_sparse_cube


@pytest.fixture(scope="module")
def calibration(merseyside_store):
    result = calibrate.calibrate_store(store=merseyside_store, months="2018-01:2020-12", n_programmes=200)
    return result["table"].set_index("method")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["YoY referenced", "DiD quasi-Poisson GLM", "WDD referenced"])
def test_placebo_false_positive_share_is_within_2_to_9_percent(calibration, method):
    share = calibration.loc[method, "false_positive_share"]
    assert 0.02 <= share <= 0.09, f"{method}: {share:.3f} of placebos significant"


@pytest.mark.slow
def test_plain_poisson_tests_fail_on_real_data_and_the_did_has_power(calibration):
    # What the methods fix must be shown failing: real counts are overdispersed and swing together.
    assert calibration.loc["YoY C-test (Poisson)", "false_positive_share"] > 0.3
    assert calibration.loc["WDD, Poisson variance", "false_positive_share"] > 0.3
    assert calibration.loc["DiD quasi-Poisson GLM", "power"] > 0.3
    assert calibration.loc["YoY referenced", "power"] > 0.3
    assert calibration.loc["WDD referenced", "power"] > 0.08  # low: the rings' noise is 3x the effect


def test_cube_counts_every_located_event_once():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1000, 500), rng.uniform(0, 1000, 500)
    months = np.array(["2020-01", "2020-03"])[rng.integers(0, 2, 500)].astype("datetime64[M]")
    cube = build_sparse_cube(x, y, months, cell_size=200)
    assert cube.counts.sum() == 500 and cube.counts.shape[1] == 3 and cube.counts[:, 1].sum() == 0
    i = int(np.argmax(cube.counts.sum(axis=1)))
    x0, y0 = cube.ix[i] * 200, cube.iy[i] * 200
    inside = (x >= x0) & (x < x0 + 200) & (y >= y0) & (y < y0 + 200)
    assert cube.counts[i].sum() == inside.sum()


def test_ring_sums_equal_a_brute_force_neighbourhood():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 2000, 3000), rng.uniform(0, 2000, 3000)
    cube = build_sparse_cube(x, y, np.full(3000, "2020-01").astype("datetime64[M]"), cell_size=200)
    sets = np.array([[5, 40], [60, 61]])
    got = cube.ring_sums(sets, 1)[:, 0]
    for r, s in enumerate(sets):
        near = set()
        for i in s:
            near |= {j for j in range(cube.ix.size)
                     if max(abs(cube.ix[j] - cube.ix[i]), abs(cube.iy[j] - cube.iy[i])) <= 1}
        near -= set(s.tolist())
        assert got[r] == cube.counts[sorted(near), 0].sum()


def test_placebo_programmes_on_simulated_poisson_data():
    # Simulated stationary Poisson cells (no overdispersion, no shared swings): every test, even
    # the plain Poisson C-test, is calibrated, so the real-data failure is the data's, not the
    # arithmetic's.
    rng = np.random.default_rng(2)
    n, m = 1500, 30
    level = rng.gamma(1.0, 3.0, n)
    ix, iy = np.arange(n) % 50, np.arange(n) // 50
    counts = rng.poisson(level[:, None] * np.ones(m)).astype(float)
    months = np.arange(np.datetime64("2018-01"), np.datetime64("2018-01") + m)
    cube = calibrate.SparseCube(200.0, ix, iy, months, counts, counts, counts)
    result = calibrate.calibrate(cube, n_programmes=60, seed=3)
    table = result["table"].set_index("method")["false_positive_share"]
    assert table["YoY referenced"] <= 0.15 and table["DiD quasi-Poisson GLM"] <= 0.15
    assert table["WDD referenced"] <= 0.15
    assert table["YoY C-test (Poisson)"] <= 0.15


def test_ring_distance_equals_brute_force():
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0, 3000, 4000), rng.uniform(0, 3000, 4000)
    cube = build_sparse_cube(x, y, np.full(4000, "2020-01").astype("datetime64[M]"), cell_size=200)
    treated = np.array([3, 100, 150])
    got = cube.ring_distance(treated)
    for j in range(cube.ix.size):
        d = min(max(abs(cube.ix[j] - cube.ix[i]), abs(cube.iy[j] - cube.iy[i])) for i in treated)
        assert got[j] == (d if d <= 3 else np.iinfo(np.int32).max)
