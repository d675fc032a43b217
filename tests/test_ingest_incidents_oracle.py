"""Partner incident files against an independent oracle (issue 26): a brute-force reader written here
(the `csv` module, `datetime.strptime`/`fromisoformat`, zoneinfo, pyproj, plain loops) decides for
every physical row of random partner files whether it is stored or quarantined and why, and what is
stored (event id, category, time, month, place, text). `parse_incidents` must agree row for row, and
read = stored + quarantined is recounted from the file, per agency too. Edge cases pinned by hand:
the hour the clocks go back (ambiguous: quarantined) and forward (shifted to 01:00 UTC), months at
the year's end, ISO dates never read day-first, duplicate ids (first on its line), the British
National Grid's edges, and a corrected record moving month on re-ingest."""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from zoneinfo import ZoneInfo

import pytest
from pyproj import Transformer

from saferhub.categories import CATEGORIES, LEGACY_SLUGS, canonical
from saferhub.data.forces import force_id, slugify
from saferhub.data.incidents import load_mapping, parse_incidents
from saferhub.data.policeuk import Checks
from saferhub.data.sources import Member
from saferhub.errors import SaferhubError

LONDON = ZoneInfo("Europe/London")
UTC = dt.timezone.utc
TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
CATS = {"Youths causing annoyance": "Anti-social behaviour", "Deliberate fire": "Criminal damage and arson"}
MAPPING = """agency: {agency}
columns:
  id: Ref
  datetime: Reported
  category: Type
  {coords}
  text: Notes
  location: Street
  lsoa: LSOA
{extra}
categories:
  Youths causing annoyance: Anti-social behaviour
  Deliberate fire: Criminal damage and arson
"""


def _local_to_utc(naive: dt.datetime):
    """UK local time -> UTC; None in the hour the clocks go back (it happens twice)."""
    a, b = naive.replace(tzinfo=LONDON, fold=0), naive.replace(tzinfo=LONDON, fold=1)
    if a.utcoffset() != b.utcoffset():
        back = a.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None)
        if back == naive:
            return None                                    # ambiguous
        raise AssertionError("the generator makes no time in the spring gap")
    return a.astimezone(UTC)


def _when(text: str):
    """A partner date/time as the docs promise: ISO 8601 (with an offset exact, without it UK local
    time) or a UK day-first date; None when it is none of these."""
    if text == "":
        return None
    if text.endswith("Z") or text[-6] in "+-" or text[-5] in "+-":
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            return None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"):
        try:
            return _local_to_utc(dt.datetime.strptime(text, fmt))
        except ValueError:
            continue
    return None


def _category(raw: str):
    mapped = CATS.get(raw)
    name = canonical(mapped) if mapped else canonical(raw)
    name = name or raw
    return name, {**CATEGORIES, **LEGACY_SLUGS}.get(name) or slugify(name)


