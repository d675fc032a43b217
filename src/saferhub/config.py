"""ONE settings object for every path and environment variable saferhub reads.

Precedence, everywhere: an explicit argument (a CLI option, a function parameter) beats the
environment variable beats the default. Environment variables are all `SAFERHUB_<FIELD>`:

| field       | variable               | default                                         |
|-------------|------------------------|-------------------------------------------------|
| store       | SAFERHUB_STORE         | $XDG_DATA_HOME/saferhub/store (~/.local/share/) |
| hub_db      | SAFERHUB_HUB_DB        | $XDG_DATA_HOME/saferhub/hub.sqlite3             |
| geo_dir     | SAFERHUB_GEO_DIR       | none (covariates and bias audit are skipped)    |
| police_api  | SAFERHUB_POLICE_API    | https://data.police.uk/api                      |
| secret      | SAFERHUB_SECRET        | a random key per process (CSRF signing)         |
| out         | SAFERHUB_OUT           | ./out                                           |
| trusted_proxies | SAFERHUB_TRUSTED_PROXIES | none (X-Forwarded-For is ignored)            |
| audit_key_file  | SAFERHUB_AUDIT_KEY_FILE  | $XDG_DATA_HOME/saferhub/audit.key            |
| max_request_bytes | SAFERHUB_MAX_REQUEST_BYTES | 1048576 (1 MiB; larger bodies get 413)   |
| max_incidents_request_bytes | SAFERHUB_MAX_INCIDENTS_REQUEST_BYTES | 16777216 (POST /incidents only) |
| max_expanded_mb | SAFERHUB_MAX_EXPANDED_MB | 128 (ingest: largest expanded size of one file) |
| max_expansion_ratio | SAFERHUB_MAX_EXPANSION_RATIO | 100 (ingest: expanded / stored size)   |
| tile_url    | SAFERHUB_TILE_URL      | none (the web map draws no remote tiles)        |

Settings are read when `settings()` is called (reused only while no SAFERHUB_ variable changed),
so a test's monkeypatched environment and a command's options both take effect at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_POLICE_API = "https://data.police.uk/api"


def data_home() -> Path:
    """The user's data folder (XDG), under which the embedded stores live by default."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "saferhub"


class Settings(BaseSettings):
    """Every configurable path and value. Build one with overrides: `Settings(store="/tmp/s")`."""

    model_config = SettingsConfigDict(env_prefix="SAFERHUB_", extra="ignore")

    store: Optional[Path] = None
    hub_db: Optional[str] = None
    geo_dir: Optional[Path] = None
    police_api: str = DEFAULT_POLICE_API
    secret: Optional[str] = None
    out: Path = Path("out")
    trusted_proxies: list[str] = []  # reverse proxies (IPs/CIDRs, JSON list) whose X-Forwarded-For is believed
    audit_key_file: Optional[Path] = None  # the audit HMAC keyring (0600), kept off the database host if possible
    max_request_bytes: int = 1024 * 1024  # hub API request bodies above this are refused with 413
    # POST /incidents takes up to 10,000 incidents: with every field at its longest that is ~10 MB
    max_incidents_request_bytes: int = 16 * 1024 * 1024
    max_expanded_mb: float = 128      # ingest: refuse any one file that expands past this (bomb guard)
    max_expansion_ratio: float = 100  # ingest: ... or expands > this x its stored size (past 16 MB)
    tile_url: Optional[str] = None  # web map base tiles, e.g. "https://tiles.example/{z}/{x}/{y}.png"; none: no remote tiles

    @property
    def store_path(self) -> Path:
        return (self.store or data_home() / "store").expanduser()

    @property
    def hub_db_default(self) -> Path:
        return data_home() / "hub.sqlite3"

    @property
    def audit_key_path(self) -> Path:
        return (self.audit_key_file or data_home() / "audit.key").expanduser()


def settings(**overrides) -> Settings:
    """The settings in force now; `None` overrides are ignored, so CLI defaults pass straight in.
    Without overrides the object is reused while no SAFERHUB_ variable changes: building one costs
    ~2 ms of CPU (pydantic-settings), and the hub asks for it on every audited read (issue 22).
    The cached object is shared: read it, do not assign to it."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        return Settings(**overrides)
    env = (len(os.environ), *(os.environ.get(name) for name in _NAMES))  # ~10 us, not a scan of environ
    hit = _last.get(env)
    if hit is None:
        _last.clear()
        hit = _last[env] = Settings()
    return hit


_last: dict[tuple, Settings] = {}
_NAMES = tuple(f"SAFERHUB_{f.upper()}" for f in Settings.model_fields)


def default_store() -> Path:
    return data_home() / "store"


def resolve_store(store: str | os.PathLike | None = None) -> Path:
    """The event store folder to use (not created here). A path that is a file is refused: read
    as a store it would look empty, and a writer could not create it."""
    # a path given needs no settings object (building one costs ~30 ms, on every events() call)
    path = Path(store).expanduser() if store is not None and str(store) else settings().store_path
    if path.exists() and not path.is_dir():
        from saferhub.errors import SaferhubError

        raise SaferhubError(f"{path}: not a store folder (it is a file); give a folder for --store")
    return path
