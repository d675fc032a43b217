"""Rule flags and the directory (hub/services/flags.py, directory.py) at service level (issue 26
part 2). Flags: who may run and read them, that a run replaces the stored flags with what the
rules find on hand-counted incidents (a victim reporting twice in a year; an adult calling five
times in one month), and that every read is logged with the flags it named. Directory: agencies
and users are the administrators' (everyone else Forbidden), every write and the staff list are in
the audit table, moving or deactivating someone revokes their tokens."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from saferhub.hub import audit
from saferhub.hub.errors import Conflict, Forbidden, HubError, NotFound, Unprocessable
from saferhub.hub.models import Agency, ApiToken, Incident, RuleFlag, User
from saferhub.hub.services import directory, flags

from .service_world import PURPOSE, VIEWERS, audit_rows, ids_of, make_world, open_hub, reads

STRONG = "a long and unusual passphrase 42"


@pytest.fixture
def w(tmp_path):
    engine, db = open_hub(tmp_path)
    world = make_world(db, combos=[])
    db.commit()
    yield world
    db.close()
    engine.dispose()


def _incidents(w):
    """Victim V1: 2 reports in 2026 (a repeat victim), V2: 1; caller C1 (adult): 5 calls in March
    2026 (frequent), C2: 4; child caller K1: 3 in six months."""
    rows = [("2026-01-01", "Burglary", None, False, "V1"), ("2026-05-01", "Burglary", None, False, "V1"),
            ("2026-02-01", "Burglary", None, False, "V2")]
    rows += [("2026-03-01", "Other", "C1", False, None)] * 5 + [("2026-03-01", "Other", "C2", False, None)] * 4
    rows += [(m, "Other", "K1", True, None) for m in ("2026-01-01", "2026-03-01", "2026-06-01")]
    for month, cat, caller, child, victim in rows:
        w.db.add(Incident(month=dt.date.fromisoformat(month), category=cat, caller_ref=caller, caller_is_child=child,
                          victim_ref=victim, agency_id=w.agencies["P"]))
    w.db.commit()
    return len(rows)


def test_a_run_replaces_the_flags_with_what_the_rules_find(w):
    n = _incidents(w)
    w.db.add(RuleFlag(rule="stale", rule_version=1, subject_kind="caller", subject_key="old",
                      first_triggered=dt.date(2020, 1, 1), count=9, params={}))
    w.db.commit()
    for viewer in ("caseworker.P", "caseworker.C"):
        with pytest.raises(Forbidden):
            flags.run_rules(w.db, w.user(viewer))
    got, rows = reads(w.db, lambda: flags.run_rules(w.db, w.user("analyst.P")))
    assert got["incidents"] == n
    assert got["flags"] == {"frequent_caller_adult_month": 1, "repeat_victim_12_months": 1,
                            "frequent_caller_child_6_months": 1}
    assert [r["name"] for r in got["rules"]] == ["frequent_caller_adult_month", "frequent_caller_adult_3_months",
                                                 "frequent_caller_child_6_months", "repeat_victim_12_months",
                                                 "repeat_location_asb_3_months", "asb_case_review_threshold"]
    stored = {(f.rule, f.subject_key): f for f in w.db.scalars(select(RuleFlag))}
    assert set(stored) == {("frequent_caller_adult_month", "C1"), ("repeat_victim_12_months", "V1"),
                           ("frequent_caller_child_6_months", "K1")}
    c1 = stored[("frequent_caller_adult_month", "C1")]
    assert (c1.count, c1.first_triggered, c1.rule_version) == (5, dt.date(2026, 3, 1), 1)
    assert c1.params["threshold"] == 5 and c1.params["window"] == 1 and c1.params["child"] is False
    assert stored[("repeat_victim_12_months", "V1")].count == 2
    assert [(r.action, r.entity, r.purpose, json.loads(r.detail), r.user_id) for r in rows] == [
        ("evaluate", "rules", "evaluate rules", {"flags": 3}, w.users["analyst.P"])]
    assert all(r["version"] == 1 for r in got["rules"])
    assert all(f.evaluated_at is not None for f in stored.values())
    # a lower threshold for one rule, by a coordinator: C2's four calls now count
    got = flags.run_rules(w.db, w.user("coordinator.C"), {"frequent_caller_adult_month": {"threshold": 4}})
    assert got["flags"]["frequent_caller_adult_month"] == 2
    assert next(r for r in got["rules"] if r["name"] == "frequent_caller_adult_month")["threshold"] == 4
    assert w.db.scalar(select(func.count()).select_from(RuleFlag)) == 4
    with pytest.raises(HubError) as e:
        flags.run_rules(w.db, w.user("admin.P"), {"no_such_rule": {"threshold": 1}, "frequent_caller_adult_month": {}})
    assert "no_such_rule" in str(e.value)
    w.db.rollback()
    got, rows = reads(w.db, lambda: flags.run_rules(w.db, None))   # the CLI logs the run itself
    assert got["flags"]["frequent_caller_adult_month"] == 1 and rows == []


def test_an_empty_run_stores_nothing(w):
    got = flags.run_rules(w.db, w.user("admin.P"))
    assert got["incidents"] == 0 and got["flags"] == {}
    assert w.db.scalar(select(func.count()).select_from(RuleFlag)) == 0


def test_listing_flags_is_for_coordinators_and_analysts_and_logged(w):
    for n in range(6):
        w.db.add(RuleFlag(rule="r1" if n % 2 else "r2", rule_version=1, subject_kind="caller", subject_key=f"k{n}",
                          first_triggered=dt.date(2026, 1 + n % 3, 1), count=n + 2, params={"threshold": 2}))
    w.db.commit()
    facts = {f.id: f for f in w.db.scalars(select(RuleFlag))}
    want = sorted(facts, key=lambda i: (-facts[i].first_triggered.toordinal(), i))
    for viewer in VIEWERS:
        if not viewer.startswith(("coordinator", "analyst")):
            with pytest.raises(Forbidden):
                flags.list_flags(w.db, w.user(viewer), PURPOSE)
            continue
        got, rows = reads(w.db, lambda: flags.list_flags(w.db, w.user(viewer), PURPOSE))
        assert [f["id"] for f in got] == want
        assert got[0] == {"id": want[0], "rule": facts[want[0]].rule, "rule_version": 1, "subject_kind": "caller",
                          "subject_key": facts[want[0]].subject_key, "first_triggered": facts[want[0]].first_triggered,
                          "count": facts[want[0]].count, "params": {"threshold": 2}}
        assert [(r.action, r.entity, ids_of(r), r.purpose, r.user_id) for r in rows] == [
            ("read", "rule_flag", want, PURPOSE, w.users[viewer])]
    got = flags.list_flags(w.db, w.user("analyst.P"), PURPOSE, rule="r1", limit=2)
    assert [f["id"] for f in got] == [i for i in want if facts[i].rule == "r1"][:2]
    for purpose in (None, "", "abc"):
        with pytest.raises(audit.MissingPurpose):
            flags.list_flags(w.db, w.user("analyst.P"), purpose)


def test_agencies_are_created_by_administrators_and_logged(w):
    for viewer in VIEWERS:
        if not viewer.startswith("admin"):
            with pytest.raises(Forbidden):
                directory.create_agency(w.db, w.user(viewer), "yos", "Youth", "youth", None)
    got, rows = reads(w.db, lambda: directory.create_agency(w.db, w.user("admin.P"), "yos", "Youth Offending",
                                                            "youth", "yos@x.test"))
    assert got == {"id": got["id"], "code": "yos", "name": "Youth Offending", "kind": "youth",
                   "contact_email": "yos@x.test"}
    assert [(r.action, r.entity, ids_of(r), r.purpose, r.user_id) for r in rows] == [
        ("create", "agency", [got["id"]], "create agency", w.users["admin.P"])]
    with pytest.raises(Conflict) as e:
        directory.create_agency(w.db, w.user("admin.P"), "yos", "Again", "youth", None)
    assert str(e.value) == "an agency with code 'yos' exists"
    w.db.rollback()
    assert [a["name"] for a in directory.list_agencies(w.db)] == ["Agency C", "Agency F", "Agency P",
                                                                  "Youth Offending"]


def test_users_are_created_listed_and_changed_by_administrators_and_logged(w):
    admin = w.user("admin.P")
    for viewer in VIEWERS:
        if not viewer.startswith("admin"):
            for call in (lambda: directory.create_user(w.db, w.user(viewer), email="x@y.test", name="X",
                                                       agency_id=w.agencies["P"], role="caseworker", password=STRONG),
                         lambda: directory.list_users(w.db, w.user(viewer)),
                         lambda: directory.update_user(w.db, w.user(viewer), w.users["caseworker.P"], {"active": False})):
                with pytest.raises(Forbidden):
                    call()
    got, rows = reads(w.db, lambda: directory.create_user(w.db, admin, email="  New.Person@X.Test ", name="New",
                                                          agency_id=w.agencies["C"], role="caseworker",
                                                          password=STRONG))
    assert (got["email"], got["agency"], got["role"], got["active"]) == ("new.person@x.test", "Agency C",
                                                                         "caseworker", True)
    assert [(r.action, r.entity, ids_of(r), json.loads(r.detail), r.user_id) for r in rows] == [
        ("create", "user", [got["id"]], {"role": "caseworker", "agency_id": w.agencies["C"]}, admin.id)]
    for kw, exc, msg in (({"email": "NEW.person@x.test"}, Conflict, "a user with e-mail new.person@x.test exists"),
                         ({"agency_id": 999}, NotFound, "no agency 999"),
                         ({"email": "not an address"}, Unprocessable, "e-mail"), ({"password": "short"}, HubError, "")):
        args = dict(email="other@x.test", name="O", agency_id=w.agencies["P"], role="analyst", password=STRONG) | kw
        with pytest.raises(exc) as e:
            directory.create_user(w.db, admin, **args)
        assert msg in str(e.value) and str(e.value) not in ("", "None")
        w.db.rollback()
    listed, rows = reads(w.db, lambda: directory.list_users(w.db, admin))
    ids = sorted(w.db.scalars(select(User.id)))
    assert [u["id"] for u in listed] == ids
    assert [(r.action, r.entity, ids_of(r), r.purpose) for r in rows] == [("read", "user", ids,
                                                                           "user administration")]
    # moving someone revokes their tokens; None leaves a field alone
    target = w.users["caseworker.P"]
    w.db.add_all([ApiToken(token_hash="a" * 64, user_id=target, expires_at=dt.datetime(2030, 1, 1)),
                  ApiToken(token_hash="b" * 64, user_id=w.users["caseworker.C"], expires_at=dt.datetime(2030, 1, 1))])
    w.db.commit()
    got, rows = reads(w.db, lambda: directory.update_user(w.db, admin, target, {"role": None,
                                                                                 "agency_id": w.agencies["F"]}))
    assert (got["agency_id"], got["agency"], got["role"]) == (w.agencies["F"], "Agency F", "caseworker")
    assert list(w.db.scalars(select(ApiToken.user_id))) == [w.users["caseworker.C"]]
    assert [(r.action, r.entity, ids_of(r), json.loads(r.detail)) for r in rows] == [
        ("update", "user", [target], {"agency_id": w.agencies["F"]})]
    got = directory.update_user(w.db, admin, target, {"active": False})
    assert got["active"] is False and directory.active_user(w.db, "CASEWORKER.P@x.test ") is None
    assert directory.active_user(w.db, " Caseworker.C@X.test").id == w.users["caseworker.C"]
    for changes in ({"active": False}, {"role": "caseworker"}):
        with pytest.raises(Conflict) as e:
            directory.update_user(w.db, admin, admin.id, changes)
        assert str(e.value) == "you cannot deactivate or demote yourself; ask another administrator"
    assert directory.update_user(w.db, admin, admin.id, {"role": "admin", "name": "Renamed"})["name"] == "Renamed"
    with pytest.raises(NotFound) as e:
        directory.update_user(w.db, admin, 10**6, {"active": False})
    assert str(e.value) == f"no user {10**6}"
    with pytest.raises(NotFound):
        directory.update_user(w.db, admin, target, {"agency_id": 10**6})


def test_the_first_administrator_gets_an_agency_and_a_logged_creation(tmp_path):
    engine, db = open_hub(tmp_path)
    u = directory.first_admin(db, email="Boss@Hub.test", password=STRONG)
    db.commit()
    agency = db.get(Agency, u.agency_id)
    assert (agency.code, agency.name, agency.kind) == ("hub", "Community Safety Partnership hub", "other")
    assert (u.email, u.role, u.name) == ("boss@hub.test", "admin", "Hub administrator")
    rows = audit_rows(db)
    assert [(r.action, r.entity, ids_of(r), r.user_id, r.purpose) for r in rows] == [
        ("create", "user", [u.id], None, "hub init: first administrator")]
    second = directory.first_admin(db, email="two@hub.test", password=STRONG, name="Two")
    assert second.agency_id == agency.id and db.scalar(select(func.count()).select_from(Agency)) == 1
    assert directory.user_dict(second)["agency"] == "Community Safety Partnership hub"
    db.close()
    engine.dispose()