def oracle(text: str, agency_column: bool, en: bool, quarantine_unmapped: bool, constant="Wirral Council"):
    lines = text.split("\n")
    header = next(csv.reader([lines[0]]))
    col = {h: i for i, h in enumerate(header)}
    bad, kept, first_line = {}, {}, {}
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
        g = {h: f[i].strip() for h, i in col.items()}
        agency = g["Agency"] if agency_column else constant
        key = (agency, g["Ref"])
        first_line.setdefault(key, number)
        when = _when(g["Reported"])
        reason = None
        if g["Ref"] == "":
            reason = "missing id"
        elif when is None:
            reason = f"unparseable date/time {g['Reported']!r}"
        elif g["Type"] == "":
            reason = "missing category"
        elif quarantine_unmapped and g["Type"] not in CATS:
            reason = f"unknown category {g['Type']!r} (not in the mapping's categories)"
        elif agency == "":
            reason = "missing agency"
        lon = lat = x = y = math.nan
        if reason is None:
            if en:
                e, n = g["E"], g["N"]
                if e == n == "":
                    pass
                else:
                    try:
                        ev, nv = float(e), float(n)
                    except ValueError:
                        reason = f"unparseable easting/northing ({e!r}, {n!r})"
                    else:
                        if not (0 <= ev <= 700_000 and 0 <= nv <= 1_300_000):
                            reason = f"easting/northing ({ev:.0f}, {nv:.0f}) outside the British National Grid"
                        else:
                            x, y = ev, nv
                            lon, lat = TO_WGS84.transform(ev, nv)
            else:
                lo, la = g["Long"], g["Lat"]
                if lo == la == "":
                    pass
                elif (lo == "") != (la == ""):
                    reason = "only one of longitude/latitude given"
                else:
                    try:
                        lon, lat = float(lo), float(la)
                    except ValueError:
                        reason = f"unparseable coordinates ({lo!r}, {la!r})"
                    else:
                        if not (-8.7 <= lon <= 1.8 and 49.8 <= lat <= 60.9):
                            reason = f"coordinates ({lon:.6f}, {lat:.6f}) are outside the UK"
                        else:
                            x, y = TO_BNG.transform(lon, lat)
        if reason is None and first_line[key] != number:
            reason = f"duplicate id (first on line {first_line[key]})"
        if reason is not None:
            bad[number] = reason
            continue
        name, slug = _category(g["Type"])
        aid = force_id(agency)
        kept[number] = dict(event_id=f"{aid}:{g['Ref']}", force=aid, source="incident", category=name,
                            category_slug=slug, raw_category=g["Type"], agency=agency,
                            occurred_at=when, month=dt.date(*when.astimezone(LONDON).timetuple()[:2], 1),
                            lon=lon, lat=lat, x=x, y=y, text=g["Notes"] or None,
                            location=g["Street"] or None, lsoa=g["LSOA"] or None)
    return bad, kept


DATES = ["03/01/2020 14:05", "31/12/2019 23:30", "01/01/2020 00:10", "2020-06-30T23:30:00Z",
         "2020-12-31T23:59:00+00:00", "2020-07-01T00:30:00+01:00", "2020-02-03 10:00", "2020-03-04T08:00:00",
         "12/07/2020 12:00", "25/10/2020 01:30", "25/10/2020 00:59", "31/12/2020 23:59", "01/11/2020",
         "31/02/2020 10:00", "not a date", "", "2020-13-01 10:00"]
TYPES = ["Youths causing annoyance", "Deliberate fire", "Burglary", "burglary", "Violent crime",
         "Noise", "Dog fouling", ""]


def random_file(rng: random.Random, agency_column: bool, en: bool) -> str:
    head = ["Ref", "Reported", "Type"] + (["E", "N"] if en else ["Long", "Lat"]) + ["Notes", "Street", "LSOA"]
    head += ["Agency"] if agency_column else []
    out = [",".join(head)]
    for i in range(60):
        ref = rng.choice([f"C{i}", f"C{i}", f"C{rng.randrange(i + 1)}", f" C{i} ", ""])
        lon, lat = rng.uniform(-3.0, -2.9), rng.uniform(53.38, 53.45)
        if en:
            x, y = TO_BNG.transform(lon, lat)
            coords = rng.choice([[f"{x:.0f}", f"{y:.0f}"]] * 5 + [["", ""], ["abc", "390000"], ["-5", "390000"],
                                                                  ["700001", "390000"], ["", "390000"]])
        else:
            coords = rng.choice([[f"{lon:.5f}", f"{lat:.5f}"]] * 5 + [["", ""], ["abc", "53.4"], ["-2.98", ""],
                                                                      ["10.0", "53.4"]])
        row = [ref, rng.choice(DATES), rng.choice(TYPES), *coords, rng.choice(["", "bin fire"]),
               rng.choice(["", "On or near Bold Street"]), rng.choice(["", "E01006512"])]
        if agency_column:
            row.append(rng.choice(["Wirral Council", "Wirral Council", "Merseyside Fire and Rescue Service",
                                   "Sefton Council", ""]))
        line = ",".join(row)
        if rng.random() < 0.04:
            line = ",".join(row[:3])
        elif rng.random() < 0.03:
            line = "," * (len(head) - 1)
        out.append(line)
        if rng.random() < 0.03:
            out.append("")
    return "\n".join(out) + "\n"


