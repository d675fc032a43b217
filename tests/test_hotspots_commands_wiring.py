"""The hotspot CLI's wiring (saferhub.hotspots.commands), in milliseconds: the real Typer app parses
the options, the verbs of saferhub.hotspots.service are replaced by recorders, and each test
asserts the exact keywords each verb received, the refusals, the notes and the summary line
(with their terminal styles) and the files asked for. tests/test_hotspots_commands_tiny.py runs
the same commands on a real tiny store and checks the numbers; this file makes every mutant of the
command bodies cheap to test (issue 26: the `hotspots` command's mutants each ran every CLI test)."""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from saferhub import options
from saferhub.cli import app
from saferhub.errors import SaferhubError
from saferhub.hotspots import commands, service

YELLOW, DIM, RESET = "\x1b[1;33m", "\x1b[2m", "\x1b[0m"   # Rich's "bold yellow" and "dim", standard colours


class Screen:
    """Every console the commands open: whether it was for stderr, what it printed (with ANSI
    styles: a forced terminal) and the status messages shown while a verb ran."""

    def __init__(self):
        self.consoles, self.statuses = [], []

    def console(self, stderr: bool = False):
        screen = self

        class Recording(Console):
            def status(self, message, **kw):
                screen.statuses.append(message)
                return contextlib.nullcontext()

        con = Recording(file=io.StringIO(), force_terminal=True, color_system="standard", width=1000, markup=False)
        self.consoles.append((stderr, con))
        return con

    def text(self, stderr: bool) -> str:
        return "".join(c.file.getvalue() for s, c in self.consoles if s is stderr)


def result(method: str, rows: int = 4, notes=None) -> pd.DataFrame:
    """A stand-in verb result: `rows` units; Gi* bins 1, -1, 0, 3 (2 hot, 1 cold); emerging
    categories with two hot-spot patterns."""
    df = pd.DataFrame({"unit_id": [f"U{i}" for i in range(rows)], "gi_bin": [1, -1, 0, 3][:rows],
                       "category": pd.Categorical(["new hot spot", "cold", "no pattern", "persistent hot spot"][:rows])})
    df.attrs["params"] = {"method": method} | ({"notes": notes} if notes is not None else {})
    return df


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Recorders for the five verbs and write_result; the console replaced by a Screen."""
    calls, written, screen = [], [], Screen()
    notes = {"counts": ["WARNING: 12 events outside the study area left out", "grid of 250 m cells"]}
    for verb, method in (("counts", "count"), ("kde", "kde"), ("gistar", "gistar"), ("emerging", "emerging"),
                         ("change", "change")):
        def fake(_verb=verb, _method=method, **kw):
            calls.append((_verb, kw))
            return result(_method, notes=notes.get(_verb))
        monkeypatch.setattr(service, verb, fake)
    monkeypatch.setattr(commands, "write_result", lambda *a: written.append(a))
    monkeypatch.setattr(options, "console", screen.console)

    def invoke(*args):
        return CliRunner().invoke(app, ["hotspots", *map(str, args)])
    return SimpleNamespace(invoke=invoke, calls=calls, written=written, screen=screen, dir=tmp_path)


def words(text: str) -> str:
    """The printed words without ANSI styles or Rich's line wrapping (a table title wraps)."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())


def cells(text: str, bar: str, n: int) -> list[list[str]]:
    """The rows of a printed Rich table with n columns (header rows use "┃", body rows "│")."""
    return [[c.strip() for c in re.sub(r"\x1b\[[0-9;]*m", "", ln).split(bar)[1:-1]]
            for ln in text.splitlines() if ln.count(bar) == n + 1]


def ok(res):
    assert res.exit_code == 0, (res.output, res.exception)
    return res


# every area option set away from its default, and the keywords `_area_options` must make of them
AREA_ARGS = ["--units", "hex", "--cell-size", "300", "--boundaries", "b1.json", "--boundaries", "b2.json",
             "--network", "streets.gpkg", "--snap", "12.5", "--id-column", "code", "--area", "area.gpkg",
             "--hull", "convex", "--drop-strays", "--store", "st", "--force", "merseyside",
             "--months", "2020-01:2020-06", "--categories", "Robbery", "--weights", "cchi-category-v1",
             "--geo-dir", "geo"]
