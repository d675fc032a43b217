"""README / docs/ingest.md promises about ingest, pinned through the public interfaces (the
`saferhub` CLI and the store's read functions), so they survive refactors of the ingest code.
Oracles: rows counted straight from the CSV files with the csv module, and hand-placed points."""

from __future__ import annotations

import csv
import gzip
import json
import os
import time

import pytest
from conftest import MERSEYSIDE
from ingest_helpers import real_lines, street_row, write
from typer.testing import CliRunner

from saferhub.cli import app
from saferhub.data import events
from saferhub.data.store import outcomes, quarantine, stop_searches

runner = CliRunner()


def saferhub(*args, store):
    r = runner.invoke(app, [*args, "--store", str(store)])
    assert r.exit_code == 0, r.output
    return r.output


def ingest_json(*args, store) -> dict:
    out = saferhub("ingest", *args, "--json", store=store)
    return json.loads(out[out.index("{"):])


def _csv_records(path) -> int:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1  # minus the header


@pytest.mark.slow
def test_outcomes_and_stop_and_search_rows_are_all_accounted_for(tmp_path):
    """README: each file ends with read = stored + quarantined, for outcomes and stop-and-search too."""
    files = [MERSEYSIDE / f"2019-0{m}-merseyside-{kind}.csv.gz" for m in (7, 8, 9)
             for kind in ("outcomes", "stop-and-search")]
    store = tmp_path / "s"
    report = ingest_json(*map(str, files), store=store)
    q = quarantine(store).to_pandas()
    by_name = {os.path.basename(f["name"]): f for f in report["files"]}
    assert len(by_name) == 6
    for path in files:
        f = by_name[path.name]
        month = path.name[:7]
        stored = (outcomes if "outcomes" in path.name else stop_searches)(store, months=month).num_rows
        quarantined = int(q["file"].str.endswith(path.name).sum())
        assert f["read"] == _csv_records(path), path.name           # every row was read ...
        assert f["stored"] == stored and f["quarantined"] == quarantined, path.name
        assert f["read"] == stored + quarantined + f["ignored"], path.name  # ... and is somewhere
        assert f["ignored"] == 0


def test_quarantine_export_columns_and_contents(tmp_path):
    """README: a failing row goes to quarantine with file, line, reason and raw text (`--out q.csv`);
    docs/ingest.md: warnings (stored rows, e.g. a duplicated Crime ID) are listed beside them, told
    apart by the `kind` column."""
    lines = [street_row(crime_id="a"), street_row(lon="abc"), *[street_row(lon=f"-2.9{i}") for i in range(4)],
             street_row(ctype="Alien abduction")]
    path = write(tmp_path / "2018-01-merseyside-street.csv", lines)
    store = tmp_path / "s"
    saferhub("ingest", str(path), store=store)
    saferhub("quarantine", "--out", str(tmp_path / "q.csv"), store=store)
    with open(tmp_path / "q.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["kind", "file", "line", "reason", "raw"]
    assert {r["kind"] for r in rows} == {"quarantined"}
    got = {(r["file"], int(r["line"]), r["reason"], r["raw"]) for r in rows}
    assert got == {(str(path), 3, "unparseable coordinates ('abc', '53.40')", lines[1]),
                   (str(path), 8, "unknown crime type 'Alien abduction'", lines[6])}


def test_replace_older_lets_an_older_copy_replace_the_stored_month(tmp_path):
    """README: an older copy of a force-month is ignored unless --replace-older."""
    lines = real_lines("2018-05", 40)
    older = write(tmp_path / "old" / "2018-05-merseyside-street.csv", lines[:30], mtime=time.time() - 86_400)
    newer = write(tmp_path / "new" / "2018-05-merseyside-street.csv", lines)
    store = tmp_path / "s"
    ingest_json(str(newer), store=store)
    r = ingest_json(str(older), store=store)
    assert r["files"][0]["change"] == "older copy ignored" and r["files"][0]["ignored"] == 30
    assert events(store).num_rows == 40
    r = ingest_json(str(older), "--replace-older", store=store)
    assert r["files"][0]["change"] == "replaced" and r["files"][0]["stored"] == 30
    assert events(store).num_rows == 30  # the month is exactly the older copy now


@pytest.mark.parametrize("far_km,north_km,kept", [
    (None, 15, True),    # 10-15 km outside the area: within the default 20 km tolerance
    (None, 60, False),   # 55-60 km outside: beyond it
    ("9", 15, False),    # a 9 km tolerance quarantines the 15 km point
    ("70", 60, True),    # a 70 km tolerance keeps the 60 km point
])
def test_far_km_is_the_tolerance_outside_the_area(tmp_path, far_km, north_km, kept):
    """docs/ingest.md: the area is the 5 km squares holding >= 3 of the file's points; a point more
    than --far-km (default 20) km beyond all of them is quarantined."""
    cluster = [street_row(crime_id=f"c{i}", ctype="Burglary", lon=f"{-2.98 + i * 0.001:.3f}", lat="53.400")
               for i in range(12)]
    lat = 53.40 + north_km / 111.2  # ~111.2 km per degree of latitude
    stray = street_row(crime_id="stray", ctype="Burglary", lon="-2.980", lat=f"{lat:.4f}")
    path = write(tmp_path / "2018-01-merseyside-street.csv", [*cluster, stray])
    args = [str(path)] + ([] if far_km is None else ["--far-km", far_km])
    f = ingest_json(*args, store=tmp_path / "s")["files"][0]
    assert f["read"] == 13 and f["stored"] + f["quarantined"] == 13
    assert f["quarantined"] == (0 if kept else 1)
    if not kept:
        reason = quarantine(tmp_path / "s").to_pandas()["reason"].item()
        assert reason.startswith("outside the force area (") and " km " in reason
