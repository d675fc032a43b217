"""Hub fixtures: every hub test runs on SQLite and on PostgreSQL (127.0.0.1:5432, user postgres).

PostgreSQL: one database per xdist worker and process (saferhub_test_<worker>_<pid>), migrated once,
emptied between tests (TRUNCATE), dropped at the end. If the server does not answer, the postgres
tests fail: CI starts it (scripts/ensure-services), so a silent skip would hide a broken setup.
SQLite: a migrated template file is copied per test."""

from __future__ import annotations

import functools
import os
import shutil
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from saferhub.hub.db import make_engine, session_factory, upgrade
from saferhub.hub.models import Agency, Base, User

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "correct horse battery staple"


@functools.lru_cache(maxsize=1)
def _password_hash() -> str:
    from saferhub.hub.security import hash_password

    return hash_password(PASSWORD)


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def pg_url(worker_id):
    name = f"saferhub_test_{worker_id}_{os.getpid()}".lower().replace("-", "_")
    with _pg_admin() as c:  # fails (not skips) when PostgreSQL is down
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    yield url
    with _pg_admin() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("hubtemplate") / "hub.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]


def _reset_pg(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
        # a tampering test may have dropped the guard (as a rogue DBA could): put it back
        conn.execute(text("CREATE OR REPLACE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
                          "FOR EACH ROW EXECUTE FUNCTION saferhub_audit_append_only()"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "hub.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = make_engine(url)
        _reset_pg(engine)
        engine.dispose()
        yield url


@dataclass
class Hub:
    """A migrated empty hub with an app, a client and helpers to make agencies, users, tokens."""

    url: str
    engine: object
    sessions: object
    client: TestClient
    tokens: dict = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def agency(self, code: str, kind: str = "council") -> int:
        with self.sessions() as s:
            a = Agency(code=code, name=code.replace("-", " ").title(), kind=kind)
            s.add(a)
            s.commit()
            return a.id

    def user(self, email: str, agency_id: int, role: str) -> int:
        with self.sessions() as s:
            u = User(email=email, name=email.split("@")[0].title(), agency_id=agency_id, role=role,
                     password_hash=_password_hash())  # one argon2 hash per session: tests stay fast
            s.add(u)
            s.commit()
            return u.id

    def login(self, email: str) -> dict:
        r = self.client.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def headers(self, email: str, purpose: str | None = "testing the hub") -> dict:
        if email not in self.tokens:
            self.tokens[email] = self.login(email)
        h = dict(self.tokens[email])
        if purpose:
            h["X-Purpose"] = purpose
        return h


@pytest.fixture
def hub(db_url):
    from saferhub.api import create_app

    engine = make_engine(db_url)
    app = create_app(engine=engine, secret="test-secret")
    with TestClient(app) as client:
        yield Hub(db_url, engine, session_factory(engine), client)
    engine.dispose()


@pytest.fixture
def partnership(hub):
    """Two agencies with every role, plus cases: own (lead police), other (lead council), locked."""
    return make_partnership(hub)


def make_partnership(hub) -> dict:
    """Police, council and fire, each with an admin, coordinator, caseworker and analyst; a second
    police caseworker."""
    police = hub.agency("police", "police")
    council = hub.agency("council", "council")
    fire = hub.agency("fire", "fire")
    people = {}
    for code, aid in (("police", police), ("council", council), ("fire", fire)):
        for role in ("admin", "coordinator", "caseworker", "analyst"):
            people[f"{role}.{code}"] = hub.user(f"{role}.{code}@test.invalid", aid, role)
    people["caseworker2.police"] = hub.user("caseworker2.police@test.invalid", police, "caseworker")
    return {"police": police, "council": council, "fire": fire, "users": people}


@pytest.fixture(autouse=True)
def audit_key_file(tmp_path, monkeypatch):
    """Each test's audit keyring (and checkpoint file) in its own folder, never the user's."""
    path = tmp_path / "auditkeys" / "audit.key"
    monkeypatch.setenv("SAFERHUB_AUDIT_KEY_FILE", str(path))
    return path
