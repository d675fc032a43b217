"""What the first mutation run of test_hub_missing_oracle.py left unchecked in hub/services/missing.py
(issue 26): every refusal says why, in the words the API passes on, and a refused call writes and
logs nothing; what a write stores (not only what it answers). Same world (tests/hub/missing_world.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from saferhub.hub.errors import Conflict, Forbidden, HubError, NotFound
from saferhub.hub.models import Case, CaseAgency, CaseMember, CasePerson, MissingEpisode, MissingHome, MissingPerson, \
    Person
from saferhub.hub.services import missing

from . import missing_world as mw
from .service_world import NOW, audit_rows, cached_world, refused

H = dt.timedelta(hours=1)
POLICE_ONLY = "the risk grading and where the person was found are recorded by the police"


@pytest.fixture
def world(tmp_path):
    engine, w = cached_world(tmp_path, mw.build)
    yield w
    w.db.close()
    engine.dispose()


def test_registering_homes_and_staff_says_why_not(world):
    w, homes = world, world.facts["homes"]
    u, o = w.user("caseworker.C"), w.agencies["O"]
    refused(w, lambda: missing.create_home(w.db, u, kind="other", name="x",
                                           council_agency_id=o), NotFound, f"no council {o}")
    refused(w, lambda: missing.create_home(w.db, u, kind="other", name="x",
                                           operator_agency_id=999999), NotFound, "no operator agency 999999")
    refused(w, lambda: missing.create_home(w.db, u, kind="other", name="x", lat=53.0),
            HubError, "give both lon and lat, or neither")
    coord = w.user("coordinator.O")
    refused(w, lambda: missing.add_home_staff(w.db, coord, 999999, w.users["staff1.O"]), NotFound, "no home 999999")
    refused(w, lambda: missing.add_home_staff(w.db, w.user("admin.P"), homes["H1"], w.users["staff1.O"]),
            NotFound, f"no home {homes['H1']}")
    refused(w, lambda: missing.add_home_staff(w.db, w.user("staff1.O"), homes["H1"], w.users["staff2.O"]),
            Forbidden, "only a coordinator of the agency that runs the home names its staff")
    refused(w, lambda: missing.add_home_staff(w.db, coord, homes["H1"], w.users["caseworker.C"]),
            NotFound, f"no caseworker or coordinator {w.users['caseworker.C']} in the agency that runs the home")


def test_registering_people_says_why_not(world):
    w = world
    u = w.user("caseworker.C")
    refused(w, lambda: missing.create_missing_person(
w.db, u, council_agency_id=w.agencies["P"], given_name="A", family_name="B"), NotFound, f"no council {w.agencies['P']}")
    got = missing.create_missing_person(w.db, u, given_name="A", family_name="B")
    w.db.commit()
    refused(w, lambda: missing.create_missing_person(w.db, u, person_id=got["person_id"]),
            Conflict, f"person {got['person_id']} is already registered as a missing person")


def test_recording_and_updating_episodes_say_why_not(world):
    w, people, homes = world, world.facts["people"], world.facts["homes"]
    t0 = NOW - 3 * 24 * H
    rec = lambda viewer, **kw: missing.record_episode(w.db, w.user(viewer), people["M1"], **kw)  # noqa: E731
    refused(w, lambda: rec("staff1.O", home_id=homes["H2"], reported_at=t0), NotFound, f"no home {homes['H2']}")
    refused(w, lambda: rec("caseworker.C", home_id=homes["H1"], reported_at=t0, risk="low"), Forbidden, POLICE_ONLY)
    refused(w, lambda: rec("caseworker.C", home_id=homes["H1"], reported_at=t0, returned_at=t0 - H),
            HubError, "returned_at is before reported_at")
    for name in ("interview_offered_at", "interview_done_at"):
        refused(w, lambda: rec("caseworker.C", home_id=homes["H1"], reported_at=t0, **{name: t0 + H}),
                HubError, f"{name} must be after the return (returned_at)")
        refused(w, lambda: rec("caseworker.C", home_id=homes["H1"], reported_at=t0, returned_at=t0 + 2 * H,
                               **{name: t0 + H}), HubError, f"{name} must be after the return (returned_at)")
    ep_id = next(i for i, (p, h, *_) in w.facts["episodes"].items() if (p, h) == ("M2", "H1"))
    v = w.db.get(MissingEpisode, ep_id).version
    up = lambda viewer, changes, version=v: missing.update_episode(  # noqa: E731
        w.db, w.user(viewer), ep_id, version, changes)
    refused(w, lambda: up("caseworker.D", {"reported_at": NOW, "home_id": 1, "risk": "low"}),
            HubError, "['home_id', 'reported_at'] cannot be changed here")
    refused(w, lambda: up("caseworker.D", {"found": {"uprn": "1"}}), Forbidden, POLICE_ONLY)
    refused(w, lambda: up("caseworker.D", {"interview_by": "x"}, v + 1),
            Conflict, f"missing episode {ep_id} changed since you read it (version {v + 1}, now {v}); "
         "reload and try again")


def test_profiles_say_why_not(world):
    w, people = world, world.facts["people"]
    m1 = people["M1"]
    refused(w, lambda: missing.put_profile(w.db, w.user("caseworker.C"), m1, {"health": "x"}),
            Conflict, "this person's profile exists: send the version you read to change it")
    refused(w, lambda: missing.put_profile(w.db, w.user("caseworker.C"), m1, {}, version=5),
            Conflict, f"the profile of MP-{m1:06d} changed since you read it (version 5, now 1); "
         "reload and try again")
    refused(w, lambda: missing.put_profile(w.db, w.user("caseworker.C"), m1, {}, holders=[999999], version=1),
            NotFound, "no agency 999999")


def test_a_known_person_not_yet_missing_is_registered_with_their_home(world):
    w, homes = world, world.facts["homes"]
    u = w.user("caseworker.C")
    p = Person(given_name="Known", family_name="Before", created_by_agency_id=w.agencies["C"])
    c = Case(kind="asb", title="known", lead_agency_id=w.agencies["C"], owner_id=u.id)
    w.db.add_all([p, c])
    w.db.flush()
    w.db.add_all([CaseAgency(case_id=c.id, agency_id=w.agencies["C"]),
                  CasePerson(case_id=c.id, person_id=p.id, role="victim")])
    w.db.commit()
    got = missing.create_missing_person(w.db, u, person_id=p.id, home_id=homes["H3"], council_agency_id=w.agencies["C"])
    mp = w.db.get(MissingPerson, got["id"])
    assert (mp.person_id, mp.home_id, mp.council_agency_id, mp.case_id, mp.created_by_agency_id) == (
        p.id, homes["H3"], w.agencies["C"], got["case_id"], w.agencies["C"])
    assert got["name"] == "Known Before" and got["home"]["id"] == homes["H3"]


def test_a_home_s_residents_are_those_with_an_episode_in_the_year_not_at_its_edge(world):
    w, people, homes = world, world.facts["people"], world.facts["homes"]
    # M6 (never missing) goes missing from H3 exactly a year back: outside the year, so not a resident
    for at in (NOW - 365 * 24 * H, NOW - 400 * 24 * H):
        w.db.add(MissingEpisode(missing_person_id=people["M6"], home_id=homes["H3"], reported_at=at,
                                created_by_agency_id=w.agencies["P"]))
    w.db.commit()
    got = missing.home_pattern(w.db, w.user("caseworker.P"), homes["H3"], "service oracle: edges", now=NOW)
    assert (got["residents_with_episodes"], got["home_rate"]["episodes"]) == (1, 3)   # M5's three


def test_what_the_first_run_left_over_reads_and_writes(world):
    w, people, homes = world, world.facts["people"], world.facts["homes"]
    purpose = "service oracle: edges"
    got = missing.home_pattern(w.db, w.user("caseworker.P"), homes["H1"], purpose, now=NOW)
    assert got["window"] == {"start": NOW - 365 * 24 * H, "end": NOW}
    # a member of M1's case who is not the viewer does not open M1's home to a home's staff
    w.db.add(CaseMember(case_id=w.db.get(MissingPerson, people["M1"]).case_id, user_id=w.users["coordinator.P"]))
    # two episodes reported at the same instant: the older record first
    t = NOW - 7 * 24 * H
    same = []
    for _ in range(2):
        e = MissingEpisode(missing_person_id=people["M2"], home_id=homes["H2"], reported_at=t,
                           created_by_agency_id=w.agencies["P"])
        w.db.add(e)
        w.db.flush()
        same.append(e.id)
    w.db.commit()
    listed = {d["id"]: d for d in missing.list_missing_people(w.db, w.user("staff2.O"), purpose)}
    assert listed[people["M1"]]["home"] is None and listed[people["M2"]]["home"]["id"] == homes["H2"]
    eps = [e["id"] for e in missing.get_missing_person(w.db, w.user("caseworker.P"), people["M2"], purpose,
                                                       now=NOW)["episodes"]]
    assert eps[eps.index(same[0]):eps.index(same[0]) + 2] == same
    got = missing.record_episode(w.db, w.user("caseworker.C"), people["M1"], home_id=homes["H1"], reported_at=t,
                                 returned_at=t + H, interview_offered_at=t + 2 * H)
    assert (got["simulated"], got["interview_offered_at"], got["interview_done_at"], got["interview_by"],
            got["interview_declined"]) == (False, t + 2 * H, None, None, False)
    w.db.commit()
    got = missing.put_profile(w.db, w.user("caseworker.D"), people["M2"], {"health": "ok"})
    w.db.commit()
    last = audit_rows(w.db)[-1]
    assert (last.action, last.entity, last.user_id, last.agency_id) == (
        "create", "missing_profile", w.users["caseworker.D"], w.agencies["D"])


def test_what_the_full_run_left_over(world):
    w, people, homes = world, world.facts["people"], world.facts["homes"]
    purpose = "service oracle: edges"
    # homes listed by name, then by id: a newer home named first alphabetically comes first
    for name in ("Aardvark", "Same", "Same"):
        w.db.add(MissingHome(kind="other", name=name, council_agency_id=w.agencies["C"],
                             created_by_agency_id=w.agencies["C"]))
    w.db.commit()
    got = [(d["name"], d["id"]) for d in missing.list_homes(w.db, w.user("caseworker.C"), purpose)]
    assert got == sorted(got) and got[0][0] == "Aardvark" and [n for n, _ in got].count("Same") == 2
    # a home's defaults: one place, not simulated
    got = missing.create_home(w.db, w.user("caseworker.C"), kind="other", name="Defaults")
    assert (got["places"], got["simulated"]) == (1, False)
    # the interview done is stored as recorded; an interview offered before the return is refused
    t = NOW - 10 * 24 * H
    got = missing.record_episode(w.db, w.user("caseworker.C"), people["M1"], home_id=homes["H1"], reported_at=t,
                                 returned_at=t + H, interview_done_at=t + 5 * H)
    w.db.commit()
    assert got["interview_done_at"] == t + 5 * H
    assert w.db.get(MissingEpisode, got["id"]).interview_done_at.replace(tzinfo=dt.timezone.utc) == t + 5 * H
    refused(w, lambda: missing.update_episode(w.db, w.user("caseworker.C"), got["id"], got["version"],
                                              {"interview_offered_at": t + 0.5 * H}),
            HubError, "interview_offered_at must be after the return (returned_at)")
    # a home's pattern names the home as the list does, with its address; an episode its person and home kind
    pat = missing.home_pattern(w.db, w.user("caseworker.P"), homes["H1"], purpose, now=NOW)
    assert pat["home"] == [d for d in missing.list_homes(w.db, w.user("caseworker.P"), purpose)
                           if d["id"] == homes["H1"]][0]
    assert (pat["home"]["address"], pat["home"]["lsoa"]) == ("H1 address", "E01000000")
    ep = missing.get_missing_person(w.db, w.user("caseworker.P"), people["M2"], purpose, now=NOW)["episodes"][0]
    assert (ep["missing_person_id"], ep["home"]) == (people["M2"], {"id": homes["H2"], "name": "Home H2",
                                                                     "kind": "care_home"})
