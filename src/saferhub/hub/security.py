"""Passwords (argon2id), bearer tokens (random, stored as SHA-256), e-mail normalisation, the
client's address, and sign-in throttling.

Throttling follows OWASP ASVS v4.0.3 §2.2.1 (anti-automation that resists brute force, credential
stuffing AND account lock-out) and NIST SP 800-63B §5.2.2 (rate limiting: at most 100 consecutive
failures per account; waiting periods and trusted-source lists are acceptable means). It never
locks a named account for everyone, because that would hand an attacker a way to lock people out:

* failures are counted per (account, source): after `FREE_FAILURES` the pair waits
  `BACKOFF_BASE * 2**k` (capped at `MAX_BACKOFF`) between attempts;
* an account with `ACCOUNT_CEILING` failures in `WINDOW` (from any sources) only accepts sign-ins
  from sources it has signed in from before (within `KNOWN_FOR`), so the real user at their usual
  address still gets in while guesses from elsewhere are refused;
* a source with `SOURCE_CEILING` failures in `WINDOW` may only sign in to accounts it already knows,
  so one address cannot spray guesses across many accounts, yet colleagues behind the same address
  who signed in from it before are not shut out.
Outcomes live in the database, so the limits hold across server processes. IPv6 sources count per
/64 (one customer's usual allocation), so rotating addresses within a subnet does not reset them."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import secrets
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from saferhub.hub.models import ApiToken, LoginAttempt, User, utcnow

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 is the stated minimum.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
TOKEN_LIFETIME = dt.timedelta(hours=12)
MIN_PASSWORD = 12

WINDOW = dt.timedelta(hours=1)  # failures older than this are forgotten
FREE_FAILURES = 3  # per (account, source) before any wait
BACKOFF_BASE = dt.timedelta(seconds=2)
MAX_BACKOFF = dt.timedelta(minutes=15)
ACCOUNT_CEILING = 20  # failures per account per WINDOW before only known sources are accepted
SOURCE_CEILING = 30  # failures per source per WINDOW before it may only use accounts it knows
KNOWN_FOR = dt.timedelta(days=90)  # a success makes (account, source) "known" this long


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random 20-character password (about 119 bits) for first admins and demo users."""
    return secrets.token_urlsafe(15)


def check_password_strength(password: str) -> str | None:
    """A reason the password is unacceptable, or None."""
    if len(password) < MIN_PASSWORD:
        return f"passwords must have at least {MIN_PASSWORD} characters"
    if password.strip() != password:
        return "passwords must not start or end with spaces"
    return None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def issue_token(db: Session, user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.add(ApiToken(token_hash=token_digest(token), user_id=user.id, expires_at=utcnow() + TOKEN_LIFETIME))
    return token


def user_for_token(db: Session, token: str) -> User | None:
    row = db.execute(
        select(User, ApiToken.expires_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_digest(token))
    ).first()
    if row is None or not token_valid(row[1], row[0].active):
        return None
    return row[0]


def token_valid(expires: dt.datetime, active: bool) -> bool:
    """The one rule for a token found in the table: not expired, and its user active."""
    return active and _aware(expires) >= utcnow()


def revoke_token(db: Session, token: str) -> bool:
    """Delete the token; False when there was no such token (so the caller can refuse, not 204)."""
    return db.execute(delete(ApiToken).where(ApiToken.token_hash == token_digest(token))).rowcount > 0


# ------------------------------------------------------------------ who is signing in, from where


def normalise_email(s: str) -> str:
    """The one form of an e-mail address used for look-ups, uniqueness and throttling: Unicode NFKC,
    no surrounding (Unicode) white space, no control characters, lower case."""
    s = unicodedata.normalize("NFKC", s.encode("utf-8", "replace").decode("utf-8"))
    return "".join(c for c in s if unicodedata.category(c) != "Cc").strip().lower()[:254]


# An address as people and mail servers write it: a dot-atom local part (RFC 5322 atext) and a
# domain of at least two DNS labels (letters, digits, inner hyphens). Quoted local parts, IP
# literals and comments are valid in RFC 5322 but never needed for staff accounts, so refused.
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})+")


def valid_email(s: str) -> str:
    """The normalised address (`normalise_email`) if it is an e-mail address, else ValueError
    with a plain reason. The one check for every way a user is made (API, CLI, web)."""
    email = normalise_email(s)
    local, _, domain = email.rpartition("@")
    if len(email) > 254 or len(local) > 64 or not _EMAIL.fullmatch(email) or domain.split(".")[-1].isdigit():
        raise ValueError("that is not an e-mail address (name@organisation.example)")
    return email


def _networks(trusted_proxies) -> list:
    out = []
    for item in trusted_proxies or ():
        try:
            out.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            continue  # a typo in the setting must not make every address trusted
    return out


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(request, trusted_proxies) -> list | None:
    """The trusted proxy networks when the TCP peer is one of them (the one trust decision: only
    then are X-Forwarded-* headers believed), else None."""
    if trusted_proxies is None:
        from saferhub.config import settings

        trusted_proxies = settings().trusted_proxies
    peer_ip = _ip(request.client.host) if request.client else None
    nets = _networks(trusted_proxies)
    return nets if peer_ip is not None and any(peer_ip in n for n in nets) else None


