"""The data commands as a user runs them: one-line errors, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO, saferhub_run
from ingest_helpers import street_row, write


def real_run(*args, store):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "SAFERHUB_STORE": str(store), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "saferhub", *args], env=env, capture_output=True, text=True)


def run(*args, store):
    """The command in this process (test_ingest_status_and_broken_file runs real processes)."""
    return saferhub_run(*args, env={"SAFERHUB_STORE": store, "COLUMNS": "200"})


def test_ingest_status_and_broken_file(tmp_path):
    run = real_run  # noqa: F811 (this one as a user runs it: `python -m saferhub` each time)
    good = write(tmp_path / "2018-01-merseyside-street.csv", [street_row(crime_id="a"), street_row(lon="x")])
    r = run("ingest", str(good), store=tmp_path / "s")
    assert r.returncode == 0, r.stderr
    assert "read 2 = stored 1 + quarantined 1" in r.stdout
    r = run("status", "--json", store=tmp_path / "s")
    s = json.loads(r.stdout)
    assert s["rows"]["events"] == 1 and s["quarantined"] == 1
    assert list(s["quarantined_by_reason"]) == ["unparseable coordinates"]
    bad = tmp_path / "2018-02-merseyside-street.csv"
    bad.write_text("not,a,police,file\n1,2,3,4\n")
    r = run("ingest", str(bad), store=tmp_path / "s")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "unrecognised header" in r.stderr and str(bad) in r.stderr
    r = run("ingest", str(tmp_path / "missing.csv"), store=tmp_path / "s")
    assert r.returncode == 2 and "no such file or folder" in r.stderr
    r = run("quarantine", "--out", str(tmp_path / "q.csv"), store=tmp_path / "s")
    assert r.returncode == 0 and (tmp_path / "q.csv").read_text().count("\n") == 2


def test_status_of_empty_store_says_what_to_do(tmp_path):
    r = run("status", store=tmp_path / "empty")
    assert r.returncode == 0 and "saferhub ingest" in r.stdout


def test_ingest_table_shows_police_files_by_name_and_others_with_kind_and_months(tmp_path):
    """A data.police.uk name says the month and kind: those columns are left out when every file
    has one (so names fit the terminal); any other file brings them back."""
    from rich.console import Console

    from saferhub.data.commands import _ingest_table
    from saferhub.data.ingest import FileResult, IngestReport

    report = IngestReport(tmp_path, files=[
        FileResult(f"{tmp_path}/a.zip!2019-07/2019-07-merseyside-street.csv", "street", "merseyside",
                   ["2019-07"], 10, 9, 1, 0, 0, "new")])
    console = Console(width=100, record=True)
    console.print(_ingest_table(report))
    text = console.export_text()
    assert "2019-07-merseyside-street " in text and ".csv" not in text and "kind" not in text
    assert "quarantined" in text and "new" in text
    report.files.append(FileResult(f"{tmp_path}/calls.csv", "incidents", "wirral-council", ["2020-01", "2020-03"],
                                   5, 5, 0, 0, 0, "new"))
    console = Console(width=200, record=True)
    console.print(_ingest_table(report))
    text = console.export_text()
    assert "kind" in text and "calls.csv" in text and "2020-01..2020-03" in text


def test_names_and_rows_are_printed_as_they_are_never_as_markup_or_raw_bytes(tmp_path):
    """File names, place names and raw rows come from users' files: "[red]" in one is text (it
    used to vanish, and a stray "[/b]" raised a MarkupError traceback), and a file name whose bytes
    are not UTF-8 is shown with U+FFFD (it used to crash the quarantine table)."""
    run = real_run  # noqa: F811 (the printed table's width: a real process with COLUMNS=200)
    folder = tmp_path / "in"
    folder.mkdir()
    marked = write(folder / "2018-01-merseyside-street[red].csv",
                   [street_row(crime_id="a", location="On or near [bold]Bold[/b] Street"),
                    street_row(month="2018-13", location="[/]")])
    raw_name = os.path.join(os.fsencode(folder), b"2018-02-merseyside-street\xff.csv")
    with open(raw_name, "wb") as fh:
        fh.write(marked.read_bytes().replace(b"2018-01", b"2018-02"))
    r = run("ingest", str(folder), store=tmp_path / "s")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "2018-01-merseyside-street[red].csv" in r.stdout and "2018-02-merseyside-street\ufffd.csv" in r.stdout
    r = run("quarantine", store=tmp_path / "s")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "street[red].csv:3: quarantined: unparseable month '2018-13'" in r.stdout
    assert "street\ufffd.csv:3:" in r.stdout
    r = run("ingest", str(tmp_path / "no[/b]such.csv"), store=tmp_path / "s")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "no[/b]such.csv: no such file or folder" in r.stderr


def test_ingest_names_columns_it_did_not_store(tmp_path):
    run = real_run  # noqa: F811 (the printed table's width: a real process with COLUMNS=200)
    from ingest_helpers import HEADER

    path = write(tmp_path / "2018-01-merseyside-street.csv", [street_row(crime_id="a") + ",x"],
                 header=HEADER + ",Neighbourhood")
    r = run("ingest", str(path), store=tmp_path / "s")
    assert r.returncode == 0, r.stderr
    assert ("2018-01-merseyside-street.csv: column(s) not stored (no data.police.uk street file has them): "
            "Neighbourhood") in r.stdout


def test_output_and_store_paths_a_user_can_get_wrong_are_one_line_errors(tmp_path):
    good = write(tmp_path / "2018-01-merseyside-street.csv", [street_row(crime_id="a"), street_row(lon="x")])
    assert run("ingest", str(good), store=tmp_path / "s").returncode == 0
    cases = [
        (("quarantine", "--out", str(tmp_path)), f"{tmp_path}: is a folder; give a file name to write"),
        (("quarantine", "--out", "/proc/saferhub-q.csv"), "cannot write /proc/saferhub-q.csv"),
    ]
    for args, words in cases:
        r = run(*args, store=tmp_path / "s")
        assert r.returncode == 2 and "Traceback" not in r.stderr and words in r.stderr, (args, r.stderr)
    r = run("status", store=good)   # a file given as the store: not an empty store
    assert r.returncode == 2 and "not a store folder (it is a file)" in r.stderr, r.stderr
