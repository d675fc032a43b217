"""access.py against docs/hub.md "Roles and need-to-know", for every role x relation (issue 14).

The expected level of every (user, case) pair is worked out here from the documented table, not
from the module's SQL: coordinator = every unlocked case, locked ones in full only if named
(owner or member), else a stub; caseworker = cases their agency works (lead or participating) or
they are named on, locked ones in full only if named, else a stub if their agency works it, else
nothing; admin and analyst = no case records. 96 cases cover locked x lead agency x participant x
owner x member; plans, locations and incidents follow the record table. SQLite only, no HTTP."""

from __future__ import annotations

import datetime as dt
import functools
import itertools

import pytest
from sqlalchemy import select

from saferhub.hub import access
from saferhub.hub.access import Level
from saferhub.hub.db import make_engine, session_factory
from saferhub.hub.errors import Forbidden, NotFound
from saferhub.hub.models import Agency, Case, CaseAgency, CaseIncident, CaseMember, Incident, Location, Plan, User

from .oracle_db import fresh_copy

VIEWERS = ["admin.P", "analyst.P", "coordinator.P", "coordinator.C", "caseworker.P", "caseworker2.P",
           "caseworker.C", "caseworker.F"]


@functools.cache
def _pw() -> str:
    from saferhub.hub.security import hash_password

    return hash_password("not used to sign in here")


def expected(role: str, agency: str, name: str, case: dict) -> Level:
    """The documented need-to-know table, for one user and one case."""
    if role not in ("coordinator", "caseworker"):
        return Level.NONE
    named = name in (case["owner"], case["member"])
    works = agency in case["agencies"]
    if role == "coordinator":
        return Level.FULL if (not case["locked"] or named) else Level.STUB
    if named or (works and not case["locked"]):
        return Level.FULL
    return Level.STUB if works else Level.NONE


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    engine = make_engine(fresh_copy(tmp_path_factory.mktemp("access") / "hub.sqlite3"))
    db = session_factory(engine)()
    agencies = {}
    for code in "PCF":
        agencies[code] = Agency(code=code, name=f"Agency {code}", kind="council")
        db.add(agencies[code])
    db.flush()
    users = {}
    for name in VIEWERS + ["admin.C"]:
        role = name.split(".")[0].rstrip("2")
        users[name] = User(email=f"{name}@x.test", name=f"Officer {name}", agency_id=agencies[name[-1]].id,
                           role=role, password_hash=_pw())
        db.add(users[name])
    db.flush()
    shared_place = Location(description="shared", created_by_agency_id=agencies["P"].id)
    db.add(shared_place)
    db.flush()
    cases = {}
    combos = itertools.product([False, True], "PC", [None, "other", "F"], ["caseworker.P", "caseworker.C"],
                               [None, "caseworker2.P", "coordinator.P", "caseworker.F"])
    for k, (locked, lead, part, owner, member) in enumerate(combos):
        part = {"other": "C" if lead == "P" else "P"}.get(part, part)
        place = Location(description=f"place {k}", created_by_agency_id=agencies[lead].id)
        db.add(place)
        db.flush()
        c = Case(kind="asb", title=f"case {k}", lead_agency_id=agencies[lead].id, owner_id=users[owner].id,
                 locked=locked, location_id=place.id if k != 7 else shared_place.id)
        db.add(c)
        db.flush()
        for a in {lead, part} - {None}:
            db.add(CaseAgency(case_id=c.id, agency_id=agencies[a].id))
        if member:
            db.add(CaseMember(case_id=c.id, user_id=users[member].id))
        inc = Incident(month=dt.date(2026, 1, 1), category="Anti-social behaviour", agency_id=agencies["F"].id)
        db.add(inc)
        db.flush()
        db.add(CaseIncident(case_id=c.id, incident_id=inc.id))
        cases[c.id] = {"locked": locked, "agencies": {lead, part} - {None}, "owner": owner, "member": member,
                       "lead": lead, "place": c.location_id, "incident": inc.id}
    # case 7 and case 8 (index 8) share a place: put 8 there too
    eighth = sorted(cases)[8]
    db.get(Case, eighth).location_id = shared_place.id
    cases[eighth]["place"] = shared_place.id
    loose = {}
    for code in ("P", "C", None):
        aid = agencies[code].id if code else None
        loc = Location(description=f"unplaced {code}", created_by_agency_id=aid)
        inc = Incident(month=dt.date(2026, 1, 1), category="Anti-social behaviour", agency_id=aid)
        db.add_all([loc, inc])
        db.flush()
        loose[code] = (loc.id, inc.id)
    plans = {}
    for code in "PC":
        p = Plan(title=f"plan {code}", lead_agency_id=agencies[code].id, owner_id=users["caseworker.P"].id)
        db.add(p)
        db.flush()
        plans[p.id] = {"case": None, "lead": code}
    for cid in sorted(cases)[:24]:
        p = Plan(title=f"plan on {cid}", lead_agency_id=agencies["F"].id, owner_id=users["caseworker.F"].id,
                 case_id=cid)
        db.add(p)
        db.flush()
        plans[p.id] = {"case": cid, "lead": "F"}
    db.commit()
    yield db, users, cases, loose, plans, shared_place.id
    db.close()
    engine.dispose()


