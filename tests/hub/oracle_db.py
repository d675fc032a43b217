"""One migrated, empty SQLite hub per process, built when this module is first imported, for the
oracle tests (test_hub_*_oracle.py), which copy it per test. Built at import rather than in a
session fixture because scripts/mutation's mutmut collects the tests once and then forks a fresh
pytest session per mutant: a session fixture would run the migrations again for every mutant."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from saferhub.hub.db import upgrade

_DIR = Path(tempfile.mkdtemp(prefix="saferhub-oracle-hub-"))
_OWNER = os.getpid()
atexit.register(lambda: os.getpid() == _OWNER and shutil.rmtree(_DIR, ignore_errors=True))  # not forks
TEMPLATE = _DIR / "hub.sqlite3"
upgrade(f"sqlite:///{TEMPLATE}")


def fresh_copy(path: Path) -> str:
    """A copy of the empty hub at `path`; its SQLAlchemy URL."""
    shutil.copy(TEMPLATE, path)
    return f"sqlite:///{path}"
