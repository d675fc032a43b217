"""OSARA stage content is typed (hub/osara_content.py): hostile content is refused with a 422 and
nothing saved, and a plan an older version stored with bad content still reads, exports and
renders (the bad parts are left out and named), never a 500 for everyone on the case."""

import pytest
from sqlalchemy import update

from saferhub.hub.models import Plan

CW = "caseworker.police@test.invalid"


def _nested(depth: int):
    v = "deep"
    for _ in range(depth):
        v = {"x": v}
    return v


@pytest.fixture
def plan(hub, partnership):
    h = hub.headers(CW)
    p = hub.client.post("/plans", json={"title": "Park ASB", "objective": "Cut ASB by a third"}, headers=h).json()
    p = hub.client.post(f"/plans/{p['id']}/advance", headers=h).json()
    assert p["stage"] == "scanning"
    return p


def _put(hub, p, stage, content):
    return hub.client.put(f"/plans/{p['id']}/stage", json={"version": p["version"], "stage": stage, "content": content},
                          headers=hub.headers(CW))


BAD = [
    ("scanning", {"problem": _nested(300)}),
    ("scanning", {"problem": {"a": 1}}),
    ("scanning", {"problem": 7}),
    ("scanning", {"problem": ["a"]}),
    ("scanning", {"problem": True}),
    ("scanning", {"problem": "x" * 5001}),
    ("scanning", {"baseline": {"count": True}}),
    ("scanning", {"baseline": {"count": -1}}),
    ("scanning", {"baseline": {"count": 3, "period": _nested(300)}}),
    ("scanning", {"data_sources": ["a"] * 51}),
    ("scanning", {"surprise": "unknown part"}),
    ("scanning", _nested(300)),
    ("analysis", {"offender": _nested(300)}),
    ("analysis", {"victim": {"name": "x"}}),
    ("analysis", {"place": "a\x00b"}),
    ("response", {"responses": [{"description": "x", "partner_agency_id": "1"}]}),
    ("response", {"responses": [{"description": _nested(300), "partner_agency_id": 1}]}),
    ("response", {"responses": [{"description": "x", "partner_agency_id": 1}] * 51}),
    ("assessment", {"before": True}),
    ("assessment", {"notes": _nested(300)}),
]


@pytest.mark.parametrize("stage,content", BAD, ids=range(len(BAD)))
def test_bad_stage_content_is_422_and_not_saved(hub, plan, stage, content):
    r = _put(hub, plan, stage, content)
    assert r.status_code in (409, 422), r.text  # 409 only for stages after the plan's (never written)
    assert len(r.content) < 2000
    got = hub.client.get(f"/plans/{plan['id']}", headers=hub.headers(CW))
    assert got.status_code == 200
    assert (got.json()["version"], got.json()["scanning"]) == (plan["version"], {})
    assert hub.client.get(f"/plans/{plan['id']}/export", headers=hub.headers(CW)).status_code == 200


def test_scanning_content_that_fits_is_kept_and_null_problem_exports(hub, plan):
    r = _put(hub, plan, "scanning", {"problem": None, "baseline": {"count": 4}})
    assert r.status_code == 200, r.text
    assert r.json()["scanning"] == {"problem": None, "baseline": {"count": 4}}
    text = hub.client.get(f"/plans/{plan['id']}/export", headers=hub.headers(CW)).text
    assert "## Scanning\n\n(not written)" in text and "Baseline: 4 incidents" in text


def _web_page(hub, path):
    c = hub.client
    page = c.get("/web/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    c.post("/web/login", data={"email": CW, "password": "correct horse battery staple", "csrf_token": token})
    ask = c.get(path)
    token = ask.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    c.post("/web/purpose", data={"purpose": "plan review", "next": path, "csrf_token": token})
    return c.get(path)


def test_a_plan_stored_with_bad_content_still_reads_everywhere(hub, plan):
    """As an older version could store it: every stage's content wrong in some way."""
    with hub.sessions() as s:
        s.execute(update(Plan).where(Plan.id == plan["id"]).values(
            scanning={"problem": {"an": "object"}, "baseline": {"count": 12, "period": "2024"},
                      "data_sources": _nested(300)},
            analysis={"offender": "Teenagers <b>canary</b>", "victim": 5, "bogus": [1, 2]},
            responses=[{"description": "Lighting", "partner_agency_id": 1}, {"description": None}, "junk"],
            assessment=_nested(300)))
        s.commit()
    h = hub.headers(CW)
    r = hub.client.get(f"/plans/{plan['id']}", headers=h)
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["scanning"] == {"baseline": {"count": 12, "period": "2024"}}
    assert p["analysis"] == {"offender": "Teenagers <b>canary</b>"}
    assert p["responses"] == [{"description": "Lighting", "partner_agency_id": 1}]
    assert p["assessment"] == {}
    assert p["unreadable"] == ["scanning.problem", "scanning.data_sources", "analysis.victim", "analysis.bogus",
                               "responses[1]", "responses[2]", "assessment.x"]
    assert p["missing_for_next_stage"] == ["scanning.problem"]
    export = hub.client.get(f"/plans/{plan['id']}/export", headers=h)
    assert export.status_code == 200 and "Baseline: 12 incidents, 2024" in export.text
    assert "Left out (stored in a form this version cannot show): scanning.problem" in export.text
    page = _web_page(hub, f"/web/plans/{plan['id']}")
    assert page.status_code == 200 and "Teenagers &lt;b&gt;canary&lt;/b&gt;" in page.text
    assert "Lighting" in page.text and "cannot show): scanning.problem, scanning.data_sources" in page.text
    # a fresh, valid write replaces the bad content
    r = _put(hub, p, "scanning", {"problem": "Drinking in the park", "baseline": {"count": 12}})
    assert r.status_code == 200 and "scanning.problem" not in r.json()["unreadable"]
