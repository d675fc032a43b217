"""Children missing from care (hub/services/missing.py) at service level (issue 26): homes, people,
episodes, where found and Philomena profiles, for every viewer of tests/hub/missing_world.py, held
to the need-to-know stated there (not access.py's SQL); each person's pattern recomputed here from
the episodes written; every read and write against the audit table."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pyproj import Transformer
from sqlalchemy import select

from saferhub.hub import audit
from saferhub.hub.errors import Conflict, Forbidden, HubError, NotFound
from saferhub.hub.models import (
    Case,
    CaseAgency,
    CaseMember,
    CasePerson,
    Location,
    MissingEpisode,
    MissingFound,
    MissingHome,
    MissingHomeStaff,
    MissingProfileHolder,
)
from saferhub.hub.services import missing

from . import missing_world as mw
from .missing_world import CASE_ROLES, EPISODES, HOMES, PEOPLE, VIEWERS, role_of, sees_all_episodes, sees_home, \
    sees_person, staff_homes
from .service_world import NOW, PURPOSE, cached_world, ids_of, reads, refused

D, H = dt.timedelta(days=1), dt.timedelta(hours=1)


@pytest.fixture
def world(tmp_path):
    engine, w = cached_world(tmp_path, mw.build)
    yield w
    w.db.close()
    engine.dispose()


def row(r) -> tuple:
    return (r.action, r.entity, ids_of(r), r.purpose, r.user_id, json.loads(r.detail))


# ---------------------------------------------------------------- homes

def test_homes_are_listed_to_police_their_council_and_their_staff_and_logged(world):
    w, homes = world, world.facts["homes"]
    for viewer in VIEWERS:
        call = lambda: missing.list_homes(w.db, w.user(viewer), PURPOSE)  # noqa: E731
        if role_of(viewer) not in CASE_ROLES:
            refused(w, call, Forbidden)
            continue
        got, rows = reads(w.db, call)
        want = [homes[h] for h in sorted(HOMES) if sees_home(viewer, h)]   # names "Home H1".. sort as keys
        assert [d["id"] for d in got] == want, viewer
        assert [row(r) for r in rows] == [("read", "missing_home", want, PURPOSE, w.users[viewer], {"list": True})]
    refused(w, lambda: missing.list_homes(w.db, w.user("caseworker.P"), "ab"), audit.MissingPurpose)
    got = {d["id"]: d for d in missing.list_homes(w.db, w.user("caseworker.P"), PURPOSE)}
    h1, h3 = got[homes["H1"]], got[homes["H3"]]
    assert h1 == {"id": homes["H1"], "kind": "care_home", "name": "Home H1", "places": 4,
                  "operator_agency_id": w.agencies["O"], "council_agency_id": w.agencies["C"], "simulated": False,
                  "address": "H1 address", "lsoa": "E01000000", "lon": -3.0, "lat": 53.4}
    assert (h3["address"], h3["lsoa"], h3["lon"], h3["lat"], h3["council_agency_id"]) == (
        None, None, None, None, w.agencies["C"])


def _in_year(at):
    return NOW - 365 * D < at <= NOW


def test_home_pattern_counts_against_comparable_homes_recomputed(world):
    w, homes = world, world.facts["homes"]
    months = []
    y, m = NOW.year, NOW.month
    for _ in range(12):
        months.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    months.reverse()
    for viewer in VIEWERS:
        for home, (kind, places, *_) in HOMES.items():
            call = lambda: missing.home_pattern(w.db, w.user(viewer), homes[home], PURPOSE, now=NOW)  # noqa: E731
            if not sees_home(viewer, home):
                refused(w, call, NotFound)
                continue
            got, rows = reads(w.db, call)
            assert [row(r) for r in rows] == [("read", "missing_home", [homes[home]], PURPOSE, w.users[viewer],
                                               {"pattern": True})]
            mine = [(p, at) for p, h, at, *_ in EPISODES if h == home and _in_year(at)]
            others = [h for h, (k, *_) in HOMES.items() if k == kind and h != home]
            theirs = [at for p, h, at, *_ in EPISODES if h in others and _in_year(at)]
            other_places = sum(HOMES[h][1] for h in others)
            assert got["home"]["id"] == homes[home] and got["home"]["name"] == f"Home {home}"
            assert got["residents_with_episodes"] == len({p for p, _ in mine})
            assert got["home_rate"]["episodes"] == len(mine)
            assert got["home_rate"]["place_years"] == places
            assert got["home_rate"]["per_place_year"] == round(len(mine) / places, 3)
            assert got["comparable_homes"] == len(others)
            assert got["home_per_month"] == [sum((at.year, at.month) == ym for _, at in mine) for ym in months]
            if other_places:
                assert got["comparable"]["episodes"] == len(theirs)
                assert got["comparable"]["place_years"] == other_places
            else:
                assert got["comparable"] is None
            recent = sum(at > NOW - dt.timedelta(days=182.5) for _, at in mine)
            assert (got["home_trend"]["last_6_months"], got["home_trend"]["previous_6_months"]) == (
                recent, len(mine) - recent)
    # by hand: H1 has M1 (2, 20, 100 days back) and M2 (90 days back); 365 and 400 days back are out
    got = missing.home_pattern(w.db, w.user("coordinator.C"), homes["H1"], PURPOSE, now=NOW)
    assert (got["home_rate"]["episodes"], got["residents_with_episodes"], got["comparable"]["episodes"],
            got["comparable"]["place_years"], got["comparable_homes"]) == (4, 2, 6, 5, 2)
    got = missing.home_pattern(w.db, w.user("coordinator.C"), homes["H3"], PURPOSE, now=NOW)
    assert (got["home_rate"]["episodes"], got["comparable"], got["comparable_homes"]) == (3, None, 0)


# ---------------------------------------------------------------- people and episodes

def _home_shown(viewer, person):
    home = PEOPLE[person][1]
    return home if home is not None and (sees_all_episodes(viewer, person) or home in staff_homes(viewer)) else None


def test_missing_people_are_listed_by_the_sight_rule_with_homes_only_where_due(world):
    w, people, homes = world, world.facts["people"], world.facts["homes"]
    for viewer in VIEWERS:
        call = lambda: missing.list_missing_people(w.db, w.user(viewer), PURPOSE)  # noqa: E731
        if role_of(viewer) not in CASE_ROLES:
            refused(w, call, Forbidden)
            continue
        got, rows = reads(w.db, call)
        want = [p for p in sorted(PEOPLE, key=people.get) if sees_person(viewer, p)]
        assert [d["id"] for d in got] == [people[p] for p in want], viewer
        shown = {p: _home_shown(viewer, p) for p in want}
        assert [d["home"] and d["home"]["id"] for d in got] == [homes.get(shown[p]) for p in want], viewer
        assert [row(r) for r in rows] == [("read", "missing_person", [people[p] for p in want], PURPOSE,
                                           w.users[viewer], {"list": True, "homes": sorted(
                                               {homes[h] for h in shown.values() if h})})]
    got = missing.list_missing_people(w.db, w.user("caseworker.P"), PURPOSE, limit=2)
    assert [d["id"] for d in got] == [people["M1"], people["M2"]]
    m1 = got[0]
    case_id = w.db.scalar(select(Case.id).where(Case.title == "Missing M1"))
    assert m1 == {"id": people["M1"], "ref": f"MP-{people['M1']:06d}", "person_id": m1["person_id"],
                  "name": "ChildM1 Test", "date_of_birth": dt.date(2010, 3, 15), "council_agency_id": w.agencies["C"],
                  "in_care": True, "home": {"id": homes["H1"], "name": "Home H1", "kind": "care_home"},
                  "case_id": case_id, "case_ref": m1["case_ref"], "simulated": False}
    assert m1["case_ref"] and str(case_id) in m1["case_ref"]
    m5 = [d for d in missing.list_missing_people(w.db, w.user("caseworker.P"), PURPOSE) if d["id"] == people["M5"]]
    assert (m5[0]["case_id"], m5[0]["case_ref"]) == (None, None)


def _pattern(eps):
    """The person pattern, recomputed: counts by report time, nights and hours over the year."""
    out = {f"last_{d}_days": sum(NOW - d * D < at <= NOW for at, _ in eps) for d in (30, 90, 365)}
    year = [(at, hrs) for at, hrs in eps if _in_year(at)]
    hours = sorted(h for _, h in year if h is not None)
    out["nights_missing_365_days"] = sum(((at + h * H if h is not None else NOW).date() - at.date()).days
                                         for at, h in year)
    n = len(hours)
    med = None if not n else hours[n // 2] if n % 2 else (hours[n // 2 - 1] + hours[n // 2]) / 2
    out["hours_to_return_median"] = None if med is None else round(med, 1)
    out["hours_to_return_longest"] = max(hours) if hours else None
    out["missing_now"] = any(h is None for _, h in eps)
    out["episodes_total"] = len(eps)
    return out


def test_a_person_s_episodes_pattern_and_found_places_follow_the_sight_rule(world):
    w, people, homes = world, world.facts["people"], world.facts["homes"]
    eps_of = {}
    for ep_id, (p, h, at, hrs, found) in sorted(w.facts["episodes"].items()):
        eps_of.setdefault(p, []).append((ep_id, h, at, hrs, found))
    for viewer in VIEWERS:
        for person in PEOPLE:
            call = lambda: missing.get_missing_person(w.db, w.user(viewer), people[person], PURPOSE,  # noqa: E731
                                                      now=NOW)
            if not sees_person(viewer, person):
                refused(w, call, NotFound)
                continue
            got, rows = reads(w.db, call)
            every = sees_all_episodes(viewer, person)
            mine = [e for e in eps_of.get(person, []) if every or e[1] in staff_homes(viewer)]
            mine.sort(key=lambda e: (-e[2].timestamp(), e[0]))
            police = mw.is_police(viewer)
            assert [e["id"] for e in got["episodes"]] == [e[0] for e in mine], (viewer, person)
            for e, (ep_id, h, at, hrs, found) in zip(got["episodes"], mine):
                assert (e["home"]["id"], e["reported_at"], e["returned_at"]) == (
                    homes[h], at, None if hrs is None else at + hrs * H)
                assert e["interview_due_by"] == (None if hrs is None else at + (hrs + 72) * H)
                assert e["found"] == (None if not (police and found) else {
                    "description": found.get("description"), "uprn": found.get("uprn"), "lon": found.get("lon"),
                    "lat": found.get("lat"), "at_home": found["at_home"]})
            assert got["pattern"] == _pattern([(at, hrs) for _, _, at, hrs, _ in mine]), (viewer, person)
            shown = _home_shown(viewer, person)
            assert (got["home"] and got["home"]["id"]) == homes.get(shown)
            assert got["seen_as"] == ("all episodes" if every else "episodes from your home only")
            assert got["grades_risk"] is police
            want = [("read", "missing_person", [people[person]], PURPOSE, w.users[viewer], {
                "episodes": [e[0] for e in mine],
                "homes": sorted({homes[e[1]] for e in mine} | ({homes[shown]} if shown else set()))})]
            found_ids = [e[0] for e in mine if e[4]]
            if police and found_ids:
                want.append(("read", "missing_found", found_ids, PURPOSE, w.users[viewer], {}))
            assert [row(r) for r in rows] == want, (viewer, person)
    refused(w, lambda: missing.get_missing_person(w.db, w.user("caseworker.P"),
                                                   people["M1"], None), audit.MissingPurpose)
    refused(w, lambda: missing.get_missing_person(w.db, w.user("caseworker.P"), 10**6, PURPOSE), NotFound)


def test_by_hand_m1_seen_by_police_and_by_the_staff_of_one_home(world):
    w, people = world, world.facts["people"]
    got = missing.get_missing_person(w.db, w.user("caseworker.P"), people["M1"], PURPOSE, now=NOW)
    # 2 (open: 2 nights to now), 20 (30 h), 60 (50 h), 100 (5 h) days back; 365 and 400 days back are out
    assert got["pattern"] == {"last_30_days": 2, "last_90_days": 3, "last_365_days": 4,
                              "nights_missing_365_days": 2 + 1 + 2 + 0, "hours_to_return_median": 30.0,
                              "hours_to_return_longest": 50.0, "missing_now": True, "episodes_total": 6}
    staff = missing.get_missing_person(w.db, w.user("staff2.O"), people["M1"], PURPOSE, now=NOW)
    assert [e["home"]["name"] for e in staff["episodes"]] == ["Home H2"] and staff["home"] is None
    assert staff["pattern"]["episodes_total"] == 1 and staff["pattern"]["hours_to_return_median"] == 50.0


# ---------------------------------------------------------------- recording and updating episodes

def test_recording_an_episode_checks_home_times_and_police_fields(world):
    w, people, homes = world, world.facts["people"], world.facts["homes"]
    t0 = NOW - 3 * D
    rec = lambda viewer, **kw: missing.record_episode(w.db, w.user(viewer), people["M1"], **kw)  # noqa: E731
    refused(w, lambda: rec("staff1.O", home_id=homes["H2"], reported_at=t0), NotFound)
    refused(w, lambda: rec("caseworker.C", home_id=10**6, reported_at=t0), NotFound)
    refused(w, lambda: rec("caseworker.D", home_id=homes["H1"], reported_at=t0), NotFound)
    refused(w, lambda: rec("caseworker.C", home_id=homes["H1"], reported_at=t0, risk="low"), Forbidden)
    refused(w, lambda: rec("staff1.O", home_id=homes["H1"], reported_at=t0, found={"uprn": "1"}), Forbidden)
    refused(w, lambda: rec("caseworker.C", home_id=homes["H1"], reported_at=t0, returned_at=t0 - 1e-3 * H), HubError)
    refused(w, lambda: rec("caseworker.C", home_id=homes["H1"], reported_at=t0, interview_done_at=t0), HubError)
    refused(w, lambda: rec("caseworker.C", home_id=homes["H1"], reported_at=t0, returned_at=t0 + H,
                           interview_offered_at=t0 + 0.5 * H), HubError)
    refused(w, lambda: rec("caseworker.C", home_id=homes["H1"], reported_at=t0, returned_at=t0 + H,
                           interview_done_at=t0 + 0.999 * H), HubError)
    # the edges are allowed: back the instant reported, interview offered and done the instant back
    got, rows = reads(w.db, lambda: rec("staff1.O", home_id=homes["H1"], reported_at=t0.replace(tzinfo=None),
                                        returned_at=t0, interview_offered_at=t0, interview_done_at=t0,
                                        interview_by="Ann", interview_declined=True, simulated=True))
    assert (got["reported_at"], got["returned_at"], got["interview_due_by"], got["interview_by"],
            got["interview_declined"], got["simulated"], got["risk"], got["found"], got["home"]["id"]) == (
        t0, t0, t0 + 72 * H, "Ann", True, True, None, None, homes["H1"])
    assert [row(r) for r in rows] == [("create", "missing_episode", [got["id"]], "create missing_episode",
                                       w.users["staff1.O"], {"missing_person_id": people["M1"],
                                                             "home_id": homes["H1"]})]
    ep = w.db.get(MissingEpisode, got["id"])
    assert (ep.created_by_agency_id, ep.missing_person_id) == (w.agencies["O"], people["M1"])
    got = rec("caseworker.P", home_id=homes["H2"], reported_at=t0, risk="high",
              found={"uprn": "77", "description": "x", "lon": 1.0, "lat": 2.0, "at_home": 1})
    assert got["risk"] == "high" and got["found"] == {"description": "x", "uprn": "77", "lon": 1.0, "lat": 2.0,
                                                      "at_home": True}
    assert w.db.get(MissingFound, got["id"]).place_key == "uprn:77"


def _found_key(w, viewer, ep_id, found):
    ep = w.db.get(MissingEpisode, ep_id)
    missing.update_episode(w.db, w.user(viewer), ep_id, ep.version, {"found": found})
    return w.db.get(MissingFound, ep_id).place_key


def test_the_place_found_key_uprn_then_a_10_m_point_then_the_words(world):
    w = world
    ep = next(i for i, (p, h, *_) in w.facts["episodes"].items() if (p, h) == ("M1", "H1"))
    key = lambda found: _found_key(w, "caseworker.P", ep, found)  # noqa: E731
    assert key({"uprn": "12", "lon": 1.0, "lat": 2.0, "description": "x"}) == "uprn:12"
    assert key({"lon": -2.987649, "lat": 53.400051, "description": "x"}) == "pt:-2.9876,53.4001"
    assert key({"lon": 0.0, "lat": 0.0}) == "pt:0.0000,0.0000"
    assert key({"lon": 1.0, "description": "A  Park"}) == "text:a park"
    assert key({"lat": 1.0, "description": " The\tOld  MILL "}) == "text:the old mill"
    assert key({"description": "w" * 200}) == "text:" + "w" * 110
    assert key({"uprn": "", "description": ""}) is None
    f = w.db.get(MissingFound, ep)
    assert (f.uprn, f.description, f.at_home) == ("", "", False)


def test_updating_an_episode_is_versioned_field_checked_and_logged(world):
    w = world
    ep_id = next(i for i, (p, h, *_) in w.facts["episodes"].items() if (p, h) == ("M2", "H1"))
    ep = w.db.get(MissingEpisode, ep_id)
    v, back = ep.version, ep.returned_at.replace(tzinfo=dt.timezone.utc)
    refused(w, lambda: missing.update_episode(w.db, w.user("staff2.O"), ep_id, v, {"interview_by": "x"}), NotFound)
    refused(w, lambda: missing.update_episode(w.db, w.user("admin.P"), ep_id, v, {"interview_by": "x"}), NotFound)
    refused(w, lambda: missing.update_episode(w.db, w.user("caseworker.D"), ep_id, v, {"reported_at": NOW}), HubError)
    for change in ({"risk": "low"}, {"found": None}):
        refused(w, lambda: missing.update_episode(w.db, w.user("caseworker.D"), ep_id, v, change), Forbidden)
    refused(w, lambda: missing.update_episode(w.db, w.user("caseworker.D"), ep_id, v + 1,
                                              {"interview_by": "x"}), Conflict)
    refused(w, lambda: missing.update_episode(w.db, w.user("caseworker.D"), ep_id, v,
                                              {"interview_done_at": back - 1e-3 * H}), HubError)
    got, rows = reads(w.db, lambda: missing.update_episode(
        w.db, w.user("staff1.O"), ep_id, v, {"interview_done_at": back.replace(tzinfo=None), "interview_by": "Bo",
                                             "interview_declined": True}))
    assert (got["interview_done_at"], got["interview_by"], got["interview_declined"], got["version"], got["found"]) \
        == (back, "Bo", True, v + 1, None)
    assert [row(r) for r in rows] == [("update", "missing_episode", [ep_id], "update missing_episode",
                                       w.users["staff1.O"], {"fields": ["interview_by", "interview_declined",
                                                                        "interview_done_at"]})]
    got = missing.update_episode(w.db, w.user("caseworker.P"), ep_id, v + 1, {"risk": "medium", "found": None})
    assert got["risk"] == "medium" and got["found"]["description"] == "  The  Bus   Station "
    got = missing.update_episode(w.db, w.user("caseworker.P"), ep_id, v + 2, {"returned_at": None,
                                                                                  "interview_done_at": None})
    assert got["returned_at"] is None and got["interview_due_by"] is None and got["found"]["at_home"] is False
    assert w.db.get(MissingEpisode, ep_id).returned_at is None


# ---------------------------------------------------------------- registering homes, staff and people

def test_registering_a_home_is_for_police_and_councils_with_its_place_projected(world):
    w = world
    for viewer in VIEWERS:
        call = lambda: missing.create_home(w.db, w.user(viewer), kind="care_home", name="New")  # noqa: E731
        if not (role_of(viewer) in CASE_ROLES and mw.AGENCIES[mw.agency_of(viewer)] in ("police", "council")):
            refused(w, call, Forbidden)
    u = w.user("caseworker.C")
    refused(w, lambda: missing.create_home(w.db, u, kind="care_home", name="x", council_agency_id=w.agencies["O"]),
            NotFound)
    refused(w, lambda: missing.create_home(w.db, u, kind="care_home", name="x", operator_agency_id=10**6), NotFound)
    refused(w, lambda: missing.create_home(w.db, u, kind="care_home", name="x", council_agency_id=10**6), NotFound)
    for lon, lat in ((-3.0, None), (None, 53.4)):
        refused(w, lambda: missing.create_home(w.db, u, kind="care_home", name="x", lon=lon, lat=lat), HubError)
    got, rows = reads(w.db, lambda: missing.create_home(
        w.db, u, kind="foster_home", name="Fir", places=2, operator_agency_id=w.agencies["O"],
        council_agency_id=w.agencies["C"], address="1 Fir Rd", lsoa="E01", lon=-2.99, lat=53.41, simulated=True))
    home = w.db.get(MissingHome, got["id"])
    loc = w.db.get(Location, home.location_id)
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(-2.99, 53.41)
    assert (loc.x, loc.y) == pytest.approx((x, y), abs=0.01)
    assert (loc.description, loc.lsoa, loc.created_by_agency_id) == ("1 Fir Rd", "E01", w.agencies["C"])
    assert got == {"id": home.id, "kind": "foster_home", "name": "Fir", "places": 2,
                   "operator_agency_id": w.agencies["O"], "council_agency_id": w.agencies["C"], "simulated": True,
                   "address": "1 Fir Rd", "lsoa": "E01", "lon": -2.99, "lat": 53.41}
    assert home.created_by_agency_id == w.agencies["C"]
    assert [(r.action, r.entity, ids_of(r), r.user_id) for r in rows] == [
        ("create", "location", [loc.id], u.id), ("create", "missing_home", [home.id], u.id)]
    got, rows = reads(w.db, lambda: missing.create_home(w.db, u, kind="other", name="Bare"))
    assert got["address"] is None and w.db.get(MissingHome, got["id"]).location_id is None
    assert [r.entity for r in rows] == ["missing_home"]
    got = missing.create_home(w.db, u, kind="other", name="Words", address="by the canal")
    loc = w.db.get(Location, w.db.get(MissingHome, got["id"]).location_id)
    assert (loc.description, loc.x, loc.lon) == ("by the canal", None, None)
    got = missing.create_home(w.db, u, kind="other", name="Point", lon=-3.0, lat=53.4)
    assert got["lon"] == -3.0 and got["address"] is None


def test_naming_a_home_s_staff_is_for_the_operator_s_coordinator(world):
    w, homes = world, world.facts["homes"]
    add = lambda viewer, home, staff: missing.add_home_staff(  # noqa: E731
        w.db, w.user(viewer), homes[home], w.users[staff])
    refused(w, lambda: add("admin.P", "H1", "staff2.O"), NotFound)
    refused(w, lambda: missing.add_home_staff(w.db, w.user("coordinator.O"), 10**6, w.users["staff2.O"]), NotFound)
    for viewer in ("staff1.O", "coordinator.C", "coordinator.P"):
        refused(w, lambda: add(viewer, "H1", "staff2.O"), Forbidden)
    refused(w, lambda: add("coordinator.O", "H4", "staff2.O"), Forbidden)   # H4 has no operator
    for staff in ("caseworker.C", "admin.P"):
        refused(w, lambda: add("coordinator.O", "H1", staff), NotFound)
    refused(w, lambda: missing.add_home_staff(w.db, w.user("coordinator.O"), homes["H1"], 10**6), NotFound)
    for _ in range(2):   # twice: one staff row, two log rows
        got, rows = reads(w.db, lambda: add("coordinator.O", "H1", "staff2.O"))
        assert got == {"home_id": homes["H1"], "user_id": w.users["staff2.O"]}
        assert [row(r) for r in rows] == [("share", "missing_home", [homes["H1"]], "share missing_home",
                                           w.users["coordinator.O"], {"staff_user_id": w.users["staff2.O"]})]
    assert sorted(w.db.scalars(select(MissingHomeStaff.user_id).where(MissingHomeStaff.home_id == homes["H1"]))) \
        == sorted([w.users["staff1.O"], w.users["staff2.O"]])
    got = add("coordinator.O", "H1", "coordinator.O")
    assert got["user_id"] == w.users["coordinator.O"]


def test_registering_a_missing_person_opens_a_locked_case_for_the_right_agencies(world):
    w, homes = world, world.facts["homes"]
    for viewer in ("coordinator.O", "caseworker.E", "analyst.P"):
        refused(w, lambda: missing.create_missing_person(w.db, w.user(viewer), given_name="A",
                                                         family_name="B"), Forbidden)
    u = w.user("caseworker.C")
    refused(w, lambda: missing.create_missing_person(w.db, u, council_agency_id=w.agencies["P"],
                                                     given_name="A", family_name="B"), NotFound)
    refused(w, lambda: missing.create_missing_person(w.db, u, home_id=homes["H2"], given_name="A",
                                                     family_name="B"), NotFound)
    got, rows = reads(w.db, lambda: missing.create_missing_person(
        w.db, u, council_agency_id=w.agencies["D"], home_id=homes["H1"], in_care=True, given_name="Jo",
        family_name="Bloggs", date_of_birth=dt.date(2012, 2, 29), simulated=True))
    case = w.db.get(Case, got["case_id"])
    assert (case.kind, case.title, case.locked, case.lead_agency_id, case.owner_id) == (
        "missing_episode", f"Missing from home or care: MP-{got['id']:06d} (simulated)", True,
        w.agencies["C"], u.id)
    assert set(w.db.scalars(select(CaseAgency.agency_id).where(CaseAgency.case_id == case.id))) == {
        w.agencies["C"], w.agencies["P"], w.agencies["D"]}
    assert list(w.db.scalars(select(CaseMember.user_id).where(CaseMember.case_id == case.id))) == [u.id]
    assert [(cp.person_id, cp.role) for cp in w.db.scalars(select(CasePerson).where(CasePerson.case_id == case.id))] \
        == [(got["person_id"], "subject")]
    assert (got["name"], got["date_of_birth"], got["in_care"], got["home"]["id"], got["council_agency_id"],
            got["simulated"], got["ref"]) == ("Jo Bloggs", dt.date(2012, 2, 29), True, homes["H1"], w.agencies["D"],
                                              True, f"MP-{got['id']:06d}")
    assert [row(r) for r in rows] == [("create", "missing_person", [got["id"]], "create missing_person", u.id,
                                       {"case_id": case.id, "person_id": got["person_id"]})]
    refused(w, lambda: missing.create_missing_person(w.db, u, person_id=got["person_id"]), Conflict)
    plain = missing.create_missing_person(w.db, w.user("caseworker.P"), given_name="No", family_name="Council")
    case = w.db.get(Case, plain["case_id"])
    assert case.title == f"Missing from home or care: MP-{plain['id']:06d}" and plain["home"] is None
    assert set(w.db.scalars(select(CaseAgency.agency_id).where(CaseAgency.case_id == case.id))) == {w.agencies["P"]}
    assert (plain["in_care"], plain["simulated"], plain["council_agency_id"]) == (False, False, None)


# ---------------------------------------------------------------- Philomena profiles

def test_a_profile_is_read_and_changed_by_its_holders_only(world):
    w, people = world, world.facts["people"]
    m1 = people["M1"]
    for viewer in VIEWERS:
        call = lambda: missing.get_profile(w.db, w.user(viewer), m1, PURPOSE)  # noqa: E731
        if not (sees_person(viewer, "M1") and mw.agency_of(viewer) in ("C", "O")):
            refused(w, call, NotFound)   # the police too: not a holder
            continue
        got, rows = reads(w.db, call)
        assert (got["description"], got["likely_places"], got["associates"], got["holders"]) == (
            "tall", "the park", None, sorted([w.agencies["C"], w.agencies["O"]]))
        assert [row(r) for r in rows] == [("read", "missing_profile", [w.facts["profile"]], PURPOSE,
                                           w.users[viewer], {"missing_person_id": m1})]
    refused(w, lambda: missing.get_profile(w.db, w.user("caseworker.C"), m1, ""), audit.MissingPurpose)
    refused(w, lambda: missing.put_profile(w.db, w.user("caseworker.P"), m1, {"health": "x"}, version=1), NotFound)
    refused(w, lambda: missing.put_profile(w.db, w.user("caseworker.C"), m1, {"health": "x"}), Conflict)
    refused(w, lambda: missing.put_profile(w.db, w.user("caseworker.C"), m1, {"health": "x"}, version=7), Conflict)
    refused(w, lambda: missing.put_profile(w.db, w.user("caseworker.C"), m1, {}, holders=[10**6],
                                           version=1), NotFound)
    refused(w, lambda: missing.put_profile(w.db, w.user("caseworker.E"), m1, {"health": "x"}, version=1), NotFound)
    got, rows = reads(w.db, lambda: missing.put_profile(w.db, w.user("staff1.O"), m1, {"health": "asthma",
                                                        "other": 1}, holders=[w.agencies["E"]], version=1))
    assert (got["health"], got["description"], got["version"], got["holders"]) == (
        "asthma", "tall", 2, sorted(w.agencies[a] for a in "COE"))
    assert got["updated_at"] > NOW
    assert [row(r) for r in rows] == [("update", "missing_profile", [w.facts["profile"]], "update missing_profile",
                                       w.users["staff1.O"], {"fields": ["health", "other"]})]
    # a new profile: its writer's agency holds it, with those named
    m2 = people["M2"]
    got, rows = reads(w.db, lambda: missing.put_profile(w.db, w.user("caseworker.D"), m2, {"associates": "Kev"},
                                                        holders=[w.agencies["P"], w.agencies["D"]]))
    assert (got["associates"], got["description"], got["holders"], got["version"], got["missing_person_id"]) == (
        "Kev", None, sorted([w.agencies["P"], w.agencies["D"]]), 1, m2)
    assert [(r.action, r.entity, json.loads(r.detail)) for r in rows] == [
        ("create", "missing_profile", {"missing_person_id": m2})]
    assert len(list(w.db.scalars(select(MissingProfileHolder).where(
        MissingProfileHolder.profile_id == w.facts["profile"])))) == 3
    refused(w, lambda: missing.put_profile(w.db, w.user("caseworker.Y"), people["M1"], {}), NotFound)
