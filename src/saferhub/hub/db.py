"""Where the hub database lives and how it is brought up to date.

`--db` beats `SAFERHUB_HUB_DB` beats a SQLite file beside the event store's default folder
(`$XDG_DATA_HOME/saferhub/hub.sqlite3`, or `~/.local/share/...`). PostgreSQL URLs are used as given
(`postgresql+psycopg://user@host:5432/db`). Migrations are packaged with the code and run from here,
so no alembic.ini is needed."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from saferhub.config import settings
from saferhub.errors import SaferhubError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def default_db_path() -> Path:
    return settings().hub_db_default


def resolve_db_url(db: str | None = None) -> str:
    """A SQLAlchemy URL: an explicit URL or file path, then the env variable, then the default file."""
    value = settings(hub_db=db or None).hub_db
    if not value:
        path = default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if "://" in value:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            # psycopg 3 is the installed driver; plain postgresql:// would ask for psycopg2.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value
    path = Path(value).expanduser()
    if path.is_dir():
        raise SaferhubError(f"--db {value}: is a folder; give a file name such as hub.sqlite3")
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Let SQLAlchemy's "begin" hook open transactions (below), not the sqlite3 module.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases and in-memory SQLite)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() != "sqlite" or u.database in (None, "", ":memory:"):
        return None
    return Path(u.database)


def create_private(path: Path) -> None:
    """Create an empty file readable by its owner only (0600 whatever the umask): the hub holds
    personal data, and SQLite's own default would be 0644 less the umask. Its -wal and -shm
    files inherit the database file's mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)  # migrations connect through here too, so this is where files are born
        if path is not None and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            create_private(path)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # Nearly every request writes (the audit row), so take the write lock up front: a deferred
        # transaction that later upgrades to writing fails with "database is locked" under load.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if "poolclass" not in kwargs:
        # At most 15 connections per server process (+1 for its audit batch writer): with one
        # process per core the hub stays well inside PostgreSQL's default max_connections (100).
        # 60 per process let two workers under overload take every slot, and then the audit
        # writer could not connect (every read answered 503; issue 22's open loop). Requests
        # beyond 15 at once wait for a connection; on 2 cores they would wait for CPU anyway.
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 5)
    kwargs.setdefault("pool_recycle", 1800)  # not pre_ping: it costs a round trip per request
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade(url: str, revision: str = "head") -> None:
    """Apply the packaged Alembic migrations to `url` (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    try:
        command.upgrade(cfg, revision)
    except Exception as exc:  # connection refused, wrong database name, ...
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            raise SaferhubError(f"cannot open the hub database {safe_url(url)}: {exc.orig}") from exc
        raise


def safe_url(url: str) -> str:
    """The URL without a password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
