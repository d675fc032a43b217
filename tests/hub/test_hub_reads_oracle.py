"""The page read models that show hub records (issue 26 part 2), at service level: the audit trail
(hub/services/trail.py), the case page's people and notes (casefile.py), the map's hub layers
(maps.py) and the report files (reports.py).

Oracles: the documented need-to-know table in tests/hub/service_world.py (viewer x 48 cases), the
audit table (every read names its records, purpose and reader; a refused read adds no row), and
hand-made files for the reports (a patrol plan's files for the police's case roles and analysts)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from saferhub.hub import audit
from saferhub.hub.errors import Forbidden, NotFound
from saferhub.hub.models import (
    Case,
    CasePerson,
    Location,
    MissingEpisode,
    MissingFound,
    MissingHome,
    MissingPerson,
    Person,
    PersonNote,
    Plan,
    Referral,
    utcnow,
)
from saferhub.hub.services import casefile, maps, reports, trail

from .service_world import PURPOSE, VIEWERS, audit_rows, cached_world, full_cases, ids_of, make_world, reads

CASE_VIEWERS = [v for v in VIEWERS if not v.startswith(("admin", "analyst"))]


def _build(db):
    """48 cases, each at a place (every third with no coordinates, every fifth closed); a plan on
    every second case; on each case two people (one in two roles), notes by two authors and a
    referral; facts: per case its place, plans, people, notes."""
    w = make_world(db)
    facts = {"place": {}, "plans": {}, "people": {}, "notes": {}, "referrals": {}, "status": {}}
    for k, cid in enumerate(sorted(w.cases)):
        lon, lat = (None, None) if k % 3 == 2 else (-2.98 + k * 0.0012345, 53.40 + k * 0.0006789)
        loc = Location(description=f"place {k}", lon=lon, lat=lat, created_by_agency_id=w.agencies["P"])
        db.add(loc)
        db.flush()
        case = db.get(Case, cid)
        case.location_id = loc.id
        case.status = "closed" if k % 5 == 4 else "open"
        case.risk = ["standard", "medium", "high"][k % 3]
        facts["place"][cid] = (lon, lat)
        facts["status"][cid] = case.status
        facts["plans"][cid] = []
        if k % 2 == 0:
            p = Plan(title=f"plan {k}", lead_agency_id=w.agencies["C"], owner_id=w.users["caseworker.C"],
                     case_id=cid, stage=["objective", "scanning", "response"][k % 3])
            db.add(p)
            db.flush()
            facts["plans"][cid].append(p.id)
        people = [Person(given_name=f"Given{k}", family_name=f"Zed{k}", created_by_agency_id=w.agencies["P"]),
                  Person(given_name=f"Other{k}", family_name=f"Able{k}", created_by_agency_id=w.agencies["C"])]
        db.add_all(people)
        db.flush()
        db.add_all([CasePerson(case_id=cid, person_id=people[0].id, role="victim"),
                    CasePerson(case_id=cid, person_id=people[1].id, role="suspect"),
                    CasePerson(case_id=cid, person_id=people[1].id, role="witness")])
        base = dt.datetime(2026, 11, 1, 9, tzinfo=dt.timezone.utc)
        notes = [PersonNote(person_id=people[1].id, case_id=cid, kind="opinion", text=f"second {k}",
                            author_id=w.users["caseworker.C"], at=base + dt.timedelta(days=2)),
                 PersonNote(person_id=people[0].id, case_id=cid, kind="fact", text=f"first {k}",
                            author_id=w.users["caseworker.P"], at=base)]
        db.add_all(notes)
        ref = Referral(case_id=cid, from_agency_id=w.agencies["P"], to_agency_id=w.agencies["F"], kind="other",
                       reason="r", legal_gateway="s115", created_by=w.users["caseworker2.P"])
        db.add(ref)
        db.flush()
        facts["people"][cid] = [(people[1].id, f"Other{k} Able{k}", "suspect"),
                                (people[1].id, f"Other{k} Able{k}", "witness"),
                                (people[0].id, f"Given{k} Zed{k}", "victim")]
        facts["notes"][cid] = [(notes[1].id, people[0].id, f"Given{k} Zed{k}", "fact", f"first {k}",
                                "Officer caseworker.P (Agency P)"),
                               (notes[0].id, people[1].id, f"Other{k} Able{k}", "opinion", f"second {k}",
                                "Officer caseworker.C (Agency C)")]
        facts["referrals"][cid] = {ref.id: "Officer caseworker2.P (Agency P)"}
    w.facts = facts
    return w


@pytest.fixture
def world(tmp_path):
    engine, w = cached_world(tmp_path, _build)
    yield w
    w.db.close()
    engine.dispose()


# ---------------------------------------------------------------------------------- casefile.py

def test_case_people_and_notes_for_full_readers_only_and_logged(world):
    w, f = world, world.facts
    for viewer in VIEWERS:
        full = full_cases(w, viewer)
        for cid in sorted(w.cases)[::5] + sorted(w.cases)[1::7]:
            if cid not in full:
                before = len(audit_rows(w.db))
                with pytest.raises(NotFound):
                    casefile.case_people_notes(w.db, w.user(viewer), cid, PURPOSE)
                w.db.commit()
                assert len(audit_rows(w.db)) == before, (viewer, cid)
                continue
            got, rows = reads(w.db, lambda: casefile.case_people_notes(w.db, w.user(viewer), cid, PURPOSE))
            assert [(p["id"], p["name"], p["role"]) for p in got["people"]] == _people_order(f, cid)
            assert [(n["id"], n["person_id"], n["person"], n["kind"], n["text"], n["author"]) for n in got["notes"]] \
                == f["notes"][cid]
            assert all(n["at"].tzinfo is not None for n in got["notes"])
            assert got["senders"] == f["referrals"][cid]
            assert len(rows) == 1
            row = rows[0]
            assert (row.action, row.entity, row.purpose, row.user_id) == ("read", "person", PURPOSE,
                                                                          w.user(viewer).id)
            assert ids_of(row) == sorted({p[0] for p in f["people"][cid]})
            assert json.loads(row.detail) == {"case_id": cid, "page": "case"}


def _people_order(f, cid):
    """By family name, then person id (Able before Zed): one row per role."""
    rows = f["people"][cid]
    return sorted(rows, key=lambda p: (p[1].split()[1], p[0]))


def test_case_people_need_a_purpose_and_a_case_role(world):
    w = world
    cid = sorted(full_cases(w, "caseworker.P"))[0]
    for purpose in (None, "", "abc", "  \t "):
        with pytest.raises(audit.MissingPurpose):
            casefile.case_people_notes(w.db, w.user("caseworker.P"), cid, purpose)
    with pytest.raises(NotFound):
        casefile.case_people_notes(w.db, w.user("caseworker.P"), max(w.cases) + 1, PURPOSE)
    w.db.commit()
    assert audit_rows(w.db) == []
    assert [casefile.opens_case_records(w.user(v)) for v in VIEWERS] == \
        [not v.startswith(("admin", "analyst")) for v in VIEWERS]


def test_a_note_about_someone_no_longer_on_the_case_says_someone(world):
    w = world
    cid = sorted(full_cases(w, "caseworker.P"))[0]
    stranger = Person(given_name="Gone", family_name="Away", created_by_agency_id=w.agencies["P"])
    w.db.add(stranger)
    w.db.flush()
    w.db.add(PersonNote(person_id=stranger.id, case_id=cid, kind="fact", text="left",
                        author_id=w.users["caseworker.P"], at=dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)))
    w.db.commit()
    got = casefile.case_people_notes(w.db, w.user("caseworker.P"), cid, PURPOSE)
    assert got["notes"][-1]["person"] == "someone" and got["notes"][-1]["text"] == "left"


# ------------------------------------------------------------------------------------- maps.py

def test_case_and_plan_layers_hold_the_viewers_full_cases_and_are_logged(world):
    w, f = world, world.facts
    for viewer in CASE_VIEWERS:
        full = full_cases(w, viewer)
        got, rows = reads(w.db, lambda: maps.hub_layer(w.db, w.user(viewer), PURPOSE, "cases"))
        want = sorted((c for c in full if f["status"][c] == "open" and f["place"][c][0] is not None), reverse=True)
        assert got["type"] == "FeatureCollection"
        assert [x["properties"]["id"] for x in got["features"]] == want, viewer
        for x in got["features"]:
            cid = x["properties"]["id"]
            lon, lat = f["place"][cid]
            assert x["type"] == "Feature"
            assert x["geometry"] == {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]}
            assert x["properties"]["ref"] == f"HUB-{cid:06d}" and x["properties"]["kind"] == "asb"
            assert x["properties"]["title"] == f"case {sorted(w.cases).index(cid)}"
            assert x["properties"]["risk"] == ["standard", "medium", "high"][sorted(w.cases).index(cid) % 3]
        assert len(rows) == 1 and (rows[0].entity, rows[0].purpose, rows[0].user_id) == (
            "case", PURPOSE, w.user(viewer).id)
        assert ids_of(rows[0]) == want and json.loads(rows[0].detail) == {"map": True}

        got, rows = reads(w.db, lambda: maps.hub_layer(w.db, w.user(viewer), PURPOSE, "plans"))
        want = sorted((p for c in full if f["place"][c][0] is not None for p in f["plans"][c]), reverse=True)
        assert [x["properties"]["id"] for x in got["features"]] == want, viewer
        for x in got["features"]:
            cid = next(c for c, ps in f["plans"].items() if x["properties"]["id"] in ps)
            assert x["type"] == "Feature"
            assert x["properties"]["case_ref"] == f"HUB-{cid:06d}"
            assert x["properties"]["stage"] == ["objective", "scanning", "response"][sorted(w.cases).index(cid) % 3]
            assert x["properties"]["title"] == f"plan {sorted(w.cases).index(cid)}"
            assert x["geometry"]["coordinates"] == [round(v, 5) for v in f["place"][cid]]
        assert len(rows) == 1 and rows[0].entity == "plan" and ids_of(rows[0]) == want


def test_layers_are_capped_newest_first(world, monkeypatch):
    w, f = world, world.facts
    monkeypatch.setattr(maps, "LAYER_LIMIT", 3)
    full = full_cases(w, "coordinator.P")
    got = maps.hub_layer(w.db, w.user("coordinator.P"), PURPOSE, "cases")
    want = sorted((c for c in full if f["status"][c] == "open" and f["place"][c][0] is not None), reverse=True)
    assert [x["properties"]["id"] for x in got["features"]] == want[:3]
    got = maps.hub_layer(w.db, w.user("coordinator.P"), PURPOSE, "plans")
    plans = sorted((p for c in full if f["place"][c][0] is not None for p in f["plans"][c]), reverse=True)
    assert [x["properties"]["id"] for x in got["features"]] == plans[:3]


def test_layers_for_roles_without_case_records_are_empty_and_unlogged(world):
    w = world
    for viewer in ("admin.P", "analyst.P"):
        for kind in ("cases", "plans", "found"):
            got, rows = reads(w.db, lambda: maps.hub_layer(w.db, w.user(viewer), PURPOSE, kind))
            assert got == {"type": "FeatureCollection", "features": []} and rows == []
        assert maps.draws_hub_layers(w.user(viewer)) is False
        assert maps.draws_found_places(w.user(viewer)) is False
    for viewer in ("caseworker.C", "coordinator.C", "caseworker.F"):   # not police: no found layer
        got, rows = reads(w.db, lambda: maps.hub_layer(w.db, w.user(viewer), PURPOSE, "found"))
        assert got == {"type": "FeatureCollection", "features": []} and rows == []
        assert maps.draws_hub_layers(w.user(viewer)) is True and maps.draws_found_places(w.user(viewer)) is False
    assert maps.draws_found_places(w.user("caseworker.P")) is True


def test_layers_need_a_purpose_and_a_known_kind(world):
    w = world
    for viewer in ("caseworker.P", "analyst.P"):
        for purpose in (None, "", "abc"):
            with pytest.raises(audit.MissingPurpose):
                maps.hub_layer(w.db, w.user(viewer), purpose, "cases")
        with pytest.raises(NotFound) as e:
            maps.hub_layer(w.db, w.user(viewer), PURPOSE, "people")
        assert str(e.value) == "no such layer"
    w.db.commit()
    assert audit_rows(w.db) == []


def test_found_layer_by_place_for_the_police(world):
    w = world
    db = w.db
    now = utcnow()
    home = MissingHome(kind="care_home", name="Home", council_agency_id=w.agencies["C"],
                       created_by_agency_id=w.agencies["C"])
    db.add(home)
    db.flush()
    kids = []
    for n in range(3):
        person = Person(given_name=f"Kid{n}", family_name="X", created_by_agency_id=w.agencies["C"])
        db.add(person)
        db.flush()
        mp = MissingPerson(person_id=person.id, council_agency_id=w.agencies["C"], home_id=home.id,
                           created_by_agency_id=w.agencies["C"])
        db.add(mp)
        db.flush()
        kids.append(mp.id)
    # place A: 3 episodes, 2 children; place B (words only): 1; at home and 400 days ago: not shown
    spec = [(kids[0], "A", -1.0123456, 53.123456, 10, False), (kids[0], "A", -1.0123456, 53.123456, 5, False),
            (kids[1], "A", -1.0123456, 53.123456, 20, False), (kids[2], "B", None, None, 3, False),
            (kids[2], "E", -1.3, None, 4, False),   # half a point: no geometry either
            (kids[2], "C", -1.1, 53.2, 2, True), (kids[1], "D", -1.2, 53.3, 400, False)]
    for mp, key, lon, lat, days, at_home in spec:
        ep = MissingEpisode(missing_person_id=mp, home_id=home.id, reported_at=now - dt.timedelta(days=days),
                            created_by_agency_id=w.agencies["P"])
        db.add(ep)
        db.flush()
        db.add(MissingFound(episode_id=ep.id, place_key=key, description=f"found at {key}" if key != "B" else None,
                            lon=lon, lat=lat, at_home=at_home))
    db.commit()
    got, rows = reads(db, lambda: maps.hub_layer(db, w.user("caseworker.P"), PURPOSE, "found"))
    assert got["days"] == 365 and got["type"] == "FeatureCollection"
    feats = got["features"]
    assert [x["properties"]["place"] for x in feats] == ["found at A", "B", "found at E"]
    assert [(x["properties"]["episodes"], x["properties"]["people"]) for x in feats] == [(3, 2), (1, 1), (1, 1)]
    assert feats[0]["geometry"] == {"type": "Point", "coordinates": [-1.01235, 53.12346]}
    assert feats[1]["geometry"] is None and feats[2]["geometry"] is None
    assert [x["type"] for x in feats] == ["Feature"] * 3
    assert feats[0]["properties"]["last_found"] == (now - dt.timedelta(days=5)).isoformat()
    assert [r.entity for r in rows] == ["missing_found"] and rows[0].purpose == PURPOSE
    short = maps.hub_layer(db, w.user("coordinator.P"), PURPOSE, "found", days=4)
    assert [x["properties"]["place"] for x in short["features"]] == ["B"] and short["days"] == 4
    assert short["features"][0]["properties"]["last_found"] == (now - dt.timedelta(days=3)).isoformat()


# ------------------------------------------------------------------------------------ trail.py

def test_audit_trail_pages_filters_and_logs_its_own_browsing(tmp_path):
    from .service_world import open_hub

    engine, db = open_hub(tmp_path)
    w = make_world(db, combos=[])
    db.commit()
    kinds = ["case", "referral", "action", "person"]
    for n in range(110):   # more than a page
        audit.append(db, user=w.user("caseworker.P"), action="read", entity=kinds[n % 4], entity_ids=[n],
                     purpose="seeding the trail")
    db.commit()
    seqs = {k: [r.seq for r in audit_rows(db) if r.entity == k] for k in kinds}
    admin = w.user("admin.P")
    for viewer in VIEWERS:
        if viewer.startswith("admin"):
            continue
        with pytest.raises(Forbidden):
            trail.audit_trail(db, w.user(viewer))
    db.rollback()
    top = max(r.seq for r in audit_rows(db))
    got = trail.audit_trail(db, admin)
    assert [r.seq for r in got] == list(range(top, top - 100, -1))
    db.commit()
    row = audit_rows(db)[-1]
    assert (row.action, row.entity, row.entity_ids, row.purpose, row.user_id) == (
        "read", "audit", "", "audit trail review", admin.id)
    assert json.loads(row.detail) == {"from_seq": top - 99, "to_seq": top}
    got = trail.audit_trail(db, admin, before=20, limit=5)
    assert [r.seq for r in got] == [19, 18, 17, 16, 15]
    got = trail.audit_trail(db, admin, entity="referral, action", before=25)
    want = sorted((s for s in seqs["referral"] + seqs["action"] if s < 25), reverse=True)
    assert [r.seq for r in got] == want
    db.commit()
    assert json.loads(audit_rows(db)[-1].detail) == {"entity": "referral, action", "from_seq": want[-1],
                                                     "to_seq": want[0]}
    got = trail.audit_trail(db, admin, entity="nothing-like-this")
    db.commit()
    assert got == [] and json.loads(audit_rows(db)[-1].detail) == {"entity": "nothing-like-this"}
    last = audit_rows(db)[-1].seq
    assert [r.seq for r in trail.audit_trail(db, admin)] == list(range(last, last - trail.PAGE, -1))
    db.close()
    engine.dispose()


def test_kinds_of_splits_on_commas_and_spaces_and_caps_at_twenty():
    assert trail.kinds_of("case, referral action") == ["case", "referral", "action"]
    assert trail.kinds_of(" ,, , ") == []
    assert trail.kinds_of(",".join(f"k{i}" for i in range(25))) == [f"k{i}" for i in range(20)]
    assert trail.PAGE == 100


# ---------------------------------------------------------------------------------- reports.py

def _report_tree(tmp_path):
    out, ev = tmp_path / "out", tmp_path / "evaluations"
    files = {"out/hotspots.html": 11, "out/forecast/map.png": 22, "out/forecast/notes.csv": 5,
             "out/.hidden/secret.html": 3, "out/patrol-plan/briefing.html": 7, "out/patrol-plan-may.pdf": 9,
             "out/routes/route-1.gpx": 4, "out/routes/summary.html": 6, "out/plan2/schedule.csv": 2,
             "out/plan2/team.pdf": 8, "evaluations/run1/report.pdf": 13, "out/.dot.html": 1}
    for name, size in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * size)
    (out / "folder.html").mkdir()   # a folder named like a report is not one
    return {"out": out, "evaluations": ev, "missing": tmp_path / "nowhere"}


PUBLIC = [("evaluations", "run1/report.pdf", 13), ("out", "forecast/map.png", 22), ("out", "hotspots.html", 11)]
PATROL = [("out", "patrol-plan-may.pdf", 9), ("out", "patrol-plan/briefing.html", 7), ("out", "plan2/team.pdf", 8),
          ("out", "routes/summary.html", 6)]


def test_report_lists_follow_the_patrol_plan_rule(world, tmp_path):
    w = world
    roots = _report_tree(tmp_path)
    for viewer in VIEWERS:
        police_role = viewer[-1] == "P" and not viewer.startswith("admin")
        want = sorted(PUBLIC + (PATROL if police_role else []))
        got = reports.list_reports(w.user(viewer), roots)
        assert sorted((r["base"], r["name"], r["bytes"]) for r in got) == want, viewer


def test_opening_a_report_is_logged_and_refusals_look_like_absence(world, tmp_path):
    w = world
    roots = _report_tree(tmp_path)
    cw = w.user("caseworker.P")
    path, rows = reads(w.db, lambda: reports.open_report(w.db, cw, roots, "out", "forecast/map.png", PURPOSE))
    assert path == (roots["out"] / "forecast/map.png").resolve()
    assert len(rows) == 1
    assert (rows[0].action, rows[0].entity, rows[0].entity_ids, rows[0].purpose, rows[0].user_id) == (
        "read", "report_file", "", PURPOSE, cw.id)
    assert json.loads(rows[0].detail) == {"path": "out/forecast/map.png"}
    _, rows = reads(w.db, lambda: reports.open_report(w.db, cw, roots, "out", "./forecast/../hotspots.html", "ab"))
    assert rows[0].purpose == reports.OPENED and json.loads(rows[0].detail) == {"path": "out/hotspots.html"}
    _, rows = reads(w.db, lambda: reports.open_report(w.db, cw, roots, "out", "patrol-plan/briefing.html"))
    assert rows[0].purpose == "opened report"
    council = w.user("caseworker.C")
    for base, name in [("out", "patrol-plan/briefing.html"), ("out", "plan2/team.pdf"), ("nope", "hotspots.html"),
                       ("out", "../evaluations/run1/report.pdf"), ("out", "forecast/notes.csv"),
                       ("out", ".hidden/secret.html"), ("out", ".dot.html"), ("out", "absent.html"),
                       ("out", "folder.html"), ("missing", "x.html"), ("out", "/etc/passwd")]:
        before = len(audit_rows(w.db))
        with pytest.raises(NotFound) as e:
            reports.open_report(w.db, council, roots, base, name, PURPOSE)
        assert str(e.value) == "no such report", (base, name)
        w.db.commit()
        assert len(audit_rows(w.db)) == before
    assert reports.open_report(w.db, w.user("analyst.P"), roots, "out", "plan2/team.pdf", PURPOSE).name == "team.pdf"
    with pytest.raises(NotFound):
        reports.open_report(w.db, w.user("admin.P"), roots, "out", "plan2/team.pdf", PURPOSE)
