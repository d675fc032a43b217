"""Children missing from home or care: homes, missing people, episodes, where found, Philomena
profiles, and their patterns. Need-to-know is decided in `saferhub.hub.access` ("missing
episodes"); every read is purpose-logged (`audit.disclose`) and every write logged. Rules and
alerts: `missing_alerts.py`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub import missing_patterns as patterns
from saferhub.hub.access import (
    all_episodes_clause,
    is_police,
    missing_episode_for,
    missing_home_for,
    missing_people_clause,
    missing_profile_for,
    missing_sight,
    require_missing_registrar,
    require_role,
    staff_home_ids,
)
from saferhub.hub.errors import Conflict, Forbidden, HubError, NotFound
from saferhub.hub.models import (
    Agency,
    Case,
    CaseAgency,
    CaseMember,
    CasePerson,
    Location,
    MissingEpisode,
    MissingFound,
    MissingHome,
    MissingHomeStaff,
    MissingPerson,
    MissingProfile,
    MissingProfileHolder,
    Person,
    User,
    utcnow,
)
from saferhub.hub.services.common import aware, case_ref, created, versioned, write_log
from saferhub.hub.services.people import known_or_new_person

SIMULATED = "(simulated)"


def mp_ref(mp_id: int) -> str:
    return f"MP-{mp_id:06d}"


# ---------------------------------------------------------------- homes

def home_dict(h: MissingHome, loc: Location | None = None) -> dict:
    d = {"id": h.id, "kind": h.kind, "name": h.name, "places": h.places, "operator_agency_id": h.operator_agency_id,
         "council_agency_id": h.council_agency_id, "simulated": h.simulated, "address": None, "lsoa": None,
         "lon": None, "lat": None}
    if loc is not None:
        d |= {"address": loc.description, "lsoa": loc.lsoa, "lon": loc.lon, "lat": loc.lat}
    return d


def _agency(db: Session, agency_id: int | None, kinds: tuple[str, ...] | None = None, what: str = "agency"):
    if agency_id is None:
        return None
    a = db.get(Agency, agency_id)
    if a is None or (kinds and a.kind not in kinds):
        raise NotFound(f"no {what} {agency_id}")
    return a


def create_home(db: Session, user: User, *, kind: str, name: str, places: int = 1,
                operator_agency_id: int | None = None, council_agency_id: int | None = None,
                address: str | None = None, lsoa: str | None = None, lon: float | None = None,
                lat: float | None = None, simulated: bool = False) -> dict:
    require_missing_registrar(user)
    _agency(db, operator_agency_id, what="operator agency")
    _agency(db, council_agency_id, ("council",), "council")
    if (lon is None) != (lat is None):
        raise HubError("give both lon and lat, or neither")
    loc = None
    if address or lon is not None:
        x = y = None
        if lon is not None:
            from saferhub.geo.project import to_bng

            bx, by = to_bng([lon], [lat])
            x, y = float(bx[0]), float(by[0])
        loc = created(db, user, Location(description=address, lsoa=lsoa, lon=lon, lat=lat, x=x, y=y,
                                         created_by_agency_id=user.agency_id), "location")
    home = created(db, user, MissingHome(kind=kind, name=name, places=places, operator_agency_id=operator_agency_id,
                                         council_agency_id=council_agency_id, location_id=loc.id if loc else None,
                                         created_by_agency_id=user.agency_id, simulated=simulated), "missing_home")
    return home_dict(home, loc)


def add_home_staff(db: Session, user: User, home_id: int, staff_user_id: int) -> dict:
    """The operator's coordinator names the home's staff (users of the operating agency)."""
    home = db.get(MissingHome, home_id)
    if home is None or user.role not in ("coordinator", "caseworker"):
        raise NotFound(f"no home {home_id}")
    if user.role != "coordinator" or home.operator_agency_id != user.agency_id:
        raise Forbidden("only a coordinator of the agency that runs the home names its staff")
    member = db.get(User, staff_user_id)
    if member is None or member.agency_id != home.operator_agency_id or member.role not in ("coordinator", "caseworker"):
        raise NotFound(f"no caseworker or coordinator {staff_user_id} in the agency that runs the home")
    if db.get(MissingHomeStaff, (home.id, member.id)) is None:
        db.add(MissingHomeStaff(home_id=home.id, user_id=member.id))
    write_log(db, user, "share", "missing_home", [home.id], None, {"staff_user_id": member.id})
    return {"home_id": home.id, "user_id": member.id}


def list_homes(db: Session, user: User, purpose: str | None) -> list[dict]:
    purpose = audit.check_purpose(purpose)
    require_role(user, "coordinator", "caseworker")
    q = select(MissingHome, Location).outerjoin(Location, Location.id == MissingHome.location_id)
    if not is_police(user):
        from sqlalchemy import or_

        q = q.where(or_(MissingHome.council_agency_id == user.agency_id,
                        MissingHome.id.in_(staff_home_ids(db, user) or {-1})))
    rows = db.execute(q.order_by(MissingHome.name, MissingHome.id).limit(1000)).all()
    audit.disclose(db, user, purpose, "missing_home", [h.id for h, _ in rows], {"list": True})
    return [home_dict(h, loc) for h, loc in rows]


def home_pattern(db: Session, user: User, home_id: int, purpose: str | None, now: dt.datetime | None = None) -> dict:
    """A home's last 12 months against comparable homes (same kind): aggregate counts only."""
    purpose = audit.check_purpose(purpose)
    home = missing_home_for(db, user, home_id)
    now = now or utcnow()
    since = now - patterns.YEAR
    mine = db.execute(select(MissingEpisode.reported_at, MissingEpisode.missing_person_id)
                      .where(MissingEpisode.home_id == home.id, MissingEpisode.reported_at > since)).all()
    others = db.execute(select(MissingEpisode.reported_at, MissingEpisode.home_id)
                        .join(MissingHome, MissingHome.id == MissingEpisode.home_id)
                        .where(MissingHome.kind == home.kind, MissingHome.id != home.id,
                               MissingEpisode.reported_at > since)).all()
    n_other, other_places = db.execute(select(func.count(), func.coalesce(func.sum(MissingHome.places), 0))
                                       .where(MissingHome.kind == home.kind, MissingHome.id != home.id)).one()
    out = patterns.home_pattern([t for t, _ in mine], home.places, others, int(other_places), int(n_other), now,
                                residents=len({p for _, p in mine}))
    audit.disclose(db, user, purpose, "missing_home", [home.id], {"pattern": True})
    loc = db.get(Location, home.location_id) if home.location_id else None
    return {"home": home_dict(home, loc)} | out


