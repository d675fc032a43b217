"""Referrals (hub/services/referrals.py) at service level (issue 26): the receiving agency's inbox
(everything sent to it, a locked case's referrals too: the legal gateway allows it), the sending
side's outbox (only referrals of cases the viewer reads in full), a case's referral timeline,
making, accepting and declining a referral and what accepting opens, and the referrals rules raise;
against the need-to-know table of tests/hub/service_world.py, every read and write against the
audit table."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from saferhub.hub import audit
from saferhub.hub.errors import Conflict, Forbidden, HubError, NotFound
from saferhub.hub.models import Case, CaseAgency, Referral, utcnow
from saferhub.hub.services import referrals

from .service_world import reads, refused, NOW, PURPOSE, VIEWERS, cached_world, ids_of, level, make_world, open_hub

CASE_VIEWERS = [v for v in VIEWERS if not v.startswith(("admin", "analyst"))]
STATUSES = ["pending", "accepted", "declined"]


def _build(db):
    """Per case: a referral from its lead agency to each other agency (status by k % 3, answered ones
    a known number of hours later). facts[referral] = (case, from, to, status)."""
    w = make_world(db)
    facts = {}
    codes = {v: k for k, v in w.agencies.items()}
    k = 0
    for cid in sorted(w.cases):
        lead = w.cases[cid]["lead"]
        owner = w.users[w.cases[cid]["owner"]]
        for to in "PCF":
            if to == lead:
                continue
            status = STATUSES[k % 3]
            created = NOW - dt.timedelta(days=k % 11, hours=k)
            r = Referral(case_id=cid, from_agency_id=w.agencies[lead], to_agency_id=w.agencies[to],
                         kind="early_help", reason=f"reason {k}", legal_gateway="Crime and Disorder Act 1998 s115",
                         status=status, created_by=owner, created_at=created.replace(tzinfo=None),
                         decline_reason="not ours" if status == "declined" else None)
            if status != "pending":
                r.responded_at = (created + dt.timedelta(hours=1 + k % 5, minutes=30)).replace(tzinfo=None)
            db.add(r)
            db.flush()
            facts[r.id] = (cid, lead, to, status)
            k += 1
    w.facts = {"referrals": facts, "codes": codes}
    return w


@pytest.fixture
def world(tmp_path):
    engine, w = cached_world(tmp_path, _build)
    w.cases = {c: dict(f) for c, f in w.cases.items()}
    yield w
    w.db.close()
    engine.dispose()


def _want_box(w, viewer, box, status=None):
    out = []
    for rid, (cid, frm, to, st) in sorted(w.facts["referrals"].items(), reverse=True):
        if status and st != status:
            continue
        if box == "in" and to == viewer[-1]:
            out.append(rid)
        if box == "out" and frm == viewer[-1] and level(viewer, w.cases[cid]) == "full":
            out.append(rid)
    return out


def _check_dict(w, d):
    r = w.db.get(Referral, d["id"])
    cid, frm, to, st = w.facts["referrals"][d["id"]]
    assert (d["case_id"], d["case_ref"], d["from_agency_id"], d["to_agency_id"], d["status"]) == (
        cid, f"HUB-{cid:06d}", w.agencies[frm], w.agencies[to], st)
    assert (d["kind"], d["reason"], d["legal_gateway"], d["decline_reason"]) == (
        r.kind, r.reason, r.legal_gateway, "not ours" if st == "declined" else None)
    created = r.created_at.replace(tzinfo=dt.timezone.utc)
    assert d["created_at"] == created and d["created_at"].tzinfo is not None
    if st == "pending":
        assert d["responded_at"] is None and d["hours_to_respond"] is None
    else:
        responded = r.responded_at.replace(tzinfo=dt.timezone.utc)
        assert d["responded_at"] == responded
        assert d["hours_to_respond"] == round((responded - created).total_seconds() / 3600, 2)
        assert d["hours_to_respond"] % 1 == 0.5


def test_inbox_and_outbox_follow_the_gateway_and_need_to_know_and_are_logged(world):
    w = world
    for viewer in CASE_VIEWERS:
        for box in ("in", "out"):
            for status in (None, *STATUSES):
                got, rows = reads(w.db, lambda: referrals.list_referrals(w.db, w.user(viewer), PURPOSE, box, status))
                want = _want_box(w, viewer, box, status)
                assert [d["id"] for d in got] == want, (viewer, box, status)
                for d in got[:4]:
                    _check_dict(w, d)
                assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail), r.user_id) for r in rows] == [
                    ("read", "referral", want, PURPOSE, {"box": box}, w.users[viewer])]
    # the default box is the inbox; any box other than "in" is the outbox
    cw = w.user("caseworker.C")
    assert [d["id"] for d in referrals.list_referrals(w.db, cw, PURPOSE)] == _want_box(w, "caseworker.C", "in")
    assert [d["id"] for d in referrals.list_referrals(w.db, cw, PURPOSE, "sent")] == _want_box(w, "caseworker.C", "out")
    w.db.commit()
    for viewer in ("admin.P", "analyst.P"):
        refused(w, lambda: referrals.list_referrals(w.db, w.user(viewer), PURPOSE), Forbidden)
    for purpose in (None, "", "abc"):
        refused(w, lambda: referrals.list_referrals(w.db, cw, purpose), audit.MissingPurpose)


def test_the_inbox_is_the_newest_200(tmp_path):
    engine, db = open_hub(tmp_path)
    w = make_world(db, combos=[(False, "P", None, "caseworker.P", None)])
    cid = next(iter(w.cases))
    ids = []
    for n in range(203):
        r = Referral(case_id=cid, from_agency_id=w.agencies["P"], to_agency_id=w.agencies["C"], kind="other",
                     reason=f"r{n}", legal_gateway="g", created_by=w.users["caseworker.P"],
                     status="accepted" if n < 3 else "pending")
        db.add(r)
        db.flush()
        ids.append(r.id)
    db.commit()
    got = referrals.list_referrals(db, w.user("caseworker.C"), PURPOSE)
    assert [d["id"] for d in got] == sorted(ids, reverse=True)[:200]
    got = referrals.list_referrals(db, w.user("caseworker.C"), PURPOSE, status="accepted")
    assert [d["id"] for d in got] == ids[2::-1]
    got = referrals.list_referrals(db, w.user("caseworker.P"), PURPOSE, "out")
    assert len(got) == 200
    db.close()
    engine.dispose()


def test_a_cases_referrals_are_for_its_full_readers_and_logged(world):
    w = world
    for viewer in VIEWERS:
        for cid in sorted(w.cases)[::3]:
            lv = level(viewer, w.cases[cid])
            call = lambda: referrals.case_referrals(w.db, w.user(viewer), cid, PURPOSE)  # noqa: E731
            if lv != "full":
                refused(w, call, NotFound, f"no case {cid}")
                continue
            got, rows = reads(w.db, call)
            want = sorted(r for r, f in w.facts["referrals"].items() if f[0] == cid)
            assert [d["id"] for d in got] == want and len(want) == 2
            for d in got:
                _check_dict(w, d)
            assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail)) for r in rows] == [
                ("read", "referral", want, PURPOSE, {"case_id": cid})]
    for purpose in (None, "", "abc"):
        refused(w, lambda: referrals.case_referrals(w.db, w.user("coordinator.P"), min(w.cases), purpose),
                 audit.MissingPurpose)


def test_making_a_referral_needs_the_case_in_full_and_another_agency(world):
    w = world
    for viewer in VIEWERS:
        for cid in sorted(w.cases)[1::5]:
            lv = level(viewer, w.cases[cid])
            to = "C" if viewer[-1] != "C" else "F"
            call = lambda: referrals.create_referral(  # noqa: E731
                w.db, w.user(viewer), cid, to_agency_id=w.agencies[to], kind="iom", reason=f"from {viewer}",
                legal_gateway="GDPR Art 6(1)(e)")
            if lv != "full":
                refused(w, call, Forbidden if lv == "stub" else NotFound)
                continue
            before = utcnow()
            got, rows = reads(w.db, call)
            r = w.db.get(Referral, got["id"])
            assert (r.case_id, r.from_agency_id, r.to_agency_id, r.kind, r.reason, r.legal_gateway, r.status,
                    r.created_by, r.responded_at) == (
                cid, w.user(viewer).agency_id, w.agencies[to], "iom", f"from {viewer}", "GDPR Art 6(1)(e)",
                "pending", w.users[viewer], None)
            assert got["status"] == "pending" and got["hours_to_respond"] is None
            assert before <= got["created_at"] <= utcnow()
            assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail), r.user_id) for r in rows] == [
                ("disclose", "referral", [got["id"]], "referral under GDPR Art 6(1)(e)",
                 {"case_id": cid, "to_agency_id": w.agencies[to]}, w.users[viewer])]
    co = w.user("coordinator.P")
    cid = min(w.cases)
    refused(w, lambda: referrals.create_referral(w.db, co, cid, to_agency_id=co.agency_id, kind="iom", reason="r",
                                                  legal_gateway="g"), HubError, "a referral goes to another agency")
    refused(w, lambda: referrals.create_referral(w.db, co, cid, to_agency_id=10**6, kind="iom", reason="r",
                                                  legal_gateway="g"), NotFound, f"no agency {10**6}")


def test_answering_a_referral_is_the_receiving_agencys_and_accepting_opens_the_case(world):
    w = world
    pending = {rid: f for rid, f in w.facts["referrals"].items() if f[3] == "pending"}
    for rid, (cid, frm, to, _) in sorted(pending.items()):
        for viewer in VIEWERS:
            if viewer[-1] == to and viewer.split(".")[0].rstrip("2") in ("coordinator", "caseworker"):
                continue
            exc = Forbidden if viewer.startswith(("admin", "analyst")) else NotFound
            refused(w, lambda: referrals.respond_referral(w.db, w.user(viewer), rid, True, None), exc,
                     None if exc is Forbidden else f"no referral {rid} to your agency")
    taker = {"P": "caseworker.P", "C": "caseworker.C", "F": "caseworker.F"}
    for n, (rid, (cid, frm, to, _)) in enumerate(sorted(pending.items())):
        u = w.user(taker[to])
        accept = n % 2 == 0
        if not accept:
            for blank in (None, "", "  \n"):
                refused(w, lambda: referrals.respond_referral(w.db, u, rid, False, blank), HubError,
                         "declining a referral needs a reason")
        before_level = level(taker[to], w.cases[cid])
        t0 = utcnow()
        got, rows = reads(w.db, lambda: referrals.respond_referral(w.db, u, rid, accept, "no capacity"))
        r = w.db.get(Referral, rid)
        assert (r.status, r.decline_reason, r.responded_by) == (
            ("accepted", None, u.id) if accept else ("declined", "no capacity", u.id))
        assert got["status"] == r.status and t0 <= got["responded_at"] <= utcnow()
        assert got["hours_to_respond"] == round((got["responded_at"] - got["created_at"]).total_seconds() / 3600, 2)
        assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail), r.user_id) for r in rows] == [
            ("update", "referral", [rid], "update referral", {"status": got["status"]}, u.id)]
        agencies = set(w.db.scalars(select(CaseAgency.agency_id).where(CaseAgency.case_id == cid)))
        if accept:
            w.cases[cid]["agencies"] = w.cases[cid]["agencies"] | {to}
        assert agencies == {w.agencies[a] for a in w.cases[cid]["agencies"]}
        if accept and not w.cases[cid]["locked"]:
            assert level(taker[to], w.cases[cid]) == "full"
            assert referrals.case_referrals(w.db, u, cid, PURPOSE)
            w.db.commit()
        elif not accept:
            assert level(taker[to], w.cases[cid]) == before_level
        # answered once only
        refused(w, lambda: referrals.respond_referral(w.db, u, rid, True, None), Conflict,
                 f"referral {rid} was already {r.status}")
    refused(w, lambda: referrals.respond_referral(w.db, w.user("caseworker.C"), 10**6, True, None), NotFound,
             f"no referral {10**6} to your agency")


def test_accepting_when_the_agency_already_works_the_case_adds_no_second_row(world):
    w = world
    co = w.user("coordinator.P")
    cid = next(c for c in sorted(w.cases) if w.cases[c]["lead"] == "P" and w.cases[c]["agencies"] == {"P", "F"})
    got = referrals.create_referral(w.db, co, cid, to_agency_id=w.agencies["F"], kind="iom", reason="r",
                                    legal_gateway="g")
    w.db.commit()
    referrals.respond_referral(w.db, w.user("caseworker.F"), got["id"], True, "kept out of the record")
    w.db.commit()
    rows = list(w.db.scalars(select(CaseAgency).where(CaseAgency.case_id == cid)))
    assert sorted(r.agency_id for r in rows) == sorted([w.agencies["P"], w.agencies["F"]])
    assert w.db.get(Referral, got["id"]).decline_reason is None


def test_a_rule_raises_a_referral_in_the_owners_name_logged_under_the_rule(world):
    w = world
    cid = sorted(w.cases)[5]
    owner = w.users[w.cases[cid]["owner"]]
    got, rows = reads(w.db, lambda: referrals.rule_referral(
        w.db, cid, from_agency_id=w.agencies["P"], to_agency_id=w.agencies["C"], kind="youth_intervention",
        reason="three incidents", legal_gateway="s115", rule="repeat-victim v2"))
    r = w.db.get(Referral, got["id"])
    assert (r.case_id, r.from_agency_id, r.to_agency_id, r.kind, r.reason, r.legal_gateway, r.created_by,
            r.status) == (cid, w.agencies["P"], w.agencies["C"], "youth_intervention", "three incidents", "s115",
                          owner, "pending")
    assert [(r.action, r.entity, ids_of(r), r.purpose, json.loads(r.detail), r.user_id, r.agency_id)
            for r in rows] == [
        ("disclose", "referral", [got["id"]], "rule repeat-victim v2: referral under s115",
         {"case_id": cid, "to_agency_id": w.agencies["C"], "rule": "repeat-victim v2"}, None, None)]
    _, rows = reads(w.db, lambda: referrals.rule_referral(
        w.db, cid, from_agency_id=w.agencies["P"], to_agency_id=w.agencies["C"], kind="other", reason="r",
        legal_gateway="g" * 400, rule="r"))
    assert rows[0].purpose == ("rule r: referral under " + "g" * 400)[:300]
    refused(w, lambda: referrals.rule_referral(w.db, 10**6, from_agency_id=1, to_agency_id=2, kind="other",
                                                reason="r", legal_gateway="g", rule="r"), NotFound, f"no case {10**6}")
    refused(w, lambda: referrals.rule_referral(w.db, cid, from_agency_id=2, to_agency_id=2, kind="other",
                                                reason="r", legal_gateway="g", rule="r"), HubError,
             "a referral goes to another agency")
    assert w.db.get(Case, cid) is not None


def test_the_reader_of_a_cases_referrals_is_on_its_audit_row(world):
    w = world
    for viewer in ("coordinator.P", "caseworker.C"):
        cid = next(c for c in sorted(w.cases) if level(viewer, w.cases[c]) == "full")
        u = w.user(viewer)
        _, rows = reads(w.db, lambda: referrals.case_referrals(w.db, u, cid, PURPOSE))
        assert [(r.user_id, r.agency_id, r.entity) for r in rows] == [(u.id, u.agency_id, "referral")]
