"""docs/ingest.md's partner-mapping options, each pinned through `saferhub ingest --kind incidents`:
datetime_format, timezone, categories, unmapped_categories, agency from a column, text fields.
The expected UTC times are worked out by hand from the stated zones (no code under test)."""

from __future__ import annotations

import json


from typer.testing import CliRunner

from saferhub.cli import app
from saferhub.data import events
from saferhub.data.store import quarantine

runner = CliRunner()


def ingest(tmp_path, mapping: str, rows: str) -> dict:
    (tmp_path / "m.yaml").write_text(mapping)
    (tmp_path / "in.csv").write_text(rows)
    r = runner.invoke(app, ["ingest", "--kind", "incidents", "--mapping", str(tmp_path / "m.yaml"),
                            str(tmp_path / "in.csv"), "--json", "--store", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    return json.loads(r.output[r.output.index("{"):])


def test_datetime_format_and_timezone(tmp_path):
    mapping = """agency: Sefton Council
columns: {id: ref, datetime: at, category: kind, lon: x, lat: y}
datetime_format: "%Y%m%d %H.%M"
timezone: America/New_York
"""
    rows = "ref,at,kind,x,y\nA,20200115 09.30,Noise,-2.98,53.40\nB,20200715 23.30,Noise,-2.98,53.40\nC,15/01/2020 09:30,Noise,-2.98,53.40\n"
    f = ingest(tmp_path, mapping, rows)["files"][0]
    assert (f["read"], f["stored"], f["quarantined"]) == (3, 2, 1)  # C does not match the format
    t = events(tmp_path / "s").sort_by("event_id").to_pandas()
    # New York is UTC-5 in January and UTC-4 (daylight saving) in July
    assert [str(v) for v in t["occurred_at"]] == ["2020-01-15 14:30:00+00:00", "2020-07-16 03:30:00+00:00"]
    assert quarantine(tmp_path / "s").to_pandas()["reason"].item() == "unparseable date/time '15/01/2020 09:30'"


def test_default_timezone_is_uk_local_time(tmp_path):
    mapping = "agency: Sefton Council\ncolumns: {id: ref, datetime: at, category: kind}\n"
    rows = "ref,at,kind\nA,2020-07-01 00:30,Noise\nB,2020-01-01 00:30,Noise\n"
    ingest(tmp_path, mapping, rows)
    t = events(tmp_path / "s").sort_by("event_id").to_pandas()
    # British Summer Time (UTC+1) in July: 00:30 on 1 July is 23:30 UTC on 30 June, filed in July
    assert [str(v) for v in t["occurred_at"]] == ["2020-06-30 23:30:00+00:00", "2020-01-01 00:30:00+00:00"]
    assert [str(v) for v in t["month"]] == ["2020-07-01", "2020-01-01"]


def test_unmapped_categories_quarantine_and_keep(tmp_path):
    base = """agency: Knowsley Council
columns: {id: ref, datetime: at, category: kind}
categories:
  Youths causing annoyance: Anti-social behaviour
"""
    rows = "ref,at,kind\nA,2020-03-01 10:00,Youths causing annoyance\nB,2020-03-01 11:00,Dog fouling\n"
    (tmp_path / "q").mkdir()
    f = ingest(tmp_path / "q", base + "unmapped_categories: quarantine\n", rows)["files"][0]
    assert (f["stored"], f["quarantined"]) == (1, 1)
    assert quarantine(tmp_path / "q" / "s").to_pandas()["reason"].item().startswith("unknown category 'Dog fouling'")
    (tmp_path / "k").mkdir()
    f = ingest(tmp_path / "k", base, rows)["files"][0]  # keep is the default
    assert (f["stored"], f["quarantined"]) == (2, 0)
    t = events(tmp_path / "k" / "s").sort_by("event_id").to_pandas()
    assert t["category"].tolist() == ["Anti-social behaviour", "Dog fouling"]
    assert t["raw_category"].tolist() == ["Youths causing annoyance", "Dog fouling"]


def test_agency_from_a_column_and_text_fields(tmp_path):
    mapping = """columns:
  id: ref
  datetime: at
  category: kind
  agency: Agency
  text: notes
  location: where
"""
    rows = ("ref,at,kind,Agency,notes,where\n1,2020-03-01 10:00,Noise,Wirral Council,loud music,Grange Road\n"
            "1,2020-03-01 11:00,Noise,Merseyside Fire and Rescue Service,smoke alarm,Borough Road\n"
            "2,2020-03-01 12:00,Noise,,no agency,\n")
    f = ingest(tmp_path, mapping, rows)
    assert sum(x["read"] for x in f["files"]) == 3
    assert sum(x["stored"] for x in f["files"]) == 2 and sum(x["quarantined"] for x in f["files"]) == 1
    t = events(tmp_path / "s").sort_by("event_id").to_pandas()
    # the same partner id from two agencies is two records, keyed by (agency, id)
    assert t["event_id"].tolist() == ["merseyside-fire-and-rescue:1", "wirral-council:1"]
    assert t["agency"].tolist() == ["Merseyside Fire and Rescue Service", "Wirral Council"]
    assert t["text"].tolist() == ["smoke alarm", "loud music"]
    assert t["location"].tolist() == ["Borough Road", "Grange Road"]


def test_a_multi_agency_file_keeps_its_quarantined_rows(tmp_path):
    mapping = "columns: {id: ref, datetime: at, category: kind, agency: Agency}\n"
    rows = ("ref,at,kind,Agency\n1,2020-03-01 10:00,Noise,Wirral Council\n"
            "1,2020-03-01 11:00,Noise,Sefton Council\n2,2020-03-01 12:00,Noise,\n")
    """README: every row is accounted for. A partner file naming several agencies is stored per
    agency; its quarantined row stays listed (it vanished when one catalog entry per file let the
    last agency's part replace the first's), once, also after a re-ingest."""
    from saferhub.data.status import store_status

    first = ingest(tmp_path, mapping, rows)
    assert sum(f["read"] for f in first["files"]) == 3
    assert sum(f["stored"] + f["quarantined"] for f in first["files"]) == 3
    assert quarantine(tmp_path / "s").to_pandas()["reason"].tolist() == ["missing agency"]
    ingest(tmp_path, mapping, rows)
    assert quarantine(tmp_path / "s").to_pandas()["reason"].tolist() == ["missing agency"]
    assert store_status(tmp_path / "s")["files_ingested"] == 1
    assert sorted(events(store=tmp_path / "s").column("event_id").to_pylist()) == [
        "sefton-council:1", "wirral-council:1"]
