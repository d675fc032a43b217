"""The one space-time cube (geo/cube.py): its dense and sparse layouts count the same events into
the same cells, with the one cell-id rule, against a brute-force count event by event."""

from collections import Counter

import numpy as np

from saferhub.geo.cube import build_cube, build_sparse_cube
from saferhub.geo.grid import Grid, cell_id


def test_dense_and_sparse_cubes_agree_with_a_brute_force_count():
    rng = np.random.default_rng(5)
    n = 3000
    x, y = rng.normal(351_000, 1500, n), rng.normal(392_000, 1500, n)
    x[:7] = np.nan                                           # unlocated: dropped by both
    m = (np.datetime64("2020-01") + rng.integers(0, 9, n)).astype("datetime64[M]")
    w = rng.uniform(0.5, 3, n)
    cs = 250
    brute, harm = Counter(), Counter()
    for xi, yi, mi, wi in zip(x, y, m, w):
        if np.isfinite(xi):
            key = (f"E{int(xi // cs * cs)}N{int(yi // cs * cs)}", str(mi))
            brute[key] += 1
            harm[key] += wi
    sp = build_sparse_cube(x, y, m, w, cell_size=cs)
    ids = sp.ids
    got = {(ids[i], str(sp.months[t])): sp.counts[i, t] for i, t in zip(*np.nonzero(sp.counts))}
    assert got == dict(brute)
    for (cid, mo), v in harm.items():
        i, t = int(np.flatnonzero(ids == cid)[0]), sp.month_index(mo)
        assert np.isclose(sp.harm[i, t], v) and sp.harm_sq[i, t] > 0
    # places in column-then-row order (x, then y), as the evaluations' neighbour search expects
    assert (np.diff(sp.ix * 10**7 + sp.iy) > 0).all()
    grid = Grid.covering(x, y, cs)
    de = build_cube(x, y, m, grid, harm=w)
    assert (de.months == sp.months).all() and de.counts.sum() == sp.counts.sum() == n - 7
    dense_ids = grid.cell_ids().ravel()
    flat = de.counts.reshape(len(de.months), -1)
    for i, cid in enumerate(ids):                            # the same cells, the same counts
        j = int(np.flatnonzero(dense_ids == cid)[0])
        np.testing.assert_array_equal(flat[:, j], sp.counts[i])
        np.testing.assert_allclose(de.harm.reshape(len(de.months), -1)[:, j], sp.harm[i])
    assert set(ids) == set(dense_ids[flat.sum(axis=0) > 0])
    assert cell_id(np.array([351_250]), np.array([392_000]))[0] == "E351250N392000"


def test_a_fixed_month_axis_drops_events_outside_it():
    x = np.array([10.0, 20.0, 30.0])
    m = np.array(["2020-01", "2020-03", "2020-06"], dtype="datetime64[M]")
    axis = np.array(["2020-02", "2020-04"], dtype="datetime64[M]")  # filled to Feb..Apr
    sp = build_sparse_cube(x, x, m, cell_size=100, months=axis)
    assert [str(v) for v in sp.months] == ["2020-02", "2020-03", "2020-04"] and sp.counts.sum() == 1
    de = build_cube(x, x, m, Grid.covering(x, x, 100), months=axis)
    assert de.counts.sum() == 1 and de.counts[1].sum() == 1
