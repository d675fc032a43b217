"""read = stored + quarantined for outcomes and stop-and-search files, by test, not by construction:
crafted files holding rows the CSV reader cannot split (wrong column count), rows of commas, blank
lines and rows that fail a check. `read` is compared with the physical rows counted here, line by
line (a blank line is not a row), `stored` with what the store gives back and `quarantined` with the
quarantine table, each reason at its line."""

from __future__ import annotations

import pytest
from ingest_helpers import write

from saferhub.data.ingest import ingest_paths
from saferhub.data.policeuk import OUTCOMES, STOP_SEARCH
from saferhub.data.store import outcomes, quarantine, stop_searches


def _physical_rows(path) -> int:
    """Records after the header: non-blank lines (these files have no quoted line breaks)."""
    lines = path.read_text(encoding="utf-8").split("\n")[1:]
    return sum(1 for line in lines if line.strip() != "")


def _outcome(crime_id="abc1", month="2018-01", lon="-2.98", lat="53.40", outcome="Investigation complete; no suspect identified"):
    return (f"{crime_id},{month},Merseyside Police,Merseyside Police,{lon},{lat},On or near Bold Street,"
            f"E01006512,Liverpool 060A,{outcome}")


def _search(date="2018-01-05T10:00:00+00:00", stype="Person search", lon="-2.98", lat="53.40"):
    return (f"{stype},{date},False,,{lat},{lon},Male,18-24,White - English/Welsh/Scottish/Northern Irish"
            f"/British,White,Misuse of Drugs Act 1971 (section 23),Controlled drugs,A no further action disposal,"
            f"False,False")


def _by_line(store, path):
    q = quarantine(store).to_pandas()
    q = q[q["file"] == str(path)]
    return dict(zip(q["line"].astype(int), q["reason"]))


def test_outcomes_file_counts_every_physical_row(tmp_path):
    lines = [
        _outcome("a1"),                                         # 2: good
        "a2,2018-01,Merseyside Police",                         # 3: wrong column count
        _outcome("a3", lon="abc"),                              # 4: unparseable coordinates
        "",                                                     # 5: blank line, not a row
        _outcome("", ),                                         # 6: missing Crime ID
        _outcome("a5", outcome=""),                             # 7: missing outcome type
        "," * (len(OUTCOMES) - 1),                              # 8: a row of commas
        _outcome("a7", month="2018-13"),                        # 9: unparseable month
        _outcome("a8") + ",one too many",                       # 10: wrong column count
        _outcome("a9", lon="", lat=""),                         # 11: unlocated, kept
        *[_outcome(f"b{i}", lon=f"-2.9{i}") for i in range(4)],  # 12-15: good
    ]
    path = write(tmp_path / "2018-01-merseyside-outcomes.csv", lines, header=",".join(OUTCOMES))
    store = tmp_path / "s"
    f = ingest_paths([path], store=store).files[0]
    assert f.kind == "outcomes"
    assert _physical_rows(path) == 13
    assert f.read == 13
    assert f.stored == outcomes(store, months="2018-01").num_rows == 6
    got = _by_line(store, path)
    assert f.quarantined == len(got) == 7
    assert f.read == f.stored + f.quarantined
    assert sorted(got) == [3, 4, 6, 7, 8, 9, 10]
    assert got[3].startswith("wrong column count (got 3, expected 10)")
    assert got[10].startswith("wrong column count (got 11, expected 10)")
    assert got[4].startswith("unparseable coordinates")
    assert got[6] == "missing Crime ID" and got[7] == "missing outcome type"
    assert got[8] == "no values (the row holds only commas)"
    assert got[9] == "unparseable month '2018-13'"
    assert f.unlocated == 1


def test_stop_and_search_file_counts_every_physical_row(tmp_path):
    lines = [
        _search(),                                              # 2: good
        "Person search,2018-01-05T10:00:00+00:00,False",        # 3: wrong column count
        _search(date="yesterday"),                              # 4: unparseable date
        "",                                                     # 5: blank line
        _search(stype=""),                                      # 6: missing search type
        _search(lon="abc"),                                     # 7: unparseable coordinates
        "," * (len(STOP_SEARCH) - 1),                           # 8: a row of commas
        _search() + ",extra",                                   # 9: wrong column count
        _search(lon="", lat=""),                                # 10: unlocated, kept
        *[_search(date=f"2018-01-1{i}T09:00:00+00:00") for i in range(3)],  # 11-13: good
    ]
    path = write(tmp_path / "2018-01-merseyside-stop-and-search.csv", lines, header=",".join(STOP_SEARCH))
    store = tmp_path / "s"
    f = ingest_paths([path], store=store).files[0]
    assert f.kind == "stop-and-search"
    assert _physical_rows(path) == 11
    assert f.read == 11
    assert f.stored == stop_searches(store, months="2018-01").num_rows == 5
    got = _by_line(store, path)
    assert f.quarantined == len(got) == 6
    assert f.read == f.stored + f.quarantined
    assert sorted(got) == [3, 4, 6, 7, 8, 9]
    assert got[3].startswith("wrong column count (got 3, expected 15)")
    assert got[9].startswith("wrong column count (got 16, expected 15)")
    assert got[4] == "unparseable date 'yesterday'"
    assert got[6] == "missing search type"
    assert got[7].startswith("unparseable coordinates")
    assert got[8] == "no values (the row holds only commas)"
    assert f.unlocated == 1


