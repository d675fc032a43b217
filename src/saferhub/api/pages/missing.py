"""Children missing from home or care as pages: the people and homes you may see, a person's
episodes and pattern, a home's pattern against comparable homes. Shells: each calls one
`saferhub.hub.services.missing` function (access and purpose logging happen there)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request

from saferhub.api.deps import DB, Id
from saferhub.api.pages.common import STALE, check_csrf, csrf_ok, redirect, render, shown, text_errors, with_purpose
from saferhub.hub.errors import HubError
from saferhub.hub.missing_models import MISSING_RISK
from saferhub.hub.services import missing

Text = Annotated[str, Form(max_length=4000)]

router = APIRouter(prefix="/web", include_in_schema=False)


def _unavailable(request: Request, db, user, exc: HubError, what: str):
    db.rollback()
    message = (f"There is no {what} you can open. Police, the person's council and the home's named staff "
               "see missing episodes; ask them if you expected one." if exc.status == 404 else str(exc))
    return render(request, "message.html", user=user, title="Not available", message=message, status=exc.status)


@router.get("/missing")
def missing_index(request: Request, db: DB):
    user, purpose, ask = with_purpose(request, db)
    if ask:
        return ask
    try:
        people = missing.list_missing_people(db, user, purpose)
        homes = missing.list_homes(db, user, purpose)
    except HubError as exc:
        return _unavailable(request, db, user, exc, "missing-person record")
    db.commit()
    return render(request, "missing.html", user=user, people=people, homes=homes,
                  title="Missing from home or care")


def _person_page(request: Request, db, user, purpose, mp_id: int, *, status: int = 200, errors=None, typed=None,
                 flash=None):
    try:
        p = missing.get_missing_person(db, user, mp_id, purpose)
    except HubError as exc:
        return _unavailable(request, db, user, exc, f"missing person {mp_id}")
    try:
        homes = missing.list_homes(db, user, purpose)  # the homes this user may record an episode from
    except HubError:
        homes = []  # a role that records no episodes: no form
    db.commit()
    return render(request, "missing_person.html", user=user, p=p, homes=homes, risks=MISSING_RISK,
                  errors=errors or {}, typed=typed or {}, flash=flash, status=status,
                  title=f"{p['ref']}: {p['name']}" + (" (simulated)" if p["simulated"] else ""))


@router.get("/missing/people/{mp_id}")
def missing_person(request: Request, db: DB, mp_id: Id, done: str = ""):
    user, purpose, ask = with_purpose(request, db)
    if ask:
        return ask
    return _person_page(request, db, user, purpose, mp_id,
                        flash="Episode recorded." if done == "episode" else None)


def _when(text: str, name: str, errors: dict) -> dt.datetime | None:
    """'2026-12-07T21:30' (a datetime-local field, UTC) -> an aware datetime."""
    t = text.strip()
    if not t:
        return None
    try:
        v = dt.datetime.fromisoformat(t)
    except ValueError:
        errors[name] = "Enter a date and time, for example 2026-12-07 21:30."
        return None
    return v.replace(tzinfo=dt.timezone.utc) if v.tzinfo is None else v.astimezone(dt.timezone.utc)


@router.post("/missing/people/{mp_id}/episodes")
def episode_create(request: Request, db: DB, mp_id: Id, home_id: Text = "", reported_at: Text = "",
                   returned_at: Text = "", risk: Text = "", csrf_token: Text = ""):
    """Record an episode (the API's POST /missing/people/{id}/episodes): who may is the service's rule."""
    stale = not csrf_ok(request, csrf_token)
    user, purpose, ask = with_purpose(request, db, next=f"/web/missing/people/{mp_id}")
    if ask:
        if stale:
            check_csrf(request, csrf_token)
        return ask
    typed = {"home_id": home_id, "reported_at": reported_at, "returned_at": returned_at, "risk": risk}
    errors = text_errors(typed)
    typed = {k: shown(v) for k, v in typed.items()}
    if stale:
        errors["form"] = STALE
    if not (home_id.isascii() and home_id.isdigit() and 0 < int(home_id) < 2**31):
        errors.setdefault("home_id", "Choose the home the child went missing from.")
    if risk and risk not in MISSING_RISK:
        errors.setdefault("risk", "Choose a risk grading from the list.")
    reported = None if "reported_at" in errors else _when(reported_at, "reported_at", errors)
    returned = None if "returned_at" in errors else _when(returned_at, "returned_at", errors)
    if reported is None:
        errors.setdefault("reported_at", "Say when the child was reported missing.")
    if not errors:
        try:
            missing.record_episode(db, user, mp_id, home_id=int(home_id), reported_at=reported,
                                   returned_at=returned, risk=risk or None)
            db.commit()
            return redirect(f"/web/missing/people/{mp_id}?done=episode#episodes")
        except HubError as exc:
            db.rollback()
            if exc.status == 404 and stale:
                check_csrf(request, csrf_token)
            errors["form"] = str(exc)
    resp = _person_page(request, db, user, purpose, mp_id, errors=errors, typed=typed,
                        status=403 if stale else 400)
    if stale and resp.status_code != 403:
        check_csrf(request, csrf_token)
    return resp


@router.get("/missing/homes/{home_id}")
def missing_home(request: Request, db: DB, home_id: Id):
    user, purpose, ask = with_purpose(request, db)
    if ask:
        return ask
    try:
        pat = missing.home_pattern(db, user, home_id, purpose)
    except HubError as exc:
        return _unavailable(request, db, user, exc, f"home {home_id}")
    db.commit()
    rows = list(zip(pat["months"], pat["home_per_month"], pat["comparable_per_place_per_month"] or [None] * 12))
    return render(request, "missing_home.html", user=user, pat=pat, rows=rows,
                  title=pat["home"]["name"] + (" (simulated)" if pat["home"]["simulated"] and
                                               "imulated" not in pat["home"]["name"] else ""))
