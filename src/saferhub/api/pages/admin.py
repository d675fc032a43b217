"""Problem-solving plans, browsable reports, and the administrators' pages (audit trail, users)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse

from saferhub.api.deps import DB, Id, QueryId
from saferhub.api.pages.common import (check_csrf, page_user, redirect, render, session_purpose, shown, text_errors,
                                       with_purpose)
from saferhub.hub import services
from saferhub.hub.errors import HubError

router = APIRouter(prefix="/web", include_in_schema=False)
AUDIT_PAGE = services.trail.PAGE


@router.get("/plans")
def plans_list(request: Request, db: DB):
    user, purpose, ask = with_purpose(request, db)
    if ask:
        return ask
    try:
        plans = services.list_plans(db, user, purpose)
    except HubError as exc:
        return render(request, "message.html", user=user, title="Plans", message=str(exc), status=exc.status)
    db.commit()
    return render(request, "plans.html", user=user, plans=plans,
                  title="Problem-solving plans")


@router.get("/plans/{plan_id}")
def plan_page(plan_id: Id, request: Request, db: DB, done: str = ""):
    user, purpose, ask = with_purpose(request, db)
    if ask:
        return ask
    return _plan_page(request, db, user, purpose, plan_id, flash={"published": "Published on the public pages.",
                      "withdrawn": "Withdrawn from the public pages."}.get(done))


def _plan_page(request: Request, db, user, purpose, plan_id: int, *, status: int = 200, errors=None, typed=None,
               flash=None):
    try:
        plan = services.get_plan(db, user, plan_id, purpose)
        public = services.public_summary(db, user, plan_id)
    except HubError as exc:
        db.rollback()
        return render(request, "message.html", user=user, title="Plan not available", message=str(exc),
                      status=exc.status)
    db.commit()
    return render(request, "plan.html", user=user, plan=plan, public=public, publishes=services.may_publish(user),
                  errors=errors or {}, typed=typed or {}, flash=flash, status=status,
                  title=f"Plan {plan['id']}: {plan['title']}")


PublicText = Annotated[str, Form(max_length=4000)]
PUBLIC_LIMITS = {"title": 200, "done": 1000, "outcome": 1000}


@router.post("/plans/{plan_id}/public")
def plan_publish(plan_id: Id, request: Request, db: DB, version: PublicText = "", public: PublicText = "",
                 title: PublicText = "", done: PublicText = "", outcome: PublicText = "", csrf_token: PublicText = ""):
    """Publish (or withdraw) the plan's "you said, we did" summary: the API's PUT /plans/{id}/public."""
    check_csrf(request, csrf_token)
    user, purpose, ask = with_purpose(request, db, next=f"/web/plans/{plan_id}")
    if ask:
        return ask
    typed = {"title": title, "done": done, "outcome": outcome}
    errors = text_errors(typed, multiline=("done", "outcome"))
    typed = {k: shown(v) for k, v in typed.items()}
    for name, limit in PUBLIC_LIMITS.items():
        if len(typed[name]) > limit:
            errors.setdefault(name, f"This is {len(typed[name]):,} characters long; the limit is {limit:,}.")
    if public not in ("yes", "no"):
        errors["form"] = "Choose publish or withdraw."
    if not (version.isascii() and version.isdigit() and 0 < int(version) < 2**31):
        errors["form"] = "This form is out of date: open the plan again."
    if public == "yes":
        for name, what in (("title", "a public title"), ("done", "what was done"), ("outcome", "the outcome")):
            if not typed[name].strip():
                errors.setdefault(name, f"Give {what}: the public pages show it.")
    status = 400
    if not errors:
        try:
            services.set_plan_public(db, user, plan_id, int(version), public == "yes", title, done, outcome)
            db.commit()
            return redirect(f"/web/plans/{plan_id}?done={'published' if public == 'yes' else 'withdrawn'}#publish")
        except HubError as exc:
            db.rollback()
            if exc.status in (403, 404):  # not theirs to publish: said plainly, nothing read again
                return render(request, "message.html", user=user, title="Plan not published", status=exc.status,
                              message=str(exc) if exc.status == 403 else f"There is no plan {plan_id} you can open.")
            errors["form"], status = str(exc), exc.status
    return _plan_page(request, db, user, purpose, plan_id, errors=errors, typed=typed, status=status)


def _roots() -> dict[str, Path]:
    """The folders reports are served from, by the label shown in their address."""
    from saferhub.config import settings

    return {"out": settings().out, "evaluations": settings().store_path / "evaluations"}


@router.get("/reports")
def reports_list(request: Request, db: DB):
    user = page_user(request, db)
    return render(request, "reports.html", user=user, reports=services.reports.list_reports(user, _roots()),
                  title="Reports")


@router.get("/reports/{base}/{name:path}")
def report_file(base: str, name: str, request: Request, db: DB):
    """One report, as written by its job, if `access.may_open_report` allows it; the open is logged."""
    user = page_user(request, db)
    try:
        file = services.reports.open_report(db, user, _roots(), base, name, session_purpose(request))
    except HubError:
        db.rollback()
        raise HTTPException(404, "no such report") from None
    db.commit()
    return FileResponse(file)


@router.get("/admin/audit")
def audit_page(request: Request, db: DB, before: QueryId = None, entity: str = ""):
    user = page_user(request, db)
    try:
        rows = services.trail.audit_trail(db, user, before=before, entity=entity)
    except HubError as exc:
        return render(request, "message.html", user=user, title="Audit trail", status=exc.status,
                      message="Only administrators see the audit trail." if exc.status == 403 else str(exc))
    names = {u["id"]: u["name"] for u in services.list_users(db, user)}  # logged: staff records
    records = services.trail.record_names(db, user, rows)
    db.commit()
    return render(request, "audit.html", user=user, rows=rows, names=names, entity=entity, records=records,
                  older=rows[-1].seq if len(rows) == AUDIT_PAGE else None, title="Audit trail")


@router.get("/admin/users")
def users_page(request: Request, db: DB, saved: int = 0):
    user = page_user(request, db)
    try:
        users = services.list_users(db, user)
    except HubError as exc:
        return render(request, "message.html", user=user, title="Users", status=exc.status,
                      message="Only administrators manage users." if exc.status == 403 else str(exc))
    db.commit()
    return render(request, "users.html", user=user, users=users, title="Users", flash="User updated." if saved else None)


@router.post("/admin/users/{user_id}")
def user_toggle(user_id: Id, request: Request, db: DB, active: Annotated[str, Form(max_length=5)] = "",
                csrf_token: Annotated[str, Form(max_length=500)] = "",
                confirm: Annotated[str, Form(max_length=5)] = ""):
    """Reactivate at once; deactivate only after a confirmation page (a second form, no script)."""
    check_csrf(request, csrf_token)
    user = page_user(request, db)
    if active != "true" and confirm != "yes":
        try:
            target = next((u for u in services.list_users(db, user) if u["id"] == user_id), None)
        except HubError as exc:
            db.rollback()
            return render(request, "message.html", user=user, title="Users", message=str(exc), status=exc.status)
        db.commit()
        if target is None:
            return render(request, "message.html", user=user, title="Users", message=f"There is no user {user_id}.",
                          status=404)
        return render(request, "user_confirm.html", user=user, target=target, title=f"Deactivate {target['name']}?")
    try:
        services.update_user(db, user, user_id, {"active": active == "true"})
        db.commit()
    except HubError as exc:
        db.rollback()
        return render(request, "message.html", user=user, title="Users", message=str(exc), status=exc.status)
    return redirect("/web/admin/users?saved=1")
