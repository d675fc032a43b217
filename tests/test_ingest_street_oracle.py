"""police.uk street files against an independent oracle (issue 26): a brute-force reader written here
(the `csv` module, `re`, pyproj and plain loops) decides for every physical row of random street
files whether it is stored or quarantined and why, and what is stored (event id, generated ids for
rows without a Crime ID, category and slug, month, place, free text as published, duplicate Crime
IDs renamed and warned). `parse_member` is called directly on small files in a tmp dir (no store,
no real data: fast enough to run per mutant). read = stored + quarantined is recounted from the
file. Edge cases by hand: months at the year's ends and 00/13, a file named for one month holding
another, a file with no police.uk name holding several months, padded values, ASB repeats."""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
import re

import pytest
from ingest_helpers import HEADER, street_row
from pyproj import Transformer

from saferhub.categories import CATEGORIES, LEGACY_SLUGS, canonical
from saferhub.data.policeuk import Checks, detect_kind, parse_member
from saferhub.data.sources import Member
from saferhub.errors import SaferhubError

TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
SLUG = {**CATEGORIES, **LEGACY_SLUGS}
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def oracle(text: str, force: str, file_month: str | None):
    """(quarantine {line: reason}, stored {line: fields}, warnings {line: reason}) by brute force."""
    lines = text.split("\n")
    header = next(csv.reader([lines[0]]))
    bad, rows = {}, []
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "":
            continue
        f = next(csv.reader([line]))
        if len(f) != len(header):
            bad[number] = f"wrong column count (got {len(f)}, expected {len(header)})"
            continue
        if all(v == "" for v in f):
            bad[number] = "no values (the row holds only commas)"
            continue
        rows.append((number, dict(zip(header, f))))
    kept = {}
    for number, r in rows:
        month, ctype = r["Month"].strip(), r["Crime type"].strip()
        lo, la = r["Longitude"].strip(), r["Latitude"].strip()
        reason = None
        if not MONTH.fullmatch(month):
            reason = f"unparseable month {month!r}"
        elif file_month and month != file_month:
            reason = f"month {month} in a file for {file_month}"
        elif canonical(ctype) is None:
            reason = f"unknown crime type {ctype!r}"
        elif (lo == "") != (la == ""):
            reason = "only one of longitude/latitude given"
        lon = lat = x = y = math.nan
        if reason is None and lo != "":
            try:
                lon, lat = float(lo), float(la)
            except ValueError:
                reason = f"unparseable coordinates ({lo!r}, {la!r})"
            else:
                if not (-8.7 <= lon <= 1.8 and 49.8 <= lat <= 60.9):
                    reason = f"coordinates ({lon:.6f}, {lat:.6f}) are outside the UK"
                else:
                    x, y = TO_BNG.transform(lon, lat)
        if reason is not None:
            bad[number] = reason
            continue
        name = canonical(ctype)
        kept[number] = dict(crime_id=r["Crime ID"].strip(), month=dt.date(int(month[:4]), int(month[5:]), 1),
                            month_text=month, category=name, category_slug=SLUG[name], raw_category=ctype,
                            lon=lon, lat=lat, x=x, y=y, force=force, source="street", agency=None,
                            occurred_at=None, lsoa=r["LSOA code"].strip() or None,
                            lsoa_name=r["LSOA name"] or None, location=r["Location"] or None,
                            outcome=r["Last outcome category"] or None, text=r["Context"] or None)
    # Crime IDs: the second stored row with an id is '<id>#2' and warned, and so on
    warnings, first, count = {}, {}, {}
    for number in sorted(kept):
        cid = kept[number]["crime_id"]
        if cid == "":
            continue
        count[cid] = count.get(cid, 0) + 1
        first.setdefault(cid, number)
        if count[cid] > 1:
            kept[number]["crime_id"] = f"{cid}#{count[cid]}"
            warnings[number] = f"duplicate Crime ID (first on line {first[cid]}; stored as {cid}#{count[cid]})"
    # no Crime ID: force:content:n, n counting identical rows (stored or not) before it
    seen = {}
    for number, r in rows:
        if r["Crime ID"].strip() != "":
            continue
        key = "|".join([r["Month"].strip(), r["Longitude"], r["Latitude"], r["LSOA code"], r["Crime type"], r["Location"]])
        nth = seen.get(key, 0)
        seen[key] = nth + 1
        if number in kept:
            kept[number]["crime_id"] = f"{force}:{key}:{nth}"
    return bad, kept, warnings


def _member(path):
    return Member(name=str(path), path=path, inner=None, stamp="2026-01-01T00:00:00")


