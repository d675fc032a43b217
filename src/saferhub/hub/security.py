"""Passwords (argon2id), bearer tokens (random, stored as SHA-256) and login throttling.

Throttling: more than `MAX_FAILURES` failed logins for one e-mail address, or from one client
address, within `WINDOW` refuses further attempts (HTTP 429) until the window passes. Failures are
kept in the database, so the limit holds across server processes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from saferhub.hub.models import ApiToken, LoginAttempt, User, utcnow

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 is the stated minimum.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=15)
TOKEN_LIFETIME = dt.timedelta(hours=12)
MIN_PASSWORD = 12


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
    return hashlib.sha256(token.encode()).hexdigest()


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
    if row is None:
        return None
    user, expires = row
    if expires.tzinfo is None:  # SQLite gives naive datetimes back
        expires = expires.replace(tzinfo=dt.timezone.utc)
    if expires < utcnow() or not user.active:
        return None
    return user


def revoke_token(db: Session, token: str) -> None:
    db.execute(delete(ApiToken).where(ApiToken.token_hash == token_digest(token)))


def throttled(db: Session, keys: list[str]) -> bool:
    since = utcnow() - WINDOW
    n = db.scalar(
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.key.in_(keys), LoginAttempt.at >= since)
        .group_by(LoginAttempt.key).order_by(func.count().desc()).limit(1)
    )
    return (n or 0) >= MAX_FAILURES


def record_failure(db: Session, keys: list[str]) -> None:
    db.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - WINDOW))  # keep the table small
    for key in keys:
        db.add(LoginAttempt(key=key))


def clear_failures(db: Session, email: str) -> None:
    """A successful sign-in forgives that address's earlier mistakes (not the client address's)."""
    db.execute(delete(LoginAttempt).where(LoginAttempt.key == f"email:{email.strip().lower()}"))


def authenticate(db: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same work either way)."""
    user = db.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        verify_password(_DUMMY, password)
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    return user


_DUMMY = _hasher.hash("dummy password used to keep timing even")
