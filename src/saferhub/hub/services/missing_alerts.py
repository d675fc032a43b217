"""The missing-episode rules run over the hub's episodes (`saferhub.hub.missing_rules`), each new
hit stored once (`MissingAlert`, unique per rule, person and key: re-running adds nothing) with
the referral it raised through the referral service; and each agency's alerts for its briefing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub import missing_rules as rules
from saferhub.hub.access import require_role
from saferhub.hub.models import (
    Agency,
    MissingAlert,
    MissingEpisode,
    MissingFound,
    MissingHome,
    MissingPerson,
    Referral,
    User,
    utcnow,
)
from saferhub.hub.services.common import aware, case_ref, write_log
from saferhub.hub.services.missing import mp_ref
from saferhub.hub.missing_patterns import CARE_KINDS
from saferhub.hub.services.referrals import rule_referral


def episodes_for_rules(db: Session) -> list[rules.Episode]:
    rows = db.execute(select(MissingEpisode, MissingHome.kind, MissingFound.place_key, MissingFound.at_home)
                      .join(MissingHome, MissingHome.id == MissingEpisode.home_id)
                      .outerjoin(MissingFound, MissingFound.episode_id == MissingEpisode.id)).all()
    return [rules.Episode(id=e.id, person=e.missing_person_id, reported_at=aware(e.reported_at),
                          returned_at=aware(e.returned_at), from_care=kind in CARE_KINDS,
                          interview_offered_at=aware(e.interview_offered_at),
                          interview_done_at=aware(e.interview_done_at), interview_declined=e.interview_declined,
                          found_key=key, found_at_home=bool(at_home)) for e, kind, key, at_home in rows]


def _sender(db: Session, mp: MissingPerson, to_id: int | None, police: list[int]) -> int | None:
    """The child's council sends, unless it is the receiver; then the police; else nobody."""
    for aid in [mp.council_agency_id, *police]:
        if aid is not None and aid != to_id:
            return aid
    return None


def run_missing_rules(db: Session, user: User | None, now: dt.datetime | None = None) -> dict:
    """Evaluate the rules; store each new hit and raise its referral (`user` None: the CLI)."""
    if user is not None:
        require_role(user, "coordinator")
    now = now or utcnow()
    hits = rules.evaluate(episodes_for_rules(db), now)
    have = set(db.execute(select(MissingAlert.rule, MissingAlert.missing_person_id, MissingAlert.key)).all())
    by_kind: dict[str, int] = {}
    for a in db.scalars(select(Agency).order_by(Agency.id)):
        by_kind.setdefault(a.kind, a.id)
    police = list(db.scalars(select(Agency.id).where(Agency.kind == "police").order_by(Agency.id)))
    new = []
    for h in hits:
        if (h.rule, h.person, h.key) in have:
            continue
        mp = db.get(MissingPerson, h.person)
        to_id = by_kind.get(h.refer_to)
        from_id = _sender(db, mp, to_id, police)
        referral = None
        if to_id is not None and from_id is not None and mp.case_id is not None:
            referral = rule_referral(db, mp.case_id, from_agency_id=from_id, to_agency_id=to_id,
                                     kind=h.referral_kind, legal_gateway=h.legal_gateway, rule=h.rule,
                                     reason=f"Rule {h.rule} v{h.version} for {mp_ref(mp.id)}: {h.detail}")
        alert = MissingAlert(rule=h.rule, rule_version=h.version, missing_person_id=h.person, key=h.key,
                             triggered_at=h.triggered_at, detail=h.detail[:300], from_agency_id=from_id,
                             to_agency_id=to_id, referral_id=referral["id"] if referral else None)
        db.add(alert)
        new.append(alert)
    db.flush()
    result = {"hits": len(hits), "new_alerts": len(new), "referrals": sum(1 for a in new if a.referral_id),
              "rules": [{"name": r.name, "version": r.version, "description": r.description} for r in rules.RULES]}
    if user is not None:
        write_log(db, user, "evaluate", "missing_rules", [a.id for a in new], None,
                  {"new_alerts": len(new)})
    else:
        audit.append(db, user=None, action="evaluate", entity="missing_rules", entity_ids=[a.id for a in new],
                     purpose="missing-episode rules", detail={"new_alerts": len(new)})
    return result


def missing_alerts(db: Session, user: User, purpose: str | None, now: dt.datetime | None = None,
                   days: int = 30) -> list[dict]:
    """What the daily briefing lists for the user's agency: the rule hits of the last `days` days
    whose referral it sent or received. No names: the case reference and the rule's reason;
    the person is read through the case or the missing-person record, each purpose-logged."""
    require_role(user, "coordinator", "caseworker")
    purpose = audit.check_purpose(purpose)
    now = now or utcnow()
    rows = db.execute(select(MissingAlert, MissingPerson.case_id, Referral.status)
                      .join(MissingPerson, MissingPerson.id == MissingAlert.missing_person_id)
                      .outerjoin(Referral, Referral.id == MissingAlert.referral_id)
                      .where(or_(MissingAlert.to_agency_id == user.agency_id,
                                 MissingAlert.from_agency_id == user.agency_id),
                             MissingAlert.triggered_at > now - dt.timedelta(days=days),
                             MissingAlert.triggered_at <= now)
                      .order_by(MissingAlert.triggered_at.desc(), MissingAlert.id).limit(200)).all()
    audit.disclose(db, user, purpose, "missing_alert", [a.id for a, _, _ in rows])
    return [{"id": a.id, "rule": a.rule, "rule_version": a.rule_version, "missing_person_ref": mp_ref(a.missing_person_id),
             "case_id": case_id, "case_ref": case_ref(case_id) if case_id else None,
             "triggered_at": aware(a.triggered_at), "detail": a.detail,
             "direction": "received" if a.to_agency_id == user.agency_id else "sent",
             "referral_id": a.referral_id, "referral_status": status} for a, case_id, status in rows]