# ---------------------------------------------------------------- people

def _person_dict(mp: MissingPerson, p: Person, home: MissingHome | None) -> dict:
    return {"id": mp.id, "ref": mp_ref(mp.id), "person_id": p.id, "name": f"{p.given_name} {p.family_name}",
            "date_of_birth": p.date_of_birth, "council_agency_id": mp.council_agency_id, "in_care": mp.in_care,
            "home": None if home is None else {"id": home.id, "name": home.name, "kind": home.kind},
            "case_id": mp.case_id, "case_ref": case_ref(mp.case_id) if mp.case_id else None,
            "simulated": mp.simulated}


def create_missing_person(db: Session, user: User, *, council_agency_id: int | None = None,
                          home_id: int | None = None, in_care: bool = False, person_id: int | None = None,
                          given_name: str | None = None, family_name: str | None = None,
                          date_of_birth: dt.date | None = None, simulated: bool = False) -> dict:
    """Register someone reported missing, and open their hub case (kind missing_episode, worked by
    the registering agency, the person's council and the police) for the rules' referrals."""
    require_missing_registrar(user)
    _agency(db, council_agency_id, ("council",), "council")
    home = missing_home_for(db, user, home_id) if home_id is not None else None
    person = known_or_new_person(db, user, person_id, given_name, family_name, date_of_birth)
    if person_id is not None and db.scalar(select(MissingPerson.id).where(MissingPerson.person_id == person_id)) \
            is not None:
        raise Conflict(f"person {person_id} is already registered as a missing person")
    mp = MissingPerson(person_id=person.id, council_agency_id=council_agency_id, home_id=home.id if home else None,
                       in_care=in_care, created_by_agency_id=user.agency_id, simulated=simulated)
    db.add(mp)
    db.flush()
    case = Case(kind="missing_episode", title=f"Missing from home or care: {mp_ref(mp.id)}"
                + (f" {SIMULATED}" if simulated else ""), lead_agency_id=user.agency_id, owner_id=user.id,
                locked=True)  # a child's name stays with the agencies working it, not every coordinator
    db.add(case)
    db.flush()
    police = set(db.scalars(select(Agency.id).where(Agency.kind == "police")))
    for aid in {user.agency_id, *police} | ({council_agency_id} if council_agency_id else set()):
        db.add(CaseAgency(case_id=case.id, agency_id=aid))
    db.add(CaseMember(case_id=case.id, user_id=user.id))
    db.add(CasePerson(case_id=case.id, person_id=person.id, role="subject"))
    mp.case_id = case.id
    db.flush()
    write_log(db, user, "create", "missing_person", [mp.id], None, {"case_id": case.id, "person_id": person.id})
    return _person_dict(mp, person, home)


