"""Simulated partner activity for the demo partnership, so the morning briefing has a morning.

police.uk data has months, not times, and no partner reports, so a demo hub (`hub seed-demo`)
has nothing "in the last 24 hours". This generator adds, on top of a seeded demo hub:
- partner incidents with timestamps over the last 7 days, placed at the real police.uk ASB snap
  points in proportion to their real ASB counts (source "simulated", place text "Simulated: ...");
- one pseudonymous repeat victim (SIM-V0001) whose reports reach the ASB Case Review threshold,
  and the application that records it;
- referrals between agencies (one new, one waiting 7 days), actions (some overdue), review dates
  on the three busiest unlocked cases (made high risk), and a dispersal direction that expires within hours.
Everything it writes says "simulated" where a person sees it. Deterministic for a given seed and
`now`; a second run does nothing. Reports at a demo case's place are linked to that case."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from saferhub.errors import SaferhubError
from saferhub.hub import services
from saferhub.hub.models import Agency, Case, CaseIncident, Incident, Referral, User
from saferhub.hub.seed import DISTRICT_COUNCIL

ASB = "Anti-social behaviour"
KINDS = [(ASB, "council", 0.55), ("Noise nuisance", "council", 0.2), ("Fly-tipping", "council", 0.15),
         ("Deliberate fire", "fire", 0.1)]
SOURCE = "simulated"
VICTIM = "SIM-V0001"


def _user(db: Session, code: str, role: str) -> User:
    u = db.scalar(select(User).join(Agency, Agency.id == User.agency_id).where(Agency.code == code, User.role == role))
    if u is None:
        raise SaferhubError(f"the demo hub has no {role} in {code}; run `saferhub hub seed-demo` first")
    return u


def _reporter(lsoa: str | None, agency_kind: str, lsoa_names: dict[str, str]) -> str:
    """Fire reports come from the fire service; others from the district's council (from the LSOA
    name, e.g. "Wirral 007E"), or the police where the district is unknown."""
    if agency_kind == "fire":
        return "merseyside-fire"
    district = (lsoa_names.get(lsoa or "") or "").rsplit(" ", 1)[0]
    return DISTRICT_COUNCIL.get(district, "merseyside-police")


def simulate(db: Session, *, now: dt.datetime | None = None, n_incidents: int = 240, seed: int = 20240601,
             lsoa_names: dict[str, str] | None = None) -> dict:
    """Add the simulated week to a seeded demo hub. Returns what was added (all zero on a re-run).
    `lsoa_names` (code -> "Wirral 007E", the published `lsoa-names` product) picks each report's council."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if db.scalar(select(func.count()).select_from(Incident).where(Incident.source == SOURCE)):
        return {"incidents": 0, "referrals": 0, "actions": 0, "note": "already simulated"}
    rng = np.random.default_rng(seed)
    points = db.execute(
        select(Incident.location_key, func.min(Incident.location_text), func.min(Incident.lsoa),
               func.min(Incident.x), func.min(Incident.y), func.count())
        .where(Incident.source == "street", Incident.category == ASB, Incident.location_key.is_not(None))
        .group_by(Incident.location_key).order_by(func.count().desc()).limit(300)).all()
    if not points:
        raise SaferhubError("the hub has no police.uk ASB incidents to place simulated reports at; "
                            "run `saferhub hub seed-demo` first")
    agencies = {a.code: a for a in db.scalars(select(Agency))}
    weights = np.array([p[5] for p in points], dtype=float)
    pick = rng.choice(len(points), size=n_incidents, p=weights / weights.sum())
    kind = rng.choice(len(KINDS), size=n_incidents, p=[k[2] for k in KINDS])
    # a third of the week's reports fall in the last 24 hours, the rest over the six days before
    hours = np.where(rng.random(n_incidents) < 1 / 3, rng.uniform(0, 24, n_incidents),
                     rng.uniform(24, 168, n_incidents))
    rows = []
    for i in range(n_incidents):
        key, place, lsoa, x, y, _ = points[pick[i]]
        category, agency_kind, _ = KINDS[kind[i]]
        code = _reporter(lsoa, agency_kind, lsoa_names or {})
        at = now - dt.timedelta(hours=float(hours[i]))
        rows.append(Incident(source=SOURCE, month=at.date().replace(day=1), occurred_at=at, category=category,
                             location_key=key, location_text=f"Simulated: {place}"[:200], lsoa=lsoa, x=x, y=y,
                             caller_ref=f"SIM-C{rng.integers(1, 400):04d}", agency_id=agencies[code].id))
    # the repeat victim: four reports at one place over ten weeks (meets 3 in 6 months)
    key, place, lsoa, x, y, _ = points[0]
    for days in (70, 40, 12, 0.5):
        at = now - dt.timedelta(days=days)
        rows.append(Incident(source=SOURCE, month=at.date().replace(day=1), occurred_at=at, category=ASB,
                             location_key=key, location_text=f"Simulated: {place}"[:200], lsoa=lsoa, x=x, y=y,
                             victim_ref=VICTIM, agency_id=agencies[_reporter(lsoa, "council", lsoa_names or {})].id))
    db.add_all(rows)
    db.flush()
    linked = _link_to_cases(db, rows)
    return {"incidents": len(rows), "linked": linked} | _casework(db, now, agencies)


