"""The Knox test against a brute-force oracle: every pair's distance and time lag binned by hand,
the SAME permutations replayed (same seed, same generator calls), and the pseudo p-value counted
the textbook way, p = (1 + #{simulations >= observed}) / (permutations + 1) (Johnson et al. 2007;
Ratcliffe's Near Repeat Calculator). Small event sets make ties between a simulated and the
observed count common, which is exactly where ">=" versus ">" matters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from saferhub.errors import SaferhubError
from saferhub.hotspots import nearrepeat
from saferhub.hotspots.nearrepeat import knox


def _band(edges, value):
    """Index of the first inclusive upper bound >= value (len(edges) = beyond), by a plain scan."""
    for idx, e in enumerate(edges):
        if value <= e:
            return idx
    return len(edges)


def _table(x, y, t, s_edges, t_edges):
    out = np.zeros((len(s_edges) + 1, len(t_edges) + 1), int)
    for a in range(len(x)):
        for b in range(a + 1, len(x)):
            d = math.hypot(x[a] - x[b], y[a] - y[b])
            out[_band(s_edges, d), _band(t_edges, abs(t[a] - t[b]))] += 1
    return out


def _brute_knox(x, y, t, s_edges, t_edges, permutations, seed):
    obs = _table(x, y, t, s_edges, t_edges)
    rng = np.random.default_rng(seed)
    sims = [_table(x, y, t[rng.permutation(len(t))], s_edges, t_edges) for _ in range(permutations)]
    ge = sum((s >= obs).astype(int) for s in sims)
    expected = sum(sims) / permutations
    return obs, expected, (1 + ge) / (permutations + 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_p_values_and_expected_equal_brute_force_with_the_same_permutations(seed):
    rng = np.random.default_rng(100 + seed)
    n = 9
    x = rng.integers(0, 4, n) * 60.0  # a few shared locations: exact repeats and ties
    y = rng.integers(0, 3, n) * 60.0
    t = rng.integers(0, 5, n)
    s_edges, t_edges = [0, 100], [0, 1, 2]
    res = knox(x, y, t, "0,100", "0,1,2", permutations=19, seed=seed)
    obs, expected, p = _brute_knox(x, y, t, s_edges, t_edges, 19, seed)
    np.testing.assert_array_equal(res.observed, obs)
    np.testing.assert_allclose(res.expected, expected, atol=1e-12)
    np.testing.assert_allclose(res.p, p, atol=1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        want_ratio = np.where(expected > 0, obs / np.where(expected > 0, expected, 1), np.nan)
    np.testing.assert_allclose(res.ratio, want_ratio, atol=1e-12)
    assert res.n_events == n and res.permutations == 19
    assert res.n_close_pairs == int(obs[:-1].sum())
    table = res.table()
    assert table.observed.dtype.kind == "i"
    np.testing.assert_array_equal(table.observed.to_numpy(), obs.ravel())
    np.testing.assert_allclose(table.expected.to_numpy(), expected.ravel())
    np.testing.assert_allclose(table.p.to_numpy(), p.ravel())


def test_long_day_spans_use_the_fft_lag_histogram_correctly():
    rng = np.random.default_rng(7)
    n = 40
    x, y = rng.uniform(0, 400, n), rng.uniform(0, 400, n)
    t = rng.integers(-30, 400, n)  # days relative to an event, some negative; span > 256
    res = knox(x, y, t, [50, 150], [7, 30, 120], permutations=9, seed=3, time_unit="days")
    obs, expected, p = _brute_knox(x, y, t, [50, 150], [7, 30, 120], 9, 3)
    np.testing.assert_array_equal(res.observed, obs)
    np.testing.assert_allclose(res.expected, expected, atol=1e-12)
    np.testing.assert_allclose(res.p, p, atol=1e-12)


def test_float_whole_times_equal_integer_times_and_unlocated_events_are_dropped():
    x = np.array([0.0, 10, 20, 500, np.nan, 30])
    y = np.array([0.0, 0, 0, 0, 5, np.nan])
    t_int = np.array([0, 1, 1, 3, 2, 0])
    a = knox(x, y, t_int, "0,50", "0,1", permutations=9, seed=5)
    b = knox(x, y, t_int.astype(float), "0,50", "0,1", permutations=9, seed=5)
    assert a.n_events == 4  # NaN x or NaN y: not located
    np.testing.assert_array_equal(a.observed, _table(x[:4], y[:4], t_int[:4], [0, 50], [0, 1]))
    np.testing.assert_array_equal(a.observed, b.observed)
    np.testing.assert_array_equal(a.p, b.p)


def test_zero_permutations_give_the_observed_table_only():
    x, y, t = [0.0, 10, 20, 30], [0.0, 0, 0, 0], [0, 1, 2, 3]
    res = knox(x, y, t, [15], [1], permutations=0)
    np.testing.assert_array_equal(res.observed, _table(x, y, t, [15], [1]))
    assert res.expected.shape == res.observed.shape and np.isnan(res.expected).all()
    assert np.isnan(res.p).all() and np.isnan(res.ratio).all()


def test_default_is_99_permutations_and_a_seed_makes_it_repeatable():
    rng = np.random.default_rng(0)
    x, y, t = rng.uniform(0, 300, 30), rng.uniform(0, 300, 30), rng.integers(0, 6, 30)
    a = knox(x, y, t, "100", "1", seed=11)
    b = knox(x, y, t, "100", "1", seed=11)
    assert a.permutations == 99
    np.testing.assert_array_equal(a.p, b.p)
    assert set(np.round(a.p.ravel() * 100, 9)) <= set(range(1, 101))


def test_empty_bands_divide_without_floating_point_errors():
    with np.errstate(all="raise"):  # the 0/0 of an empty band is handled, never raised
        res = knox([0.0, 1000, 2000], [0.0, 0, 0], [0, 5, 10], "10", "0", permutations=4, seed=1)
    assert np.isnan(res.ratio[0]).all()  # no pair within 10 m: expected 0 -> ratio undefined


def test_a_band_no_permutation_reaches_has_no_ratio():
    # two events at one place in the same month, a third far away 5 months later; with seed 0 none
    # of the 3 permutations gives the close pair the two month-0 times: expected 0, observed 1
    with np.errstate(all="raise"):
        res = knox([0.0, 0.0, 1000.0], [0.0, 0.0, 0.0], [0, 0, 5], "0", "0", permutations=3, seed=0)
    obs, expected, p = _brute_knox(np.array([0.0, 0, 1000]), np.array([0.0, 0, 0]), np.array([0, 0, 5]),
                                   [0], [0], 3, 0)
    assert obs[0, 0] == 1 and expected[0, 0] == 0
    assert np.isnan(res.ratio[0, 0]) and res.p[0, 0] == pytest.approx(0.25)


def test_bad_bands_and_inputs_are_named():
    with pytest.raises(SaferhubError, match="space bands must be comma-separated numbers"):
        knox([0, 1, 2], [0, 1, 2], [0, 1, 2], "a,100", "0,1")
    with pytest.raises(SaferhubError, match="time bands must be increasing"):
        knox([0, 1, 2], [0, 1, 2], [0, 1, 2], "100", "1,1")
    with pytest.raises(SaferhubError, match="space bands must be increasing"):
        knox([0, 1, 2], [0, 1, 2], [0, 1, 2], "", "1")
    with pytest.raises(SaferhubError, match="^x, y and t must have the same length$"):
        knox([0, 1, 2], [0, 1], [0, 1, 2], "100", "1")
    with pytest.raises(SaferhubError, match="at least 3 located events, got 2"):
        knox([0, 1, np.nan], [0, 1, 2], [0, 1, 2], "100", "1")
    with pytest.raises(SaferhubError, match=r"^times must be whole units \(months, days or hours\)$"):
        knox([0, 1, 2], [0, 1, 2], [0, np.inf, 2], "100", "1")
    assert nearrepeat.parse_bands([0, 100], "space").tolist() == [0.0, 100.0]


def test_too_many_close_pairs_is_refused_with_the_numbers(monkeypatch):
    x, y, t = [0.0, 10, 20, 30], [0.0, 0, 0, 0], [0, 1, 2, 3]  # 6 pairs, all within 200 m
    monkeypatch.setattr(nearrepeat, "MAX_PAIRS", 6)
    assert knox(x, y, t, "50,100,200", "1", permutations=0).n_close_pairs == 6  # at the limit: fine
    monkeypatch.setattr(nearrepeat, "MAX_PAIRS", 5)
    with pytest.raises(SaferhubError, match=r"^6 event pairs lie within 200 m; use fewer events or a "
                                            r"smaller largest space band$"):
        knox(x, y, t, "50,100,200", "1", permutations=0)