def list_missing_people(db: Session, user: User, purpose: str | None, limit: int = 500) -> list[dict]:
    purpose = audit.check_purpose(purpose)
    require_role(user, "coordinator", "caseworker")
    rows = db.execute(select(MissingPerson, Person, MissingHome, all_episodes_clause(user).label("all_episodes"))
                      .join(Person, Person.id == MissingPerson.person_id)
                      .outerjoin(MissingHome, MissingHome.id == MissingPerson.home_id)
                      .where(missing_people_clause(db, user)).order_by(MissingPerson.id).limit(limit)).all()
    # as in get_missing_person: whoever sees every episode sees the current home; a home's staff
    # see it only when it is their own
    mine = staff_home_ids(db, user)
    out = [_person_dict(mp, p, h if (h is None or every or h.id in mine) else None) for mp, p, h, every in rows]
    audit.disclose(db, user, purpose, "missing_person", [d["id"] for d in out],
                   {"list": True, "homes": sorted({d["home"]["id"] for d in out if d["home"]})})
    return out


def episode_dict(ep: MissingEpisode, home: MissingHome, found: MissingFound | None, show_found: bool) -> dict:
    d = {"id": ep.id, "missing_person_id": ep.missing_person_id, "home": {"id": home.id, "name": home.name,
                                                                         "kind": home.kind},
         "reported_at": aware(ep.reported_at), "returned_at": aware(ep.returned_at), "risk": ep.risk,
         "interview_offered_at": aware(ep.interview_offered_at), "interview_done_at": aware(ep.interview_done_at),
         "interview_by": ep.interview_by, "interview_declined": ep.interview_declined,
         "interview_due_by": aware(ep.returned_at) + dt.timedelta(hours=72) if ep.returned_at else None,
         "simulated": ep.simulated, "version": ep.version, "found": None}
    if show_found and found is not None:
        d["found"] = {"description": found.description, "uprn": found.uprn, "lon": found.lon, "lat": found.lat,
                      "at_home": found.at_home}
    return d


def _episodes(db: Session, mp_id: int, sight) -> list[tuple]:
    q = (select(MissingEpisode, MissingHome, MissingFound)
         .join(MissingHome, MissingHome.id == MissingEpisode.home_id)
         .outerjoin(MissingFound, MissingFound.episode_id == MissingEpisode.id)
         .where(MissingEpisode.missing_person_id == mp_id))
    if not sight.all_episodes:
        q = q.where(MissingEpisode.home_id.in_(sight.homes))
    return db.execute(q.order_by(MissingEpisode.reported_at.desc(), MissingEpisode.id)).all()


