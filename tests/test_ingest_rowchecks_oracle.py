"""Independent oracles for saferhub.data.rowchecks (issue 14, mutation testing, third pass).

Every expected value is written out by hand here or computed by a plain Python loop in this
file (first-seen counters, a majority vote by counting), never by the module's numpy/arrow code.
Line numbers are deliberately not row + 2 so that a mix-up of rows and lines shows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from saferhub.data.forces import FORCES
from saferhub.data.rowchecks import distinct_crime_ids, file_force, occurrence
from saferhub.errors import BadFileError

MER, CHE, KENT, BTP = "Merseyside Police", "Cheshire Constabulary", "Kent Police", "British Transport Police"


# ---------------------------------------------------------------- occurrence


def _occurrence_by_loop(codes) -> list[int]:
    seen: dict[int, int] = {}
    out = []
    for c in codes:
        out.append(seen.get(c, 0))
        seen[c] = seen.get(c, 0) + 1
    return out


def test_occurrence_by_hand():
    assert occurrence(np.array([5, 3, 5, 5, 3, 9])).tolist() == [0, 0, 1, 2, 1, 0]
    assert occurrence(np.array([7])).tolist() == [0]
    assert occurrence(np.array([], dtype=np.int64)).tolist() == []
    assert occurrence(np.array([2, 2, 2, 2])).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("seed", range(6))
def test_occurrence_matches_a_first_seen_counter(seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 1 + seed * 3, size=int(rng.integers(1, 60)))
    assert occurrence(codes).tolist() == _occurrence_by_loop(codes.tolist())


# ---------------------------------------------------------------- distinct_crime_ids


def _distinct_by_loop(ids: list[str], good: list[bool], lines: list[int]):
    count: dict[str, int] = {}
    first: dict[str, int] = {}
    out, warned = list(ids), []
    for row, (cid, ok, line) in enumerate(zip(ids, good, lines)):
        if not ok or cid == "":
            continue
        count[cid] = count.get(cid, 0) + 1
        if count[cid] == 1:
            first[cid] = line
        else:
            out[row] = f"{cid}#{count[cid]}"
            warned.append((row, f"duplicate Crime ID (first on line {first[cid]}; stored as {out[row]})"))
    return out, warned


def test_distinct_crime_ids_by_hand():
    ids = pa.array(["a", "b", "a", "a", "", "", "b", "a"])
    good = np.array([True, True, True, False, True, True, True, True])
    lines = np.array([10, 11, 13, 14, 15, 16, 20, 21])
    got, warned = distinct_crime_ids(ids, good, lines)
    # row 3 is not stored: it neither counts nor is renamed; empty ids are never duplicates
    assert got.to_pylist() == ["a", "b", "a#2", "a", "", "", "b#2", "a#3"]
    assert warned == [(2, "duplicate Crime ID (first on line 10; stored as a#2)"),
                      (6, "duplicate Crime ID (first on line 11; stored as b#2)"),
                      (7, "duplicate Crime ID (first on line 10; stored as a#3)")]


def test_a_first_row_that_is_not_stored_leaves_the_next_one_first():
    ids = pa.array(["x", "x", "x"])
    got, warned = distinct_crime_ids(ids, np.array([False, True, True]), np.array([3, 4, 9]))
    assert got.to_pylist() == ["x", "x", "x#2"]
    assert warned == [(2, "duplicate Crime ID (first on line 4; stored as x#2)")]


def test_exactly_two_rows_sharing_an_id_are_told_apart():
    got, warned = distinct_crime_ids(pa.array(["q", "q"]), np.array([True, True]), np.array([2, 3]))
    assert got.to_pylist() == ["q", "q#2"]
    assert warned == [(1, "duplicate Crime ID (first on line 2; stored as q#2)")]


def test_no_duplicates_leave_ids_untouched():
    for ids, good in ((["a", "b", "c"], [True, True, True]), (["a", "a"], [True, False]),
                      (["a", "", ""], [True, True, True]), ([], [])):
        arr = pa.array(ids, pa.string())
        got, warned = distinct_crime_ids(arr, np.array(good, bool), np.arange(len(ids)) + 2)
        assert got.to_pylist() == ids and warned == []


@pytest.mark.parametrize("seed", range(8))
def test_distinct_crime_ids_match_a_loop(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 80))
    ids = [str(x) if x else "" for x in rng.integers(0, 2 + seed, size=n)]  # "0" -> empty id
    good = (rng.random(n) < 0.8).tolist()
    lines = np.cumsum(rng.integers(1, 4, size=n)) + 1
    got, warned = distinct_crime_ids(pa.array(ids, pa.string()), np.array(good), lines)
    want, want_warned = _distinct_by_loop(ids, good, lines.tolist())
    assert got.to_pylist() == want
    assert warned == want_warned


# ---------------------------------------------------------------- file_force


def _reasons(reason) -> list:
    assert reason.dtype == object   # None for the rows that are fine, else the reason
    return reason.tolist()


def test_named_force_decides_and_other_forces_rows_are_marked():
    reported = [MER, CHE, f"  {MER} ", MER, MER]
    falls = [MER, MER, f" {CHE}  ", "", KENT]   # "Reported by" Cheshire alone is fine
    force, reason = file_force("f.csv", "merseyside", reported, falls)
    assert force == "merseyside"
    assert _reasons(reason) == [None, None, f"falls within another force ({CHE}, not {MER})", None,
                                f"falls within another force ({KENT}, not {MER})"]


def test_columns_may_be_arrow_arrays_or_chunked():
    reported = pa.chunked_array([[MER, MER], [MER]])
    falls = pa.chunked_array([[MER], [CHE, MER]])
    force, reason = file_force("f.csv", "Merseyside Police", reported, falls)
    assert force == "merseyside"
    assert _reasons(reason) == [None, f"falls within another force ({CHE}, not {MER})", None]
    force, reason = file_force("f.csv", "merseyside", pa.array([MER, MER]), pa.array([MER, MER]))
    assert (force, _reasons(reason)) == ("merseyside", [None, None])


def test_btp_files_are_judged_on_reported_by():
    reported = [BTP, BTP, MER, f" {BTP}"]
    falls = [MER, KENT, MER, ""]
    force, reason = file_force("f.csv", "btp", reported, falls)
    assert force == "btp"
    assert _reasons(reason) == [None, None, f"reported by another force ({MER}, not {BTP})", None]


def test_no_name_the_force_most_rows_report_wins_empty_rows_not_counted():
    reported = ["", KENT, "", MER, " ", f"{MER} ", ""]
    falls = [MER, KENT, MER, MER, MER, CHE, MER]
    force, reason = file_force("f.csv", None, reported, falls)
    assert force == "merseyside"
    assert _reasons(reason) == [None, f"falls within another force ({KENT}, not {MER})", None, None, None,
                                f"falls within another force ({CHE}, not {MER})", None]
    # the same with the majority first, and with an empty name instead of None
    force, _ = file_force("f.csv", "", [KENT, KENT, MER], [KENT, KENT, KENT])
    assert force == "kent"


def test_no_name_and_btp_majority_is_a_btp_file():
    force, reason = file_force("f.csv", None, [BTP, BTP, MER], [KENT, MER, MER])
    assert force == "btp"
    assert _reasons(reason) == [None, None, f"reported by another force ({MER}, not {BTP})"]


def test_no_name_and_no_reported_by_is_refused():
    with pytest.raises(BadFileError) as exc:
        file_force("x/2018-01-street.csv", None, ["", "  ", ""], [MER, MER, MER])
    assert str(exc.value) == ("x/2018-01-street.csv: cannot tell which force this file is for: "
                              "its 'Reported by' column is empty")


def test_unknown_name_the_rows_agreement_wins():
    force, reason = file_force("f.csv", "mersyside", [KENT, KENT, ""], [MER, MER, ""])
    assert (force, _reasons(reason)) == ("merseyside", [None, None, None])
    # "Falls within" empty everywhere: "Reported by" decides
    force, reason = file_force("f.csv", "mersyside", [CHE, f" {CHE}"], ["", ""])
    assert (force, _reasons(reason)) == ("cheshire", [None, None])


@pytest.mark.parametrize("reported, falls", [
    ([MER, MER], [MER, CHE]),                    # the rows disagree
    (["Garda", "Garda"], ["Garda", "Garda"]),    # they agree, on no police.uk force
    ([MER, CHE], ["", ""]),                      # no "Falls within", "Reported by" disagrees
    (["", ""], ["", ""]),                        # nothing to agree on
])
def test_unknown_name_without_agreement_is_refused_listing_the_forces(reported, falls):
    with pytest.raises(BadFileError) as exc:
        file_force("f.csv", "mersyside", reported, falls)
    assert str(exc.value) == ("f.csv: 'mersyside' in the file name is not a police.uk force and the rows do not "
                              "agree on one; known forces: " + ", ".join(sorted(FORCES)))


def test_missing_values_count_as_empty_even_when_a_whole_column_is_missing():
    # a column of Python None (no type to infer) is still read as text: all empty, so refused
    with pytest.raises(BadFileError, match="its 'Reported by' column is empty$"):
        file_force("f.csv", None, [None, None], [MER, MER])
    force, reason = file_force("f.csv", "merseyside", [MER, None], [None, None])
    assert (force, _reasons(reason)) == ("merseyside", [None, None])


def test_a_file_with_no_rows():
    force, reason = file_force("f.csv", "merseyside", [], [])
    assert force == "merseyside" and reason.tolist() == []
    with pytest.raises(BadFileError, match="its 'Reported by' column is empty$"):
        file_force("f.csv", None, [], [])
