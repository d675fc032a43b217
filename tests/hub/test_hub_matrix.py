"""Hand-written access cases beside the generated matrix (test_hub_matrix_generated.py): who
names members and locks a case, and the administrators' own routes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from saferhub.hub.models import Case

VIEWERS = [f"{role}.{agency}" for agency in ("police", "council")
           for role in ("admin", "coordinator", "caseworker", "analyst")] + ["caseworker2.police"]


def _email(key):
    return f"{key}@test.invalid"


def _make_world(hub, partnership):
    from sqlalchemy import insert

    from saferhub.hub.models import CaseIncident, Incident

    targets = {}
    for name, owner in (("own", "caseworker.police"), ("other", "caseworker.council"), ("locked", "caseworker2.police")):
        h = hub.headers(_email(owner))
        canary = f"CANARY{name.upper()}"
        case = hub.client.post("/cases", json={"kind": "asb", "title": f"{canary} title", "summary": f"{canary} summary",
                                               "locked": name == "locked"}, headers=h).json()
        p = hub.client.post(f"/cases/{case['id']}/people", json={"role": "victim", "given_name": canary,
                                                                 "family_name": "Person"}, headers=h).json()
        hub.client.post(f"/cases/{case['id']}/notes", json={"person_id": p["person_id"], "kind": "fact",
                                                             "text": f"{canary} note"}, headers=h)
        hub.client.post(f"/cases/{case['id']}/actions", json={"title": f"{canary} action",
                                                               "due_on": str(dt.date.today() - dt.timedelta(days=3))},
                        headers=h)
        hub.client.post(f"/cases/{case['id']}/asb-powers", json={
            "power": "dispersal", "issued_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "grounds": f"{canary} grounds", "authorised_by": "Insp. Example"}, headers=h)
        with hub.sessions() as s:
            iid = s.execute(insert(Incident).returning(Incident.id), [{
                "month": dt.date(2020, 1, 1), "category": "Anti-social behaviour", "source": "incident",
                "location_text": f"{canary} incident place", "caller_is_child": False}]).scalar_one()
            s.execute(insert(CaseIncident), [{"case_id": case["id"], "incident_id": iid}])
            s.commit()
        targets[name] = {"id": case["id"], "person": p["person_id"], "canary": canary, "incident": iid}
    return targets


def test_members_and_locking_need_owner_or_coordinator(hub, partnership):
    targets = _make_world(hub, partnership)
    own = targets["own"]["id"]
    fire_cw = partnership["users"]["caseworker.fire"]
    # caseworker2 sees the own case through the agency but neither owns nor coordinates it
    h2 = hub.headers(_email("caseworker2.police"))
    assert hub.client.post(f"/cases/{own}/members", json={"user_id": fire_cw}, headers=h2).status_code == 403
    with hub.sessions() as s:
        v = s.scalar(select(Case.version).where(Case.id == own))
    assert hub.client.patch(f"/cases/{own}", json={"version": v, "locked": True}, headers=h2).status_code == 403
    h = hub.headers(_email("caseworker.police"))
    assert hub.client.post(f"/cases/{own}/members", json={"user_id": fire_cw}, headers=h).status_code == 201
    assert hub.client.patch(f"/cases/{own}", json={"version": v, "locked": True}, headers=h).status_code == 200
    # now locked: the named fire caseworker sees it in full, caseworker2 only the stub
    assert hub.client.get(f"/cases/{own}", headers=hub.headers(_email("caseworker.fire"))).json()["access"] == "full"
    stub = hub.client.get(f"/cases/{own}", headers=h2).json()
    assert stub["access"] == "stub" and stub["contact"]["name"] and "CANARY" not in str(stub)


def test_admin_only_endpoints(hub, partnership):
    for viewer in VIEWERS:
        h = hub.headers(_email(viewer))
        admin = viewer.startswith("admin")
        for method, url, body in (("GET", "/audit/verify", None), ("GET", "/audit/export", None), ("GET", "/users", None),
                                  ("POST", "/agencies", {"code": f"x-{viewer}", "name": "X", "kind": "other"})):
            r = hub.client.request(method, url, json=body, headers=h)
            assert (r.status_code < 300) == admin, (viewer, url, r.status_code)
