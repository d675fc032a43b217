"""Ingest accounting oracles (issue 14): tiny hand-made police.uk files whose counts are worked
out by hand here, the catalog checked field by field, and the replace / older-copy / unchanged
rules at exact file stamps (mtimes set to whole seconds, so the ISO stamps are known)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from ingest_helpers import street_row, write

from saferhub.data import events
from saferhub.data.ingest import FileResult, IngestError, IngestReport, file_key, ingest_paths
from saferhub.data.store import Catalog, quarantine
from saferhub.errors import BadFileError, SaferhubError

T0 = 1_600_000_000          # 2020-09-13T12:26:40+00:00
STAMP0 = "2020-09-13T12:26:40+00:00"
STAMP1 = "2020-09-13T12:26:41+00:00"   # one second later


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(n, month="2018-01", prefix="c"):
    return [street_row(crime_id=f"{prefix}{i}", month=month, ctype="Burglary", lon=f"-2.9{i % 10}")
            for i in range(n)]


def test_stamp_constants_are_what_the_mtimes_give():
    assert dt.datetime.fromtimestamp(T0, dt.timezone.utc).isoformat(timespec="seconds") == STAMP0


def test_counts_and_catalog_records_field_by_field(tmp_path):
    # 5 good rows, 2 bad (unparseable coordinates, unknown type): read 7 = stored 5 + quarantined 2
    lines = _rows(5) + [street_row(lon="abc"), street_row(ctype="Alien abduction")]
    path = write(tmp_path / "in" / "2018-01-merseyside-street.csv", lines, mtime=T0)
    sha = _sha(path)
    calls = []
    r = ingest_paths([path], store=tmp_path / "s", on_file=calls.append)
    assert calls == [str(path)]
    assert (r.rows_before, r.rows_after, r.added) == (0, 5, 5)
    f = r.files[0]
    assert (f.name, f.kind, f.force, f.months) == (str(path), "street", "merseyside", ["2018-01"])
    assert (f.read, f.stored, f.quarantined, f.ignored, f.unlocated, f.change, f.warnings) == \
        (7, 5, 2, 0, 0, "new", 0)
    assert f.balanced
    cat = Catalog.load(tmp_path / "s")
    assert list(cat.partitions) == ["events/merseyside/2018-01"]
    p = cat.partitions["events/merseyside/2018-01"]
    assert (p["rows"], p["content"], p["sha256"], p["sources"], p["stamp"], p["source_file"]) == \
        (5, f"{sha}:2018-01", sha, [sha], STAMP0, str(path))
    assert (tmp_path / "s" / p["file"]).is_file()
    assert list(cat.files) == [sha]
    rec = cat.files[sha]
    assert {k: rec[k] for k in ("name", "kind", "force", "stamp", "months", "partitions", "read", "stored",
                                "quarantined", "unlocated", "warnings", "warnings_file")} == {
        "name": str(path), "kind": "street", "force": "merseyside", "stamp": STAMP0, "months": ["2018-01"],
        "partitions": ["events/merseyside/2018-01"], "read": 7, "stored": 5, "quarantined": 2,
        "unlocated": 0, "warnings": 0, "warnings_file": None}
    assert rec["quarantine_file"] and (tmp_path / "s" / rec["quarantine_file"]).is_file()
    assert rec["quarantine_file"].startswith(f"quarantine/{sha[:32]}")
    got = dt.datetime.fromisoformat(rec["ingested_at"])
    assert got.tzinfo is not None and abs((dt.datetime.now(dt.timezone.utc) - got).total_seconds()) < 60
    d = r.as_dict()
    assert (d["store"], d["rows_before"], d["rows_after"]) == (str(tmp_path / "s"), 0, 5)
    assert d["files"][0]["read"] == 7 and d["files"][0]["change"] == "new"


def test_duplicate_ids_are_warned_and_listed_in_a_warnings_file(tmp_path):
    lines = _rows(3) + [street_row(crime_id="c0", ctype="Burglary", lon="-2.95")]
    path = write(tmp_path / "2018-01-merseyside-street.csv", lines, mtime=T0)
    r = ingest_paths([path], store=tmp_path / "s")
    f = r.files[0]
    assert (f.read, f.stored, f.quarantined, f.warnings) == (4, 4, 0, 1)
    rec = Catalog.load(tmp_path / "s").files[_sha(path)]
    assert rec["warnings"] == 1 and rec["quarantine_file"] is None
    assert rec["warnings_file"].startswith(f"warnings/{_sha(path)[:32]}")
    assert (tmp_path / "s" / rec["warnings_file"]).is_file()


def test_same_copy_again_is_unchanged_and_writes_nothing(tmp_path):
    path = write(tmp_path / "2018-01-merseyside-street.csv", _rows(4), mtime=T0)
    s = tmp_path / "s"
    ingest_paths([path], store=s)
    before = sorted(q.relative_to(s) for q in s.rglob("*.parquet"))
    cat0 = Catalog.load(s)
    r = ingest_paths([path], store=s)
    f = r.files[0]
    assert (f.change, f.read, f.stored, f.ignored) == ("unchanged", 4, 4, 0)
    assert (r.rows_before, r.rows_after, r.added) == (4, 4, 0)
    assert sorted(q.relative_to(s) for q in s.rglob("*.parquet")) == before
    cat1 = Catalog.load(s)
    assert cat1.partitions == cat0.partitions
    assert cat1.files[_sha(path)]["partitions"] == ["events/merseyside/2018-01"]


@pytest.mark.parametrize("second_mtime,replace_older,change,stored,ignored,rows", [
    (T0 + 1, False, "replaced", 2, 0, 2),            # one second newer: replaces
    (T0, False, "replaced", 2, 0, 2),                # the same stamp, other content: not older, replaces
    (T0 - 1, False, "older copy ignored", 0, 2, 3),  # one second older: ignored
    (T0 - 1, True, "replaced", 2, 0, 2),             # ... unless replace_older
])
def test_replace_and_older_copy_at_exact_stamps(tmp_path, second_mtime, replace_older, change, stored, ignored, rows):
    first = write(tmp_path / "a" / "2018-01-merseyside-street.csv", _rows(3), mtime=T0)
    second = write(tmp_path / "b" / "2018-01-merseyside-street.csv", _rows(2, prefix="d"), mtime=second_mtime)
    s = tmp_path / "s"
    ingest_paths([first], store=s)
    r = ingest_paths([second], store=s, replace_older=replace_older)
    f = r.files[0]
    assert (f.change, f.read, f.stored, f.quarantined, f.ignored) == (change, 2, stored, 0, ignored)
    assert f.balanced
    assert (r.rows_before, r.rows_after) == (3, rows)
    assert events(s).num_rows == rows
    cat = Catalog.load(s)
    live = cat.partitions["events/merseyside/2018-01"]
    winner = second if stored else first
    assert (live["sha256"], live["source_file"], live["rows"]) == (_sha(winner), str(winner), rows)
    if stored:   # the replaced file no longer has live partitions: its record is dropped
        assert list(cat.files) == [_sha(second)]
    else:        # the ignored copy stored nothing and quarantined nothing: no record
        assert list(cat.files) == [_sha(first)]


def test_ignored_copy_with_quarantine_keeps_its_record(tmp_path):
    first = write(tmp_path / "a" / "2018-01-merseyside-street.csv", _rows(3), mtime=T0)
    older = write(tmp_path / "b" / "2018-01-merseyside-street.csv", _rows(2, prefix="d") + [street_row(lon="abc")],
                  mtime=T0 - 10)
    s = tmp_path / "s"
    ingest_paths([first], store=s)
    f = ingest_paths([older], store=s).files[0]
    assert (f.change, f.read, f.stored, f.quarantined, f.ignored) == ("older copy ignored", 3, 0, 1, 2)
    cat = Catalog.load(s)
    assert set(cat.files) == {_sha(first), _sha(older)}
    assert cat.files[_sha(older)]["partitions"] == [] and cat.files[_sha(older)]["quarantined"] == 1


def test_a_stored_copy_replaced_and_restored_in_one_run_keeps_its_rows(tmp_path):
    # The stored copy (not rewritten: it is unchanged) is replaced by an older copy taken with
    # replace_older, then the stored copy, newer, wins back in the same run: its rows must come
    # back whole, from its existing file (the parsed rows are let go once a file is staged).
    first = write(tmp_path / "a" / "2018-01-merseyside-street.csv", _rows(3) + [street_row(lon="abc")], mtime=T0)
    older = write(tmp_path / "b" / "2018-01-merseyside-street.csv", _rows(2, prefix="d"), mtime=T0 - 10)
    s = tmp_path / "s"
    ingest_paths([first], store=s)
    want = events(s).sort_by("event_id")
    r = ingest_paths([first, older], store=s, replace_older=True)
    assert [(f.name, f.change, f.stored) for f in r.files] == [(str(first), "replaced", 3), (str(older), "replaced", 2)]
    assert events(s).sort_by("event_id").equals(want)
    assert Catalog.load(s).partitions["events/merseyside/2018-01"]["sha256"] == _sha(first)
    assert quarantine(s).num_rows == 1 and quarantine(s)["line"].to_pylist() == [5]
    assert set(s.joinpath("parts").rglob("*.parquet")) == {s / p["file"] for p in Catalog.load(s).partitions.values()}


def test_two_copies_in_one_run_the_newest_wins_whatever_the_order(tmp_path):
    old = write(tmp_path / "a" / "2018-01-merseyside-street.csv", _rows(3), mtime=T0)
    new = write(tmp_path / "b" / "2018-01-merseyside-street.csv", _rows(2, prefix="d"), mtime=T0 + 1)
    s = tmp_path / "s"
    r = ingest_paths([new, old], store=s)
    assert [f.name for f in r.files] == [str(new), str(old)]   # reported in the order given
    by = {f.name: f for f in r.files}
    assert (by[str(old)].change, by[str(old)].stored) == ("new", 3)
    assert (by[str(new)].change, by[str(new)].stored) == ("replaced", 2)
    assert (r.rows_before, r.rows_after) == (0, 2)
    assert Catalog.load(s).partitions["events/merseyside/2018-01"]["stamp"] == STAMP1
    assert list(Catalog.load(s).files) == [_sha(new)]


def test_mixed_change_counts_each_month(tmp_path):
    # a newer one-month copy of 2020-01, then an older three-month extract: 2020-01 is ignored
    # (4 rows), 2020-02 and 2020-03 are new (8 rows)
    jan = write(tmp_path / "a" / "2020-01-merseyside-street.csv", _rows(5, month="2020-01", prefix="j"), mtime=T0)
    rows = [street_row(crime_id=f"x{m}{i}", month=f"2020-0{m}", ctype="Burglary", lon=f"-2.9{i}")
            for m in (1, 2, 3) for i in range(4)]
    extract = write(tmp_path / "b" / "burglary extract.csv", rows, mtime=T0 - 5)
    s = tmp_path / "s"
    ingest_paths([jan], store=s)
    r = ingest_paths([extract], store=s)
    f = r.files[0]
    assert (f.change, f.months, f.read, f.stored, f.ignored) == ("mixed", ["2020-01", "2020-02", "2020-03"], 12, 8, 4)
    assert (r.rows_before, r.rows_after, r.added) == (5, 13, 8)
    rec = Catalog.load(s).files[_sha(extract)]
    assert rec["partitions"] == ["events/merseyside/2020-02", "events/merseyside/2020-03"]
    assert rec["months"] == ["2020-01", "2020-02", "2020-03"] and rec["stored"] == 8


def test_report_and_result_arithmetic():
    f = FileResult("n", "police", "f", [], read=7, stored=4, quarantined=2, ignored=1, unlocated=0, change="new")
    assert f.balanced and f.warnings == 0
    assert not FileResult("n", "police", "f", [], 7, 4, 2, 0, 0, "new").balanced
    r = IngestReport("s", rows_before=10, rows_after=13)
    assert r.added == 3 and r.files == []


def test_ingest_error_messages():
    one = IngestError([BadFileError("a.csv", "not a CSV")])
    assert str(one) == "a.csv: not a CSV; nothing was stored (the store is unchanged)"
    two = IngestError([BadFileError("a.csv", "x"), BadFileError("b.csv", "y")])
    assert str(two) == "2 files could not be ingested; the store is unchanged:\n  a.csv: x\n  b.csv: y"
    assert len(two.errors) == 2


def test_bad_arguments_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SaferhubError, match=r"^no CSV files found in .*empty$"):
        ingest_paths([tmp_path / "empty"], store=tmp_path / "s")
    path = write(tmp_path / "2018-01-merseyside-street.csv", _rows(1))
    with pytest.raises(SaferhubError, match=r"^unknown kind 'crimes': use 'police' or 'incidents'$"):
        ingest_paths([path], store=tmp_path / "s", kind="crimes")
    with pytest.raises(SaferhubError, match=r"^partner incidents need --mapping MAPPING\.yaml"):
        ingest_paths([path], store=tmp_path / "s", kind="incidents")
    assert not (tmp_path / "s" / "catalog.json").exists()


def test_file_key_per_kind():
    class Item:
        sha256, force = "ab" * 32, "wirral-council"
    item = Item()
    item.kind = "police"
    assert file_key(item) == "ab" * 32
    item.kind = "incidents"
    assert file_key(item) == "ab" * 32 + ":wirral-council"


def test_partner_file_is_keyed_per_agency_in_the_catalog(tmp_path):
    (tmp_path / "m.yaml").write_text("agency: Wirral Council\ncolumns:\n  id: Ref\n  datetime: Reported\n"
                                     "  category: Type\n  lon: Long\n  lat: Lat\n")
    csv = tmp_path / "f.csv"
    csv.write_text("Ref,Reported,Type,Long,Lat\nC1,2020-01-10 09:00,Noise,-2.99,53.41\n"
                   "C2,2020-01-11 09:00,Noise,-2.99,53.41\nC3,2020-02-11 09:00,Noise,abc,53.41\n")
    r = ingest_paths([csv], store=tmp_path / "s", kind="incidents", mapping=tmp_path / "m.yaml")
    f = r.files[0]
    assert (f.kind, f.read, f.stored, f.quarantined, f.ignored, f.change) == ("incidents", 3, 2, 1, 0, "new")
    cat = Catalog.load(tmp_path / "s")
    key = f"{_sha(csv)}:{f.force}"
    assert list(cat.files) == [key]
    assert cat.files[key]["partitions"] == [f"events/{f.force}/2020-01"]
    assert (cat.files[key]["kind"], cat.files[key]["quarantined"]) == ("incidents", 1)
    part = cat.partitions[f"events/{f.force}/2020-01"]
    assert (part["rows"], part["sources"]) == (2, [_sha(csv)])
    again = ingest_paths([csv], store=tmp_path / "s", kind="incidents", mapping=tmp_path / "m.yaml")
    assert again.added == 0 and again.files[0].stored == 2
    assert list(Catalog.load(tmp_path / "s").files) == [key]


def _parsed(path):
    from saferhub.data.policeuk import parse_member
    from saferhub.data.sources import discover

    return [parse_member(m) for m in discover([path])]


def test_ingest_parsed_stores_in_one_transaction_with_the_same_accounting(tmp_path):
    from saferhub.data.ingest import ingest_parsed

    path = write(tmp_path / "2018-01-merseyside-street.csv", _rows(3) + [street_row(lon="abc")], mtime=T0)
    s = tmp_path / "s"
    r = ingest_parsed(_parsed(path), store=s)
    f = r.files[0]
    assert (f.change, f.read, f.stored, f.quarantined, f.ignored) == ("new", 4, 3, 1, 0)
    assert (r.store, r.rows_before, r.rows_after) == (s, 0, 3)
    assert events(s).num_rows == 3
    older = write(tmp_path / "o" / "2018-01-merseyside-street.csv", _rows(2, prefix="d"), mtime=T0 - 1)
    assert ingest_parsed(_parsed(older), store=s).files[0].change == "older copy ignored"
    r = ingest_parsed(_parsed(older), store=s, replace_older=True)
    assert (r.files[0].change, r.rows_before, r.rows_after) == ("replaced", 3, 2)


def test_prestage_skips_a_month_the_store_already_holds(tmp_path):
    from saferhub.data.ingest import _prestage
    from saferhub.data.store import StoreWriter

    path = write(tmp_path / "2018-01-merseyside-street.csv", _rows(3), mtime=T0)
    s = tmp_path / "s"
    with StoreWriter(s) as w:
        item = _parsed(path)[0]
        _prestage(w, item)
        assert list(item.staged) == ["2018-01"] and item.staged["2018-01"].startswith("parts/events/merseyside/2018-01")
    ingest_paths([path], store=s)
    files = set(s.rglob("*.parquet"))
    with StoreWriter(s) as w:
        item = _parsed(path)[0]
        _prestage(w, item)
        # nothing new is written for the month: the stored file (this very content) stands in
        assert item.staged == {"2018-01": w.catalog.partitions["events/merseyside/2018-01"]["file"]}
        assert set(s.joinpath("parts").rglob("*.parquet")) <= files


def _extract(path, prefix, mtime):
    rows = [street_row(crime_id=f"{prefix}{m}{i}", month=f"2020-0{m}", ctype="Burglary", lon=f"-2.9{i}")
            for m in (1, 2, 3) for i in range(4)]
    return write(path, rows, mtime=mtime)


def test_every_month_of_a_several_month_file_is_counted(tmp_path):
    # 3 months x 4 rows: unchanged again = 12 stored; an older other copy = 12 ignored
    s = tmp_path / "s"
    new = _extract(tmp_path / "a" / "extract.csv", "x", T0)
    ingest_paths([new], store=s)
    f = ingest_paths([new], store=s).files[0]
    assert (f.change, f.read, f.stored, f.ignored) == ("unchanged", 12, 12, 0)
    assert Catalog.load(s).files[_sha(new)]["partitions"] == [f"events/merseyside/2020-0{m}" for m in (1, 2, 3)]
    old = _extract(tmp_path / "b" / "extract.csv", "y", T0 - 5)
    f = ingest_paths([old], store=s).files[0]
    assert (f.change, f.read, f.stored, f.ignored) == ("older copy ignored", 12, 0, 12)


def test_partner_records_merged_into_a_stored_month_are_an_update(tmp_path):
    (tmp_path / "m.yaml").write_text("agency: Wirral Council\ncolumns:\n  id: Ref\n  datetime: Reported\n"
                                     "  category: Type\n  lon: Long\n  lat: Lat\n")
    first, second = tmp_path / "f1.csv", tmp_path / "f2.csv"
    first.write_text("Ref,Reported,Type,Long,Lat\nC1,2020-01-10 09:00,Noise,-2.99,53.41\n"
                     "C2,2020-01-11 09:00,Noise,-2.99,53.41\n")
    second.write_text("Ref,Reported,Type,Long,Lat\nC4,2020-01-12 09:00,Noise,-2.99,53.41\n")
    s = tmp_path / "s"
    ingest_paths([first], store=s, kind="incidents", mapping=tmp_path / "m.yaml")
    r = ingest_paths([second], store=s, kind="incidents", mapping=tmp_path / "m.yaml")
    f = r.files[0]
    assert (f.change, f.read, f.stored, f.ignored, r.added) == ("updated", 1, 1, 0, 1)
    part = Catalog.load(s).partitions[f"events/{f.force}/2020-01"]
    assert part["rows"] == 3 and part["sources"] == sorted([_sha(first), _sha(second)])
    assert part["sha256"] == _sha(second) and not part["content"].startswith(_sha(second) + ":")


def test_no_csv_in_several_folders_names_every_folder(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    with pytest.raises(SaferhubError) as exc:
        ingest_paths([a, b], store=tmp_path / "s")
    assert str(exc.value) == f"no CSV files found in {a}, {b}"
    assert not (tmp_path / "s" / "catalog.json").exists()


def test_a_file_whose_every_row_is_quarantined_is_new_and_recorded(tmp_path):
    # 2 rows, both bad: read 2 = stored 0 + quarantined 2; no partition, but the file's record and
    # its quarantine are kept so the rows can be found and fixed
    path = write(tmp_path / "2018-01-merseyside-street.csv", [street_row(lon="abc"), street_row(lat="xyz")], mtime=T0)
    r = ingest_paths([path], store=tmp_path / "s")
    f = r.files[0]
    assert (f.read, f.stored, f.quarantined, f.ignored, f.change, f.months) == (2, 0, 2, 0, "new", [])
    assert (r.rows_before, r.rows_after) == (0, 0)
    cat = Catalog.load(tmp_path / "s")
    assert cat.partitions == {}
    rec = cat.files[_sha(path)]
    assert (rec["read"], rec["stored"], rec["quarantined"], rec["partitions"]) == (2, 0, 2, [])
    assert (tmp_path / "s" / rec["quarantine_file"]).is_file()
