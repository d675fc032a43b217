"""Ingest edge cases: broken files, row quarantine, newer copies, archives, other forces."""

from __future__ import annotations

import gzip
import io
import time
import zipfile

import pyarrow.compute as pc
import pytest

from ingest_helpers import HEADER, real_lines, store_fingerprint, street_row, write
from saferhub.data import events
from saferhub.data.ingest import IngestError, ingest_paths
from saferhub.data.store import quarantine


@pytest.fixture
def store(tmp_path):
    s = tmp_path / "store"
    ingest_paths([write(tmp_path / "base" / "2018-01-merseyside-street.csv", real_lines("2018-01", 400))], store=s)
    return s


BROKEN = {
    "wrong header": (b"a,b,c\n1,2,3\n", "unrecognised header"),
    "empty": (b"", "empty file"),
    "header only": ((HEADER + "\n").encode(), "no rows"),
    "binary": (bytes(range(256)) * 4, "binary"),
    "json": (b'{"crimes": [1, 2, 3]}\n', "unrecognised header"),
    "latin-1": ((HEADER + "\n" + street_row(location="On or near Caf\xe9 Street") + "\n").encode("latin-1"),
                "not UTF-8"),
    "utf-16": ((HEADER + "\n" + street_row() + "\n").encode("utf-16"), "UTF-16 text"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_is_rejected_and_store_untouched(store, tmp_path, case):
    data, words = BROKEN[case]
    bad = tmp_path / "in" / "2018-02-merseyside-street.csv"
    bad.parent.mkdir()
    bad.write_bytes(data)
    good = write(tmp_path / "in" / "2018-03-merseyside-street.csv", [street_row(month="2018-03")])
    before = store_fingerprint(store)
    with pytest.raises(IngestError) as err:
        ingest_paths([bad, good], store=store)
    assert str(bad) in str(err.value) and words in str(err.value)
    assert len(err.value.errors) == 1
    assert store_fingerprint(store) == before


def test_truncated_gzip_is_rejected(store, tmp_path):
    full = gzip.compress(("\n".join([HEADER, *real_lines("2018-02", 2000)]) + "\n").encode())
    bad = tmp_path / "2018-02-merseyside-street.csv.gz"
    bad.write_bytes(full[: len(full) // 2])
    before = store_fingerprint(store)
    with pytest.raises(IngestError, match="truncated gzip"):
        ingest_paths([bad], store=store)
    assert store_fingerprint(store) == before


def test_bad_rows_are_quarantined_with_line_and_reason(tmp_path):
    lines = [
        street_row(crime_id="a1", ctype="Burglary"),                       # line 2: good
        street_row(month="2018-13"),                                       # 3: bad month
        street_row(lon="abc"),                                             # 4: bad coordinates
        street_row(lon="-0.1276", lat="51.5072"),                          # 5: London, far outside
        street_row(ctype="Alien abduction"),                               # 6: unknown type
        "x,2018-01,Merseyside Police",                                     # 7: wrong column count
        street_row(lon="", lat=""),                                        # 8: unlocated, kept
        street_row(lon="-2.98", lat=""),                                   # 9: half a coordinate
        street_row(month="2018-02"),                                       # 10: wrong month for file
        street_row(lon="10.5", lat="45.0"),                                # 11: outside the UK
        *[street_row(lon=f"-2.9{i}", lat="53.40") for i in range(5)],      # 12-16: good
    ]
    path = write(tmp_path / "2018-01-merseyside-street.csv", lines)
    report = ingest_paths([path], store=tmp_path / "s")
    f = report.files[0]
    assert (f.read, f.stored, f.quarantined, f.unlocated) == (15, 7, 8, 1)
    q = quarantine(tmp_path / "s").to_pandas()
    got = dict(zip(q["line"], q["reason"]))
    assert sorted(got) == [3, 4, 5, 6, 7, 9, 10, 11]
    assert "unparseable month '2018-13'" == got[3]
    assert got[4].startswith("unparseable coordinates")
    assert "outside the force area" in got[5]
    assert got[6] == "unknown crime type 'Alien abduction'"
    assert got[7].startswith("wrong column count (got 3, expected 12)")
    assert got[9] == "only one of longitude/latitude given"
    assert got[10] == "month 2018-02 in a file for 2018-01"
    assert "outside the UK" in got[11]
    assert q.loc[q["line"] == 7, "raw"].item() == "x,2018-01,Merseyside Police"
    assert q.loc[q["line"] == 3, "raw"].item() == lines[1]
    assert set(q["file"]) == {str(path)}


@pytest.mark.parametrize("breaks", [["\r"] * 4, ["\n", "\r", "\r\n", "\n"], ["\r\n", "\r\n", "\r", "\r\n"],
                                    ["\n", "\n", "\n", "\r"]])
def test_unquoted_file_with_lone_carriage_returns_keeps_physical_lines(tmp_path, breaks):
    # No quotes: records are found by counting \n, checked against the parser's count; a lone \r
    # (old Mac line ends, or mixed in) makes them differ, and the records are then found by scanning.
    rows = [street_row(crime_id="a1", ctype="Burglary"), street_row(month="2018-13"),
            street_row(crime_id="a2", ctype="Drugs"), street_row(ctype="Alien abduction")]
    text = HEADER + breaks[0] + "".join(r + b for r, b in zip(rows, [*breaks[1:], "\n"]))
    path = tmp_path / "2018-01-merseyside-street.csv"
    path.write_bytes(text.encode())
    report = ingest_paths([path], store=tmp_path / "s")
    (f,) = report.files
    assert (f.read, f.stored, f.quarantined) == (4, 2, 2)
    q = quarantine(tmp_path / "s")
    assert list(zip(q["line"].to_pylist(), q["raw"].to_pylist())) == [(3, rows[1]), (5, rows[3])]


def test_asb_repeats_are_never_merged(tmp_path):
    same = street_row()
    path = write(tmp_path / "2018-01-merseyside-street.csv", [same, same, same, street_row(crime_id="c1", ctype="Drugs")])
    for _ in range(2):
        ingest_paths([path], store=tmp_path / "s")
        table = events(tmp_path / "s")
        assert table.num_rows == 4
        assert pc.count_distinct(table["event_id"]).as_py() == 4


def test_newer_copy_replaces_month_and_older_copy_is_ignored(tmp_path):
    lines = real_lines("2018-05", 300)
    old = write(tmp_path / "old" / "2018-05-merseyside-street.csv", lines, mtime=time.time() - 86_400)
    matured = [ln if ln.startswith(",") else ln.rsplit(",", 2)[0] + ",Offender given a caution," for ln in lines]
    new = write(tmp_path / "new" / "2018-05-merseyside-street.csv", matured)
    s = tmp_path / "s"
    ingest_paths([old], store=s)
    r = ingest_paths([new], store=s)
    assert r.files[0].change == "replaced" and r.added == 0
    crimes = events(s, categories=[c for c in ("Burglary", "Vehicle crime", "Violence and sexual offences")])
    assert set(crimes["outcome"].to_pylist()) == {"Offender given a caution"}
    r = ingest_paths([old], store=s)
    assert r.files[0].change == "older copy ignored" and r.files[0].ignored == 300
    assert set(events(s, categories="Burglary")["outcome"].to_pylist()) == {"Offender given a caution"}
    r = ingest_paths([old], store=s, replace_older=True)
    assert r.files[0].change == "replaced"
    assert events(s).num_rows == 300


def test_monthly_archive_zip_and_folder_layouts(tmp_path):
    months = ["2019-07", "2019-08"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for m in months:
            zf.writestr(f"{m}/{m}-merseyside-street.csv", "\n".join([HEADER, *real_lines(m, 500)]) + "\n")
        zf.writestr("README.txt", "not data")
    archive = tmp_path / "2019-08.zip"
    archive.write_bytes(buf.getvalue())
    r = ingest_paths([archive], store=tmp_path / "zs")
    assert [f.months for f in r.files] == [["2019-07"], ["2019-08"]]
    assert events(tmp_path / "zs").num_rows == 1000
    folder = tmp_path / "archive"
    for m in months:
        write(folder / m / f"{m}-merseyside-street.csv", real_lines(m, 500), gz=True)
    r = ingest_paths([folder], store=tmp_path / "fs")
    assert events(tmp_path / "fs").num_rows == 1000
    zs = events(tmp_path / "zs").sort_by("event_id")["event_id"]
    fs = events(tmp_path / "fs").sort_by("event_id")["event_id"]
    assert zs.equals(fs)


def test_corrupt_zip_is_one_clear_error(tmp_path):
    bad = tmp_path / "2019-08.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    from saferhub.errors import SaferhubError

    with pytest.raises(SaferhubError, match="zip"):
        ingest_paths([bad], store=tmp_path / "s")


def test_another_force_with_unlocated_and_stray_rows(tmp_path):
    # A London force: rows without coordinates are kept as unlocated; one row placed in
    # Liverpool is far outside the area of the file's other points.
    rows = [street_row(crime_id=f"m{i}", ctype="Burglary", lon=f"-0.1{i % 10}", lat=f"51.5{i % 7}",
                       force="Metropolitan Police Service") for i in range(60)]
    rows += [street_row(crime_id="u1", ctype="Robbery", lon="", lat="", force="Metropolitan Police Service")]
    rows += [street_row(crime_id="far", ctype="Robbery", force="Metropolitan Police Service")]
    path = write(tmp_path / "2021-03-metropolitan-street.csv", [r.replace("2018-01", "2021-03") for r in rows])
    r = ingest_paths([path], store=tmp_path / "s")
    f = r.files[0]
    assert f.force == "metropolitan" and (f.stored, f.quarantined, f.unlocated) == (61, 1, 1)
    q = quarantine(tmp_path / "s").to_pandas()
    assert q["line"].tolist() == [63] and "outside the force area" in q["reason"].item()
    assert events(tmp_path / "s", force="metropolitan").num_rows == 61
    assert events(tmp_path / "s", located_only=True).num_rows == 60


def test_legacy_category_and_slugs(tmp_path):
    rows = [street_row(crime_id="v1", ctype="Violent crime"), street_row(crime_id="p1", ctype="Public disorder and weapons")]
    ingest_paths([write(tmp_path / "2012-01-merseyside-street.csv", [r.replace("2018-01", "2012-01") for r in rows])],
                 store=tmp_path / "s")
    t = events(tmp_path / "s").sort_by("event_id").to_pandas()
    assert t["category"].tolist() == ["Public disorder and weapons", "Violence and sexual offences"]
    assert t["category_slug"].tolist() == ["public-disorder-weapons", "violent-crime"]


def test_british_transport_police_is_national(tmp_path):
    # BTP's area is the rail network: stations hundreds of km apart are all inside it.
    rows = [street_row(crime_id=f"b{i}", ctype="Theft from the person", lon=lon, lat=lat,
                       force="British Transport Police")
            for i, (lon, lat) in enumerate([("-2.98", "53.40"), ("-0.12", "51.53"), ("-3.19", "55.95"),
                                            ("-1.90", "52.48"), ("-0.12", "51.53"), ("-0.12", "51.53")])]
    path = write(tmp_path / "2019-07-btp-street.csv", [r.replace("2018-01", "2019-07") for r in rows])
    f = ingest_paths([path], store=tmp_path / "s").files[0]
    assert (f.force, f.stored, f.quarantined) == ("btp", 6, 0)


def test_combined_export_without_a_police_file_name(tmp_path):
    # An analyst's own extract: several months and no force or month in the name. Each month
    # becomes its own partition, the force comes from 'Reported by'.
    rows = [street_row(crime_id=f"x{m}{i}", month=f"2020-0{m}", ctype="Burglary", lon=f"-2.9{i}")
            for m in (1, 2, 3) for i in range(4)]
    path = write(tmp_path / "burglary extract.csv", rows)
    r = ingest_paths([path], store=tmp_path / "s")
    f = r.files[0]
    assert (f.force, f.months, f.stored, f.quarantined) == ("merseyside", ["2020-01", "2020-02", "2020-03"], 12, 0)
    assert events(tmp_path / "s", months="2020-02").num_rows == 4
    assert ingest_paths([path], store=tmp_path / "s").added == 0


def test_a_column_police_uk_may_add_later_is_named_not_a_reason_to_refuse(tmp_path):
    # A later release with one more column (here in the middle): columns are matched by name, the
    # extra one is not stored and is named in the report and the catalog.
    header = HEADER.replace("Location,", "Location,Neighbourhood,")
    rows = [",".join(r.split(",")[:7] + ["Central"] + r.split(",")[7:])
            for r in (street_row(crime_id="a1", ctype="Burglary"), street_row(month="2018-13"))]
    path = write(tmp_path / "2018-01-merseyside-street.csv", rows, header=header)
    report = ingest_paths([path], store=tmp_path / "s")
    (f,) = report.files
    assert (f.kind, f.read, f.stored, f.quarantined, f.ignored_columns) == ("street", 2, 1, 1, ["Neighbourhood"])
    t = events(tmp_path / "s")
    assert t["location"].to_pylist() == ["On or near Bold Street"] and t["lsoa"].to_pylist() == ["E01006512"]
    from saferhub.data.store import Catalog

    (rec,) = Catalog.load(tmp_path / "s").files.values()
    assert rec["ignored_columns"] == ["Neighbourhood"]


def test_a_header_with_the_columns_of_two_kinds_is_refused(tmp_path):
    path = write(tmp_path / "2018-01-merseyside-street.csv", [street_row() + ",x"], header=HEADER + ",Outcome type")
    with pytest.raises(IngestError, match="has the columns of street and outcomes files"):
        ingest_paths([path], store=tmp_path / "s")
