"""The case page's people, notes and who did what (issue 20): read for whoever reads the case in
full (`access.child_of_case`), logged with the purpose like every other read. The JSON API writes
notes with POST /cases/{id}/notes; this is the page's read of them, in time order."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import child_of_case
from saferhub.hub.models import Agency, CasePerson, Person, PersonNote, Referral, User
from saferhub.hub.services.common import aware


def case_people_notes(db: Session, user: User, case_id: int, purpose: str | None) -> dict:
    """{"people": [{id, name, role}], "notes": [{id, person_id, person, kind, text, at, author}],
    "senders": {referral id: "Name (Agency)"}} for a case the user reads in full (404 otherwise)."""
    purpose = audit.check_purpose(purpose)
    case = child_of_case(db, user, case_id, f"case {case_id}")
    people = db.execute(select(Person.id, Person.given_name, Person.family_name, CasePerson.role)
                        .join(CasePerson, CasePerson.person_id == Person.id)
                        .where(CasePerson.case_id == case.id).order_by(Person.family_name, Person.id)).all()
    notes = db.scalars(select(PersonNote).where(PersonNote.case_id == case.id).order_by(PersonNote.at)).all()
    sent = db.execute(select(Referral.id, Referral.created_by).where(Referral.case_id == case.id)).all()
    ids = {n.author_id for n in notes} | {u for _, u in sent}
    names = {uid: f"{name} ({agency})" for uid, name, agency in db.execute(
        select(User.id, User.name, Agency.name).join(Agency, Agency.id == User.agency_id).where(User.id.in_(ids)))}
    who = {pid: f"{g} {f}" for pid, g, f, _ in people}
    audit.disclose(db, user, purpose, "person", sorted(who), {"case_id": case.id, "page": "case"})
    return {"people": [{"id": pid, "name": f"{g} {f}", "role": role} for pid, g, f, role in people],
            "notes": [{"id": n.id, "person_id": n.person_id, "person": who.get(n.person_id, "someone"),
                       "kind": n.kind, "text": n.text, "at": aware(n.at), "author": names.get(n.author_id, "unknown")}
                      for n in notes],
            "senders": {rid: names.get(uid, "unknown") for rid, uid in sent}}


def opens_case_records(user: User) -> bool:
    """Does this user's role open case records at all (cases, referrals)? Pages ask before asking
    for a purpose, so an analyst or administrator is told no at once, not after stating one."""
    from saferhub.hub.access import can_read_cases

    return can_read_cases(user)
