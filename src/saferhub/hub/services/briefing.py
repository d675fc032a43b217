"""The daily briefing's hub reads, for one user: the last 24 hours' incidents and the casework
sections (referrals, actions, high-risk reviews, ASB Case Reviews, powers). Each section asks
`saferhub.hub.access` and logs what it returns with the stated purpose, exactly like the JSON API's
services; `saferhub.briefing.assemble` only formats what comes back.

Incidents follow the incident rule (`access.readable_incidents`): the viewer's own agency's, or
those linked to a case the viewer reads in full. Only those are listed (place text, category,
recording agency) and logged (entity "incident"). Everyone also gets one aggregate figure, the
number of incidents recorded across the partnership, with no place, category or agency: that is
all analysts and administrators get (they read no incident records), so their briefing reads no
personal data and needs no purpose.

Queries are bounded: recent rows are found among the newest RECENT_SCAN ids (ids rise with time),
never the whole table; lists take candidates in page order and check them BATCH at a time."""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saferhub.hub import asb, audit
from saferhub.hub.access import CHUNK, can_read_cases, full_clause, incident_clause, reads_unattached_case_reviews
from saferhub.hub.models import Action, Agency, AsbPower, Case, CaseReviewApplication, Incident, User
from saferhub.hub.services.actions import action_dict
from saferhub.hub.services.cases import case_dict
from saferhub.hub.services.common import aware, case_ref
from saferhub.hub.services.missing_alerts import missing_alerts
from saferhub.hub.services.powers import review_dict
from saferhub.hub.services.referrals import list_referrals

RECENT_SCAN = 20_000   # at most this many of the last 24 hours' incidents (more than a day's worth)
LIST_LIMIT = 50        # rows per section on the page
REVIEW_DAYS = 7
SCAN_LIMIT, BATCH = 50_000, 500   # candidates looked at for a list, and how many are access-checked at once
REFERRAL_OVERDUE_DAYS = 5


def sees_casework(user: User) -> bool:
    """Does the briefing hold casework (and so need a purpose) for this user?"""
    return can_read_cases(user)


def recent_incidents(db: Session, user: User, purpose: str | None, since: dt.datetime) -> dict:
    """Incidents that occurred since `since`: the partnership's count (aggregate only) and, for the
    case roles, the incidents the user may read, logged with `purpose`.

    Returns {"recorded", "recorded_simulated", "truncated", "readable": [{id, category, lsoa,
    place, source, agency, x, y}]} (x, y: BNG, None when unplaced)."""
    reads = can_read_cases(user)
    if reads:
        purpose = audit.check_purpose(purpose)  # before any query: no purpose, no records
    # a range of the occurred_at index, newest first: an incident recorded late still counts
    rows = db.execute(select(Incident.id, Incident.source).where(Incident.occurred_at >= since)
                      .order_by(Incident.occurred_at.desc(), Incident.id.desc()).limit(RECENT_SCAN)).all()
    out = {"recorded": len(rows), "recorded_simulated": sum(src == "simulated" for _, src in rows),
           "truncated": len(rows) >= RECENT_SCAN, "readable": []}  # every row scanned was recent: maybe more
    if not reads:
        return out
    recent, readable = [i for i, _ in rows], incident_clause(user)  # the incident rule (access)
    for start in range(0, len(recent), CHUNK):
        out["readable"] += [{"id": i, "category": cat, "lsoa": lsoa, "place": place, "source": src, "agency": agency,
                             "x": x, "y": y}
                            for i, cat, lsoa, place, src, agency, x, y in db.execute(
                                select(Incident.id, Incident.category, Incident.lsoa, Incident.location_text,
                                       Incident.source, Incident.agency_id, Incident.x, Incident.y)
                                .where(Incident.id.in_(recent[start:start + CHUNK]), readable))]
    ids = sorted(r["id"] for r in out["readable"])
    if ids:
        names = {a.id: a.name for a in db.scalars(select(Agency))}
        for r in out["readable"]:
            r["agency"] = names.get(r["agency"], "unknown agency")
    audit.disclose(db, user, purpose, "incident", ids, {"briefing": "last 24 hours"})
    return out


