"""Aggregate figures from the missing-episode records: the partnership's shares (under-18s, from
care) and monthly counts per person or home for an evaluation ("did it work"). Access and
purpose logging as for the records (`saferhub.hub.access`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub import missing_patterns as patterns
from saferhub.hub.access import is_police, missing_people_clause, require_role, sees_found_places
from saferhub.hub.errors import Forbidden, HubError
from saferhub.hub.models import MissingEpisode, MissingHome, MissingPerson, Person, User, utcnow
from saferhub.hub.services.common import aware


# ---------------------------------------------------------------- partnership shares

def partnership_shares(db: Session, user: User, *, since: dt.datetime | None = None,
                       until: dt.datetime | None = None) -> dict:
    """The seed's shares ("around 73% of missing people are under 18, around 50% from care homes
    (including foster homes)") from the hub's own records: people with an episode reported in the
    window, under 18 at their first episode there, and whether any episode was from care.
    Aggregates only (no names), for coordinators and analysts."""
    require_role(user, "coordinator", "analyst")
    until = until or utcnow()
    since = since or until - patterns.YEAR
    rows = db.execute(select(MissingEpisode.missing_person_id, MissingEpisode.reported_at, MissingHome.kind,
                             Person.date_of_birth)
                      .join(MissingHome, MissingHome.id == MissingEpisode.home_id)
                      .join(MissingPerson, MissingPerson.id == MissingEpisode.missing_person_id)
                      .join(Person, Person.id == MissingPerson.person_id)
                      .where(MissingEpisode.reported_at > since, MissingEpisode.reported_at <= until)
                      .order_by(MissingEpisode.reported_at)).all()
    first: dict[int, tuple] = {}
    care: dict[int, bool] = {}
    simulated = db.scalar(select(func.count()).select_from(MissingEpisode).where(MissingEpisode.simulated)) or 0
    for pid, at, kind, dob in rows:
        first.setdefault(pid, (aware(at), dob))
        care[pid] = care.get(pid, False) or kind in patterns.CARE_KINDS
    people = [(None if dob is None else _age(dob, at.date()) < 18, care[pid]) for pid, (at, dob) in first.items()]
    return {"since": since, "until": until, "episodes": len(rows), "includes_simulated": bool(simulated)} \
        | patterns.shares(people)


def _age(dob: dt.date, on: dt.date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


# ---------------------------------------------------------------- monthly counts (for "did it work")

def add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


def monthly_counts(db: Session, user: User, purpose: str | None, *, unit: str, first: dt.date, months: int) -> dict:
    """Episodes per person (or per home) per calendar month from `first`, for an evaluation: ids,
    month labels, the count matrix, each row's home kind (for matching like with like) and whether
    the person's hub case has a problem-solving plan. Police see every person and home; a council
    its own children and the homes in its area. Logged as a read of those records."""
    from saferhub.hub.models import Plan

    purpose = audit.check_purpose(purpose)
    if not is_police(user) and not (user.role in ("coordinator", "caseworker") and user.agency.kind == "council"):
        raise Forbidden("evaluations of missing episodes are for the police and councils")
    if unit not in ("person", "home") or not 1 <= months <= 120:
        raise HubError("unit is person or home, and months 1 to 120")
    first = first.replace(day=1)
    labels = [add_months(first, i) for i in range(months)]
    end = dt.datetime.combine(add_months(first, months), dt.time(), dt.timezone.utc)
    start = dt.datetime.combine(first, dt.time(), dt.timezone.utc)
    if unit == "person":
        q = (select(MissingPerson.id, MissingHome.kind, Plan.id.is_not(None))
             .outerjoin(MissingHome, MissingHome.id == MissingPerson.home_id)
             .outerjoin(Plan, Plan.case_id == MissingPerson.case_id)
             .where(missing_people_clause(db, user)).order_by(MissingPerson.id))
        key = MissingEpisode.missing_person_id
    else:
        q = select(MissingHome.id, MissingHome.kind, MissingHome.id.is_(None)).order_by(MissingHome.id)
        if not is_police(user):
            q = q.where(MissingHome.council_agency_id == user.agency_id)
        key = MissingEpisode.home_id
    rows = db.execute(q).all()
    seen: dict[int, int] = {}
    ids, kinds, planned = [], [], []
    for i, kind, has_plan in rows:
        if i in seen:  # a person with several plans: one row
            planned[seen[i]] = planned[seen[i]] or bool(has_plan)
            continue
        seen[i] = len(ids)
        ids.append(i)
        kinds.append(kind or "unknown")
        planned.append(bool(has_plan))
    counts = [[0] * months for _ in ids]
    for k, at in db.execute(select(key, MissingEpisode.reported_at)
                            .where(key.in_(ids or [-1]), MissingEpisode.reported_at >= start,
                                   MissingEpisode.reported_at < end)).all():
        at = aware(at)
        counts[seen[k]][(at.year - first.year) * 12 + at.month - first.month] += 1
    audit.disclose(db, user, purpose, "missing_person" if unit == "person" else "missing_home", ids,
                   {"aggregate": "episodes per month", "first": first.isoformat(), "months": months})
    return {"unit": unit, "ids": ids, "months": [d.isoformat()[:7] for d in labels], "counts": counts,
            "home_kinds": kinds, "planned": planned}


def found_places(db: Session, user: User, purpose: str | None, *, days: int = 365,
                 now: dt.datetime | None = None) -> list[dict]:
    """Where missing people were found away from home, by place, for the police's map of
    exploitation and county-lines risk: episodes, distinct people, last found. Police only."""
    from saferhub.hub.models import MissingFound

    purpose = audit.check_purpose(purpose)
    if not sees_found_places(user):
        raise Forbidden("where missing people were found is for the police only")
    now = now or utcnow()
    rows = db.execute(select(MissingFound.place_key, MissingFound.description, MissingFound.lon, MissingFound.lat,
                             MissingEpisode.id, MissingEpisode.missing_person_id, MissingEpisode.reported_at)
                      .join(MissingEpisode, MissingEpisode.id == MissingFound.episode_id)
                      .where(MissingFound.at_home.is_(False), MissingFound.place_key.is_not(None),
                             MissingEpisode.reported_at > now - dt.timedelta(days=days))).all()
    places: dict[str, dict] = {}
    for key, desc, lon, lat, ep_id, person, at in rows:
        p = places.setdefault(key, {"place_key": key, "description": desc, "lon": lon, "lat": lat, "episodes": 0,
                                    "people": set(), "last_found": None, "ids": []})
        p["episodes"] += 1
        p["people"].add(person)
        p["ids"].append(ep_id)
        p["last_found"] = max(filter(None, [p["last_found"], aware(at)]))
    out = sorted(places.values(), key=lambda p: (-p["episodes"], p["place_key"]))
    audit.disclose(db, user, purpose, "missing_found", sorted(i for p in out for i in p["ids"]), {"by_place": True})
    return [{k: v for k, v in p.items() if k != "ids"} | {"people": len(p["people"])} for p in out]
