"""GPS pings: quarantine reasons by hand, rows in = stored + quarantined, idempotent re-ingest,
pseudonyms (keyed, 0600 key, no raw id anywhere)."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pyarrow.parquet as pq
import pytest

from saferhub.data.pings import ingest_pings, pings, pseudonym_key, pseudonymise
from saferhub.errors import SaferhubError

# Liverpool city centre; 5 rows ok, then one of each fault (line numbers in comments)
CSV = """callsign,time,lon,lat,accuracy,speed
RADIO-77,2026-03-29T00:58:00+00:00,-2.9800,53.4050,10,
RADIO-77,2026-03-29T00:59:00+00:00,-2.9801,53.4051,12,
RADIO-77,2026-03-29T02:00:30+01:00,-2.9802,53.4052,12,
RADIO-77,2026-03-29T02:01:30+01:00,-2.9803,53.4052,12,
RADIO-88,2026-03-29T10:00:00Z,-2.9700,53.4000,8,1.2
RADIO-88,2026-03-29T10:01:00Z,,,8,
RADIO-88,2026-03-29T10:02:00Z,-2.9701,53.4001,400,
RADIO-88,2026-03-29 10:03:00,-2.9701,53.4001,8,
RADIO-88,2026-03-29T10:00:00Z,-2.9700,53.4000,8,
RADIO-88,2026-03-29T09:59:00Z,-2.9700,53.4000,8,
RADIO-88,2026-03-29T10:04:00Z,-2.7500,53.4200,8,
RADIO-88,2026-03-29T10:05:00Z,-2.9702,53.4002,8,
RADIO-99,2026-03-29T10:05:00Z,-1.5000,52.0000,8,
"""


def test_quarantine_reasons_by_hand(tmp_path):
    from saferhub.data.store import quarantine
    from saferhub.geo.boundary import force_boundary

    from .conftest import GEO

    f = tmp_path / "radios.csv"
    f.write_text(CSV)
    store = tmp_path / "store"
    r = ingest_pings(f, store=store, force="merseyside", boundary=force_boundary("merseyside", geo_dir=GEO))
    assert r["read"] == 13 and r["read"] == r["stored"] + r["quarantined"]
    q = quarantine(store).to_pandas().set_index("line")
    assert q.loc[7, "reason"] == "no fix (no usable coordinates)"
    assert q.loc[8, "reason"].startswith("poor accuracy (400 m")
    assert q.loc[9, "reason"].startswith("time has no zone")
    assert q.loc[10, "reason"] == "duplicate time for this device"
    assert q.loc[11, "reason"].startswith("time goes backwards")
    assert q.loc[12, "reason"].startswith("impossible speed")        # 15 km in one minute
    assert q.loc[14, "reason"].startswith("far outside the force area")
    assert len(q) == 7
    t = pings(store).to_pandas()
    assert len(t) == 6
    # the clock change: 00:59 GMT and 02:00:30 BST are one minute and a half apart
    d = t[t["device"] == t["device"].value_counts().index[0]].sort_values("time")   # RADIO-77, 4 fixes
    assert (d["time"].iloc[2] - d["time"].iloc[1]).total_seconds() == 90
    assert set(t["day"].astype(str)) == {"2026-03-29"}


def test_idempotent_and_pseudonymous(tmp_path):
    f = tmp_path / "radios.csv"
    f.write_text(CSV)
    store = tmp_path / "store"
    first = ingest_pings(f, store=store, force="merseyside")
    cat = (store / "catalog.json").read_bytes()
    again = ingest_pings(f, store=store, force="merseyside")
    assert again["change"].startswith("unchanged") and (store / "catalog.json").read_bytes() == cat
    assert again["stored"] == first["stored"]
    key = store / "patrol" / "pseudonym.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    devs = set(pings(store)["device"].to_pylist())
    assert devs == set(pseudonymise(["RADIO-77", "RADIO-88", "RADIO-99"], pseudonym_key(store)))  # no boundary given
    for path in store.rglob("*"):   # no raw id in any file (parquet read as text too)
        if path.is_file() and path.name != "pseudonym.key":
            text = path.read_bytes().decode("latin-1")
            if path.suffix == ".parquet":
                text += pq.read_table(path).to_pandas().to_csv()
            assert "RADIO-" not in text, path
    # another store has another key: pseudonyms cannot be matched across stores
    other = pseudonymise(["RADIO-77"], pseudonym_key(tmp_path / "other"))
    assert other[0] not in devs


def test_gpx_and_bad_files(tmp_path):
    gpx = tmp_path / "walk.gpx"
    gpx.write_text("""<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">