def get_missing_person(db: Session, user: User, mp_id: int, purpose: str | None,
                       now: dt.datetime | None = None) -> dict:
    """The person, the episodes this user may see, their pattern over those episodes, and (police
    only) where they were found."""
    purpose = audit.check_purpose(purpose)
    sight = missing_sight(db, user, mp_id)
    mp = sight.person
    person = db.get(Person, mp.person_id)
    home = db.get(MissingHome, mp.home_id) if mp.home_id is not None else None
    if home is not None and not sight.all_episodes and home.id not in sight.homes:
        home = None  # another home's name is not this home's staff's business
    rows = _episodes(db, mp.id, sight)
    d = _person_dict(mp, person, home)
    d["episodes"] = [episode_dict(ep, h, f, sight.found) for ep, h, f in rows]
    d["pattern"] = patterns.person_pattern([(ep.reported_at, ep.returned_at) for ep, _, _ in rows], now or utcnow())
    d["seen_as"] = "all episodes" if sight.all_episodes else "episodes from your home only"
    d["grades_risk"] = sight.found  # the force grades risk and records where found (record_episode's rule)
    audit.disclose(db, user, purpose, "missing_person", [mp.id], {
        "episodes": [ep.id for ep, _, _ in rows],
        "homes": sorted({h.id for _, h, _ in rows} | ({home.id} if home is not None else set()))})
    found = [ep.id for ep, _, f in rows if f is not None]
    if sight.found and found:
        audit.disclose(db, user, purpose, "missing_found", found)
    return d


def _found_key(uprn: str | None, lon: float | None, lat: float | None, description: str | None) -> str | None:
    if uprn:
        return f"uprn:{uprn}"
    if lon is not None and lat is not None:
        return f"pt:{lon:.4f},{lat:.4f}"  # about 10 m: the same doorway, not the same street
    if description:
        return "text:" + " ".join(description.lower().split())[:110]
    return None


def _set_found(db: Session, ep: MissingEpisode, found: dict) -> None:
    f = db.get(MissingFound, ep.id) or MissingFound(episode_id=ep.id)
    f.description, f.uprn, f.lon, f.lat = (found.get(k) for k in ("description", "uprn", "lon", "lat"))
    f.at_home = bool(found.get("at_home"))
    f.place_key = _found_key(f.uprn, f.lon, f.lat, f.description)
    db.add(f)


def _check_times(reported, returned, offered, done) -> None:
    if returned is not None and returned < reported:
        raise HubError("returned_at is before reported_at")
    for name, t in (("interview_offered_at", offered), ("interview_done_at", done)):
        if t is not None and (returned is None or t < returned):
            raise HubError(f"{name} must be after the return (returned_at)")


def record_episode(db: Session, user: User, mp_id: int, *, home_id: int, reported_at: dt.datetime,
                   returned_at: dt.datetime | None = None, risk: str | None = None,
                   interview_offered_at: dt.datetime | None = None, interview_done_at: dt.datetime | None = None,
                   interview_by: str | None = None, interview_declined: bool = False,
                   found: dict | None = None, simulated: bool = False) -> dict:
    """A home's staff record episodes from their own home; police and the council from any home.
    The risk grading and where found are the force's to record."""
    sight = missing_sight(db, user, mp_id)
    home = db.get(MissingHome, home_id)
    if home is None or not sight.sees_episode(home_id):
        raise NotFound(f"no home {home_id}")
    if (risk is not None or found is not None) and not sight.found:
        raise Forbidden("the risk grading and where the person was found are recorded by the police")
    reported_at, returned_at = aware(reported_at), aware(returned_at)
    _check_times(reported_at, returned_at, aware(interview_offered_at), aware(interview_done_at))
    ep = MissingEpisode(missing_person_id=mp_id, home_id=home_id, reported_at=reported_at, returned_at=returned_at,
                        risk=risk, interview_offered_at=interview_offered_at, interview_done_at=interview_done_at,
                        interview_by=interview_by, interview_declined=interview_declined,
                        created_by_agency_id=user.agency_id, simulated=simulated)
    created(db, user, ep, "missing_episode", {"missing_person_id": mp_id, "home_id": home_id})
    if found is not None:
        _set_found(db, ep, found)
        db.flush()
    return episode_dict(ep, home, db.get(MissingFound, ep.id), sight.found)


