"""The hot reads' token cache (hub/tokens.py, issue 22): a token is looked up once per TTL, yet a
revoked one stops working at once: signed out, its user deactivated or re-roled, in this process
or another one. Only a change made behind the hub's back waits for the TTL (documented)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from saferhub.hub import tokens
from saferhub.hub.security import token_digest

HOT = ("/cases", "/referrals?box=in")
CASEWORKER = "caseworker.police@test.invalid"


@pytest.fixture(autouse=True)
def long_ttl(monkeypatch):
    """An hour: within a test only the revocation, never the clock, can end a cached token."""
    monkeypatch.setattr(tokens, "TTL", 3600.0)


def _codes(hub, headers) -> list[int]:
    return [hub.client.get(path, headers=headers).status_code for path in HOT]


def _token(headers) -> str:
    return headers["Authorization"].split(" ", 1)[1]


def test_the_token_is_cached_and_a_change_behind_the_hubs_back_waits_for_the_ttl(hub, partnership, monkeypatch):
    h = hub.headers(CASEWORKER)
    assert _codes(hub, h) == [200, 200]
    assert token_digest(_token(h)) in tokens._cache
    with hub.engine.begin() as conn:  # not through a hub session: nothing tells the cache
        conn.execute(text("DELETE FROM api_tokens"))
    assert _codes(hub, h) == [200, 200]  # served from the cache (the documented limit)
    assert hub.client.get("/me", headers=h).status_code == 401  # the ORM look-up asks every time
    monkeypatch.setattr(tokens, "TTL", 0.0)
    assert _codes(hub, h) == [401, 401]
    assert token_digest(_token(h)) not in tokens._cache


def test_signing_out_ends_the_cached_token_at_once(hub, partnership):
    h, other = hub.headers(CASEWORKER), hub.headers("caseworker2.police@test.invalid")
    assert _codes(hub, h) == [200, 200] and _codes(hub, other) == [200, 200]
    assert hub.client.post("/auth/logout", headers=h).status_code == 204
    assert _codes(hub, h) == [401, 401]
    assert hub.client.get("/cases/1", headers=h).status_code == 401
    assert _codes(hub, other) == [200, 200]  # only that token ended


@pytest.mark.parametrize("change", [{"active": False}, {"role": "analyst"}, {"agency_id": "council"}])
def test_deactivating_or_moving_a_user_ends_their_cached_tokens_at_once(hub, partnership, change):
    h = hub.headers(CASEWORKER)
    assert _codes(hub, h) == [200, 200]
    if "agency_id" in change:
        change = {"agency_id": partnership["council"]}
    r = hub.client.patch(f"/users/{partnership['users']['caseworker.police']}", json=change,
                         headers=hub.headers("admin.police@test.invalid"))
    assert r.status_code == 200, r.text
    assert _codes(hub, h) == [401, 401]


REVOKE = """
import sys
from saferhub.hub.db import make_engine, session_factory
from saferhub.hub import services, security
with session_factory(make_engine(sys.argv[1]))() as db:
    assert security.revoke_token(db, sys.argv[2])
    db.commit()
"""


def test_a_sign_out_in_another_process_ends_the_cached_token_here_at_once(hub, partnership):
    """Another server process (or a command) revokes the token: its commit moves the token epoch
    file beside the audit key, which this process reads before trusting its cache."""
    other = hub.headers("caseworker2.police@test.invalid")
    assert hub.client.post("/auth/logout", headers=other).status_code == 204  # the epoch file exists now
    h = hub.headers(CASEWORKER)
    assert _codes(hub, h) == [200, 200]
    subprocess.run([sys.executable, "-c", REVOKE, hub.url, _token(h)], check=True, env=os.environ.copy(),
                   timeout=120)
    assert token_digest(_token(h)) in tokens._cache  # this process was not told directly
    assert _codes(hub, h) == [401, 401]


def test_reads_do_not_move_the_epoch(hub, partnership):
    """Only changes to users and tokens move it: were every read to, the cache would never hit."""
    h = hub.headers(CASEWORKER)
    assert _codes(hub, h) == [200, 200]
    before = tokens._epoch()
    for _ in range(3):
        assert _codes(hub, h) == [200, 200]
        assert hub.client.get("/cases/1", headers=h).status_code in (200, 404)
    assert tokens._epoch() == before