USUAL_WEEKS = 4        # "the usual for that weekday": the same 24 hours in each of the previous 4 weeks


def weekday_usual(db: Session, now: dt.datetime) -> dict:
    """An aggregate for the summary (no record is read, so nothing is logged): how many incidents
    the partnership recorded in the same 24 hours one, two, three and four weeks ago.

    Returns {"weeks": [count 1 week ago, ...], "mean": float, "recorded_any": bool}."""
    ends = [now - dt.timedelta(days=7 * k) for k in range(1, USUAL_WEEKS + 1)]
    # each week's 24 hours counted by the database on the occurred_at index (no rows fetched,
    # however many incidents the hub holds: a range of the index per week)
    at = Incident.occurred_at
    weeks = [int(db.scalar(select(func.count()).select_from(Incident)
                           .where(at >= end - dt.timedelta(hours=24), at < end)) or 0) for end in ends]
    return {"weeks": weeks, "mean": sum(weeks) / len(weeks), "recorded_any": any(weeks)}


def first_visible(db: Session, ordered_ids, fetch, limit: int = LIST_LIMIT) -> list:
    """The first `limit` rows the user may see, in page order. `ordered_ids` selects candidate ids
    in page order without the access check; `fetch(ids_subquery)` selects the rows among them with
    the access clause, in the same order. Candidates are taken BATCH at a time (at most SCAN_LIMIT)
    until the page is full: a user who sees most cases needs one batch, instead of the access check
    running on every candidate before the sort."""
    out: list = []
    for offset in range(0, SCAN_LIMIT, BATCH):
        window = ordered_ids.limit(BATCH).offset(offset)
        out += db.scalars(fetch(window.scalar_subquery()).limit(limit - len(out))).all()
        if len(out) >= limit or db.scalar(select(func.count()).select_from(window.subquery())) < BATCH:
            break
    return out


def referral_bucket(age: dt.timedelta) -> str:
    """new (under 24 hours), waiting (1 to 5 days) or overdue (more than 5 days)."""
    if age < dt.timedelta(hours=24):
        return "new"
    return "overdue" if age > dt.timedelta(days=REFERRAL_OVERDUE_DAYS) else "waiting"


def referrals(db: Session, user: User, purpose: str, now: dt.datetime) -> dict[str, list]:
    """Every pending referral to the user's agency, by age: {"new", "waiting", "overdue"}, each
    row with `age_hours`; oldest first within a bucket (the ones waiting longest lead)."""
    rows = list_referrals(db, user, purpose, "in", status="pending")  # access-checked and logged
    out: dict[str, list] = {"new": [], "waiting": [], "overdue": []}
    for r in sorted(rows, key=lambda r: r["created_at"]):
        age = now - aware(r["created_at"])
        out[referral_bucket(age)].append(r | {"age_hours": age.total_seconds() / 3600})
    return out


def actions(db: Session, user: User, purpose: str, since: dt.datetime, today: dt.date) -> tuple[list, list]:
    """New and overdue actions on cases the user reads in full. Overdue: the 50 most overdue open
    actions (services.overdue_actions' rule, bounded for the page); new: among the newest 200 ids."""
    visible = select(Action).join(Case, Case.id == Action.case_id).where(full_clause(user))
    order = (Action.due_on, Action.id)
    overdue = first_visible(db, select(Action.id).where(Action.status == "open", Action.due_on < today).order_by(*order),
                            lambda ids: visible.where(Action.id.in_(ids)).order_by(*order))
    newest = db.scalars(visible.order_by(Action.id.desc()).limit(200)).all()
    fresh = [a for a in newest if aware(a.created_at) >= since][:LIST_LIMIT]
    audit.disclose(db, user, purpose, "action", [a.id for a in overdue + fresh], {"briefing": True})
    return [action_dict(a, today) for a in fresh], [action_dict(a, today) for a in overdue]


