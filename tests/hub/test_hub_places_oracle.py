"""Locations and incidents (hub/services/places.py) at service level (issue 26 part 2), against the
documented rules stated in tests/hub/service_world.py: a location is read through a case read in
full, or, on no case, by the case roles of the agency that recorded it; an incident through a case
read in full, or by its agency's case roles unless it is linked to a locked case; linking needs sight
of every incident first. Every read and write against the audit table; British National Grid
coordinates checked with pyproj directly."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from pyproj import Transformer
from sqlalchemy import func, insert, select

from saferhub.hub import audit
from saferhub.hub.errors import Forbidden, HubError, NotFound
from saferhub.hub.models import Case, CaseIncident, Incident, Location
from saferhub.hub.services import places

from .service_world import PURPOSE, VIEWERS, audit_rows, cached_world, full_cases, ids_of, level, make_world, \
    reads, reads_incident

CASE_VIEWERS = [v for v in VIEWERS if not v.startswith(("admin", "analyst"))]


def _build(db):
    """A place per case (recorded by the lead agency) and a loose place per agency; an incident per
    case (by F, linked), one linked to a locked and an unlocked case, and a loose one per agency."""
    w = make_world(db)
    facts = {"places": {}, "incidents": {}}
    for k, cid in enumerate(sorted(w.cases)):
        lead = w.cases[cid]["lead"]
        loc = Location(description=f"place {k}", uprn=f"1000{k}", created_by_agency_id=w.agencies[lead])
        db.add(loc)
        db.flush()
        db.get(Case, cid).location_id = loc.id
        facts["places"][loc.id] = (lead, [cid])
        inc = Incident(month=dt.date(2026, 1 + k % 9, 1), category="Burglary", agency_id=w.agencies["F"],
                       location_text=f"at {k}")
        db.add(inc)
        db.flush()
        db.add(CaseIncident(case_id=cid, incident_id=inc.id))
        facts["incidents"][inc.id] = ("F", [cid])
    for code in "PCF":
        loc = Location(description=f"loose {code}", created_by_agency_id=w.agencies[code])
        inc = Incident(month=dt.date(2026, 2, 1), category="Burglary", agency_id=w.agencies[code])
        db.add_all([loc, inc])
        db.flush()
        facts["places"][loc.id] = (code, [])
        facts["incidents"][inc.id] = (code, [])
    cases = sorted(w.cases)
    both = Incident(month=dt.date(2026, 3, 1), category="Burglary", agency_id=w.agencies["P"])
    db.add(both)
    db.flush()
    for cid in (cases[1], cases[30]):
        db.add(CaseIncident(case_id=cid, incident_id=both.id))
    facts["incidents"][both.id] = ("P", [cases[1], cases[30]])
    w.facts = facts
    return w


@pytest.fixture
def world(tmp_path):
    engine, w = cached_world(tmp_path, _build)
    yield w
    w.db.close()
    engine.dispose()


def reads_place(w, viewer, place) -> bool:
    agency, cases = w.facts["places"][place]
    if viewer.split(".")[0].rstrip("2") not in ("coordinator", "caseworker"):
        return False
    if cases:
        return any(level(viewer, w.cases[c]) == "full" for c in cases)
    return agency == viewer[-1]


def test_reading_a_location_follows_the_place_rule_and_is_logged(world):
    w = world
    for viewer in VIEWERS:
        for loc in w.facts["places"]:
            if reads_place(w, viewer, loc):
                got, rows = reads(w.db, lambda: places.get_location(w.db, w.user(viewer), loc, PURPOSE))
                assert got["id"] == loc and got["description"] == w.db.get(Location, loc).description
                assert [(r.action, r.entity, ids_of(r), r.purpose, r.user_id) for r in rows] == [
                    ("read", "location", [loc], PURPOSE, w.users[viewer])]
            else:
                before = len(audit_rows(w.db))
                with pytest.raises(NotFound):
                    places.get_location(w.db, w.user(viewer), loc, PURPOSE)
                w.db.rollback()
                assert len(audit_rows(w.db)) == before
    loc = next(iter(w.facts["places"]))
    for purpose in (None, "", "abc"):
        with pytest.raises(audit.MissingPurpose):
            places.get_location(w.db, w.user("coordinator.P"), loc, purpose)


def test_a_case_s_incidents_for_full_readers_newest_month_first_and_logged(world):
    w = world
    by_case = {}
    for inc, (_, cases) in w.facts["incidents"].items():
        for c in cases:
            by_case.setdefault(c, []).append(inc)
    months = {i.id: i.month for i in w.db.scalars(select(Incident))}
    for viewer in VIEWERS:
        for cid in sorted(w.cases)[::4] + [sorted(w.cases)[1]]:
            lv = level(viewer, w.cases[cid])
            call = lambda: places.case_incidents(w.db, w.user(viewer), cid, PURPOSE)  # noqa: E731
            if lv != "full":
                with pytest.raises(Forbidden if lv == "stub" else NotFound):
                    call()
                w.db.rollback()
                continue
            got, rows = reads(w.db, call)
            want = sorted(by_case[cid], key=lambda i: (-months[i].toordinal(), i))
            assert [i["id"] for i in got] == want
            assert all(i["category"] == "Burglary" and i["source"] == "incident" for i in got)
            assert [(r.action, r.entity, ids_of(r), json.loads(r.detail), r.user_id) for r in rows] == [
                ("read", "incident", want, {"case_id": cid}, w.users[viewer])]
    cid = sorted(w.cases)[1]
    assert len(places.case_incidents(w.db, w.user("caseworker.P"), cid, PURPOSE, limit=1)) == 1
    with pytest.raises(audit.MissingPurpose):
        places.case_incidents(w.db, w.user("caseworker.P"), cid, "")


def test_linking_needs_sight_of_every_incident_and_is_logged(world):
    w = world
    incs = w.facts["incidents"]
    for viewer in CASE_VIEWERS:
        full = sorted(full_cases(w, viewer))
        cid = full[0]
        visible = sorted(i for i, (a, cs) in incs.items() if reads_incident(w, viewer, a, cs))
        hidden = sorted(set(incs) - set(visible))
        assert visible and hidden
        before = len(audit_rows(w.db))
        with pytest.raises(NotFound) as e:
            places.link_incidents(w.db, w.user(viewer), cid, visible[:2] + hidden[:1])
        assert str(e.value) == f"no incidents {hidden[:1]}"
        w.db.rollback()
        assert len(audit_rows(w.db)) == before
        on_case = set(w.db.scalars(select(CaseIncident.incident_id).where(CaseIncident.case_id == cid)))
        already = on_case & set(visible)
        got = places.link_incidents(w.db, w.user(viewer), cid, visible + visible[:3])
        rows = audit_rows(w.db)[before:]   # a write's row is in its own transaction (rolled back below)
        assert got == {"case_id": cid, "linked": len(set(visible) - already), "already_linked": len(already)}
        linked = set(w.db.scalars(select(CaseIncident.incident_id).where(CaseIncident.case_id == cid)))
        assert linked == set(visible) | on_case
        assert [(r.action, r.entity, ids_of(r), json.loads(r.detail), r.user_id) for r in rows] == [
            ("update", "case", [cid], {"linked_incidents": len(set(visible) - already)}, w.users[viewer])]
        again = places.link_incidents(w.db, w.user(viewer), cid, visible)   # the same ids again
        assert again == {"case_id": cid, "linked": 0, "already_linked": len(visible)}
        w.db.rollback()
    stub = next(c for c, f in w.cases.items() if level("caseworker.F", f) == "stub")
    with pytest.raises(Forbidden):
        places.link_incidents(w.db, w.user("caseworker.F"), stub, [])


def test_creating_a_location_projects_to_the_national_grid_and_is_logged(world):
    w = world
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    for viewer in ("admin.P", "analyst.P"):
        with pytest.raises(Forbidden):
            places.create_location(w.db, w.user(viewer), description="x")
    got, rows = reads(w.db, lambda: places.create_location(w.db, w.user("caseworker.C"), lon=-2.9836, lat=53.4084,
                                                           lsoa="E01006512", ward="Central", beat="B1"))
    x, y = to_bng.transform(-2.9836, 53.4084)
    assert got["x"] == pytest.approx(x, abs=0.01) and got["y"] == pytest.approx(y, abs=0.01)
    assert {k: v for k, v in got.items() if k not in ("id", "x", "y")} == {
        "uprn": None, "description": None, "lon": -2.9836, "lat": 53.4084, "lsoa": "E01006512", "ward": "Central",
        "beat": "B1"}
    stored = w.db.get(Location, got["id"])
    assert (stored.created_by_agency_id, stored.lsoa, stored.ward, stored.beat, stored.lon, stored.lat) == (
        w.agencies["C"], "E01006512", "Central", "B1", -2.9836, 53.4084)
    assert [(r.action, r.entity, ids_of(r), r.purpose, r.user_id) for r in rows] == [
        ("create", "location", [got["id"]], "create location", w.users["caseworker.C"])]
    # the recording agency reads it while it is on no case; nobody else does
    assert places.get_location(w.db, w.user("caseworker.C"), got["id"], PURPOSE)["uprn"] is None
    with pytest.raises(NotFound):
        places.get_location(w.db, w.user("caseworker.P"), got["id"], PURPOSE)
    only_uprn = places.create_location(w.db, w.user("coordinator.P"), uprn="100012345678")
    assert (only_uprn["uprn"], only_uprn["x"], only_uprn["lon"]) == ("100012345678", None, None)
    assert places.create_location(w.db, w.user("coordinator.P"), description="the alley")["description"] == "the alley"
    for kw, msg in (({"lon": -2.9}, "give both lon and lat, or neither"), ({"lat": 53.4}, "give both lon and lat"),
                    ({}, "a location needs a UPRN, coordinates or a description"),
                    ({"description": ""}, "a location needs")):
        with pytest.raises(HubError) as e:
            places.create_location(w.db, w.user("caseworker.P"), **kw)
        assert str(e.value).startswith(msg)


def test_recording_incidents_normalises_and_checks_months_and_is_logged(tmp_path):
    from .service_world import open_hub

    engine, db = open_hub(tmp_path)
    w = make_world(db, combos=[])
    db.commit()
    with pytest.raises(Forbidden):
        places.record_incidents(db, w.user("analyst.P"), [{"month": dt.date(2026, 1, 1), "category": "x"}])
    at = dt.datetime(2026, 3, 14, 22, 5)
    items = [{"occurred_at": at, "category": "anti-social behaviour", "victim_ref": "V9"},
             {"month": dt.date(2026, 2, 17), "category": "Noise nuisance"},
             {"month": dt.date(2026, 4, 1), "occurred_at": dt.datetime(2026, 4, 30, 23, tzinfo=dt.timezone.utc),
              "category": "Burglary"}]
    got, rows = reads(db, lambda: places.record_incidents(db, w.user("caseworker.C"), items))
    stored = list(db.scalars(select(Incident).order_by(Incident.id)))
    assert got == {"recorded": 3, "first_id": stored[0].id, "last_id": stored[-1].id}
    assert [(i.month, i.category, i.source, i.agency_id) for i in stored] == [
        (dt.date(2026, 3, 1), "Anti-social behaviour", "incident", w.agencies["C"]),
        (dt.date(2026, 2, 1), "Noise nuisance", "incident", w.agencies["C"]),
        (dt.date(2026, 4, 1), "Burglary", "incident", w.agencies["C"])]
    assert stored[0].occurred_at.replace(tzinfo=None) == at and stored[0].victim_ref == "V9"
    assert stored[1].occurred_at is None
    assert [(r.action, r.entity, ids_of(r), json.loads(r.detail), r.user_id) for r in rows] == [
        ("create", "incident", [stored[0].id, stored[-1].id], {"count": 3}, w.users["caseworker.C"])]
    for bad, msg in (([{"category": "Burglary"}], "incident 0: give occurred_at or month"),
                     ([items[1], {"month": dt.date(2026, 1, 1), "occurred_at": dt.datetime(2026, 2, 1, 0, 30),
                                  "category": "Burglary"}], "incident 1: occurred_at is not in the given month"),
                     ([{"month": dt.date(2026, 1, 1), "occurred_at": dt.datetime(2025, 1, 5), "category": "B"}],
                      "incident 0: occurred_at is not in the given month")):
        with pytest.raises(HubError) as e:
            places.record_incidents(db, w.user("caseworker.C"), bad)
        assert str(e.value) == msg
        db.rollback()
    assert db.scalar(select(func.count()).select_from(Incident)) == 3
    # a coordinator records too (any case role)
    assert places.record_incidents(db, w.user("coordinator.C"), [{"month": dt.date(2026, 5, 1), "category": "B"}])[
        "recorded"] == 1
    db.rollback()
    frame = places.incidents_frame(db)
    assert sorted(frame["id"]) == [i.id for i in stored] and "victim_ref" in frame.columns
    assert list(places.incidents_frame(db, Incident.category == "Burglary")["id"]) == [stored[2].id]
    db.close()
    engine.dispose()


def test_incidents_frame_reads_every_column_alike_on_both_databases(db_url):
    """On PostgreSQL the whole table streams through COPY and `read_csv`; the frame must hold the same
    values as the row fetch (the SQLite path, or a `where`): references that look like numbers stay
    text, booleans stay booleans, times stay UTC."""
    from saferhub.hub.db import make_engine, session_factory

    engine = make_engine(db_url)
    db = session_factory(engine)()
    at = dt.datetime(2026, 1, 5, 22, 30, tzinfo=dt.timezone.utc)
    # every text column numeric-looking in all its rows (partner category codes, reference numbers):
    # read_csv would make them numbers ("007" -> 7) unless told they are text
    rows = [Incident(month=dt.date(2026, 1, 1), occurred_at=at, category="12", location_key="007",
                     caller_ref="0123", caller_is_child=True, victim_ref="1e5"),
            Incident(month=dt.date(2026, 2, 1), category="7", location_key="30", caller_ref=None,
                     caller_is_child=False, victim_ref="9"),
            Incident(month=dt.date(2026, 3, 1), occurred_at=at + dt.timedelta(days=60), category="45",
                     location_key=None, caller_ref="42", caller_is_child=False, victim_ref=None)]
    db.add_all(rows)
    db.commit()
    ids = [r.id for r in rows]
    for frame in (places.incidents_frame(db), places.incidents_frame(db, Incident.id > 0)):
        assert list(frame.columns) == ["id", "month", "occurred_at", "category", "location_key", "caller_ref",
                                       "caller_is_child", "victim_ref"]
        frame = frame.sort_values("id")
        assert list(frame["id"]) == ids
        assert list(frame["category"]) == ["12", "7", "45"]
        assert list(frame["location_key"].fillna("-")) == ["007", "30", "-"]
        assert list(frame["caller_ref"].fillna("-")) == ["0123", "-", "42"]
        assert list(frame["victim_ref"].fillna("-")) == ["1e5", "9", "-"]
        assert [bool(b) for b in frame["caller_is_child"]] == [True, False, False]
        assert frame["caller_is_child"].dtype == bool
        # times: UTC-aware from PostgreSQL (either path), naive UTC from SQLite (as `aware` expects)
        assert pd.api.types.is_datetime64_any_dtype(frame["occurred_at"])
        assert str(frame["occurred_at"].dt.tz) in (("UTC", "Etc/UTC") if "postgresql" in db_url else ("None",))
        got = pd.to_datetime(frame["occurred_at"], utc=True)
        assert got.iloc[0] == pd.Timestamp(at) and pd.isna(got.iloc[1]) and got.iloc[2] == pd.Timestamp(at) + pd.Timedelta(days=60)
        assert [pd.Timestamp(m).date() for m in frame["month"]] == [dt.date(2026, m, 1) for m in (1, 2, 3)]
    db.close()
    engine.dispose()


def test_a_case_s_incidents_show_every_field_ties_by_id_and_500_by_default(world):
    w = world
    cw = w.user("caseworker.P")
    cid = sorted(full_cases(w, "caseworker.P"))[0]
    at = dt.datetime(2026, 6, 3, 7, 45)
    new = [Incident(month=dt.date(2026, 6, 1), occurred_at=at, category="Robbery", agency_id=w.agencies["P"],
                    event_id=f"ev-{k}", location_text=f"by the shop {k}", lsoa="E01006512", x=335000.5 + k,
                    y=390000.25, source="police.uk") for k in range(3)]
    w.db.add_all(new)
    w.db.flush()
    for inc in reversed(new):   # linked newest id first (SQLite still returns ties by id; PostgreSQL need not)
        w.db.add(CaseIncident(case_id=cid, incident_id=inc.id))
    w.db.commit()
    got = places.case_incidents(w.db, cw, cid, PURPOSE)
    assert got[:3] == [{"id": i.id, "event_id": f"ev-{k}", "source": "police.uk", "month": dt.date(2026, 6, 1),
                        "occurred_at": at.replace(tzinfo=dt.timezone.utc), "category": "Robbery",
                        "location": f"by the shop {k}", "lsoa": "E01006512", "x": 335000.5 + k, "y": 390000.25}
                       for k, i in enumerate(new)]
    many = [{"month": dt.date(2025, 1, 1), "category": "Burglary", "agency_id": w.agencies["P"]} for _ in range(505)]
    ids = list(w.db.scalars(insert(Incident).returning(Incident.id), many))
    w.db.execute(insert(CaseIncident), [{"case_id": cid, "incident_id": i} for i in ids])
    w.db.commit()
    assert len(places.case_incidents(w.db, cw, cid, PURPOSE)) == 500


def test_linking_counts_only_the_asked_incidents_already_on_the_case_and_names_ten_missing(world):
    w = world
    viewer = "caseworker.P"
    cid = sorted(full_cases(w, viewer))[0]
    incs = w.facts["incidents"]
    on_case = set(w.db.scalars(select(CaseIncident.incident_id).where(CaseIncident.case_id == cid)))
    assert on_case
    loose = next(i for i, (a, cs) in incs.items() if not cs and a == "P")
    got = places.link_incidents(w.db, w.user(viewer), cid, [loose])
    assert got == {"case_id": cid, "linked": 1, "already_linked": 0}
    w.db.rollback()
    missing = list(range(900001, 900013))            # twelve ids that do not exist
    with pytest.raises(NotFound) as e:
        places.link_incidents(w.db, w.user(viewer), cid, missing)
    assert str(e.value) == f"no incidents {missing[:10]}"
