"""README / docs/hub.md: "tokens are stored hashed" and "POST /auth/login returns a bearer token
(12 h; only its SHA-256 is stored)". Pinned through the HTTP API and the database itself: the
token is looked for in the raw SQLite file, its SHA-256 is computed here with hashlib, and expiry
is exercised by moving the stored expiry into the past (time passing, as the database sees it)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from saferhub.hub.db import make_engine, session_factory, upgrade
from saferhub.hub.models import Agency, ApiToken, User
from saferhub.hub.security import hash_password

EMAIL, PASSWORD = "caseworker@wirral.test.invalid", "a long enough test passphrase"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from saferhub.api import create_app

    path = tmp_path_factory.mktemp("tokens") / "hub.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions() as s:
        agency = Agency(code="wirral-council", name="Wirral Council", kind="council")
        s.add(agency)
        s.flush()
        s.add(User(email=EMAIL, name="Casey Worker", agency_id=agency.id, role="caseworker",
                   password_hash=hash_password(PASSWORD)))
        s.commit()
    with TestClient(create_app(engine=engine, secret="test-secret")) as client:
        yield client, sessions, path
    engine.dispose()


def _login(client) -> str:
    r = client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def test_only_the_sha256_of_a_token_is_stored(hub):
    client, sessions, path = hub
    token = _login(client)
    assert len(token) >= 32
    with sessions() as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert token not in stored
    assert token.encode() not in path.read_bytes()  # nowhere in the database file


def test_a_token_expires_after_12_hours(hub):
    client, sessions, _ = hub
    token = _login(client)
    digest = hashlib.sha256(token.encode()).hexdigest()
    with sessions() as s:
        expires = s.scalar(select(ApiToken.expires_at).where(ApiToken.token_hash == digest))
    expires = expires.replace(tzinfo=dt.timezone.utc) if expires.tzinfo is None else expires
    left = expires - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(hours=11, minutes=58) < left <= dt.timedelta(hours=12)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/me", headers=auth).status_code == 200
    # 12 h later, as the database sees it: the stored expiry is now a second in the past
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    with sessions() as s:
        s.execute(update(ApiToken).where(ApiToken.token_hash == digest).values(expires_at=past))
        s.commit()
    r = client.get("/me", headers=auth)
    assert r.status_code == 401
    assert client.get("/me", headers={"Authorization": f"Bearer {_login(client)}"}).status_code == 200


def test_a_token_that_was_never_issued_is_refused(hub):
    client, _, _ = hub
    token = _login(client)
    other = token[:-1] + ("y" if token[-1] == "x" else "x")  # one character different
    assert client.get("/me", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    digest = hashlib.sha256(token.encode()).hexdigest()
    # presenting the stored hash itself must not log anyone in
    assert client.get("/me", headers={"Authorization": f"Bearer {digest}"}).status_code == 401