def _parse(tmp_path, text, agency_column, en, unmapped="keep"):
    coords = "easting: E\n  northing: N" if en else "lon: Long\n  lat: Lat"
    extra = (f"unmapped_categories: {unmapped}\n") + ("" if not agency_column else "")
    if agency_column:
        coords += "\n  agency: Agency"
    mapping = MAPPING.format(agency="Wirral Council", coords=coords, extra=extra)
    if agency_column:
        mapping = mapping.replace("agency: Wirral Council\n", "", 1)
    (tmp_path / "m.yaml").write_text(mapping)
    path = tmp_path / "calls.csv"
    path.write_text(text)
    member = Member(name=str(path), path=path, inner=None, stamp="2026-01-01T00:00:00")
    return parse_incidents(member, load_mapping(tmp_path / "m.yaml"), checks=Checks())


def _check(tmp_path, text, agency_column, en, unmapped="keep"):
    items = _parse(tmp_path, text, agency_column, en, unmapped)
    bad, kept = oracle(text, agency_column, en, unmapped == "quarantine")
    q = items[0].quarantine.to_pylist()
    assert {r["line"]: r["reason"] for r in q} == bad
    assert all(r["file"] == str(tmp_path / "calls.csv") for r in q)
    assert all(i.quarantined == 0 for i in items[1:])
    physical = sum(1 for line in text.split("\n")[1:] if line.strip())
    assert sum(i.rows_read for i in items) == physical == len(bad) + len(kept)
    for i in items:
        assert i.rows_read == i.stored + i.quarantined
        assert i.kind == "incidents" and i.dataset == "events"
    forces = sorted({k["force"] for k in kept.values()})
    assert [i.force for i in items] == (forces or ["wirral-council"])
    want = {k["event_id"]: k for k in kept.values()}
    got = {}
    for item in items:
        for month, table in item.tables.items():
            for r in table.to_pylist():
                assert r["force"] == item.force and month == r["month"].strftime("%Y-%m")
                got[r["event_id"]] = r
        assert item.unlocated == sum(1 for k in kept.values() if k["force"] == item.force and math.isnan(k["x"]))
    assert sorted(got) == sorted(want)
    for eid, w in want.items():
        r = got[eid]
        for name in ("force", "source", "category", "category_slug", "raw_category", "agency", "month",
                     "text", "location", "lsoa"):
            assert r[name] == w[name], (eid, name)
        assert r["occurred_at"] == w["occurred_at"], eid
        for name in ("lon", "lat", "x", "y"):
            if math.isnan(w[name]):
                assert r[name] is None or math.isnan(r[name]), (eid, name)
            else:
                assert r[name] == pytest.approx(w[name], abs=1e-3 if name in "xy" else 1e-6), (eid, name)
    return bad, kept


@pytest.mark.parametrize("seed", range(3))
def test_random_partner_files_equal_the_brute_force_reader(tmp_path, seed):
    bad, kept = _check(tmp_path, random_file(random.Random(seed), False, False), False, False)
    assert len(kept) > 10 and len({r.split(" (")[0].split(" '")[0] for r in bad.values()}) >= 5


@pytest.mark.parametrize("seed,unmapped", [(50, "keep"), (51, "keep"), (52, "quarantine"), (54, "quarantine")])
def test_multi_agency_easting_northing_files_equal_the_brute_force_reader(tmp_path, seed, unmapped):
    bad, kept = _check(tmp_path, random_file(random.Random(seed), True, True), True, True, unmapped)
    assert len({k["force"] for k in kept.values()}) >= 2


