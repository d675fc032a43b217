"""Server-rendered sign in / sign out (the other pages: saferhub.api.pages). Form posts carry a CSRF token.

CSRF: a random per-browser value lives in a cookie (`saferhub_csrf`); forms carry that value and
a tag of the browser's session (its sign-in cookie, or none before sign-in), signed with the app
secret (itsdangerous). A post is accepted only when the token's value matches the cookie AND its
tag matches the session the post arrives with: a token minted for one session (or before sign-in)
is refused in any other, so whoever can plant a `saferhub_csrf` cookie (a sibling subdomain, plain
HTTP) still cannot forge a signed-in user's posts. Signing in starts a new CSRF value.
The session cookie holds a bearer token (HttpOnly, SameSite=Strict, Secure over HTTPS); the JSON
API itself only takes the Authorization header, so it cannot be driven by a cross-site form."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from saferhub.api.deps import DB, client_ip, done
from saferhub.hub import security, services
from saferhub.web import env

router = APIRouter(prefix="/web", include_in_schema=False)
CSRF_COOKIE, SESSION_COOKIE = "saferhub_csrf", "saferhub_session"
CSRF_HOURS = 4


def set_cookie(request: Request, resp, name: str, value: str, **kw) -> None:
    """Every cookie the web sets: HttpOnly, SameSite=Strict, and Secure whenever the browser came
    over HTTPS (directly or through a trusted proxy: security.over_https)."""
    resp.set_cookie(name, value, httponly=True, samesite="strict", secure=security.over_https(request), **kw)


def session_tag(request: Request) -> str:
    """A keyed digest of the session cookie ('' before sign-in gives the pre-login tag): binds
    CSRF tokens and the stated purpose to one session without putting the token in a page."""
    token = (request.cookies.get(SESSION_COOKIE) or "").encode("utf-8", "replace")
    return hmac.new(request.app.state.secret.encode(), b"session:" + token, hashlib.sha256).hexdigest()[:32]


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret, salt="saferhub-csrf-session")


def _csrf(request: Request) -> tuple[str, str]:
    """(cookie value, signed form token bound to this browser's session)."""
    raw = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    return raw, _serializer(request).dumps([session_tag(request), raw])


def check_csrf(request: Request, token: str | None) -> None:
    raw = request.cookies.get(CSRF_COOKIE)
    try:
        tag, value = _serializer(request).loads(token, max_age=CSRF_HOURS * 3600) if raw and token else ("", "")
        ok = bool(raw) and hmac.compare_digest(str(value), raw) and hmac.compare_digest(str(tag), session_tag(request))
    except (BadSignature, ValueError, TypeError):
        ok = False
    if not ok:
        raise HTTPException(403, "the form's security token is missing or stale; reload the page")


def _login_page(request: Request, error: str | None = None, status: int = 200, email: str = "",
                next: str = "") -> HTMLResponse:
    """The sign-in form; after a failed attempt it keeps the e-mail typed (never the password) and
    where to go next (a local /web/ path only: pages.common.safe_next)."""
    from saferhub.api.pages.common import safe_next

    raw, signed = _csrf(request)
    html = env.get_template("login.html").render(request=request, user=None, csrf=signed, path=request.url.path,
                                                 title="Sign in", error=error, email=email,
                                                 next=safe_next(next) if next else "")
    resp = HTMLResponse(html, status_code=status)
    set_cookie(request, resp, CSRF_COOKIE, raw)
    return resp


def _user(request: Request, db):
    token = request.cookies.get(SESSION_COOKIE)
    return security.user_for_token(db, token) if token else None


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: Annotated[str, Query(max_length=500)] = "") -> HTMLResponse:
    return _login_page(request, next=next)


@router.post("/login")
def login_form(request: Request, db: DB, email: Annotated[str, Form(max_length=200)] = "",
               password: Annotated[str, Form(max_length=1000)] = "",
               csrf_token: Annotated[str, Form(max_length=500)] = "",
               next: Annotated[str, Form(max_length=500)] = ""):
    from saferhub.api.pages.common import csrf_ok, safe_next

    if not csrf_ok(request, csrf_token):
        return _login_page(request, "The sign-in form had expired. Please sign in again.", 403, email, next)
    try:
        attempt = services.auth.sign_in(db, email, password, client_ip(request),
                                        throttle=request.app.state.login_limit, channel="web")
    except services.auth.TooManyAttempts as exc:
        wait = max(1, int(exc.retry_after))
        at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=wait)).strftime("%H:%M")
        words = f"{wait} seconds" if wait < 120 else f"{(wait + 59) // 60} minutes"
        resp = _login_page(request, f"Too many sign-in attempts. Try again in {words} (after {at} UTC).", 429,
                           email, next)
        resp.headers["Retry-After"] = str(wait)
        return resp
    token = done(db, attempt).token
    if token is None:
        return _login_page(request, "Wrong e-mail or password.", 401, email, next)
    resp = RedirectResponse(safe_next(next) if next else "/web/", status_code=303)
    set_cookie(request, resp, SESSION_COOKIE, token)
    set_cookie(request, resp, CSRF_COOKIE, secrets.token_urlsafe(24))  # a fresh value for the new session
    return resp


@router.post("/logout")
def logout_form(request: Request, db: DB, csrf_token: Annotated[str, Form(max_length=500)] = ""):
    check_csrf(request, csrf_token)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        security.revoke_token(db, token)
        db.commit()
    resp = RedirectResponse("/web/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", secure=security.over_https(request))
    return resp


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DB):
    """The front door is the daily briefing (saferhub.api.pages)."""
    if _user(request, db) is None:
        return RedirectResponse("/web/login", status_code=303)
    return RedirectResponse("/web/briefing", status_code=303)
