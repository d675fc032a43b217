"""The token look-up of the hot reads (issue 22), cached per token for a few seconds.

Every API request names its user by a bearer token. `security.user_for_token` loads the ORM User
(with its agency) on each request: about a millisecond of CPU, and a round trip. The reads that
matter for speed (case list, case page, referral inbox) use `viewer_for_token` instead: the same
rule (`security.token_valid`), one Core statement built once, and the answer kept for
`TTL` seconds per token, as a detached User holding its columns only.

A revoked token must stop working at once, in every server process, not after the TTL. So any
transaction that changes the users or api_tokens tables through a session (sign-out, an
administrator deactivating, moving or re-roling a user, which also deletes their tokens) bumps the
**token epoch** when it commits: the cache of this process is emptied and the epoch file (beside
the audit key, which every process of a hub shares) is touched, and every process compares that
file's stamp (one `stat`) before trusting its cache. Changes made outside the hub's code (SQL typed
into psql) are seen within `TTL` seconds; the cache is per host, so processes on several hosts
sharing one database each see another host's revocations within `TTL` too (docs/hub.md)."""

from __future__ import annotations

import os
import threading
import time

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session, make_transient_to_detached

from saferhub.hub.models import ApiToken, User
from saferhub.hub.security import token_digest, token_valid

TTL = 5.0  # seconds a looked-up token is trusted without asking the database again
MAX_ENTRIES = 50_000  # beyond this the cache starts afresh (a flood of distinct tokens)

_users, _tokens = User.__table__, ApiToken.__table__
_VIEWER = (select(_users.c.id, _users.c.email, _users.c.name, _users.c.agency_id, _users.c.role, _users.c.active,
                  _tokens.c.expires_at)
           .join_from(_tokens, _users, _users.c.id == _tokens.c.user_id)
           .where(_tokens.c.token_hash == bindparam("digest")))
_cache: dict[str, tuple] = {}  # digest -> (looked up at (monotonic), epoch, user, expires_at)
_lock = threading.Lock()


def viewer_for_token(db: Session, token: str) -> User | None:
    """The token's user, or None (unknown, expired, user inactive). The user is detached: its
    columns only (no agency, no password hash; touching a relationship raises), for reads only."""
    digest, epoch, now = token_digest(token), _epoch(), time.monotonic()
    hit = _cache.get(digest)
    if hit is not None and now - hit[0] < TTL and hit[1] == epoch and token_valid(hit[3], True):
        return hit[2]
    row = db.connection().execute(_VIEWER, {"digest": digest}).first()
    if row is None or not token_valid(row.expires_at, row.active):
        _cache.pop(digest, None)
        return None
    user = User(id=row.id, email=row.email, name=row.name, agency_id=row.agency_id, role=row.role, active=True)
    make_transient_to_detached(user)
    with _lock:
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()
        _cache[digest] = (now, epoch, user, row.expires_at)
    return user


def _epoch_path():
    from saferhub.hub import auditkey

    p = auditkey.key_path()
    return p.with_name(p.name + ".token-epoch")


def _epoch() -> tuple:
    try:
        st = os.stat(_epoch_path())
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


def bump() -> None:
    """Forget every cached token, here and (through the epoch file) in every other process."""
    with _lock:
        _cache.clear()
    try:
        path = _epoch_path()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, b".")  # size and mtime change: the stamp moves even within one clock tick
        finally:
            os.close(fd)
        if os.path.getsize(path) > 4096:
            os.truncate(path, 0)  # keeps it small; the mtime moves again
    except OSError:
        pass  # no shared folder: other processes fall back to the TTL


_CHANGED = "saferhub_tokens_changed"
_WATCHED = (User, ApiToken)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ in _WATCHED:
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _ctx) -> None:
    if any(isinstance(o, _WATCHED) for o in (*session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        bump()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)
