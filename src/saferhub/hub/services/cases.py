"""Cases: open, list, read (in full or as a locked stub), edit, share with agencies and members."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import (
    Level,
    case_for,
    full_clause,
    listed_clause,
    location_for,
    require_case_role,
    require_role,
)
from saferhub.hub.errors import Forbidden, HubError, NotFound
from saferhub.hub.models import Action, Agency, Case, CaseAgency, CaseMember, CasePerson, Person, User, utcnow
from saferhub.hub.services.common import case_ref, set_fields, stub, versioned, write_log


def case_dict(case: Case, agencies: list[int] | None = None) -> dict:
    d = {
        "id": case.id, "ref": case_ref(case.id), "access": "full", "kind": case.kind,
        "title": case.title, "summary": case.summary,
        "lead_agency": {"id": case.lead_agency_id, "name": case.lead_agency.name},
        "owner": {"id": case.owner_id, "name": case.owner.name},
        "risk": case.risk, "status": case.status, "locked": case.locked,
        "location_id": case.location_id,
        "opened_on": case.opened_on, "review_on": case.review_on, "closed_on": case.closed_on,
        "version": case.version,
    }
    if agencies is not None:
        d["agencies"] = agencies
    return d


def create_case(db: Session, user: User, *, kind: str, title: str, summary: str | None = None,
                risk_level: str = "standard", locked: bool = False, review_on: dt.date | None = None,
                owner_id: int | None = None, location_id: int | None = None) -> dict:
    require_role(user, "coordinator", "caseworker")
    if location_id is not None:
        location_for(db, user, location_id)  # placing a case somewhere needs sight of the place
    owner = user
    if owner_id is not None and owner_id != user.id:
        owner = db.get(User, owner_id)
        if owner is None or owner.agency_id != user.agency_id or owner.role not in ("coordinator", "caseworker"):
            raise HubError("the owner must be a caseworker or coordinator in your agency")
    case = Case(kind=kind, title=title, summary=summary, lead_agency_id=user.agency_id, owner_id=owner.id,
                risk=risk_level, locked=locked, review_on=review_on, location_id=location_id)
    db.add(case)
    db.flush()
    db.add(CaseAgency(case_id=case.id, agency_id=user.agency_id))
    db.add(CaseMember(case_id=case.id, user_id=owner.id))
    if owner.id != user.id:
        db.add(CaseMember(case_id=case.id, user_id=user.id))
    write_log(db, user, "create", "case", [case.id], None, {"kind": kind, "locked": locked})
    db.flush()
    db.refresh(case)
    return case_dict(case, [user.agency_id])


def list_cases(db: Session, user: User, purpose: str | None, *, status: str | None = None,
               kind: str | None = None, mine: bool = False, limit: int = 50, offset: int = 0) -> list[dict]:
    require_case_role(user)
    purpose = audit.check_purpose(purpose)
    q = select(Case, full_clause(user).label("full")).where(listed_clause(user))
    if status:
        q = q.where(Case.status == status)
    if kind:
        q = q.where(Case.kind == kind)
    if mine:
        q = q.where(Case.owner_id == user.id)
    rows = db.execute(q.order_by(Case.id.desc()).limit(limit).offset(offset)).all()
    out = [case_dict(c) if full else stub(c) for c, full in rows]
    audit.disclose(db, user, purpose, "case", [c.id for c, full in rows if full], {"list": True})
    audit.disclose_stubs(db, user, purpose, [c.id for c, full in rows if not full], {"list": True})
    return out


def get_case(db: Session, user: User, case_id: int, purpose: str | None) -> dict:
    purpose = audit.check_purpose(purpose)
    case, level = case_for(db, user, case_id, Level.STUB)
    if level is Level.STUB:
        audit.disclose_stubs(db, user, purpose, [case.id])
        return stub(case)
    agencies = list(db.scalars(select(CaseAgency.agency_id).where(CaseAgency.case_id == case.id)))
    people = db.execute(
        select(CasePerson.role, Person.id, Person.given_name, Person.family_name)
        .join(Person, Person.id == CasePerson.person_id).where(CasePerson.case_id == case.id)
        .order_by(CasePerson.role, Person.id)
    ).all()
    d = case_dict(case, agencies)
    d["people"] = {r: [] for r in ("victim", "witness", "suspect", "offender", "subject")}
    for role, pid, given, family in people:
        d["people"][role].append({"id": pid, "name": f"{given} {family}"})
    d["open_actions"] = db.scalar(select(func.count()).select_from(Action)
                                  .where(Action.case_id == case.id, Action.status == "open"))
    audit.disclose(db, user, purpose, "case", [case.id],
                   {"people": sorted({p[1] for p in people})} if people else None)
    return d


UPDATABLE = ("title", "summary", "risk", "status", "review_on", "locked", "kind")


def update_case(db: Session, user: User, case_id: int, version: int, changes: dict,
                purpose: str | None = None) -> dict:
    case, _ = case_for(db, user, case_id)
    if "locked" in changes and case.owner_id != user.id and user.role != "coordinator":
        raise Forbidden("only the case owner or a coordinator can lock or unlock a case")
    with versioned(db, case, version, f"case {case_ref(case_id)}"):
        set_fields(case, changes, UPDATABLE, required=("title", "risk", "status", "locked", "kind"))
        if changes.get("status") == "closed" and case.closed_on is None:
            case.closed_on = utcnow().date()
        if changes.get("status") == "open":
            case.closed_on = None
    write_log(db, user, "update", "case", [case.id], purpose, {"fields": sorted(changes)})
    return case_dict(case)


def add_case_agency(db: Session, user: User, case_id: int, agency_id: int) -> dict:
    case, _ = case_for(db, user, case_id)
    if db.get(Agency, agency_id) is None:
        raise NotFound(f"no agency {agency_id}")
    if db.get(CaseAgency, (case.id, agency_id)) is None:
        db.add(CaseAgency(case_id=case.id, agency_id=agency_id))
    write_log(db, user, "share", "case", [case.id], None, {"agency_id": agency_id})
    return {"case_id": case.id, "agency_id": agency_id}


def add_case_member(db: Session, user: User, case_id: int, member_id: int) -> dict:
    case, _ = case_for(db, user, case_id)
    if case.owner_id != user.id and user.role != "coordinator":
        raise Forbidden("only the case owner or a coordinator names members")
    member = db.get(User, member_id)
    if member is None or member.role not in ("coordinator", "caseworker"):
        raise NotFound(f"no caseworker or coordinator {member_id}")
    if db.get(CaseMember, (case.id, member_id)) is None:
        db.add(CaseMember(case_id=case.id, user_id=member_id))
    write_log(db, user, "share", "case", [case.id], None, {"member_id": member_id})
    return {"case_id": case.id, "user_id": member_id}
