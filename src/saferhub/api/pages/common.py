"""What every server-rendered page shares: the templates, the signed-in user, the session's stated
purpose, and one `render` that sets the CSRF cookie.

Purpose: a page showing personal data asks once per session why the user needs it (a POST form,
never the URL). The answer lives in a cookie signed with the app secret and bound to the session
token, so it cannot be reused by another session; every read still goes through the hub services,
which log it with that purpose."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from saferhub.api.schemas import plain
from saferhub.api.web import (  # noqa: F401 (check_csrf re-exported)
    CSRF_COOKIE, SESSION_COOKIE, _csrf, check_csrf, session_tag, set_cookie)
from saferhub.hub import security, services
from saferhub.web import env

PURPOSE_COOKIE = "saferhub_purpose"
PURPOSE_HOURS = 12


def csrf_ok(request: Request, token: str | None) -> bool:
    """check_csrf as a yes/no: a form page re-shows a stale form with what was typed (403) instead
    of dropping it."""
    try:
        check_csrf(request, token)
    except HTTPException:
        return False
    return True


STALE = ("This form had expired (it was open too long, or you signed in again elsewhere), so nothing was saved. "
         "What you typed is kept below: check it and press the button again.")


def page_user(request: Request, db):
    """The signed-in user, or a redirect to the sign-in page that comes back here afterwards (a GET
    page only: a form post returns to the page it came from)."""
    token = request.cookies.get(SESSION_COOKIE)
    user = security.user_for_token(db, token) if token else None
    if user is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        back = f"?next={quote(here, safe='/')}" if request.method == "GET" and safe_next(here) == here else ""
        raise HTTPException(303, headers={"Location": "/web/login" + back})
    return user


def _purpose_serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret, salt="saferhub-purpose")


def session_purpose(request: Request) -> str | None:
    """The purpose this session stated, or None (then the page asks for it)."""
    raw = request.cookies.get(PURPOSE_COOKIE)
    if not raw:
        return None
    try:
        tag, purpose = _purpose_serializer(request).loads(raw, max_age=PURPOSE_HOURS * 3600)
    except (BadSignature, ValueError):
        return None
    return purpose if tag == session_tag(request) else None


def set_purpose(request: Request, resp, purpose: str) -> None:
    value = _purpose_serializer(request).dumps([session_tag(request), purpose])
    set_cookie(request, resp, PURPOSE_COOKIE, value, max_age=PURPOSE_HOURS * 3600)


def render(request: Request, template: str, *, user=None, status: int = 200, **ctx) -> HTMLResponse:
    raw, signed = _csrf(request)
    html = env.get_template(template).render(request=request, user=user, csrf=signed, path=request.url.path, **ctx)
    resp = HTMLResponse(html, status_code=status)
    set_cookie(request, resp, CSRF_COOKIE, raw)
    request.cookies[CSRF_COOKIE] = raw  # a second render in the same request keeps the same value
    return resp


def ask_purpose(request: Request, user, error: str | None = None, typed: str = "",
                next: str | None = None) -> HTMLResponse:
    """The once-per-session purpose form; it posts back to /web/purpose and returns here."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(request, "purpose.html", user=user, next=safe_next(next or here), error=error, typed=typed,
                  title="Why do you need this?", status=400 if error else 200)


def with_purpose(request: Request, db, next: str | None = None, cases: bool = False):
    """(user, purpose, None) when the session stated a purpose, else (user, None, the purpose form).
    `cases`: a page of case records; a role that opens none gets the 403 page, not the purpose form."""
    user = page_user(request, db)
    if cases and not services.opens_case_records(user):
        raise HTTPException(403, "Your account has no access to case records: cases and referrals are for "
                                 "coordinators and caseworkers, so no purpose is asked. The briefing, map and "
                                 "reports are open to you.")
    purpose = session_purpose(request)
    return user, purpose, None if purpose else ask_purpose(request, user, next=next)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(url: str) -> str:
    """Only local paths under /web/ (no open redirect to another site): no scheme, no host, no
    backslash, no control characters, nothing that climbs out of /web/."""
    ok = (url.startswith("/web/") and not url.startswith("//") and "\\" not in url and ".." not in url
          and url.isprintable() and " " not in url and len(url) <= 500)
    return url if ok else "/web/briefing"


def text_errors(fields: dict[str, str], multiline: tuple[str, ...] = ()) -> dict[str, str]:
    """Per form field, why its text is refused (NUL, control characters, broken Unicode): the same
    rule as the JSON bodies (`api.schemas.plain`). Pages re-show the form with these and store
    nothing; `shown` gives the typed value back without the offending characters."""
    out = {}
    for name, value in fields.items():
        reason = plain.problem(value, multiline=name in multiline)
        if reason:
            out[name] = reason[0].upper() + reason[1:] + "."
    return out


def shown(value: str) -> str:
    """A refused value as the form shows it again: without control characters or lone surrogates."""
    return "".join(ch for ch in value if ch in "\n\r\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