def test_clock_changes_year_ends_and_iso_dates_by_hand(tmp_path):
    text = ("Ref,Reported,Type,Long,Lat,Notes,Street,LSOA\n"
            "A,25/10/2020 01:30,Noise,,,,,\n"           # 2: clocks go back: 01:30 happens twice
            "B,29/03/2020 01:30,Noise,,,,,\n"           # 3: clocks go forward: no 01:30; shifted to 02:00 BST
            "C,31/12/2020 23:59,Noise,,,,,\n"           # 4: GMT: December
            "D,2020-12-31T23:30:00-01:00,Noise,,,,,\n"  # 5: 00:30 UTC on 1 January 2021
            "E,2020-07-01 00:30,Noise,,,,,\n"           # 6: ISO, not day-first; BST: 30 June 23:30 UTC
            "F,02/03/2020,Noise,,,,,\n"                 # 7: 2 March, midnight GMT
            "G,2020-06-30T23:30:00+0100,Noise,,,,,\n")  # 8: an offset without a colon
    (item,) = _parse(tmp_path, text, False, False)
    assert {r["line"]: r["reason"] for r in item.quarantine.to_pylist()} == {2: "unparseable date/time '25/10/2020 01:30'"}
    got = {r["event_id"]: (r["occurred_at"], r["month"]) for t in item.tables.values() for r in t.to_pylist()}
    u = lambda *a: dt.datetime(*a, tzinfo=UTC)  # noqa: E731
    assert got == {"wirral-council:B": (u(2020, 3, 29, 1, 0), dt.date(2020, 3, 1)),
                   "wirral-council:C": (u(2020, 12, 31, 23, 59), dt.date(2020, 12, 1)),
                   "wirral-council:D": (u(2021, 1, 1, 0, 30), dt.date(2021, 1, 1)),
                   "wirral-council:E": (u(2020, 6, 30, 23, 30), dt.date(2020, 7, 1)),
                   "wirral-council:F": (u(2020, 3, 2, 0, 0), dt.date(2020, 3, 1)),
                   "wirral-council:G": (u(2020, 6, 30, 22, 30), dt.date(2020, 6, 1))}
    assert sorted(item.tables) == ["2020-03", "2020-06", "2020-07", "2020-12", "2021-01"]


def test_month_first_dates_when_dayfirst_is_false(tmp_path):
    (tmp_path / "m.yaml").write_text("agency: Sefton Council\ndayfirst: false\ncolumns: {id: r, datetime: d, category: c}\n")
    (tmp_path / "f.csv").write_text("r,d,c\nA,02/03/2020 10:00,Noise\nB,2020-02-03 10:00,Noise\n")
    member = Member(name="f.csv", path=tmp_path / "f.csv", inner=None, stamp="2026-01-01T00:00:00")
    (item,) = parse_incidents(member, load_mapping(tmp_path / "m.yaml"))
    got = {r["event_id"]: r["occurred_at"] for t in item.tables.values() for r in t.to_pylist()}
    assert got == {"sefton-council:A": dt.datetime(2020, 2, 3, 10, tzinfo=UTC),
                   "sefton-council:B": dt.datetime(2020, 2, 3, 10, tzinfo=UTC)}


def test_grid_edges(tmp_path):
    text = ("Ref,Reported,Type,E,N,Notes,Street,LSOA\n"
            "A,2020-03-01 10:00,Noise,0,0,,,\n"                 # 2: the grid's corner: on it
            "B,2020-03-01 10:00,Noise,700000,1300000,,,\n"      # 3: the far corner: on it
            "C,2020-03-01 10:00,Noise,700000.6,5,,,\n"          # 4: off the grid
            "D,2020-03-01 10:00,Noise,5,1300000.6,,,\n"         # 5: off the grid
            "E,2020-03-01 10:00,Noise,-0.6,5,,,\n"              # 6: off the grid
            "F,2020-03-01 10:00,Noise,5,-0.6,,,\n"              # 7: off the grid
            "G,2020-03-01 10:00,Noise,334937,,,,\n"             # 8: one of two
            "H,2020-03-01 10:00,Noise,334937,390000,,,\n"      # 9: Liverpool
            "I,2020-03-01 10:00,Noise,5,abc,,,\n")              # 10: a northing that is no number
    (item,) = _parse(tmp_path, text, False, True)
    q = {r["line"]: r["reason"] for r in item.quarantine.to_pylist()}
    assert q[4] == "easting/northing (700001, 5) outside the British National Grid"
    assert q[5] == "easting/northing (5, 1300001) outside the British National Grid"
    assert q[6] == "easting/northing (-1, 5) outside the British National Grid"
    assert q[7] == "easting/northing (5, -1) outside the British National Grid"
    assert q[8] == "unparseable easting/northing ('334937', '')"
    # the two corners are on the grid but outside the UK's lon/lat box, then; Liverpool is kept
    assert q[2].endswith("are outside the UK") and q[3].endswith("are outside the UK")
    assert q[10] == "unparseable easting/northing ('5', 'abc')"
    assert sorted(q) == [2, 3, 4, 5, 6, 7, 8, 10]
    (row,) = [r for t in item.tables.values() for r in t.to_pylist()]
    assert row["x"] == pytest.approx(334937, abs=0.01) and row["y"] == pytest.approx(390000, abs=0.01)
    lon, lat = TO_WGS84.transform(334937, 390000)
    assert row["lon"] == pytest.approx(lon, abs=1e-6) and row["lat"] == pytest.approx(lat, abs=1e-6)


