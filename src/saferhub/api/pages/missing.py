"""Children missing from home or care as pages: the people and homes you may see, a person's
episodes and pattern, a home's pattern against comparable homes. Shells: each calls one
`saferhub.hub.services.missing` function (access and purpose logging happen there)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from saferhub.api.deps import DB, Id
from saferhub.api.pages.common import render, with_purpose
from saferhub.hub.errors import HubError
from saferhub.hub.services import missing

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


@router.get("/missing/people/{mp_id}")
def missing_person(request: Request, db: DB, mp_id: Id):
    user, purpose, ask = with_purpose(request, db)
    if ask:
        return ask
    try:
        p = missing.get_missing_person(db, user, mp_id, purpose)
    except HubError as exc:
        return _unavailable(request, db, user, exc, f"missing person {mp_id}")
    db.commit()
    return render(request, "missing_person.html", user=user, p=p,
                  title=f"{p['ref']}: {p['name']}" + (" (simulated)" if p["simulated"] else ""))


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
