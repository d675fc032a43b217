"""Cases, referrals and actions as pages: lists with search, a case page with its timeline, the
referral inbox (accept / decline with a reason), and short forms that keep what was typed when
something is wrong. Every read and write is a hub service call (same access, same audit)."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Form, Request

from saferhub.api.deps import DB, FormIdText, Id, QueryId
from saferhub.api.pages.common import (STALE, check_csrf, csrf_ok, page_user, redirect, render, shown, text_errors,
                                       with_purpose)
from saferhub.hub import services
from saferhub.hub.errors import HubError
from saferhub.hub.models import CASE_KINDS, REFERRAL_KINDS, RISK_LEVELS

router = APIRouter(prefix="/web", include_in_schema=False)
Text = Annotated[str, Form(max_length=4000)]
Long = Annotated[str, Form(max_length=50_000)]  # longer than any field allows: the page says so and keeps it
LIMITS = {"title": 300, "reason": 5000, "legal_gateway": 200, "text": 20_000}
DONE = {"action": "Action added.", "note": "Note added.", "referral": "Referral sent.", "location": "Location set."}


def _store():
    from saferhub.config import settings

    return settings().store_path


def _too_long(typed: dict, errors: dict) -> None:
    for name, limit in LIMITS.items():
        if name in typed and len(typed[name]) > limit:
            errors.setdefault(name, f"This is {len(typed[name]):,} characters long; the limit is {limit:,}. "
                                    "Shorten it (what you typed is kept here).")


def _reshow(request, db, user, purpose, case_id, stale: bool, token: str, **kw):
    """The case page again with the form's errors and what was typed: 400, or 403 for a stale form.
    A stale form on a case the user cannot open is refused like any forged post (403)."""
    resp = _case_page(request, db, user, purpose, case_id, status=403 if stale else 400, **kw)
    if stale and resp.status_code != 403:
        check_csrf(request, token)  # raises the 403
    return resp


def _form_user(request: Request, db, token: str, case_id: int):
    """(user, purpose, early answer, stale). A stale form from a signed-in user is shown again with
    what was typed (403); without a session it is refused like any forged post."""
    stale = not csrf_ok(request, token)
    try:
        user, purpose, ask = with_purpose(request, db, next=f"/web/cases/{case_id}", cases=True)
    except Exception:
        if stale:
            check_csrf(request, token)  # raises the 403
        raise
    return user, purpose, ask, stale


def _case_page(request: Request, db, user, purpose: str, case_id: int, *, status: int = 200, errors=None,
               typed=None, flash=None, form=None):
    """The case with its timeline; `errors`/`typed` re-show a form that did not validate."""
    try:
        case = services.get_case(db, user, case_id, purpose)
        if case.get("access") != "full":
            db.commit()
            return render(request, "case_locked.html", user=user, case=case, title=f"Case {case['ref']}")
        actions = services.list_actions(db, user, case_id, purpose)
        incidents = services.case_incidents(db, user, case_id, purpose, limit=500)
        refs = services.case_referrals(db, user, case_id, purpose)
        people = services.case_people_notes(db, user, case_id, purpose)
        gaz = services.placenames.gazetteer(_store())  # the published wards, once per page
        place = services.case_place(db, user, case, purpose, gaz=gaz)
    except HubError as exc:
        db.rollback()
        message = (f"There is no case {case_id} you can open. If you expected one, ask its owner to share it "
                   "with your agency or refer it to you." if exc.status == 404 else str(exc))
        return render(request, "message.html", user=user, title="Case not available", message=message,
                      status=exc.status)
    db.commit()
    agencies = {a["id"]: a["name"] for a in services.list_agencies(db)}
    timeline = _timeline(case, actions, incidents, refs, agencies, people)
    return render(request, "case.html", user=user, case=case, actions=actions, timeline=timeline, form=form,
                  people=people["people"], notes=people["notes"], place=place,
                  wards=gaz.wards(),
                  incident_count=len(incidents), agencies=agencies,
                  working=[agencies.get(a, "?") for a in case.get("agencies", [])], referral_kinds=REFERRAL_KINDS,
                  errors=errors or {}, typed=typed or {}, flash=flash, title=f"Case {case['ref']}: {case['title']}",
                  status=status)


def _timeline(case, actions, incidents, referrals, agencies, people) -> list[dict]:
    """Newest first, with real times and who did what: notes, referrals and their answers, actions
    (dated when they were added; their due date is shown with them), incidents by month, the opening.
    `at` is a datetime (timed events) or a date (the opening; a month of incidents); sorting uses both."""
    items = [{"at": case["opened_on"], "who": case["owner"]["name"], "what": "Opened the case"}]
    months: dict = {}
    for i in incidents:
        v = months.setdefault(i["month"], {"n": 0, "sim": 0})
        v["n"] += 1
        v["sim"] += i["source"] == "simulated"
    for m, v in months.items():
        items.append({"at": m, "label": f"{m:%B %Y}", "what": f"{v['n']} incident{'s' * (v['n'] != 1)} linked",
                      "simulated": v["sim"] > 0})
    for r in referrals:
        items.append({"at": r["created_at"], "who": people["senders"].get(r["id"]),
                      "what": f"Referred to {agencies.get(r['to_agency_id'])} ({r['kind'].replace('_', ' ')}; "
                              f"referral R{r['id']})", "text": r["reason"]})
        if r["responded_at"]:
            items.append({"at": r["responded_at"], "who": agencies.get(r["to_agency_id"]),
                          "what": f"Referral R{r['id']} {r['status']}", "text": r["decline_reason"]})
    for a in actions:
        due = f"due {a['due_on']:%d %b %Y}" if a["due_on"] else "no due date"
        items.append({"at": a["created_at"] or case["opened_on"], "what": f"Action added ({due}; {a['status']})",
                      "text": a["title"], "overdue": a["overdue"]})
    for n in people["notes"]:
        items.append({"at": n["at"], "who": n["author"], "what": f"Note ({n['kind']}) about {n['person']}",
                      "text": n["text"]})

    def key(x):
        t = x["at"]
        return t if isinstance(t, dt.datetime) else dt.datetime(t.year, t.month, t.day, tzinfo=dt.timezone.utc)
    return sorted(items, key=key, reverse=True)


@contextmanager
def _form_write(db, errors: dict):
    """Commit what the block writes, also when it returns its redirect; a HubError rolls the
    whole write back (nothing half-saved) and becomes the form's message, shown with what was typed."""
    try:
        yield
        db.commit()
    except HubError as exc:
        db.rollback()
        errors["form"] = str(exc)


