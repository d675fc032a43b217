"""Cases: open, list, read (in full or as a locked stub), edit, share with agencies and members."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from sqlalchemy import String, Text, bindparam, cast, func, literal_column, null, select, union_all
from sqlalchemy import case as sql_case
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import (
    VIEWER_ID,
    Level,
    case_for,
    case_row,
    location_for,
    prepared_clauses,
    require_case_role,
    require_role,
    viewer_params,
)
from saferhub.hub.errors import Forbidden, HubError, NotFound
from saferhub.hub.models import Action, Agency, Case, CaseAgency, CaseMember, CasePerson, Person, User, utcnow
from saferhub.hub.services.common import case_ref, set_fields, stub_of, versioned, write_log


def case_dict(case: Case, agencies: list[int] | None = None) -> dict:
    return _case_out(case, case.lead_agency.name, case.owner.name, agencies)


def _case_out(c, agency_name: str, owner_name: str, agencies: list[int] | None) -> dict:
    """A case in full, from an ORM Case or a row of `CASE_ROW` (the same attribute names)."""
    d = {
        "id": c.id, "ref": case_ref(c.id), "access": "full", "kind": c.kind,
        "title": c.title, "summary": c.summary,
        "lead_agency": {"id": c.lead_agency_id, "name": agency_name},
        "owner": {"id": c.owner_id, "name": owner_name},
        "risk": c.risk, "status": c.status, "locked": c.locked,
        "location_id": c.location_id,
        "opened_on": c.opened_on, "review_on": c.review_on, "closed_on": c.closed_on,
        "version": c.version,
    }
    if agencies is not None:
        d["agencies"] = agencies
    return d


# The hot reads (issue 22) select columns, not ORM objects: no identity map to fill, the statement
# compiled once and cached by SQLAlchemy, and prepared by psycopg on the server after a few runs.
# The access conditions are part of the same statement (`access.prepared_clauses`: the rules of
# `full_clause` / `listed_clause` over bind parameters), and each statement is built once.
CASE_ROW = (select(Case.id, Case.kind, Case.title, Case.summary, Case.lead_agency_id,
                   Agency.name.label("agency_name"), Case.owner_id, User.name.label("owner_name"),
                   User.email.label("owner_email"), Case.risk, Case.status, Case.locked, Case.location_id,
                   Case.opened_on, Case.review_on, Case.closed_on, Case.version)
            .join(Agency, Agency.id == Case.lead_agency_id).join(User, User.id == Case.owner_id))
OPEN_ACTIONS = (select(func.count()).select_from(Action)
                .where(Action.case_id == Case.id, Action.status == "open").scalar_subquery())
CASE_PAGE_ROW = CASE_ROW.add_columns(OPEN_ACTIONS.label("open_actions"))
LINKED = union_all(  # a case's agencies and people, for the case page
    select(literal_column("'agency'").label("what"), CaseAgency.agency_id.label("id"), null().label("given"),
           null().label("family")).where(CaseAgency.case_id == bindparam("case_id")),
    select(CasePerson.role, Person.id, Person.given_name, Person.family_name)
    .join(Person, Person.id == CasePerson.person_id).where(CasePerson.case_id == bindparam("case_id")),
).order_by("what", "id")


@lru_cache(maxsize=None)
def _list_statement(role: str, status: bool, kind: bool, mine: bool):
    """The case list for a role and the filters used, built once: values are bind parameters
    (`access.viewer_params`, status, kind, limit, offset)."""
    full, listed = prepared_clauses(role)
    q = CASE_ROW.add_columns(full.label("full_access")).where(listed)
    if status:
        q = q.where(Case.status == bindparam("status"))
    if kind:
        q = q.where(Case.kind == bindparam("kind"))
    if mine:
        q = q.where(Case.owner_id == VIEWER_ID)
    return q.order_by(Case.id.desc()).limit(bindparam("limit")).offset(bindparam("offset"))


def _row_dict(r, agencies: list[int] | None = None) -> dict:
    return _case_out(r, r.agency_name, r.owner_name, agencies)


def _row_stub(r) -> dict:
    return stub_of(r.id, r.owner_name, r.owner_email, r.agency_name)


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
    q = _list_statement(user.role, bool(status), bool(kind), bool(mine))
    rows = db.connection().execute(q, viewer_params(user) | {"status": status, "kind": kind, "limit": limit,
                                                             "offset": offset}).all()
    audit.disclose(db, user, purpose, "case", [r.id for r in rows if r.full_access], {"list": True})
    audit.disclose_stubs(db, user, purpose, [r.id for r in rows if not r.full_access], {"list": True})
    return [_row_dict(r) if r.full_access else _row_stub(r) for r in rows]


def list_cases_json(db: Session, user: User, purpose: str | None, *, status: str | None = None,
                    kind: str | None = None, mine: bool = False, limit: int = 50, offset: int = 0) -> bytes | list[dict]:
    """`list_cases` as the API sends it. On PostgreSQL the database writes the JSON (the same
    statement, access conditions and order, each row built by `json_build_object` in the shape of
    `_row_dict` / `_row_stub`) and returns it as one text with the ids read in full and as stubs,
    so no row becomes a Python object (issue 22: building the 50 dicts, then validating and
    serialising them, was about half of a list request's CPU). Elsewhere: the rows, as from
    `list_cases`. The same audit records either way."""
    if db.get_bind().dialect.name != "postgresql":
        return list_cases(db, user, purpose, status=status, kind=kind, mine=mine, limit=limit, offset=offset)
    require_case_role(user)
    purpose = audit.check_purpose(purpose)
    q = _list_json_statement(user.role, bool(status), bool(kind), bool(mine))
    doc, full, stubs = db.connection().execute(q, viewer_params(user) | {
        "status": status, "kind": kind, "limit": limit, "offset": offset}).one()
    audit.disclose(db, user, purpose, "case", full or [], {"list": True})
    audit.disclose_stubs(db, user, purpose, stubs or [], {"list": True})
    return doc.encode()


def _ref_sql(case_id):
    """`case_ref` in SQL: HUB- and the id, zero-padded to six digits (longer ids in full)."""
    text_id = cast(case_id, String)
    return "HUB-" + sql_case((case_id < 1_000_000, func.lpad(text_id, 6, "0")), else_=text_id)


@lru_cache(maxsize=None)
def _list_json_statement(role: str, status: bool, kind: bool, mine: bool):
    r = _list_statement(role, status, kind, mine).subquery()
    ref = _ref_sql(r.c.id)
    full = func.json_build_object(
        "id", r.c.id, "ref", ref, "access", "full", "kind", r.c.kind, "title", r.c.title, "summary", r.c.summary,
        "lead_agency", func.json_build_object("id", r.c.lead_agency_id, "name", r.c.agency_name),
        "owner", func.json_build_object("id", r.c.owner_id, "name", r.c.owner_name),
        "risk", r.c.risk, "status", r.c.status, "locked", r.c.locked, "location_id", r.c.location_id,
        "opened_on", r.c.opened_on, "review_on", r.c.review_on, "closed_on", r.c.closed_on,
        "version", r.c.version, "agencies", null())
    stub = func.json_build_object(
        "id", r.c.id, "ref", ref, "access", "stub", "locked", True,
        "contact", func.json_build_object("name", r.c.owner_name, "agency", r.c.agency_name, "email", r.c.owner_email))
    item = sql_case((r.c.full_access, full), else_=stub)  # NULL: a stub, as in list_cases
    return select(
        cast(func.coalesce(func.json_agg(aggregate_order_by(item, r.c.id.desc())), literal_column("'[]'::json")), Text),
        func.array_agg(r.c.id).filter(r.c.full_access),
        func.array_agg(r.c.id).filter(r.c.full_access.is_not(True)))


def get_case(db: Session, user: User, case_id: int, purpose: str | None) -> dict:
    """Two statements: the case with its access level and open actions, then its agencies and
    people together (read only when the case is read in full)."""
    purpose = audit.check_purpose(purpose)
    row, level = case_row(db, user, case_id, CASE_PAGE_ROW, Level.STUB)
    if level is Level.STUB:
        audit.disclose_stubs(db, user, purpose, [row.id])
        return _row_stub(row)
    linked = db.connection().execute(LINKED, {"case_id": row.id}).all()
    d = _row_dict(row, [r.id for r in linked if r.what == "agency"])
    d["people"] = {r: [] for r in ("victim", "witness", "suspect", "offender", "subject")}
    people = [r for r in linked if r.what != "agency"]
    for role, pid, given, family in people:
        d["people"][role].append({"id": pid, "name": f"{given} {family}"})
    d["open_actions"] = row.open_actions
    audit.disclose(db, user, purpose, "case", [row.id],
                   {"people": sorted({p.id for p in people})} if people else None)
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
