"""User mistakes and missing products are one line or a 404, never a stack trace or a 5xx."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient


def test_public_pages_before_publishing_are_404_not_500(tmp_path, monkeypatch):
    from saferhub.api import create_app

    monkeypatch.setenv("SAFERHUB_STORE", str(tmp_path / "empty-store"))
    with TestClient(create_app(db=f"sqlite:///{tmp_path / 'hub.sqlite3'}", secret="t")) as c:
        for url in ("/public/", "/public/survey", "/public/liverpool-anfield", "/public/csv/x.csv",
                    "/public/charts/x.png", "/public/charts/%2e%2e/secret.png"):
            r = c.get(url)
            assert r.status_code == 404, (url, r.status_code)
            assert "set-cookie" not in {k.lower() for k in r.headers}  # no session is started for the public


def test_cli_mistakes_are_one_line(tmp_path, monkeypatch):
    from conftest import saferhub_main

    r = subprocess.run([sys.executable, "-m", "saferhub", "publish", "neighbourhoods", "--store",
                        str(tmp_path / "nothing")], capture_output=True, text=True,
                       env={"XDG_DATA_HOME": str(tmp_path / "xdg"), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no police.uk data" in r.stderr
    # the rest in this process (the same entry point, no interpreter start-up each)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    code, err = saferhub_main("survey", "results", "--store", tmp_path / "nothing")
    assert code == 2 and "no survey responses imported yet" in err and "Traceback" not in err
    code, err = saferhub_main("publish", "neighbourhoods", "--method", "fuzzy", "--store", tmp_path / "nothing")
    assert code == 2 and "Traceback" not in err
    code, err = saferhub_main("survey", "import", "--mapping", tmp_path / "missing.yaml", tmp_path / "x.csv")
    assert code == 2 and "mapping file not found" in err


def test_export_never_replaces_a_folder_it_did_not_write(tmp_path):
    from saferhub.community import render
    from saferhub.errors import SaferhubError

    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    model = {"wards": [], "force": "merseyside", "periods": {"last": "2020-12"}, "disclosure": {"text": "x"},
             "report_text": "101", "patrol_simulated": False, "area_wide_priorities": []}
    charts = tmp_path / "charts"
    charts.mkdir()
    import pytest

    with pytest.raises(SaferhubError, match="not a saferhub public export"):
        render.export_site(model, charts, precious)
    assert (precious / "thesis.tex").read_text() == "years of work"
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SaferhubError, match="a file, not a folder"):
        render.export_site(model, charts, tmp_path / "afile")
    out = render.export_site(model, charts, tmp_path / "site")
    assert (out / "index.html").exists()
    render.export_site(model, charts, tmp_path / "site")  # its own export: replaced
    assert (out / render.MARKER).exists()
