"""Cases, referrals and actions as pages: lists with search, a case page with its timeline, the
referral inbox (accept / decline with a reason), and short forms that keep what was typed when
something is wrong. Every read and write is a hub service call (same access, same audit)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request

from saferhub.api.deps import DB, FormIdText, Id
from saferhub.api.pages.common import check_csrf, page_user, redirect, render, shown, text_errors, with_purpose
from saferhub.hub import services
from saferhub.hub.errors import HubError
from saferhub.hub.models import CASE_KINDS, REFERRAL_KINDS, RISK_LEVELS

router = APIRouter(prefix="/web", include_in_schema=False)
Text = Annotated[str, Form(max_length=4000)]


def _case_page(request: Request, db, user, purpose: str, case_id: int, *, status: int = 200, errors=None,
               typed=None, flash=None):
    """The case with its timeline; `errors`/`typed` re-show a form that did not validate."""
    try:
        case = services.get_case(db, user, case_id, purpose)
        if case.get("access") != "full":
            db.commit()
            return render(request, "case_locked.html", user=user, case=case, title=f"Case {case['ref']}")
        actions = services.list_actions(db, user, case_id, purpose)
        incidents = services.case_incidents(db, user, case_id, purpose, limit=500)
        refs = services.case_referrals(db, user, case_id, purpose)
    except HubError as exc:
        db.rollback()
        message = (f"There is no case {case_id} you can open. If you expected one, ask its owner to share it "
                   "with your agency or refer it to you." if exc.status == 404 else str(exc))
        return render(request, "message.html", user=user, title="Case not available", message=message,
                      status=exc.status)
    db.commit()
    agencies = {a["id"]: a["name"] for a in services.list_agencies(db)}
    timeline = _timeline(case, actions, incidents, refs, agencies)
    return render(request, "case.html", user=user, case=case, actions=actions, timeline=timeline,
                  incident_count=len(incidents), agencies=agencies,
                  working=[agencies.get(a, "?") for a in case.get("agencies", [])], referral_kinds=REFERRAL_KINDS,
                  errors=errors or {}, typed=typed or {}, flash=flash, title=f"Case {case['ref']}: {case['title']}",
                  status=status)


def _timeline(case, actions, incidents, referrals, agencies) -> list[dict]:
    """Newest first: incidents by month, referrals and their answers, actions, the opening."""
    items = [{"on": case["opened_on"], "what": f"Case opened; owner {case['owner']['name']}"}]
    months: dict = {}
    for i in incidents:
        m = i["month"]
        months.setdefault(m, {"n": 0, "sim": 0})
        months[m]["n"] += 1
        months[m]["sim"] += i["source"] == "simulated"
    for m, v in months.items():
        items.append({"on": m, "label": f"{m:%b %Y}", "what": f"{v['n']} incident{'s' * (v['n'] != 1)} linked",
                      "simulated": v["sim"] > 0})
    for r in referrals:
        items.append({"on": r["created_at"].date(), "what": f"Referral R{r['id']} ({r['kind'].replace('_', ' ')}) "
                      f"from {agencies.get(r['from_agency_id'])} to {agencies.get(r['to_agency_id'])}: {r['reason']}"})
        if r["responded_at"]:
            extra = f": {r['decline_reason']}" if r["decline_reason"] else ""
            items.append({"on": r["responded_at"].date(), "what": f"Referral R{r['id']} {r['status']}{extra}"})
    for a in actions:
        due = f", due {a['due_on']:%d %b %Y}" if a["due_on"] else ""
        items.append({"on": a["due_on"] or case["opened_on"], "what": f"Action: {a['title']} ({a['status']}{due})",
                      "overdue": a["overdue"]})
    return sorted(items, key=lambda x: x["on"], reverse=True)


@router.get("/cases")
def cases_list(request: Request, db: DB, q: str = "", status: str = "open", kind: str = "", risk: str = ""):
    user, purpose, ask = with_purpose(request, db)
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
        try:
            c = services.create_case(db, user, kind=kind, title=title.strip(), summary=summary.strip() or None,
                                     risk_level=risk, review_on=review)
            db.commit()
            return redirect(f"/web/cases/{c['id']}")
        except HubError as exc:
            db.rollback()
            errors["form"] = str(exc)
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
def case_page(case_id: Id, request: Request, db: DB):
    user, purpose, ask = with_purpose(request, db)
    if ask:
        return ask
    return _case_page(request, db, user, purpose, case_id)


@router.post("/cases/{case_id}/referrals")
def referral_create(case_id: Id, request: Request, db: DB, to_agency_id: FormIdText = "", kind: Text = "",
                    reason: Text = "", legal_gateway: Text = "", csrf_token: Text = ""):
    check_csrf(request, csrf_token)
    user, purpose, ask = with_purpose(request, db, next=f"/web/cases/{case_id}")
    if ask:
        return ask
    typed = {"to_agency_id": to_agency_id, "kind": kind, "reason": reason, "legal_gateway": legal_gateway}
    errors = text_errors(typed, multiline=("reason",))
    typed = {k: shown(v) for k, v in typed.items()}
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
        try:
            r = services.create_referral(db, user, case_id, to_agency_id=int(to_agency_id), kind=kind,
                                         reason=reason.strip(), legal_gateway=legal_gateway.strip()[:200])
            db.commit()
            return _case_page(request, db, user, purpose, case_id, flash=f"Referral R{r['id']} sent.")
        except HubError as exc:
            db.rollback()
            errors["form"] = str(exc)
    return _case_page(request, db, user, purpose, case_id, status=400, errors=errors, typed=typed)


@router.post("/cases/{case_id}/actions")
def action_create(case_id: Id, request: Request, db: DB, title: Text = "", due_on: Text = "",
                  csrf_token: Text = ""):
    check_csrf(request, csrf_token)
    user, purpose, ask = with_purpose(request, db, next=f"/web/cases/{case_id}")
    if ask:
        return ask
    errors = text_errors({"title": title, "due_on": due_on})
    due = None if "due_on" in errors else _date(due_on, "due_on", errors)
    if not title.strip():
        errors.setdefault("title", "Say what needs doing.")
    if not errors:
        try:
            services.create_action(db, user, case_id, title=title.strip()[:300], due_on=due)
            db.commit()
            return _case_page(request, db, user, purpose, case_id, flash="Action added.")
        except HubError as exc:
            db.rollback()
            errors["form"] = str(exc)
    return _case_page(request, db, user, purpose, case_id, status=400, errors=errors,
                      typed={"title": shown(title), "due_on": shown(due_on)})


@router.get("/referrals")
def referrals_page(request: Request, db: DB, flash: str = ""):
    user, purpose, ask = with_purpose(request, db)
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
    user, purpose, ask = with_purpose(request, db, next="/web/referrals")
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
