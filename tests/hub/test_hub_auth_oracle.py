"""Signing in and out (hub/services/auth.py) at service level (issue 26): a right password gives a
live bearer token and exactly one "login" audit row (its purpose naming the channel); a wrong one,
an unknown or inactive account give no token, no audit row and a counted failure; the throttle
refuses (429, retry_after) before the password is tried; signing out revokes exactly that token.
Passwords stay Argon2id (hub/security.py); the world's users share one hash (service_world._pw)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saferhub.hub import security
from saferhub.hub.models import ApiToken, AuditEvent, LoginAttempt, User
from saferhub.hub.services import auth

from .service_world import make_world, open_hub

PASSWORD = "not used to sign in here"   # service_world._pw()
SOURCE = "192.0.2.10"


@pytest.fixture
def world(tmp_path):
    engine, db = open_hub(tmp_path)
    w = make_world(db, combos=[])
    db.commit()
    yield w
    db.close()
    engine.dispose()


def _audit(db) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _failures(db, email: str) -> int:
    return db.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == email.lower(), LoginAttempt.ok.is_(False)))


def test_the_right_password_gives_a_live_token_and_one_login_row(world):
    w = world
    db = w.db
    for name, channel, purpose in (("caseworker.P", "api", "sign in"), ("coordinator.C", "web", "sign in (web)"),
                                   ("admin.P", "cli", "sign in (cli)")):
        user = w.user(name)
        assert user.password_hash.startswith("$argon2id$")
        before = len(_audit(db))
        attempt = auth.sign_in(db, f"  {name.upper()}@X.TEST ", PASSWORD, SOURCE, channel=channel)
        db.commit()
        assert attempt.check() is attempt
        assert attempt.user.id == user.id and isinstance(attempt.token, str) and len(attempt.token) >= 40
        assert security.user_for_token(db, attempt.token).id == user.id
        rows = _audit(db)[before:]
        assert [(r.action, r.entity, r.entity_ids, r.purpose, r.user_id, r.agency_id) for r in rows] == [
            ("login", "user", str(user.id), purpose, user.id, user.agency_id)]
        assert db.scalar(select(LoginAttempt.ok).where(LoginAttempt.email == f"{name}@x.test".lower())) is True
    # the default channel is the API's
    attempt = auth.sign_in(db, "analyst.P@x.test", PASSWORD, SOURCE)
    db.commit()
    assert _audit(db)[-1].purpose == "sign in"
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 4


@pytest.mark.parametrize("email, password", [("caseworker.P@x.test", "not the password at all"),
                                             ("nobody@x.test", PASSWORD), ("caseworker.P@x.test", "")])
def test_a_wrong_password_or_unknown_account_gives_nothing_and_is_counted(world, email, password):
    db = world.db
    before = len(_audit(db))
    attempt = auth.sign_in(db, email, password, SOURCE)
    db.commit()
    assert (attempt.user, attempt.token) == (None, None)
    with pytest.raises(auth.WrongCredentials) as e:
        attempt.check()
    assert (str(e.value), e.value.status) == ("wrong e-mail or password", 401)
    assert len(_audit(db)) == before and db.scalar(select(func.count()).select_from(ApiToken)) == 0
    assert _failures(db, email) == 1


def test_an_inactive_account_cannot_sign_in(world):
    db = world.db
    world.user("caseworker.F").active = False
    db.commit()
    attempt = auth.sign_in(db, "caseworker.F@x.test", PASSWORD, SOURCE)
    assert attempt.user is None and attempt.token is None


def test_the_throttle_refuses_before_the_password_is_tried(world, monkeypatch):
    db = world.db
    email = "caseworker.P@x.test"
    for _ in range(security.FREE_FAILURES):
        assert auth.sign_in(db, email, "a wrong password", SOURCE).user is None
        db.commit()
    tried = []
    real = security.authenticate
    monkeypatch.setattr(security, "authenticate", lambda *a: tried.append(a) or real(*a))
    before = len(_audit(db))
    with pytest.raises(auth.TooManyAttempts) as e:
        auth.sign_in(db, email, PASSWORD, SOURCE)   # even the right password: refused untried
    assert e.value.status == 429 and 1 <= e.value.retry_after <= 2
    assert str(e.value) == "too many failed sign-ins from here; try again later"
    assert tried == [] and len(_audit(db)) == before
    db.rollback()
    # another source is another pair; throttle=False (the fuzzing tests) skips the check
    assert auth.sign_in(db, email, PASSWORD, "198.51.100.7").user is not None
    attempt = auth.sign_in(db, email, PASSWORD, SOURCE, throttle=False)
    assert attempt.user is not None and attempt.token and len(tried) == 2


def test_signing_out_revokes_exactly_that_token(world):
    db = world.db
    first = auth.sign_in(db, "caseworker.P@x.test", PASSWORD, SOURCE)
    second = auth.sign_in(db, "caseworker.P@x.test", PASSWORD, SOURCE)
    db.commit()
    before = len(_audit(db))
    assert auth.sign_out(db, first.token) is True
    db.commit()
    assert security.user_for_token(db, first.token) is None
    assert security.user_for_token(db, second.token).email == "caseworker.P@x.test"
    assert auth.sign_out(db, first.token) is False and auth.sign_out(db, "never issued") is False
    assert len(_audit(db)) == before
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 1
    assert db.get(User, second.user.id).active
