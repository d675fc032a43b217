"""Need-to-know: who may see what (DPA 2018 Part 3; DOMAIN.md "Data protection"). Every service
asks here, so a record reached through two routes is checked the same way on both.

Roles
- admin: runs the service (agencies, users, audit). Sees no case content: separation of duties.
- coordinator (hub coordinator): every unlocked case in the partnership.
- caseworker: cases their agency works (lead or participating agency) or they are named on.
- analyst: rules and aggregate figures only; no case, person, place or incident records.

Locked cases: only named members and the owner see them in full; a coordinator or a caseworker
whose agency works the case sees a stub (the record exists, who to contact). Anyone else gets a
404, so a case's existence does not leak either.

Records that hang off a case (people, notes, actions, referrals, powers, incidents, plans with a
case) are readable exactly when their case is readable in full. Records that can stand alone:
- a plan with no case: the case roles of its lead agency;
- a location: anyone who reads in full a case placed there; while it is on no case, the case
  roles of the agency that recorded it (so a locked case's address stays with its members);
- an incident: anyone who reads in full a case it is linked to; otherwise the case roles of the
  agency that recorded it, unless it is linked to a locked case (then only that case's readers). Linking a record to a case needs read access to the record first, so a link
  can never be used to read someone else's record.

Report files the jobs wrote (`may_open_report`): a patrol plan's (future patrol times and routes)
for a police agency's coordinators, caseworkers and analysts; aggregate reports for anyone.

The web pages and the daily briefing ask here too, through the services (they hold no rules).
The case rules are SQL conditions (`full_clause`, `listed_clause`), so a case list is one query and
a single case is checked in the same query that fetches it; tests/hub/test_hub_matrix_generated.py
checks every route of /openapi.json x role x own / other agency / locked / unattached."""

from __future__ import annotations

from enum import Enum
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Integer, bindparam, false, or_, select, true
from sqlalchemy.orm import Session

from saferhub.hub.errors import Forbidden, NotFound
from saferhub.hub.models import Case, CaseAgency, CaseIncident, CaseMember, Incident, Location, Plan, User


class Level(str, Enum):
    NONE = "none"
    STUB = "stub"
    FULL = "full"


CASE_ROLES = ("coordinator", "caseworker")


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}; you are {user.role}")


def can_read_cases(user: User) -> bool:
    return user.role in CASE_ROLES


def require_case_role(user: User, what: str = "case records") -> None:
    if not can_read_cases(user):
        raise Forbidden(f"the {user.role} role has no access to {what}")


def reads_unattached_case_reviews(user: User) -> bool:
    """ASB Case Review applications on no case: the hub coordinator convenes the review."""
    return user.role == "coordinator"


def _probe(stmt):
    """A correlated scalar subquery, evaluated per case row by a primary-key probe. (Written as
    EXISTS, PostgreSQL hashes the agency's whole case list on every request: 50 ms instead of 1 ms
    for a 50-case page out of 100k cases.)"""
    return stmt.limit(1).scalar_subquery().is_not(None)


def _agency_works(agency_id):
    return _probe(select(CaseAgency.case_id).where(CaseAgency.case_id == Case.id, CaseAgency.agency_id == agency_id))


def _named(user_id):
    return or_(Case.owner_id == user_id,
               _probe(select(CaseMember.case_id).where(CaseMember.case_id == Case.id, CaseMember.user_id == user_id)))


# The case rules, once: for a user's values (`full_clause`, `listed_clause`), or for bind
# parameters (`prepared_clauses`: the hot reads build their statements once per role).
def _full(role: str, user_id, agency_id):
    if role not in CASE_ROLES:
        return false()
    named = _named(user_id)
    if role == "coordinator":
        return or_(Case.locked.is_(False), named)
    return or_(named, (Case.locked.is_(False)) & _agency_works(agency_id))


def _listed(role: str, user_id, agency_id):
    if role not in CASE_ROLES:
        return false()
    if role == "coordinator":
        return true()
    return or_(_named(user_id), _agency_works(agency_id))


def full_clause(user: User):
    """SQL condition: `user` may read the case in full."""
    return _full(user.role, user.id, user.agency_id)


def listed_clause(user: User):
    """SQL condition: the case appears to `user` at all (in full or as a locked stub)."""
    return _listed(user.role, user.id, user.agency_id)


VIEWER_ID, VIEWER_AGENCY = bindparam("viewer_id", type_=Integer), bindparam("viewer_agency", type_=Integer)


