"""Problem-solving plans, browsable reports, and the administrators' pages (audit trail, users)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse
from sqlalchemy import or_, select

from saferhub.api.deps import DB, Id, QueryId
from saferhub.api.pages.common import check_csrf, page_user, redirect, render, with_purpose
from saferhub.hub import audit, services
from saferhub.hub.access import can_read_cases, full_clause
from saferhub.hub.errors import HubError
from saferhub.hub.models import AuditEvent, Case, Plan

router = APIRouter(prefix="/web", include_in_schema=False)
REPORT_KINDS = (".html", ".pdf", ".png")
AUDIT_PAGE = 100


@router.get("/plans")
def plans_list(request: Request, db: DB):
    user, purpose, ask = with_purpose(request, db)
    if ask:
        return ask
    if not can_read_cases(user):
        return render(request, "message.html", user=user, title="Plans", status=403,
                      message=f"The {user.role} role has no access to problem-solving plans.")
    q = (select(Plan).outerjoin(Case, Case.id == Plan.case_id)
         .where(or_(Plan.case_id.is_(None), full_clause(user))).order_by(Plan.id.desc()).limit(200))
    plans = db.scalars(q).all()
    audit.disclose(db, user, purpose, "plan", [p.id for p in plans], {"list": True})
    db.commit()
    return render(request, "plans.html", user=user, plans=[services.plan_dict(p) for p in plans],
                  title="Problem-solving plans")


@router.get("/plans/{plan_id}")
def plan_page(plan_id: Id, request: Request, db: DB):
    user, purpose, ask = with_purpose(request, db)
    if ask:
        return ask
    try:
        plan = services.get_plan(db, user, plan_id, purpose)
    except HubError as exc:
        return render(request, "message.html", user=user, title="Plan not available", message=str(exc),
                      status=exc.status)
    db.commit()
    return render(request, "plan.html", user=user, plan=plan, title=f"Plan {plan['id']}: {plan['title']}")


def _out() -> Path:
    from saferhub.config import settings

    return settings().out.resolve()


def _reports() -> list[dict]:
    """Report files in the out folder (hotspot, forecast, patrol and evaluation reports)."""
    from saferhub.config import settings

    found = []
    for base in (_out(), settings().store_path / "evaluations"):
        if base.is_dir():
            for p in sorted(base.rglob("*")):
                if p.suffix in REPORT_KINDS and p.is_file() and not p.name.startswith("."):
                    found.append({"name": str(p.relative_to(base)), "base": "out" if base == _out() else "evaluations",
                                  "bytes": p.stat().st_size})
    return found


@router.get("/reports")
def reports_list(request: Request, db: DB):
    user = page_user(request, db)
    return render(request, "reports.html", user=user, reports=_reports(), out=_out(), title="Reports")


@router.get("/reports/{base}/{name:path}")
def report_file(base: str, name: str, request: Request, db: DB):
    """One report, as written by its job (reports hold aggregates, not personal data)."""
    from saferhub.config import settings

    page_user(request, db)
    root = {"out": _out(), "evaluations": (settings().store_path / "evaluations").resolve()}.get(base)
    if root is None:
        raise HTTPException(404, "no such report")
    file = (root / name).resolve()
    if not file.is_relative_to(root) or not file.is_file() or file.suffix not in REPORT_KINDS:
        raise HTTPException(404, "no such report")
    return FileResponse(file)


@router.get("/admin/audit")
def audit_page(request: Request, db: DB, before: QueryId = None, entity: str = ""):
    user = page_user(request, db)
    if user.role != "admin":
        return render(request, "message.html", user=user, title="Audit trail", status=403,
                      message="Only administrators see the audit trail.")
    q = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(AUDIT_PAGE)
    if before:
        q = q.where(AuditEvent.seq < before)
    if entity:
        q = q.where(AuditEvent.entity == entity)
    rows = db.scalars(q).all()
    names = {u["id"]: u["name"] for u in services.list_users(db, user)}  # logged: staff records
    db.commit()
    return render(request, "audit.html", user=user, rows=rows, names=names, entity=entity,
                  older=rows[-1].seq if len(rows) == AUDIT_PAGE else None, title="Audit trail")


@router.get("/admin/users")
def users_page(request: Request, db: DB, saved: int = 0):
    user = page_user(request, db)
    if user.role != "admin":
        return render(request, "message.html", user=user, title="Users", status=403,
                      message="Only administrators manage users.")
    users = services.list_users(db, user)
    db.commit()
    return render(request, "users.html", user=user, users=users, title="Users", flash="User updated." if saved else None)


@router.post("/admin/users/{user_id}")
def user_toggle(user_id: Id, request: Request, db: DB, active: Annotated[str, Form(max_length=5)] = "",
                csrf_token: Annotated[str, Form(max_length=500)] = ""):
    check_csrf(request, csrf_token)
    user = page_user(request, db)
    try:
        services.update_user(db, user, user_id, {"active": active == "true"})
        db.commit()
    except HubError as exc:
        db.rollback()
        return render(request, "message.html", user=user, title="Users", message=str(exc), status=exc.status)
    return redirect("/web/admin/users?saved=1")