AREA_KW = {"units": "hex", "cell_size": 300, "boundaries": ["b1.json", "b2.json"], "network": Path("streets.gpkg"),
           "snap": 12.5, "id_column": "code", "area": Path("area.gpkg"), "hull": "convex", "drop_strays": True,
           "store": Path("st"), "force": "merseyside", "months": "2020-01:2020-06", "categories": "Robbery",
           "weights": "cchi-category-v1", "geo_dir": Path("geo")}
DEFAULT_AREA_KW = {"units": "grid", "cell_size": None, "boundaries": None, "network": None, "snap": 30.0,
                   "id_column": None, "area": None, "hull": "concave", "drop_strays": False, "store": None,
                   "force": None, "months": None, "categories": None, "weights": None, "geo_dir": None}


@pytest.mark.parametrize("method, args, verb, kw", [
    ("count", ["--harm", "--population", "pop.csv"], "counts", {"harm": True, "population": Path("pop.csv")}),
    ("kde", ["--bandwidth", "450.5", "--kernel", "gaussian", "--adaptive-k", "4", "--harm", "--before", "2019-01:2019-12"],
     "kde", {"bandwidth": 450.5, "kernel": "gaussian", "adaptive_k": 4, "harm": True, "before": "2019-01:2019-12",
             "versus": None}),
    ("kde", ["--versus", "Burglary"], "kde",
     {"bandwidth": None, "kernel": "quartic", "adaptive_k": None, "harm": False, "before": None, "versus": "Burglary"}),
    ("gistar", ["--harm", "--distance", "600", "--rings", "2", "--correction", "holm", "--permutations", "19",
                "--seed", "5"], "gistar",
     {"harm": True, "distance": 600.0, "rings": 2, "correction": "holm", "permutations": 19, "seed": 5}),
    ("emerging", ["--harm", "--time-lags", "2", "--distance", "400", "--rings", "3", "--correction", "none"],
     "emerging", {"harm": True, "time_lags": 2, "distance": 400.0, "rings": 3, "correction": "none"}),
    ("change", ["--before", "2019-01:2019-12", "--harm", "--correction", "holm"], "change",
     {"before": "2019-01:2019-12", "harm": True, "correction": "holm"}),
])
def test_each_method_calls_its_verb_with_every_option(cli, method, args, verb, kw):
    res = ok(cli.invoke("--method", method, *AREA_ARGS, *args, "--out", "u.csv"))
    assert cli.calls == [(verb, kw | AREA_KW)], res.output
    assert cli.screen.statuses == [f"{method}: reading events and running the analysis"]
    assert len(cli.written) == 1 and cli.written[0][1:] == (Path("u.csv"), None, None)
    assert list(cli.written[0][0]["unit_id"]) == ["U0", "U1", "U2", "U3"]   # the verb's own result


def test_defaults_are_gistar_and_every_default_option(cli):
    ok(cli.invoke("--out", "u.gpkg"))
    assert cli.calls == [("gistar", {"harm": False, "distance": None, "rings": 1, "correction": "fdr",
                                     "permutations": 0, "seed": None} | DEFAULT_AREA_KW)]
    ok(cli.invoke("--method", "emerging", "--out", "u.gpkg"))
    ok(cli.invoke("--method", "count", "--out", "u.gpkg"))
    ok(cli.invoke("--method", "change", "--out", "u.gpkg"))
    assert cli.calls[1:] == [
        ("emerging", {"harm": False, "time_lags": 1, "distance": None, "rings": 1, "correction": "fdr"} | DEFAULT_AREA_KW),
        ("counts", {"harm": False, "population": None} | DEFAULT_AREA_KW),
        ("change", {"before": None, "harm": False, "correction": "fdr"} | DEFAULT_AREA_KW)]


@pytest.mark.parametrize("outputs, summary", [
    (["--out", "u.csv"], "u.csv"), (["--report", "r.html"], "r.html"), (["--png", "m.png"], "m.png"),
    (["--out", "u.parquet", "--report", "r.html", "--png", "m.png"], "u.parquet, r.html, m.png"),
])
def test_any_one_output_is_enough_and_each_goes_to_its_writer(cli, outputs, summary):
    ok(cli.invoke("--method", "count", *outputs))
    given = dict(zip(outputs[::2], map(Path, outputs[1::2])))
    assert [w[1:] for w in cli.written] == [(given.get("--out"), given.get("--report"), given.get("--png"))]
    assert cli.screen.text(stderr=True).endswith(f"count: 4 units -> {summary}\n")