def reviews_due(db: Session, user: User, purpose: str, today: dt.date) -> list[dict]:
    """Open high-risk cases the user reads in full whose review is due within REVIEW_DAYS."""
    order = (Case.review_on, Case.id)
    due = select(Case.id).where(Case.status == "open", Case.risk == "high", Case.review_on.is_not(None),
                                Case.review_on <= today + dt.timedelta(days=REVIEW_DAYS)).order_by(*order)
    cases = first_visible(db, due, lambda ids: select(Case).where(Case.id.in_(ids), full_clause(user)).order_by(*order))
    audit.disclose(db, user, purpose, "case", [c.id for c in cases], {"briefing": "review due"})
    return [case_dict(c) | {"overdue": c.review_on < today} for c in cases]


def case_reviews_pending(db: Session, user: User, purpose: str) -> list[dict]:
    """ASB Case Review applications whose threshold was met and await a review: on cases the user
    reads in full; applications on no case, coordinators only (they convene the review)."""
    pending = select(CaseReviewApplication).where(CaseReviewApplication.threshold_met.is_(True),
                                                  CaseReviewApplication.decision == "pending")
    on_case = pending.join(Case, Case.id == CaseReviewApplication.case_id).where(full_clause(user))
    apps = list(db.scalars(on_case.order_by(CaseReviewApplication.received_on.desc()).limit(LIST_LIMIT)))
    if reads_unattached_case_reviews(user):
        apps += db.scalars(pending.where(CaseReviewApplication.case_id.is_(None))
                           .order_by(CaseReviewApplication.received_on.desc()).limit(LIST_LIMIT))
    apps = sorted(apps, key=lambda a: a.received_on, reverse=True)[:LIST_LIMIT]
    audit.disclose(db, user, purpose, "case_review", [a.id for a in apps], {"briefing": True})
    return [review_dict(a) | {"case_ref": case_ref(a.case_id) if a.case_id else None} for a in apps]


def powers_expiring(db: Session, user: User, purpose: str, now: dt.datetime) -> list[dict]:
    """Time-limited powers that expired in the last 24 hours or expire within REVIEW_DAYS, on cases
    the user reads in full; the alert rule itself (extensions replace what they extend) is asb's."""
    window = (select(AsbPower.case_id).where(AsbPower.expires_at >= now - dt.timedelta(hours=24),
                                             AsbPower.expires_at <= now + dt.timedelta(days=REVIEW_DAYS)))
    rows = db.scalars(select(AsbPower).join(Case, Case.id == AsbPower.case_id)
                      .where(AsbPower.case_id.in_(window), full_clause(user)).order_by(AsbPower.case_id).limit(5000))
    since, out = now - dt.timedelta(hours=24), []
    for cid, powers in groupby(rows, key=lambda p: p.case_id):  # a case's powers together: extensions count
        prior = [asb.PriorPower(p.id, p.power, p.person_id, aware(p.issued_at), aware(p.expires_at), p.extends_id)
                 for p in powers]
        out += [a | {"case_id": cid, "case_ref": case_ref(cid)}
                for a in asb.expiry_alerts(prior, now, dt.timedelta(days=REVIEW_DAYS)) if a["expires_at"] >= since]
    out = sorted(out, key=lambda a: a["expires_at"])[:LIST_LIMIT]
    audit.disclose(db, user, purpose, "asb_power", [a["power_id"] for a in out], {"briefing": True})
    return out


def casework(db: Session, user: User, purpose: str | None, now: dt.datetime) -> dict | None:
    """Every casework section for the case roles (None for analysts and administrators). Needs a
    purpose (audit.MissingPurpose otherwise); each section's read is logged with it."""
    if not can_read_cases(user):
        return None
    purpose = audit.check_purpose(purpose)
    since, today = now - dt.timedelta(hours=24), now.date()
    out: dict = {}
    refs = referrals(db, user, purpose, now)
    out["referrals_new"], out["referrals_waiting"], out["referrals_overdue"] = refs["new"], refs["waiting"], refs["overdue"]
    out["actions_new"], out["actions_overdue"] = actions(db, user, purpose, since, today)
    out["reviews_due"] = reviews_due(db, user, purpose, today)
    out["case_reviews"] = case_reviews_pending(db, user, purpose)
    out["powers"] = powers_expiring(db, user, purpose, now)
    out["missing_alerts"] = missing_alerts(db, user, purpose, now, days=7)  # the agency's own rule hits
    return out
