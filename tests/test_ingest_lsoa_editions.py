"""LSOA editions with real codes: 2021-only codes (from the 2021 census table, absent from the 2011
list) are edition 2021 and map to the 2011 LSOA containing the row's point, in any month."""

from __future__ import annotations

import csv
import functools
import gzip

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pytest

from conftest import GEO
from ingest_helpers import street_row, write
from saferhub.data.ingest import ingest_paths
from saferhub.data.store import events
from saferhub.geo.lsoa import editions
from saferhub.geo.project import to_wgs84

pytestmark = pytest.mark.skipif(not (GEO / "census2021_usual_residents_by_age6_lsoa21_ew.csv.gz").exists(),
                                reason="shared geo data not present")


@functools.lru_cache(maxsize=None)
def _codes_2021_only(prefix: str) -> list[str]:
    with gzip.open(GEO / "lsoa2011_centroids_ew.csv.gz", "rt", encoding="utf-8") as fh:
        old = {row[0] for row in csv.reader(fh)}
    with gzip.open(GEO / "census2021_usual_residents_by_age6_lsoa21_ew.csv.gz", "rt", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[1:]
    return sorted({r[0] for r in rows if r[1].startswith(prefix) and r[0] not in old})


@functools.lru_cache(maxsize=None)
def _liverpool_2011():
    """Five 2011 Liverpool LSOAs and a point inside each (the oracle: the polygon itself)."""
    gdf = gpd.read_file(f"/vsigzip/{GEO / 'liverpool_lsoa2011.geojson.gz'}").to_crs(27700)
    col = next(c for c in gdf.columns if c.upper() == "LSOA11CD")
    pick = gdf.sort_values(col).iloc[::60].head(5)
    pts = pick.geometry.representative_point()
    assert all(pick.geometry.iloc[i].contains(pts.iloc[i]) for i in range(len(pick)))
    return pick[col].tolist(), pts.x.to_numpy(), pts.y.to_numpy()


def test_real_2021_codes_map_to_the_2011_lsoa_holding_the_point():
    new = _codes_2021_only("Liverpool")
    assert len(new) >= 5   # Liverpool gained LSOAs in 2021
    want, x, y = _liverpool_2011()
    codes = pa.array(new[:5] + want + ["not-a-code", None])
    xs = np.r_[x, x, 0.0, 0.0]
    ys = np.r_[y, y, 0.0, 0.0]
    edition, lsoa11 = editions(codes, xs, ys, str(GEO))
    assert edition.to_pylist() == [2021] * 5 + [2011] * 5 + [None, None]
    assert lsoa11.to_pylist() == want + want + [None, None]


@pytest.mark.parametrize("month", ["2018-06", "2023-04", "2024-11"])
def test_a_2021_code_is_mapped_the_same_in_any_month(tmp_path, month):
    new = _codes_2021_only("Liverpool")[0]
    want, x, y = _liverpool_2011()
    lon, lat = to_wgs84(x[:1], y[:1])
    path = write(tmp_path / f"{month}-merseyside-street.csv",
                 [street_row(crime_id="a1", month=month, lon=f"{lon[0]:.6f}", lat=f"{lat[0]:.6f}", lsoa=new),
                  street_row(crime_id="a2", month=month, lon=f"{lon[0]:.6f}", lat=f"{lat[0]:.6f}", lsoa=want[0])])
    ingest_paths([path], store=tmp_path / "s", geo_dir=GEO)
    t = events(tmp_path / "s", columns=["event_id", "lsoa", "lsoa_edition", "lsoa11"]).sort_by("event_id")
    assert t["lsoa_edition"].to_pylist() == [2021, 2011]
    assert t["lsoa11"].to_pylist() == [want[0], want[0]]