@pytest.mark.parametrize("args, message", [
    (["--method", "count"], "nothing to write: give --out FILE, --report FILE.html and/or --png FILE.png"),
    (["--out", "u.shp"], "u.shp: unknown output format (use .gpkg, .geojson, .json, .parquet, .csv)"),
    (["--out", "u.csv", "--versus", "Burglary"], "--versus is for --method kde, without --before"),
    (["--out", "u.csv", "--method", "change", "--versus", "Burglary"], "--versus is for --method kde, without --before"),
    (["--out", "u.csv", "--method", "kde", "--versus", "Burglary", "--before", "2019-01:2019-06"],
     "--versus is for --method kde, without --before"),
])
def test_refusals_come_before_any_work(cli, args, message):
    res = cli.invoke(*args)
    assert isinstance(res.exception, SaferhubError) and str(res.exception) == message
    assert cli.calls == [] and cli.written == []


def test_before_without_versus_is_not_refused(cli):
    ok(cli.invoke("--method", "gistar", "--before", "2019-01:2019-06", "--out", "u.csv"))
    ok(cli.invoke("--method", "kde", "--versus", "Burglary", "--out", "u.csv"))
    ok(cli.invoke("--method", "count", "--out", "U.GeoJSON"))           # the suffix is read in any case
    assert [c[0] for c in cli.calls] == ["gistar", "kde", "counts"]


def test_notes_go_to_stderr_warnings_bold_yellow_the_rest_dim_numbers_unhighlighted(cli):
    ok(cli.invoke("--method", "count", "--out", "u.csv"))
    assert cli.screen.text(stderr=False) == ""
    assert cli.screen.text(stderr=True) == (
        f"{YELLOW}WARNING: 12 events outside the study area left out{RESET}\n"
        f"{DIM}grid of 250 m cells{RESET}\n"
        "count: 4 units -> u.csv\n")


@pytest.mark.parametrize("method, line", [
    ("gistar", "gistar: 4 units, 2 hot and 1 cold -> u.csv"),
    ("emerging", "emerging: 4 units, 2 with a hot-spot pattern -> u.csv"),
    ("kde", "kde: 4 units -> u.csv"),
])
def test_the_summary_line_counts_hot_and_cold_units_and_patterns(cli, method, line):
    ok(cli.invoke("--method", method, "--out", "u.csv"))
    assert cli.screen.text(stderr=True) == line + "\n"      # no notes: the verb gave none


def test_the_summary_without_files_and_with_many_units(monkeypatch):
    screen = Screen()
    monkeypatch.setattr(options, "console", screen.console)
    big = pd.concat([result("gistar")] * 300, ignore_index=True)
    big.attrs["params"] = {"method": "gistar"}
    commands._summary(big, None, None, None)
    assert screen.text(stderr=True) == "gistar: 1,200 units, 600 hot and 300 cold\n"
    assert [s for s, _ in screen.consoles] == [True]


def test_the_console_is_stderr_with_markup_off():
    con = commands._console()
    assert con.file is sys.stderr and con.stderr is True
    assert options.console().file is sys.stdout


# --- concentration and nearrepeat ------------------------------------------------------------------

