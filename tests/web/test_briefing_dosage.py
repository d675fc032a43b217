"""Yesterday's patrol compliance in the briefing: an area's delivered minutes over that area's own
planned minutes, on that day only (issue 26: dividing by every area's planned minutes, or mixing
days, must fail)."""

from __future__ import annotations

import datetime as dt

from saferhub.briefing import assemble
from saferhub.data.products import write_product


def test_compliance_is_each_areas_own_minutes_over_its_own_plan(tmp_path):
    day = dt.date(2026, 3, 9)
    write_product("patrol-areas", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": {"area_id": "A1", "name": "Kensington Fields"}},
        {"type": "Feature", "geometry": None, "properties": {"area_id": "A2", "name": "Anfield Road"}}]}, tmp_path)
    write_product("patrol-dosage", [
        # yesterday: two areas with different plans
        {"area_id": "A1", "date": "2026-03-09", "visits": 2, "minutes_min": 45, "minutes_max": 50, "planned_minutes": 60},
        {"area_id": "A2", "date": "2026-03-09", "visits": 3, "minutes_min": 60, "minutes_max": 75, "planned_minutes": 240},
        # the day before and an area planned nothing: neither may change yesterday's figures
        {"area_id": "A1", "date": "2026-03-08", "visits": 9, "minutes_min": 300, "minutes_max": 300, "planned_minutes": 90},
        {"area_id": "A3", "date": "2026-03-09", "visits": 1, "minutes_min": 20, "minutes_max": 20, "planned_minutes": 0},
    ], tmp_path)
    rows = assemble.patrol_dosage(tmp_path, day)
    got = {r["area_id"]: r["compliance_pct"] for r in rows}
    # own over own: 45/60 = 75 %, 60/240 = 25 %; over all planned (300) it would be 15 % and 20 %;
    # over both days' plans of A1 (150) 30 %
    assert got == {"A1": 75, "A2": 25, "A3": None}
    assert [r["area_id"] for r in rows] == ["A2", "A1", "A3"]  # least compliant first, unplanned last
    assert {r["area_id"]: r["name"] for r in rows} == {"A1": "Kensington Fields", "A2": "Anfield Road", "A3": "A3"}
    assert assemble.patrol_dosage(tmp_path / "nothing-published", day) is None