def test_a_file_of_unsplittable_rows_only_is_read_and_all_quarantined(tmp_path):
    # no row the CSV reader can split: every read row must come from the bad-row count
    lines = ["a1,2018-01,Merseyside Police", "a2,2018-01", "a3"]
    path = write(tmp_path / "2018-01-merseyside-outcomes.csv", lines, header=",".join(OUTCOMES))
    store = tmp_path / "s"
    f = ingest_paths([path], store=store).files[0]
    assert (f.read, f.stored, f.quarantined) == (3, 0, 3)
    assert sorted(_by_line(store, path)) == [2, 3, 4]


def _bng(lon, lat):
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(lon, lat)


def test_stored_outcome_fields_are_the_files_values(tmp_path):
    lines = [_outcome("id-1", lon="-2.9801", lat="53.4012", outcome="Offender given a caution"),
             _outcome("  id-2 ", lon="", lat="", outcome="  Under investigation  ").replace("On or near Bold Street", "")]
    path = write(tmp_path / "2018-01-merseyside-outcomes.csv", lines, header=",".join(OUTCOMES))
    store = tmp_path / "s"
    ingest_paths([path], store=store)
    rows = {r["crime_id"]: r for r in outcomes(store, months="2018-01").to_pylist()}
    assert sorted(rows) == ["id-1", "id-2"]           # Crime IDs trimmed
    a, b = rows["id-1"], rows["id-2"]
    assert (a["force"], str(a["month"]), a["outcome_type"]) == ("merseyside", "2018-01-01", "Offender given a caution")
    assert (a["location"], a["lsoa"], a["lsoa_name"]) == ("On or near Bold Street", "E01006512", "Liverpool 060A")
    assert (a["lon"], a["lat"]) == (-2.9801, 53.4012)
    x, y = _bng(-2.9801, 53.4012)
    assert a["x"] == pytest.approx(x, abs=0.01) and a["y"] == pytest.approx(y, abs=0.01)
    assert b["outcome_type"] == "Under investigation"
    assert b["location"] is None and b["lon"] is None and b["x"] is None   # empty -> null, unlocated


def test_stored_stop_and_search_fields_are_the_files_values(tmp_path):
    header = ",".join(STOP_SEARCH)
    full = ("Vehicle search,2018-01-05T23:30:00+00:00,True,Operation Alpha,53.4012,-2.9801,Female,over 34,"
            "Asian/Asian British - Indian,Asian,Police and Criminal Evidence Act 1984 (section 1),Stolen goods,"
            "Arrest,True,False")
    sparse = "Person search,2018-01-06T08:00:00+00:00,,,,,,,,,,,,,"
    path = write(tmp_path / "2018-01-merseyside-stop-and-search.csv", [full, sparse], header=header)
    store = tmp_path / "s"
    ingest_paths([path], store=store)
    rows = sorted(stop_searches(store, months="2018-01").to_pylist(), key=lambda r: r["occurred_at"])
    a, b = rows
    assert (a["force"], str(a["month"]), a["type"]) == ("merseyside", "2018-01-01", "Vehicle search")
    assert a["occurred_at"].isoformat() == "2018-01-05T23:30:00+00:00"
    assert (a["part_of_operation"], a["operation"]) == ("True", "Operation Alpha")
    assert (a["gender"], a["age_range"]) == ("Female", "over 34")
    assert (a["self_defined_ethnicity"], a["officer_defined_ethnicity"]) == ("Asian/Asian British - Indian", "Asian")
    assert a["legislation"] == "Police and Criminal Evidence Act 1984 (section 1)"
    assert (a["object_of_search"], a["outcome"]) == ("Stolen goods", "Arrest")
    assert (a["outcome_linked_to_object"], a["removal_of_outer_clothing"]) == ("True", "False")
    assert (a["lon"], a["lat"]) == (-2.9801, 53.4012)
    x, y = _bng(-2.9801, 53.4012)
    assert a["x"] == pytest.approx(x, abs=0.01) and a["y"] == pytest.approx(y, abs=0.01)
    assert b["type"] == "Person search" and b["x"] is None
    for col in ("part_of_operation", "operation", "gender", "age_range", "self_defined_ethnicity",
                "officer_defined_ethnicity", "legislation", "object_of_search", "outcome",
                "outcome_linked_to_object", "removal_of_outer_clothing"):
        assert b[col] is None, col