def test_no_coordinates_at_all_and_no_rows_left(tmp_path):
    (tmp_path / "m.yaml").write_text("agency: Knowsley Council\ncolumns: {id: r, datetime: d, category: c}\n")
    (tmp_path / "f.csv").write_text("r,d,c\nA,2020-03-01 10:00,Noise\n,2020-03-01 10:00,Noise\n")
    member = Member(name="f.csv", path=tmp_path / "f.csv", inner=None, stamp="2026-01-01T00:00:00")
    (item,) = parse_incidents(member, load_mapping(tmp_path / "m.yaml"))
    (row,) = item.tables["2020-03"].to_pylist()
    assert row["x"] is None and row["lon"] is None and item.unlocated == 1 and item.rows_read == 2
    (tmp_path / "g.csv").write_text("r,d,c\n,2020-03-01 10:00,Noise\n")
    member = Member(name="g.csv", path=tmp_path / "g.csv", inner=None, stamp="2026-01-01T00:00:00")
    (item,) = parse_incidents(member, load_mapping(tmp_path / "m.yaml"))
    assert (item.force, item.rows_read, item.stored, item.quarantined) == ("knowsley-council", 1, 0, 1)
    (tmp_path / "h.csv").write_text("r,d,c\n")
    member = Member(name="h.csv", path=tmp_path / "h.csv", inner=None, stamp="2026-01-01T00:00:00")
    with pytest.raises(SaferhubError, match="has a header but no rows"):
        parse_incidents(member, load_mapping(tmp_path / "m.yaml"))


@pytest.mark.parametrize("text,words", [
    ("agency: A\ndayfirst: 'no'\ncolumns: {id: a, datetime: b, category: c}", "dayfirst must be true or false"),
    ("agency: A\ncolumns: {id: a, datetime: b, category: c, lon: x}", "give both lon and lat"),
    ("agency: A\ncolumns: {id: a, datetime: b, category: c, northing: x}", "give both lon and lat, or both easting"),
    ("columns: {id: a, datetime: b, category: c}", "say which agency the records come from"),
    ("agency: A\nunmapped_categories: drop\ncolumns: {id: a, datetime: b, category: c}", "must be 'keep' or 'quarantine'"),
    ("agency: A\ncolumns: {id: a, datetime: b, category: c}\ncategories: {Noise: Loud music}",
     "category 'Noise' maps to 'Loud music', which is not a police.uk category"),
    ("agency: A\ncolumns: {id: a, datetime: b}", "columns must map category"),
    ("agency: A\ncolumns: {id: a, datetime: b, category: c, colour: d}", "unknown field(s) colour under columns"),
    ("agency: true\ncolumns: {id: a, datetime: b, category: c}", "agency must be a single value, not a bool"),
    ("agency: A\ncolumns: {id: [a], datetime: b, category: c}", "columns: 'id' must map a single value"),
    ("agency: A\ncolumns: {id: a, datetime: b, category: c}\ncatgories: {}", "unknown setting(s) catgories"),
])
def test_more_mapping_mistakes_are_one_line(tmp_path, text, words):
    (tmp_path / "m.yaml").write_text(text)
    with pytest.raises(SaferhubError, match=None) as err:
        load_mapping(tmp_path / "m.yaml")
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_mapping_read_as_written(tmp_path):
    (tmp_path / "m.yaml").write_text("agency: 2020\nforce: merseyside\ntimezone: America/New_York\n"
                                     "datetime_format: '%Y%m%d'\ndayfirst: false\nunmapped_categories: quarantine\n"
                                     "columns: {id: 1, datetime: b, category: c, easting: e, northing: n}\n"
                                     "categories: {' Noise ': ' Public order '}\n")
    m = load_mapping(tmp_path / "m.yaml")
    assert (m.agency, m.force, m.timezone, m.datetime_format, m.dayfirst, m.unmapped_categories) == \
        ("2020", "merseyside", "America/New_York", "%Y%m%d", False, "quarantine")
    assert m.columns == {"id": "1", "datetime": "b", "category": "c", "easting": "e", "northing": "n"}
    assert m.categories == {"Noise": "Public order"} and m.name == str(tmp_path / "m.yaml")
    d = tmp_path / "d.yaml"
    d.write_text("agency: A\ncolumns: {id: a, datetime: b, category: c}\n")
    m = load_mapping(d)
    assert (m.timezone, m.dayfirst, m.unmapped_categories, m.categories, m.force) == ("Europe/London", True, "keep", {}, None)