def _check(tmp_path, name, text, force, file_month):
    path = tmp_path / name
    path.write_text(text)
    p = parse_member(_member(path), checks=Checks(far_km=None))
    bad, kept, warnings = oracle(text, force, file_month)
    q = p.quarantine.to_pylist()
    assert {r["line"]: r["reason"] for r in q} == bad
    assert [r["line"] for r in q] == sorted(bad) and all(r["file"] == str(path) for r in q)
    raw_lines = text.split("\n")
    for r in q:   # the raw text is the row as published
        assert r["raw"] == raw_lines[r["line"] - 1]
    physical = sum(1 for line in raw_lines[1:] if line.strip())
    assert p.rows_read == physical == len(bad) + len(kept) == p.stored + p.quarantined
    assert (p.kind, p.dataset, p.force) == ("street", "events", force)
    assert {r["line"]: r["reason"] for r in p.warnings.to_pylist()} == warnings
    assert p.warned == len(warnings)
    assert sorted(p.tables) == sorted({k["month_text"] for k in kept.values()})
    got = []
    for month, table in p.tables.items():
        for r in table.to_pylist():
            assert r["month"].strftime("%Y-%m") == month
            got.append(r)
    want = [kept[n] for n in sorted(kept)]
    assert sorted(g["event_id"] for g in got) == sorted(w["crime_id"] for w in want)
    by_id = {g["event_id"]: g for g in got}
    for w in want:
        g = by_id[w["crime_id"]]
        for name in ("month", "category", "category_slug", "raw_category", "force", "source", "agency",
                     "occurred_at", "lsoa", "lsoa_name", "location", "outcome", "text"):
            assert g[name] == w[name], (w["crime_id"], name, g[name], w[name])
        for name in ("lon", "lat", "x", "y"):
            if math.isnan(w[name]):
                assert g[name] is None, (w["crime_id"], name)
            else:
                assert g[name] == pytest.approx(w[name], abs=1e-3 if name in "xy" else 1e-9), (w["crime_id"], name)
    assert p.unlocated == sum(1 for w in want if math.isnan(w["x"]))
    return p, bad, kept, warnings


TYPES = ["Burglary", "Anti-social behaviour", " Vehicle crime ", "Violent crime", "Violence and sexual offences",
         "Public disorder and weapons", "Alien abduction", "", "bicycle theft"]


def random_file(rng: random.Random, months: list[str]) -> str:
    out = [HEADER]
    spots = [(f"{rng.uniform(-3.0, -2.9):.6f}", f"{rng.uniform(53.38, 53.45):.6f}") for _ in range(5)]
    for i in range(70):
        lon, lat = rng.choice(spots + [("", ""), ("abc", "53.4"), ("-2.98", ""), ("10.5", "45.0"), (" -2.95", "53.41 ")])
        cid = rng.choice([f"id{i}", f"id{i}", f"id{rng.randrange(i + 1)}", "", "", f" id{i} "])
        row = [cid, rng.choice(months), "Merseyside Police", "Merseyside Police", lon, lat,
               rng.choice(["On or near Bold Street", "", " On or near Park "]), rng.choice(["E01006512", "", " E01006513"]),
               rng.choice(["Liverpool 060A", ""]), rng.choice(TYPES), rng.choice(["", "Under investigation"]),
               rng.choice(["", " a note "])]
        line = ",".join(row)
        if rng.random() < 0.04:
            line = ",".join(row[:4])
        elif rng.random() < 0.03:
            line = "," * 11
        out.append(line)
        if rng.random() < 0.1:
            out.append(line)              # an exact repeat (ASB repeats are separate incidents)
        if rng.random() < 0.03:
            out.append("")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(3))
def test_named_files_equal_the_brute_force_reader(tmp_path, seed):
    months = ["2018-12", "2018-12", "2018-12", " 2018-12 ", "2019-01", "2018-13", "2018-00", "18-12", ""]
    text = random_file(random.Random(seed), months)
    p, bad, kept, warnings = _check(tmp_path, "2018-12-merseyside-street.csv", text, "merseyside", "2018-12")
    assert len(kept) > 10 and len(set(r.split(" ")[0] for r in bad.values())) >= 5


@pytest.mark.parametrize("seed", range(2))
def test_unnamed_files_of_several_months_equal_the_brute_force_reader(tmp_path, seed):
    months = ["2018-12", "2019-01", "2019-01", "2018-01", "2019-13", " 2019-02"]
    text = random_file(random.Random(20 + seed), months)
    p, bad, kept, warnings = _check(tmp_path, "export.csv", text, "merseyside", None)
    assert len(p.tables) >= 3


def test_one_month_file_is_stored_whole(tmp_path):
    """Every row good and one month: the stored table is every row, in file order."""
    rows = [street_row(crime_id=f"c{i}", lon=f"-2.9{i}") for i in range(4)] + [street_row(), street_row()]
    text = HEADER + "\n" + "\n".join(rows) + "\n"
    p, bad, kept, warnings = _check(tmp_path, "2018-01-merseyside-street.csv", text, "merseyside", "2018-01")
    ids = p.tables["2018-01"]["event_id"].to_pylist()
    key = "2018-01|-2.98|53.40|E01006512|Anti-social behaviour|On or near Bold Street"
    assert ids == ["c0", "c1", "c2", "c3", f"merseyside:{key}:0", f"merseyside:{key}:1"]
    assert p.quarantined == 0 and p.unlocated == 0 and p.warned == 0


