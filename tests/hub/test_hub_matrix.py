"""Authorisation matrix: every role x every case endpoint x own / other agency / locked case.

Each target case carries canary strings (in its summary, its person's name, its notes, its
actions). For every request the status must match the need-to-know table in `saferhub.hub.access`
and, unless the user has full access, no canary may appear anywhere in the response."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from saferhub.hub.models import Case

VIEWERS = [f"{role}.{agency}" for agency in ("police", "council")
           for role in ("admin", "coordinator", "caseworker", "analyst")] + ["caseworker2.police"]
# Expected access: (viewer) -> {target: level}
EXPECTED = {
    "admin.police": dict(own="none", other="none", locked="none"),
    "analyst.police": dict(own="none", other="none", locked="none"),
    "coordinator.police": dict(own="full", other="full", locked="stub"),
    "caseworker.police": dict(own="full", other="none", locked="stub"),
    "caseworker2.police": dict(own="full", other="none", locked="full"),
    "admin.council": dict(own="none", other="none", locked="none"),
    "analyst.council": dict(own="none", other="none", locked="none"),
    "coordinator.council": dict(own="full", other="full", locked="stub"),
    "caseworker.council": dict(own="none", other="full", locked="none"),
}
STATUS = {"full": None, "stub": 403, "none": 404}


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


def _requests(hub, partnership, t):
    """(endpoint name, method, url, json, expected status when full) for one target case."""
    cid, pid = t["id"], t["person"]
    with hub.sessions() as s:
        version = s.scalar(select(Case.version).where(Case.id == cid))
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    return [
        ("get case", "GET", f"/cases/{cid}", None, 200),
        ("patch case", "PATCH", f"/cases/{cid}", {"version": version, "risk": "medium"}, 200),
        ("list actions", "GET", f"/cases/{cid}/actions", None, 200),
        ("add action", "POST", f"/cases/{cid}/actions", {"title": "follow up"}, 201),
        ("add person", "POST", f"/cases/{cid}/people", {"role": "witness", "given_name": "W", "family_name": "X"}, 201),
        ("add note", "POST", f"/cases/{cid}/notes", {"person_id": pid, "kind": "opinion", "text": "n"}, 201),
        ("refer", "POST", f"/cases/{cid}/referrals", {"to_agency_id": partnership["fire"], "kind": "designing_out_crime",
                                                      "reason": "r", "legal_gateway": "CDA 1998 s115"}, 201),
        ("risk", "POST", f"/cases/{cid}/risk-assessments", {"answers": {k: False for k in (
            "repeat", "targeted", "hate", "disability", "mental_health", "alone", "afraid_home", "children",
            "daily_life", "retaliation")}}, 201),
        ("asb power", "POST", f"/cases/{cid}/asb-powers", {"power": "pspo", "issued_at": now, "grounds": "g"}, 201),
        ("share", "POST", f"/cases/{cid}/agencies", {"agency_id": partnership["fire"]}, 201),
        ("plan", "POST", "/plans", {"title": "p", "objective": "o", "case_id": cid}, 201),
        ("get person", "GET", f"/people/{pid}", None, 200),
        ("case incidents", "GET", f"/cases/{cid}/incidents", None, 200),
        ("link incidents", "POST", f"/cases/{cid}/incidents", {"incident_ids": [t["incident"]]}, 200),
    ]


def test_authorisation_matrix(hub, partnership):
    targets = _make_world(hub, partnership)
    problems = []
    for viewer in VIEWERS:
        h = hub.headers(_email(viewer), "authorisation matrix test")
        for tname, t in targets.items():
            level = EXPECTED.get(viewer, {}).get(tname)
            for ep, method, url, body, ok_status in _requests(hub, partnership, t):
                r = hub.client.request(method, url, json=body, headers=h)
                want = ok_status if level == "full" else STATUS[level]
                if ep == "get case" and level == "stub":
                    want = 200  # the stub: that the record exists and who to contact
                if ep == "get person" and level == "stub":
                    want = 404  # a locked case's people are not reachable at all
                if viewer.split(".")[0] in ("admin", "analyst") and r.status_code == 403 and "role" in r.text:
                    want = 403  # refused for the role, whatever the case: reveals nothing about it
                if r.status_code != want:
                    problems.append(f"{viewer} {ep} on {tname}: {r.status_code}, expected {want} ({r.text[:120]})")
                if level != "full" and t["canary"] in r.text:
                    problems.append(f"{viewer} {ep} on {tname}: LEAK {r.text[:200]}")
                if ep == "get case" and level == "stub" and r.status_code == 200:
                    if r.json().get("access") != "stub" or "contact" not in r.json():
                        problems.append(f"{viewer} stub is not a stub: {r.text[:200]}")
        # lists: only full cases' content, stubs for locked cases the viewer's agency works
        for url in ("/cases", "/actions/overdue", "/asb/alerts", "/referrals", "/referrals?box=out"):
            r = hub.client.get(url, headers=h)
            for tname, t in targets.items():
                level = EXPECTED[viewer][tname]
                if level != "full" and t["canary"] in r.text:
                    problems.append(f"{viewer} {url}: LEAK of {tname}: {r.text[:200]}")
            if url == "/cases":
                if EXPECTED[viewer]["own"] == "none" and EXPECTED[viewer]["other"] == "none":
                    if r.status_code != 403:
                        problems.append(f"{viewer} /cases: {r.status_code}, expected 403")
                    continue
                got = {c["id"]: c["access"] for c in r.json()}
                want = {t["id"]: EXPECTED[viewer][n] for n, t in targets.items() if EXPECTED[viewer][n] != "none"}
                if got != want:
                    problems.append(f"{viewer} /cases: {got}, expected {want}")
    assert problems == [], "\n".join(problems)


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