def test_an_unknown_time_zone_is_one_line(tmp_path):
    (tmp_path / "m.yaml").write_text("agency: A\ntimezone: Mars/Olympus\ncolumns: {id: a, datetime: b, category: c}\n")
    (tmp_path / "f.csv").write_text("a,b,c\n1,2020-01-01 10:00,Noise\n")
    member = Member(name="f.csv", path=tmp_path / "f.csv", inner=None, stamp="2026-01-01T00:00:00")
    with pytest.raises(SaferhubError, match="cannot use time zone 'Mars/Olympus'"):
        parse_incidents(member, load_mapping(tmp_path / "m.yaml"))


def test_upsert_moves_records_between_months_in_stamp_order(tmp_path):
    """Two exports of the same records in one run: the later copy (by file time) wins, wherever the
    record was (A moves from January to February); another agency's records with the same ids are
    untouched; the old file again changes nothing."""
    import os

    from saferhub.data import events
    from saferhub.data.ingest import ingest_paths

    (tmp_path / "m.yaml").write_text("agency: Sefton Council\ncolumns: {id: r, datetime: d, category: c}\n")
    (tmp_path / "k.yaml").write_text("agency: Knowsley Council\ncolumns: {id: r, datetime: d, category: c}\n")
    old = tmp_path / "a_old.csv"
    old.write_text("r,d,c\nA,2020-01-05 10:00,Noise\nB,2020-01-06 10:00,Noise\n")
    new = tmp_path / "b_new.csv"
    new.write_text("r,d,c\nA,2020-02-05 10:00,Burglary\n")
    os.utime(old, (1_600_000_000, 1_600_000_000))
    os.utime(new, (1_700_000_000, 1_700_000_000))
    s = tmp_path / "s"
    ingest_paths([old], store=s, kind="incidents", mapping=tmp_path / "k.yaml")
    ingest_paths([new, old], store=s, kind="incidents", mapping=tmp_path / "m.yaml")
    t = events(s).to_pandas().set_index("event_id")
    assert sorted(t.index) == ["knowsley-council:A", "knowsley-council:B", "sefton-council:A", "sefton-council:B"]
    assert str(t.loc["sefton-council:A", "month"]) == "2020-02-01" and t.loc["sefton-council:A", "category"] == "Burglary"
    assert str(t.loc["knowsley-council:A", "month"]) == "2020-01-01"
    again = ingest_paths([old], store=s, kind="incidents", mapping=tmp_path / "m.yaml")
    assert again.added == 0 and [f.change for f in again.files] == ["unchanged"]
    t = events(s).to_pandas().set_index("event_id")
    assert len(t) == 4 and str(t.loc["sefton-council:A", "month"]) == "2020-02-01"


def test_the_mapping_size_cap_is_exactly_one_megabyte(tmp_path):
    from saferhub.data.incidents import MAX_MAPPING_BYTES

    body = "agency: A\ncolumns: {id: a, datetime: b, category: c}\n"
    pad = lambda size: body + "#" * (size - len(body) - 1) + "\n"  # noqa: E731
    (tmp_path / "ok.yaml").write_text(pad(MAX_MAPPING_BYTES))
    assert load_mapping(tmp_path / "ok.yaml").agency == "A"
    (tmp_path / "big.yaml").write_text(pad(MAX_MAPPING_BYTES + 1))
    with pytest.raises(SaferhubError, match="over 1 MB"):
        load_mapping(tmp_path / "big.yaml")


