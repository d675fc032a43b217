"""A small missing-from-care partnership written straight into a migrated SQLite hub (no app, no
services), for the service-level tests of hub/services/missing*.py (issue 26): built once per
process through `service_world.cached_world`, copied per test.

Who sees what is stated here again from the "missing episodes" text of hub/access.py and
docs/hub.md, without its SQL: `sees_person`, `sees_all_episodes`, `sees_home` are the oracle the
tests hold the services to. Times are offsets from `NOW`, chosen on the edges the figures and
patterns cut at (exactly 30, 90 and 365 days back; month starts; an 18th birthday)."""

from __future__ import annotations

import datetime as dt

from saferhub.hub.models import (
    Agency,
    Case,
    CaseAgency,
    CaseMember,
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
)

from .service_world import NOW, World, _pw

D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
AGENCIES = {"P": "police", "C": "council", "D": "council", "O": "other", "E": "early_help", "Y": "youth"}
# viewer -> (role, agency)
VIEWERS = {"admin.P": ("admin", "P"), "analyst.P": ("analyst", "P"), "coordinator.P": ("coordinator", "P"),
           "caseworker.P": ("caseworker", "P"), "coordinator.C": ("coordinator", "C"),
           "caseworker.C": ("caseworker", "C"), "caseworker.D": ("caseworker", "D"),
           "coordinator.O": ("coordinator", "O"), "staff1.O": ("caseworker", "O"), "staff2.O": ("caseworker", "O"),
           "caseworker.E": ("caseworker", "E"), "caseworker.Y": ("caseworker", "Y")}
CASE_ROLES = ("coordinator", "caseworker")
# home -> kind, places, operator, council, staff
HOMES = {"H1": ("care_home", 4, "O", "C", {"staff1.O"}), "H2": ("care_home", 2, "O", "D", {"staff2.O"}),
         "H3": ("foster_home", 1, "C", "C", set()), "H4": ("family_home", 1, None, "C", set()),
         "H5": ("care_home", 3, "O", None, set())}
# person -> council, current home, case agencies (None: no case), named members, date of birth
PEOPLE = {"M1": ("C", "H1", {"P", "C"}, set(), dt.date(2010, 3, 15)),
          "M2": ("D", "H2", {"P", "D"}, set(), dt.date(2008, 11, 27)),   # 18 on the day of their first episode
          "M3": ("C", "H4", {"P", "C", "E"}, {"caseworker.Y"}, dt.date(2012, 1, 1)),
          "M4": (None, None, {"P"}, set(), None),
          "M5": ("D", "H3", None, set(), dt.date(2001, 6, 30)),
          "M6": ("C", "H1", {"P", "C"}, set(), dt.date(2011, 7, 7))}       # never missing
# (person, home, reported_at, hours to return (None: still missing), found)
EPISODES = [
    ("M1", "H1", NOW - 2 * D, None, None),
    ("M1", "H1", NOW - 20 * D, 30, None),
    ("M1", "H1", NOW - 100 * D, 5, None),
    ("M1", "H1", NOW - 365 * D, 2, None),                     # exactly a year back: outside every year window
    ("M1", "H1", NOW - 400 * D, 8, None),
    ("M1", "H2", NOW - 60 * D, 50, {"uprn": "100", "description": "Shop", "at_home": False}),
    ("M2", "H2", NOW - 10 * D, 3, {"uprn": "100", "description": "Shop again", "at_home": False}),
    ("M2", "H2", NOW - 30 * D, 4, None),                      # exactly 30 days back
    ("M2", "H2", NOW - 200 * D, 6, None),
    ("M2", "H1", NOW - 90 * D, 1, {"description": "  The  Bus   Station ", "at_home": False}),
    ("M3", "H4", NOW - 5 * D, 12, {"uprn": "200", "at_home": True}),
    ("M3", "H4", NOW - 150 * D, 7, {"description": "the bus station", "at_home": False}),
    ("M4", "H5", NOW - 1 * D, 2, {"lon": -2.98765, "lat": 53.40012, "at_home": False}),
    ("M4", "H5", NOW - 364 * D, 26, {"lon": -2.98765, "lat": 53.40012, "at_home": False}),
    ("M4", "H5", NOW - 366 * D, 1, {"uprn": "300", "at_home": False}),   # found places: outside 365 days
    ("M5", "H3", dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc), 9, None),      # a month's first instant
    ("M5", "H3", dt.datetime(2026, 10, 31, 23, 59, 59, tzinfo=dt.timezone.utc), 1, None),
    ("M5", "H3", dt.datetime(2026, 9, 30, 12, tzinfo=dt.timezone.utc), None, None),
]


def role_of(viewer: str) -> str:
    return VIEWERS[viewer][0]


