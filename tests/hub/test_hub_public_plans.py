"""'You said, we did': only a coordinator publishes a plan, only its approved wording comes out of
`public_plans`, and wording that names people or cases is refused."""

from __future__ import annotations

from sqlalchemy import select

from saferhub.hub import services
from saferhub.hub.models import Plan


def _plan(hub, email, **extra):
    h = hub.headers(email)
    case = hub.client.post("/cases", json={"kind": "asb", "title": "Flat 3 noise - Jo Bloggs"}, headers=h).json()
    hub.client.post(f"/cases/{case['id']}/people", json={"role": "victim", "given_name": "Jolene",
                                                         "family_name": "Bloggsworth"}, headers=h)
    plan = hub.client.post("/plans", json={"title": "Noise at Flat 3", "objective": "Jo Bloggs sleeps",
                                           "case_id": case["id"], "areas": ["Anfield"]}, headers=h).json()
    return plan, case


def test_only_a_coordinator_publishes_and_only_approved_text_comes_out(hub, partnership):
    plan, case = _plan(hub, "caseworker.police@test.invalid")
    body = {"version": plan["version"], "public": True, "title": "Late-night noise on a residential street",
            "done": "Joint visits by police and the council's ASB team; a Community Protection Warning.",
            "outcome": "Reports of noise fell from weekly to none in the last month."}
    r = hub.client.put(f"/plans/{plan['id']}/public", json=body, headers=hub.headers("caseworker.police@test.invalid"))
    assert r.status_code == 403
    r = hub.client.put(f"/plans/{plan['id']}/public", json=body, headers=hub.headers("analyst.police@test.invalid"))
    assert r.status_code in (403, 404)
    r = hub.client.put(f"/plans/{plan['id']}/public", json=body, headers=hub.headers("coordinator.police@test.invalid"))
    assert r.status_code == 200, r.text
    assert r.json()["public"] is True and r.json()["title"] == body["title"]
    with hub.sessions() as s:
        pub = services.public_plans(s)
    assert pub == [{"id": plan["id"], "title": body["title"], "done": body["done"], "outcome": body["outcome"],
                    "areas": ["Anfield"], "stage": "objective", "approved_at": pub[0]["approved_at"]}]
    text = repr(pub)
    for secret in ("Flat 3", "Bloggs", "Jolene", "HUB-", "sleeps", "case"):
        assert secret not in text
    # withdrawn: gone
    v = r.json()["version"]
    r = hub.client.put(f"/plans/{plan['id']}/public", json={"version": v, "public": False},
                       headers=hub.headers("coordinator.police@test.invalid"))
    assert r.status_code == 200 and r.json()["public"] is False
    with hub.sessions() as s:
        assert services.public_plans(s) == []
        assert s.scalar(select(Plan.public_summary).where(Plan.id == plan["id"])) is None


def test_wording_naming_people_or_cases_is_refused(hub, partnership):
    plan, case = _plan(hub, "caseworker.police@test.invalid")
    h = hub.headers("coordinator.police@test.invalid")
    for field, bad in (("done", "Visited Jolene Bloggsworth twice"), ("outcome", "Closed case HUB-000001"),
                       ("done", "Call 0151 777 1234 for details"), ("done", "Email asb@council.example"),
                       ("outcome", "Coordinator.Police is pleased")):
        body = {"version": plan["version"], "public": True, "title": "Noise", "done": "Visits", "outcome": "Better"}
        body[field] = bad
        r = hub.client.put(f"/plans/{plan['id']}/public", json=body, headers=h)
        assert r.status_code == 400, (bad, r.text)
    r = hub.client.put(f"/plans/{plan['id']}/public", json={"version": plan["version"], "public": True, "title": "",
                                                            "done": "x", "outcome": "y"}, headers=h)
    assert r.status_code == 400 and "title" in r.json()["detail"]
