"""The fallback study area (no boundary file, no drawn force area) must not chase strays: a few
far events in the neighbours' areas stay outside, >= 99% of the force's real events stay inside."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import GEO, SHARED

from saferhub.geo.area import HULL_BUFFER_M, HULL_RATIO, data_hull, study_area
from saferhub.geo.project import to_bng
from saferhub.geo.strays import core_mask, find_strays


def _merseyside_2019():
    files = sorted((SHARED / "police-uk" / "merseyside").glob("2019-*-merseyside-street.csv.gz"))
    assert len(files) == 12
    df = pd.concat([pd.read_csv(f, usecols=["Longitude", "Latitude"]) for f in files]).dropna()
    return to_bng(df["Longitude"].to_numpy(), df["Latitude"].to_numpy())


def _strays(x, y, rng):
    """Single events 5-40 km beyond the force's events in every direction, and a pile of 8 at one of
    those spots (events geocoded to one wrong place), all inside find_strays' limit."""
    real = shapely.multipoints(np.column_stack([x, y])).convex_hull
    cx, cy = np.median(x), np.median(y)
    sx, sy = [], []
    while len(sx) < 31:
        a, r = rng.uniform(0, 2 * np.pi), rng.uniform(15_000, 45_000)
        px, py = cx + r * np.cos(a), cy + r * np.sin(a)
        if 5_000 <= shapely.distance(real, shapely.Point(px, py)) <= 40_000:
            sx.append(px)
            sy.append(py)
    # the last one is also the spot of the pile
    return np.r_[sx, [sx[-1]] * 7], np.r_[sy, [sy[-1]] * 7]


def test_fallback_hull_excludes_strays_and_keeps_the_force(tmp_path):
    x, y = _merseyside_2019()
    sx, sy = _strays(x, y, np.random.default_rng(7))
    ax, ay = np.r_[x, sx], np.r_[y, sy]
    # the old rule (find_strays only) kept them: the test would fail without the density core
    old_keep = ~find_strays(ax, ay)
    assert old_keep[x.size:].sum() >= 31
    old = data_hull(ax[old_keep], ay[old_keep], ratio=HULL_RATIO, buffer=HULL_BUFFER_M)
    assert shapely.contains_xy(old, sx, sy).sum() >= 20

    sa = study_area(points=(ax, ay), force="merseyside", store=tmp_path, geo_dir=tmp_path / "no-geo")
    assert sa.kind == "hull"
    assert not sa.contains(sx, sy).any()                       # every stray outside
    assert sa.contains(x, y).mean() >= 0.99                     # the force's real events inside
    assert "outlying events away from the dense core left out" in sa.source
    # against Merseyside's real boundary (645 km²): covers nearly all of it, no spikes beyond
    fb = study_area(force="merseyside", geo_dir=GEO, store=tmp_path, points=(x, y))
    assert fb.kind == "force boundary"
    assert sa.geometry.intersection(fb.geometry).area >= 0.9 * fb.geometry.area
    assert sa.geometry.area <= 1.2 * fb.geometry.area < old.area
    assert sa.geometry.difference(fb.geometry.buffer(3_000)).area < 0.01 * fb.geometry.area


def test_core_mask_rules():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 10_000, 5_000), rng.uniform(0, 10_000, 5_000)   # a dense 10 km square
    px, py = np.full(20, 30_000.0), np.full(20, 5_000.0)                    # a pile: 0.4% < 1%
    keep = core_mask(np.r_[x, px, 10_900, 12_500], np.r_[y, py, 5_000, 5_000])
    assert keep[:5_000].all()
    assert not keep[5_000:5_020].any()
    assert keep[5_020] and not keep[5_021]   # a lone event one cell out is kept, two cells out not
    # sparse data (1 event per cell): k drops to 1 rather than losing the force
    g = np.arange(0, 20_000, 1_000) + 500.0
    gx, gy = np.meshgrid(g, g)
    assert core_mask(gx.ravel(), gy.ravel()).all()


@pytest.mark.parametrize("n", [0, 1])
def test_core_mask_tiny(n):
    assert core_mask(np.full(n, 1.0), np.full(n, 1.0)).sum() == n
