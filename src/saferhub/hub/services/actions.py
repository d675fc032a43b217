"""Actions on cases: who does what by when; the overdue list across the cases a user reads."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import case_for, child_of_case, full_clause, require_case_role
from saferhub.hub.errors import HubError, NotFound
from saferhub.hub.models import Action, Case, CaseAgency, User, utcnow
from saferhub.hub.services.common import aware, created, set_fields, versioned, write_log


def action_dict(a: Action, today: dt.date | None = None) -> dict:
    today = today or utcnow().date()
    return {"id": a.id, "case_id": a.case_id, "title": a.title, "assignee_id": a.assignee_id,
            "due_on": a.due_on, "status": a.status, "outcome": a.outcome, "version": a.version,
            "completed_at": a.completed_at, "created_at": aware(a.created_at),
            "overdue": a.status == "open" and a.due_on is not None and a.due_on < today}


def create_action(db: Session, user: User, case_id: int, *, title: str, assignee_id: int | None = None,
                  due_on: dt.date | None = None) -> dict:
    case, _ = case_for(db, user, case_id)
    if assignee_id is not None:
        a_user = db.get(User, assignee_id)
        if a_user is None:
            raise NotFound(f"no user {assignee_id}")
        if db.get(CaseAgency, (case.id, a_user.agency_id)) is None:
            raise HubError("the assignee's agency does not work this case; share it or refer first")
    a = Action(case_id=case.id, title=title, assignee_id=assignee_id, due_on=due_on)
    created(db, user, a, "action", {"case_id": case.id})
    return action_dict(a)


def list_actions(db: Session, user: User, case_id: int, purpose: str | None) -> list[dict]:
    purpose = audit.check_purpose(purpose)
    case, _ = case_for(db, user, case_id)
    rows = db.scalars(select(Action).where(Action.case_id == case.id).order_by(Action.id)).all()
    audit.disclose(db, user, purpose, "action", [a.id for a in rows], {"case_id": case.id})
    return [action_dict(a) for a in rows]


def update_action(db: Session, user: User, action_id: int, version: int, changes: dict) -> dict:
    a = db.get(Action, action_id)
    if a is None:
        raise NotFound(f"no action {action_id}")
    child_of_case(db, user, a.case_id, f"action {action_id}")
    with versioned(db, a, version, f"action {action_id}"):
        set_fields(a, changes, ("title", "status", "outcome", "due_on"), required=("title", "status"))
        if changes.get("status") == "done":
            a.completed_at = utcnow()
    write_log(db, user, "update", "action", [a.id], None, {"fields": sorted(changes)})
    return action_dict(a)


def overdue_actions(db: Session, user: User, purpose: str | None, today: dt.date | None = None) -> list[dict]:
    """Open actions past their due date on cases the user sees in full."""
    require_case_role(user)
    purpose = audit.check_purpose(purpose)
    today = today or utcnow().date()
    rows = db.scalars(
        select(Action).join(Case, Case.id == Action.case_id)
        .where(Action.status == "open", Action.due_on < today, full_clause(user))
        .order_by(Action.due_on).limit(500)
    ).all()
    audit.disclose(db, user, purpose, "action", [a.id for a in rows], {"overdue": True})
    return [action_dict(a, today) for a in rows]
