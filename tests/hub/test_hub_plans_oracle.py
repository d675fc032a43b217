"""Problem-solving plans (hub/services/plans.py) at service level (issue 26 part 2): who opens,
lists, creates, edits, advances, exports and publishes a plan, against the documented rule (a plan
on a case: whoever reads the case in full; on no case: the case roles of its lead agency), stated
in tests/hub/service_world.py; every read and write against the audit table; the public summary
holds only the approved text and refuses names, references, e-mails and phone numbers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select as sa_select

from saferhub.hub import audit
from saferhub.hub.errors import Conflict, Forbidden, HubError, NotFound
from saferhub.hub.models import CasePerson, Person, Plan
from saferhub.hub.services import plans

from .service_world import PURPOSE, VIEWERS, audit_rows, cached_world, full_cases, ids_of, level, make_world, reads

CASE_VIEWERS = [v for v in VIEWERS if not v.startswith(("admin", "analyst"))]


def _build(db):
    """A plan on every third case (lead F), and two with no case (leads P and C); facts: plan ->
    (case id or None, lead agency code)."""
    w = make_world(db)
    facts = {}
    for k, cid in enumerate(sorted(w.cases)):
        if k % 3 == 0:
            p = Plan(title=f"plan on {k}", objective="fewer calls", case_id=cid, lead_agency_id=w.agencies["F"],
                     owner_id=w.users["caseworker.F"])
            db.add(p)
            db.flush()
            facts[p.id] = (cid, "F")
    for code in "PC":
        p = Plan(title=f"loose {code}", objective="o", lead_agency_id=w.agencies[code],
                 owner_id=w.users[f"caseworker.{code}"])
        db.add(p)
        db.flush()
        facts[p.id] = (None, code)
    w.facts = facts
    return w


@pytest.fixture
def world(tmp_path):
    engine, w = cached_world(tmp_path, _build)
    yield w
    w.db.close()
    engine.dispose()


def opens(w, viewer, plan) -> bool:
    case, lead = w.facts[plan]
    if viewer.split(".")[0].rstrip("2") not in ("coordinator", "caseworker"):
        return False
    if case is not None:
        return level(viewer, w.cases[case]) == "full"
    return viewer[-1] == lead


def test_get_and_list_plans_follow_the_plan_rule_and_are_logged(world):
    w = world
    for viewer in VIEWERS:
        want = sorted((p for p in w.facts if opens(w, viewer, p)), reverse=True)
        if viewer.startswith(("admin", "analyst")):
            with pytest.raises(Forbidden) as e:
                plans.list_plans(w.db, w.user(viewer), PURPOSE)
            assert str(e.value) == f"the {viewer.split('.')[0]} role has no access to problem-solving plans"
            assert not want
        else:
            got, rows = reads(w.db, lambda: plans.list_plans(w.db, w.user(viewer), PURPOSE))
            assert [p["id"] for p in got] == want, viewer
            assert [(r.action, r.entity, r.purpose, r.user_id) for r in rows] == [
                ("read", "plan", PURPOSE, w.users[viewer])]
            assert ids_of(rows[0]) == want and json.loads(rows[0].detail) == {"list": True}
            assert [p["id"] for p in plans.list_plans(w.db, w.user(viewer), PURPOSE, limit=2)] == want[:2]
            w.db.commit()
        for pid in w.facts:
            if opens(w, viewer, pid):
                got, rows = reads(w.db, lambda: plans.get_plan(w.db, w.user(viewer), pid, PURPOSE))
                assert got["id"] == pid and got["title"] == w.db.get(Plan, pid).title
                assert got["case_id"] == w.facts[pid][0] and got["missing_for_next_stage"] == []
                assert [(r.entity, ids_of(r), r.purpose, json.loads(r.detail), r.user_id) for r in rows] == [
                    ("plan", [pid], PURPOSE, {}, w.users[viewer])]
            else:
                before = len(audit_rows(w.db))
                with pytest.raises(NotFound):
                    plans.get_plan(w.db, w.user(viewer), pid, PURPOSE)
                w.db.rollback()
                assert len(audit_rows(w.db)) == before
    pid = next(iter(w.facts))
    for purpose in (None, "", "abc"):
        with pytest.raises(audit.MissingPurpose):
            plans.get_plan(w.db, w.user("coordinator.P"), pid, purpose)
        with pytest.raises(audit.MissingPurpose):
            plans.list_plans(w.db, w.user("coordinator.P"), purpose)
        with pytest.raises(audit.MissingPurpose):
            plans.export_plan(w.db, w.user("coordinator.P"), pid, purpose)


def test_creating_a_plan_needs_a_case_role_and_the_case_in_full(world):
    w = world
    for viewer in VIEWERS:
        if viewer.startswith(("admin", "analyst")):
            with pytest.raises(Forbidden):
                plans.create_plan(w.db, w.user(viewer), title="t", objective="o")
            continue
        got, rows = reads(w.db, lambda: plans.create_plan(w.db, w.user(viewer), title=f"by {viewer}",
                                                          objective="cut repeat calls", areas=["E01000001"]))
        stored = w.db.get(Plan, got["id"])
        assert (stored.title, stored.objective, stored.case_id, stored.lead_agency_id, stored.owner_id,
                stored.areas, stored.stage) == (f"by {viewer}", "cut repeat calls", None, w.user(viewer).agency_id,
                                                w.users[viewer], ["E01000001"], "objective")
        assert (stored.scanning, stored.analysis, stored.responses, stored.assessment) == ({}, {}, [], {})
        assert [(r.action, r.entity, ids_of(r), r.purpose, r.user_id) for r in rows] == [
            ("create", "plan", [got["id"]], "create plan", w.users[viewer])]
        for cid in sorted(w.cases)[::7]:
            lv = level(viewer, w.cases[cid])
            call = lambda: plans.create_plan(w.db, w.user(viewer), title="on case", objective="o",  # noqa: E731
                                             case_id=cid)
            if lv == "full":
                assert w.db.get(Plan, call()["id"]).case_id == cid
                w.db.commit()
            else:
                with pytest.raises(Forbidden if lv == "stub" else NotFound):
                    call()
                w.db.rollback()
    got = plans.create_plan(w.db, w.user("caseworker.P"), title="no areas", objective="o")
    assert w.db.get(Plan, got["id"]).areas == [] and got["areas"] == []


def test_stages_are_written_in_order_versioned_and_logged(world):
    w = world
    cw = w.user("caseworker.P")
    pid = plans.create_plan(w.db, cw, title="Park", objective="Cut ASB")["id"]
    w.db.commit()
    v = w.db.get(Plan, pid).version
    with pytest.raises(Conflict):   # analysis before scanning
        plans.set_plan_stage(w.db, cw, pid, v, "analysis", {"offender": "x"})
    w.db.rollback()
    got = plans.advance_plan(w.db, cw, pid)
    assert got["stage"] == "scanning"
    w.db.commit()
    last = audit_rows(w.db)[-1]
    assert (last.action, last.entity, ids_of(last), last.user_id, json.loads(last.detail)) == (
        "update", "plan", [pid], cw.id, {"advanced_to": "scanning"})
    v = w.db.get(Plan, pid).version
    with pytest.raises(Conflict) as e:
        plans.set_plan_stage(w.db, cw, pid, v - 1, "scanning", {"problem": "stale"})
    assert str(e.value).startswith(f"plan {pid} changed since you read it (version {v - 1}, now {v})")
    w.db.rollback()
    got, rows = reads(w.db, lambda: plans.set_plan_stage(w.db, cw, pid, v, "scanning",
                                                         {"problem": "Noise", "baseline": {"count": 12}}))
    assert got["scanning"] == {"problem": "Noise", "baseline": {"count": 12}} and got["version"] == v + 1
    assert w.db.get(Plan, pid).scanning == {"problem": "Noise", "baseline": {"count": 12}}
    assert [(r.action, r.entity, ids_of(r), json.loads(r.detail), r.user_id) for r in rows] == [
        ("update", "plan", [pid], {"stage": "scanning"}, cw.id)]
    plans.advance_plan(w.db, cw, pid)
    v = w.db.get(Plan, pid).version
    plans.set_plan_stage(w.db, cw, pid, v, "analysis", {"offender": "o", "victim": "v", "place": "p"})
    plans.advance_plan(w.db, cw, pid)
    w.db.commit()
    v = w.db.get(Plan, pid).version
    with pytest.raises(NotFound) as e:
        plans.set_plan_stage(w.db, cw, pid, v, "response",
                             {"responses": [{"description": "patrols", "partner_agency_id": 9999}]})
    assert str(e.value) == "no agency 9999"
    w.db.rollback()
    v = w.db.get(Plan, pid).version
    got = plans.set_plan_stage(w.db, cw, pid, v, "response",
                               {"responses": [{"description": "patrols", "partner_agency_id": w.agencies["C"]}]})
    assert w.db.get(Plan, pid).responses == [{"description": "patrols", "partner_agency_id": w.agencies["C"]}]
    assert got["responses"] == w.db.get(Plan, pid).responses
    # the export names the partner agency (the names export_plan reads), not its id
    assert "- patrols (partner: Agency C)" in plans.export_plan(w.db, cw, pid, PURPOSE)
    plans.advance_plan(w.db, cw, pid)
    v = w.db.get(Plan, pid).version
    summary = {"events_before": 40, "events_after": 22, "before": "2025-01..2025-06", "after": "2025-07..2025-12",
               "result": "fewer", "did_p": None}
    asked = []
    got = plans.assess_from_evaluation(w.db, cw, pid, v, "run-7", lambda r: asked.append(r) or summary)
    assert asked == ["run-7"]
    assert w.db.get(Plan, pid).assessment == {"before": 40, "after": 22, "evaluation_ref": "run-7",
                                              "before_period": "2025-01..2025-06", "after_period": "2025-07..2025-12",
                                              "result": "fewer", "events_before": 40, "events_after": 22}
    w.db.commit()
    assert json.loads(audit_rows(w.db)[-1].detail) == {"stage": "assessment"}
    # a run without an 'after' figure and no count before: the period string given as 'before' is
    # kept as before_period only, never left as the 'before' figure
    v = w.db.get(Plan, pid).version
    plans.assess_from_evaluation(w.db, cw, pid, v, "run-8", lambda r: {"events_before": None, "events_after": 5,
                                                                        "before": "2025-01..2025-06"})
    assert w.db.get(Plan, pid).assessment == {"events_after": 5, "after": 5, "evaluation_ref": "run-8",
                                              "before_period": "2025-01..2025-06", "after_period": None}
    w.db.rollback()
    # another agency's caseworker: the plan is not there at all (and the run is not read)
    with pytest.raises(NotFound):
        plans.assess_from_evaluation(w.db, w.user("caseworker.C"), pid, v, "run-7", lambda r: asked.append(r))
    assert asked == ["run-7"]
    for call in (lambda: plans.advance_plan(w.db, w.user("caseworker.C"), pid),
                 lambda: plans.set_plan_stage(w.db, w.user("caseworker.C"), pid, v, "scanning", {})):
        with pytest.raises(NotFound):
            call()


def test_export_is_logged_as_an_export(world):
    w = world
    pid = next(p for p, (c, _) in w.facts.items() if c is None and w.facts[p][1] == "P")
    text, rows = reads(w.db, lambda: plans.export_plan(w.db, w.user("caseworker.P"), pid, PURPOSE))
    assert "loose P" in text
    assert [(r.action, r.entity, ids_of(r), r.purpose, r.user_id) for r in rows] == [
        ("export", "plan", [pid], PURPOSE, w.users["caseworker.P"])]
    with pytest.raises(NotFound):
        plans.export_plan(w.db, w.user("caseworker.C"), pid, PURPOSE)


def test_publishing_keeps_only_approved_text_and_refuses_people_and_references(world):
    w = world
    db = w.db
    coord = w.user("coordinator.P")
    cid = sorted(full_cases(w, "coordinator.P"))[0]
    pid = plans.create_plan(db, coord, title="Inner", objective="secret objective", case_id=cid,
                            areas=["E01000001", 7])["id"]
    person = Person(given_name="Ann", family_name="Lee-Hartley", created_by_agency_id=w.agencies["P"])
    db.add(person)
    db.flush()
    db.add(CasePerson(case_id=cid, person_id=person.id, role="victim"))
    ed = Person(given_name="Ed", family_name="Moss", created_by_agency_id=w.agencies["P"])
    db.add(ed)
    db.flush()
    db.add(CasePerson(case_id=cid, person_id=ed.id, role="witness"))
    db.commit()
    v = db.get(Plan, pid).version
    with pytest.raises(Forbidden):
        plans.set_plan_public(db, w.user("caseworker.P"), pid, v, True, "t", "d", "o")
    with pytest.raises(HubError) as e:   # the texts default to empty: nothing approved yet
        plans.set_plan_public(db, coord, pid, v, True)
    assert str(e.value) == "a public plan needs its approved title, done, outcome"
    db.rollback()
    with pytest.raises(Conflict) as e:
        plans.set_plan_public(db, coord, pid, v + 1, True, "t", "d", "o")
    assert str(e.value).startswith(f"plan {pid} changed since you read it")
    db.rollback()
    for title, done, outcome, word in [("", "d", "o", "title"), ("t", " ", "", "done, outcome"),
                                       ("Park", "Ed Moss helped", "quieter", "Moss"),
                                       ("Park", "Met Ann about it", "quieter", "Ann"),
                                       ("Park", "Lee-Hartley helped", "quieter", "Lee-Hartley"),
                                       ("Park", "Officer caseworker.C came", "ok", "Officer caseworker.C"),
                                       ("Park", "see HUB-000001", "ok", "case reference"),
                                       ("Park", "mail a@b.c", "ok", "email"), ("Park", "ring 0151 123 4567", "ok", "phone"),
                                       ("Park", "ref 123456", "ok", "reference number")]:
        with pytest.raises(HubError) as e:
            plans.set_plan_public(db, coord, pid, v, True, title, done, outcome)
        assert word.split(",")[0] in str(e.value) or word in str(e.value), (done, str(e.value))
        db.rollback()
    # a name of two letters alone ("Ed", as in "the ED team") matches too many ordinary words to refuse
    got, rows = reads(db, lambda: plans.set_plan_public(db, coord, pid, v, True, " Park ", "Lighting fixed by the ED team",
                                                         "Calls down by a third (Annual view)"))
    assert (got["title"], got["done"], got["outcome"], got["public"]) == (
        "Park", "Lighting fixed by the ED team", "Calls down by a third (Annual view)", True)
    approved = dt.datetime.fromisoformat(got["approved_at"])
    assert approved.utcoffset() == dt.timedelta(0) and approved.microsecond == 0
    assert abs(dt.datetime.now(dt.timezone.utc) - approved) < dt.timedelta(minutes=5)
    assert got["areas"] == ["E01000001", "7"] and got["stage"] == "objective" and got["version"] == v + 1
    stored = db.get(Plan, pid)
    assert stored.public is True and stored.public_summary["approved_by"] == coord.id
    assert [(r.action, r.entity, ids_of(r), json.loads(r.detail), r.user_id) for r in rows] == [
        ("update", "plan", [pid], {"public": True}, coord.id)]
    public = plans.public_plans(db)
    assert [p["id"] for p in public] == [pid]
    assert "secret objective" not in json.dumps(public) and public[0]["approved_at"] == got["approved_at"]
    got = plans.set_plan_public(db, coord, pid, stored.version, False)
    assert got["public"] is False and got["title"] is None
    db.commit()
    assert plans.public_plans(db) == [] and db.get(Plan, pid).public_summary is None


def test_a_plan_as_shown_has_every_field_and_what_its_stage_still_needs(world):
    w = world
    cw = w.user("caseworker.C")
    pid = plans.create_plan(w.db, cw, title="Alley", objective="Fewer fires", areas=["E01000002"])["id"]
    plans.advance_plan(w.db, cw, pid)
    w.db.commit()
    got = plans.get_plan(w.db, cw, pid, PURPOSE)
    assert got == {"id": pid, "case_id": None, "title": "Alley", "lead_agency_id": w.agencies["C"],
                   "owner_id": cw.id, "stage": "scanning", "objective": "Fewer fires", "scanning": {},
                   "analysis": {}, "responses": [], "assessment": {}, "areas": ["E01000002"],
                   "version": w.db.get(Plan, pid).version,
                   "missing_for_next_stage": ["scanning.problem", "scanning.baseline"], "unreadable": []}


def test_the_newest_200_plans_are_listed_by_default(world):
    w = world
    w.db.add_all([Plan(title=f"many {k}", objective="o", lead_agency_id=w.agencies["C"],
                       owner_id=w.users["caseworker.C"]) for k in range(201)])
    w.db.commit()
    want = sorted((p for p in w.facts if opens(w, "caseworker.C", p)), reverse=True)
    newest = max(w.db.scalars(sa_select(Plan.id)))
    got = [p["id"] for p in plans.list_plans(w.db, w.user("caseworker.C"), PURPOSE)]
    assert len(got) == 200 and got == list(range(newest, newest - 200, -1))
    assert not want or want[0] < got[-1]


def test_who_publishes_and_the_public_state_of_a_plan(world):
    w = world
    assert [v for v in VIEWERS if plans.may_publish(w.user(v))] == ["coordinator.P", "coordinator.C"]
    coord = w.user("coordinator.P")
    pid = plans.create_plan(w.db, coord, title="Square", objective="o", areas=["E01000003"])["id"]
    w.db.commit()
    assert plans.public_summary(w.db, coord, pid) == {
        "id": pid, "title": None, "done": None, "outcome": None, "areas": ["E01000003"], "stage": "objective",
        "approved_at": None, "public": False}
    v = w.db.get(Plan, pid).version
    got = plans.set_plan_public(w.db, coord, pid, v, True, "Square", "Benches moved", "Fewer calls")
    w.db.commit()
    assert plans.public_summary(w.db, coord, pid) == {
        "id": pid, "title": "Square", "done": "Benches moved", "outcome": "Fewer calls", "areas": ["E01000003"],
        "stage": "objective", "approved_at": got["approved_at"], "public": True}
    for viewer in ("coordinator.C", "caseworker.C", "analyst.P"):   # another agency's, or no case role
        with pytest.raises(NotFound):
            plans.public_summary(w.db, w.user(viewer), pid)
