"""Cases (hub/services/cases.py, and what it uses of common.py) at service level (issue 26): which
cases each viewer lists and opens (in full, or a locked case's stub), the list's filters, limit,
offset and order, versioned edits, sharing with agencies and members, against the need-to-know
table stated in tests/hub/service_world.py (8 viewers x 48 cases); every read and write against
the audit table (one row per read, with its purpose)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, update

from saferhub.hub import audit
from saferhub.hub.errors import Conflict, Forbidden, HubError, NotFound
from saferhub.hub.models import Action, Agency, Case, CaseAgency, CaseMember, CasePerson, Location, Person, utcnow
from saferhub.hub.services import cases

from .service_world import reads, refused, PURPOSE, VIEWERS, audit_rows, cached_world, ids_of, level, make_world

CASE_VIEWERS = [v for v in VIEWERS if not v.startswith(("admin", "analyst"))]
STUB_DETAIL = {"fields": ["case.ref", "owner.name", "owner.email", "lead_agency.name"]}
KIND_OF = ["asb", "iom", "repeat_victim"]
ROLES = ["victim", "witness", "suspect", "offender", "subject"]


def _build(db):
    """The 48 cases of make_world, varied: kind by k % 3, closed when k % 4 == 3 (closed on a known
    day), risk by k % 2, review dates; on every fifth case people in several roles and open and done
    actions. facts[case] = {kind, status, people: {role: [(id, name)]}, open_actions, ...}."""
    w = make_world(db)
    facts = {}
    for k, cid in enumerate(sorted(w.cases)):
        c = db.get(Case, cid)
        c.kind, c.risk = KIND_OF[k % 3], ("high" if k % 2 else "standard")
        c.summary = f"summary {k}" if k % 2 else None
        c.review_on = dt.date(2027, 1, 1 + k % 28)
        c.opened_on = dt.date(2026, 1, 1) + dt.timedelta(days=k)
        if k % 4 == 3:
            c.status, c.closed_on = "closed", dt.date(2026, 6, 1)
        people = {r: [] for r in ROLES}
        n_open = 0
        if k % 5 == 0:
            for j, role in enumerate(["suspect", "victim", "victim", "subject"][: 1 + k % 4 + (k % 10 == 0)]):
                p = Person(given_name=f"Given{k}x{j}", family_name=f"Family{k}", created_by_agency_id=c.lead_agency_id)
                db.add(p)
                db.flush()
                db.add(CasePerson(case_id=cid, person_id=p.id, role=role))
                people[role].append((p.id, f"Given{k}x{j} Family{k}"))
            n_open = 1 + k % 3
            db.add_all([Action(case_id=cid, title=f"open {k} {j}") for j in range(n_open)]
                       + [Action(case_id=cid, title=f"done {k}", status="done")])
        db.flush()
        facts[cid] = {"kind": c.kind, "status": c.status, "risk": c.risk, "summary": c.summary,
                      "review_on": c.review_on, "opened_on": c.opened_on, "closed_on": c.closed_on,
                      "people": {r: sorted(v) for r, v in people.items()}, "open_actions": n_open,
                      "title": c.title, "version": c.version}
    w.facts = facts
    return w


@pytest.fixture
def world(tmp_path):
    engine, w = cached_world(tmp_path, _build)
    w.cases = {c: dict(f) for c, f in w.cases.items()}   # the tests that share change it: a copy
    yield w
    w.db.close()
    engine.dispose()


def _owner_and_agency(w, cid):
    c = w.cases[cid]
    return f"Officer {c['owner']}", f"{c['owner']}@x.test", f"Agency {c['lead']}"


def _stub(w, cid):
    name, email, agency = _owner_and_agency(w, cid)
    return {"id": cid, "ref": f"HUB-{cid:06d}", "access": "stub", "locked": True,
            "contact": {"name": name, "agency": agency, "email": email}}


def _full(w, cid, agencies=None):
    f, c = w.facts[cid], w.cases[cid]
    d = {"id": cid, "ref": f"HUB-{cid:06d}", "access": "full", "kind": f["kind"], "title": f["title"],
         "summary": f["summary"], "lead_agency": {"id": w.agencies[c["lead"]], "name": f"Agency {c['lead']}"},
         "owner": {"id": w.users[c["owner"]], "name": f"Officer {c['owner']}"}, "risk": f["risk"],
         "status": f["status"], "locked": c["locked"], "location_id": None, "opened_on": f["opened_on"],
         "review_on": f["review_on"], "closed_on": f["closed_on"], "version": f["version"]}
    if agencies is not None:
        d["agencies"] = agencies
    return d


def _listed(w, viewer, *, status=None, kind=None, mine=False):
    """The oracle of list_cases before limit/offset: newest (highest id) first."""
    out = []
    for cid in sorted(w.cases, reverse=True):
        lv = level(viewer, w.cases[cid])
        if lv == "none" or (status and w.facts[cid]["status"] != status) or (kind and w.facts[cid]["kind"] != kind):
            continue
        if mine and w.cases[cid]["owner"] != viewer:
            continue
        out.append((cid, lv))
    return out


def test_list_cases_follows_need_to_know_with_stubs_and_is_logged(world):
    w = world
    for viewer in CASE_VIEWERS:
        want = _listed(w, viewer)
        got, rows = reads(w.db, lambda: cases.list_cases(w.db, w.user(viewer), PURPOSE, limit=100))
        assert got == [_full(w, c) if lv == "full" else _stub(w, c) for c, lv in want], viewer
        full = [c for c, lv in want if lv == "full"]
        stubs = [c for c, lv in want if lv == "stub"]
        expect = [("read", "case", full, {"list": True})]
        if stubs:
            expect.append(("read", "case_stub", stubs, STUB_DETAIL | {"list": True}))
        assert [(r.action, r.entity, ids_of(r), json.loads(r.detail)) for r in rows] == expect, viewer
        assert all((r.purpose, r.user_id, r.agency_id) == (PURPOSE, w.users[viewer], w.user(viewer).agency_id)
                   for r in rows)
    for viewer in ("admin.P", "analyst.P"):
        e = refused(w, lambda: cases.list_cases(w.db, w.user(viewer), PURPOSE), Forbidden)
        assert viewer.split(".")[0] in str(e)
    for purpose in (None, "", "   ", "abc"):
        refused(w, lambda: cases.list_cases(w.db, w.user("caseworker.P"), purpose), audit.MissingPurpose)
    # the purpose is stored stripped
    _, rows = reads(w.db, lambda: cases.list_cases(w.db, w.user("coordinator.P"), f"  {PURPOSE} \n", limit=1))
    assert [r.purpose for r in rows] == [PURPOSE, PURPOSE] and ids_of(rows[1]) == [max(w.cases)]


def test_list_cases_filters_limit_offset_and_order(world):
    w = world
    for viewer in ("coordinator.P", "caseworker.P", "caseworker.C", "caseworker.F"):
        for status in (None, "open", "closed"):
            for kind in (None, "asb", "iom"):
                for mine in (False, True):
                    want = _listed(w, viewer, status=status, kind=kind, mine=mine)
                    got = cases.list_cases(w.db, w.user(viewer), PURPOSE, status=status, kind=kind, mine=mine,
                                           limit=500)
                    assert [(d["id"], d["access"]) for d in got] == want, (viewer, status, kind, mine)
                    w.db.commit()
        want = _listed(w, viewer)
        assert len(want) > 7
        assert [d["id"] for d in cases.list_cases(w.db, w.user(viewer), PURPOSE)] == [c for c, _ in want][:50]
        w.db.commit()
        for limit, offset in ((1, 0), (3, 2), (5, len(want) - 2), (4, len(want) + 3)):
            got, rows = reads(w.db, lambda: cases.list_cases(w.db, w.user(viewer), PURPOSE, limit=limit,
                                                             offset=offset))
            page = want[offset: offset + limit]
            assert [(d["id"], d["access"]) for d in got] == page
            assert ids_of(rows[0]) == [c for c, lv in page if lv == "full"]
            assert len(rows) == 1 + any(lv == "stub" for _, lv in page)
    w.db.commit()
    # the default limit is 50: more than 50 cases listed shows the newest 50
    c = w.user("coordinator.P")
    for k in range(10):
        w.db.add(Case(kind="asb", title=f"extra {k}", lead_agency_id=c.agency_id, owner_id=c.id))
    w.db.commit()
    got = cases.list_cases(w.db, c, PURPOSE)
    every = cases.list_cases(w.db, c, PURPOSE, limit=1000)
    assert len(every) == 58 and got == every[:50] and [d["id"] for d in every] == sorted(
        (d["id"] for d in every), reverse=True)


def test_get_case_in_full_stub_or_not_found_and_logged(world):
    w = world
    for viewer in VIEWERS:
        shown = []

        def each_case():   # one commit per viewer (a commit per read costs ~20 ms): rows in call order
            for cid in sorted(w.cases):
                lv = level(viewer, w.cases[cid])
                if lv == "none":
                    with pytest.raises(NotFound) as e:
                        cases.get_case(w.db, w.user(viewer), cid, PURPOSE)
                    assert str(e.value) == f"no case {cid}"
                    continue
                shown.append((cid, lv, cases.get_case(w.db, w.user(viewer), cid, PURPOSE)))

        _, rows = reads(w.db, each_case)
        assert len(rows) == len(shown) == sum(level(viewer, c) != "none" for c in w.cases.values())
        for (cid, lv, got), r in zip(shown, rows):
            assert (r.action, r.purpose, r.user_id, ids_of(r)) == ("read", PURPOSE, w.users[viewer], [cid])
            if lv == "stub":
                assert got == _stub(w, cid)
                assert (r.entity, json.loads(r.detail)) == ("case_stub", STUB_DETAIL)
                continue
            f = w.facts[cid]
            agencies = sorted(w.agencies[a] for a in w.cases[cid]["agencies"])
            want = _full(w, cid, agencies) | {
                "people": {role: [{"id": p, "name": n} for p, n in f["people"][role]] for role in ROLES},
                "open_actions": f["open_actions"]}
            assert got == want, (viewer, cid)
            pids = sorted(p for ps in f["people"].values() for p, _ in ps)
            assert r.entity == "case"
            assert json.loads(r.detail) == ({"people": pids} if pids else {})
    for purpose in (None, "", "abc"):
        refused(w, lambda: cases.get_case(w.db, w.user("coordinator.P"), min(w.cases), purpose),
                 audit.MissingPurpose)
    refused(w, lambda: cases.get_case(w.db, w.user("coordinator.P"), 10**6, PURPOSE), NotFound,
             f"no case {10**6}")


def test_create_case_defaults_owner_rules_membership_and_log(world):
    w = world
    today = utcnow().date()
    for viewer in ("admin.P", "analyst.P"):
        refused(w, lambda: cases.create_case(w.db, w.user(viewer), kind="asb", title="x"), Forbidden)
    for viewer in CASE_VIEWERS:
        u = w.user(viewer)
        got, rows = reads(w.db, lambda: cases.create_case(w.db, u, kind="asb", title=f"new by {viewer}"))
        cid = got["id"]
        assert got == {"id": cid, "ref": f"HUB-{cid:06d}", "access": "full", "kind": "asb",
                       "title": f"new by {viewer}", "summary": None,
                       "lead_agency": {"id": u.agency_id, "name": f"Agency {viewer[-1]}"},
                       "owner": {"id": u.id, "name": f"Officer {viewer}"}, "risk": "standard", "status": "open",
                       "locked": False, "location_id": None, "opened_on": today, "review_on": None,
                       "closed_on": None, "version": 1, "agencies": [u.agency_id]}
        assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail), r.user_id) for r in rows] == [
            ("create", "case", [cid], "create case", {"kind": "asb", "locked": False}, u.id)]
        assert set(w.db.scalars(select(CaseAgency.agency_id).where(CaseAgency.case_id == cid))) == {u.agency_id}
        assert set(w.db.scalars(select(CaseMember.user_id).where(CaseMember.case_id == cid))) == {u.id}
    # every field given; the owner another case role of the same agency: both are members
    co, cw2 = w.user("coordinator.P"), w.user("caseworker2.P")
    loc = Location(description="a place", created_by_agency_id=co.agency_id)
    w.db.add(loc)
    w.db.commit()
    got, rows = reads(w.db, lambda: cases.create_case(
        w.db, co, kind="iom", title="full", summary="s", risk_level="high", locked=True,
        review_on=dt.date(2027, 3, 1), owner_id=cw2.id, location_id=loc.id))
    stored = w.db.get(Case, got["id"])
    assert (stored.kind, stored.title, stored.summary, stored.risk, stored.locked, stored.review_on,
            stored.owner_id, stored.location_id, stored.lead_agency_id) == (
        "iom", "full", "s", "high", True, dt.date(2027, 3, 1), cw2.id, loc.id, co.agency_id)
    assert got["owner"] == {"id": cw2.id, "name": "Officer caseworker2.P"} and got["location_id"] == loc.id
    assert set(w.db.scalars(select(CaseMember.user_id).where(CaseMember.case_id == got["id"]))) == {cw2.id, co.id}
    assert json.loads(rows[0].detail) == {"kind": "iom", "locked": True}
    # owner_id of the creator themself is the plain case
    got = cases.create_case(w.db, co, kind="asb", title="self", owner_id=co.id)
    assert got["owner"]["id"] == co.id
    assert list(w.db.scalars(select(CaseMember.user_id).where(CaseMember.case_id == got["id"]))) == [co.id]
    w.db.commit()
    # an owner elsewhere, of no case role, or nobody: refused, nothing written
    msg = "the owner must be a caseworker or coordinator in your agency"
    for other in ("caseworker.C", "admin.P", "analyst.P"):
        refused(w, lambda: cases.create_case(w.db, co, kind="asb", title="x", owner_id=w.users[other]), HubError, msg)
    refused(w, lambda: cases.create_case(w.db, co, kind="asb", title="x", owner_id=10**6), HubError, msg)
    # a place the creator cannot see: 404, nothing written
    theirs = Location(description="council's", created_by_agency_id=w.agencies["C"])
    w.db.add(theirs)
    w.db.commit()
    refused(w, lambda: cases.create_case(w.db, co, kind="asb", title="x", location_id=theirs.id), NotFound)
    assert w.db.scalar(select(Case).where(Case.title == "x")) is None


def test_update_case_is_versioned_guarded_and_logged(world):
    w = world
    today = utcnow().date()
    for viewer in VIEWERS:
        for cid in sorted(w.cases)[::5]:
            lv = level(viewer, w.cases[cid])
            version = w.db.get(Case, cid).version
            call = lambda: cases.update_case(w.db, w.user(viewer), cid, version, {"summary": f"by {viewer}"})  # noqa
            if lv != "full":
                refused(w, call, Forbidden if lv == "stub" else NotFound)
                continue
            got, rows = reads(w.db, call)
            assert got["summary"] == f"by {viewer}" and got["version"] == version + 1 and "agencies" not in got
            assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail), r.user_id) for r in rows] == [
                ("update", "case", [cid], "update case", {"fields": ["summary"]}, w.users[viewer])]
    cw = w.user("caseworker.P")
    cid = next(c for c in sorted(w.cases) if w.cases[c]["owner"] == "caseworker.P" and not w.cases[c]["locked"]
               and w.facts[c]["status"] == "open")
    v = w.db.get(Case, cid).version
    e = refused(w, lambda: cases.update_case(w.db, cw, cid, v - 1, {"title": "stale"}), Conflict)
    assert str(e) == (f"case HUB-{cid:06d} changed since you read it (version {v - 1}, now {v}); "
                      "reload and try again")
    for bad, msg in (({"owner_id": 1}, "owner_id cannot be changed here"),
                     ({"lead_agency_id": 1}, "lead_agency_id cannot be changed here"),
                     ({"title": None}, "title cannot be empty"), ({"risk": None}, "risk cannot be empty"),
                     ({"status": None}, "status cannot be empty"), ({"locked": None}, "locked cannot be empty"),
                     ({"kind": None}, "kind cannot be empty")):
        refused(w, lambda: cases.update_case(w.db, cw, cid, v, bad), HubError, msg)
    # closing sets closed_on today; closing again keeps it; re-opening clears it; purpose kept
    got, rows = reads(w.db, lambda: cases.update_case(
        w.db, cw, cid, v, {"status": "closed", "summary": None, "review_on": None, "risk": "high",
                           "kind": "iom", "title": "t2"}, purpose="  closing it  "))
    stored = w.db.get(Case, cid)
    assert (stored.status, stored.closed_on, stored.summary, stored.review_on, stored.risk, stored.kind,
            stored.title) == ("closed", today, None, None, "high", "iom", "t2")
    assert got["closed_on"] == today and got["version"] == v + 1
    assert (rows[0].purpose, json.loads(rows[0].detail)) == (
        "closing it", {"fields": ["kind", "review_on", "risk", "status", "summary", "title"]})
    stored.closed_on = dt.date(2026, 5, 5)
    w.db.commit()
    got = cases.update_case(w.db, cw, cid, stored.version, {"status": "closed"})
    assert got["closed_on"] == dt.date(2026, 5, 5)
    got = cases.update_case(w.db, cw, cid, got["version"], {"title": "still closed"})
    assert got["closed_on"] == dt.date(2026, 5, 5)
    got = cases.update_case(w.db, cw, cid, got["version"], {"status": "open"})
    assert got["closed_on"] is None and got["status"] == "open"
    w.db.commit()
    long = "p" * 400
    _, rows = reads(w.db, lambda: cases.update_case(w.db, cw, cid, got["version"], {"title": "t3"}, purpose=long))
    assert rows[0].purpose == "p" * 300


def test_locking_is_for_the_owner_or_a_coordinator(world):
    w = world
    for viewer in CASE_VIEWERS:
        for cid in sorted(w.cases):
            if level(viewer, w.cases[cid]) != "full":
                continue
            u = w.user(viewer)
            may = w.cases[cid]["owner"] == viewer or viewer.startswith("coordinator")
            case = w.db.get(Case, cid)
            v, was = case.version, case.locked
            if not may:
                refused(w, lambda: cases.update_case(w.db, u, cid, v, {"locked": not was}), Forbidden,
                         "only the case owner or a coordinator can lock or unlock a case")
                continue
            got = cases.update_case(w.db, u, cid, v, {"locked": not was})
            assert got["locked"] is (not was)
            w.db.rollback()


def test_a_concurrent_writer_of_the_same_version_loses(world, monkeypatch):
    """The version check at flush (SQLAlchemy's version_id_col): another writer's update lands
    between the version check and this write (a Core UPDATE, unseen by this session's objects)."""
    w = world
    cw = w.user("caseworker.P")
    cid = next(c for c in sorted(w.cases) if w.cases[c]["owner"] == "caseworker.P" and not w.cases[c]["locked"])
    v = w.db.get(Case, cid).version
    t = Case.__table__
    real = cases.set_fields

    def meanwhile(*args, **kw):
        w.db.execute(update(t).where(t.c.id == cid).values(title="theirs", version=v + 1))
        return real(*args, **kw)

    monkeypatch.setattr(cases, "set_fields", meanwhile)
    with pytest.raises(Conflict) as e:
        cases.update_case(w.db, cw, cid, v, {"title": "mine"})
    assert str(e.value) == f"case HUB-{cid:06d} was changed by someone else just now; reload and try again"
    assert e.value.__suppress_context__   # `from None`: the message, not SQLAlchemy's trace
    w.db.rollback()
    assert not [r for r in audit_rows(w.db) if r.action == "update"]


def test_sharing_with_an_agency_opens_the_case_to_it_and_is_logged(world):
    w = world
    fire = w.agencies["F"]
    for viewer in VIEWERS:
        for cid in sorted(w.cases)[::7]:
            lv = level(viewer, w.cases[cid])
            call = lambda: cases.add_case_agency(w.db, w.user(viewer), cid, fire)  # noqa: E731
            if lv != "full":
                refused(w, call, Forbidden if lv == "stub" else NotFound)
                continue
            got, rows = reads(w.db, call)
            assert got == {"case_id": cid, "agency_id": fire}
            assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail)) for r in rows] == [
                ("share", "case", [cid], "share case", {"agency_id": fire})]
            assert fire in set(w.db.scalars(select(CaseAgency.agency_id).where(CaseAgency.case_id == cid)))
            w.cases[cid] = w.cases[cid] | {"agencies": w.cases[cid]["agencies"] | {"F"}}
    # caseworker.F now lists every unlocked case shared with F
    got = cases.list_cases(w.db, w.user("caseworker.F"), PURPOSE, limit=500)
    assert [(d["id"], d["access"]) for d in got] == _listed(w, "caseworker.F")
    co = w.user("coordinator.P")
    cid = min(w.cases)
    refused(w, lambda: cases.add_case_agency(w.db, co, cid, 10**6), NotFound, f"no agency {10**6}")
    # sharing twice keeps one row
    cases.add_case_agency(w.db, co, cid, w.agencies["C"])
    cases.add_case_agency(w.db, co, cid, w.agencies["C"])
    w.db.commit()
    assert len(list(w.db.scalars(select(CaseAgency).where(CaseAgency.case_id == cid,
                                                          CaseAgency.agency_id == w.agencies["C"])))) == 1
    assert w.db.get(Agency, w.agencies["C"]) is not None


