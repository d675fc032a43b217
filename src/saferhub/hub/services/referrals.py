"""Referrals between agencies: made from a case under a stated legal gateway; accepting one
makes the receiving agency a participant in the case. The receiving agency's case roles see what
was sent to them (the gateway allows it); the sending side sees only its readable cases' referrals."""

from __future__ import annotations

import datetime as dt

from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import (
    VIEWER_AGENCY, case_for, child_of_case, prepared_clauses, require_role, viewer_params)
from saferhub.hub.errors import Conflict, HubError, NotFound
from saferhub.hub.models import Agency, Case, CaseAgency, Referral, User, utcnow
from saferhub.hub.services.common import aware, case_ref, write_log


def referral_dict(r: Referral) -> dict:
    hours = None
    if r.responded_at is not None:
        hours = round((aware(r.responded_at) - aware(r.created_at)) / dt.timedelta(hours=1), 2)
    return {"id": r.id, "case_id": r.case_id, "case_ref": case_ref(r.case_id), "kind": r.kind,
            "from_agency_id": r.from_agency_id, "to_agency_id": r.to_agency_id, "reason": r.reason,
            "legal_gateway": r.legal_gateway, "status": r.status, "decline_reason": r.decline_reason,
            "created_at": aware(r.created_at), "responded_at": aware(r.responded_at),
            "hours_to_respond": hours}


@lru_cache(maxsize=None)
def _box_statement(role: str, inbox: bool, status: bool):
    """An agency's referrals, built once per role and shape (issue 22): columns, not ORM objects
    (`referral_dict` reads a row by the same names); values are bind parameters."""
    if inbox:  # sent to the agency under a legal gateway: its case roles decide on them
        q = select(*Referral.__table__.c).where(Referral.to_agency_id == VIEWER_AGENCY)
    else:  # sent from the agency's cases: only those cases the user reads (not a locked case's)
        q = (select(*Referral.__table__.c).join(Case, Case.id == Referral.case_id)
             .where(Referral.from_agency_id == VIEWER_AGENCY, prepared_clauses(role)[0]))
    if status:
        q = q.where(Referral.status == bindparam("status"))
    return q.order_by(Referral.id.desc()).limit(200)


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


def list_referrals(db: Session, user: User, purpose: str | None, box: str = "in",
                   status: str | None = None) -> list[dict]:
    """The agency's inbox ("in") or what it sent ("out"), newest 200; `status` narrows it (the
    briefing asks for every pending one, however many newer answered ones there are)."""
    require_role(user, "coordinator", "caseworker")
    purpose = audit.check_purpose(purpose)
    q = _box_statement(user.role, box == "in", bool(status))
    rows = db.connection().execute(q, viewer_params(user) | {"status": status}).all()
    audit.disclose(db, user, purpose, "referral", [r.id for r in rows], {"box": box})
    return [referral_dict(r) for r in rows]


def case_referrals(db: Session, user: User, case_id: int, purpose: str | None) -> list[dict]:
    """Every referral made on a case (its timeline), for whoever reads the case in full."""
    purpose = audit.check_purpose(purpose)
    case = child_of_case(db, user, case_id, f"case {case_id}")
    rows = db.scalars(select(Referral).where(Referral.case_id == case.id).order_by(Referral.id)).all()
    audit.disclose(db, user, purpose, "referral", [r.id for r in rows], {"case_id": case.id})
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


def rule_referral(db: Session, case_id: int, *, from_agency_id: int, to_agency_id: int, kind: str, reason: str,
                  legal_gateway: str, rule: str) -> dict:
    """A referral a versioned rule raises (no user: the rule is the reason). It is sent from an
    agency working the case, recorded as created by the case's owner (who answers for it), and the
    write is logged under the rule's name."""
    case = db.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if from_agency_id == to_agency_id:
        raise HubError("a referral goes to another agency")
    r = Referral(case_id=case.id, from_agency_id=from_agency_id, to_agency_id=to_agency_id, kind=kind,
                 reason=reason, legal_gateway=legal_gateway, created_by=case.owner_id)
    db.add(r)
    db.flush()
    audit.append(db, user=None, action="disclose", entity="referral", entity_ids=[r.id],
                 purpose=f"rule {rule}: referral under {legal_gateway}"[:300],
                 detail={"case_id": case.id, "to_agency_id": to_agency_id, "rule": rule})
    return referral_dict(r)
