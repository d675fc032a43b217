"""The daily briefing: what a partnership's morning meeting goes through, for one user.

Sections (each bounded, each read through the hub's access rules and logged with the stated
purpose when it holds personal data):
- the last 24 hours' incidents by area (counts only; simulated partner incidents say so);
- active hotspots (the published Gi* layer) and yesterday's patrol dosage (published by patrol);
- new and overdue referrals to the user's agency; new and overdue actions on cases they see;
- high-risk cases due for review in the next 7 days;
- ASB Case Review applications whose threshold was met and await a review;
- ASB powers and orders that expired in the last 24 hours or expire in the next 7 days.

Queries are indexed and bounded: recent rows are found by scanning the newest ids (ids rise with
time), never the whole table, so the page stays fast with millions of incidents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saferhub.data.products import read_product
from saferhub.hub import asb, audit, services
from saferhub.hub.access import can_read_cases, full_clause
from saferhub.hub.models import Action, Agency, AsbPower, Case, CaseReviewApplication, Incident, User

RECENT_SCAN = 20_000   # newest incidents looked at for "last 24 hours" (more than a day's worth)
LIST_LIMIT = 50        # rows per section on the page
AREA_ROWS = 15         # places listed under "last 24 hours"; the rest are summed in one line
REVIEW_DAYS = 7
SCAN_LIMIT, BATCH = 50_000, 500   # candidates looked at for a list, and how many are access-checked at once
REFERRAL_OVERDUE_DAYS = 5


@dataclass
class Briefing:
    user: dict
    now: dt.datetime
    incidents: list[dict] = field(default_factory=list)   # by area
    incidents_total: int = 0
    incidents_simulated: int = 0
    incidents_truncated: bool = False
    incidents_other_places: int = 0                       # places beyond AREA_ROWS
    incidents_other_total: int = 0
    hotspots: list[dict] = field(default_factory=list)
    hotspot_layer: dict | None = None
    dosage: list[dict] | None = None                      # None: no patrol plan yet
    referrals_new: list[dict] = field(default_factory=list)
    referrals_overdue: list[dict] = field(default_factory=list)
    actions_new: list[dict] = field(default_factory=list)
    actions_overdue: list[dict] = field(default_factory=list)
    reviews_due: list[dict] = field(default_factory=list)
    case_reviews: list[dict] = field(default_factory=list)
    powers: list[dict] = field(default_factory=list)
    sees_cases: bool = False


def _aware(t):
    return t.replace(tzinfo=dt.timezone.utc) if t is not None and t.tzinfo is None else t


def recent_incidents(db: Session, since: dt.datetime, agency_names: dict[int, str],
                     lsoa_names: dict[str, str]) -> tuple[list[dict], int, int, bool]:
    """Incidents that occurred since `since`, counted by place (police.uk street and LSOA) and
    category, busiest first."""
    newest = (select(Incident.id, Incident.occurred_at, Incident.category, Incident.lsoa, Incident.location_text,
                     Incident.source, Incident.agency_id)
              .order_by(Incident.id.desc()).limit(RECENT_SCAN).subquery())
    rows = db.execute(select(newest).where(newest.c.occurred_at >= since)).all()
    truncated = len(rows) >= RECENT_SCAN  # every row scanned was recent: there may be more
    areas: dict[tuple, dict] = {}
    simulated = 0
    for _id, _at, category, lsoa, place, source, agency in rows:
        sim = source == "simulated"
        simulated += sim
        key = (lsoa or "", (place or "").removeprefix("Simulated: "))
        a = areas.setdefault(key, {"lsoa": lsoa_names.get(lsoa, lsoa), "place": key[1], "total": 0,
                                   "categories": {}, "simulated": 0,
                                   "agencies": set()})
        a["total"] += 1
        a["simulated"] += sim
        a["categories"][category] = a["categories"].get(category, 0) + 1
        a["agencies"].add(agency_names.get(agency, "unknown agency"))
    out = sorted(areas.values(), key=lambda a: (-a["total"], a["place"]))
    for a in out:
        a["categories"] = ", ".join(f"{k} {v}" for k, v in sorted(a["categories"].items(), key=lambda kv: -kv[1]))
        a["agencies"] = ", ".join(sorted(a["agencies"]))
    return out, len(rows), simulated, bool(truncated)


def active_hotspots(store, limit: int = 10) -> tuple[list[dict], dict | None]:
    """The hottest published Gi* cells (grip crimes by preference), with their places."""
    cat = read_product("map-layers", store) or {"layers": []}
    gi = [x for x in cat["layers"] if x.get("method") == "gistar"]
    gi.sort(key=lambda x: (x.get("categories") != "grip", x["name"]))
    if not gi:
        return [], None
    top = read_product(f"{gi[0]['name']}-top", store) or []  # written with the layer (layers.py)
    return top[:limit], gi[0]


def patrol_dosage(store, day: dt.date) -> list[dict] | None:
    """Yesterday's patrol dosage per area from the published `patrol-dosage` product."""
    rows = read_product("patrol-dosage", store)
    if rows is None:
        return None
    names = {f["properties"]["area_id"]: f["properties"]["name"]
             for f in (read_product("patrol-areas", store) or {"features": []})["features"]}
    out = []
    for r in rows:
        if str(r.get("date"))[:10] == day.isoformat():
            planned = r.get("planned_minutes") or 0
            out.append(r | {"name": names.get(r["area_id"], r["area_id"]),
                            "compliance_pct": round(100 * (r.get("minutes_min") or 0) / planned) if planned else None})
    return sorted(out, key=lambda r: (r.get("compliance_pct") is None, r.get("compliance_pct") or 0))