def test_naming_a_member_is_for_the_owner_or_a_coordinator_and_opens_a_locked_case(world):
    w = world
    target = w.users["caseworker.C"]
    for viewer in VIEWERS:
        for cid in sorted(w.cases)[::3]:   # cases with no named member
            lv = level(viewer, w.cases[cid])
            call = lambda: cases.add_case_member(w.db, w.user(viewer), cid, target)  # noqa: E731
            if lv != "full":
                refused(w, call, Forbidden if lv == "stub" else NotFound)
                continue
            if w.cases[cid]["owner"] != viewer and not viewer.startswith("coordinator"):
                refused(w, call, Forbidden, "only the case owner or a coordinator names members")
                continue
            got, rows = reads(w.db, call)
            assert got == {"case_id": cid, "user_id": target}
            assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail)) for r in rows] == [
                ("share", "case", [cid], "share case", {"member_id": target})]
            w.cases[cid] = w.cases[cid] | {"member": "caseworker.C"}
            assert level("caseworker.C", w.cases[cid]) == "full"
            assert cases.get_case(w.db, w.user("caseworker.C"), cid, PURPOSE)["access"] == "full"
            w.db.commit()
    co = w.user("coordinator.P")
    cid = min(w.cases)
    for bad in (w.users["admin.P"], w.users["analyst.P"], 10**6):
        refused(w, lambda: cases.add_case_member(w.db, co, cid, bad), NotFound, f"no caseworker or coordinator {bad}")
    cases.add_case_member(w.db, co, cid, w.users["caseworker.F"])
    cases.add_case_member(w.db, co, cid, w.users["caseworker.F"])
    w.db.commit()
    assert len(list(w.db.scalars(select(CaseMember).where(CaseMember.case_id == cid,
                                                          CaseMember.user_id == w.users["caseworker.F"])))) == 1


