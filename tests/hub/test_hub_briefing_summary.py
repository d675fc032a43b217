"""The briefing's summary (issue 20): the morning's numbers first, each linking to its section; the
usual for the weekday counted independently; how old the hotspot data is; quiet patrol areas hidden
behind a count; plain words."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from saferhub.briefing import assemble, render
from saferhub.data.products import write_product
from saferhub.hub.models import User

ASB = "Anti-social behaviour"


def test_usual_for_the_weekday_counts_the_same_hours_in_earlier_weeks(hub, partnership, tmp_path):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    at = ([now - dt.timedelta(hours=2)] * 2                          # the last 24 hours: 2
          + [now - dt.timedelta(days=7, hours=2)] * 3               # a week ago, same hours: 3
          + [now - dt.timedelta(days=14, hours=23)]                 # two weeks ago: 1
          + [now - dt.timedelta(days=7) + dt.timedelta(hours=1)]    # a week ago but after the window: none
          + [now - dt.timedelta(days=29, hours=1)])                 # beyond four weeks: none
    r = hub.client.post("/incidents", headers=hub.headers("caseworker.police@test.invalid"), json={
        "incidents": [{"occurred_at": t.isoformat(), "category": ASB, "location_text": "Summary Street"} for t in at]})
    assert r.status_code == 201, r.text
    write_product("patrol-areas", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": {"area_id": f"A{i}", "name": f"Area {i}"}}
        for i in range(5)]}, tmp_path)
    yesterday = (now - dt.timedelta(days=1)).date().isoformat()
    write_product("patrol-dosage", [
        {"area_id": "A0", "date": yesterday, "visits": 3, "minutes_min": 78, "minutes_max": 80, "planned_minutes": 60},
        {"area_id": "A1", "date": yesterday, "visits": 1, "minutes_min": 20, "minutes_max": 25, "planned_minutes": 60},
        *[{"area_id": f"A{i}", "date": yesterday, "visits": 0, "minutes_min": 0, "minutes_max": 0, "planned_minutes": 0}
          for i in (2, 3, 4)]], tmp_path)
    write_product("map-layers", {"layers": [{"group": "hotspots", "method": "gistar", "name": "gi-grip",
                                             "categories": "grip", "months": ["2020-01", "2020-12"],
                                             "cell_size": 150}]}, tmp_path)
    write_product("gi-grip-top", [{"unit_id": "E340200N398700", "street": "Bold Street", "lsoa_name": "Liverpool 061C",
                                   "ward": "Central", "gi_bin": 3, "hot_class": "hot spot, 99% confidence",
                                   "z": 3.77, "p_adj": 0.0039, "count": 41, "trend": [3, 4]}], tmp_path)
    with hub.sessions() as s:
        u = s.scalar(select(User).where(User.email == "coordinator.police@test.invalid"))
        b = assemble.assemble(s, u, "summary test", now=now, store=tmp_path)
        s.rollback()
    assert b.usual["weeks"] == [3, 1, 0, 0] and b.usual["mean"] == 1.0
    tiles = {t["href"]: t for t in b.summary}
    assert set(tiles) == {"#incidents", "#referrals", "#actions", "#reviews", "#dosage"}
    assert tiles["#incidents"]["value"] == "2" and "about 1" in tiles["#incidents"]["note"]
    assert f"{now:%A}" in tiles["#incidents"]["note"]
    assert tiles["#dosage"]["value"] == "4" and tiles["#dosage"]["note"] == "98 of 120 planned minutes"
    assert [r["area_id"] for r in b.dosage] == ["A1", "A0"] and b.dosage_quiet == 3
    html = render.standalone_html(b)
    assert "3 other patrol areas had nothing planned" in html and "more than planned" in html
    assert "Over 100% means" in html
    assert b.hotspot_age == assemble.how_old(dt.date(2020, 12, 1), now)
    assert f"January 2020 to December 2020: {b.hotspot_age} before this briefing" in html
    for jargon in ("z 3.77", "Adjusted p", "E340200N398700", "asb_case_review_threshold", "X-Purpose", "Gi*"):
        assert jargon not in html
    for href in tiles:
        assert f'id="{href[1:]}"' in html


def test_how_old_in_years_and_months():
    now = dt.datetime(2026, 12, 7, tzinfo=dt.timezone.utc)
    assert assemble.how_old(dt.date(2020, 12, 1), now) == "6 years"
    assert assemble.how_old(dt.date(2020, 10, 1), now) == "6 years 2 months"
    assert assemble.how_old(dt.date(2026, 3, 1), now) == "9 months"
    assert assemble.how_old(dt.date(2026, 10, 1), now) is None
