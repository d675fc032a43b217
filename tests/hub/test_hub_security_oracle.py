"""security.py against an independent model of docs/hub.md "Sign-in" (issue 14, second pass).

The throttle is replayed against `Policy`, a plain-Python restatement of the documented rules
written here (not the module's code): per (account, source) 3 free failures, then waits of
2 s, 4 s, 8 s ... up to 15 min after the last failure; 20 failures per account or 30 per source
in the last hour shut out sources the account has not signed in from within 90 days; a success
clears the pair's failures; failures older than an hour are forgotten. A fake clock drives it,
including the exact instants a wait or window ends. Tokens: SHA-256 computed here with hashlib,
expiry 12 h checked at the exact instant with a frozen clock. Runs on SQLite only, no HTTP."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import random
from collections import Counter

import pytest
from sqlalchemy import func, select

from saferhub.hub import security
from saferhub.hub.db import make_engine, session_factory
from saferhub.hub.models import Agency, ApiToken, LoginAttempt, User

from .oracle_db import fresh_copy

PASSWORD = "correct horse battery staple"
_password_hash = functools.cache(lambda: security.hash_password(PASSWORD))

T0 = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.timezone.utc)
S = dt.timedelta(seconds=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def db(tmp_path):
    engine = make_engine(fresh_copy(tmp_path / "hub.sqlite3"))
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def _user(db, email="casey@wirral.test", active=True) -> User:
    agency = db.scalar(select(Agency).limit(1))
    if agency is None:
        agency = Agency(code="wirral", name="Wirral", kind="council")
        db.add(agency)
        db.flush()
    u = User(email=email, name="Casey", agency_id=agency.id, role="caseworker",
             password_hash=_password_hash(), active=active)
    db.add(u)
    db.flush()
    return u


# ------------------------------------------------------------------ the documented policy, restated


class Policy:
    FREE, ACCOUNT, SOURCE = 3, 20, 30
    KNOWN = dt.timedelta(days=90)

    def __init__(self):
        self.log: list[tuple[str, str, bool, dt.datetime]] = []

    def record(self, email, source, ok, now):
        if ok:
            self.log = [a for a in self.log if (a[0], a[1]) != (email, source)]
        else:
            self.log = [a for a in self.log if (a[2] or a[3] >= now - HOUR) and a[3] >= now - self.KNOWN]
        self.log.append((email, source, ok, now))

    def _fails(self, now, **match):
        return sorted(a[3] for a in self.log if not a[2] and a[3] >= now - HOUR
                      and all(a[{"email": 0, "source": 1}[k]] == v for k, v in match.items()))

    def decide(self, email, source, now) -> tuple[bool, int]:
        pair = self._fails(now, email=email, source=source)
        if len(pair) >= self.FREE:
            wait = min(2 * 2 ** (len(pair) - self.FREE), 15 * 60)
            end = pair[-1] + wait * S
            if end > now:
                return False, max(1, math.ceil((end - now).total_seconds()))
        if any(a[:3] == (email, source, True) and a[3] >= now - self.KNOWN for a in self.log):
            return True, 0
        for key, ceiling in (("email", self.ACCOUNT), ("source", self.SOURCE)):
            fails = self._fails(now, **{key: email if key == "email" else source})
            if len(fails) >= ceiling:
                return False, max(1, math.ceil((fails[0] + HOUR - now).total_seconds()))
        return True, 0


def test_random_sign_in_traffic_matches_the_documented_policy(db):
    """400 attempts by 4 accounts from 5 addresses, mostly seconds apart, now and then an hour
    (fixed seed); every outcome is compared, wait included."""
    rng = random.Random(14)
    policy, now = Policy(), T0
    emails = ["a@x.test", "b@x.test", "c@x.test", "d@x.test"]
    sources = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "198.51.100.7", "2001:db8::/64"]
    reasons = Counter()
    for step in range(400):
        now += rng.choices([0, 1, 2, 3, 7, 60, 901, 3599, 3600], [30, 30, 15, 10, 8, 4, 1, 1, 1])[0] * S
        e, src = rng.choice(emails), rng.choice(sources)
        want = policy.decide(e, src, now)
        got = security.login_allowed(db, e, src, now)
        assert (got.allowed, got.retry_after) == want, (step, e, src, now)
        reasons[got.reason] += 1
        if got.allowed:
            ok = rng.random() < 0.1
            policy.record(e, src, ok, now)
            security.record_login(db, e, src, ok, now)
    # allowed, the pair's back-off and the account ceiling all occur (the source ceiling, which needs
    # 30 failures from one address before any account's 20, is in test_ceilings_... below)
    assert reasons[""] > 100 and len(reasons) == 3, reasons


def test_pair_waits_end_exactly_when_stated(db):
    e, src = "a@x.test", "192.0.2.1"
    for i in range(3):
        security.record_login(db, e, src, False, T0 + i * S)
    last = T0 + 2 * S
    t = security.login_allowed(db, e, src, last)
    assert t == security.Throttle(False, 2, "too many failed sign-ins from here")
    assert security.login_allowed(db, e, src, last + 1.5 * S).retry_after == 1  # 0.5 s left: rounds up to 1
    assert not security.login_allowed(db, e, src, last + 2 * S - dt.timedelta(microseconds=1)).allowed
    assert security.login_allowed(db, e, src, last + 2 * S) == security.Throttle(True)
    # the 4th failure doubles the wait; the 13th reaches the 15-minute cap, and stays there
    waits = []
    now = last + 2 * S
    for _ in range(10):  # 2822 s in all: every failure stays in the hour's window
        security.record_login(db, e, src, False, now)
        waits.append(security.login_allowed(db, e, src, now).retry_after)
        now += waits[-1] * S
    assert waits == [4, 8, 16, 32, 64, 128, 256, 512, 900, 900]


def test_failures_are_forgotten_exactly_an_hour_later(db):
    e, src = "a@x.test", "192.0.2.1"
    for _ in range(12):
        security.record_login(db, e, src, False, T0)
    security.record_login(db, e, src, False, T0 + HOUR - 100 * S)
    # 13 failures in the window: the wait is the 15-minute cap, ending 800 s after T0 + 1 h
    assert security.login_allowed(db, e, src, T0 + HOUR) == security.Throttle(
        False, 800, "too many failed sign-ins from here")
    # a microsecond later the 12 failures at T0 have left the window: 1 failure, no wait
    assert security.login_allowed(db, e, src, T0 + HOUR + dt.timedelta(microseconds=1)).allowed
    # the account ceiling's wait is counted from the oldest failure still in the window
    for i in range(20):
        security.record_login(db, "b@x.test", f"198.51.100.{i + 1}", False, T0 + i * S)
    at_edge = security.login_allowed(db, "b@x.test", "192.0.2.9", T0 + HOUR)
    assert at_edge == security.Throttle(False, 1, "this account is under attack: sign in from a place you have "
                                                  "used before")
    after = security.login_allowed(db, "b@x.test", "192.0.2.9", T0 + HOUR + dt.timedelta(microseconds=1))
    assert after.allowed  # only 19 failures in the window now


def test_ceilings_are_exactly_20_per_account_and_30_per_source(db):
    for i in range(19):
        security.record_login(db, "b@x.test", f"198.51.100.{i + 1}", False, T0)
    assert security.login_allowed(db, "b@x.test", "192.0.2.9", T0 + S).allowed
    security.record_login(db, "b@x.test", "198.51.100.99", False, T0)
    assert security.login_allowed(db, "b@x.test", "192.0.2.9", T0 + S) == security.Throttle(
        False, 3599, "this account is under attack: sign in from a place you have used before")
    office = "203.0.113.1"
    for i in range(29):
        security.record_login(db, f"u{i}@x.test", office, False, T0)
    assert security.login_allowed(db, "new@x.test", office, T0 + 10 * S).allowed
    security.record_login(db, "u99@x.test", office, False, T0)
    assert security.login_allowed(db, "new@x.test", office, T0 + 10 * S) == security.Throttle(
        False, 3590, "too many failed sign-ins from this address")


def test_a_known_source_stays_known_for_90_days(db):
    e, home = "b@x.test", "192.0.2.50"
    security.record_login(db, e, home, True, T0)
    later = T0 + dt.timedelta(days=90)
    for i in range(20):
        security.record_login(db, e, f"198.51.100.{i + 1}", False, later - 10 * S)
    assert security.login_allowed(db, e, home, later).allowed  # exactly 90 days: still known
    assert not security.login_allowed(db, e, home, later + dt.timedelta(microseconds=1)).allowed


def test_record_login_forgives_only_the_pair_and_prunes_old_rows(db):
    e = "a@x.test"
    security.record_login(db, e, "192.0.2.1", True, T0 - dt.timedelta(days=91))  # older than 90 days
    security.record_login(db, e, "192.0.2.2", True, T0 - dt.timedelta(days=89))
    security.record_login(db, e, "192.0.2.5", True, T0 - dt.timedelta(days=90))  # exactly 90 days: kept
    security.record_login(db, e, "192.0.2.3", False, T0 - HOUR - S)              # older than an hour
    security.record_login(db, e, "192.0.2.4", False, T0 - HOUR)                  # exactly an hour
    security.record_login(db, "z@x.test", "192.0.2.1", False, T0 - 60 * S)
    security.record_login(db, e, "192.0.2.1", False, T0 - 60 * S)
    security.record_login(db, e, "192.0.2.4", False, T0)
    rows = {(a.email, a.source, a.ok) for a in db.scalars(select(LoginAttempt))}
    assert rows == {(e, "192.0.2.2", True), (e, "192.0.2.4", False), ("z@x.test", "192.0.2.1", False),
                    (e, "192.0.2.1", False), (e, "192.0.2.5", True)}
    assert db.scalar(select(func.count()).select_from(LoginAttempt)) == 6  # two failures of (e, .4)
    security.record_login(db, e, "192.0.2.4", True, T0 + S)  # forgives (e, .4) only
    rows = sorted((a.email, a.source, a.ok) for a in db.scalars(select(LoginAttempt)))
    assert rows == sorted([(e, "192.0.2.2", True), ("z@x.test", "192.0.2.1", False), (e, "192.0.2.1", False),
                           (e, "192.0.2.4", True), (e, "192.0.2.5", True)])


def test_attempt_login_checks_throttle_then_password_and_records(db):
    u = _user(db)
    src = "192.0.2.1"
    r = security.attempt_login(db, " Casey@Wirral.TEST ", PASSWORD, src, now=T0)
    assert r.user is not None and r.user.id == u.id and r.throttle.allowed
    for i in range(3):
        r = security.attempt_login(db, u.email, "wrong password!!", src, now=T0 + i * S)
        assert r.user is None and r.throttle.allowed
    r = security.attempt_login(db, u.email, PASSWORD, src, now=T0 + 3 * S)
    assert r.user is None and not r.throttle.allowed and r.throttle.retry_after == 1
    assert db.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.ok.is_(False))) == 3
    r = security.attempt_login(db, u.email, PASSWORD, src, now=T0 + 3 * S, limit=False)
    assert r.user is not None and r.throttle == security.Throttle(True)
    outcomes = [a.ok for a in db.scalars(select(LoginAttempt).order_by(LoginAttempt.id))]
    assert outcomes == [True]  # the success cleared the pair's failures and was itself recorded


def test_authenticate_refuses_unknown_inactive_and_wrong(db):
    _user(db, "on@x.test")
    _user(db, "off@x.test", active=False)
    assert security.authenticate(db, "ON@x.test", PASSWORD).email == "on@x.test"
    assert security.authenticate(db, "on@x.test", PASSWORD + "!") is None
    assert security.authenticate(db, "off@x.test", PASSWORD) is None
    assert security.authenticate(db, "nobody@x.test", PASSWORD) is None


# ------------------------------------------------------------------ tokens


def test_tokens_are_stored_as_their_sha256_and_expire_after_exactly_12_hours(db, monkeypatch):
    u = _user(db)
    monkeypatch.setattr(security, "utcnow", lambda: T0)
    token = security.issue_token(db, u)
    db.flush()
    stored = db.scalars(select(ApiToken)).all()
    assert len(stored) == 1 and stored[0].user_id == u.id
    assert stored[0].token_hash == hashlib.sha256(token.encode("utf-8")).hexdigest()
    assert len(token) == 43 and token != stored[0].token_hash  # 32 random bytes, url-safe base64
    expires = stored[0].expires_at.replace(tzinfo=dt.timezone.utc)
    assert expires == T0 + dt.timedelta(hours=12)
    for at, ok in ((T0, True), (T0 + dt.timedelta(hours=12), True),
                   (T0 + dt.timedelta(hours=12, microseconds=1), False)):
        monkeypatch.setattr(security, "utcnow", lambda at=at: at)
        assert (security.user_for_token(db, token) is not None) is ok, at
    monkeypatch.setattr(security, "utcnow", lambda: T0)
    assert security.user_for_token(db, token).id == u.id
    assert security.user_for_token(db, token + "x") is None
    assert security.user_for_token(db, hashlib.sha256(token.encode()).hexdigest()) is None  # the hash is no token
    u.active = False
    db.flush()
    assert security.user_for_token(db, token) is None
    assert security.revoke_token(db, token) is True
    assert security.revoke_token(db, token) is False
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_two_tokens_differ_and_digest_handles_broken_unicode():
    assert security.token_digest("abc") == hashlib.sha256(b"abc").hexdigest()
    assert security.token_digest("\ud800") == hashlib.sha256(b"?").hexdigest()  # lone surrogate: replaced


# ------------------------------------------------------------------ passwords, e-mail, sources


def test_password_rules():
    assert security.MIN_PASSWORD == 12
    assert security.check_password_strength("x" * 11) == "passwords must have at least 12 characters"
    assert security.check_password_strength("x" * 12) is None
    assert security.check_password_strength(" " + "x" * 12) == "passwords must not start or end with spaces"
    assert security.check_password_strength("x" * 12 + "\t") == "passwords must not start or end with spaces"
    g = security.generate_password()
    assert len(g) == 20 and security.check_password_strength(g) is None and g != security.generate_password()
    h = security.hash_password("correct horse battery")
    assert h.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert security.verify_password(h, "correct horse battery") is True
    assert security.verify_password(h, "correct horse battery!") is False
    assert security.verify_password("not a hash", "x") is False


@pytest.mark.parametrize("raw,want", [
    ("  Casey@Wirral.TEST\t", "casey@wirral.test"),
    ("ｃａｓｅｙ@wirral.test", "casey@wirral.test"),          # NFKC: full-width letters
    ("ca\x00se\x07y@wirral.test", "casey@wirral.test"),      # control characters dropped
    ("\u00a0casey@wirral.test\u2003", "casey@wirral.test"),   # Unicode spaces trimmed
    ("a" * 300, "a" * 254),                                  # at most 254 characters
    ("ca\ud800sey@x.test", "ca?sey@x.test"),                 # broken Unicode does not raise
])
def test_normalise_email(raw, want):
    assert security.normalise_email(raw) == want


@pytest.mark.parametrize("raw,want", [
    ("192.0.2.1", "192.0.2.1"),
    (" 192.0.2.1 ", "192.0.2.1"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("[2001:db8:1:2::9]", "2001:db8:1:2::/64"),
    ("::ffff:198.51.100.3", "198.51.100.3"),
    ("testclient", "testclient"),
    ("x" * 100, "x" * 64),
])
def test_source_key(raw, want):
    assert security.source_key(raw) == want


def test_client_address_reads_forwarded_for_right_to_left_from_trusted_proxies(monkeypatch):
    from types import SimpleNamespace

    def req(peer, *xff):
        return SimpleNamespace(client=SimpleNamespace(host=peer) if peer else None,
                               headers=SimpleNamespace(getlist=lambda n: list(xff) if n == "x-forwarded-for" else []))

    trusted = ["10.0.0.0/8", " 192.0.2.7 "]
    assert security.client_address(req("10.1.1.1", "6.6.6.6, 7.7.7.7", "192.0.2.7, 10.2.2.2"), trusted) == "7.7.7.7"
    assert security.client_address(req("192.0.2.7", " 8.8.8.8 "), trusted) == "8.8.8.8"
    assert security.client_address(req("10.1.1.1", "10.3.3.3, 10.2.2.2"), trusted) == "10.3.3.3"  # all proxies
    assert security.client_address(req("10.1.1.1", "6.6.6.6, junk, 10.2.2.2"), trusted) == "10.2.2.2"
    assert security.client_address(req("10.1.1.1"), trusted) == "10.1.1.1"
    # a network written with host bits set still counts (not silently dropped as invalid)
    assert security.client_address(req("172.16.9.9", "6.6.6.6"), ["172.16.0.1/16"]) == "6.6.6.6"
    assert security.client_address(req(None, "6.6.6.6"), trusted) == "unknown"
    monkeypatch.delenv("SAFERHUB_TRUSTED_PROXIES", raising=False)
    assert security.client_address(req("10.1.1.1", "6.6.6.6"), None) == "10.1.1.1"  # settings: none trusted
    monkeypatch.setenv("SAFERHUB_TRUSTED_PROXIES", '["10.0.0.0/8"]')
    assert security.client_address(req("10.1.1.1", "6.6.6.6"), None) == "6.6.6.6"


def test_times_from_the_database_are_read_as_utc_and_aware_ones_keep_their_instant():
    naive = dt.datetime(2026, 1, 1, 12, 0)  # SQLite returns naive UTC
    assert security._aware(naive) == dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    plus_one = dt.datetime(2026, 1, 1, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # PostgreSQL: aware
    assert security._aware(plus_one) == naive.replace(tzinfo=dt.timezone.utc)
    assert security._aware(plus_one).utcoffset() == dt.timedelta(hours=1)