def test_case_dict_of_an_orm_case_matches_the_row_reads(world):
    w = world
    co = w.user("coordinator.P")
    for cid in sorted(w.cases)[:6]:
        c = w.db.get(Case, cid)
        listed = next(d for d in cases.list_cases(w.db, co, PURPOSE, limit=100) if d["id"] == cid)
        assert cases.case_dict(c) == listed
        assert cases.case_dict(c, [7]) == listed | {"agencies": [7]}


def test_common_stub_created_aware_and_write_log(world):
    from saferhub.hub.services import common

    w = world
    for cid in sorted(w.cases)[::11]:
        assert common.stub(w.db.get(Case, cid)) == _stub(w, cid)
    assert common.case_ref(7) == "HUB-000007" and common.case_ref(1234567) == "HUB-1234567"
    naive = dt.datetime(2026, 3, 1, 12, 0)
    assert common.aware(naive) == naive.replace(tzinfo=dt.timezone.utc)
    cet = dt.timezone(dt.timedelta(hours=1))
    assert common.aware(naive.replace(tzinfo=cet)).tzinfo is cet and common.aware(None) is None
    u = w.user("caseworker.C")
    loc = Location(description="made here", created_by_agency_id=u.agency_id)
    got, rows = reads(w.db, lambda: common.created(w.db, u, loc, "location", {"why": "test"}))
    assert got is loc and loc.id is not None and w.db.get(Location, loc.id).description == "made here"
    assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail), r.user_id) for r in rows] == [
        ("create", "location", [loc.id], "create location", {"why": "test"}, u.id)]
    for purpose, stored in ((None, "share case"), ("", "share case"), (" \t ", "share case"), (" why ", "why"),
                            ("x" * 301, "x" * 300)):
        _, rows = reads(w.db, lambda: common.write_log(w.db, u, "share", "case", [1, 2], purpose))
        assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail)) for r in rows] == [
            ("share", "case", [1, 2], stored, {})]


