"""`saferhub publish` and `saferhub briefing`: user mistakes are one clear line and exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(*args, env_store, real=False):
    """The command in this process, or (real=True, one case) as a user runs it."""
    import os

    from conftest import saferhub_run

    if not real:
        return saferhub_run(*args, env={"SAFERHUB_STORE": env_store})
    env = dict(os.environ, SAFERHUB_STORE=str(env_store))
    return subprocess.run([sys.executable, "-m", "saferhub", *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("args, message", [
    (["publish", "hotspots", "/no/such/result.gpkg", "--categories", "grip"], "no such file"),
    (["publish", "forecast", "/no/such/forecast.csv"], "no such file"),
    (["publish", "patrol", "/no/such/areas.gpkg", "--week-start", "next monday"], "give a date as YYYY-MM-DD"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    r = _run(*args, env_store=tmp_path, real=args[1] == "hotspots")
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "products").exists()  # nothing half-written


def test_forecast_table_without_risk_is_refused(tmp_path):
    bad = tmp_path / "forecast.csv"
    bad.write_text("cell_id,x,y\nE0N0,0,0\n")
    r = _run("publish", "forecast", str(bad), env_store=tmp_path)
    assert r.returncode == 2 and "lacks columns ['risk']" in r.stderr