def _link_to_cases(db: Session, rows: list[Incident]) -> int:
    """A repeat-location case collects the new reports at its place, as it did the police.uk ones
    (`hub seed-demo` links those): whoever reads the case reads them; a locked case's stay hidden."""
    case_at = dict(db.execute(
        select(Incident.location_key, func.min(CaseIncident.case_id))
        .join(CaseIncident, CaseIncident.incident_id == Incident.id)
        .where(Incident.source == "street", Incident.location_key.in_({r.location_key for r in rows}))
        .group_by(Incident.location_key)).all())
    links = [{"case_id": case_at[r.location_key], "incident_id": r.id} for r in rows if r.location_key in case_at]
    if links:
        db.execute(insert(CaseIncident), links)
    return len(links)


def _casework(db: Session, now: dt.datetime, agencies: dict) -> dict:
    """Referrals, actions, review dates, a Case Review application and a dispersal on demo cases."""
    today = now.date()
    police = _user(db, "merseyside-police", "caseworker")
    cases = db.scalars(select(Case).where(Case.locked.is_(False), Case.status == "open").order_by(Case.id).limit(6)).all()
    if len(cases) < 4:
        raise SaferhubError("the demo hub needs at least 4 open unlocked cases; run `saferhub hub seed-demo`")
    targets = [("youth-justice", "youth_intervention"), ("early-help", "early_help"),
               ("merseyside-fire", "designing_out_crime")]
    made = []
    for (code, kind), case, age_days in zip(targets, cases, (0.1, 7, 2)):
        r = services.create_referral(db, police, case.id, to_agency_id=agencies[code].id, kind=kind,
                                     reason=f"Simulated demo referral: repeat ASB at this location; please assess "
                                            f"({kind.replace('_', ' ')}).",
                                     legal_gateway="Crime and Disorder Act 1998 s115")
        made.append(r["id"])
        db.execute(update(Referral).where(Referral.id == r["id"])
                   .values(created_at=now - dt.timedelta(days=age_days)))
    actions = 0
    for case, due_in in zip(cases, (-3, -1, 2, 5)):
        owner = db.get(User, case.owner_id)
        services.create_action(db, owner, case.id, title="(simulated) Visit the location with the council ASB team "
                               "and record what is found", due_on=today + dt.timedelta(days=due_in))
        actions += 1
    for c, days in zip(cases[:3], (-1, 2, 6)):  # the busiest unlocked places: high risk, reviews due
        c.risk, c.review_on = "high", today + dt.timedelta(days=days)
    coordinator = _user(db, "hub", "coordinator")
    review = services.apply_case_review(db, coordinator, applicant_ref=VICTIM, received_on=today, case_id=cases[0].id)
    services.use_power(db, police, cases[1].id, power="dispersal", issued_at=now - dt.timedelta(hours=40),
                       grounds="Simulated demo: groups causing alarm near the location on consecutive evenings.",
                       authorised_by="Inspector (simulated)")
    db.flush()
    return {"referrals": len(made), "actions": actions, "case_review_threshold_met": review["threshold_met"]}
