"""Shared fixtures. Real data is read from ../shared/data beside the repo, never copied in."""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path

# One thread per numerical library (OpenBLAS, OpenMP): the suite runs as one xdist worker per core,
# often beside other work, and a BLAS thread waiting for a busy core spins. A statsmodels fit in
# tests/evaluate/test_did.py took 17 CPU seconds with two threads on a loaded machine, 0.7 with
# one. Set before numpy is imported (nothing has imported it when this file loads).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402

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


def saferhub_run(*args, cwd=None, env=None):
    """`python -m saferhub ARGS` run in this process, as a subprocess.CompletedProcess (exit code,
    stdout, stderr). The same entry point (saferhub.cli.main: a mistake is one line on stderr and
    exit 2) without the 2-3 CPU seconds of a new interpreter importing saferhub; a few tests per
    command still start a real process. `env`: variables set for the run only. Output wider than
    80 columns needs a real process: a console made when a module was imported (data/commands.py)
    keeps the width it had then, whatever COLUMNS says."""
    import contextlib
    import io
    import subprocess
    import sys

    from saferhub.cli import main

    out, err, argv, here = io.StringIO(), io.StringIO(), sys.argv, os.getcwd()
    saved = {k: os.environ.get(k) for k in (env or {})}
    sys.argv = command = ["saferhub", *map(str, args)]
    try:
        os.environ.update({k: str(v) for k, v in (env or {}).items()})
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
        os.chdir(here)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess(command, code, out.getvalue(), err.getvalue())


def saferhub_main(*args, cwd=None) -> tuple[int, str]:
    """saferhub_run's (exit code, stderr)."""
    r = saferhub_run(*args, cwd=cwd)
    return r.returncode, r.stderr


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


# `--dist loadgroup` deals ungrouped tests one at a time to both workers, so each worker built every
# session fixture and every module-scoped fixture its tests use. Instead: tests that use one of these
# expensive per-worker builds share a group (one worker builds it), and every other test is grouped
# with its file (one worker builds the file's module fixtures). An explicit xdist_group mark wins.
SHARED_BUILDS = {
    "web_store": "browser",                # the demo hub, published layers, live server, Chromium
    "public_site": "community-site",       # the published neighbourhood pages over real data
    "hot_areas": "evaluate-hot-areas",     # Gi* over a real year
    "patrol_store": "patrol-store",        # four real months and their patrol areas
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # an xdist worker sees dist "no" and loadgroup True (xdist's setup_config); the controller, dist
    if not (getattr(config.option, "loadgroup", False) or config.getoption("dist", "no") == "loadgroup"):
        return
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            group = next((g for name, g in SHARED_BUILDS.items() if name in item.fixturenames), None)
            item.add_marker(pytest.mark.xdist_group(group or item.nodeid.split("::")[0]))
        if getattr(config.option, "loadgroup", False) and hasattr(item, "_id"):
            _suffix_group(item)


def _suffix_group(item) -> None:
    """xdist schedules by the "@group" suffix of a worker's node ids, which it sets as `item._nodeid`;
    since pytest 9 a node id is `item._id`, so xdist's suffix was lost and every xdist_group mark was
    ignored (the browser tests ran on both workers, each with its own Chromium, demo hub and live
    server). Set it where pytest 9 reads it, as xdist would."""
    from _pytest.nodeid import NodeId

    names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                    for m in item.iter_markers("xdist_group")})
    if "@" not in item.nodeid:
        item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    """One Chromium per test process, for every browser test in any folder: Playwright's sync API
    refuses a second sync_playwright() while one is open, so a test that opened its own after a
    web test had started this one failed (order-dependent, seen in CI)."""
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium")
    assert exe, "chromium is not installed (scripts/ensure-services installs Debian's chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()
