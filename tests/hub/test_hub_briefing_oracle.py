"""The briefing's hub reads (hub/services/briefing.py) section by section, at service level, against
the documented need-to-know table (tests/hub/service_world.py states it without access.py's SQL)
and against the audit table (issue 26 part 2).

For every viewer (admin, analyst, coordinators and caseworkers of two agencies) x 48 cases (locked
x lead x participant x owner x named member): the ids of each section equal a brute-force filter of
what was written, in the documented order; the section's audit row names exactly those records,
the purpose, the reader and the section; a case role with no purpose gets MissingPurpose and no row;
analysts and administrators get only the aggregate and no row. The edges of each window (24 hours,
7 days, the four earlier weeks) sit exactly on the boundary."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from saferhub.hub import audit
from saferhub.hub.models import (
    Action,
    AsbPower,
    Case,
    CaseAgency,
    CaseReviewApplication,
    Incident,
    MissingAlert,
    MissingPerson,
    Person,
    Referral,
)
from saferhub.hub.services import briefing

from .service_world import NOW, PURPOSE, VIEWERS, audit_rows, cached_world, full_cases, ids_of, link, make_world, \
    open_hub, reads, reads_incident

CASE_VIEWERS = [v for v in VIEWERS if not v.startswith(("admin", "analyst"))]
SINCE, TODAY = NOW - dt.timedelta(hours=24), NOW.date()


@pytest.fixture
def hub_db(tmp_path):
    engine, db = open_hub(tmp_path)
    yield db
    db.close()
    engine.dispose()


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _build_casework(db):
    """48 cases, each with actions, a review date, Case Review applications and powers that sit on
    either side of every window; facts (plain values): what each case holds, by kind."""
    w = make_world(db)
    rec = {"overdue": {}, "fresh": {}, "review": {}, "apps": {}, "powers": {}, "actions": {}}
    owner = w.users["caseworker.P"]
    for k, cid in enumerate(sorted(w.cases)):
        case = db.get(Case, cid)
        # a review date: today or overdue / exactly at the 7-day edge / a day past it / no date; every fifth
        # case is closed, every seventh of standard risk (neither is due)
        case.review_on = [TODAY - dt.timedelta(days=k % 3), TODAY + dt.timedelta(days=7),
                          TODAY + dt.timedelta(days=8), None][k % 4]
        case.risk = "standard" if k % 7 == 6 else "high"
        case.status = "closed" if k % 5 == 4 else "open"
        due = (case.status == "open" and case.risk == "high" and case.review_on is not None
               and case.review_on <= TODAY + dt.timedelta(days=7))
        rec["review"][cid] = (case.review_on, cid) if due else None
        acts = [Action(case_id=cid, title=f"overdue {k}", due_on=TODAY - dt.timedelta(days=1 + k % 4),
                       created_at=NOW - dt.timedelta(days=10)),
                Action(case_id=cid, title=f"new {k}", due_on=TODAY + dt.timedelta(days=5),
                       created_at=NOW - dt.timedelta(hours=2)),
                Action(case_id=cid, title=f"due today {k}", due_on=TODAY, created_at=NOW - dt.timedelta(hours=25)),
                Action(case_id=cid, title=f"done {k}", status="done", due_on=TODAY - dt.timedelta(days=5),
                       created_at=NOW - dt.timedelta(days=3)),
                Action(case_id=cid, title=f"at the edge {k}", due_on=None, created_at=SINCE)]
        db.add_all(acts)
        db.flush()
        rec["overdue"][cid] = [(acts[0].id, acts[0].due_on)]
        rec["fresh"][cid] = [acts[1].id, acts[4].id]
        rec["actions"][cid] = [a.id for a in acts]
        apps = [CaseReviewApplication(case_id=cid, applicant_ref=f"A{k}", received_on=TODAY - dt.timedelta(days=k),
                                      reports_in_window=3, threshold_met=True, threshold_rule="3 in 6 months"),
                CaseReviewApplication(case_id=cid, applicant_ref=f"B{k}", received_on=TODAY, reports_in_window=1,
                                      threshold_met=False, threshold_rule="3 in 6 months"),
                CaseReviewApplication(case_id=cid, applicant_ref=f"C{k}", received_on=TODAY, reports_in_window=4,
                                      threshold_met=True, threshold_rule="3 in 6 months", decision="review_held")]
        db.add_all(apps)
        db.flush()
        rec["apps"][cid] = [(apps[0].id, apps[0].received_on, cid)]
        expires = [NOW + dt.timedelta(days=3), NOW - dt.timedelta(hours=12), NOW - dt.timedelta(hours=30),
                   NOW + dt.timedelta(days=7, hours=1)][k % 4]
        power = AsbPower(case_id=cid, power="dispersal", issued_at=NOW - dt.timedelta(days=1), expires_at=expires,
                         grounds="g", created_by=owner)
        db.add(power)
        db.flush()
        in_window = NOW - dt.timedelta(hours=24) <= expires <= NOW + dt.timedelta(days=7)
        rec["powers"][cid] = [(power.id, expires, cid, "dispersal")] if in_window else []
        if k == 0:   # a closure order extended: the alert is on the extension (in the window here)
            first = AsbPower(case_id=cid, power="closure_order", issued_at=NOW - dt.timedelta(days=80),
                             expires_at=NOW + dt.timedelta(days=2), grounds="g", created_by=owner)
            db.add(first)
            db.flush()
            ext = AsbPower(case_id=cid, power="closure_order", issued_at=NOW - dt.timedelta(days=1),
                           expires_at=NOW + dt.timedelta(days=6), grounds="g", created_by=owner, extends_id=first.id)
            db.add(ext)
            db.flush()
            rec["powers"][cid].append((ext.id, ext.expires_at, cid, "closure_order"))
    unattached = [CaseReviewApplication(case_id=None, applicant_ref=f"U{i}", received_on=TODAY - dt.timedelta(days=i),
                                        reports_in_window=3, threshold_met=True, threshold_rule="3 in 6 months")
                  for i in (100, 160)]
    db.add_all(unattached)
    db.flush()
    rec["unattached"] = [(a.id, a.received_on, None) for a in unattached]
    w.facts = rec
    return w


@pytest.fixture
def casework_world(tmp_path):
    engine, w = cached_world(tmp_path, _build_casework)
    yield w
    w.db.close()
    engine.dispose()


def _one_row(rows, entity):
    mine = [r for r in rows if r.entity == entity]
    assert len(mine) == 1, [(r.action, r.entity) for r in rows]
    return mine[0]


def _check_row(row, w, viewer, entity, ids, detail):
    assert (row.action, row.entity, row.purpose) == ("read", entity, PURPOSE)
    assert (row.user_id, row.agency_id) == (w.user(viewer).id, w.user(viewer).agency_id)
    assert ids_of(row) == ids
    assert json.loads(row.detail) == detail


def _want_actions(rec, full):
    """Overdue: by due date, the first 50; new: created in the last 24 hours among the newest 200
    the viewer reads, newest first, the first 50."""
    over = sorted((a for c in full for a in rec["overdue"][c]), key=lambda a: (a.due_on, a.id))
    newest = sorted((a for c in full for a in rec["actions"][c]), key=lambda a: -a.id)[:200]
    fresh = {f.id for c in full for f in rec["fresh"][c]}
    return over[:50], [a for a in newest if a.id in fresh][:50]


def test_actions_are_the_viewers_new_and_overdue_ones_and_logged(casework_world):
    w, rec = casework_world, casework_world.facts
    for viewer in CASE_VIEWERS:
        full = full_cases(w, viewer)
        (fresh, overdue), rows = reads(w.db, lambda: briefing.actions(w.db, w.user(viewer), PURPOSE, SINCE, TODAY))
        want_over, want_fresh = _want_actions(rec, full)
        assert [a["id"] for a in overdue] == want_over, viewer
        assert [a["id"] for a in fresh] == want_fresh, viewer
        assert all(a["overdue"] for a in overdue) and not any(a["overdue"] for a in fresh)
        assert {a["case_id"] for a in overdue + fresh} <= full
        _check_row(_one_row(rows, "action"), w, viewer, "action", want_over + want_fresh, {"briefing": True})


def _want_actions(rec, full, extra=(), page=50):
    """Overdue: by due date, the first 50; new: created in the last 24 hours among the newest 200
    the viewer reads, newest first, the first 50. `extra`: (id, due_on) of more overdue new ones."""
    over = sorted([a for c in full for a in rec["overdue"][c]] + list(extra), key=lambda a: (a[1], a[0]))
    newest = sorted([a for c in full for a in rec["actions"][c]] + [a for a, _ in extra], reverse=True)[:200]
    fresh = {f for c in full for f in rec["fresh"][c]} | {a for a, _ in extra}
    return [a for a, _ in over[:50]], [a for a in newest if a in fresh][:page]


def test_actions_lists_are_bounded_in_page_order(casework_world, monkeypatch):
    """More overdue actions than a page, checked a small batch at a time: the first 50 the viewer
    may see, in due-date order, whatever the batch size (first_visible); new ones cut at LIST_LIMIT."""
    w, rec = casework_world, casework_world.facts
    viewer = "caseworker.C"
    full = full_cases(w, viewer)
    extra = [Action(case_id=c, title="more", due_on=TODAY - dt.timedelta(days=1 + n % 9), created_at=NOW)
             for n, c in enumerate(sorted(w.cases) * 2)]
    w.db.add_all(extra)
    w.db.commit()
    mine = [(a.id, a.due_on) for a in extra if a.case_id in full]
    want_over, want_fresh = _want_actions(rec, full, mine, page=10**6)
    assert len(mine) > 50
    for batch, limit in ((7, 5), (2, 4), (1000, 3), (50, 1000)):
        monkeypatch.setattr(briefing, "BATCH", batch)
        monkeypatch.setattr(briefing, "LIST_LIMIT", limit)
        fresh, overdue = briefing.actions(w.db, w.user(viewer), PURPOSE, SINCE, TODAY)
        assert [a["id"] for a in overdue] == want_over, (batch, limit)
        assert [a["id"] for a in fresh] == want_fresh[:limit], (batch, limit)
        w.db.rollback()


def test_action_flags_use_the_day_asked_for(casework_world):
    """The overdue flag follows the `today` passed in, not the clock: ten days ahead, the actions
    due in five days are overdue too, and so is every new one with a date before then."""
    w = casework_world
    later = TODAY + dt.timedelta(days=10)
    fresh, overdue = briefing.actions(w.db, w.user("coordinator.P"), PURPOSE, SINCE, later)
    due = {a.id: a.due_on for a in w.db.scalars(select(Action))}
    assert overdue and all(a["overdue"] for a in overdue)
    assert any(due[a["id"]] > TODAY for a in overdue)
    assert [a["overdue"] for a in fresh] == [due[a["id"]] is not None and due[a["id"]] < later for a in fresh]
    assert any(a["overdue"] for a in fresh) and not all(a["overdue"] for a in fresh)


def test_first_visible_stops_at_scan_limit_and_when_the_candidates_run_out(casework_world, monkeypatch):
    w, rec = casework_world, casework_world.facts
    ids = sorted(a for c in w.cases for a, _ in rec["overdue"][c])
    readable = set(ids[::3])
    cand = select(Action.id).where(Action.id.in_(ids)).order_by(Action.id)

    def fetch(window):
        return select(Action.id).where(Action.id.in_(window), Action.id.in_(readable)).order_by(Action.id)

    monkeypatch.setattr(briefing, "BATCH", 4)
    assert briefing.first_visible(w.db, cand, fetch, limit=1000) == sorted(readable)
    assert briefing.first_visible(w.db, cand, fetch, limit=3) == sorted(readable)[:3]
    assert len(briefing.first_visible(w.db, cand, fetch)) == min(50, len(readable))
    monkeypatch.setattr(briefing, "SCAN_LIMIT", 8)   # only the first 8 candidates are looked at
    assert briefing.first_visible(w.db, cand, fetch, limit=1000) == sorted(readable & set(ids[:8]))
    monkeypatch.setattr(briefing, "SCAN_LIMIT", 9)   # a batch started before the limit is read whole
    assert briefing.first_visible(w.db, cand, fetch, limit=1000) == sorted(readable & set(ids[:12]))


def test_reviews_due_are_open_high_risk_within_seven_days_and_logged(casework_world):
    w, rec = casework_world, casework_world.facts
    for viewer in CASE_VIEWERS:
        full = full_cases(w, viewer)
        got, rows = reads(w.db, lambda: briefing.reviews_due(w.db, w.user(viewer), PURPOSE, TODAY))
        want = sorted(rec["review"][c] for c in full if rec["review"][c])
        assert [c["id"] for c in got] == [c for _, c in want], viewer
        assert [c["overdue"] for c in got] == [on < TODAY for on, _ in want]
        assert any(c["overdue"] for c in got) and not all(c["overdue"] for c in got)
        assert all(c["access"] == "full" and c["ref"] == f"HUB-{c['id']:06d}" for c in got)
        _check_row(_one_row(rows, "case"), w, viewer, "case", [c for _, c in want], {"briefing": "review due"})


def test_pending_case_reviews_on_readable_cases_and_unattached_for_coordinators(casework_world):
    w, rec = casework_world, casework_world.facts
    for viewer in CASE_VIEWERS:
        full = full_cases(w, viewer)
        got, rows = reads(w.db, lambda: briefing.case_reviews_pending(w.db, w.user(viewer), PURPOSE))
        want = [a for c in full for a in rec["apps"][c]]
        if viewer.startswith("coordinator"):   # they convene reviews on no case
            want += rec["unattached"]
        want = sorted(want, key=lambda a: (a[1], a[0]), reverse=True)   # no two on one day
        assert [a["id"] for a in got] == [a[0] for a in want], viewer
        assert all(a["decision"] == "pending" and a["threshold_met"] for a in got)
        assert [a["case_ref"] for a in got] == [f"HUB-{a[2]:06d}" if a[2] else None for a in want]
        _check_row(_one_row(rows, "case_review"), w, viewer, "case_review", [a[0] for a in want], {"briefing": True})


def test_case_reviews_are_cut_to_the_page_newest_first(casework_world, monkeypatch):
    w, rec = casework_world, casework_world.facts
    monkeypatch.setattr(briefing, "LIST_LIMIT", 4)
    cid = sorted(full_cases(w, "coordinator.P"))[-1]
    late = [CaseReviewApplication(case_id=cid if n < 3 else None, applicant_ref=f"L{n}",
                                  received_on=TODAY + dt.timedelta(days=n % 3 + 1) if n < 3 else TODAY - dt.timedelta(days=50),
                                  reports_in_window=3, threshold_met=True, threshold_rule="3 in 6 months")
            for n in range(4)]   # written last, received latest (and an unattached one newer than the others)
    w.db.add_all(late)
    w.db.commit()
    rec = dict(rec, unattached=rec["unattached"] + [(late[3].id, late[3].received_on, None)])
    got = briefing.case_reviews_pending(w.db, w.user("coordinator.P"), PURPOSE)
    pool = [a for c in full_cases(w, "coordinator.P") for a in rec["apps"][c]] + rec["unattached"] + [
        (a.id, a.received_on, cid) for a in late[:3]]
    assert [a["id"] for a in got] == [a[0] for a in sorted(pool, key=lambda a: a[1], reverse=True)[:4]]
    # the unattached ones alone, newest first, when no case is readable in full
    for c in w.db.scalars(select(Case)):
        c.locked = True
    w.db.flush()
    got = briefing.case_reviews_pending(w.db, w.user("coordinator.C"), PURPOSE)
    assert not {cid for cid, c in w.cases.items() if "coordinator.C" in (c["owner"], c["member"])}
    assert [a["id"] for a in got] == [a[0] for a in sorted(rec["unattached"], key=lambda a: a[1], reverse=True)]
    monkeypatch.setattr(briefing, "LIST_LIMIT", 1)
    assert [a["id"] for a in briefing.case_reviews_pending(w.db, w.user("coordinator.C"), PURPOSE)] == \
        [max(rec["unattached"], key=lambda a: a[1])[0]]


def test_expiring_powers_on_readable_cases_and_logged(casework_world):
    w, rec = casework_world, casework_world.facts
    for viewer in CASE_VIEWERS:
        full = full_cases(w, viewer)
        got, rows = reads(w.db, lambda: briefing.powers_expiring(w.db, w.user(viewer), PURPOSE, NOW))
        want = sorted((p for c in full for p in rec["powers"][c]), key=lambda p: (p[1], p[0]))
        assert [p["power_id"] for p in got] == [p[0] for p in want], viewer
        for p, (pid, expires, cid, power) in zip(got, want):
            assert (p["case_id"], p["case_ref"], p["power"]) == (cid, f"HUB-{cid:06d}", power)
            assert p["expired"] == (expires <= NOW) and _utc(p["expires_at"]) == expires
            assert p["hours_left"] == round((expires - NOW).total_seconds() / 3600, 1)
        _check_row(_one_row(rows, "asb_power"), w, viewer, "asb_power", [p[0] for p in want], {"briefing": True})


def test_expiring_powers_are_cut_to_the_page_soonest_first(casework_world, monkeypatch):
    w, rec = casework_world, casework_world.facts
    monkeypatch.setattr(briefing, "LIST_LIMIT", 3)
    got = briefing.powers_expiring(w.db, w.user("coordinator.P"), PURPOSE, NOW)
    pool = sorted((p for c in full_cases(w, "coordinator.P") for p in rec["powers"][c]), key=lambda p: (p[1], p[0]))
    assert [p["power_id"] for p in got] == [p[0] for p in pool[:3]]


def test_expiring_powers_at_the_edges_of_the_window(casework_world):
    w = casework_world
    db = w.db

    def new_case():
        c = Case(kind="asb", title="edge", lead_agency_id=w.agencies["P"], owner_id=w.users["caseworker.P"])
        db.add(c)
        db.flush()
        db.add(CaseAgency(case_id=c.id, agency_id=w.agencies["P"]))
        return c.id

    def power(cid, expires, extends=None, kind="dispersal"):
        p = AsbPower(case_id=cid, power=kind, issued_at=NOW - dt.timedelta(days=2), expires_at=expires, grounds="g",
                     created_by=w.users["caseworker.P"], extends_id=extends)
        db.add(p)
        db.flush()
        return p.id

    a, b, c, d, e = (new_case() for _ in range(5))
    at_start = power(a, NOW - dt.timedelta(hours=24))     # expired exactly 24 hours ago: listed
    at_end = power(b, NOW + dt.timedelta(days=7))         # expires exactly 7 days ahead: listed
    inside = power(c, NOW + dt.timedelta(days=1))
    older = power(c, NOW - dt.timedelta(hours=24, minutes=30))   # expired before the 24 hours: not listed
    first = power(d, NOW + dt.timedelta(days=2), kind="closure_order")
    other = power(e, NOW + dt.timedelta(days=3))
    ext = power(d, NOW + dt.timedelta(days=5), extends=first, kind="closure_order")   # written after e's
    db.commit()
    got = {p["power_id"]: p for p in briefing.powers_expiring(db, w.user("caseworker.P"), PURPOSE, NOW)}
    assert {at_start, at_end, inside, other, ext} <= set(got)
    assert not {older, first} & set(got)
    assert got[at_start]["expired"] is True and got[at_end]["expired"] is False
    assert got[ext]["case_id"] == d


def _build_incidents(db):
    """Incidents by each agency (and none), recent, on the edge and older, some linked to cases
    (one to an unlocked and a locked case), some simulated; facts: id -> (agency code, linked case
    ids, occurred_at, source)."""
    w = make_world(db)
    facts = {}
    cases = sorted(w.cases)
    spec = []
    for agency in ("P", "C", "F", None):
        for age in (dt.timedelta(hours=3), dt.timedelta(hours=24), dt.timedelta(hours=24, seconds=1),
                    dt.timedelta(days=3)):
            spec.append((agency, age, []))
    for k, cid in enumerate(cases):
        spec.append(("F" if k % 2 else w.cases[cid]["lead"], dt.timedelta(hours=1 + k % 5), [cid]))
    spec.append(("P", dt.timedelta(hours=5), [cases[1], cases[30]]))
    spec.append((None, dt.timedelta(hours=2), [cases[1]]))   # no recording agency: "unknown agency"
    for n, (agency, age, linked) in enumerate(spec):
        inc = Incident(month=(NOW - age).date().replace(day=1), occurred_at=NOW - age, category="Anti-social behaviour",
                       location_text=f"place {n}", lsoa="E01000001",
                       source="simulated" if n % 6 == 0 else "incident",
                       agency_id=w.agencies[agency] if agency else None)
        db.add(inc)
        db.flush()
        for cid in linked:
            link(db, cid, inc.id)
        facts[inc.id] = (agency, linked, NOW - age, inc.source, n)
    assert w.cases[cases[30]]["locked"] and not w.cases[cases[1]]["locked"]
    w.facts = facts
    return w


@pytest.fixture
def incident_world(tmp_path):
    engine, w = cached_world(tmp_path, _build_incidents)
    yield w
    w.db.close()
    engine.dispose()


def test_recent_incidents_count_everything_and_list_only_what_the_viewer_may_read(incident_world):
    w, facts = incident_world, incident_world.facts
    recent = {i for i, f in facts.items() if f[2] >= SINCE}
    for viewer in VIEWERS:
        got, rows = reads(w.db, lambda: briefing.recent_incidents(w.db, w.user(viewer), PURPOSE, SINCE))
        assert got["recorded"] == len(recent) and got["truncated"] is False
        assert got["recorded_simulated"] == sum(facts[i][3] == "simulated" for i in recent) > 0
        want = sorted(i for i in recent if reads_incident(w, viewer, facts[i][0], facts[i][1]))
        assert sorted(r["id"] for r in got["readable"]) == want, viewer
        for r in got["readable"]:
            agency = facts[r["id"]][0]
            assert r["agency"] == (f"Agency {agency}" if agency else "unknown agency")
            assert r["place"] == f"place {facts[r['id']][4]}" and r["lsoa"] == "E01000001"
            assert r["source"] == facts[r["id"]][3] and r["category"] == "Anti-social behaviour"
        if viewer.startswith(("admin", "analyst")):
            assert got["readable"] == [] and rows == []
        else:
            assert want
            _check_row(_one_row(rows, "incident"), w, viewer, "incident", want, {"briefing": "last 24 hours"})


def test_recent_incidents_scan_is_bounded_and_says_so(incident_world, monkeypatch):
    """At most RECENT_SCAN incidents of the window, the latest by time first; `truncated` says
    when the bound was reached (there may be more)."""
    w, facts = incident_world, incident_world.facts
    recent = sorted((i for i in facts if facts[i][2] >= SINCE), key=lambda i: (facts[i][2], i), reverse=True)
    assert len(recent) > 3
    for scan in (3, len(recent), len(recent) + 1):
        monkeypatch.setattr(briefing, "RECENT_SCAN", scan)
        got = briefing.recent_incidents(w.db, w.user("coordinator.P"), PURPOSE, SINCE)
        seen = recent[:scan]
        assert got["recorded"] == len(seen)
        assert got["truncated"] is (len(seen) >= scan)
        assert {r["id"] for r in got["readable"]} <= set(seen)
        w.db.rollback()


def test_recent_incidents_in_chunks_read_the_same(incident_world, monkeypatch):
    w = incident_world
    whole = briefing.recent_incidents(w.db, w.user("caseworker.P"), PURPOSE, SINCE)
    w.db.rollback()
    monkeypatch.setattr(briefing, "CHUNK", 2)
    chunked = briefing.recent_incidents(w.db, w.user("caseworker.P"), PURPOSE, SINCE)
    assert sorted(r["id"] for r in chunked["readable"]) == sorted(r["id"] for r in whole["readable"])
    assert len(chunked["readable"]) == len(whole["readable"]) > 2


def test_no_purpose_no_incident_records_and_no_row(incident_world):
    w, facts = incident_world, incident_world.facts
    for purpose in (None, "", "   ", "abc"):
        for viewer in CASE_VIEWERS:
            with pytest.raises(audit.MissingPurpose):
                briefing.recent_incidents(w.db, w.user(viewer), purpose, SINCE)
            with pytest.raises(audit.MissingPurpose):
                briefing.casework(w.db, w.user(viewer), purpose, NOW)
            w.db.commit()
        for viewer in ("admin.P", "analyst.P"):   # the aggregate needs no purpose and reads nothing
            got, rows = reads(w.db, lambda: briefing.recent_incidents(w.db, w.user(viewer), purpose, SINCE))
            assert got["recorded"] == sum(f[2] >= SINCE for f in facts.values()) and got["readable"] == []
            assert briefing.casework(w.db, w.user(viewer), purpose, NOW) is None
            assert briefing.sees_casework(w.user(viewer)) is False
    assert all(briefing.sees_casework(w.user(v)) for v in CASE_VIEWERS)
    assert [r for r in audit_rows(w.db) if r.action == "read"] == []


def test_weekday_usual_counts_the_same_24_hours_in_each_earlier_week(hub_db):
    w = make_world(hub_db, combos=[])
    stamps = []
    for k in range(1, 6):   # weeks 1..5 back; the fifth is outside the four the summary uses
        end = NOW - dt.timedelta(days=7 * k)
        for n in range(k + 1):  # k+1 inside the window (its first instant included) ...
            stamps.append(end - dt.timedelta(hours=24) + dt.timedelta(hours=n * 3))
        stamps += [end, end - dt.timedelta(hours=24, seconds=1)]   # ... its last instant and one before: out
    stamps += [NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=1)]
    for t in stamps:
        hub_db.add(Incident(month=t.date().replace(day=1), occurred_at=t, category="Burglary",
                            agency_id=w.agencies["P"]))
    hub_db.commit()
    got, rows = reads(hub_db, lambda: briefing.weekday_usual(hub_db, NOW))
    want = [sum(NOW - dt.timedelta(days=7 * k, hours=24) <= t < NOW - dt.timedelta(days=7 * k) for t in stamps)
            for k in range(1, 5)]
    assert want == [2, 3, 4, 5]
    assert got == {"weeks": want, "mean": 3.5, "recorded_any": True}
    assert rows == []
    empty = briefing.weekday_usual(hub_db, NOW + dt.timedelta(days=400))
    assert empty == {"weeks": [0, 0, 0, 0], "mean": 0.0, "recorded_any": False}


def test_weekday_usual_counts_by_time_not_by_id(hub_db):
    """An incident recorded late (a higher id for an older time) counts in its own week."""
    w = make_world(hub_db, combos=[])
    for t in (NOW - dt.timedelta(days=7, hours=2), NOW - dt.timedelta(days=14, hours=2),
              NOW - dt.timedelta(days=21, hours=23, minutes=59), NOW - dt.timedelta(days=22, seconds=1)):
        hub_db.add(Incident(month=t.date().replace(day=1), occurred_at=t, category="Burglary",
                            agency_id=w.agencies["P"]))
        hub_db.commit()
    assert briefing.weekday_usual(hub_db, NOW)["weeks"] == [1, 1, 1, 0]


def test_referrals_by_age_oldest_first(casework_world):
    w = casework_world
    ages = [dt.timedelta(hours=h) for h in (1, 23, 24, 30, 5 * 24, 5 * 24 + 1, 200)]
    cid = sorted(w.cases)[0]
    made = []
    for n, age in enumerate(ages):
        for to in "PCF":
            r = Referral(case_id=cid, from_agency_id=w.agencies["P"], to_agency_id=w.agencies[to], kind="other",
                         reason="r", legal_gateway="s115", created_by=w.users["caseworker.P"],
                         created_at=NOW - age, status="pending" if n != 3 else "accepted")
            w.db.add(r)
            w.db.flush()
            made.append((r.id, to, age, r.status))
    w.db.commit()
    for viewer in ("caseworker.C", "coordinator.P", "caseworker.F"):
        got, rows = reads(w.db, lambda: briefing.referrals(w.db, w.user(viewer), PURPOSE, NOW))
        mine = [(r, age) for r, to, age, status in made if to == viewer[-1] and status == "pending"]
        want = {"new": [], "waiting": [], "overdue": []}
        for r, age in sorted(mine, key=lambda x: -x[1]):
            b = "new" if age < dt.timedelta(hours=24) else "overdue" if age > dt.timedelta(days=5) else "waiting"
            want[b].append((r, age.total_seconds() / 3600))
        assert {b: [(r["id"], r["age_hours"]) for r in got[b]] for b in got} == want
        assert [len(want[b]) for b in ("new", "waiting", "overdue")] == [2, 2, 2]
        assert sorted(ids_of(_one_row(rows, "referral"))) == sorted(r for r, _ in mine)


def test_casework_holds_every_section_each_logged_once_with_the_purpose(casework_world):
    w, rec = casework_world, casework_world.facts
    db = w.db
    ref = Referral(case_id=sorted(w.cases)[0], from_agency_id=w.agencies["C"], to_agency_id=w.agencies["P"],
                   kind="other", reason="r", legal_gateway="s115", created_by=w.users["caseworker.C"],
                   created_at=NOW - dt.timedelta(hours=2))
    child = Person(given_name="A", family_name="B", created_by_agency_id=w.agencies["C"])
    db.add_all([ref, child])
    db.flush()
    mp = MissingPerson(person_id=child.id, council_agency_id=w.agencies["C"], created_by_agency_id=w.agencies["C"])
    db.add(mp)
    db.flush()
    alerts = [MissingAlert(rule="r", rule_version=1, missing_person_id=mp.id, key=f"k{n}", detail="d",
                           triggered_at=NOW - dt.timedelta(days=days), from_agency_id=w.agencies["C"],
                           to_agency_id=w.agencies["P"]) for n, days in enumerate((6.8, 7.5))]
    db.add_all(alerts)
    db.commit()   # the last 7 days before NOW hold the first alert only (the clock is later than NOW)
    for viewer in CASE_VIEWERS:
        got, rows = reads(w.db, lambda: briefing.casework(w.db, w.user(viewer), f"  {PURPOSE} ", NOW))
        assert list(got) == ["referrals_new", "referrals_waiting", "referrals_overdue", "actions_new",
                             "actions_overdue", "reviews_due", "case_reviews", "powers", "missing_alerts"]
        full = full_cases(w, viewer)
        want_over, want_fresh = _want_actions(rec, full)
        assert [a["id"] for a in got["actions_overdue"]] == want_over
        assert [a["id"] for a in got["actions_new"]] == want_fresh
        assert sorted(c["id"] for c in got["reviews_due"]) == sorted(c for c in full if rec["review"][c])
        assert sorted(p["power_id"] for p in got["powers"]) == sorted(p[0] for c in full for p in rec["powers"][c])
        want_apps = [a[0] for c in full for a in rec["apps"][c]] + (
            [a[0] for a in rec["unattached"]] if viewer.startswith("coordinator") else [])
        assert sorted(a["id"] for a in got["case_reviews"]) == sorted(want_apps)
        police = viewer.endswith("P")
        assert [r["id"] for r in got["referrals_new"]] == ([ref.id] if police else [])
        # the alert is P's (received) and C's (sent); F has nothing to do with it
        assert [(a["id"], a["direction"]) for a in got["missing_alerts"]] == (
            [(alerts[0].id, "received" if police else "sent")] if viewer[-1] in "PC" else [])
        assert sorted(r.entity for r in rows) == sorted(["referral", "action", "case", "case_review", "asb_power",
                                                         "missing_alert"])
        assert {(r.action, r.purpose, r.user_id) for r in rows} == {("read", PURPOSE, w.user(viewer).id)}
