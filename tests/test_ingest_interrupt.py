"""Kill an ingest part-way (SIGKILL): the store stays consistent and a re-run completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import MERSEYSIDE, MERSEYSIDE_STREET_ROWS, REPO
from ingest_helpers import store_fingerprint
from saferhub.data import events
from saferhub.data.ingest import ingest_paths

pytestmark = pytest.mark.slow


def _start_ingest(store: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    code = ("import sys; from saferhub.data.ingest import ingest_paths; "
            f"ingest_paths([{str(MERSEYSIDE)!r}], store={str(store)!r})")
    return subprocess.Popen([sys.executable, "-c", code], env=env)


def _wait_for_staged_files(store: Path, proc: subprocess.Popen, at_least: int) -> None:
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if len(list((store / "parts").rglob("*.parquet"))) >= at_least:
            return
        time.sleep(0.02)


def test_kill_mid_ingest_leaves_previous_state_and_rerun_completes(tmp_path):
    store = tmp_path / "s"
    # A first, small ingest so there is a previous state to keep.
    first = sorted(MERSEYSIDE.glob("2018-0[1-2]-merseyside-street.csv.gz"))
    ingest_paths(first, store=store)
    before_rows = events(store).num_rows
    catalog_before = (store / "catalog.json").read_text()
    proc = _start_ingest(store)
    _wait_for_staged_files(store, proc, at_least=12)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    # The killed writer's catalog never landed: readers see exactly the previous state.
    assert (store / "catalog.json").read_text() == catalog_before
    assert events(store).num_rows == before_rows
    json.loads((store / "catalog.json").read_text())
    # Re-running sweeps the orphans and completes.
    report = ingest_paths([MERSEYSIDE], store=store)
    assert events(store).num_rows == MERSEYSIDE_STREET_ROWS
    assert all(f.balanced for f in report.files)
    live = {p["file"] for p in json.loads((store / "catalog.json").read_text())["partitions"].values()}
    on_disk = {str(p.relative_to(store)) for p in (store / "parts").rglob("*.parquet")}
    assert on_disk == live, "orphan partition files were left behind"
    # And a second re-run is a no-op.
    fp = store_fingerprint(store)
    assert ingest_paths([MERSEYSIDE], store=store).added == 0
    assert {k for k in store_fingerprint(store) if k.startswith("parts/")} == {k for k in fp if k.startswith("parts/")}


def test_concurrent_writer_is_refused_with_a_clear_message(tmp_path):
    from saferhub.data.store import StoreWriter
    from saferhub.errors import SaferhubError

    with StoreWriter(tmp_path / "s"):
        with pytest.raises(SaferhubError, match="another saferhub process is writing"):
            with StoreWriter(tmp_path / "s"):
                pass