@router.get("/cases")
def cases_list(request: Request, db: DB, q: str = "", status: str = "open", kind: str = "", risk: str = ""):
    user, purpose, ask = with_purpose(request, db, cases=True)
    if ask:
        return ask
    try:
        rows = services.list_cases(db, user, purpose, status=status or None, kind=kind or None, limit=500)
    except HubError as exc:
        return render(request, "message.html", user=user, title="Cases", message=str(exc), status=exc.status)
    db.commit()
    words = q.lower().split()
    shown = [c for c in rows if (not risk or c.get("risk") == risk)
             and all(w in f"{c.get('ref')} {c.get('title', '')} {c.get('summary') or ''}".lower() for w in words)]
    return render(request, "cases.html", user=user, cases=shown[:200], total=len(shown), title="Cases",
                  f={"q": q, "status": status, "kind": kind, "risk": risk}, kinds=CASE_KINDS, risks=RISK_LEVELS)


@router.get("/cases/new")
def case_new(request: Request, db: DB):
    user = page_user(request, db)
    return render(request, "case_new.html", user=user, title="Open a case", kinds=CASE_KINDS, risks=RISK_LEVELS,
                  typed={}, errors={})


@router.post("/cases/new")
def case_create(request: Request, db: DB, kind: Text = "", title: Text = "", summary: Text = "",
                risk: Text = "standard", review_on: Text = "", csrf_token: Text = ""):
    check_csrf(request, csrf_token)
    user = page_user(request, db)
    typed = {"kind": kind, "title": title, "summary": summary, "risk": risk, "review_on": review_on}
    errors = text_errors(typed, multiline=("summary",))
    typed = {k: shown(v) for k, v in typed.items()}
    if kind not in CASE_KINDS:
        errors.setdefault("kind", "Choose what kind of case this is.")
    if not title.strip():
        errors.setdefault("title", "Give the case a short title (for example the place and the problem).")
    elif len(title) > 200:
        errors.setdefault("title", "The title is longer than 200 characters.")
    if risk not in RISK_LEVELS:
        errors.setdefault("risk", "Choose standard, medium or high.")
    review = None if "review_on" in errors else _date(review_on, "review_on", errors)
    if not errors:
        with _form_write(db, errors):
            c = services.create_case(db, user, kind=kind, title=title.strip(), summary=summary.strip() or None,
                                     risk_level=risk, review_on=review)
            return redirect(f"/web/cases/{c['id']}")
    return render(request, "case_new.html", user=user, title="Open a case", kinds=CASE_KINDS, risks=RISK_LEVELS,
                  typed=typed, errors=errors, error="Please correct the fields marked below.", status=400)