def test_a_search_file_whose_name_gives_no_force_is_refused_and_nothing_is_stored(tmp_path):
    from saferhub.data.ingest import IngestError

    path = write(tmp_path / "merseyside-stop-and-search.csv", [_search()], header=",".join(STOP_SEARCH))
    with pytest.raises(IngestError, match="cannot tell which force this file is for: name it like "
                                          "YYYY-MM-<force>-stop-and-search.csv"):
        ingest_paths([path], store=tmp_path / "s")
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").rglob("*.parquet"))


def test_outcome_rows_of_another_month_or_far_outside_the_force_are_quarantined(tmp_path):
    lines = [_outcome("a1"),                                              # 2: good
             _outcome("a2", month="2018-02"),                             # 3: another month
             _outcome("a3", lon="-0.1276", lat="51.5072"),                # 4: London
             _outcome("a4", lon="-2.97", lat="53.41"),                    # 5: good
             *[_outcome(f"b{i}", lon=f"-2.9{i}") for i in range(8)]]     # 6-13: the bulk, in Liverpool
    path = write(tmp_path / "2018-01-merseyside-outcomes.csv", lines, header=",".join(OUTCOMES))
    store = tmp_path / "s"
    f = ingest_paths([path], store=store).files[0]
    assert (f.read, f.stored, f.quarantined) == (12, 10, 2)
    got = _by_line(store, path)
    assert got[3] == "month 2018-02 in a file for 2018-01"
    assert "outside the force area" in got[4]
    assert {"a2", "a3"}.isdisjoint(r["crime_id"] for r in outcomes(store, months="2018-01").to_pylist())


def test_search_times_with_any_offset_are_stored_in_utc_and_far_searches_quarantined(tmp_path):
    lines = [_search(date="2018-01-05T10:00:00+00:00"),                   # 2
             _search(date="2018-01-06T10:00:00+01:00"),                   # 3: 09:00 UTC
             _search(date="2018-01-07T10:00:00"),                         # 4: no offset: UTC
             _search(lon="-0.1276", lat="51.5072"),                       # 5: London
             *[_search(date="2018-01-20T12:00:00+00:00", lon=f"-2.9{i}") for i in range(8)]]  # 6-13: the bulk
    path = write(tmp_path / "2018-01-merseyside-stop-and-search.csv", lines, header=",".join(STOP_SEARCH))
    store = tmp_path / "s"
    f = ingest_paths([path], store=store).files[0]
    assert (f.read, f.stored, f.quarantined) == (12, 11, 1)
    assert "outside the force area" in _by_line(store, path)[5]
    got = sorted(r["occurred_at"].isoformat() for r in stop_searches(store, months="2018-01").to_pylist())
    assert got[:3] == ["2018-01-05T10:00:00+00:00", "2018-01-06T09:00:00+00:00", "2018-01-07T10:00:00+00:00"]


def test_searches_are_filed_under_the_files_month_whatever_their_utc_or_uk_date(tmp_path):
    # police.uk files searches by the UK month; the file's name is the authority: a June file's
    # search stamped 23:30 UTC on 31 May (00:30 on 1 June in London) and one stamped 23:30 UTC on
    # 30 June (00:30 on 1 July in London) are both June searches
    lines = [_search(date="2018-05-31T23:30:00+00:00"), _search(date="2018-06-30T23:30:00+00:00"),
             *[_search(date="2018-06-15T12:00:00+00:00", lon=f"-2.9{i}") for i in range(4)]]
    path = write(tmp_path / "2018-06-merseyside-stop-and-search.csv", lines, header=",".join(STOP_SEARCH))
    store = tmp_path / "s"
    f = ingest_paths([path], store=store).files[0]
    assert f.months == ["2018-06"] and (f.read, f.stored) == (6, 6)
    assert stop_searches(store, months="2018-06").num_rows == 6
    assert {str(r["month"]) for r in stop_searches(store).to_pylist()} == {"2018-06-01"}