def _who(name):
    return name.split(".")[0].rstrip("2"), name[-1]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_case_levels_for_every_relation(world, viewer):
    db, users, cases, *_ = world
    user = users[viewer]
    role, agency = _who(viewer)
    want = {cid: expected(role, agency, viewer, c) for cid, c in cases.items()}
    full = set(db.scalars(select(Case.id).where(access.full_clause(user))))
    listed = set(db.scalars(select(Case.id).where(access.listed_clause(user))))
    assert full == {c for c, lv in want.items() if lv is Level.FULL}
    assert listed == {c for c, lv in want.items() if lv is not Level.NONE}
    for cid, lv in want.items():
        if lv is Level.NONE:
            with pytest.raises(NotFound, match=rf"^no case {cid}$"):
                access.case_for(db, user, cid, Level.STUB)
            with pytest.raises(NotFound, match=rf"^no case {cid}$"):
                access.case_for(db, user, cid)
        else:
            case, got = access.case_for(db, user, cid, Level.STUB)
            assert (case.id, got) == (cid, lv)
            if lv is Level.STUB:
                lead = f"Agency {cases[cid]['lead']}"
                with pytest.raises(Forbidden, match=rf"^case {cid} is locked; contact Officer "
                                                    rf"{cases[cid]['owner']} \({lead}\)$"):
                    access.case_for(db, user, cid)
            else:
                assert access.case_for(db, user, cid)[1] is Level.FULL
        if lv is Level.FULL:
            assert access.child_of_case(db, user, cid, "note 5").id == cid
        else:
            with pytest.raises(NotFound, match=r"^no note 5$"):
                access.child_of_case(db, user, cid, "note 5")
    # the relations the matrix needs all occur for the case roles
    if role in ("coordinator", "caseworker"):
        assert {Level.FULL, Level.STUB} <= set(want.values())
    with pytest.raises(NotFound, match=r"^no case 999999$"):
        access.case_for(db, user, 999999, Level.STUB)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_plans_locations_incidents_follow_the_record_table(world, viewer):
    db, users, cases, loose, plans, shared = world
    user = users[viewer]
    role, agency = _who(viewer)
    case_role = role in ("coordinator", "caseworker")
    full = {cid for cid, c in cases.items() if expected(role, agency, viewer, c) is Level.FULL}
    for pid, p in plans.items():
        ok = (p["case"] in full) if p["case"] is not None else (case_role and p["lead"] == agency)
        if ok:
            assert access.plan_for(db, user, pid).id == pid
        else:
            with pytest.raises(NotFound, match=rf"^no plan {pid}$"):
                access.plan_for(db, user, pid)
    with pytest.raises(NotFound, match=r"^no plan 999999$"):
        access.plan_for(db, user, 999999)
    places = {}
    for cid, c in cases.items():
        places.setdefault(c["place"], set()).add(cid)
    for loc, on in places.items():
        ok = bool(on & full)
        if ok:
            assert access.location_for(db, user, loc).id == loc
        else:
            with pytest.raises(NotFound, match=rf"^no location {loc}$"):
                access.location_for(db, user, loc)
    for code, (loc, _) in loose.items():
        if case_role and code == agency:
            assert access.location_for(db, user, loc).id == loc
        else:
            with pytest.raises(NotFound, match=rf"^no location {loc}$"):
                access.location_for(db, user, loc)
    with pytest.raises(NotFound, match=r"^no location 999999$"):
        access.location_for(db, user, 999999)
    linked = {c["incident"]: cid for cid, c in cases.items()}
    ids = sorted(linked) + [inc for _, inc in loose.values()] + [999999]
    want = set()
    if case_role:
        # the recording agency (F) reads its own incidents, except those on a locked case it does
        # not read in full: a locked case's incidents stay with its readers (issue 19)
        want = {i for i, cid in linked.items() if cid in full or (agency == "F" and not cases[cid]["locked"])}
        want |= {inc for code, (_, inc) in loose.items() if code == agency}
    assert access.readable_incidents(db, user, ids) == want
    assert access.readable_incidents(db, user, []) == set()


def test_a_place_on_a_case_stays_with_its_readers_even_for_the_recording_agency(world):
    db, users, cases, loose, plans, shared = world
    # the shared place was recorded by P and is on two cases: readable exactly by whoever reads one
    # of them in full, whatever agency recorded it
    on = {cid for cid, c in cases.items() if c["place"] == shared}
    assert len(on) == 2
    for viewer in VIEWERS:
        role, agency = _who(viewer)
        full = any(expected(role, agency, viewer, cases[c]) is Level.FULL for c in on)
        try:
            access.location_for(db, users[viewer], shared)
            readable = True
        except NotFound:
            readable = False
        assert readable is full, viewer


@pytest.mark.parametrize("role,allowed", [("coordinator", True), ("caseworker", True), ("admin", False),
                                          ("analyst", False)])
def test_role_checks_and_their_messages(role, allowed):
    user = User(role=role)
    assert access.can_read_cases(user) is allowed
    if allowed:
        access.require_case_role(user)
    else:
        with pytest.raises(Forbidden, match=rf"^the {role} role has no access to case records$"):
            access.require_case_role(user)
        with pytest.raises(Forbidden, match=rf"^the {role} role has no access to plans$"):
            access.require_case_role(user, "plans")
    access.require_role(user, role)
    with pytest.raises(Forbidden, match=rf"^this needs the role auditor or manager; you are {role}$"):
        access.require_role(user, "auditor", "manager")
