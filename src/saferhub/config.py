"""Where the embedded stores live: `--store` beats `SAFERHUB_STORE` beats the user's data dir."""

from __future__ import annotations

import os
from pathlib import Path


def default_store() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "saferhub" / "store"


def resolve_store(store: str | os.PathLike | None = None) -> Path:
    """The event store folder to use (not created here)."""
    if store:
        return Path(store).expanduser()
    env = os.environ.get("SAFERHUB_STORE")
    return Path(env).expanduser() if env else default_store()
