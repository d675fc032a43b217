"""briefing/assemble.py section by section against independent computations (issue 26). Each test
builds its own small partnership and products and calls `assemble` itself (a shared fixture that
ran it once would hide later tests from mutation testing). The checks are on the assembled data
(ids, counts, figures), not on the page's wording, which the web pages own.

- incidents: the last 24 hours (not 25), grouped by place and LSOA and counted by hand, busiest
  first, the 15 busiest listed and the rest summed; simulated ones counted; an analyst gets the
  partnership's aggregate only;
- actions and high-risk reviews: a locked case's action and review reach only the case's readers;
- patrol: yesterday's compliance = that area's delivered / that area's planned minutes (two areas
  on one day with different plans), quiet areas hidden behind a count, the days the product spans;
- hotspots: the grip Gi* layer first, its top cells, the layer's age in months;
- the summary's figures are the sections' own counts and sums."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from saferhub.briefing import assemble
from saferhub.data.products import write_product
from saferhub.hub.models import Incident, User
from saferhub.hub.services import briefing as hub_briefing

ASB = "Anti-social behaviour"
PURPOSE = "briefing sections test"


def _user(s, who: str) -> User:
    return s.scalar(select(User).where(User.email == f"{who}@test.invalid"))


def _incidents(hub, partnership, now) -> list[tuple]:
    """(place, lsoa, source, category, hours ago, agency) written straight to the hub: 17 places in
    the last 24 hours with 4, 3, 2 and then 1 incident each (23 incidents); one 25 hours ago; two simulated."""
    rows = [("Bold Street", "E01000001", "incident", ASB, 2, "police")] * 3 + \
        [("Bold Street", "E01000001", "incident", "Robbery", 5, "police")] + \
        [("Church Street", "E01000002", "incident", ASB, 1, "police")] * 2 + \
        [("Simulated: Church Street", "E01000002", "simulated", "Robbery", 3, "police")] + \
        [("Hope Street", None, "simulated", ASB, 23, "police")] * 2 + \
        [(f"Street {k:02d}", "E01000003", "incident", "Burglary", 4, "police") for k in range(14)] + \
        [("Old Street", "E01000001", "incident", ASB, 25, "police")]
    with hub.sessions() as s:
        for place, lsoa, src, cat, ago, agency in rows:
            at = now - dt.timedelta(hours=ago)
            s.add(Incident(source=src, month=at.date().replace(day=1), occurred_at=at, category=cat,
                           location_text=place, lsoa=lsoa, agency_id=partnership[agency]))
        s.commit()
    return rows


def _case(hub, owner: str, title: str, locked: bool, today: dt.date) -> dict:
    h = hub.headers(f"{owner}@test.invalid")
    r = hub.client.post("/cases", headers=h, json={"kind": "repeat_location", "title": title, "summary": title,
                                                   "risk": "high", "locked": locked,
                                                   "review_on": str(today + dt.timedelta(days=3))})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    ids = []
    for t, due in ((f"{title} overdue", today - dt.timedelta(days=2)), (f"{title} later", today + dt.timedelta(days=9))):
        r = hub.client.post(f"/cases/{cid}/actions", headers=h, json={"title": t, "due_on": str(due)})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return {"id": cid, "overdue": ids[0], "later": ids[1]}


def _products(store, yesterday: dt.date):
    write_product("patrol-areas", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": {"area_id": a, "name": f"Area {a}"}}
        for a in ("A1", "A2", "A3")]}, store)
    day, before = yesterday.isoformat(), (yesterday - dt.timedelta(days=3)).isoformat()
    write_product("patrol-dosage", [
        {"area_id": "A1", "date": day, "visits": 2, "planned_visits": 3, "minutes_min": 45, "minutes_max": 50,
         "planned_minutes": 60},
        {"area_id": "A2", "date": day, "visits": 5, "planned_visits": 4, "minutes_min": 50, "minutes_max": 70,
         "planned_minutes": 240},
        {"area_id": "A3", "date": day, "visits": 0, "minutes_min": 0, "minutes_max": 0, "planned_minutes": 0},
        {"area_id": "A1", "date": before, "visits": 9, "minutes_min": 300, "minutes_max": 300, "planned_minutes": 90},
    ], store)
    write_product("lsoa-names", {"E01000001": "Liverpool 060A", "E01000002": "Liverpool 061C"}, store)
    write_product("map-layers", {"layers": [
        {"group": "hotspots", "method": "kde", "name": "kde-grip", "categories": "grip", "months": ["2020-01", "2020-12"]},
        {"group": "hotspots", "method": "gistar", "name": "gi-asb", "categories": "asb", "months": ["2021-01", "2021-12"]},
        {"group": "hotspots", "method": "gistar", "name": "gi-grip", "categories": "grip", "months": ["2019-01", "2020-06"]},
    ]}, store)
    write_product("gi-grip-top", [{"unit_id": f"C{k}", "count": 40 - k, "gi_bin": 3} for k in range(12)], store)
    write_product("gi-asb-top", [{"unit_id": "ASB1", "count": 99, "gi_bin": 3}], store)


def test_casework_user_sections(hub, partnership, tmp_path):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    today = now.date()
    _incidents(hub, partnership, now)
    open_case = _case(hub, "caseworker.police", "open case", False, today)
    locked = _case(hub, "caseworker.police", "locked case", True, today)
    _products(tmp_path, today - dt.timedelta(days=1))
    with hub.sessions() as s:
        u = _user(s, "caseworker2.police")   # same agency, not on the locked case
        b = assemble.assemble(s, u, PURPOSE, now=now.replace(tzinfo=None), store=tmp_path)
        owner = assemble.assemble(s, _user(s, "caseworker.police"), PURPOSE, now=now, store=tmp_path)
        user_dict = {"id": u.id, "email": u.email, "name": u.name, "agency_id": u.agency_id,
                     "agency": u.agency.name, "role": u.role, "active": u.active}
        s.rollback()
    assert b.user == user_dict and b.now == now and b.now.tzinfo is not None and b.sees_cases

    # incidents: 23 rows in the last 24 hours (Old Street, 25 hours ago, is not one), by place
    assert b.incidents_recorded == 23 and b.incidents_total == 23 and not b.incidents_truncated
    assert b.incidents_simulated == 3
    top = b.incidents[:3]
    assert [(a["place"], a["total"], a["simulated"]) for a in top] == [
        ("Bold Street", 4, 0), ("Church Street", 3, 1), ("Hope Street", 2, 2)]
    assert top[0]["lsoa"] == "Liverpool 060A" and top[2]["lsoa"] is None     # named from lsoa-names; none known
    assert top[1]["categories"].replace(" ", "").split(",") == ["Anti-socialbehaviour2", "Robbery1"]
    assert top[0]["agencies"] == "Police"
    assert len(b.incidents) == 15 and [a["place"] for a in b.incidents[3:]] == [f"Street {k:02d}" for k in range(12)]
    assert b.incidents_other_places == 2 and b.incidents_other_total == 2
    assert "Street 13" not in {a["place"] for a in b.incidents}

    # actions and reviews: the locked case is only the owner's
    assert {a["id"] for a in b.actions_overdue} == {open_case["overdue"]}
    assert {a["id"] for a in b.actions_new} == {open_case["overdue"], open_case["later"]}
    assert {c["id"] for c in b.reviews_due} == {open_case["id"]} and not any(c["overdue"] for c in b.reviews_due)
    assert {a["id"] for a in owner.actions_overdue} == {open_case["overdue"], locked["overdue"]}
    assert {c["id"] for c in owner.reviews_due} == {open_case["id"], locked["id"]}

    # patrol: own minutes over own plan, yesterday only; the quiet area hidden, counted
    assert {r["area_id"]: r["compliance_pct"] for r in b.dosage} == {"A1": 75, "A2": 21}  # 45/60, 50/240
    assert [r["area_id"] for r in b.dosage] == ["A2", "A1"] and b.dosage_quiet == 1
    assert b.dosage_span == (today - dt.timedelta(days=4), today - dt.timedelta(days=1))

    # hotspots: the grip Gi* layer (not the ASB one, not the KDE), its ten hottest cells, its age
    assert b.hotspot_layer["name"] == "gi-grip" and [h["unit_id"] for h in b.hotspots] == [f"C{k}" for k in range(10)]
    months = (now.year - 2020) * 12 + now.month - 6
    assert b.hotspot_age == assemble.how_old(dt.date(2020, 6, 1), now) and str(months // 12) in b.hotspot_age

    # the summary's figures are the sections'
    tiles = {t["href"]: t for t in b.summary}
    assert tiles["#incidents"]["value"] == "23"
    assert tiles["#actions"]["value"] == "1" and tiles["#actions"]["alert"] is True
    assert tiles["#reviews"]["value"] == "1" and tiles["#reviews"]["alert"] is False
    assert tiles["#referrals"]["value"] == "0" and tiles["#referrals"]["alert"] is False
    assert tiles["#dosage"]["value"] == "7 of 7"                               # visits of planned visits
    assert [int(n.replace(",", "")) for n in re.findall(r"[\d,]+", tiles["#dosage"]["note"])] == [95, 300]


def test_analyst_gets_the_aggregate_and_no_casework(hub, partnership, tmp_path):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    _incidents(hub, partnership, now)
    with hub.sessions() as s:
        b = assemble.assemble(s, _user(s, "analyst.police"), None, now=now, store=tmp_path)
        s.rollback()
    assert not b.sees_cases and b.incidents == [] and b.incidents_total == 0
    assert b.incidents_recorded == 23 and b.incidents_simulated == 3      # the partnership's, as one figure
    assert b.incidents_other_places == 0 and b.incidents_other_total == 0
    assert b.actions_new == b.actions_overdue == b.reviews_due == b.referrals_new == []
    assert b.dosage is None and b.dosage_quiet == 0 and b.dosage_span is None
    assert b.hotspots == [] and b.hotspot_layer is None and b.hotspot_age is None
    assert b.usual["weeks"] == [0, 0, 0, 0]
    assert [t["href"] for t in b.summary] == ["#incidents", "#dosage"]
    assert b.summary[0]["value"] == "23" and b.summary[1]["value"] == "None"


def test_by_place_groups_and_counts():
    rows = [{"lsoa": "E1", "place": "A Street", "source": "incident", "category": "ASB", "agency": "Police"},
            {"lsoa": "E1", "place": "Simulated: A Street", "source": "simulated", "category": "Robbery", "agency": "Fire"},
            {"lsoa": "E1", "place": "A Street", "source": "incident", "category": "ASB", "agency": "Council"},
            {"lsoa": "E2", "place": "A Street", "source": "incident", "category": "ASB", "agency": "Police"},
            {"lsoa": None, "place": None, "source": "incident", "category": "Drugs", "agency": "Police"},
            {"lsoa": "E3", "place": "B Road", "source": "incident", "category": "Drugs", "agency": "Police"}]
    out = assemble.by_place(rows, {"E1": "Liverpool 001A"})
    assert [(a["lsoa"], a["place"], a["total"], a["simulated"]) for a in out] == [
        ("Liverpool 001A", "A Street", 3, 1), (None, "", 1, 0), ("E2", "A Street", 1, 0), ("E3", "B Road", 1, 0)]
    assert out[0]["categories"] == "ASB 2, Robbery 1" and out[0]["agencies"] == "Council, Fire, Police"


def test_hotspots_dosage_and_ages_from_products(tmp_path):
    assert assemble.active_hotspots(tmp_path) == ([], None)
    write_product("map-layers", {"layers": [
        {"method": "gistar", "name": "gi-b", "categories": "grip"},
        {"method": "gistar", "name": "gi-a", "categories": "grip"},
        {"method": "gistar", "name": "gi-0", "categories": "asb"}]}, tmp_path)
    assert assemble.active_hotspots(tmp_path) == ([], {"method": "gistar", "name": "gi-a", "categories": "grip"})
    write_product("gi-a-top", [{"unit_id": k} for k in range(15)], tmp_path)
    top, layer = assemble.active_hotspots(tmp_path, limit=4)
    assert [t["unit_id"] for t in top] == [0, 1, 2, 3] and layer["name"] == "gi-a"
    assert len(assemble.active_hotspots(tmp_path)[0]) == 10
    day = dt.date(2026, 3, 9)
    write_product("patrol-dosage", [
        {"area_id": "X", "date": "2026-03-09T00:00:00", "visits": 1, "minutes_min": 20, "planned_minutes": 30},
        {"area_id": "Y", "date": "2026-03-09", "visits": 1, "minutes_min": None, "planned_minutes": 45},
        {"area_id": "Z", "date": "2026-03-09", "visits": 0, "minutes_min": 10, "planned_minutes": None},
        {"area_id": "X", "date": "2026-03-01", "visits": 0},
        {"area_id": "W"}], tmp_path)
    rows = assemble.patrol_dosage(tmp_path, day)
    assert [(r["area_id"], r["compliance_pct"], r["name"]) for r in rows] == [("Y", 0, "Y"), ("X", 67, "X"), ("Z", None, "Z")]
    assert assemble.dosage_span(tmp_path) == (dt.date(2026, 3, 1), day)
    assert assemble.dosage_span(tmp_path / "none") is None
    assert assemble.quiet({"visits": 0, "minutes_max": 0, "minutes_min": 0, "planned_minutes": 0})
    for k in ("visits", "minutes_max", "minutes_min", "planned_minutes"):
        assert not assemble.quiet({k: 1}), k
    now = dt.datetime(2026, 12, 7, 9, tzinfo=dt.timezone.utc)
    assert assemble.how_old(dt.date(2026, 10, 1), now) is None
    assert assemble.how_old(dt.date(2026, 9, 1), now) == "3 months"
    assert assemble.how_old(dt.date(2025, 12, 1), now) == "1 year"
    assert assemble.how_old(dt.date(2025, 11, 1), now) == "1 year 1 month"
    assert assemble.how_old(dt.date(2020, 6, 1), now) == "6 years 6 months"
    assert assemble.month_name("2020-10") == "October 2020" and assemble.month_name("2021-02-17") == "February 2021"


def test_summary_figures_are_the_sections_counts():
    now = dt.datetime(2026, 12, 7, 9, tzinfo=dt.timezone.utc)
    limit = hub_briefing.LIST_LIMIT
    b = assemble.Briefing(user={}, now=now, sees_cases=True, incidents_recorded=1234,
                          referrals_new=[{}], referrals_waiting=[{}, {}], referrals_overdue=[{}, {}, {}],
                          actions_overdue=[{}] * limit, actions_new=[{}] * (limit - 1),
                          reviews_due=[{"overdue": True}, {"overdue": False}, {"overdue": True}],
                          dosage=[{"planned_minutes": 60, "minutes_min": 45, "visits": 2},
                                  {"planned_minutes": None, "minutes_min": 1500, "visits": 1}],
                          usual={"weeks": [3, 1, 0, 0], "mean": 1.0, "recorded_any": True})
    tiles = {t["href"]: t for t in assemble.summarise(b)}
    assert tiles["#incidents"]["value"] == "1,234"
    assert tiles["#referrals"]["value"] == "6" and tiles["#referrals"]["alert"] is True
    assert "3" in tiles["#referrals"]["note"]
    assert tiles["#actions"]["value"] == f"{limit} or more" and tiles["#actions"]["alert"] is True
    assert str(limit - 1) in tiles["#actions"]["note"] and "or more" not in tiles["#actions"]["note"]
    assert tiles["#reviews"]["value"] == "3" and tiles["#reviews"]["alert"] is True
    assert tiles["#reviews"]["note"].split()[0] == "2"
    assert tiles["#dosage"]["value"] == "3"                                  # no planned visits: visits alone
    assert [n for n in re.findall(r"[\d,]+", tiles["#dosage"]["note"])] == ["1,545", "60"]
    assert "1" in tiles["#incidents"]["note"] and "4" in tiles["#incidents"]["note"]
    quiet = assemble.Briefing(user={}, now=now, sees_cases=False, dosage=[], usual={"weeks": [0, 0], "recorded_any": False})
    t2 = {t["href"]: t for t in assemble.summarise(quiet)}
    assert set(t2) == {"#incidents", "#dosage"} and t2["#dosage"]["value"] == "None"
    assert t2["#dosage"]["note"] != assemble.summarise(assemble.Briefing(user={}, now=now))[1]["note"]
    assert "2" in t2["#incidents"]["note"] and "4" in assemble.summarise(assemble.Briefing(user={}, now=now))[0]["note"]
