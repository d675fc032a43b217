"""Request plumbing: a database session per request, the signed-in user, the stated purpose, and
`done` (the route commits what its service did: services never commit)."""

from __future__ import annotations

import re
from typing import Annotated, Iterator, TypeVar

from fastapi import Depends, Form, Header, HTTPException, Path, Query, Request
from pydantic import AfterValidator
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from saferhub.api.hygiene import header_text
from saferhub.hub.models import User
from saferhub.hub.security import client_address, user_for_token
from saferhub.hub.tokens import viewer_for_token

bearer = HTTPBearer(auto_error=False, description="a token from POST /auth/login")
T = TypeVar("T")


def get_db(request: Request) -> Iterator[Session]:
    db = request.app.state.sessions()
    try:
        yield db
    finally:
        db.close()  # rolls back anything the endpoint did not commit


DB = Annotated[Session, Depends(get_db)]


# RFC 6750 s2.1: credentials = "Bearer" 1*SP b64token. The scheme is case-insensitive (RFC 7235
# s2.1); of the 1*SP we accept exactly one space, the form every client sends, so the hub and any
# proxy in front of it cannot read one header two ways. Tabs, other white space, a second value or
# a second Authorization header are refused, never trimmed into a token.
BEARER = re.compile(r"(?i:bearer) ([A-Za-z0-9\-._~+/]+=*)")


async def bearer_token(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """The token of `Authorization: Bearer <token>` (the HTTPBearer dependency only documents the
    scheme in /openapi.json: its parser trims and splits too leniently)."""
    values = request.headers.getlist("authorization")
    m = BEARER.fullmatch(values[0]) if len(values) == 1 else None
    if m is None:
        raise HTTPException(401, "sign in first: send Authorization: Bearer <token> from POST /auth/login "
                                 "(one space, nothing else)", headers={"WWW-Authenticate": "Bearer"})
    return m.group(1)


Token = Annotated[str, Depends(bearer_token)]


def current_user(db: DB, token: Token) -> User:
    """The signed-in user (401 when the token is unknown, expired or its user inactive)."""
    return _signed_in(user_for_token(db, token))


def _signed_in(user: User | None) -> User:
    if user is None:
        raise HTTPException(401, "the token is unknown or expired; sign in again",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


async def read(request: Request, token: str, service, *args, **kwargs):
    """The hot reads (issue 22): `service(db, user, *args, **kwargs)` with the session, the token
    look-up, the service and the commit (which waits for the read's audit row) in ONE worker-thread
    hop. As sync dependencies (`DB`, `CurrentUser`) each of those was a hop of its own, and the
    dependency solver's work besides; the rules are the same (`current_user`, `done`)."""
    return await run_in_threadpool(read_signed_in, request.app.state.sessions, token, service, args, kwargs)


def read_signed_in(sessions, token: str, service, args, kwargs):
    with sessions() as db:  # closing rolls back anything not committed
        return done(db, service(db, _signed_in(viewer_for_token(db, token)), *args, **kwargs))


CurrentUser = Annotated[User, Depends(current_user)]


async def purpose_header(x_purpose: Annotated[str | None, Header(
        alias="X-Purpose", max_length=4000,
        description="Why you need this personal data (logged in the audit trail, DPA 2018 s62). Required. "
                    "Non-ASCII text: send UTF-8, or the RFC 8187 form UTF-8''<percent-encoded>.")] = None) -> str | None:
    return header_text(x_purpose)  # the service checks it (at most 300 characters once decoded)


Purpose = Annotated[str | None, Depends(purpose_header)]
ID_MAX = 2_147_483_647  # record ids are 32-bit integers on PostgreSQL: anything larger names no record
Id = Annotated[int, Path(ge=1, le=ID_MAX)]
QueryId = Annotated[int | None, Query(ge=1, le=ID_MAX)]  # an optional id in the query string


def _id_text(value: str) -> str:
    """Empty, or an id written with ASCII digits 0-9 within 1..ID_MAX ("²", "¹²" and "٣" are digits to
    Python's str.isdigit, but not ids)."""
    if value and not (value.isascii() and value.isdigit() and 1 <= int(value) <= ID_MAX):
        raise ValueError(f"choose one from the list (a number from 1 to {ID_MAX:,})")
    return value


# an id chosen in a web form (a select): the page checks for the empty value itself
FormIdText = Annotated[str, Form(max_length=20), AfterValidator(_id_text)]


def client_ip(request: Request) -> str:
    """The sign-in source: the TCP peer, or X-Forwarded-For only from a configured proxy."""
    return client_address(request)


def done(db: Session, out: T) -> T:
    """Commit the request's work and hand back its answer."""
    db.commit()
    return out