def test_odd_keys_and_missing_columns_are_named(tmp_path):
    (tmp_path / "m.yaml").write_text("agency: A\n~: 1\ncolumns: {id: a, datetime: b, category: c}\n")
    with pytest.raises(SaferhubError, match=r"unknown setting\(s\) a non-text key \(known: agency, force, columns"):
        load_mapping(tmp_path / "m.yaml")
    (tmp_path / "n.yaml").write_text("agency: A\ncolumns: {id: a, datetime: b, category: [c]}\n")
    with pytest.raises(SaferhubError, match=r"n.yaml: columns: 'category' must map a single value to a single value, not a list"):
        load_mapping(tmp_path / "n.yaml")
    (tmp_path / "o.yaml").write_text("agency: A\ncolumns: {id: Ref, datetime: When, category: Kind}\n")
    (tmp_path / "f.csv").write_text("Ref,Date,Type,Extra\n1,2020-01-01 10:00,Noise,x\n")
    member = Member(name="f.csv", path=tmp_path / "f.csv", inner=None, stamp="2026-01-01T00:00:00")
    with pytest.raises(SaferhubError) as err:
        parse_incidents(member, load_mapping(tmp_path / "o.yaml"))
    assert str(err.value) == (f"f.csv: column(s) 'When', 'Kind' named in {tmp_path / 'o.yaml'} are not in the "
                              "header (Ref, Date, Type, Extra)")


def test_a_file_with_agency_column_and_no_good_rows_is_filed_as_partner(tmp_path):
    (tmp_path / "m.yaml").write_text("columns: {id: r, datetime: d, category: c, agency: a}\n")
    (tmp_path / "f.csv").write_text("r,d,c,a\n1,bad,Noise,Sefton Council\n")
    member = Member(name="f.csv", path=tmp_path / "f.csv", inner=None, stamp="2026-01-01T00:00:00")
    (item,) = parse_incidents(member, load_mapping(tmp_path / "m.yaml"))
    assert (item.force, item.rows_read, item.quarantined) == ("partner", 1, 1)
    # and through a store: nothing stored, the row kept in the quarantine
    from saferhub.data.ingest import ingest_paths
    from saferhub.data.store import quarantine

    r = ingest_paths([tmp_path / "f.csv"], store=tmp_path / "s", kind="incidents", mapping=tmp_path / "m.yaml")
    assert [(f.read, f.stored, f.quarantined) for f in r.files] == [(1, 0, 1)]
    assert quarantine(tmp_path / "s").to_pylist()[0]["reason"] == "unparseable date/time 'bad'"


def test_a_file_seen_before_then_a_new_one_in_the_same_run(tmp_path):
    """The already-ingested file is skipped for the merge, and the new one after it still merges."""
    import os

    from saferhub.data import events
    from saferhub.data.ingest import ingest_paths

    (tmp_path / "m.yaml").write_text("agency: Sefton Council\ncolumns: {id: r, datetime: d, category: c}\n")
    a = tmp_path / "a.csv"
    a.write_text("r,d,c\nA,2020-01-05 10:00,Noise\nB,2020-02-06 10:00,Noise\nD,2020-01-09 10:00,Noise\n")
    b = tmp_path / "b.csv"
    b.write_text("r,d,c\nA,2020-03-05 10:00,Burglary\nC,2020-01-07 10:00,Noise\n")
    os.utime(a, (1_600_000_000,) * 2)
    os.utime(b, (1_700_000_000,) * 2)
    s = tmp_path / "s"
    ingest_paths([a], store=s, kind="incidents", mapping=tmp_path / "m.yaml")
    r = ingest_paths([a, b], store=s, kind="incidents", mapping=tmp_path / "m.yaml")
    assert {f.name.rsplit("/", 1)[-1]: f.change for f in r.files}["a.csv"] == "unchanged"
    t = events(s).to_pandas().set_index("event_id")
    assert {k: str(v) for k, v in t["month"].items()} == {
        "sefton-council:A": "2020-03-01", "sefton-council:B": "2020-02-01", "sefton-council:C": "2020-01-01",
        "sefton-council:D": "2020-01-01"}
    assert t.loc["sefton-council:A", "category"] == "Burglary"
