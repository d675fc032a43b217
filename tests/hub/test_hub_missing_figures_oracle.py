"""The missing-episode rules' alerts and the aggregate figures (hub/services/missing_alerts.py,
missing_figures.py) at service level (issue 26), on tests/hub/missing_world.py plus a few rows put on
the edges the code cuts at (an 18th birthday on the day of a first episode; a birthday the day after
one; a month's first instant; exactly 365 and 30 days back). Expected values are recomputed here
from the rows written; the rules' hits from `missing_rules.evaluate` over episodes built here, not
from the service's query."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from sqlalchemy import select

from saferhub.hub import audit
from saferhub.hub import missing_rules as rules
from saferhub.hub.errors import Forbidden, HubError
from saferhub.hub.models import (
    Agency,
    AuditEvent,
    Case,
    MissingAlert,
    MissingEpisode,
    MissingFound,
    MissingPerson,
    Person,
    Plan,
    Referral,
)
from saferhub.hub.services import missing_alerts as alerts
from saferhub.hub.services import missing_figures as figures

from . import missing_world as mw
from .missing_world import CASE_ROLES, HOMES, VIEWERS, role_of
from .service_world import NOW, PURPOSE, cached_world, ids_of, reads, refused

D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
UTC = dt.timezone.utc
# dates of birth on the age edges (first episodes in the year to NOW: M2 200 days back = 2026-05-21,
# M3 150 days back = 2026-07-10, M5 2026-09-30)
DOB = {"M2": dt.date(2008, 5, 21),    # 18 that day: not under 18
       "M3": dt.date(2008, 8, 5),     # 17: the birthday's month is later, its day earlier
       "M5": dt.date(2008, 10, 1)}    # 17: 18 the next day
EXTRA = [("M3", "H3", NOW - 40 * D, 3, None)]   # M3 once from foster care, between family-home episodes


def _build(db):
    w = mw.build(db)
    people, homes = w.facts["people"], w.facts["homes"]
    for p, dob in DOB.items():
        db.get(Person, db.get(MissingPerson, people[p]).person_id).date_of_birth = dob
    for person, home, at, hours, found in EXTRA:
        e = MissingEpisode(missing_person_id=people[person], home_id=homes[home], reported_at=at,
                           returned_at=at + hours * H, created_by_agency_id=w.agencies["P"])
        db.add(e)
        db.flush()
        w.facts["episodes"][e.id] = (person, home, at, hours, found)
    db.flush()
    return w


@pytest.fixture
def world(tmp_path):
    engine, w = cached_world(tmp_path, _build)
    yield w
    w.db.close()
    engine.dispose()


def row(r) -> tuple:
    return (r.action, r.entity, ids_of(r), r.purpose, r.user_id, json.loads(r.detail))


def _key(found):
    if not found:
        return None
    if found.get("uprn"):
        return f"uprn:{found['uprn']}"
    if found.get("lon") is not None:
        return f"pt:{found['lon']:.4f},{found['lat']:.4f}"
    return "text:" + " ".join(found["description"].lower().split())


def _age(dob, on):
    years = on.year - dob.year
    return years - 1 if (on.month, on.day) < (dob.month, dob.day) else years


# ---------------------------------------------------------------- partnership shares

def test_shares_count_under_18s_at_their_first_episode_and_anyone_ever_from_care(world):
    w = world
    dob = {p: DOB.get(p, v[4]) for p, v in mw.PEOPLE.items()}
    for viewer in VIEWERS:
        if role_of(viewer) not in ("coordinator", "analyst"):
            with pytest.raises(Forbidden):
                figures.partnership_shares(w.db, w.user(viewer), until=NOW)
    for since, until in ((None, NOW), (NOW - 200 * D, NOW - 10 * D), (NOW - 201 * D, NOW - 30 * D),
                         (NOW - 400 * D, NOW - 364 * D)):
        got = figures.partnership_shares(w.db, w.user("analyst.P"), since=since, until=until)
        lo = since or until - 365 * D
        eps = sorted((at, p, h) for p, h, at, *_ in w.facts["episodes"].values() if lo < at <= until)
        first = {}
        for at, p, _ in eps:
            first.setdefault(p, at)
        care = {p for _, p, h in eps if HOMES[h][0] in ("care_home", "foster_home")}
        known = [p for p in first if dob[p] is not None]
        under = [p for p in known if _age(dob[p], first[p].date()) < 18]
        assert (got["since"], got["until"], got["episodes"], got["people"]) == (lo, until, len(eps), len(first))
        assert (got["under_18"]["count"], got["under_18"]["of"]) == (len(under), len(known)), (since, until)
        assert (got["from_care"]["count"], got["from_care"]["of"]) == (len(care), len(first)), (since, until)
        assert got["includes_simulated"] is False
    # by hand, the year to NOW: M1 (16), M2 (18 that day), M3 (17), M5 (17), M4 (unknown); from care all but none
    got = figures.partnership_shares(w.db, w.user("coordinator.C"), until=NOW)
    assert (got["under_18"]["count"], got["under_18"]["of"], got["from_care"]["count"], got["from_care"]["of"]) \
        == (3, 4, 5, 5)
    assert got["under_18"]["percent"] == 75.0
    # the window's edges: reported exactly at `since` is out, exactly at `until` in
    got = figures.partnership_shares(w.db, w.user("analyst.P"), since=NOW - 200 * D, until=NOW - 90 * D)
    assert got["episodes"] == 3   # M1 -100, M2 -90 (at until), M3 -150; not M2 -200 (at since)
    ep = w.db.scalar(select(MissingEpisode).where(MissingEpisode.reported_at < NOW - 390 * D))
    ep.simulated = True
    w.db.commit()
    assert figures.partnership_shares(w.db, w.user("analyst.P"), until=NOW)["includes_simulated"] is True


def test_shares_default_to_the_year_to_now(world):
    got = figures.partnership_shares(world.db, world.user("analyst.P"))
    assert dt.timedelta(0) <= dt.datetime.now(UTC) - got["until"] < dt.timedelta(minutes=5)
    assert got["until"] - got["since"] == 365 * D


# ---------------------------------------------------------------- monthly counts

def _month(at):
    return f"{at.year:04d}-{at.month:02d}"


def test_monthly_counts_per_person_and_home_by_calendar_month(world):
    w, people, homes = world, world.facts["people"], world.facts["homes"]
    m1_case = w.db.get(MissingPerson, people["M1"]).case_id
    for k in range(2):   # two plans on one case: still one row
        w.db.add(Plan(case_id=m1_case, title=f"plan {k}", lead_agency_id=w.agencies["P"],
                      owner_id=w.users["caseworker.P"]))
    w.db.commit()
    for viewer in VIEWERS:
        call = lambda unit: figures.monthly_counts(w.db, w.user(viewer), PURPOSE, unit=unit,  # noqa: E731
                                                   first=dt.date(2026, 9, 15), months=3)
        council = role_of(viewer) in CASE_ROLES and mw.AGENCIES[mw.agency_of(viewer)] == "council"
        if not (mw.is_police(viewer) or council):
            for unit in ("person", "home"):
                refused(w, lambda: call(unit), Forbidden)
            continue
        for unit in ("person", "home"):
            got, rows = reads(w.db, lambda: call(unit))
            assert got["months"] == ["2026-09", "2026-10", "2026-11"] and got["unit"] == unit
            if unit == "person":
                names = [p for p in sorted(mw.PEOPLE, key=people.get) if mw.sees_person(viewer, p)]
                ids = [people[p] for p in names]
                assert got["home_kinds"] == [HOMES[mw.PEOPLE[p][1]][0] if mw.PEOPLE[p][1] else "unknown"
                                             for p in names]
                assert got["planned"] == [p == "M1" for p in names]
            else:
                names = [h for h in sorted(HOMES, key=homes.get)
                         if mw.is_police(viewer) or HOMES[h][3] == mw.agency_of(viewer)]
                ids = [homes[h] for h in names]
                assert got["home_kinds"] == [HOMES[h][0] for h in names] and got["planned"] == [False] * len(names)
            assert got["ids"] == ids, (viewer, unit)
            at_of = [(p if unit == "person" else h, at) for p, h, at, *_ in w.facts["episodes"].values()]
            assert got["counts"] == [[sum(k == n and _month(at) == m for k, at in at_of) for m in got["months"]]
                                     for n in names], (viewer, unit)
            assert [row(r) for r in rows] == [("read", f"missing_{unit}", ids, PURPOSE, w.users[viewer],
                                               {"aggregate": "episodes per month", "first": "2026-09-01",
                                                "months": 3})]
    # M5: 2026-09-30 12:00, 2026-10-31 23:59:59 and 2026-11-01 00:00 each in their own month
    got = figures.monthly_counts(w.db, w.user("caseworker.P"), PURPOSE, unit="person", first=dt.date(2026, 9, 1),
                                 months=3)
    assert got["counts"][got["ids"].index(people["M5"])] == [1, 1, 1]
    got = figures.monthly_counts(w.db, w.user("caseworker.P"), PURPOSE, unit="person", first=dt.date(2026, 11, 1),
                                 months=1)
    assert got["counts"][got["ids"].index(people["M5"])] == [1]
    # across a new year: 13 months from December 2025 (M4 366 and 364 days back, M1 365 days back)
    got = figures.monthly_counts(w.db, w.user("coordinator.P"), PURPOSE, unit="home", first=dt.date(2025, 12, 1),
                                 months=13)
    assert got["months"][0] == "2025-12" and got["months"][1] == "2026-01" and got["months"][-1] == "2026-12"
    want = {h: [0] * 13 for h in HOMES}
    for p, h, at, *_ in w.facts["episodes"].values():
        if dt.datetime(2025, 12, 1, tzinfo=UTC) <= at:
            want[h][(at.year - 2025) * 12 + at.month - 12] += 1
    assert got["counts"] == [want[h] for h in sorted(HOMES, key=homes.get)]
    assert got["counts"][got["ids"].index(homes["H5"])][0] == 2
    got = figures.monthly_counts(w.db, w.user("coordinator.P"), PURPOSE, unit="home", first=dt.date(2026, 12, 1),
                                 months=2)
    assert got["months"] == ["2026-12", "2027-01"]
    for unit, months in (("people", 3), ("person", 0), ("home", 121)):
        refused(w, lambda: figures.monthly_counts(w.db, w.user("caseworker.P"), PURPOSE, unit=unit,
                                                  first=dt.date(2026, 1, 1), months=months), HubError)
    assert len(figures.monthly_counts(w.db, w.user("caseworker.P"), PURPOSE, unit="home", first=dt.date(2020, 1, 1),
                                      months=120)["months"]) == 120
    refused(w, lambda: figures.monthly_counts(w.db, w.user("caseworker.P"), "", unit="home",
                                              first=dt.date(2026, 1, 1), months=1), audit.MissingPurpose)


def test_add_months_walks_across_years():
    assert figures.add_months(dt.date(2026, 12, 15), 1) == dt.date(2027, 1, 1)
    assert figures.add_months(dt.date(2026, 1, 31), -1) == dt.date(2025, 12, 1)
    assert figures.add_months(dt.date(2026, 5, 2), 0) == dt.date(2026, 5, 1)
    assert figures.add_months(dt.date(2026, 5, 2), 20) == dt.date(2028, 1, 1)


# ---------------------------------------------------------------- found places

def test_found_places_group_by_place_for_the_police_only(world):
    w = world
    # a found record with no place (no UPRN, point or words): never grouped
    ep = next(i for i, (p, h, _, _, f) in w.facts["episodes"].items() if p == "M5")
    w.db.add(MissingFound(episode_id=ep, at_home=False, place_key=None))
    w.db.commit()
    for viewer in VIEWERS:
        if not mw.is_police(viewer):
            refused(w, lambda: figures.found_places(w.db, w.user(viewer), PURPOSE, now=NOW), Forbidden)
    for days in (365, 364, 90, 10, 3650):
        got, rows = reads(w.db, lambda: figures.found_places(w.db, w.user("caseworker.P"), PURPOSE, days=days,
                                                             now=NOW))
        places = {}
        for ep_id, (p, _, at, _, found) in w.facts["episodes"].items():
            if found and not found["at_home"] and at > NOW - days * D:
                places.setdefault(_key(found), []).append((ep_id, p, at))
        want = sorted(places, key=lambda k: (-len(places[k]), k))
        assert [g["place_key"] for g in got] == want, days
        for g in got:
            eps = places[g["place_key"]]
            assert (g["episodes"], g["people"], g["last_found"]) == (
                len(eps), len({p for _, p, _ in eps}), max(at for *_, at in eps))
        assert [row(r) for r in rows] == [("read", "missing_found", sorted(i for k in want for i, _, _ in places[k]),
                                           PURPOSE, w.users["caseworker.P"], {"by_place": True})]
    got = figures.found_places(w.db, w.user("coordinator.P"), PURPOSE, now=NOW)
    assert [(g["place_key"], g["episodes"], g["people"]) for g in got] == [
        ("pt:-2.9876,53.4001", 2, 1), ("text:the bus station", 2, 2), ("uprn:100", 2, 2)]
    assert got[0]["lon"] == -2.98765 and got[0]["lat"] == 53.40012 and got[0]["last_found"] == NOW - D
    assert got[1]["description"] in ("  The  Bus   Station ", "the bus station")
    assert set(got[0]) == {"place_key", "description", "lon", "lat", "episodes", "people", "last_found"}
    refused(w, lambda: figures.found_places(w.db, w.user("caseworker.P"), None, now=NOW), audit.MissingPurpose)
    assert figures.found_places(w.db, w.user("caseworker.P"), PURPOSE, days=400)[0]["episodes"] == 2


# ---------------------------------------------------------------- the rules and their alerts

def _episodes(w):
    """The rules' view of every episode, built from the rows written (not the service's query)."""
    out = []
    for e in w.db.scalars(select(MissingEpisode)):
        f = w.db.get(MissingFound, e.id)
        aw = lambda t: None if t is None else t.replace(tzinfo=UTC)  # noqa: E731
        kind = HOMES[{v: k for k, v in w.facts["homes"].items()}[e.home_id]][0]
        out.append(rules.Episode(id=e.id, person=e.missing_person_id, reported_at=aw(e.reported_at),
                                 returned_at=aw(e.returned_at), from_care=kind in ("care_home", "foster_home"),
                                 interview_offered_at=aw(e.interview_offered_at),
                                 interview_done_at=aw(e.interview_done_at), interview_declined=e.interview_declined,
                                 found_key=f.place_key if f else None, found_at_home=bool(f and f.at_home)))
    return out


def _add(w, person, home, at, hours=None, **kw):
    found = kw.pop("found", None)
    e = MissingEpisode(missing_person_id=w.facts["people"][person], home_id=w.facts["homes"][home], reported_at=at,
                       returned_at=None if hours is None else at + hours * H, created_by_agency_id=w.agencies["P"],
                       **kw)
    w.db.add(e)
    w.db.flush()
    if found:
        w.db.add(MissingFound(episode_id=e.id, place_key=_key(found), **found))
    return e


def test_rules_store_each_hit_once_with_its_referral_from_the_right_agency(world):
    w, people = world, world.facts["people"]
    kinds = {a.id: a.kind for a in w.db.scalars(select(Agency))}
    # the interview's edges (M3, back 3 days ago: due 72 h later, i.e. now)
    back = NOW - 100 * H
    on_time = _add(w, "M3", "H4", back - 2 * H, 2, interview_done_at=back + 72 * H)
    declined = _add(w, "M3", "H4", back - 3 * H, 3, interview_declined=True, interview_offered_at=back + 72 * H)
    late = _add(w, "M3", "H4", back - 4 * H, 4, interview_declined=True, interview_offered_at=back + 73 * H)
    late2 = _add(w, "M3", "H4", back - 5 * H, 5, interview_done_at=back + 72 * H + dt.timedelta(seconds=1))
    _add(w, "M3", "H4", NOW - 70 * H, 2, found={"uprn": "200", "at_home": True})   # home again: no place hit
    for k in (3, 4):   # M4 (no council; from care): a third in 90 days goes to the police, who cannot send it
        _add(w, "M4", "H5", NOW - k * D, 1)
    w.db.commit()
    for viewer in ("caseworker.P", "analyst.P", "admin.P"):
        refused(w, lambda: alerts.run_missing_rules(w.db, w.user(viewer), now=NOW), Forbidden)
    hits = rules.evaluate(_episodes(w), NOW)
    assert {h.rule for h in hits} == {r.name for r in rules.RULES}
    got, rows = reads(w.db, lambda: alerts.run_missing_rules(w.db, w.user("coordinator.C"), now=NOW))
    stored = list(w.db.scalars(select(MissingAlert).order_by(MissingAlert.id)))
    assert [(a.rule, a.missing_person_id, a.key) for a in stored] == [(h.rule, h.person, h.key) for h in hits]
    by_kind = {}
    for aid in sorted(kinds):
        by_kind.setdefault(kinds[aid], aid)
    n_ref = 0
    for a, h in zip(stored, hits):
        mp = w.db.get(MissingPerson, a.missing_person_id)
        to = by_kind[h.refer_to]
        frm = next((x for x in (mp.council_agency_id, w.agencies["P"]) if x is not None and x != to), None)
        assert (a.rule_version, a.triggered_at.replace(tzinfo=UTC), a.detail, a.to_agency_id, a.from_agency_id) \
            == (h.version, h.triggered_at, h.detail[:300], to, frm), h
        if frm is None or mp.case_id is None:
            assert a.referral_id is None, h
            continue
        n_ref += 1
        r = w.db.get(Referral, a.referral_id)
        assert (r.case_id, r.from_agency_id, r.to_agency_id, r.kind, r.legal_gateway, r.status) == (
            mp.case_id, frm, to, h.referral_kind, h.legal_gateway, "pending")
        assert r.reason == f"Rule {h.rule} v{h.version} for MP-{mp.id:06d}: {h.detail}"
    assert got["hits"] == len(hits) and got["new_alerts"] == len(hits) and got["referrals"] == n_ref > 0
    assert got["rules"] == [{"name": r.name, "version": r.version, "description": r.description}
                            for r in rules.RULES]
    assert [row(r) for r in rows if r.entity == "missing_rules"] == [
        ("evaluate", "missing_rules", [a.id for a in stored], "evaluate missing_rules", w.users["coordinator.C"],
         {"new_alerts": len(hits)})]
    assert len([r for r in rows if r.entity == "referral"]) == n_ref
    # by hand: the interview edges, the home found twice, M4's police-to-police third, M5's case-less hits
    overdue = {a.key for a in stored if a.rule == "return_interview_overdue_72h"
               and a.missing_person_id == people["M3"]}
    assert {f"episode:{e.id}" for e in (late, late2)} <= overdue and len(overdue) == 5   # and 5, 40, 150 days back
    assert not {f"episode:{e.id}" for e in (on_time, declined)} & overdue
    assert not any(a.rule == "found_twice_same_place" and a.missing_person_id == people["M3"] for a in stored)
    m4 = [a for a in stored if a.missing_person_id == people["M4"] and a.rule == "missing_third_in_90_days"]
    assert [(a.to_agency_id, a.from_agency_id, a.referral_id) for a in m4] == [(w.agencies["P"], None, None)]
    found = [a for a in stored if a.rule == "found_twice_same_place"]
    assert [(a.missing_person_id, a.key, a.to_agency_id, a.from_agency_id) for a in found] == [
        (people["M4"], "place:pt:-2.9876,53.4001", w.agencies["Y"], w.agencies["P"])]
    m5 = [a for a in stored if a.missing_person_id == people["M5"]]
    assert m5 and all(a.referral_id is None and a.from_agency_id == w.agencies["D"] for a in m5)
    # again: nothing new; the CLI (no user) logs under the rules' name
    got, rows = reads(w.db, lambda: alerts.run_missing_rules(w.db, None, now=NOW))
    assert (got["hits"], got["new_alerts"], got["referrals"]) == (len(hits), 0, 0)
    assert [row(r) for r in rows] == [("evaluate", "missing_rules", [], "missing-episode rules", None,
                                       {"new_alerts": 0})]
    assert len(list(w.db.scalars(select(MissingAlert)))) == len(hits)


def test_the_sender_is_the_council_else_another_police_force(world):
    w, people = world, world.facts["people"]
    p2 = Agency(code="P2", name="Agency P2", kind="police")
    w.db.add(p2)
    w.db.flush()
    for k in (3, 4):
        _add(w, "M4", "H5", NOW - k * D, 1)
    _add(w, "M2", "H4", NOW - 80 * H, 2)   # M2 (council D) from a family home: overdue -> Early Help, from D
    w.db.commit()
    alerts.run_missing_rules(w.db, None, now=NOW)
    got = {(a.missing_person_id, a.rule, a.key): a for a in w.db.scalars(select(MissingAlert))}
    m4 = [a for (p, r, _), a in got.items() if p == people["M4"] and r == "missing_third_in_90_days"]
    assert [(a.to_agency_id, a.from_agency_id) for a in m4] == [(w.agencies["P"], p2.id)]
    assert w.db.get(Referral, m4[0].referral_id).from_agency_id == p2.id
    m2 = [a for (p, r, _), a in got.items() if p == people["M2"] and r == "return_interview_overdue_72h"]
    assert {(a.to_agency_id, a.from_agency_id) for a in m2} == {(w.agencies["E"], w.agencies["D"])}


_N = itertools.count()


def _alert(w, person, at, to, frm, rule="r"):
    a = MissingAlert(rule=rule, rule_version=1, missing_person_id=w.facts["people"][person], key=f"k{next(_N)}",
                     triggered_at=at, detail=f"detail {at}", from_agency_id=w.agencies.get(frm),
                     to_agency_id=w.agencies.get(to))
    w.db.add(a)
    w.db.flush()
    return a


def test_each_agency_sees_the_alerts_it_sent_or_received_in_the_window(world):
    w, people = world, world.facts["people"]
    case = w.db.get(MissingPerson, people["M1"]).case_id
    ref = Referral(case_id=case, from_agency_id=w.agencies["C"], to_agency_id=w.agencies["E"], kind="early_help",
                   reason="x", legal_gateway="y", created_by=w.users["caseworker.C"], status="accepted")
    w.db.add(ref)
    w.db.flush()
    made = [_alert(w, "M1", NOW, "E", "C"), _alert(w, "M1", NOW - 30 * D, "E", "C"),
            _alert(w, "M1", NOW - 30 * D + dt.timedelta(seconds=1), "P", "C"),
            _alert(w, "M5", NOW + dt.timedelta(seconds=1), "E", "D"), _alert(w, "M5", NOW - 5 * D, "Y", "D"),
            _alert(w, "M4", NOW - 6 * D, "P", None), _alert(w, "M4", NOW - 6 * D, "E", "P"),
            _alert(w, "M2", NOW - 40 * D, "E", "D")]
    made[0].referral_id = ref.id
    w.db.commit()
    for viewer in VIEWERS:
        call = lambda days=30: alerts.missing_alerts(w.db, w.user(viewer), PURPOSE, now=NOW, days=days)  # noqa: E731
        if role_of(viewer) not in CASE_ROLES:
            refused(w, call, Forbidden)
            continue
        for days in (30, 45):
            got, rows = reads(w.db, lambda: call(days))
            me = w.agencies[mw.agency_of(viewer)]
            want = sorted((a for a in made if me in (a.to_agency_id, a.from_agency_id)
                           and NOW - days * D < a.triggered_at.replace(tzinfo=UTC) <= NOW),
                          key=lambda a: (-a.triggered_at.replace(tzinfo=UTC).timestamp(), a.id))
            assert [d["id"] for d in got] == [a.id for a in want], (viewer, days)
            for d, a in zip(got, want):
                mp = w.db.get(MissingPerson, a.missing_person_id)
                assert d == {"id": a.id, "rule": "r", "rule_version": 1, "missing_person_ref": f"MP-{mp.id:06d}",
                             "case_id": mp.case_id, "case_ref": d["case_ref"], "triggered_at": a.triggered_at
                             .replace(tzinfo=UTC), "detail": a.detail,
                             "direction": "received" if a.to_agency_id == me else "sent",
                             "referral_id": a.referral_id, "referral_status": "accepted" if a is made[0] else None}
                assert (d["case_ref"] is None) == (mp.case_id is None)
                if mp.case_id:
                    assert str(mp.case_id) in d["case_ref"]
            assert [row(r) for r in rows] == [("read", "missing_alert", [a.id for a in want], PURPOSE,
                                               w.users[viewer], {})]
    got = alerts.missing_alerts(w.db, w.user("caseworker.E"), PURPOSE, now=NOW)
    assert [d["id"] for d in got] == [made[0].id, made[6].id]
    refused(w, lambda: alerts.missing_alerts(w.db, w.user("caseworker.E"), "x", now=NOW), audit.MissingPurpose)
    assert [d["id"] for d in alerts.missing_alerts(w.db, w.user("caseworker.Y"), PURPOSE, now=NOW)] == [made[4].id]
    assert w.db.scalar(select(AuditEvent.entity).order_by(AuditEvent.seq.desc()).limit(1)) == "missing_alert"
    assert w.db.get(Case, case).kind == "missing_episode"
