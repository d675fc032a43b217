"""Server-rendered pages (map, briefing, cases, referrals, plans, reports, administration).

Pages are shells. A page: signs the user in (`common.page_user`), gets the session's purpose
(`common.with_purpose` / `session_purpose`), calls ONE `saferhub.hub.services` function, commits,
renders. It holds no SQL, no role or access checks and no audit calls: the service decides access
through `saferhub.hub.access` and logs the read with the purpose, exactly as for the JSON API, and
raises a HubError (404/403/...) the page shows as a message. A new page that needs data no service
gives yet gets a new service function first. Form text is checked with `common.text_errors` (the
JSON bodies' rule). tests/web/test_pages_are_shells.py scans this folder and `saferhub.briefing`
for queries, access rules, role checks and audit calls. `router` carries every page plus the
vendored static files, so the app includes it with one line."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse

from saferhub.api.deps import DB
from saferhub.api.pages import admin, briefing, cases, map as map_page
from saferhub.api.pages.common import ask_purpose, check_csrf, page_user, redirect, safe_next, set_purpose
from saferhub.hub import audit
from saferhub.web import HERE as WEB

router = APIRouter(include_in_schema=False)
STATIC = (WEB / "static").resolve()
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}


@router.get("/web/static/{path:path}")
def static(path: str):
    file = (STATIC / path).resolve()
    if not file.is_relative_to(STATIC) or not file.is_file() or file.suffix not in TYPES:
        raise HTTPException(404, "no such file")
    return FileResponse(file, media_type=TYPES[file.suffix], headers={"Cache-Control": "public, max-age=3600"})


@router.post("/web/purpose")
def purpose_form(request: Request, db: DB, purpose: Annotated[str, Form(max_length=400)] = "",
                 next: Annotated[str, Form(max_length=500)] = "/web/briefing",
                 csrf_token: Annotated[str, Form(max_length=500)] = ""):
    check_csrf(request, csrf_token)
    user = page_user(request, db)
    try:
        purpose = audit.check_purpose(purpose)
    except audit.MissingPurpose:  # the hub's message names the API's header: say it for a person
        return ask_purpose(request, user, typed=purpose, next=next,
                           error="Say in a few words why you need these records (for example: morning partnership "
                                 "briefing). It is kept in the audit trail, as the law requires.")
    resp = redirect(safe_next(next))
    set_purpose(request, resp, purpose)
    return resp


for _pages in (map_page, briefing, cases, admin):
    router.include_router(_pages.router)
from saferhub.api.pages import public  # noqa: E402  (the public neighbourhood pages: no sign-in)

router.include_router(public.router)
from saferhub.api.pages import missing as missing_pages  # noqa: E402 (issue 25)
router.include_router(missing_pages.router)
