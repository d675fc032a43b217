"""What the hub does, once, for the API and the CLI: each function takes a session and the acting
user, checks need-to-know (`access`), logs personal-data reads and writes (`audit`), and returns
plain dicts. Callers commit."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saferhub.errors import SaferhubError
from saferhub.hub import asb, audit, risk
from saferhub.hub import rules as rules_mod
from saferhub.hub.access import Level, can_read_cases, full_clause, listed_clause
from saferhub.hub.errors import Conflict, Forbidden, HubError, NotFound, Unprocessable
from saferhub.hub.models import (
    Action,
    Agency,
    ApiToken,
    AsbPower,
    Case,
    CaseAgency,
    CaseIncident,
    CaseMember,
    CasePerson,
    CaseReviewApplication,
    Incident,
    Location,
    Person,
    PersonNote,
    Plan,
    Referral,
    RiskAssessment,
    RuleFlag,
    User,
    utcnow,
)
from saferhub.hub.security import check_password_strength, hash_password, normalise_email

# ------------------------------------------------------------------ helpers


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is not None and t.tzinfo is None:  # SQLite returns naive UTC
        return t.replace(tzinfo=dt.timezone.utc)
    return t


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}; you are {user.role}")


def _case_or_404(db: Session, case_id: int) -> Case:
    case = db.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


def case_for(db: Session, user: User, case_id: int, need: Level = Level.FULL) -> tuple[Case, Level]:
    """The case if `user` may see it at `need`; a case they cannot see at all is a 404."""
    if not can_read_cases(user):
        raise NotFound(f"no case {case_id}")
    # one round trip: the case and both access conditions
    row = db.execute(select(Case, full_clause(user), listed_clause(user)).where(Case.id == case_id)).first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    case, full, listed = row
    level = Level.FULL if full else Level.STUB if listed else Level.NONE
    if level is Level.NONE:
        raise NotFound(f"no case {case_id}")
    if need is Level.FULL and level is not Level.FULL:
        raise Forbidden(f"case {case.id} is locked; contact {case.owner.name} ({case.lead_agency.name})")
    return case, level


def case_ref(case_id: int) -> str:
    return f"HUB-{case_id:06d}"


def stub(case: Case) -> dict:
    return {"id": case.id, "ref": case_ref(case.id), "access": "stub", "locked": True,
            "contact": {"name": case.owner.name, "agency": case.lead_agency.name,
                        "email": case.owner.email}}


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


def write_log(db: Session, user: User, action: str, entity: str, ids, purpose: str | None,
              detail: dict | None = None) -> None:
    """Writes of personal data are logged like reads (purpose optional: the write is its own reason)."""
    audit.append(db, user=user, action=action, entity=entity, entity_ids=ids,
                 purpose=(purpose or "").strip()[:300] or f"{action} {entity}", detail=detail)


# ------------------------------------------------------------------ agencies and users


def create_agency(db: Session, user: User, code: str, name: str, kind: str, contact_email: str | None) -> dict:
    require_role(user, "admin")
    if db.scalar(select(Agency.id).where(Agency.code == code)) is not None:
        raise Conflict(f"an agency with code {code!r} exists")
    a = Agency(code=code, name=name, kind=kind, contact_email=contact_email)
    db.add(a)
    db.flush()
    write_log(db, user, "create", "agency", [a.id], None)
    return agency_dict(a)


def agency_dict(a: Agency) -> dict:
    return {"id": a.id, "code": a.code, "name": a.name, "kind": a.kind, "contact_email": a.contact_email}


def list_agencies(db: Session) -> list[dict]:
    return [agency_dict(a) for a in db.scalars(select(Agency).order_by(Agency.name))]


def add_user(db: Session, email: str, name: str, agency_id: int, role: str, password: str) -> User:
    """Create a user (no audit, no permission check: used by `hub init` and by `create_user`)."""
    problem = check_password_strength(password)
    if problem:
        raise HubError(problem)
    if db.get(Agency, agency_id) is None:
        raise NotFound(f"no agency {agency_id}")
    email = normalise_email(email)  # the one form sign-in looks up (security.normalise_email)
    if db.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(f"a user with e-mail {email} exists")
    u = User(email=email, name=name, agency_id=agency_id, role=role, password_hash=hash_password(password))
    db.add(u)
    db.flush()
    return u


def create_user(db: Session, actor: User, **kw) -> dict:
    require_role(actor, "admin")
    u = add_user(db, **kw)
    write_log(db, actor, "create", "user", [u.id], None, {"role": u.role, "agency_id": u.agency_id})
    return user_dict(u)


def user_dict(u: User) -> dict:
    return {"id": u.id, "email": u.email, "name": u.name, "agency_id": u.agency_id,
            "agency": u.agency.name if u.agency else None, "role": u.role, "active": u.active}


def update_user(db: Session, actor: User, user_id: int, changes: dict) -> dict:
    """Offboarding and moves: deactivating a user (or changing their role or agency) revokes their
    tokens at once, so access ends with the change, not when a token expires."""
    require_role(actor, "admin")
    u = db.get(User, user_id)
    if u is None:
        raise NotFound(f"no user {user_id}")
    if u.id == actor.id and (changes.get("active") is False or changes.get("role") not in (None, "admin")):
        raise Conflict("you cannot deactivate or demote yourself; ask another administrator")
    for k, v in changes.items():
        if v is None:
            continue
        if k == "agency_id" and db.get(Agency, v) is None:
            raise NotFound(f"no agency {v}")
        setattr(u, k, v)
    db.execute(delete(ApiToken).where(ApiToken.user_id == u.id))
    db.flush()
    db.refresh(u)
    write_log(db, actor, "update", "user", [u.id], None, {k: v for k, v in changes.items() if v is not None})
    return user_dict(u)


def list_users(db: Session, actor: User) -> list[dict]:
    """Staff records are personal data too: the read is logged."""
    require_role(actor, "admin")
    users = db.scalars(select(User).order_by(User.id)).all()
    audit.append(db, user=actor, action="read", entity="user", entity_ids=[u.id for u in users],
                 purpose="user administration")
    return [user_dict(u) for u in users]


# ------------------------------------------------------------------ cases


def create_case(db: Session, user: User, *, kind: str, title: str, summary: str | None = None,
                risk_level: str = "standard", locked: bool = False, review_on: dt.date | None = None,
                owner_id: int | None = None, location_id: int | None = None) -> dict:
    require_role(user, "coordinator", "caseworker")
    if location_id is not None and db.get(Location, location_id) is None:
        raise NotFound(f"no location {location_id}")
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
    if not can_read_cases(user):
        raise Forbidden(f"the {user.role} role has no access to case records")
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
    return out


def get_case(db: Session, user: User, case_id: int, purpose: str | None) -> dict:
    purpose = audit.check_purpose(purpose)
    case, level = case_for(db, user, case_id, Level.STUB)
    if level is Level.STUB:
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
    if case.version != version:
        raise Conflict(f"case {case_ref(case_id)} changed since you read it "
                       f"(version {version}, now {case.version}); reload and try again")
    for k, v in changes.items():
        if k not in UPDATABLE:
            raise HubError(f"{k} cannot be changed here")
        if v is None and k not in ("summary", "review_on"):
            raise HubError(f"{k} cannot be empty")
        if k == "locked" and case.owner_id != user.id and user.role != "coordinator":
            raise Forbidden("only the case owner or a coordinator can lock or unlock a case")
        setattr(case, k, v)
    if changes.get("status") == "closed" and case.closed_on is None:
        case.closed_on = utcnow().date()
    if changes.get("status") == "open":
        case.closed_on = None
    try:
        db.flush()
    except StaleDataError:
        db.rollback()
        raise Conflict(f"case {case_id} was changed by someone else just now; reload and try again") from None
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


# ------------------------------------------------------------------ locations and incidents


def location_dict(loc: Location) -> dict:
    return {"id": loc.id, "uprn": loc.uprn, "description": loc.description, "lon": loc.lon, "lat": loc.lat,
            "x": loc.x, "y": loc.y, "lsoa": loc.lsoa, "ward": loc.ward, "beat": loc.beat}


def create_location(db: Session, user: User, *, uprn=None, description=None, lon=None, lat=None, lsoa=None,
                    ward=None, beat=None) -> dict:
    require_role(user, "coordinator", "caseworker")
    if (lon is None) != (lat is None):
        raise HubError("give both lon and lat, or neither")
    if uprn is None and lon is None and not description:
        raise HubError("a location needs a UPRN, coordinates or a description")
    x = y = None
    if lon is not None:
        from saferhub.geo.project import to_bng

        bx, by = to_bng([lon], [lat])
        x, y = float(bx[0]), float(by[0])
    loc = Location(uprn=uprn, description=description, lon=lon, lat=lat, x=x, y=y, lsoa=lsoa, ward=ward, beat=beat)
    db.add(loc)
    db.flush()
    write_log(db, user, "create", "location", [loc.id], None)
    return location_dict(loc)


def get_location(db: Session, user: User, location_id: int) -> dict:
    """Places are shared reference data (an address alone is not a case); any case role may read."""
    require_role(user, "coordinator", "caseworker", "analyst")
    loc = db.get(Location, location_id)
    if loc is None:
        raise NotFound(f"no location {location_id}")
    return location_dict(loc)


def record_incidents(db: Session, user: User, items: list[dict]) -> dict:
    """Partner incidents (calls, reports) for the rules. Police.uk category names are normalised;
    other categories are kept as written. `month` defaults to the month of `occurred_at`."""
    require_role(user, "coordinator", "caseworker")
    from saferhub.categories import canonical

    rows = []
    for i, it in enumerate(items):
        occ = _aware(it.get("occurred_at"))
        month = it.get("month") or (occ.date() if occ is not None else None)
        if month is None:
            raise HubError(f"incident {i}: give occurred_at or month")
        if occ is not None and (occ.year, occ.month) != (month.year, month.month):
            raise HubError(f"incident {i}: occurred_at is not in the given month")
        rows.append(it | {"occurred_at": occ, "month": month.replace(day=1), "source": "incident",
                          "category": canonical(it["category"]) or it["category"], "agency_id": user.agency_id})
    ids = list(db.scalars(insert(Incident).returning(Incident.id), rows))
    write_log(db, user, "create", "incident", [min(ids), max(ids)], None, {"count": len(ids)})
    return {"recorded": len(ids), "first_id": min(ids), "last_id": max(ids)}


def link_incidents(db: Session, user: User, case_id: int, incident_ids: list[int]) -> dict:
    case, _ = case_for(db, user, case_id)
    ids = sorted(set(incident_ids))
    found = set(db.scalars(select(Incident.id).where(Incident.id.in_(ids))))
    if len(found) != len(ids):
        raise NotFound(f"no incidents {sorted(set(ids) - found)[:10]}")
    have = set(db.scalars(select(CaseIncident.incident_id).where(CaseIncident.case_id == case.id,
                                                                 CaseIncident.incident_id.in_(ids))))
    new = [i for i in ids if i not in have]
    if new:
        db.execute(insert(CaseIncident), [{"case_id": case.id, "incident_id": i} for i in new])
    write_log(db, user, "update", "case", [case.id], None, {"linked_incidents": len(new)})
    return {"case_id": case.id, "linked": len(new), "already_linked": len(have)}


def case_incidents(db: Session, user: User, case_id: int, purpose: str | None, limit: int = 500) -> list[dict]:
    purpose = audit.check_purpose(purpose)
    case, _ = case_for(db, user, case_id)
    rows = db.scalars(select(Incident).join(CaseIncident, CaseIncident.incident_id == Incident.id)
                      .where(CaseIncident.case_id == case.id).order_by(Incident.month.desc(), Incident.id)
                      .limit(limit)).all()
    audit.disclose(db, user, purpose, "incident", [i.id for i in rows], {"case_id": case.id})
    return [{"id": i.id, "event_id": i.event_id, "source": i.source, "month": i.month,
             "occurred_at": _aware(i.occurred_at), "category": i.category, "location": i.location_text,
             "lsoa": i.lsoa, "x": i.x, "y": i.y} for i in rows]


# ------------------------------------------------------------------ people


def add_person_to_case(db: Session, user: User, case_id: int, role: str, *, person_id: int | None = None,
                       given_name: str | None = None, family_name: str | None = None,
                       date_of_birth: dt.date | None = None) -> dict:
    case, _ = case_for(db, user, case_id)
    if person_id is not None:
        _person_visible(db, user, person_id)
        person = db.get(Person, person_id)
    else:
        if not (given_name and family_name):
            raise HubError("give person_id, or given_name and family_name for a new person")
        person = Person(given_name=given_name, family_name=family_name, date_of_birth=date_of_birth,
                        created_by_agency_id=user.agency_id)
        db.add(person)
        db.flush()
    exists_ = db.scalar(select(CasePerson.id).where(CasePerson.case_id == case.id,
                        CasePerson.person_id == person.id, CasePerson.role == role))
    if exists_ is None:
        db.add(CasePerson(case_id=case.id, person_id=person.id, role=role))
    write_log(db, user, "create", "case_person", [person.id], None, {"case_id": case.id, "role": role})
    return {"case_id": case.id, "person_id": person.id, "role": role}


def _person_visible(db: Session, user: User, person_id: int) -> list[int]:
    """Ids of cases through which `user` may see the person (none: 404, existence not revealed)."""
    if not can_read_cases(user):
        raise Forbidden(f"the {user.role} role has no access to person records")
    ids = list(db.scalars(
        select(CasePerson.case_id).join(Case, Case.id == CasePerson.case_id)
        .where(CasePerson.person_id == person_id, full_clause(user))
    ))
    if not ids:
        raise NotFound(f"no person {person_id}")
    return ids


def get_person(db: Session, user: User, person_id: int, purpose: str | None) -> dict:
    purpose = audit.check_purpose(purpose)
    case_ids = _person_visible(db, user, person_id)
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


def _note(n: PersonNote) -> dict:
    return {"id": n.id, "case_id": n.case_id, "text": n.text, "author_id": n.author_id, "at": _aware(n.at)}


def add_note(db: Session, user: User, case_id: int, person_id: int, kind: str, text: str) -> dict:
    case, _ = case_for(db, user, case_id)
    if db.scalar(select(CasePerson.id).where(CasePerson.case_id == case.id,
                                             CasePerson.person_id == person_id).limit(1)) is None:
        raise NotFound(f"person {person_id} is not on case {case_id}")
    n = PersonNote(person_id=person_id, case_id=case.id, kind=kind, text=text, author_id=user.id)
    db.add(n)
    db.flush()
    write_log(db, user, "create", "person_note", [person_id], None, {"case_id": case.id, "kind": kind})
    return _note(n) | {"kind": kind}


# ------------------------------------------------------------------ referrals


def referral_dict(r: Referral) -> dict:
    hours = None
    if r.responded_at is not None:
        hours = round((_aware(r.responded_at) - _aware(r.created_at)) / dt.timedelta(hours=1), 2)
    return {"id": r.id, "case_id": r.case_id, "case_ref": case_ref(r.case_id), "kind": r.kind,
            "from_agency_id": r.from_agency_id, "to_agency_id": r.to_agency_id, "reason": r.reason,
            "legal_gateway": r.legal_gateway, "status": r.status, "decline_reason": r.decline_reason,
            "created_at": _aware(r.created_at), "responded_at": _aware(r.responded_at),
            "hours_to_respond": hours}


def create_referral(db: Session, user: User, case_id: int, *, to_agency_id: int, kind: str, reason: str,
                    legal_gateway: str) -> dict:
    case, _ = case_for(db, user, case_id)
    if db.get(Agency, to_agency_id) is None:
        raise NotFound(f"no agency {to_agency_id}")
    if to_agency_id == user.agency_id:
        raise HubError("a referral goes to another agency")
    r = Referral(case_id=case.id, from_agency_id=user.agency_id, to_agency_id=to_agency_id, kind=kind,
                 reason=reason, legal_gateway=legal_gateway, created_by=user.id)
    db.add(r)
    db.flush()
    write_log(db, user, "disclose", "referral", [r.id], f"referral under {legal_gateway}",
              {"case_id": case.id, "to_agency_id": to_agency_id})
    return referral_dict(r)


def list_referrals(db: Session, user: User, purpose: str | None, box: str = "in") -> list[dict]:
    require_role(user, "coordinator", "caseworker")
    purpose = audit.check_purpose(purpose)
    col = Referral.to_agency_id if box == "in" else Referral.from_agency_id
    rows = db.scalars(select(Referral).where(col == user.agency_id).order_by(Referral.id.desc()).limit(200)).all()
    audit.disclose(db, user, purpose, "referral", [r.id for r in rows], {"box": box})
    return [referral_dict(r) for r in rows]


def respond_referral(db: Session, user: User, referral_id: int, accept: bool, reason: str | None) -> dict:
    require_role(user, "coordinator", "caseworker")
    r = db.get(Referral, referral_id)
    if r is None or r.to_agency_id != user.agency_id:
        raise NotFound(f"no referral {referral_id} to your agency")
    if r.status != "pending":
        raise Conflict(f"referral {referral_id} was already {r.status}")
    if not accept and not (reason or "").strip():
        raise HubError("declining a referral needs a reason")
    r.status = "accepted" if accept else "declined"
    r.decline_reason = None if accept else reason
    r.responded_by, r.responded_at = user.id, utcnow()
    if accept and db.get(CaseAgency, (r.case_id, user.agency_id)) is None:
        db.add(CaseAgency(case_id=r.case_id, agency_id=user.agency_id))
    db.flush()
    write_log(db, user, "update", "referral", [r.id], None, {"status": r.status})
    return referral_dict(r)


# ------------------------------------------------------------------ actions


def action_dict(a: Action, today: dt.date | None = None) -> dict:
    today = today or utcnow().date()
    return {"id": a.id, "case_id": a.case_id, "title": a.title, "assignee_id": a.assignee_id,
            "due_on": a.due_on, "status": a.status, "outcome": a.outcome, "version": a.version,
            "overdue": a.status == "open" and a.due_on is not None and a.due_on < today}


def create_action(db: Session, user: User, case_id: int, *, title: str, assignee_id: int | None = None,
                  due_on: dt.date | None = None) -> dict:
    case, _ = case_for(db, user, case_id)
    if assignee_id is not None:
        a_user = db.get(User, assignee_id)
        if a_user is None:
            raise NotFound(f"no user {assignee_id}")
        works = db.get(CaseAgency, (case.id, a_user.agency_id)) is not None
        if not works:
            raise HubError("the assignee's agency does not work this case; share it or refer first")
    a = Action(case_id=case.id, title=title, assignee_id=assignee_id, due_on=due_on)
    db.add(a)
    db.flush()
    write_log(db, user, "create", "action", [a.id], None, {"case_id": case.id})
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
    try:
        case_for(db, user, a.case_id)
    except NotFound:
        raise NotFound(f"no action {action_id}") from None
    if a.version != version:
        raise Conflict(f"action {action_id} changed since you read it; reload and try again")
    for k, v in changes.items():
        if k not in ("title", "status", "outcome", "due_on"):
            raise HubError(f"{k} cannot be changed here")
        if v is None and k in ("title", "status"):
            raise HubError(f"{k} cannot be empty")
        setattr(a, k, v)
    if changes.get("status") == "done":
        a.completed_at = utcnow()
    try:
        db.flush()
    except StaleDataError:
        db.rollback()
        raise Conflict(f"action {action_id} was changed by someone else just now") from None
    write_log(db, user, "update", "action", [a.id], None, {"fields": sorted(changes)})
    return action_dict(a)


def overdue_actions(db: Session, user: User, purpose: str | None, today: dt.date | None = None) -> list[dict]:
    """Open actions past their due date on cases the user sees in full."""
    if not can_read_cases(user):
        raise Forbidden(f"the {user.role} role has no access to case records")
    purpose = audit.check_purpose(purpose)
    today = today or utcnow().date()
    rows = db.scalars(
        select(Action).join(Case, Case.id == Action.case_id)
        .where(Action.status == "open", Action.due_on < today, full_clause(user))
        .order_by(Action.due_on).limit(500)
    ).all()
    audit.disclose(db, user, purpose, "action", [a.id for a in rows], {"overdue": True})
    return [action_dict(a, today) for a in rows]


# ------------------------------------------------------------------ risk assessments


def assess_risk(db: Session, user: User, case_id: int, *, questionnaire: str, answers: dict,
                version: int | None = None, person_id: int | None = None, on: dt.date | None = None) -> dict:
    case, _ = case_for(db, user, case_id)
    _person_on_case(db, case.id, person_id)
    try:
        q = risk.get(questionnaire, version)
        score, band, review = q.next_review(on or utcnow().date(), answers)
    except SaferhubError as exc:  # unknown questionnaire, unanswered or unknown questions
        raise Unprocessable(str(exc)) from None
    ra = RiskAssessment(case_id=case.id, person_id=person_id, questionnaire=q.name, questionnaire_version=q.version,
                        answers=answers, score=score, band=band, next_review_on=review, assessed_by=user.id)
    db.add(ra)
    if case.review_on is None or review < case.review_on:
        case.review_on = review
    db.flush()
    write_log(db, user, "create", "risk_assessment", [ra.id], None, {"case_id": case.id, "band": band})
    return {"id": ra.id, "case_id": case.id, "questionnaire": q.name, "version": q.version,
            "score": score, "band": band, "next_review_on": review}


# ------------------------------------------------------------------ ASB powers and Case Review


def _person_on_case(db: Session, case_id: int, person_id: int | None) -> None:
    if person_id is not None and db.scalar(select(CasePerson.id).where(
            CasePerson.case_id == case_id, CasePerson.person_id == person_id).limit(1)) is None:
        raise NotFound(f"person {person_id} is not on case {case_id}")


def _priors(db: Session, case_id: int) -> list[asb.PriorPower]:
    return [asb.PriorPower(p.id, p.power, p.person_id, _aware(p.issued_at), _aware(p.expires_at), p.extends_id)
            for p in db.scalars(select(AsbPower).where(AsbPower.case_id == case_id))]


def use_power(db: Session, user: User, case_id: int, *, power: str, issued_at: dt.datetime, grounds: str,
              expires_at: dt.datetime | None = None, person_id: int | None = None,
              recipient_age: int | None = None, amount_gbp: int | None = None,
              authorised_by: str | None = None, extends_id: int | None = None) -> dict:
    case, _ = case_for(db, user, case_id)
    issued_at = _aware(issued_at)
    expires_at = _aware(expires_at)
    _person_on_case(db, case.id, person_id)
    try:
        expiry = asb.check_power(power, issued_at=issued_at, expires_at=expires_at, person_id=person_id,
                                 recipient_age=recipient_age, amount_gbp=amount_gbp,
                                 authorised_by=authorised_by, extends_id=extends_id, prior=_priors(db, case.id))
    except asb.AsbRuleError as exc:
        raise Unprocessable(str(exc)) from None
    p = AsbPower(case_id=case.id, person_id=person_id, power=power, issued_at=issued_at, expires_at=expiry,
                 recipient_age=recipient_age, grounds=grounds, authorised_by=authorised_by,
                 amount_gbp=amount_gbp, extends_id=extends_id, created_by=user.id)
    db.add(p)
    db.flush()
    write_log(db, user, "create", "asb_power", [p.id], None, {"case_id": case.id, "power": power})
    return {"id": p.id, "case_id": case.id, "power": power, "issued_at": issued_at, "expires_at": expiry,
            "person_id": person_id}


def asb_alerts(db: Session, user: User, purpose: str | None, horizon_hours: float = 72,
               now: dt.datetime | None = None) -> list[dict]:
    """Expired or soon-expiring time-limited powers on cases the user sees in full."""
    if not can_read_cases(user):
        raise Forbidden(f"the {user.role} role has no access to case records")
    purpose = audit.check_purpose(purpose)
    now = _aware(now) or utcnow()
    rows = db.scalars(select(AsbPower).join(Case, Case.id == AsbPower.case_id)
                      .where(AsbPower.expires_at.is_not(None), full_clause(user))).all()
    by_case: dict[int, list] = {}
    for p in rows:
        by_case.setdefault(p.case_id, []).append(
            asb.PriorPower(p.id, p.power, p.person_id, _aware(p.issued_at), _aware(p.expires_at), p.extends_id))
    out = []
    for cid, powers in by_case.items():
        for a in asb.expiry_alerts(powers, now, dt.timedelta(hours=horizon_hours)):
            out.append(a | {"case_id": cid, "case_ref": case_ref(cid)})
    audit.disclose(db, user, purpose, "asb_power", [a["power_id"] for a in out], {"alerts": True})
    return sorted(out, key=lambda a: a["expires_at"])


def incidents_frame(db: Session, where=None) -> pd.DataFrame:
    """Incidents as a DataFrame with the columns the rules read. On PostgreSQL the whole table
    streams through COPY into `pandas.read_csv` (about 10x faster than fetching row tuples)."""
    cols = [Incident.id, Incident.month, Incident.occurred_at, Incident.category, Incident.location_key,
            Incident.caller_ref, Incident.caller_is_child, Incident.victim_ref]
    names = [c.key for c in cols]
    q = select(*cols)
    conn = db.connection()
    if where is None and conn.dialect.name == "postgresql":
        import io

        sql = str(q.compile(dialect=conn.dialect))
        buf = io.BytesIO()
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as cp:
                for chunk in cp:
                    buf.write(chunk)
        buf.seek(0)
        df = pd.read_csv(buf, names=names, header=None, true_values=["t"], false_values=["f"],
                         dtype={"category": str, "location_key": str, "caller_ref": str, "victim_ref": str})
        df["occurred_at"] = pd.to_datetime(df["occurred_at"], utc=True)
        return df
    if where is not None:
        q = q.where(where)
    return pd.DataFrame(conn.execute(q).fetchall(), columns=names)


def apply_case_review(db: Session, user: User, *, applicant_ref: str, received_on: dt.date,
                      case_id: int | None = None, threshold: int | None = None,
                      window_months: int | None = None) -> dict:
    """Record an ASB Case Review application and decide the threshold from the incidents."""
    require_role(user, "coordinator", "caseworker")
    if case_id is not None:
        case_for(db, user, case_id)
    rule = next(r for r in rules_mod.DEFAULT_RULES if r.name == "asb_case_review_threshold")
    changes = {k: v for k, v in (("threshold", threshold), ("window", window_months)) if v is not None}
    rule = rules_mod.rule_with(rule, **changes) if changes else rule
    df = incidents_frame(db, Incident.victim_ref == applicant_ref)
    n = rules_mod.reports_in_window(df, applicant_ref, received_on, rule)
    met = n >= rule.threshold
    app_ = CaseReviewApplication(case_id=case_id, applicant_ref=applicant_ref, received_on=received_on,
                                 reports_in_window=n, threshold_met=met,
                                 threshold_rule=f"{rule.name} v{rule.version}: {rule.threshold} in {rule.window} "
                                                f"{rule.unit}s",
                                 decision="pending" if met else "threshold_not_met")
    db.add(app_)
    db.flush()
    write_log(db, user, "create", "case_review", [app_.id], None, {"threshold_met": met})
    return review_dict(app_)


def review_dict(a: CaseReviewApplication) -> dict:
    return {"id": a.id, "case_id": a.case_id, "received_on": a.received_on, "reports_in_window": a.reports_in_window,
            "threshold_met": a.threshold_met, "threshold_rule": a.threshold_rule, "decision": a.decision,
            "recommendations": a.recommendations, "decided_on": a.decided_on}


def decide_case_review(db: Session, user: User, app_id: int, *, recommendations: str | None,
                       on: dt.date | None = None) -> dict:
    require_role(user, "coordinator")
    a = db.get(CaseReviewApplication, app_id)
    if a is None:
        raise NotFound(f"no Case Review application {app_id}")
    if not a.threshold_met:
        raise Conflict("the threshold was not met; there is no review to record")
    if a.decision == "review_held":
        raise Conflict("this review was already recorded")
    a.decision, a.recommendations, a.decided_on = "review_held", recommendations, on or utcnow().date()
    db.flush()
    write_log(db, user, "update", "case_review", [a.id], None, {"decision": a.decision})
    return review_dict(a)


def case_review_publication(db: Session, user: User, year: int) -> dict:
    require_role(user, "coordinator", "analyst", "admin")
    apps = [{"received_on": a.received_on, "threshold_met": a.threshold_met, "decision": a.decision,
             "recommendations": a.recommendations} for a in db.scalars(select(CaseReviewApplication))]
    return asb.publication_figures(apps, year)


# ------------------------------------------------------------------ rules


def run_rules(db: Session, user: User | None, overrides: dict[str, dict] | None = None) -> dict:
    """Evaluate every rule over all incidents and replace the stored flags."""
    if user is not None:
        require_role(user, "coordinator", "analyst", "admin")
    chosen = []
    for r in rules_mod.DEFAULT_RULES:
        ch = (overrides or {}).get(r.name)
        chosen.append(rules_mod.rule_with(r, **ch) if ch else r)
    unknown = set(overrides or {}) - {r.name for r in rules_mod.DEFAULT_RULES}
    if unknown:
        raise HubError(f"unknown rules {sorted(unknown)}")
    df = incidents_frame(db)
    flags = rules_mod.evaluate(df, chosen)
    db.execute(delete(RuleFlag))
    params = {r.name: r.params() for r in chosen}
    now = utcnow()
    if len(flags):
        recs = flags.drop(columns=["incidents_total"]).assign(
            params=[params[n] for n in flags["rule"]], evaluated_at=now,
            count=flags["count"].astype(int), rule_version=flags["rule_version"].astype(int),
        ).to_dict("records")
        db.execute(insert(RuleFlag), recs)
    if user is not None:
        write_log(db, user, "evaluate", "rules", [], None, {"flags": int(len(flags))})
    return {"incidents": int(len(df)), "flags": flags.groupby("rule").size().astype(int).to_dict() if len(flags) else {},
            "rules": [{"name": r.name, "version": r.version} | r.params() for r in chosen]}


def list_flags(db: Session, user: User, purpose: str | None, rule: str | None = None, limit: int = 200) -> list[dict]:
    """Flags name a pseudonymous caller / victim key: personal data, so purpose-logged."""
    require_role(user, "coordinator", "analyst")
    purpose = audit.check_purpose(purpose)
    q = select(RuleFlag).order_by(RuleFlag.first_triggered.desc(), RuleFlag.id).limit(limit)
    if rule:
        q = q.where(RuleFlag.rule == rule)
    rows = db.scalars(q).all()
    audit.disclose(db, user, purpose, "rule_flag", [r.id for r in rows])
    return [{"id": r.id, "rule": r.rule, "rule_version": r.rule_version, "subject_kind": r.subject_kind,
             "subject_key": r.subject_key, "first_triggered": r.first_triggered, "count": r.count,
             "params": r.params} for r in rows]


# ------------------------------------------------------------------ OSARA plans (see osara.py)


def plan_for(db: Session, user: User, plan_id: int) -> Plan:
    p = db.get(Plan, plan_id)
    if p is None:
        raise NotFound(f"no plan {plan_id}")
    if p.case_id is not None:
        try:
            case_for(db, user, p.case_id)
        except (NotFound, Forbidden):
            raise NotFound(f"no plan {plan_id}") from None
    elif not can_read_cases(user):
        raise NotFound(f"no plan {plan_id}")
    return p


def plan_dict(p: Plan) -> dict:
    from saferhub.hub import osara

    return {"id": p.id, "case_id": p.case_id, "title": p.title, "lead_agency_id": p.lead_agency_id,
            "owner_id": p.owner_id, "stage": p.stage, "objective": p.objective, "scanning": p.scanning,
            "analysis": p.analysis, "responses": p.responses, "assessment": p.assessment, "areas": p.areas,
            "version": p.version, "missing_for_next_stage": osara.missing(p.stage, p)}


def create_plan(db: Session, user: User, *, title: str, objective: str, case_id: int | None = None,
                areas: list[str] | None = None) -> dict:
    require_role(user, "coordinator", "caseworker")
    if case_id is not None:
        case_for(db, user, case_id)
    p = Plan(title=title, objective=objective, case_id=case_id, lead_agency_id=user.agency_id, owner_id=user.id,
             areas=areas or [], scanning={}, analysis={}, responses=[], assessment={})
    db.add(p)
    db.flush()
    write_log(db, user, "create", "plan", [p.id], None)
    return plan_dict(p)


def get_plan(db: Session, user: User, plan_id: int, purpose: str | None) -> dict:
    """Plans' analysis may describe offenders and victims: a purpose-logged read."""
    purpose = audit.check_purpose(purpose)
    p = plan_for(db, user, plan_id)
    audit.disclose(db, user, purpose, "plan", [p.id])
    return plan_dict(p)