def _date(text: str, name: str, errors: dict) -> dt.date | None:
    if not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD, for example 2026-12-01."
        return None


@router.get("/cases/{case_id}")
def case_page(case_id: Id, request: Request, db: DB, done: str = "", sent: QueryId = None):
    user, purpose, ask = with_purpose(request, db, cases=True)
    if ask:
        return ask
    flash = f"Referral R{sent} sent." if done == "referral" and sent else DONE.get(done)
    return _case_page(request, db, user, purpose, case_id, flash=flash)


@router.post("/cases/{case_id}/referrals")
def referral_create(case_id: Id, request: Request, db: DB, to_agency_id: FormIdText = "", kind: Text = "",
                    reason: Long = "", legal_gateway: Long = "", csrf_token: Text = ""):
    user, purpose, ask, stale = _form_user(request, db, csrf_token, case_id)
    if ask:
        return ask
    typed = {"to_agency_id": to_agency_id, "kind": kind, "reason": reason, "legal_gateway": legal_gateway}
    errors = text_errors(typed, multiline=("reason",))
    typed = {k: shown(v) for k, v in typed.items()}
    if stale:
        errors["form"] = STALE
    _too_long(typed, errors)
    if not to_agency_id.isdigit():
        errors.setdefault("to_agency_id", "Choose the agency to refer to.")
    if kind not in REFERRAL_KINDS:
        errors.setdefault("kind", "Choose the kind of referral.")
    if len(reason.strip()) < 5:
        errors.setdefault("reason", "Say in a sentence why you are referring (at least 5 characters).")
    if len(legal_gateway.strip()) < 3:
        errors.setdefault("legal_gateway",
                          "Name the legal gateway for sharing (for example Crime and Disorder Act 1998 s115).")
    if not errors:
        with _form_write(db, errors):
            r = services.create_referral(db, user, case_id, to_agency_id=int(to_agency_id), kind=kind,
                                         reason=reason.strip(), legal_gateway=legal_gateway.strip())
            return redirect(f"/web/cases/{case_id}?done=referral&sent={r['id']}#refer")  # post/redirect/get: a refresh sends nothing
    return _reshow(request, db, user, purpose, case_id, stale, csrf_token, errors=errors,
                      typed=typed, form="referral")


@router.post("/cases/{case_id}/actions")
def action_create(case_id: Id, request: Request, db: DB, title: Long = "", due_on: Text = "",
                  csrf_token: Text = ""):
    user, purpose, ask, stale = _form_user(request, db, csrf_token, case_id)
    if ask:
        return ask
    errors = text_errors({"title": title, "due_on": due_on})
    typed = {"title": shown(title), "due_on": shown(due_on)}
    if stale:
        errors["form"] = STALE
    _too_long(typed, errors)
    due = None if "due_on" in errors else _date(due_on, "due_on", errors)
    if not title.strip():
        errors.setdefault("title", "Say what needs doing.")
    if not errors:
        with _form_write(db, errors):
            services.create_action(db, user, case_id, title=title.strip(), due_on=due)
            return redirect(f"/web/cases/{case_id}?done=action#add-action")
    return _reshow(request, db, user, purpose, case_id, stale, csrf_token, errors=errors,
                      typed=typed, form="action")


@router.post("/cases/{case_id}/notes")
def note_create(case_id: Id, request: Request, db: DB, person_id: Text = "", kind: Text = "",
                text: Long = "", csrf_token: Text = ""):
    user, purpose, ask, stale = _form_user(request, db, csrf_token, case_id)
    if ask:
        return ask
    typed = {"person_id": person_id, "kind": kind, "text": text}
    errors = text_errors(typed, multiline=("text",))
    typed = {k: shown(v) for k, v in typed.items()}
    if stale:
        errors["form"] = STALE
    _too_long(typed, errors)
    if not (person_id.isascii() and person_id.isdigit() and 0 < int(person_id) < 2**31):
        errors.setdefault("person_id", "Choose who the note is about.")
    if kind not in ("fact", "opinion"):
        errors.setdefault("kind", "Say whether the note is a fact or an opinion.")
    if not text.strip():
        errors.setdefault("text", "Write the note.")
    if not errors:
        with _form_write(db, errors):
            services.add_note(db, user, case_id, int(person_id), kind, text.strip())
            return redirect(f"/web/cases/{case_id}?done=note#notes")
    return _reshow(request, db, user, purpose, case_id, stale, csrf_token, errors=errors,
                      typed=typed, form="note")


