"""Risk assessments and the statutory ASB workflow: powers with their clocks, expiry alerts,
and ASB Case Review applications (threshold decided from the incidents) with yearly figures."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.errors import SaferhubError
from saferhub.hub import asb, audit, risk
from saferhub.hub import rules as rules_mod
from saferhub.hub.access import (
    case_for, child_of_case, full_clause, readable_incidents, require_case_role, require_role)
from saferhub.hub.errors import Conflict, NotFound, Unprocessable
from saferhub.hub.models import AsbPower, Case, CaseReviewApplication, Incident, RiskAssessment, User, utcnow
from saferhub.hub.services.common import aware, case_ref, created, write_log
from saferhub.hub.services.people import require_person_on_case
from saferhub.hub.services.places import incidents_frame


def assess_risk(db: Session, user: User, case_id: int, *, questionnaire: str, answers: dict,
                version: int | None = None, person_id: int | None = None, on: dt.date | None = None) -> dict:
    case, _ = case_for(db, user, case_id)
    require_person_on_case(db, case.id, person_id)
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


def questionnaires() -> list[dict]:
    """The versioned risk questionnaires (no personal data)."""
    return [{"name": q.name, "version": q.version,
             "questions": [{"key": x.key, "text": x.text, "weight": x.weight} for x in q.questions],
             "bands": [{"min_score": m, "band": b, "review_days": d} for m, b, d in q.bands]}
            for q in risk.QUESTIONNAIRES.values()]


def _prior(p: AsbPower) -> asb.PriorPower:
    return asb.PriorPower(p.id, p.power, p.person_id, aware(p.issued_at), aware(p.expires_at), p.extends_id)


def use_power(db: Session, user: User, case_id: int, *, power: str, issued_at: dt.datetime, grounds: str,
              expires_at: dt.datetime | None = None, person_id: int | None = None,
              recipient_age: int | None = None, amount_gbp: int | None = None,
              authorised_by: str | None = None, extends_id: int | None = None) -> dict:
    case, _ = case_for(db, user, case_id)
    issued_at = aware(issued_at)
    expires_at = aware(expires_at)
    require_person_on_case(db, case.id, person_id)
    prior = [_prior(p) for p in db.scalars(select(AsbPower).where(AsbPower.case_id == case.id))]
    try:
        expiry = asb.check_power(power, issued_at=issued_at, expires_at=expires_at, person_id=person_id,
                                 recipient_age=recipient_age, amount_gbp=amount_gbp,
                                 authorised_by=authorised_by, extends_id=extends_id, prior=prior)
    except asb.AsbRuleError as exc:
        raise Unprocessable(str(exc)) from None
    p = AsbPower(case_id=case.id, person_id=person_id, power=power, issued_at=issued_at, expires_at=expiry,
                 recipient_age=recipient_age, grounds=grounds, authorised_by=authorised_by,
                 amount_gbp=amount_gbp, extends_id=extends_id, created_by=user.id)
    created(db, user, p, "asb_power", {"case_id": case.id, "power": power})
    return {"id": p.id, "case_id": case.id, "power": power, "issued_at": issued_at, "expires_at": expiry,
            "person_id": person_id}


def asb_alerts(db: Session, user: User, purpose: str | None, horizon_hours: float = 72,
               now: dt.datetime | None = None) -> list[dict]:
    """Expired or soon-expiring time-limited powers on cases the user sees in full."""
    require_case_role(user)
    purpose = audit.check_purpose(purpose)
    now = aware(now) or utcnow()
    rows = db.scalars(select(AsbPower).join(Case, Case.id == AsbPower.case_id)
                      .where(AsbPower.expires_at.is_not(None), full_clause(user))).all()
    by_case: dict[int, list] = {}
    for p in rows:
        by_case.setdefault(p.case_id, []).append(_prior(p))
    out = []
    for cid, powers in by_case.items():
        for a in asb.expiry_alerts(powers, now, dt.timedelta(hours=horizon_hours)):
            out.append(a | {"case_id": cid, "case_ref": case_ref(cid)})
    audit.disclose(db, user, purpose, "asb_power", [a["power_id"] for a in out], {"alerts": True})
    return sorted(out, key=lambda a: a["expires_at"])


def review_dict(a: CaseReviewApplication, readable_reports: int | None = None) -> dict:
    """`reports_in_window` in an API answer is the number of the applicant's reports the caller may
    read (see `_review_counts`); the stored row keeps the count across every agency (given when
    `readable_reports` is None)."""
    count = a.reports_in_window if readable_reports is None else readable_reports
    return {"id": a.id, "case_id": a.case_id, "received_on": a.received_on, "reports_in_window": count,
            "threshold_met": a.threshold_met, "threshold_rule": a.threshold_rule, "decision": a.decision,
            "recommendations": a.recommendations, "decided_on": a.decided_on}


CASE_REVIEW_RULE = next(r for r in rules_mod.DEFAULT_RULES if r.name == "asb_case_review_threshold")


def _review_counts(db: Session, user: User, applicant_ref: str, on: dt.date) -> tuple[int, int]:
    """(the applicant's reports in the rule's window across every agency, those `user` may read).
    The statutory threshold counts reports to any relevant body (ASB, Crime and Policing Act 2014
    s104), so the decision uses the first; a caller is only told the second, so a pseudonymous
    victim reference cannot be used to learn how often other agencies heard from that person."""
    df = incidents_frame(db, Incident.victim_ref == applicant_ref)
    everywhere = rules_mod.reports_in_window(df, applicant_ref, on, CASE_REVIEW_RULE)
    mine = readable_incidents(db, user, [int(i) for i in df["id"]]) if everywhere else set()
    readable = rules_mod.reports_in_window(df[df["id"].isin(mine)], applicant_ref, on, CASE_REVIEW_RULE) if mine else 0
    return everywhere, readable


def apply_case_review(db: Session, user: User, *, applicant_ref: str, received_on: dt.date,
                      case_id: int | None = None) -> dict:
    """Record an ASB Case Review application and decide the threshold from the incidents."""
    require_role(user, "coordinator", "caseworker")
    if case_id is not None:
        case_for(db, user, case_id)
    rule = CASE_REVIEW_RULE
    n, readable = _review_counts(db, user, applicant_ref, received_on)
    met = n >= rule.threshold
    app_ = CaseReviewApplication(case_id=case_id, applicant_ref=applicant_ref, received_on=received_on,
                                 reports_in_window=n, threshold_met=met,
                                 threshold_rule=f"{rule.name} v{rule.version}: {rule.threshold} in {rule.window} "
                                                f"{rule.unit}s",
                                 decision="pending" if met else "threshold_not_met")
    created(db, user, app_, "case_review", {"threshold_met": met})
    return review_dict(app_, readable)


def decide_case_review(db: Session, user: User, app_id: int, *, recommendations: str | None,
                       on: dt.date | None = None) -> dict:
    require_role(user, "coordinator")
    a = db.get(CaseReviewApplication, app_id)
    if a is None:
        raise NotFound(f"no Case Review application {app_id}")
    if a.case_id is not None:
        child_of_case(db, user, a.case_id, f"Case Review application {app_id}")
    if not a.threshold_met:
        raise Conflict("the threshold was not met; there is no review to record")
    if a.decision == "review_held":
        raise Conflict("this review was already recorded")
    a.decision, a.recommendations, a.decided_on = "review_held", recommendations, on or utcnow().date()
    db.flush()
    write_log(db, user, "update", "case_review", [a.id], None, {"decision": a.decision})
    return review_dict(a, _review_counts(db, user, a.applicant_ref, a.received_on)[1])


def case_review_publication(db: Session, user: User, year: int) -> dict:
    require_role(user, "coordinator", "analyst", "admin")
    apps = [{"received_on": a.received_on, "threshold_met": a.threshold_met, "decision": a.decision,
             "recommendations": a.recommendations} for a in db.scalars(select(CaseReviewApplication))]
    return asb.publication_figures(apps, year)
