"""Partner incidents through a column mapping: validation, quarantine, upsert by id."""

from __future__ import annotations

import pytest

from saferhub.data import events
from saferhub.data.incidents import load_mapping
from saferhub.data.ingest import IngestError, ingest_paths
from saferhub.data.store import quarantine
from saferhub.errors import SaferhubError

MAPPING = """
agency: Wirral Council
force: merseyside
columns:
  id: Ref
  datetime: Reported
  category: Type
  lon: Long
  lat: Lat
  text: Notes
categories:
  Youths causing annoyance: Anti-social behaviour
  Deliberate fire: Criminal damage and arson
"""

ROWS = """Ref,Reported,Type,Long,Lat,Notes
C1,03/01/2020 14:05,Youths causing annoyance,-2.98,53.40,group of youths
C2,04/01/2020 23:59,Deliberate fire,-2.99,53.41,bin fire
C3,31/01/2020 23:30,Noise,,,
C4,not a date,Noise,-2.98,53.40,
C5,05/02/2020 10:00,,-2.98,53.40,
C1,06/02/2020 10:00,Noise,-2.98,53.40,dup
C6,07/02/2020 10:00,Noise,-0.1,51.5,london
C7,07/02/2020 10:00,Noise,-2.97,53.42
C8,2020-06-30T23:30:00Z,Noise,-2.97,53.42,utc stamp
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "map.yaml").write_text(MAPPING)
    (tmp_path / "calls.csv").write_text(ROWS)
    return tmp_path / "map.yaml", tmp_path / "calls.csv"


def test_incidents_validate_quarantine_and_map(files, tmp_path):
    mapping, csv = files
    report = ingest_paths([csv], store=tmp_path / "s", kind="incidents", mapping=mapping)
    (f,) = report.files
    assert (f.read, f.stored, f.quarantined, f.unlocated) == (9, 4, 5, 1)
    q = dict(zip(*quarantine(tmp_path / "s").to_pandas()[["line", "reason"]].T.values))
    assert q[5] == "unparseable date/time 'not a date'"
    assert q[6] == "missing category"
    assert q[7] == "duplicate id (first on line 2)"
    assert "outside the force area" in q[8]
    assert q[9].startswith("wrong column count")
    t = events(tmp_path / "s", sources="incident").sort_by("event_id").to_pandas()
    assert t["event_id"].tolist() == ["wirral-council:C1", "wirral-council:C2", "wirral-council:C3", "wirral-council:C8"]
    assert t["category"].tolist() == ["Anti-social behaviour", "Criminal damage and arson", "Noise", "Noise"]
    assert t["category_slug"].tolist() == ["anti-social-behaviour", "criminal-damage-arson", "noise", "noise"]
    assert t["raw_category"].tolist()[:2] == ["Youths causing annoyance", "Deliberate fire"]
    # 14:05 UK winter time is 14:05 UTC; 23:30 UTC on 30 June is 00:30 on 1 July in the UK.
    assert str(t["occurred_at"][0]) == "2020-01-03 14:05:00+00:00"
    assert str(t["month"][3]) == "2020-07-01"
    assert set(t["agency"]) == {"Wirral Council"}


def test_incidents_reingest_is_idempotent_and_updates_by_id(files, tmp_path):
    mapping, csv = files
    s = tmp_path / "s"
    ingest_paths([csv], store=s, kind="incidents", mapping=mapping)
    again = ingest_paths([csv], store=s, kind="incidents", mapping=mapping)
    assert again.added == 0
    # A corrected export: C2 moved to February and recategorised, C9 new.
    fix = tmp_path / "fix.csv"
    fix.write_text("Ref,Reported,Type,Long,Lat,Notes\nC2,10/02/2020 09:00,Noise,-2.99,53.41,re-dated\n"
                   "C9,11/02/2020 09:00,Noise,-2.99,53.41,new\n")
    r = ingest_paths([fix], store=s, kind="incidents", mapping=mapping)
    assert r.added == 1
    t = events(s).to_pandas().set_index("event_id")
    assert str(t.loc["wirral-council:C2", "month"]) == "2020-02-01"
    assert t.loc["wirral-council:C2", "category"] == "Noise"
    assert len(t) == 5 and t.index.is_unique


def test_easting_northing_mapping(tmp_path):
    (tmp_path / "m.yaml").write_text("agency: Merseyside Fire and Rescue Service\ncolumns:\n  id: id\n"
                                     "  datetime: when\n  category: type\n  easting: e\n  northing: n\n")
    (tmp_path / "f.csv").write_text("id,when,type,e,n\nF1,2020-03-01 12:00,Deliberate fire,334937,390000\n"
                                    "F2,2020-03-02 12:00,Deliberate fire,abc,390000\n")
    r = ingest_paths([tmp_path / "f.csv"], store=tmp_path / "s", kind="incidents", mapping=tmp_path / "m.yaml")
    assert (r.files[0].stored, r.files[0].quarantined) == (1, 1)
    t = events(tmp_path / "s").to_pandas()
    assert t["x"].item() == pytest.approx(334937, abs=0.01) and t["force"].item() == "merseyside-fire-and-rescue"


@pytest.mark.parametrize("text,words", [
    ("columns: [1, 2]", "columns"),
    ("agency: X\ncolumns:\n  id: a\n  datetime: b\n", "category"),
    ("agency: X\ncolumns:\n  id: a\n  datetime: b\n  category: c\n  lon: d\n", "both lon and lat"),
    ("agency: X\ncolumns:\n  id: a\n  datetime: b\n  category: c\n  colour: d\n", "unknown field"),
    ("columns:\n  id: a\n  datetime: b\n  category: c\n", "which agency"),
    ("agency: X\ncolumns:\n  id: a\n  datetime: b\n  category: c\ncategories:\n  Loud: Noise crimes\n", "not a police.uk"),
    ("agency: [", "not valid YAML"),
    # hostile or mistaken shapes: one clear line each, never a traceback or a dump of the value
    ("agency: X\ncolumns:\n  id: a\n  datetime: b\n  category: c\ncategories: [1, 2]\n",
     "categories must be lines of 'name: value', not a list"),
    ("agency: [1, 2]\ncolumns:\n  id: a\n  datetime: b\n  category: c\n", "agency must be a single value, not a list"),
    ("agency: X\ncolumns:\n  id: a\n  datetime: b\n  category: c\ndatetime_format: {a: 1}\n",
     "datetime_format must be a single value, not a dict"),
    ("agency: X\ncolumns:\n  id: a\n  datetime: b\n  category: c\ndayfirst: perhaps\n", "dayfirst must be true or false"),
    ("agency: X\ncolumns:\n  id: a\n  datetime: b\n  category: c\ncatgories:\n  Loud: Burglary\n",
     "unknown setting\\(s\\) catgories"),
    ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
     "agency: X\ncolumns: {id: a, datetime: b, category: *g}\n",   # "billion laughs": 9**7 strings if printed
     "unknown setting\\(s\\) a, b, c, d, e, f, g"),
    ("agency: X\ncolumns: {id: a, datetime: b, category: &a [[x, y], [x, y]], text: *a}\n",
     "'category' must map a single value to a single value, not a list"),
])
def test_bad_mappings_are_clear_errors(tmp_path, text, words):
    (tmp_path / "m.yaml").write_text(text)
    with pytest.raises(SaferhubError, match=words) as err:
        load_mapping(tmp_path / "m.yaml")
    assert len(str(err.value)) < 400 and "\n" not in str(err.value)


@pytest.mark.parametrize("make,words", [
    (lambda p: p.write_bytes(b"\xff\xfe a: b"), "not UTF-8 text"),
    (lambda p: p.mkdir(), "the mapping is not a file"),
    (lambda p: None, "mapping file not found"),
    (lambda p: p.write_text("agency: X\n" + "# padding\n" * 200_000), "over 1 MB"),
])
def test_unreadable_mapping_files_are_clear_errors(tmp_path, make, words):
    path = tmp_path / "m.yaml"
    make(path)
    with pytest.raises(SaferhubError, match=words):
        load_mapping(path)


def test_mapping_naming_missing_columns_rejects_file(files, tmp_path):
    mapping, _ = files
    (tmp_path / "other.csv").write_text("id,date\n1,2020-01-01\n")
    with pytest.raises(IngestError, match="not in the header"):
        ingest_paths([tmp_path / "other.csv"], store=tmp_path / "s", kind="incidents", mapping=mapping)