@lru_cache(maxsize=None)
def prepared_clauses(role: str) -> tuple:
    """(full, listed) for any user of `role`, over the bind parameters `viewer_params` fills: a
    statement built from these once is reused for every request (issue 22: building the clauses
    afresh cost about as much CPU as running the query)."""
    return _full(role, VIEWER_ID, VIEWER_AGENCY), _listed(role, VIEWER_ID, VIEWER_AGENCY)


def viewer_params(user: User) -> dict:
    return {"viewer_id": user.id, "viewer_agency": user.agency_id}


def case_for(db: Session, user: User, case_id: int, need: Level = Level.FULL) -> tuple[Case, Level]:
    """The case if `user` may see it at `need`; a case they cannot see at all is a 404."""
    if not can_read_cases(user):
        raise NotFound(f"no case {case_id}")
    # one round trip: the case and both access conditions
    row = db.execute(select(Case, full_clause(user), listed_clause(user)).where(Case.id == case_id)).first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    case, full, listed = row
    return case, _level(case_id, full, listed, need, lambda: (case.owner.name, case.lead_agency.name))


def case_row(db: Session, user: User, case_id: int, stmt, need: Level = Level.FULL):
    """`case_for` over a Core select of the case's columns (no ORM objects: the hot reads), with the
    same decision: the row and its level in one round trip. `stmt` selects from cases and labels
    `owner_name` and `agency_name` (a locked case's refusal says whom to contact); it is extended
    with the access conditions once per role and kept (`prepared_clauses`)."""
    if not can_read_cases(user):
        raise NotFound(f"no case {case_id}")
    row = db.connection().execute(_case_row_statement(stmt, user.role),
                                  viewer_params(user) | {"case_id": case_id}).first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    return row, _level(case_id, row.full_access, row.listed, need, lambda: (row.owner_name, row.agency_name))


@lru_cache(maxsize=64)
def _case_row_statement(stmt, role: str):
    """`stmt` (a module-level select: statements hash by identity) with `role`'s access columns."""
    full, listed = prepared_clauses(role)
    return stmt.add_columns(full.label("full_access"), listed.label("listed")).where(Case.id == bindparam("case_id"))


def _level(case_id: int, full, listed, need: Level, contact) -> Level:
    level = Level.FULL if full else Level.STUB if listed else Level.NONE
    if level is Level.NONE:
        raise NotFound(f"no case {case_id}")
    if need is Level.FULL and level is not Level.FULL:
        owner, agency = contact()
        raise Forbidden(f"case {case_id} is locked; contact {owner} ({agency})")
    return level


def child_of_case(db: Session, user: User, case_id: int, what: str) -> Case:
    """The case a child record hangs off, read in full; anything less hides the child (404)."""
    try:
        return case_for(db, user, case_id)[0]
    except (NotFound, Forbidden):
        raise NotFound(f"no {what}") from None


def plan_clause(user: User):
    """SQL condition over Plan outer-joined to its Case: `user` may read the plan. On a case:
    whoever reads the case in full; on no case: the case roles of its lead agency."""
    if user.role not in CASE_ROLES:
        return false()
    return or_((Plan.case_id.is_not(None)) & full_clause(user),
               (Plan.case_id.is_(None)) & (Plan.lead_agency_id == user.agency_id))


def plans_query(user: User):
    """The plans `user` may read (the list page and `plan_for` share this one decision)."""
    return select(Plan).outerjoin(Case, Case.id == Plan.case_id).where(plan_clause(user))


def plan_for(db: Session, user: User, plan_id: int) -> Plan:
    p = db.scalar(plans_query(user).where(Plan.id == plan_id))
    if p is None:
        raise NotFound(f"no plan {plan_id}")
    return p


def location_for(db: Session, user: User, location_id: int) -> Location:
    """A place on a case is read through a case the user reads in full; a place on no case yet,
    by the agency that recorded it."""
    if not can_read_cases(user):
        raise NotFound(f"no location {location_id}")
    loc = db.get(Location, location_id)
    if loc is None:
        raise NotFound(f"no location {location_id}")
    cases = select(Case.id).where(Case.location_id == location_id)
    if db.scalar(cases.where(full_clause(user)).limit(1)) is not None:
        return loc
    if loc.created_by_agency_id == user.agency_id and db.scalar(cases.limit(1)) is None:
        return loc
    raise NotFound(f"no location {location_id}")