def test_concentration_passes_every_area_option_and_prints_and_writes_its_table(monkeypatch, tmp_path):
    calls, screen = [], Screen()
    table = pd.DataFrame({"measure": ["Gini", "units holding 50%", "units holding 25%"], "crime": [0.41234, 12.0, 1.0],
                          "harm": [float("nan"), 3.0, 1234.5]})

    def fake(**kw):
        calls.append(kw)
        g = result("concentration", notes=["WARNING: 2 strays"])
        g.attrs |= {"summary": table, "params": {"method": "concentration", "n_units": 1234, "units": "hex",
                                                "events": 56789, "notes": ["WARNING: 2 strays"]}}
        return g
    monkeypatch.setattr(service, "concentration", fake)
    monkeypatch.setattr(options, "console", screen.console)
    reports = []
    import saferhub.hotspots.report as R
    monkeypatch.setattr(R, "concentration_html", lambda g: reports.append(g) or "<!doctype html>lorenz")
    out, rep = tmp_path / "c.csv", tmp_path / "c.html"
    ok(CliRunner().invoke(app, ["concentration", *AREA_ARGS, "--out", str(out), "--report", str(rep)]))
    assert calls == [AREA_KW]
    assert screen.statuses == ["concentration: reading events"]
    assert out.read_text() == "measure,crime,harm\nGini,0.41234,\nunits holding 50%,12.0,3.0\nunits holding 25%,1.0,1234.5\n"
    assert rep.read_text() == "<!doctype html>lorenz" and list(reports[0]["unit_id"]) == ["U0", "U1", "U2", "U3"]
    assert screen.text(stderr=True) == f"{YELLOW}WARNING: 2 strays{RESET}\n"
    printed = screen.text(stderr=False)
    assert "Concentration over 1,234 hex units (56,789 events)" in words(printed)
    assert cells(printed, "┃", 3) == [["measure", "crime", "harm"]]
    assert cells(printed, "│", 3) == [["Gini", "0.4123", "n/a"], ["units holding 50%", "12", "3"],
                                      ["units holding 25%", "1", "1,234.5000"]]
    ok(CliRunner().invoke(app, ["concentration"]))       # nothing written unless asked
    assert calls[1] == DEFAULT_AREA_KW


def test_nearrepeat_passes_its_options_and_prints_and_writes_the_knox_table(monkeypatch, tmp_path):
    calls, screen = [], Screen()
    table = pd.DataFrame({"space": ["0", "1-150"], "time": ["0", "1-2"], "observed": [1234, 5],
                          "expected": [1000.04, 4.56], "knox_ratio": [1.2341, 1.096], "p": [0.01, 0.4567]})
    table.attrs = {"params": {"notes": ["timestamps are months"]},
                   "knox": SimpleNamespace(n_events=2345, n_close_pairs=67890, permutations=9)}

    def fake(**kw):
        calls.append(kw)
        return table
    monkeypatch.setattr(service, "near_repeat", fake)
    monkeypatch.setattr(options, "console", screen.console)
    reports = []
    import saferhub.hotspots.report as R
    monkeypatch.setattr(R, "near_repeat_html", lambda t: reports.append(t) or "<!doctype html>knox")
    out, rep = tmp_path / "k.csv", tmp_path / "k.html"
    ok(CliRunner().invoke(app, ["nearrepeat", "--store", "st", "--force", "merseyside", "--months", "2020-01:2020-06",
                                "--categories", "Burglary", "--space-bands", "0,150", "--time-bands", "0,2",
                                "--time-unit", "days", "--permutations", "9", "--seed", "11", "--drop-strays",
                                "--out", str(out), "--report", str(rep)]))
    assert calls == [{"space_bands": "0,150", "time_bands": "0,2", "time_unit": "days", "permutations": 9, "seed": 11,
                      "drop_strays": True, "store": Path("st"), "force": "merseyside", "months": "2020-01:2020-06",
                      "categories": "Burglary"}]
    assert screen.statuses == ["Knox test, 9 permutations"]
    assert out.read_text() == table.to_csv(index=False) and out.read_text().startswith("space,time,observed,")
    assert rep.read_text() == "<!doctype html>knox" and reports == [table]
    assert screen.text(stderr=True) == f"{DIM}timestamps are months{RESET}\n"
    printed = screen.text(stderr=False)
    assert "Knox test: 2,345 events, 67,890 close pairs, 9 permutations" in words(printed)
    assert cells(printed, "┃", 6) == [["space", "time", "observed", "expected", "knox_ratio", "p"]]
    assert cells(printed, "│", 6) == [["0", "0", "1,234", "1,000.0", "1.23", "0.010"],
                                      ["1-150", "1-2", "5", "4.6", "1.10", "0.457"]]
    ok(CliRunner().invoke(app, ["nearrepeat"]))
    assert calls[1] == {"space_bands": "0,100,200,300,400", "time_bands": "0,1,2,3", "time_unit": "months",
                        "permutations": 99, "seed": None, "drop_strays": False, "store": None, "force": None,
                        "months": None, "categories": None}
    assert screen.statuses[1] == "Knox test, 99 permutations"