def _number(text: str, name: str, errors: dict) -> float | None:
    t = text.strip()
    if not t:
        return None
    try:
        v = float(t)
    except ValueError:
        v = float("nan")
    if v != v or v in (float("inf"), float("-inf")) or len(t) > 30:
        errors[name] = "Enter a number in decimal degrees, for example 53.4049 or -2.9811."
        return None
    return v


@router.post("/cases/{case_id}/location")
def location_set(case_id: Id, request: Request, db: DB, street: Text = "", ward: Text = "", lat: Text = "",
                 lon: Text = "", csrf_token: Text = ""):
    """Give the case a location: a street in a ward (or a ward alone), or latitude and longitude."""
    user, purpose, ask, stale = _form_user(request, db, csrf_token, case_id)
    if ask:
        return ask
    typed = {"street": street, "ward": ward, "lat": lat, "lon": lon}
    errors = text_errors(typed)
    typed = {k: shown(v) for k, v in typed.items()}
    if stale:
        errors["form"] = STALE
    if len(street) > 200:
        errors.setdefault("street", f"This is {len(street):,} characters long; a street name is at most 200.")
    la = None if "lat" in errors else _number(lat, "lat", errors)
    lo = None if "lon" in errors else _number(lon, "lon", errors)
    if not errors and (la is None) != (lo is None):
        errors["lat" if la is None else "lon"] = "Give both latitude and longitude, or neither."
    if not errors and la is None and not ward.strip():
        errors["ward"] = "Choose the ward (and type the street if you know it), or give latitude and longitude."
    if not errors:
        with _form_write(db, errors):
            place = services.resolve_place(_store(), street=street, ward_code=ward.strip(), lat=la, lon=lo)
            services.set_case_location(db, user, case_id, place)
            return redirect(f"/web/cases/{case_id}?done=location#location")
    return _reshow(request, db, user, purpose, case_id, stale, csrf_token, errors=errors,
                   typed=typed, form="location")


@router.get("/referrals")
def referrals_page(request: Request, db: DB, flash: str = ""):
    user, purpose, ask = with_purpose(request, db, cases=True)
    if ask:
        return ask
    try:
        inbox = services.list_referrals(db, user, purpose, "in")
        sent = services.list_referrals(db, user, purpose, "out")
    except HubError as exc:
        return render(request, "message.html", user=user, title="Referrals", message=str(exc), status=exc.status)
    db.commit()
    agencies = {a["id"]: a["name"] for a in services.list_agencies(db)}
    return render(request, "referrals.html", user=user, inbox=inbox, sent=sent, agencies=agencies,
                  title=f"Referrals: {user.agency.name}", flash={"accepted": "Referral accepted: the case is now "
                  "shared with your agency.", "declined": "Referral declined."}.get(flash))


@router.post("/referrals/{referral_id}")
def referral_respond(referral_id: Id, request: Request, db: DB, decision: Text = "", reason: Text = "",
                     csrf_token: Text = ""):
    check_csrf(request, csrf_token)
    user, purpose, ask = with_purpose(request, db, next="/web/referrals", cases=True)
    if ask:
        return ask
    error = text_errors({"reason": reason}, multiline=("reason",)).get("reason")
    if decision not in ("accept", "decline"):
        error = error or "Choose accept or decline."
    elif decision == "decline" and not reason.strip():
        error = error or "Give a reason for declining, so the referring agency knows what to do next."
    if error is None:
        try:
            services.respond_referral(db, user, referral_id, decision == "accept", reason.strip() or None)
            db.commit()
            return redirect("/web/referrals?flash=" + ("accepted" if decision == "accept" else "declined"))
        except HubError as exc:
            db.rollback()
            error = str(exc)
    inbox = services.list_referrals(db, user, purpose, "in")
    sent = services.list_referrals(db, user, purpose, "out")
    db.commit()
    agencies = {a["id"]: a["name"] for a in services.list_agencies(db)}
    return render(request, "referrals.html", user=user, inbox=inbox, sent=sent, agencies=agencies, error=error,
                  typed={"id": referral_id, "reason": shown(reason), "decision": shown(decision)}, title=f"Referrals: {user.agency.name}", status=400)
