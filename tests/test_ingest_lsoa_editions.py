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
from saferhub.data.store import events, outcomes, stop_searches
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


OUTCOMES_HEADER = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type"
SEARCH_HEADER = ("Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,Age range,"
                 "Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,Outcome,"
                 "Outcome linked to object of search,Removal of more than just outer clothing")


def test_outcomes_record_the_edition_and_the_2011_lsoa(tmp_path):
    new = _codes_2021_only("Liverpool")[0]
    want, x, y = _liverpool_2011()
    lon, lat = to_wgs84(x[:2], y[:2])
    force = "Merseyside Police"
    rows = [f"{'a' * 64},2024-03,{force},{force},{lon[0]:.6f},{lat[0]:.6f},On or near X,{new},Liverpool,Under investigation",
            f"{'b' * 64},2024-03,{force},{force},{lon[1]:.6f},{lat[1]:.6f},On or near Y,{want[1]},Liverpool,Court result",
            f"{'c' * 64},2024-03,{force},{force},,,No location,,,Under investigation"]
    path = write(tmp_path / "2024-03-merseyside-outcomes.csv", rows, header=OUTCOMES_HEADER)
    ingest_paths([path], store=tmp_path / "s", geo_dir=GEO)
    t = outcomes(tmp_path / "s").sort_by("crime_id")
    assert t["lsoa_edition"].to_pylist() == [2021, 2011, None]
    assert t["lsoa11"].to_pylist() == [want[0], want[1], None]


def test_stop_and_search_rows_are_placed_in_the_2011_lsoa_holding_their_point(tmp_path):
    want, x, y = _liverpool_2011()
    lon, lat = to_wgs84(x, y)
    rows = [f"Person search,2019-07-0{i + 1}T10:00:00+00:00,False,,{lat[i]:.6f},{lon[i]:.6f},Male,18-24,,,"
            f"Misuse of Drugs Act 1971 (section 23),Controlled drugs,A no further action disposal,,False"
            for i in range(len(want))]
    rows.append("Person search,2019-07-09T10:00:00+00:00,False,,,,Male,18-24,,,"
                "Misuse of Drugs Act 1971 (section 23),Controlled drugs,A no further action disposal,,False")
    path = write(tmp_path / "2019-07-merseyside-stop-and-search.csv", rows, header=SEARCH_HEADER)
    ingest_paths([path], store=tmp_path / "s", geo_dir=GEO)
    t = stop_searches(tmp_path / "s").sort_by("occurred_at")
    assert t["lsoa11"].to_pylist() == [*want, None]


def test_partitions_written_before_the_edition_columns_read_them_as_null(tmp_path):
    """A store from an earlier version: its Parquet files lack the new columns; reading fills null."""
    import pyarrow.parquet as pq

    from saferhub.data.store import Catalog

    want, x, y = _liverpool_2011()
    lon, lat = to_wgs84(x[:1], y[:1])
    path = write(tmp_path / "2019-07-merseyside-outcomes.csv",
                 [f"{'a' * 64},2019-07,Merseyside Police,Merseyside Police,{lon[0]:.6f},{lat[0]:.6f},"
                  f"On or near X,{want[0]},Liverpool,Court result"], header=OUTCOMES_HEADER)
    street = write(tmp_path / "2019-07-merseyside-street.csv", [street_row(crime_id="a1", month="2019-07")])
    ingest_paths([path, street], store=tmp_path / "s", geo_dir=GEO)
    catalog = Catalog.load(tmp_path / "s")
    for rec in catalog.partitions.values():   # drop the columns and the schema tag, as old stores lack them
        part = tmp_path / "s" / rec["file"]
        pq.write_table(pq.read_table(part).drop_columns(["lsoa_edition", "lsoa11"]), part)
        del rec["schema"]
    catalog.save()
    o = outcomes(tmp_path / "s")
    e = events(tmp_path / "s")
    assert o["lsoa"].to_pylist() == [want[0]] and o["lsoa11"].to_pylist() == [None]
    assert o["lsoa_edition"].to_pylist() == [None] and o.schema.field("lsoa_edition").type == pa.int16()
    assert e["lsoa_edition"].to_pylist() == [None] and e["lsoa11"].to_pylist() == [None]
    # Re-ingesting the same files rewrites those partitions with the columns; once, then unchanged.
    report = ingest_paths([path, street], store=tmp_path / "s", geo_dir=GEO)
    assert [f.change for f in report.files] == ["upgraded", "upgraded"] and report.added == 0
    assert outcomes(tmp_path / "s")["lsoa11"].to_pylist() == [want[0]]
    assert events(tmp_path / "s")["lsoa_edition"].to_pylist() == [2011]
    report = ingest_paths([path, street], store=tmp_path / "s", geo_dir=GEO)
    assert [f.change for f in report.files] == ["unchanged", "unchanged"]
