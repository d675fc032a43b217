"""Gi*: equality with esda on real Merseyside data, planted hotspots, corrections, permutations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import GEO, MERSEYSIDE

from saferhub.errors import SaferhubError
from saferhub.geo.grid import Grid
from saferhub.geo.project import to_bng
from saferhub.hotspots import inference
from saferhub.hotspots.gistar import gistar_grid, gistar_sparse, grid_kernel


def _merseyside_xy(months=("2020-01", "2020-02", "2020-03"), crime=None):
    frames = [pd.read_csv(MERSEYSIDE / f"{m}-merseyside-street.csv.gz",
                          usecols=["Longitude", "Latitude", "Crime type"]) for m in months]
    df = pd.concat(frames, ignore_index=True).dropna(subset=["Longitude"])
    if crime:
        df = df[df["Crime type"].isin(crime)]
    return to_bng(df["Longitude"].to_numpy(), df["Latitude"].to_numpy())


@pytest.fixture(scope="module")
def liverpool_grid():
    """Counts on a real 200 m grid over central Liverpool with an irregular study-area mask."""
    x, y = _merseyside_xy()
    sel = (x > 331000) & (x < 339000) & (y > 386000) & (y < 394000)
    g = Grid.covering(x[sel], y[sel], 200)
    counts = g.counts(x[sel], y[sel])
    cx, cy = g.centres()
    # Study area: a disc, so edge cells have fewer neighbours and outside cells are excluded.
    mask = np.hypot(cx - 335000, cy - 390000) < 3800
    return g, counts, mask


def _esda_z(values, pts, **w_kw):
    import esda
    import libpysal

    w = libpysal.weights.DistanceBand(pts, binary=True, silence_warnings=True, **w_kw)
    return esda.G_Local(values, w, transform="B", star=True, permutations=0).Zs


@pytest.mark.slow
@pytest.mark.parametrize("band", [200.0, 450.0])
def test_grid_gistar_equals_esda_on_real_merseyside_grid(liverpool_grid, band):
    g, counts, mask = liverpool_grid
    res = gistar_grid(counts, grid_kernel(200, distance=band), mask)
    cx, cy = g.centres()
    ref = _esda_z(counts[mask], np.column_stack([cx[mask], cy[mask]]), threshold=band)
    assert mask.sum() > 1000
    np.testing.assert_allclose(res.z[mask], ref, atol=1e-6, rtol=0)
    assert np.isnan(res.z[~mask]).all()


@pytest.mark.slow
def test_grid_gistar_rings_equal_esda_queen_rings(liverpool_grid):
    g, counts, mask = liverpool_grid
    res = gistar_grid(counts, grid_kernel(200, rings=2), mask)
    import esda
    import libpysal

    cx, cy = g.centres()
    pts = np.column_stack([cx[mask], cy[mask]])
    # 2 queen rings = Chebyshev distance <= 2 cells.
    w = libpysal.weights.DistanceBand(pts, threshold=400.5, p=np.inf, binary=True, silence_warnings=True)
    ref = esda.G_Local(counts[mask], w, transform="B", star=True, permutations=0).Zs
    np.testing.assert_allclose(res.z[mask], ref, atol=1e-6, rtol=0)


def test_fft_path_matches_direct_path(liverpool_grid):
    """A big kernel goes through FFT; it must equal the direct correlation exactly for counts."""
    _, counts, mask = liverpool_grid
    big = grid_kernel(200, distance=1200)  # 13x13 > direct limit
    from scipy import ndimage

    from saferhub.hotspots.gistar import neighbourhood_sum
    direct = ndimage.correlate(np.where(mask, counts, 0), big, mode="constant")
    np.testing.assert_array_equal(neighbourhood_sum(np.where(mask, counts, 0), big), direct)


@pytest.mark.slow
def test_sparse_gistar_equals_esda_on_liverpool_lsoas():
    import esda
    import geopandas as gpd
    import libpysal

    from saferhub.hotspots.weights import contiguity

    lsoa = gpd.read_file(f"/vsigzip/{GEO / 'liverpool_lsoa2011.geojson.gz'}").to_crs(27700)
    x, y = _merseyside_xy()
    import shapely

    tree = shapely.STRtree(lsoa.geometry.values)
    _, j = tree.query(shapely.points(x, y), predicate="intersects")
    counts = np.bincount(j, minlength=len(lsoa)).astype(float)
    W = contiguity(lsoa.geometry.values)
    res = gistar_sparse(counts, W)
    wq = libpysal.weights.Queen.from_dataframe(lsoa, use_index=False, silence_warnings=True)
    ref = esda.G_Local(counts, wq, transform="B", star=True, permutations=0).Zs
    np.testing.assert_allclose(res.z, ref, atol=1e-6, rtol=0)


def test_planted_hotspot_is_found_and_nothing_else_at_99pct():
    rng = np.random.default_rng(7)
    counts = rng.poisson(2.0, size=(60, 60)).astype(float)
    counts[30:33, 40:43] += 12  # a 3x3 block of extra crime
    res = gistar_grid(counts, grid_kernel(100, rings=1), correction="fdr")
    hot99 = res.cls == 3
    assert hot99[31, 41]
    ys, xs = np.nonzero(hot99)
    assert (np.abs(ys - 31) <= 2).all() and (np.abs(xs - 41) <= 2).all()


def test_permutation_p_small_for_planted_and_large_elsewhere():
    rng = np.random.default_rng(3)
    counts = rng.poisson(1.0, size=(30, 30)).astype(float)
    counts[10:13, 10:13] += 10
    res = gistar_grid(counts, grid_kernel(100, rings=1), permutations=199, seed=1)
    assert res.p_sim[11, 11] == pytest.approx(1 / 200)
    assert np.nanmedian(res.p_sim) > 0.2
    # Sparse path agrees in spirit on the same data.
    from saferhub.hotspots.weights import distance_band
    cy, cx = np.mgrid[0:30, 0:30] * 100.0
    W = distance_band(cx.ravel(), cy.ravel(), 150)
    sp = gistar_sparse(counts.ravel(), W, permutations=199, seed=1)
    np.testing.assert_allclose(sp.z, res.z.ravel(), atol=1e-9)
    assert sp.p_sim.reshape(30, 30)[11, 11] == pytest.approx(1 / 200)


def _bh_reference(p):
    m = len(p)
    out = np.empty(m)
    for i in range(m):
        out[i] = min(min(p[j] * m / (np.sum(p <= p[j])) for j in range(m) if p[j] >= p[i]), 1)
    return out


def _holm_reference(p):
    m = len(p)
    order = np.argsort(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        adj[i] = min(running, 1)
    return adj


def test_corrections_match_textbook_definitions():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0, 1, 40), rng.uniform(0, 0.01, 10)])
    np.testing.assert_allclose(inference.bh_adjust(p), _bh_reference(p), rtol=1e-12)
    np.testing.assert_allclose(inference.holm_adjust(p), _holm_reference(p), rtol=1e-12)
    with_nan = np.append(p, np.nan)
    assert np.isnan(inference.bh_adjust(with_nan)[-1])
    assert (inference.holm_adjust(p) >= inference.bh_adjust(p) - 1e-15).all()


def test_classes_follow_arcgis_bins():
    z = np.array([3.0, 2.0, 1.7, 0.5, -1.7, -2.0, -3.0])
    p = inference.two_sided_p(z)
    assert inference.classes(z, p).tolist() == [3, 2, 1, 0, -1, -2, -3]
    assert inference.class_labels(np.array([3, 0, -2])).tolist() == ["Hot spot 99%", "Not significant",
                                                                      "Cold spot 95%"]


def test_bad_inputs_are_clear_errors():
    with pytest.raises(SaferhubError, match="same value"):
        gistar_grid(np.ones((5, 5)), grid_kernel(100, rings=1))
    with pytest.raises(SaferhubError, match="exactly one"):
        grid_kernel(100)
    with pytest.raises(SaferhubError, match="correction"):
        gistar_grid(np.arange(25.0).reshape(5, 5), grid_kernel(100, rings=1), correction="bonf")
