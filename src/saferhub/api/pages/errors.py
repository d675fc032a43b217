"""Errors under /web/ answer as pages: a request a page cannot take (an id out of range, a field
that is not what the form sends, a wrong method, an unknown address) gets a short HTML page in the
app's style with its 4xx status, never raw JSON and never a 500. The JSON API keeps its JSON
answers (the same handlers hand everything outside /web/ to them), and redirects (the sign-in
page's 303) pass through untouched. The app's other handlers (hub errors, a value the database
refuses, a busy database) keep their status codes; under /web/ their message is shown as a page.

The message names the field and what it must be; it never echoes the value sent (that may be
100,000 characters, or text that cannot be encoded)."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from saferhub.api import hygiene
from saferhub.api.pages.common import render

TITLES = {400: "That request could not be read", 401: "Please sign in", 403: "Not allowed",
          404: "Not found", 405: "Not available this way", 413: "Too large", 422: "That request could not be read",
          429: "Too many attempts"}


def is_page(request: Request) -> bool:
    return request.url.path.startswith("/web/")


def _plain(error: dict) -> str:
    """One rejected field in plain words: 'case_id: Input should be less than or equal to 2147483647'."""
    loc = [str(x) for x in error.get("loc", ()) if x not in ("body", "query", "path", "header", "cookie")]
    where = hygiene.clip(".".join(loc) or "the request", 40)
    msg = str(error.get("msg") or "not acceptable").removeprefix("Value error, ")
    return f"{where}: {hygiene.clip(msg, 200)}"


async def validation_page(request: Request, exc: RequestValidationError):
    if not is_page(request):
        return await hygiene.validation_error(request, exc)
    errors = exc.errors()
    message = "; ".join(_plain(e) for e in errors[:5]) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")
    return render(request, "message.html", title=TITLES[422],
                  message=f"The page could not use what was sent. {message}.", status=422)


async def http_page(request: Request, exc: StarletteHTTPException):
    if not is_page(request) or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    resp = render(request, "message.html", title=TITLES.get(exc.status_code, "Not available"),
                  message=hygiene.clip(str(exc.detail), 300), status=exc.status_code)
    for k, v in (exc.headers or {}).items():
        resp.headers[k] = v
    return resp


def _as_page(handler):
    """The app's own handler (hub errors, database refusals, ...), its answer shown as a page."""

    async def page(request: Request, exc: Exception):
        resp = await handler(request, exc)
        if not is_page(request) or "application/json" not in resp.headers.get("content-type", ""):
            return resp
        try:
            detail = json.loads(resp.body).get("detail")
        except (ValueError, AttributeError):
            detail = None
        out = render(request, "message.html", title=TITLES.get(resp.status_code, "Not available"),
                     message=hygiene.clip(str(detail or "The request could not be completed."), 300),
                     status=resp.status_code)
        for k in ("retry-after", "www-authenticate"):
            if k in resp.headers:
                out.headers[k] = resp.headers[k]
        return out

    return page


def install(app: FastAPI) -> None:
    """Register after every other handler: validation errors and HTTP errors under /web/ become pages
    (elsewhere they go to hygiene's and FastAPI's handlers), and the app's other handlers (hub
    errors, database refusals) answer pages under /web/ too."""
    for exc_class, handler in list(app.exception_handlers.items()):
        if exc_class not in (RequestValidationError, StarletteHTTPException):
            app.add_exception_handler(exc_class, _as_page(handler))
    app.add_exception_handler(RequestValidationError, validation_page)
    app.add_exception_handler(StarletteHTTPException, http_page)
