"""Actions on cases (hub/services/actions.py) at service level (issue 26 part 2): who may create,
list, update and see the overdue list, against the documented need-to-know table
(tests/hub/service_world.py, viewer x 48 cases); every read and write against the audit table."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from saferhub.hub import audit
from saferhub.hub.errors import Conflict, Forbidden, HubError, NotFound
from saferhub.hub.models import Action
from saferhub.hub.services import actions

from .service_world import NOW, refused, PURPOSE, VIEWERS, audit_rows, cached_world, full_cases, ids_of, level, make_world, \
    reads

TODAY = NOW.date()
CASE_VIEWERS = [v for v in VIEWERS if not v.startswith(("admin", "analyst"))]


def _build(db):
    """Per case: an overdue open action, one due today, a done one past its date, one with no date;
    facts: case -> [(id, due_on, status)]."""
    w = make_world(db)
    facts = {}
    for k, cid in enumerate(sorted(w.cases)):
        acts = [Action(case_id=cid, title=f"overdue {k}", due_on=TODAY - dt.timedelta(days=1 + k % 6)),
                Action(case_id=cid, title=f"today {k}", due_on=TODAY),
                Action(case_id=cid, title=f"done {k}", status="done", due_on=TODAY - dt.timedelta(days=9)),
                Action(case_id=cid, title=f"undated {k}", due_on=None)]
        db.add_all(acts)
        db.flush()
        facts[cid] = [(a.id, a.due_on, a.status) for a in acts]
    w.facts = facts
    return w


@pytest.fixture
def world(tmp_path, monkeypatch):
    # the service's clock reads NOW: "overdue" is relative to the day the facts were written for,
    # not to the day the suite runs (this test failed after midnight UTC on the 8th)
    monkeypatch.setattr(actions, "utcnow", lambda: NOW)
    engine, w = cached_world(tmp_path, _build)
    yield w
    w.db.close()
    engine.dispose()


def test_listing_a_cases_actions_follows_need_to_know_and_is_logged(world):
    w = world
    for viewer in VIEWERS:
        for cid in sorted(w.cases)[::3]:
            lv = level(viewer, w.cases[cid])
            call = lambda: actions.list_actions(w.db, w.user(viewer), cid, PURPOSE)  # noqa: E731
            if lv != "full":
                refused(w, call, Forbidden if lv == "stub" else NotFound)
                continue
            got, rows = reads(w.db, call)
            assert [a["id"] for a in got] == [a for a, _, _ in w.facts[cid]]
            assert [a["overdue"] for a in got] == [True, False, False, False]
            assert [a["status"] for a in got] == ["open", "open", "done", "open"]
            assert all(a["case_id"] == cid and a["created_at"].tzinfo is not None for a in got)
            assert len(rows) == 1
            r = rows[0]
            assert (r.action, r.entity, r.purpose, r.user_id, r.agency_id) == (
                "read", "action", PURPOSE, w.users[viewer], w.user(viewer).agency_id)
            assert ids_of(r) == [a for a, _, _ in w.facts[cid]] and json.loads(r.detail) == {"case_id": cid}
    cid = sorted(full_cases(w, "caseworker.P"))[0]
    for purpose in (None, "", "abc"):
        refused(w, lambda: actions.list_actions(w.db, w.user("caseworker.P"), cid, purpose), audit.MissingPurpose)


def test_overdue_list_is_open_past_due_on_full_cases_and_logged(world):
    w = world
    for viewer in CASE_VIEWERS:
        full = full_cases(w, viewer)
        got, rows = reads(w.db, lambda: actions.overdue_actions(w.db, w.user(viewer), PURPOSE, TODAY))
        want = sorted(((due, a) for c in full for a, due, st in w.facts[c]
                       if st == "open" and due is not None and due < TODAY))
        assert sorted(a["id"] for a in got) == sorted(a for _, a in want), viewer
        assert [a["due_on"] for a in got] == [d for d, _ in want]
        assert all(a["overdue"] for a in got)
        assert len(rows) == 1 and (rows[0].entity, rows[0].purpose, rows[0].user_id) == (
            "action", PURPOSE, w.users[viewer])
        assert sorted(ids_of(rows[0])) == sorted(a for _, a in want)
        assert [a["id"] for a in got] == ids_of(rows[0]) and json.loads(rows[0].detail) == {"overdue": True}
    # another day: the rule moves with `today`; by default it is today's date
    later = actions.overdue_actions(w.db, w.user("coordinator.P"), PURPOSE, TODAY + dt.timedelta(days=1))
    full = full_cases(w, "coordinator.P")
    assert len(later) == len([1 for c in full for _, due, st in w.facts[c]
                              if st == "open" and due is not None and due <= TODAY])
    assert any(a["due_on"] == TODAY for a in later) and all(a["overdue"] for a in later)   # on the day asked
    for viewer in ("admin.P", "analyst.P"):
        refused(w, lambda: actions.overdue_actions(w.db, w.user(viewer), PURPOSE), Forbidden)
    for purpose in (None, "", "abc"):
        refused(w, lambda: actions.overdue_actions(w.db, w.user("caseworker.P"), purpose), audit.MissingPurpose)


def test_overdue_default_today_is_the_real_date(tmp_path):
    from .service_world import open_hub

    engine, db = open_hub(tmp_path)
    w = make_world(db, combos=[(False, "P", None, "caseworker.P", None)])
    cid = next(iter(w.cases))
    real = dt.datetime.now(dt.timezone.utc).date()
    db.add_all([Action(case_id=cid, title="yesterday", due_on=real - dt.timedelta(days=1)),
                Action(case_id=cid, title="today", due_on=real)])
    db.commit()
    got = actions.overdue_actions(db, w.user("caseworker.P"), PURPOSE)
    assert [a["title"] for a in got] == ["yesterday"]
    assert [a["overdue"] for a in actions.list_actions(db, w.user("caseworker.P"), cid, PURPOSE)] == [True, False]
    db.close()
    engine.dispose()


def test_overdue_list_is_capped_at_500_soonest_due_first(tmp_path):
    from .service_world import open_hub

    engine, db = open_hub(tmp_path)
    w = make_world(db, combos=[(False, "P", None, "caseworker.P", None)])
    cid = next(iter(w.cases))
    db.add_all([Action(case_id=cid, title=f"a{n}", due_on=TODAY - dt.timedelta(days=1 + n % 700)) for n in range(505)])
    db.commit()
    got = actions.overdue_actions(db, w.user("caseworker.P"), PURPOSE, TODAY)
    assert len(got) == 500
    assert got[0]["due_on"] == TODAY - dt.timedelta(days=505) and got[-1]["due_on"] == TODAY - dt.timedelta(days=6)
    db.close()
    engine.dispose()


def test_creating_an_action_needs_the_case_in_full_and_an_assignee_whose_agency_works_it(world):
    w = world
    for viewer in VIEWERS:
        for cid in sorted(w.cases)[1::4]:
            lv = level(viewer, w.cases[cid])
            call = lambda: actions.create_action(w.db, w.user(viewer), cid, title="visit",  # noqa: E731
                                                 due_on=TODAY + dt.timedelta(days=2))
            if lv != "full":
                refused(w, call, Forbidden if lv == "stub" else NotFound)
                continue
            got, rows = reads(w.db, call)
            stored = w.db.get(Action, got["id"])
            assert (stored.case_id, stored.title, stored.due_on, stored.status, stored.assignee_id) == (
                cid, "visit", TODAY + dt.timedelta(days=2), "open", None)
            assert got["overdue"] is False and got["version"] == 1
            assert len(rows) == 1
            r = rows[0]
            assert (r.action, r.entity, r.purpose, r.user_id) == ("create", "action", "create action", w.users[viewer])
            assert ids_of(r) == [got["id"]] and json.loads(r.detail) == {"case_id": cid}
    cid = next(c for c, f in w.cases.items() if f["agencies"] == {"P", "F"} and not f["locked"])
    cw = w.user("caseworker.P")
    got = actions.create_action(w.db, cw, cid, title="fire check", assignee_id=w.users["caseworker.F"])
    assert w.db.get(Action, got["id"]).assignee_id == w.users["caseworker.F"]
    w.db.commit()
    with pytest.raises(HubError) as e:
        actions.create_action(w.db, cw, cid, title="council", assignee_id=w.users["caseworker.C"])
    assert "does not work this case" in str(e.value)
    w.db.rollback()
    with pytest.raises(NotFound) as e:
        actions.create_action(w.db, cw, cid, title="nobody", assignee_id=99999)
    assert str(e.value) == "no user 99999"
    w.db.rollback()
    assert w.db.scalar(select(Action).where(Action.title.in_(["council", "nobody"]))) is None


def test_updating_an_action_is_versioned_logged_and_hidden_beyond_need_to_know(world):
    w = world
    for viewer in VIEWERS:
        for cid in sorted(w.cases)[2::5]:
            aid = w.facts[cid][3][0]
            lv = level(viewer, w.cases[cid])
            version = w.db.get(Action, aid).version
            call = lambda: actions.update_action(w.db, w.user(viewer), aid, version,  # noqa: E731
                                                 {"outcome": f"seen by {viewer}"})
            if lv != "full":
                before = len(audit_rows(w.db))
                with pytest.raises(NotFound) as e:
                    call()
                assert str(e.value) == f"no action {aid}"
                w.db.rollback()
                assert len(audit_rows(w.db)) == before
                continue
            got, rows = reads(w.db, call)
            assert got["outcome"] == f"seen by {viewer}" and got["version"] == version + 1
            assert w.db.get(Action, aid).completed_at is None
            assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail), r.user_id) for r in rows] == [
                ("update", "action", [aid], "update action", {"fields": ["outcome"]}, w.users[viewer])]
    cw = w.user("caseworker.P")
    cid = sorted(full_cases(w, "caseworker.P"))[0]
    aid = w.facts[cid][0][0]
    v = w.db.get(Action, aid).version
    with pytest.raises(Conflict):
        actions.update_action(w.db, cw, aid, v + 1, {"title": "stale"})
    w.db.rollback()
    for bad, msg in (({"case_id": 1}, "case_id cannot be changed here"), ({"title": None}, "title cannot be empty"),
                     ({"status": None}, "status cannot be empty")):
        with pytest.raises(HubError) as e:
            actions.update_action(w.db, cw, aid, v, bad)
        assert str(e.value) == msg
        w.db.rollback()
    got = actions.update_action(w.db, cw, aid, v, {"status": "done", "due_on": None, "title": "closed"})
    w.db.commit()
    stored = w.db.get(Action, aid)
    assert (stored.status, stored.due_on, stored.title) == ("done", None, "closed")
    assert stored.completed_at is not None and got["overdue"] is False
    assert json.loads(audit_rows(w.db)[-1].detail) == {"fields": ["due_on", "status", "title"]}
    got = actions.update_action(w.db, cw, aid, stored.version, {"status": "open", "outcome": None})
    assert got["completed_at"] == stored.completed_at   # re-opening keeps when it was done
    with pytest.raises(NotFound) as e:
        actions.update_action(w.db, cw, 10**6, 1, {"title": "x"})
    assert str(e.value) == f"no action {10**6}"


def test_action_dict_overdue_rule():
    a = Action(id=1, case_id=2, title="t", status="open", due_on=TODAY - dt.timedelta(days=1), version=1,
               created_at=dt.datetime(2026, 1, 1))
    assert actions.action_dict(a, TODAY)["overdue"] is True
    assert actions.action_dict(a, TODAY - dt.timedelta(days=1))["overdue"] is False
    a.status = "cancelled"
    assert actions.action_dict(a, TODAY)["overdue"] is False
    a.status, a.due_on = "open", None
    d = actions.action_dict(a, TODAY)
    assert d["overdue"] is False and d["created_at"] == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert set(d) == {"id", "case_id", "title", "assignee_id", "due_on", "status", "outcome", "version",
                      "completed_at", "created_at", "overdue"}