def incident_clause(user: User):
    """SQL condition over Incident: `user` may read it. Those on a case they read in full, and their
    own agency's, except any linked to a locked case they do not read in full (a locked case's
    incidents stay with its readers, as its address does)."""
    if user.role not in CASE_ROLES:
        return false()
    links = select(CaseIncident.case_id).join(Case, Case.id == CaseIncident.case_id).where(
        CaseIncident.incident_id == Incident.id)
    on_full = links.where(full_clause(user)).exists()
    on_locked = links.where(Case.locked.is_(True)).exists()
    return or_((Incident.agency_id == user.agency_id) & ~on_locked, on_full)


def readable_incidents(db: Session, user: User, ids: list[int]) -> set[int]:
    """Which of `ids` the user may read (`incident_clause`), checked CHUNK ids at a time."""
    if not can_read_cases(user) or not ids:
        return set()
    ids = list(ids)
    clause = incident_clause(user)
    return {i for start in range(0, len(ids), CHUNK)
            for i in db.scalars(select(Incident.id).where(Incident.id.in_(ids[start:start + CHUNK]), clause))}


CHUNK = 5000  # ids per IN list (SQLite and psycopg both take this many parameters)

# Report files (`/web/reports`). A patrol plan's files (schedule, GPX routes, team briefings) say
# when and where officers will be in the coming days: police operational information, for a
# police agency's case roles and analysts only. Every other report is an aggregate (hotspots,
# forecasts, backtests, dosage, evaluations) for any signed-in user.
PATROL_PLAN_DIR = "patrol-plan"
PATROL_PLAN_ROLES = ("coordinator", "caseworker", "analyst")


def is_patrol_plan(root: Path, name: str) -> bool:
    """A file of a patrol plan: under a `patrol-plan` folder (as `scripts/main` writes it), named
    patrol-plan*, or in a folder `patrol plan --out-dir` wrote (it holds schedule.csv or route GPX)."""
    parts = name.split("/")
    if PATROL_PLAN_DIR in parts[:-1] or parts[-1].startswith(PATROL_PLAN_DIR) or parts[-1].endswith(".gpx"):
        return True
    folder = (root / name).parent
    return (folder / "schedule.csv").exists() or any(folder.glob("route-*.gpx"))


def may_open_report(user: User, root: Path, name: str) -> bool:
    """May `user` list and open the report file `name` ('/'-separated, relative to `root`)? The one
    decision for the reports list and for opening a file (a file not allowed is not listed, and 404)."""
    if is_patrol_plan(root, name):
        return user.agency is not None and user.agency.kind == "police" and user.role in PATROL_PLAN_ROLES
    return True


# ---------------------------------------------------------------- missing episodes (issue 25)
# Children missing from home or care. The statutory guidance shares episodes between the police,
# the child's council and the home; the Philomena profile stays with the agencies that hold it;
# where a child was found is police-only (exploitation and county-lines intelligence).
# - a missing person and their episodes: case roles of a police agency; case roles of the person's
#   council; the agencies working the person's hub case and its named members (e.g. Early Help
#   after accepting a referral the rules raised). That case is locked, so coordinators elsewhere
#   see only its stub;
# - a home's named staff: the person while placed in their home, and only the episodes from
#   their own home (never another home's, even for the same child);
# - where found: case roles of a police agency only;
# - a home (name, address, pattern): police, the home's council, its named staff;
# - a Philomena profile: case roles of the agencies that hold it, nobody else (police included).


def is_police(user: User) -> bool:
    return user.role in CASE_ROLES and user.agency is not None and user.agency.kind == "police"


def sees_found_places(user: User) -> bool:
    """Where missing people were found, by place (`GET /missing/found-places`, the map's layer)."""
    return is_police(user)


def staff_home_ids(db: Session, user: User) -> set[int]:
    from saferhub.hub.models import MissingHomeStaff

    if user.role not in CASE_ROLES:
        return set()
    return set(db.scalars(select(MissingHomeStaff.home_id).where(MissingHomeStaff.user_id == user.id)))


class MissingSight:
    """What `user` sees of one missing person: every episode (`all_episodes`), or only those from
    `homes` (a home's staff); `found`: where they were found (police)."""

    def __init__(self, person, all_episodes: bool, homes: set[int], found: bool):
        self.person, self.all_episodes, self.homes, self.found = person, all_episodes, frozenset(homes), found

    def sees_episode(self, home_id: int) -> bool:
        return self.all_episodes or home_id in self.homes