def _referrals(db: Session, user: User, purpose: str, since: dt.datetime, today: dt.date, b: Briefing) -> None:
    rows = services.list_referrals(db, user, purpose, "in")  # logged, newest 200
    late = today - dt.timedelta(days=REFERRAL_OVERDUE_DAYS)
    for r in rows:
        if r["status"] != "pending":
            continue
        if r["created_at"] >= since:
            b.referrals_new.append(r)
        elif r["created_at"].date() <= late:
            b.referrals_overdue.append(r)


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


def _actions(db: Session, user: User, purpose: str, since: dt.datetime, today: dt.date, b: Briefing) -> None:
    """Overdue: the 50 most overdue open actions on cases the user sees in full (the same rule as
    services.overdue_actions, bounded for the page). New: among the newest 200 action ids."""
    visible = select(Action).join(Case, Case.id == Action.case_id).where(full_clause(user))
    order = (Action.due_on, Action.id)
    overdue = first_visible(db, select(Action.id).where(Action.status == "open", Action.due_on < today).order_by(*order),
                            lambda ids: visible.where(Action.id.in_(ids)).order_by(*order))
    newest = db.scalars(visible.order_by(Action.id.desc()).limit(200)).all()
    fresh = [a for a in newest if _aware(a.created_at) >= since][:LIST_LIMIT]
    audit.disclose(db, user, purpose, "action", [a.id for a in overdue + fresh], {"briefing": True})
    b.actions_overdue = [services.action_dict(a, today) for a in overdue]
    b.actions_new = [services.action_dict(a, today) for a in fresh]