def test_owners_and_members_may_be_coordinators_and_the_sharer_is_on_the_audit_row(world):
    w = world
    cw, co = w.user("caseworker.P"), w.user("coordinator.P")
    got = cases.create_case(w.db, cw, kind="asb", title="for the coordinator", owner_id=co.id)
    assert got["owner"]["id"] == co.id
    cid = got["id"]
    assert set(w.db.scalars(select(CaseMember.user_id).where(CaseMember.case_id == cid))) == {co.id, cw.id}
    w.db.commit()
    _, rows = reads(w.db, lambda: cases.add_case_member(w.db, co, cid, w.users["coordinator.C"]))
    assert [(r.user_id, r.agency_id, ids_of(r)) for r in rows] == [(co.id, co.agency_id, [cid])]
    _, rows = reads(w.db, lambda: cases.add_case_agency(w.db, co, cid, w.agencies["F"]))
    assert [(r.user_id, r.agency_id, ids_of(r)) for r in rows] == [(co.id, co.agency_id, [cid])]


def test_an_edit_that_does_not_close_the_case_leaves_closed_on_alone(world):
    w = world
    for cid in sorted(w.cases):
        c = w.cases[cid]
        if c["locked"] or c["owner"] != "caseworker.P":
            continue
        got = cases.update_case(w.db, w.user("caseworker.P"), cid, w.facts[cid]["version"], {"summary": "edited"})
        assert got["closed_on"] == w.facts[cid]["closed_on"] and got["status"] == w.facts[cid]["status"], cid
        w.db.rollback()


def test_a_cases_people_come_by_id_whatever_order_they_were_linked_in(world):
    w = world
    cid = min(w.cases)
    made = []
    for k in range(4):
        p = Person(given_name=f"G{k}", family_name="Same", created_by_agency_id=w.agencies["P"])
        w.db.add(p)
        w.db.flush()
        made.append(p.id)
    for pid in reversed(made):   # linked newest first: the links' own ids run the other way
        w.db.add(CasePerson(case_id=cid, person_id=pid, role="witness"))
        w.db.flush()
    w.db.commit()
    got = cases.get_case(w.db, w.user("coordinator.P"), cid, PURPOSE)
    assert [p["id"] for p in got["people"]["witness"]] == made
    assert [p["name"] for p in got["people"]["witness"]] == [f"G{k} Same" for k in range(4)]