<trk><name>PC 1234</name><trkseg>
<trkpt lat="53.405" lon="-2.98"><time>2026-06-01T10:00:00Z</time></trkpt>
<trkpt lat="53.4051" lon="-2.9801"><time>2026-06-01T10:01:00Z</time></trkpt>
<trkpt lat="53.4052" lon="-2.9802"></trkpt>
</trkseg></trk></gpx>""")
    r = ingest_pings(gpx, store=tmp_path / "s")
    assert (r["read"], r["stored"], r["quarantined"]) == (3, 2, 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("who,where\nA,B\n")
    with pytest.raises(SaferhubError, match="bad.csv: need a device"):
        ingest_pings(bad, store=tmp_path / "s")


def test_easting_northing_columns(tmp_path):
    f = tmp_path / "bng.csv"
    f.write_text("device,timestamp,easting,northing,accuracy\n"
                 "R1,2026-07-01T10:00:00+01:00,334850,390150,6\n"
                 "R1,2026-07-01T10:01:00+01:00,334860,390160,6\n")
    r = ingest_pings(f, store=tmp_path / "s")
    assert (r["stored"], r["quarantined"]) == (2, 0)
    t = pings(tmp_path / "s").to_pandas()
    assert t["x"].tolist() == [334850.0, 334860.0] and t["y"].tolist() == [390150.0, 390160.0]
    assert str(t["time"].iloc[0]) == "2026-07-01 09:00:00+00:00"


def test_a_fix_already_stored_from_another_file_is_quarantined_with_its_line(tmp_path):
    """A second export overlapping the first (same radio, same instant): the repeated fixes are
    quarantined with the second file's own line numbers and raw text (missing values empty, never
    'nan'), the new ones stored; rows in = stored + quarantined."""
    from saferhub.data.store import quarantine

    store = tmp_path / "store"
    first = tmp_path / "a.csv"
    first.write_text("callsign,time,lon,lat,accuracy\n"
                     "RADIO-1,2026-03-30T10:00:00Z,-2.9800,53.4050,\n"
                     "RADIO-1,2026-03-30T10:01:00Z,-2.9801,53.4051,\n")
    second = tmp_path / "b.csv"
    second.write_text("callsign,time,lon,lat,accuracy\n"
                      "RADIO-1,2026-03-30T10:01:00Z,-2.9801,53.4051,\n"
                      "RADIO-1,2026-03-30T10:02:00Z,-2.9802,53.4052,\n")
    ingest_pings(first, store=store, force="merseyside")
    r = ingest_pings(second, store=store, force="merseyside")
    assert (r["read"], r["stored"], r["quarantined"]) == (2, 1, 1)
    q = quarantine(store).to_pandas()
    row = q[q["file"] == "b.csv"].iloc[0]
    assert row["line"] == 2 and row["reason"] == "duplicate of a ping already in the store"
    assert "nan" not in row["raw"] and "RADIO-1" not in row["raw"]
    assert len(pings(store)) == 3


def test_rows_the_reader_cannot_take_are_quarantined_at_their_physical_lines(tmp_path):
    """Pings files go through the same reader as police and partner files: a blank line and a
    quoted line break move later rows' line numbers; a short or long row, a NUL byte or a row of
    commas only is quarantined, not a reason to refuse the file; the radio id never reaches the
    quarantine, even in a row the reader could not split."""
    from saferhub.data.store import quarantine

    text = ("callsign,time,lon,lat,accuracy\n"
            "RADIO-77,2026-03-29T10:00:00Z,-2.9800,53.4050,10\n"        # 2 ok
            "\n"                                                          # 3 blank: not a row
            'RADIO-77,"2026-03-29T10:01:00Z",-2.9801,53.4051,"near\nhere"\n'   # 4-5: quoted break
            "RADIO-77,2026-03-29T10:02:00Z,-2.9802\n"                     # 6: short row
            "RADIO-77,2026-03-29T10:03:00Z,-2.9803,53.4052,10,9,9\n"      # 7: long row
            ",,,,\n"                                                      # 8: commas only
            "RADIO-77,2026-03-29T10:04:00Z,abc,53.4053,10\n")             # 9: no fix
    f = tmp_path / "radios.csv"
    f.write_text(text)
    store = tmp_path / "store"
    r = ingest_pings(f, store=store)
    assert (r["read"], r["stored"], r["quarantined"]) == (6, 2, 4)
    assert sorted(pings(store).to_pandas()["time"].dt.minute) == [0, 1]   # lines 2 and 4-5
    q = quarantine(store).to_pandas()
    assert q["line"].tolist() == [6, 7, 8, 9]
    reasons = dict(zip(q["line"], q["reason"]))
    assert reasons[6] == "wrong column count (got 3, expected 5)"
    assert reasons[7] == "wrong column count (got 7, expected 5)"
    assert reasons[8] == "no values (the row holds only commas)"
    assert reasons[9] == "no fix (no usable coordinates)"
    assert not q["raw"].str.contains("RADIO").any()
    pseudonym = pseudonymise(pd.Series(["RADIO-77"]).to_numpy(dtype=object), pseudonym_key(store))[0]
    assert q.loc[q["line"] == 6, "raw"].item() == f"{pseudonym},2026-03-29T10:02:00Z,-2.9802"


def test_a_pings_path_that_is_not_a_regular_file_is_refused(tmp_path):
    with pytest.raises(SaferhubError, match="not a regular file"):
        ingest_pings("/dev/zero", store=tmp_path / "store")
    with pytest.raises(SaferhubError, match="no such file"):
        ingest_pings(tmp_path / "missing.csv", store=tmp_path / "store")
