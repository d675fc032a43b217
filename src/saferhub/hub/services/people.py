"""People on cases (victims, witnesses, suspects, offenders, subjects) and notes about them,
marked fact or opinion. A person is visible through the cases the user reads in full."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import case_for, full_clause, require_case_role
from saferhub.hub.errors import HubError, NotFound
from saferhub.hub.models import Case, CasePerson, Person, PersonNote, User
from saferhub.hub.services.common import aware, write_log


def known_or_new_person(db: Session, user: User, person_id: int | None, given_name: str | None,
                        family_name: str | None, date_of_birth: dt.date | None) -> Person:
    """Someone already in the hub (the user needs sight of them first), or a new person."""
    if person_id is not None:
        person_case_ids(db, user, person_id)  # raises unless the user may see them
        return db.get(Person, person_id)
    if not (given_name and family_name):
        raise HubError("give person_id, or given_name and family_name for a new person")
    person = Person(given_name=given_name, family_name=family_name, date_of_birth=date_of_birth,
                    created_by_agency_id=user.agency_id)
    db.add(person)
    db.flush()
    return person


def add_person_to_case(db: Session, user: User, case_id: int, role: str, *, person_id: int | None = None,
                       given_name: str | None = None, family_name: str | None = None,
                       date_of_birth: dt.date | None = None) -> dict:
    case, _ = case_for(db, user, case_id)
    person = known_or_new_person(db, user, person_id, given_name, family_name, date_of_birth)
    exists_ = db.scalar(select(CasePerson.id).where(CasePerson.case_id == case.id,
                        CasePerson.person_id == person.id, CasePerson.role == role))
    if exists_ is None:
        db.add(CasePerson(case_id=case.id, person_id=person.id, role=role))
    write_log(db, user, "create", "case_person", [person.id], None, {"case_id": case.id, "role": role})
    return {"case_id": case.id, "person_id": person.id, "role": role}


def person_case_ids(db: Session, user: User, person_id: int) -> list[int]:
    """Ids of cases through which `user` may see the person (none: 404, existence not revealed)."""
    require_case_role(user, "person records")
    ids = list(db.scalars(
        select(CasePerson.case_id).join(Case, Case.id == CasePerson.case_id)
        .where(CasePerson.person_id == person_id, full_clause(user))
    ))
    if not ids:
        raise NotFound(f"no person {person_id}")
    return ids


def require_person_on_case(db: Session, case_id: int, person_id: int | None) -> None:
    if person_id is not None and db.scalar(select(CasePerson.id).where(
            CasePerson.case_id == case_id, CasePerson.person_id == person_id).limit(1)) is None:
        raise NotFound(f"person {person_id} is not on case {case_id}")


def _note(n: PersonNote) -> dict:
    return {"id": n.id, "case_id": n.case_id, "text": n.text, "author_id": n.author_id, "at": aware(n.at)}


def get_person(db: Session, user: User, person_id: int, purpose: str | None) -> dict:
    purpose = audit.check_purpose(purpose)
    case_ids = person_case_ids(db, user, person_id)
    p = db.get(Person, person_id)
    roles = db.execute(select(CasePerson.case_id, CasePerson.role).where(
        CasePerson.person_id == person_id, CasePerson.case_id.in_(case_ids)).order_by(CasePerson.case_id)).all()
    notes = db.scalars(select(PersonNote).where(PersonNote.person_id == person_id,
                       PersonNote.case_id.in_(case_ids)).order_by(PersonNote.at)).all()
    audit.disclose(db, user, purpose, "person", [person_id], {"via_cases": case_ids})
    return {
        "id": p.id, "given_name": p.given_name, "family_name": p.family_name,
        "date_of_birth": p.date_of_birth,
        "roles": [{"case_id": c, "role": r} for c, r in roles],
        "facts": [_note(n) for n in notes if n.kind == "fact"],
        "opinions": [_note(n) for n in notes if n.kind == "opinion"],
    }


def add_note(db: Session, user: User, case_id: int, person_id: int, kind: str, text: str) -> dict:
    case, _ = case_for(db, user, case_id)
    require_person_on_case(db, case.id, person_id)
    n = PersonNote(person_id=person_id, case_id=case.id, kind=kind, text=text, author_id=user.id)
    db.add(n)
    db.flush()
    write_log(db, user, "create", "person_note", [person_id], None, {"case_id": case.id, "kind": kind})
    return _note(n) | {"kind": kind}