EPISODE_FIELDS = ("returned_at", "risk", "interview_offered_at", "interview_done_at", "interview_by",
                  "interview_declined")
POLICE_FIELDS = ("risk", "found")


def update_episode(db: Session, user: User, episode_id: int, version: int, changes: dict) -> dict:
    ep, sight = missing_episode_for(db, user, episode_id)
    unknown = set(changes) - set(EPISODE_FIELDS) - {"found"}
    if unknown:
        raise HubError(f"{sorted(unknown)} cannot be changed here")
    if set(changes) & set(POLICE_FIELDS) and not sight.found:
        raise Forbidden("the risk grading and where the person was found are recorded by the police")
    with versioned(db, ep, version, f"missing episode {episode_id}"):
        for k in EPISODE_FIELDS:
            if k in changes:
                setattr(ep, k, aware(changes[k]) if k.endswith("_at") else changes[k])
        _check_times(aware(ep.reported_at), aware(ep.returned_at), aware(ep.interview_offered_at),
                     aware(ep.interview_done_at))
        if "found" in changes and changes["found"] is not None:
            _set_found(db, ep, changes["found"])
    write_log(db, user, "update", "missing_episode", [ep.id], None, {"fields": sorted(changes)})
    return episode_dict(ep, db.get(MissingHome, ep.home_id), db.get(MissingFound, ep.id), sight.found)


# ---------------------------------------------------------------- Philomena profiles

PROFILE_FIELDS = ("description", "likely_places", "associates", "health")


def _profile_dict(p: MissingProfile, holders: list[int]) -> dict:
    return {"missing_person_id": p.missing_person_id, **{k: getattr(p, k) for k in PROFILE_FIELDS},
            "holders": sorted(holders), "updated_at": aware(p.updated_at), "version": p.version}


def _holders(db: Session, profile_id: int) -> list[int]:
    return list(db.scalars(select(MissingProfileHolder.agency_id).where(MissingProfileHolder.profile_id == profile_id)))


def put_profile(db: Session, user: User, mp_id: int, fields: dict, holders: list[int] | None = None,
                version: int | None = None) -> dict:
    """Prepare (anyone who sees the person) or update (the holding agencies) a Philomena profile;
    `holders` adds agencies to share it with. The writer's agency always holds it."""
    missing_sight(db, user, mp_id)
    for aid in holders or []:
        _agency(db, aid)
    prof = db.scalar(select(MissingProfile).where(MissingProfile.missing_person_id == mp_id))
    if prof is None:
        prof = MissingProfile(missing_person_id=mp_id, **{k: fields.get(k) for k in PROFILE_FIELDS})
        created(db, user, prof, "missing_profile", {"missing_person_id": mp_id})
    else:
        prof = missing_profile_for(db, user, mp_id)
        if version is None:
            raise Conflict("this person's profile exists: send the version you read to change it")
        with versioned(db, prof, version, f"the profile of {mp_ref(mp_id)}"):
            for k in PROFILE_FIELDS:
                if k in fields:
                    setattr(prof, k, fields[k])
            prof.updated_at = utcnow()
        write_log(db, user, "update", "missing_profile", [prof.id], None, {"fields": sorted(fields)})
    have = set(_holders(db, prof.id))
    for aid in {user.agency_id, *(holders or [])} - have:
        db.add(MissingProfileHolder(profile_id=prof.id, agency_id=aid))
    db.flush()
    return _profile_dict(prof, _holders(db, prof.id))


def get_profile(db: Session, user: User, mp_id: int, purpose: str | None) -> dict:
    purpose = audit.check_purpose(purpose)
    missing_sight(db, user, mp_id)
    prof = missing_profile_for(db, user, mp_id)
    audit.disclose(db, user, purpose, "missing_profile", [prof.id], {"missing_person_id": mp_id})
    return _profile_dict(prof, _holders(db, prof.id))