def client_address(request, trusted_proxies: list[str] | None = None) -> str:
    """The client's IP address. X-Forwarded-For is believed only when the TCP peer is one of the
    configured `trusted_proxies` (settings; default none), and then read right to left, skipping
    further trusted proxies: the first untrusted hop is the client (entries left of it are
    whatever the client chose to send)."""
    peer = request.client.host if request.client else "unknown"
    nets = _trusted(request, trusted_proxies)
    if nets is None:
        return peer
    hops = [h for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
    client = peer
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break  # garbage: keep the last address a trusted proxy vouched for
        client = str(ip)
        if not any(ip in n for n in nets):
            break
    return client


def over_https(request, trusted_proxies: list[str] | None = None) -> bool:
    """Did the browser reach us over HTTPS: directly, or through a trusted proxy that says so in
    X-Forwarded-Proto (its own, i.e. the last value; believed under the same rule as
    X-Forwarded-For). Cookies are marked Secure then."""
    if request.url.scheme == "https":
        return True
    values = [v.strip().lower() for h in request.headers.getlist("x-forwarded-proto") for v in h.split(",")]
    return bool(values) and values[-1] == "https" and _trusted(request, trusted_proxies) is not None


def source_key(address: str) -> str:
    """What the throttle counts per: the IPv4 address, or the IPv6 /64."""
    ip = _ip(address)
    if ip is None:
        return address[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


# ------------------------------------------------------------------ throttle


@dataclass(frozen=True)
class Throttle:
    """May this (account, source) try a password now? If not, for how long to wait and why."""

    allowed: bool
    retry_after: int = 0  # seconds
    reason: str = ""


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.timezone.utc)  # SQLite gives naive back


def _failures(db: Session, since: dt.datetime, **where):
    q = select(func.count(), func.min(LoginAttempt.at), func.max(LoginAttempt.at)).where(
        LoginAttempt.ok.is_(False), LoginAttempt.at >= since)
    for column, value in where.items():
        q = q.where(getattr(LoginAttempt, column) == value)
    return db.execute(q).one()


def _wait(until: dt.datetime, now: dt.datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


def login_allowed(db: Session, email: str, source: str, now: dt.datetime | None = None) -> Throttle:
    """Decide before checking the password (so refused guesses cost no argon2 work either)."""
    now = now or utcnow()
    email, source, since = normalise_email(email), source_key(source), now - WINDOW
    n, _, last = _failures(db, since, email=email, source=source)
    if n >= FREE_FAILURES:
        delay = min(BACKOFF_BASE * 2 ** min(n - FREE_FAILURES, 20), MAX_BACKOFF)
        if _aware(last) + delay > now:
            return Throttle(False, _wait(_aware(last) + delay, now), "too many failed sign-ins from here")
    known = db.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == email, LoginAttempt.source == source, LoginAttempt.ok.is_(True),
        LoginAttempt.at >= now - KNOWN_FOR))
    if known:
        return Throttle(True)
    for column, value, ceiling, why in (
        ("email", email, ACCOUNT_CEILING, "this account is under attack: sign in from a place you have used before"),
        ("source", source, SOURCE_CEILING, "too many failed sign-ins from this address"),
    ):
        n, first, _ = _failures(db, since, **{column: value})
        if n >= ceiling:
            return Throttle(False, _wait(_aware(first) + WINDOW, now), why)
    return Throttle(True)


def record_login(db: Session, email: str, source: str, ok: bool, now: dt.datetime | None = None) -> None:
    """Remember a sign-in outcome. A success forgives that pair's failures and makes the pair known
    (not the account's failures from other sources, nor the source's against other accounts)."""
    now = now or utcnow()
    email, source = normalise_email(email), source_key(source)
    pair = (LoginAttempt.email == email, LoginAttempt.source == source)
    if ok:
        db.execute(delete(LoginAttempt).where(*pair))
    else:  # keep the table small: forget what no rule looks at any more
        db.execute(delete(LoginAttempt).where(LoginAttempt.ok.is_(False), LoginAttempt.at < now - WINDOW))
        db.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KNOWN_FOR))
    db.add(LoginAttempt(email=email, source=source, ok=ok, at=now))
    db.flush()


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    throttle: Throttle


def attempt_login(db: Session, email: str, password: str, source: str,
                  now: dt.datetime | None = None, limit: bool = True) -> LoginResult:
    """Throttle check, password check, outcome recorded (flushed, not committed). `limit=False`
    skips the throttle (tests that fuzz the sign-in route)."""
    decision = login_allowed(db, email, source, now) if limit else Throttle(True)
    if not decision.allowed:
        return LoginResult(None, decision)
    user = authenticate(db, email, password)
    record_login(db, email, source, user is not None, now)
    return LoginResult(user, decision)


def authenticate(db: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same work either way)."""
    user = db.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    if user is None:
        verify_password(_DUMMY, password)
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    return user


_DUMMY = _hasher.hash("dummy password used to keep timing even")