def set_plan_stage(db: Session, user: User, plan_id: int, version: int, stage: str, content) -> dict:
    from saferhub.hub import osara

    p = plan_for(db, user, plan_id)
    if p.version != version:
        raise Conflict(f"plan {plan_id} changed since you read it; reload and try again")
    osara.can_edit(p.stage, stage)
    value = osara.validate_stage(stage, content)
    if stage == "response":
        for r in value:
            if db.get(Agency, r["partner_agency_id"]) is None:
                raise NotFound(f"no agency {r['partner_agency_id']}")
        p.responses = value
    else:
        setattr(p, stage, value)
    try:
        db.flush()
    except StaleDataError:
        db.rollback()
        raise Conflict(f"plan {plan_id} was changed by someone else just now") from None
    write_log(db, user, "update", "plan", [p.id], None, {"stage": stage})
    return plan_dict(p)


def advance_plan(db: Session, user: User, plan_id: int) -> dict:
    from saferhub.hub import osara

    p = plan_for(db, user, plan_id)
    p.stage = osara.next_stage(p)
    db.flush()
    write_log(db, user, "update", "plan", [p.id], None, {"advanced_to": p.stage})
    return plan_dict(p)


def export_plan(db: Session, user: User, plan_id: int, purpose: str | None) -> str:
    from saferhub.hub import osara

    purpose = audit.check_purpose(purpose)
    p = plan_for(db, user, plan_id)
    names = {a.id: a.name for a in db.scalars(select(Agency))}
    audit.append(db, user=user, action="export", entity="plan", entity_ids=[p.id], purpose=purpose)
    return osara.export_markdown(p, names)