def test_a_file_of_another_force_and_bad_headers(tmp_path):
    rows = [street_row(force="Cheshire Constabulary", lon="-2.6", lat="53.2")] * 2
    text = HEADER + "\n" + "\n".join(rows) + "\n"
    p, bad, kept, warnings = _check(tmp_path, "2018-01-cheshire-street.csv", text, "cheshire", "2018-01")
    assert p.stored == 2 and p.tables["2018-01"]["force"].to_pylist() == ["cheshire"] * 2
    (tmp_path / "h.csv").write_text(HEADER + "\n")
    with pytest.raises(SaferhubError, match="has a header but no rows"):
        parse_member(_member(tmp_path / "h.csv"), checks=Checks(far_km=None))
    assert detect_kind("f", HEADER.split(",")) == ("street", [])
    assert detect_kind("f", HEADER.split(",")[:-1]) == ("street", [])          # Context is optional
    assert detect_kind("f", HEADER.split(",") + ["Colour"]) == ("street", ["Colour"])
    with pytest.raises(SaferhubError, match=r"unrecognised header \(Crime ID, Month, Reported by, Falls within, "
                                            r"Longitude, Latitude, \.\.\.\); expected"):
        detect_kind("f", HEADER.split(",")[:9])
    with pytest.raises(SaferhubError) as err:
        detect_kind("some.csv", ["a", "b", "c", "d", "e", "f"])
    assert str(err.value) == ("some.csv: unrecognised header (a, b, c, d, e, f); expected data.police.uk street, "
                              "outcomes or stop-and-search columns")


def test_quarantine_and_warnings_are_in_line_order(tmp_path):
    rows = [street_row(crime_id="d"), street_row(crime_id="x", month="2018-13"), street_row(crime_id="d"),
            "a,b", street_row(crime_id="d", ctype="Nope"), street_row(crime_id="d")]
    text = HEADER + "\n" + "\n".join(rows) + "\n"
    p, bad, kept, warnings = _check(tmp_path, "2018-01-merseyside-street.csv", text, "merseyside", "2018-01")
    assert [r["line"] for r in p.quarantine.to_pylist()] == [3, 5, 6]
    assert [(r["line"], r["reason"]) for r in p.warnings.to_pylist()] == [
        (4, "duplicate Crime ID (first on line 2; stored as d#2)"), (7, "duplicate Crime ID (first on line 2; stored as d#3)")]
    assert p.warnings.to_pylist()[0]["raw"] == rows[2] and p.warnings.to_pylist()[0]["file"] == str(tmp_path / "2018-01-merseyside-street.csv")


def test_an_older_release_without_context_stores_no_text(tmp_path):
    header = HEADER.rsplit(",", 1)[0]            # no Context column (older releases)
    rows = [street_row(crime_id="a").rsplit(",", 1)[0], street_row(crime_id="b").rsplit(",", 1)[0]]
    path = tmp_path / "2018-01-merseyside-street.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    p = parse_member(_member(path), checks=Checks(far_km=None))
    t = p.tables["2018-01"].to_pylist()
    assert [r["event_id"] for r in t] == ["a", "b"] and [r["text"] for r in t] == [None, None]
    assert p.extra_columns == [] and p.rows_read == 2


def test_outcomes_and_searches_are_stored_with_their_schemas(tmp_path):
    from saferhub.data.policeuk import OUTCOMES, STOP_SEARCH
    from saferhub.data.schemas import OUTCOME_SCHEMA, STOP_SEARCH_SCHEMA

    o = tmp_path / "2018-01-merseyside-outcomes.csv"
    o.write_text(",".join(OUTCOMES) + "\nc1,2018-01,Merseyside Police,Merseyside Police,-2.98,53.40,On or near Bold Street,"
                 "E01006512,Liverpool 060A,Under investigation\n")
    p = parse_member(_member(o), checks=Checks(far_km=None))
    assert p.tables["2018-01"].schema == OUTCOME_SCHEMA and p.stored == 1
    s = tmp_path / "2018-01-merseyside-stop-and-search.csv"
    s.write_text(",".join(STOP_SEARCH) + "\nPerson search,2018-01-05T10:00:00+00:00,False,,53.40,-2.98,Male,18-24,"
                 "White,White,Misuse of Drugs Act 1971 (section 23),Controlled drugs,A no further action disposal,False,False\n")
    p = parse_member(_member(s), checks=Checks(far_km=None))
    assert p.tables["2018-01"].schema == STOP_SEARCH_SCHEMA and p.stored == 1