def agency_of(viewer: str) -> str:
    return VIEWERS[viewer][1]


def is_police(viewer: str) -> bool:
    return role_of(viewer) in CASE_ROLES and AGENCIES[agency_of(viewer)] == "police"


def staff_homes(viewer: str) -> set[str]:
    return {h for h, (*_, staff) in HOMES.items() if viewer in staff} if role_of(viewer) in CASE_ROLES else set()


def sees_all_episodes(viewer: str, person: str) -> bool:
    council, _, agencies, members, _ = PEOPLE[person]
    if role_of(viewer) not in CASE_ROLES:
        return False
    return is_police(viewer) or council == agency_of(viewer) or agency_of(viewer) in (agencies or set()) \
        or viewer in members


def sees_person(viewer: str, person: str) -> bool:
    if sees_all_episodes(viewer, person):
        return True
    homes = staff_homes(viewer)
    return bool(homes) and (PEOPLE[person][1] in homes or any(p == person and h in homes
                                                                 for p, h, *_ in EPISODES))


def sees_home(viewer: str, home: str) -> bool:
    if role_of(viewer) not in CASE_ROLES:
        return False
    return is_police(viewer) or HOMES[home][3] == agency_of(viewer) or home in staff_homes(viewer)


def build(db) -> World:
    w = World(db)
    for code, kind in AGENCIES.items():
        a = Agency(code=code, name=f"Agency {code}", kind=kind)
        db.add(a)
        db.flush()
        w.agencies[code] = a.id
    for name, (role, code) in VIEWERS.items():
        u = User(email=f"{name}@x.test", name=f"Officer {name}", agency_id=w.agencies[code], role=role,
                 password_hash=_pw())
        db.add(u)
        db.flush()
        w.users[name] = u.id
    ag = lambda c: None if c is None else w.agencies[c]  # noqa: E731
    homes, people, episodes = {}, {}, {}
    for k, (name, (kind, places, operator, council, staff)) in enumerate(HOMES.items()):
        loc = Location(description=f"{name} address", lsoa=f"E0100000{k}", lon=-3.0 + k / 100, lat=53.4,
                       created_by_agency_id=w.agencies["P"]) if name in ("H1", "H2") else None
        if loc is not None:
            db.add(loc)
            db.flush()
        h = MissingHome(kind=kind, name=f"Home {name}", places=places, operator_agency_id=ag(operator),
                        council_agency_id=ag(council), location_id=loc.id if loc else None,
                        created_by_agency_id=w.agencies["P"])
        db.add(h)
        db.flush()
        for s in staff:
            db.add(MissingHomeStaff(home_id=h.id, user_id=w.users[s]))
        homes[name] = h.id
    for name, (council, home, agencies, members, dob) in PEOPLE.items():
        p = Person(given_name=f"Child{name}", family_name="Test", date_of_birth=dob,
                   created_by_agency_id=w.agencies["P"])
        db.add(p)
        db.flush()
        case_id = None
        if agencies is not None:
            c = Case(kind="missing_episode", title=f"Missing {name}", lead_agency_id=w.agencies["P"],
                     owner_id=w.users["caseworker.P"], locked=True)
            db.add(c)
            db.flush()
            for a in agencies:
                db.add(CaseAgency(case_id=c.id, agency_id=w.agencies[a]))
            for m in members:
                db.add(CaseMember(case_id=c.id, user_id=w.users[m]))
            case_id = c.id
        mp = MissingPerson(person_id=p.id, council_agency_id=ag(council), home_id=homes.get(home), in_care=True,
                           case_id=case_id, created_by_agency_id=w.agencies["P"])
        db.add(mp)
        db.flush()
        people[name] = mp.id
    for person, home, at, hours, found in EPISODES:
        e = MissingEpisode(missing_person_id=people[person], home_id=homes[home], reported_at=at,
                           returned_at=None if hours is None else at + hours * H,
                           created_by_agency_id=w.agencies["P"], risk="low" if found else None)
        db.add(e)
        db.flush()
        if found:
            f = dict(found)
            key = (f"uprn:{f['uprn']}" if f.get("uprn") else f"pt:{f['lon']:.4f},{f['lat']:.4f}" if "lon" in f
                   else "text:" + " ".join(f["description"].lower().split()))
            db.add(MissingFound(episode_id=e.id, place_key=key, **f))
        episodes[e.id] = (person, home, at, hours, found)
    prof = MissingProfile(missing_person_id=people["M1"], description="tall", likely_places="the park")
    db.add(prof)
    db.flush()
    for a in ("C", "O"):
        db.add(MissingProfileHolder(profile_id=prof.id, agency_id=w.agencies[a]))
    db.flush()
    w.facts = {"homes": homes, "people": people, "episodes": episodes, "profile": prof.id}
    return w
