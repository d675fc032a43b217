"""Server-rendered sign in / sign out (the other pages: saferhub.api.pages). Form posts carry a CSRF token.

CSRF: a random per-browser value lives in a cookie (`saferhub_csrf`); forms carry the same value
signed with the app secret (itsdangerous). A forged cross-site post has neither the signature nor
the cookie value, so it is refused (403). The session cookie holds a bearer token (HttpOnly,
SameSite=Strict); the JSON API itself only takes the Authorization header, so it cannot be driven
by a cross-site form."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from saferhub.api.deps import DB, client_ip, done
from saferhub.hub import security, services

router = APIRouter(prefix="/web", include_in_schema=False)
CSRF_COOKIE, SESSION_COOKIE = "saferhub_csrf", "saferhub_session"
_env = Environment(autoescape=select_autoescape(default=True))

_PAGE = _env.from_string("""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{{ title }} · saferhub hub</title>
<style>body{font:16px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{padding:.3rem .6rem;border-bottom:1px solid #ccc;text-align:left}
.err{color:#a00}</style></head><body><h1>{{ title }}</h1>{{ body }}</body></html>""")

_LOGIN = _env.from_string("""{% if error %}<p class="err">{{ error }}</p>{% endif %}
<form method="post" action="/web/login">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<p><label>E-mail <input name="email" type="email" required autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password" required autocomplete="current-password"></label></p>
<p><button>Sign in</button></p></form>""")

def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret, salt="saferhub-csrf")


def _csrf(request: Request) -> tuple[str, str]:
    """(cookie value, signed form token) for this browser."""
    raw = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    return raw, _serializer(request).dumps(raw)


def check_csrf(request: Request, token: str | None) -> None:
    raw = request.cookies.get(CSRF_COOKIE)
    try:
        ok = bool(raw and token) and _serializer(request).loads(token, max_age=4 * 3600) == raw
    except BadSignature:
        ok = False
    if not ok:
        raise HTTPException(403, "the form's security token is missing or stale; reload the page")


def _html(request: Request, title: str, body: str, status: int = 200) -> HTMLResponse:
    """`body` is HTML rendered by an autoescaping template already."""
    raw, _ = _csrf(request)
    resp = HTMLResponse(_PAGE.render(title=title, body=Markup(body)), status_code=status)
    resp.set_cookie(CSRF_COOKIE, raw, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


def _user(request: Request, db):
    token = request.cookies.get(SESSION_COOKIE)
    return security.user_for_token(db, token) if token else None


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    raw, signed = _csrf(request)
    request.cookies[CSRF_COOKIE] = raw  # so _html reuses it
    return _html(request, "Sign in", _LOGIN.render(csrf=signed, error=None))


@router.post("/login")
def login_form(request: Request, db: DB, email: Annotated[str, Form(max_length=200)] = "",
               password: Annotated[str, Form(max_length=1000)] = "",
               csrf_token: Annotated[str, Form(max_length=500)] = ""):
    check_csrf(request, csrf_token)
    try:
        attempt = services.auth.sign_in(db, email, password, client_ip(request),
                                        throttle=request.app.state.login_limit, channel="web")
    except services.auth.TooManyAttempts as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    token = done(db, attempt).token
    if token is None:
        _, signed = _csrf(request)
        return _html(request, "Sign in", _LOGIN.render(csrf=signed, error="Wrong e-mail or password."), 401)
    resp = RedirectResponse("/web/", status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.post("/logout")
def logout_form(request: Request, db: DB, csrf_token: Annotated[str, Form(max_length=500)] = ""):
    check_csrf(request, csrf_token)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        security.revoke_token(db, token)
        db.commit()
    resp = RedirectResponse("/web/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DB):
    """The front door is the daily briefing (saferhub.api.pages)."""
    if _user(request, db) is None:
        return RedirectResponse("/web/login", status_code=303)
    return RedirectResponse("/web/briefing", status_code=303)
