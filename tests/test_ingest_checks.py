"""Row checks against the file: the force (name vs "Falls within"), duplicated Crime IDs, points
outside the force's area (real boundary or the bulk of the points), NUL bytes wherever they are,
bad UTF-8 without a stray traceback, and LSOA editions."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow.compute as pc
import pytest

from conftest import GEO
from ingest_helpers import real_lines, street_row, write
from saferhub.data import events
from saferhub.data.forces import FORCES
from saferhub.data.ingest import IngestError, ingest_paths
from saferhub.data.status import store_status
from saferhub.data.store import quarantine, quarantine_report, warnings


@pytest.fixture(autouse=True)
def _no_geo_env(monkeypatch):
    monkeypatch.delenv("SAFERHUB_GEO_DIR", raising=False)


def _reasons(store) -> dict[int, str]:
    q = quarantine(store)
    return dict(zip(q["line"].to_pylist(), q["reason"].to_pylist()))


def test_falls_within_another_force_is_quarantined_saying_so(tmp_path):
    rows = [street_row(), street_row(force="Cheshire Constabulary"),
            street_row().replace("Merseyside Police,Merseyside Police", "Cheshire Constabulary,Merseyside Police"),
            street_row().replace("Merseyside Police,Merseyside Police", ",")]
    path = write(tmp_path / "2018-01-merseyside-street.csv", rows)
    f = ingest_paths([path], store=tmp_path / "s").files[0]
    assert (f.force, f.stored, f.quarantined) == ("merseyside", 3, 1)
    # Line 3 falls within Cheshire; line 4 is only reported by Cheshire (in Merseyside's area): kept.
    assert _reasons(tmp_path / "s") == {3: "falls within another force (Cheshire Constabulary, not Merseyside Police)"}


def test_btp_rows_fall_within_any_force_but_are_reported_by_btp(tmp_path):
    btp = "British Transport Police,British Transport Police"
    rows = [street_row(force="British Transport Police").replace(btp, "British Transport Police,Merseyside Police"),
            street_row(force="British Transport Police").replace(btp, "British Transport Police,Kent Police"),
            street_row(force="Merseyside Police")]
    path = write(tmp_path / "2018-01-btp-street.csv", rows)
    f = ingest_paths([path], store=tmp_path / "s").files[0]
    assert (f.force, f.stored, f.quarantined) == ("btp", 2, 1)
    assert _reasons(tmp_path / "s") == {4: "reported by another force (Merseyside Police, not British Transport Police)"}


def test_unknown_force_in_the_name_is_refused_unless_the_rows_agree(tmp_path):
    path = write(tmp_path / "2018-01-mersyside-street.csv", [street_row(), street_row(force="Kent Police")])
    with pytest.raises(IngestError) as exc:
        ingest_paths([path], store=tmp_path / "s")
    msg = str(exc.value)
    assert "'mersyside' in the file name is not a police.uk force" in msg and "\n" not in msg
    assert all(f in msg for f in FORCES)
    assert not (tmp_path / "s" / "catalog.json").exists()
    agreed = write(tmp_path / "b" / "2018-01-mersyside-street.csv", [street_row(), street_row()])
    f = ingest_paths([agreed], store=tmp_path / "s").files[0]
    assert (f.force, f.stored) == ("merseyside", 2)
    assert store_status(tmp_path / "s")["forces"][0]["force"] == "merseyside"


def test_duplicate_crime_ids_are_both_stored_with_distinct_ids_and_warned(tmp_path):
    a, b = "a" * 64, "b" * 64
    rows = [street_row(crime_id=a, ctype="Burglary", location="On or near Hope Street"),
            street_row(crime_id=b, ctype="Burglary"),
            street_row(crime_id=a, ctype="Burglary", location="On or near Duke Street", outcome="Under investigation"),
            street_row(crime_id=a, ctype="Burglary", month="2018-02"),          # quarantined: not counted
            street_row(crime_id=a, ctype="Burglary", location="On or near Dale Street")]
    path = write(tmp_path / "2018-01-merseyside-street.csv", rows)
    f = ingest_paths([path], store=tmp_path / "s").files[0]
    assert (f.read, f.stored, f.quarantined, f.warnings) == (5, 4, 1, 2)
    t = events(tmp_path / "s")
    ids = dict(zip(t["location"].to_pylist(), t["event_id"].to_pylist()))
    assert ids == {"On or near Hope Street": a, "On or near Bold Street": b,
                   "On or near Duke Street": a + "#2", "On or near Dale Street": a + "#3"}
    w = warnings(tmp_path / "s")
    assert w["line"].to_pylist() == [4, 6]
    assert w["reason"].to_pylist() == [f"duplicate Crime ID (first on line 2; stored as {a}#2)",
                                       f"duplicate Crime ID (first on line 2; stored as {a}#3)"]
    assert w["raw"].to_pylist() == [rows[2], rows[4]]
    s = store_status(tmp_path / "s")
    assert (s["warnings"], s["warnings_by_reason"]) == (2, {"duplicate Crime ID": 2})
    report = quarantine_report(tmp_path / "s")
    assert report["kind"].tolist() == ["warning", "quarantined", "warning"] and report["line"].tolist() == [4, 5, 6]
    # Re-ingest: the same ids, nothing added.
    assert ingest_paths([path], store=tmp_path / "s").added == 0


def test_a_repeated_far_away_spot_is_outside_without_a_boundary(tmp_path):
    """60 rows at one spot in London (a 5 km square with 60 points) beside a real month of
    13,220 Merseyside rows: not a meaningful share of the file, so outside."""
    lines = real_lines("2018-01")
    far = [street_row(lon="-0.127600", lat="51.507200")] * 60
    path = write(tmp_path / "2018-01-merseyside-street.csv", lines[:5000] + far + lines[5000:])
    f = ingest_paths([path], store=tmp_path / "s").files[0]
    assert (f.stored, f.quarantined) == (len(lines), 60)
    reasons = set(_reasons(tmp_path / "s").values())
    (reason,) = reasons
    assert reason.startswith("outside the force area (") and "km from the bulk of its points; at -0.127600, 51.507200)" in reason
    km = int(reason.split("(")[1].split()[0])
    assert 250 < km < 300    # Liverpool to London ~280 km, less the 20 km... measured to the body's edge


def test_the_real_boundary_decides_when_known(tmp_path):
    """With Merseyside's outline (geo folder), a point ~25 km beyond it is outside even when
    it repeats; one just over the border (within --far-km) stays."""
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    pfa = gpd.read_file(f"/vsigzip/{GEO / 'merseyside_pfa_derived_from_lsoa.geojson.gz'}").to_crs(27700).union_all()
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True).transform
    manchester, warrington = (-2.2426, 53.4808), (-2.5970, 53.3900)
    d_man = pfa.distance(shapely.Point(*to_bng(*manchester))) / 1000
    d_war = pfa.distance(shapely.Point(*to_bng(*warrington))) / 1000
    assert d_man > 20 > d_war > 0
    lines = real_lines("2018-01", 3000)
    rows = lines + [street_row(lon=str(manchester[0]), lat=str(manchester[1]))] * 400 + \
        [street_row(lon=str(warrington[0]), lat=str(warrington[1]))]
    path = write(tmp_path / "2018-01-merseyside-street.csv", rows)
    f = ingest_paths([path], store=tmp_path / "s", geo_dir=GEO).files[0]
    assert (f.stored, f.quarantined) == (3001, 400)
    reasons = set(_reasons(tmp_path / "s").values())
    assert reasons == {f"outside the force area ({d_man:.0f} km beyond its boundary; at -2.242600, 53.480800)"}
    # --far-km keeps its meaning: a tolerance beyond the boundary.
    f = ingest_paths([path], store=tmp_path / "s2", geo_dir=GEO, far_km=d_man + 1).files[0]
    assert f.quarantined == 0


@pytest.mark.parametrize("offset", [100, 200_000])
def test_nul_bytes_quarantine_their_row_wherever_they_are(tmp_path, offset):
    lines = real_lines("2018-01", 2000)
    k = next(i for i, line in enumerate(lines) if sum(len(x) + 1 for x in lines[:i]) > offset)
    lines[k] = lines[k].replace("On or near", "On or\x00near")
    path = write(tmp_path / "2018-01-merseyside-street.csv", lines)
    f = ingest_paths([path], store=tmp_path / "s").files[0]
    assert (f.stored, f.quarantined) == (1999, 1)
    q = quarantine(tmp_path / "s")
    assert q["line"].to_pylist() == [k + 2] and q["raw"].to_pylist() == [lines[k]]
    assert q["reason"].to_pylist() == ["contains a NUL byte (binary data)"]
    assert not pc.any(pc.match_substring(events(tmp_path / "s")["event_id"], "\x00")).as_py()


def test_bad_utf8_deep_in_a_file_is_one_error_and_no_traceback(tmp_path, monkeypatch, capfd):
    """A bad byte in a row the CSV reader would reject used to print 'Exception ignored ...
    Traceback' from inside pyarrow beside the real error."""
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    lines = real_lines("2018-01", 3000)
    data = ("\n".join(["Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                       "Crime type,Last outcome category,Context", *lines[:2500], "a,b\udcff,c", *lines[2500:]]) + "\n")
    path = tmp_path / "2018-01-merseyside-street.csv"
    path.write_bytes(data.encode("utf-8", errors="surrogateescape"))
    with pytest.raises(IngestError, match=r"not UTF-8 text \(first bad byte on line 2502\)"):
        ingest_paths([path], store=tmp_path / "s")
    out, err = capfd.readouterr()
    assert not unraisable and "Traceback" not in out + err and "Exception ignored" not in out + err


def test_lsoa_editions_map_2021_codes_to_2011(tmp_path):
    """A 2021-only code on real rows: edition 2021, mapped to the 2011 LSOA police.uk itself gave
    those snap points (point in polygon); other rows are 2011 and their own lsoa11. Measured on
    all of 2018-01: 98.5% agree; the rest lie within 11 m of the published LSOA's edge."""
    lines = real_lines("2018-01", 3000)
    originals = [ln.split(",")[7] for ln in lines]
    changed = set(range(0, 3000, 7))
    rows = [ln.replace(f",{code},", ",E01034396,") if i in changed else ln
            for i, (ln, code) in enumerate(zip(lines, originals))]
    path = write(tmp_path / "2018-01-merseyside-street.csv", rows)
    ingest_paths([path], store=tmp_path / "s", geo_dir=GEO)
    t = events(tmp_path / "s").to_pandas()
    is21 = t["lsoa"] == "E01034396"
    assert is21.sum() == len(changed)
    assert set(t.loc[is21, "lsoa_edition"]) == {2021} and set(t.loc[~is21, "lsoa_edition"]) == {2011}
    assert (t.loc[~is21, "lsoa11"] == t.loc[~is21, "lsoa"]).all()
    truth = {ln.split(",")[4] + "," + ln.split(",")[5]: code for ln, code in zip(lines, originals)}
    want = [truth[f"{lon:.6f},{lat:.6f}"] for lon, lat in zip(t.loc[is21, "lon"], t.loc[is21, "lat"])]
    agree = np.mean(np.array(want) == t.loc[is21, "lsoa11"].to_numpy())
    assert agree >= 0.97, agree
    # Without the geo folder the edition cannot be told: both null.
    ingest_paths([path], store=tmp_path / "s2")
    t2 = events(tmp_path / "s2")
    assert t2["lsoa_edition"].null_count == t2.num_rows and t2["lsoa11"].null_count == t2.num_rows


def test_lsoa_2021_codes_map_to_the_nearest_2011_centroid_without_polygons(tmp_path):
    import pandas as pd
    from pyproj import Transformer

    geo = tmp_path / "geo"
    geo.mkdir()
    (geo / "lsoa2011_centroids_ew.csv.gz").symlink_to(GEO / "lsoa2011_centroids_ew.csv.gz")
    rows = [street_row(lon="-2.98", lat="53.40", lsoa="E01034396"),
            street_row(lon="-3.05", lat="53.45", lsoa="E01034397"), street_row(lsoa="")]
    path = write(tmp_path / "2018-01-merseyside-street.csv", rows)
    ingest_paths([path], store=tmp_path / "s", geo_dir=geo)
    t = events(tmp_path / "s")
    c = pd.read_csv(GEO / "lsoa2011_centroids_ew.csv.gz")
    tf = Transformer.from_crs(4326, 27700, always_xy=True).transform
    cx, cy = tf(c["lon"].to_numpy(), c["lat"].to_numpy())
    want = []
    for lon, lat in [(-2.98, 53.40), (-3.05, 53.45)]:   # brute force over all 34,753 centroids
        px, py = tf(lon, lat)
        want.append(c["lsoa11cd"].iloc[int(np.argmin((cx - px) ** 2 + (cy - py) ** 2))])
    # rows come back in the store's Hilbert order, not the file's: match them by their LSOA code
    got = {r["lsoa"]: (r["lsoa11"], r["lsoa_edition"]) for r in t.select(["lsoa", "lsoa11", "lsoa_edition"]).to_pylist()}
    assert got == {"E01034396": (want[0], 2021), "E01034397": (want[1], 2021), None: (None, None)}


def test_outcomes_rows_of_another_force_are_quarantined_too(tmp_path):
    header = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type"
    ours = "c1,2019-07,Merseyside Police,Merseyside Police,-2.98,53.40,On or near Bold Street,E01006512,Liverpool 060A,Under investigation"
    theirs = ours.replace("c1,", "c2,").replace("Police,Merseyside Police,", "Police,Cheshire Constabulary,")
    path = write(tmp_path / "2019-07-merseyside-outcomes.csv", [ours, theirs], header=header)
    f = ingest_paths([path], store=tmp_path / "s").files[0]
    assert (f.kind, f.stored, f.quarantined) == ("outcomes", 1, 1)
    assert _reasons(tmp_path / "s") == {3: "falls within another force (Cheshire Constabulary, not Merseyside Police)"}
