"""Shared fixtures. Real data is read from ../shared/data beside the repo, never copied in."""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
MERSEYSIDE = SHARED / "police-uk" / "merseyside"
GEO = SHARED / "geo"

# Tests never read or write the real user's data: the default store, hub database and audit key
# (all under $XDG_DATA_HOME/saferhub) live in a throwaway folder for the whole run, so a store left
# by another program (or by a mutant that dropped a `store=` argument) cannot change a result.
# A test may still point SAFERHUB_STORE or XDG_DATA_HOME elsewhere with monkeypatch.
_DATA_HOME = tempfile.mkdtemp(prefix="saferhub-test-data-")
os.environ["XDG_DATA_HOME"] = _DATA_HOME
atexit.register(shutil.rmtree, _DATA_HOME, ignore_errors=True)

# Known answers from ../shared/data/PROVENANCE.md.
MERSEYSIDE_STREET_ROWS = 504_439
MERSEYSIDE_ASB_ROWS = 106_177


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED.is_dir(), f"the shared data folder is missing: {SHARED}"
    return SHARED


def _build_once(tmp_path_factory, name: str, build) -> Path:
    """Build a read-only artefact once per test run, shared by all xdist workers (file lock)."""
    root = tmp_path_factory.getbasetemp()
    shared_root = root.parent if root.name.startswith("popen-gw") else root
    target = shared_root / name
    with open(shared_root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".built").exists():
            shutil.rmtree(target, ignore_errors=True)
            report = build(target)
            (target / ".built").write_text(json.dumps(report or {}))
    return target


@pytest.fixture(scope="session")
def merseyside_store(tmp_path_factory) -> Path:
    """An event store holding all the real Merseyside files (36 street months, 3 months of
    outcomes and stop-and-search). Shared: tests must only read it."""
    from saferhub.data.ingest import ingest_paths

    def build(target: Path):
        return ingest_paths([MERSEYSIDE], store=target).as_dict()

    return _build_once(tmp_path_factory, "merseyside-store", build)


@pytest.fixture(scope="session")
def merseyside_ingest_report(merseyside_store) -> dict:
    return json.loads((merseyside_store / ".built").read_text())