def _works_case(db: Session, user: User, case_id: int | None) -> bool:
    """The person's hub case (locked, so a coordinator's partnership-wide view does not reach it):
    its agencies (police, the council, an agency that accepted a referral) and named members."""
    if case_id is None:
        return False
    return (db.get(CaseAgency, (case_id, user.agency_id)) is not None
            or db.get(CaseMember, (case_id, user.id)) is not None)


def missing_sight(db: Session, user: User, missing_person_id: int) -> MissingSight:
    """The person if `user` may see them (404 otherwise, so existence does not leak)."""
    from saferhub.hub.models import MissingEpisode, MissingPerson

    mp = db.get(MissingPerson, missing_person_id) if user.role in CASE_ROLES else None
    if mp is None:
        raise NotFound(f"no missing person {missing_person_id}")
    police = is_police(user)
    if police or (mp.council_agency_id is not None and mp.council_agency_id == user.agency_id) \
            or _works_case(db, user, mp.case_id):
        return MissingSight(mp, True, set(), police)
    homes = staff_home_ids(db, user)
    if homes and (mp.home_id in homes or db.scalar(select(MissingEpisode.id).where(
            MissingEpisode.missing_person_id == mp.id, MissingEpisode.home_id.in_(homes)).limit(1)) is not None):
        return MissingSight(mp, False, homes, False)
    raise NotFound(f"no missing person {missing_person_id}")


def all_episodes_clause(user: User):
    """SQL condition on MissingPerson: `user` sees every episode and the current home (the first
    branch of `missing_sight`: police, the person's council, their case's agencies and members)."""
    from saferhub.hub.models import MissingPerson

    if user.role not in CASE_ROLES:
        return false()
    if is_police(user):
        return true()
    return or_(MissingPerson.council_agency_id == user.agency_id,
               MissingPerson.case_id.in_(select(CaseAgency.case_id).where(CaseAgency.agency_id == user.agency_id)),
               MissingPerson.case_id.in_(select(CaseMember.case_id).where(CaseMember.user_id == user.id)))


def missing_people_clause(db: Session, user: User):
    """SQL condition on MissingPerson: the people `user` may list (same rules as `missing_sight`)."""
    from saferhub.hub.models import MissingEpisode, MissingPerson

    homes = staff_home_ids(db, user) if user.role in CASE_ROLES and not is_police(user) else set()
    if not homes:
        return all_episodes_clause(user)
    return or_(all_episodes_clause(user), MissingPerson.home_id.in_(homes),
               MissingPerson.id.in_(select(MissingEpisode.missing_person_id).where(MissingEpisode.home_id.in_(homes))))


def missing_episode_for(db: Session, user: User, episode_id: int):
    from saferhub.hub.models import MissingEpisode

    ep = db.get(MissingEpisode, episode_id) if user.role in CASE_ROLES else None
    if ep is None:
        raise NotFound(f"no missing episode {episode_id}")
    try:
        sight = missing_sight(db, user, ep.missing_person_id)
    except NotFound:
        raise NotFound(f"no missing episode {episode_id}") from None
    if not sight.sees_episode(ep.home_id):
        raise NotFound(f"no missing episode {episode_id}")
    return ep, sight


def missing_home_for(db: Session, user: User, home_id: int):
    """A home: police, the council it lies in, its named staff."""
    from saferhub.hub.models import MissingHome

    home = db.get(MissingHome, home_id) if user.role in CASE_ROLES else None
    if home is None or not (is_police(user) or home.council_agency_id == user.agency_id
                            or home_id in staff_home_ids(db, user)):
        raise NotFound(f"no home {home_id}")
    return home


def require_missing_registrar(user: User) -> None:
    """Homes and missing people are registered by the police and councils (case roles)."""
    if user.role not in CASE_ROLES or user.agency is None or user.agency.kind not in ("police", "council"):
        raise Forbidden("homes and missing people are registered by police or council caseworkers and coordinators")


def missing_profile_for(db: Session, user: User, missing_person_id: int):
    """A Philomena profile: only the holding agencies' case roles (anyone else: 404)."""
    from saferhub.hub.models import MissingProfile, MissingProfileHolder

    prof = db.scalar(select(MissingProfile).where(MissingProfile.missing_person_id == missing_person_id)) \
        if user.role in CASE_ROLES else None
    if prof is None or db.get(MissingProfileHolder, (prof.id, user.agency_id)) is None:
        raise NotFound(f"no profile for missing person {missing_person_id}")
    return prof
