"""The fast lane for the hottest reads, the case list and the case page (issue 22).

A request to `GET /cases` cost the hub ~4 ms of Python, and most of that was FastAPI's per-request
work around the service: matching the route among ~100, solving the dependencies, validating each
query parameter, then validating and serialising the answer. This middleware answers well-formed
case lists and case pages itself, in front of the router, by calling what the routes call
(`deps.read_signed_in`: the token, the service, the commit that waits for the audit row) with the
values the routes would have validated.

It serves only what it can read exactly as the route does: for the list, every query parameter one
of the route's, once, in its plain form (`status=open`, `mine=true`, `limit=50`); for the page, a
plain id (`/cases/42`) and no query string; one Authorization header of the Bearer form; at most
one X-Purpose. Anything else (an unknown parameter, `mine=1`,
`limit=0`, a repeated header, a purpose that does not decode) goes on to the route, which answers
it (or refuses it) as before: nothing here is a second set of rules. A refusal raised by the
service is answered by `failures.answer`, the app's own mapping; the page's answer is validated
and serialised through its response model as FastAPI would. Installed on PostgreSQL only, where
the database writes the list's JSON (`cases.list_cases_json`)."""

from __future__ import annotations

import re
from typing import get_args
from urllib.parse import parse_qsl

from fastapi import HTTPException
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from saferhub.api import failures
from saferhub.api.deps import BEARER, ID_MAX, read_signed_in
from saferhub.api.hygiene import header_text
from saferhub.api.schemas import CaseRead
from saferhub.api.schemas.bodies import CaseKind
from saferhub.hub import services

_DIGITS = re.compile(r"[0-9]{1,9}")
_KINDS = frozenset(get_args(CaseKind))
_CASE_PAGE = re.compile(r"/cases/([1-9][0-9]{0,9})")
_CASE_READ = TypeAdapter(CaseRead)
_PLAIN = {  # parameter -> reads its one value, or None: not plain, the route decides
    "status": lambda v: v if v in ("open", "closed") else None,
    "kind": lambda v: v if v in _KINDS else None,
    "mine": {"true": True, "false": False}.get,
    "limit": lambda v: int(v) if _DIGITS.fullmatch(v) and 1 <= int(v) <= 500 else None,
    "offset": lambda v: int(v) if _DIGITS.fullmatch(v) and int(v) <= 10_000_000 else None,
}
PURPOSE_MAX = 4000  # the route's max_length for the raw header


def _list_filters(scope) -> dict | None:
    """The case list's query parameters, each once and plain; else None (the route decides)."""
    filters = {}
    for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        read = _PLAIN.get(name)
        got = read(value) if read is not None and name not in filters else None
        if got is None:
            return None
        filters[name] = got
    return filters


def _credentials(scope) -> tuple[str, str | None] | None:
    """(token, purpose) from one `Authorization: Bearer` header and at most one X-Purpose."""
    auth, purpose = [], []
    for key, value in scope["headers"]:
        if key == b"authorization":
            auth.append(value)
        elif key == b"x-purpose":
            purpose.append(value)
    if len(auth) != 1 or len(purpose) > 1:
        return None
    m = BEARER.fullmatch(auth[0].decode("latin-1"))
    raw = purpose[0].decode("latin-1") if purpose else None
    if m is None or (raw is not None and len(raw) > PURPOSE_MAX):
        return None
    try:
        return m.group(1), header_text(raw)
    except HTTPException:  # undecodable percent-encoding: the route's 400
        return None


def _sent_as_is(out: bytes) -> bytes:
    return out


def _as_case_read(out: dict) -> bytes:  # what FastAPI does with the route's response model
    return _CASE_READ.dump_json(_CASE_READ.validate_python(out))


def plain_read(scope):
    """(service, args, kwargs, render, token) of a plain hot read, else None (the route answers)."""
    path = scope["path"]
    if path == "/cases":
        filters = _list_filters(scope)
        call = None if filters is None else (services.list_cases_json, (), filters, _sent_as_is)
    else:
        m = _CASE_PAGE.fullmatch(path)
        plain = m is not None and int(m.group(1)) <= ID_MAX and not scope["query_string"]
        call = (services.get_case, (int(m.group(1)),), {}, _as_case_read) if plain else None
    creds = _credentials(scope) if call is not None else None
    if creds is None:
        return None
    service, args, kwargs, render = call
    token, purpose = creds
    # the services take the purpose after the record's id (get_case) or first (the list)
    return service, (*args, purpose), kwargs, render, token


class FastLane:
    """Pure ASGI middleware over the app's `state`: its sessions, and `fast_lane_served`, the count
    of requests answered here (for tests and benchmarks)."""

    def __init__(self, app, state):
        self.app, self.state = app, state
        state.fast_lane_served = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith("/cases"):
            call = plain_read(scope)
            if call is not None:
                return await (await self._answer(*call))(scope, receive, send)
        await self.app(scope, receive, send)

    async def _answer(self, service, args, kwargs, render, token) -> Response:
        try:
            out = await run_in_threadpool(read_signed_in, self.state.sessions, token, service, args, kwargs)
        except HTTPException as exc:  # the token is unknown or expired: the route's 401, as FastAPI sends it
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        except failures.REFUSALS as exc:
            return failures.answer(exc)
        self.state.fast_lane_served += 1
        return Response(render(out), media_type="application/json")
