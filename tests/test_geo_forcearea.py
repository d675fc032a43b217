"""Force areas drawn offline from the geo folder's LSOA centroids and LSOA -> force lookup
(saferhub.geo.forcearea), checked against the Merseyside boundary derived from LSOA polygons and
against real crime points projected independently (pyproj)."""

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import GEO, MERSEYSIDE

pytestmark = pytest.mark.slow


def test_merseyside_drawn_area_matches_the_real_boundary():
    from pyproj import Transformer

    from saferhub.geo.boundary import force_boundary
    from saferhub.geo.forcearea import drawn_force_area

    drawn = drawn_force_area("merseyside", GEO)
    real = force_boundary("merseyside", geo_dir=GEO, store="/nonexistent-store")
    iou = drawn.intersection(real).area / drawn.union(real).area
    assert iou >= 0.8
    assert 0.9 <= drawn.area / real.area <= 1.1
    df = pd.read_csv(MERSEYSIDE / "2019-06-merseyside-street.csv.gz", usecols=["Longitude", "Latitude"]).dropna()
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(
        df["Longitude"].to_numpy(), df["Latitude"].to_numpy())
    inside = shapely.contains_xy(drawn, x, y)
    assert inside.mean() >= 0.97   # crime points (snapped to streets) lie in the drawn area
    assert drawn_force_area("dyfed-powys", GEO) is None   # Welsh forces are not in the lookup


def test_events_complete_the_lookup_where_whole_districts_have_no_force():
    from saferhub.geo.forcearea import _lsoa_cells, drawn_force_area

    codes, forces, _ = _lsoa_cells(str(GEO.resolve()))
    look = pd.read_csv(GEO / "PoliceforceLSOA.csv.gz", usecols=["Local authority name", "LSOA Code"])
    harrogate = set(look.loc[look["Local authority name"] == "Harrogate", "LSOA Code"])
    leeds = set(look.loc[look["Local authority name"] == "Leeds", "LSOA Code"])
    own = codes[forces == "north-yorkshire"]
    assert harrogate and not (harrogate & set(own))   # the lookup leaves Harrogate out
    base = drawn_force_area("north-yorkshire", GEO)
    counts = {c: 200 for c in own} | {c: 150 for c in harrogate} | {c: 150 for c in leeds}
    counts |= {c: 3 for c in list(look["LSOA Code"])[:50] if c not in harrogate}  # a border trickle
    full = drawn_force_area("north-yorkshire", GEO, counts)
    assert full.area > base.area * 2   # Harrogate district is ~1,300 km²; York ~270 km²
    assert base.difference(full).area < 1.0   # what the lookup gives stays
    # Leeds belongs to West Yorkshire in the lookup: many events there never move it
    leeds_area = drawn_force_area("west-yorkshire", GEO)
    assert full.intersection(leeds_area).area < 0.01 * leeds_area.area


def test_study_area_uses_the_drawn_area_when_no_boundary_file(tmp_path):
    from saferhub.geo.area import study_area

    x = np.array([350_000.0, 360_000.0, 355_000.0])
    y = np.array([370_000.0, 372_000.0, 380_000.0])
    sa = study_area(force="cheshire", store=tmp_path, geo_dir=GEO, points=(x, y))
    assert sa.kind == "drawn force area" and "approximate cheshire force area" in sa.source
    assert 1_800e6 < sa.geometry.area < 2_800e6   # Cheshire is 2,343 km²