def _reviews(db: Session, user: User, purpose: str, today: dt.date, b: Briefing) -> None:
    order = (Case.review_on, Case.id)
    due = select(Case.id).where(Case.status == "open", Case.risk == "high", Case.review_on.is_not(None),
                                Case.review_on <= today + dt.timedelta(days=REVIEW_DAYS)).order_by(*order)
    cases = first_visible(db, due, lambda ids: select(Case).where(Case.id.in_(ids), full_clause(user)).order_by(*order))
    audit.disclose(db, user, purpose, "case", [c.id for c in cases], {"briefing": "review due"})
    b.reviews_due = [services.case_dict(c) | {"overdue": c.review_on < today} for c in cases]
    # Case Review applications: on cases the user sees in full; without a case, coordinators only
    pending = select(CaseReviewApplication).where(CaseReviewApplication.threshold_met.is_(True),
                                                  CaseReviewApplication.decision == "pending")
    on_case = pending.join(Case, Case.id == CaseReviewApplication.case_id).where(full_clause(user))
    apps = list(db.scalars(on_case.order_by(CaseReviewApplication.received_on.desc()).limit(LIST_LIMIT)))
    if user.role == "coordinator":
        apps += db.scalars(pending.where(CaseReviewApplication.case_id.is_(None))
                           .order_by(CaseReviewApplication.received_on.desc()).limit(LIST_LIMIT))
    apps = sorted(apps, key=lambda a: a.received_on, reverse=True)[:LIST_LIMIT]
    audit.disclose(db, user, purpose, "case_review", [a.id for a in apps], {"briefing": True})
    b.case_reviews = [services.review_dict(a) | {"case_ref": services.case_ref(a.case_id) if a.case_id else None}
                      for a in apps]


def _powers(db: Session, user: User, purpose: str, now: dt.datetime, b: Briefing) -> None:
    """Time-limited powers that expired in the last 24 hours or expire within 7 days, on cases the
    user sees in full; the alert rule itself (extensions replace what they extend) is the hub's."""
    window = (select(AsbPower.case_id).where(AsbPower.expires_at >= now - dt.timedelta(hours=24),
                                             AsbPower.expires_at <= now + dt.timedelta(days=REVIEW_DAYS)))
    rows = db.scalars(select(AsbPower).join(Case, Case.id == AsbPower.case_id)
                      .where(AsbPower.case_id.in_(window), full_clause(user)).order_by(AsbPower.case_id).limit(5000))
    since, out = now - dt.timedelta(hours=24), []
    for cid, powers in groupby(rows, key=lambda p: p.case_id):  # a case's powers together: extensions count
        prior = [asb.PriorPower(p.id, p.power, p.person_id, _aware(p.issued_at), _aware(p.expires_at), p.extends_id)
                 for p in powers]
        out += [a | {"case_id": cid, "case_ref": services.case_ref(cid)}
                for a in asb.expiry_alerts(prior, now, dt.timedelta(days=REVIEW_DAYS)) if a["expires_at"] >= since]
    out = sorted(out, key=lambda a: a["expires_at"])[:LIST_LIMIT]
    audit.disclose(db, user, purpose, "asb_power", [a["power_id"] for a in out], {"briefing": True})
    b.powers = out


def assemble(db: Session, user: User, purpose: str | None, *, now: dt.datetime | None = None, store=None) -> Briefing:
    """The briefing for `user` at `now`. Personal-data sections need `purpose` (logged)."""
    now = _aware(now) or dt.datetime.now(dt.timezone.utc)
    since, today = now - dt.timedelta(hours=24), now.date()
    b = Briefing(user=services.user_dict(user), now=now, sees_cases=can_read_cases(user))
    names = {a.id: a.name for a in db.scalars(select(Agency))}
    lsoas = read_product("lsoa-names", store) or {}
    areas, b.incidents_total, b.incidents_simulated, b.incidents_truncated = recent_incidents(db, since, names, lsoas)
    b.incidents = areas[:AREA_ROWS]
    b.incidents_other_places = len(areas) - len(b.incidents)
    b.incidents_other_total = sum(a["total"] for a in areas[AREA_ROWS:])
    b.hotspots, b.hotspot_layer = active_hotspots(store)
    b.dosage = patrol_dosage(store, today - dt.timedelta(days=1))
    if b.sees_cases:
        purpose = audit.check_purpose(purpose)
        _referrals(db, user, purpose, since, today, b)
        _actions(db, user, purpose, since, today, b)
        _reviews(db, user, purpose, today, b)
        _powers(db, user, purpose, now, b)
    return b

