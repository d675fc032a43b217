"""The hub API end to end: sign-in and throttling, cases, people, referrals, actions, risk,
optimistic locking, purposes, OSARA gates. Runs on SQLite and PostgreSQL."""

import datetime as dt

from sqlalchemy import select

from saferhub.hub.models import AuditEvent

CW, CW_COUNCIL, COORD = "caseworker.police@test.invalid", "caseworker.council@test.invalid", "coordinator.police@test.invalid"


def new_case(hub, email=CW, **kw):
    body = {"kind": "asb", "title": "Noise and intimidation, Example Street"} | kw
    r = hub.client.post("/cases", json=body, headers=hub.headers(email))
    assert r.status_code == 201, r.text
    return r.json()


def test_login_wrong_password_and_throttling(hub, partnership):
    c = hub.client
    assert c.get("/me").status_code == 401
    assert c.get("/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    from saferhub.hub import security

    for _ in range(security.FREE_FAILURES):
        r = c.post("/auth/login", json={"email": CW, "password": "wrong password!!"})
        assert r.status_code == 401
    # the next attempt from the same place waits (backoff), even with the right password
    r = c.post("/auth/login", json={"email": CW, "password": "correct horse battery staple"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # other accounts from the same address, and this account from elsewhere, are unaffected
    # (tests/hub/test_hub_security_throttle.py covers the policy in detail)
    with hub.sessions() as s:
        assert not security.login_allowed(s, CW, "testclient").allowed
        assert security.login_allowed(s, COORD, "testclient").allowed
        assert security.login_allowed(s, CW, "192.0.2.1").allowed


def test_login_token_and_logout(hub, partnership):
    h = hub.login(CW)
    me = hub.client.get("/me", headers=h).json()
    assert me["role"] == "caseworker" and me["email"] == CW
    assert hub.client.post("/auth/logout", headers=h).status_code == 204
    assert hub.client.get("/me", headers=h).status_code == 401


def test_passwords_are_argon2_and_never_returned(hub, partnership):
    from saferhub.hub.models import User

    with hub.sessions() as s:
        u = s.scalar(select(User).where(User.email == CW))
        assert u.password_hash.startswith("$argon2id$")
    r = hub.client.get("/users", headers=hub.headers("admin.police@test.invalid"))
    assert r.status_code == 200 and "password" not in r.text and "argon2" not in r.text


def test_personal_data_needs_a_purpose_and_is_logged(hub, partnership):
    case = new_case(hub)
    no_purpose = hub.headers(CW, purpose=None)
    r = hub.client.get(f"/cases/{case['id']}", headers=no_purpose)
    assert r.status_code == 400 and "purpose" in r.json()["detail"]
    assert hub.client.get("/cases", headers=no_purpose).status_code == 400
    r = hub.client.get(f"/cases/{case['id']}", headers=hub.headers(CW, "ASB review meeting 12 May"))
    assert r.status_code == 200
    with hub.sessions() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert (last.action, last.entity, last.entity_ids, last.purpose) == ("read", "case", str(case["id"]),
                                                                            "ASB review meeting 12 May")
        assert last.user_id == partnership["users"]["caseworker.police"]


def test_case_people_are_kept_in_their_categories(hub, partnership):
    case = new_case(hub)
    h = hub.headers(CW)
    v = hub.client.post(f"/cases/{case['id']}/people", json={"role": "victim", "given_name": "Ann", "family_name": "Lee"},
                        headers=h).json()
    hub.client.post(f"/cases/{case['id']}/people", json={"role": "suspect", "given_name": "Bob", "family_name": "Ray"},
                    headers=h)
    # the same person may be a witness too: a separate role row, not a blended field
    hub.client.post(f"/cases/{case['id']}/people", json={"role": "witness", "person_id": v["person_id"]}, headers=h)
    page = hub.client.get(f"/cases/{case['id']}", headers=h).json()
    assert [p["name"] for p in page["people"]["victim"]] == ["Ann Lee"]
    assert [p["name"] for p in page["people"]["suspect"]] == ["Bob Ray"]
    assert [p["name"] for p in page["people"]["witness"]] == ["Ann Lee"]
    assert page["people"]["offender"] == []
    r = hub.client.post(f"/cases/{case['id']}/notes", json={"person_id": v["person_id"], "kind": "opinion",
                                                              "text": "Appears frightened to leave home"}, headers=h)
    assert r.status_code == 201
    hub.client.post(f"/cases/{case['id']}/notes", json={"person_id": v["person_id"], "kind": "fact",
                                                         "text": "Reported 4 incidents since March"}, headers=h)
    person = hub.client.get(f"/people/{v['person_id']}", headers=h).json()
    assert [n["text"] for n in person["facts"]] == ["Reported 4 incidents since March"]
    assert [n["text"] for n in person["opinions"]] == ["Appears frightened to leave home"]
    assert sorted(r["role"] for r in person["roles"]) == ["victim", "witness"]


def test_optimistic_locking_gives_409_on_a_stale_update(hub, partnership):
    case = new_case(hub)
    h = hub.headers(CW)
    r1 = hub.client.patch(f"/cases/{case['id']}", json={"version": case["version"], "risk": "high"}, headers=h)
    assert r1.status_code == 200 and r1.json()["version"] == case["version"] + 1
    r2 = hub.client.patch(f"/cases/{case['id']}", json={"version": case["version"], "summary": "stale"}, headers=h)
    assert r2.status_code == 409
    page = hub.client.get(f"/cases/{case['id']}", headers=h).json()
    assert page["risk"] == "high" and page["summary"] is None


def test_referral_accept_gives_access_and_decline_needs_reason(hub, partnership):
    case = new_case(hub)
    h, hc = hub.headers(CW), hub.headers(CW_COUNCIL)
    assert hub.client.get(f"/cases/{case['id']}", headers=hc).status_code == 404
    body = {"to_agency_id": partnership["council"], "kind": "early_help", "reason": "Family needs support",
            "legal_gateway": "Crime and Disorder Act 1998 s115"}
    ref = hub.client.post(f"/cases/{case['id']}/referrals", json=body, headers=h).json()
    assert ref["status"] == "pending"
    inbox = hub.client.get("/referrals", headers=hc).json()
    assert [r["id"] for r in inbox] == [ref["id"]]
    r = hub.client.post(f"/referrals/{ref['id']}/response", json={"accept": False}, headers=hc)
    assert r.status_code == 400 and "reason" in r.json()["detail"]
    r = hub.client.post(f"/referrals/{ref['id']}/response", json={"accept": True}, headers=hc)
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["hours_to_respond"] >= 0
    assert hub.client.post(f"/referrals/{ref['id']}/response", json={"accept": True}, headers=hc).status_code == 409
    assert hub.client.get(f"/cases/{case['id']}", headers=hc).status_code == 200
    # a referral to the police from the police is refused; the police cannot answer the council's inbox
    bad = body | {"to_agency_id": partnership["police"]}
    assert hub.client.post(f"/cases/{case['id']}/referrals", json=bad, headers=h).status_code == 400
    ref2 = hub.client.post(f"/cases/{case['id']}/referrals", json=body | {"kind": "licensing"}, headers=h).json()
    assert hub.client.post(f"/referrals/{ref2['id']}/response", json={"accept": True}, headers=h).status_code == 404
    r = hub.client.post(f"/referrals/{ref2['id']}/response", json={"accept": False, "reason": "Not licensed premises"},
                        headers=hc)
    assert r.json()["decline_reason"] == "Not licensed premises"


def test_actions_overdue_detection(hub, partnership):
    case = new_case(hub)
    h = hub.headers(CW)
    today = dt.date.today()
    late = hub.client.post(f"/cases/{case['id']}/actions", json={"title": "Visit victim", "due_on": str(today - dt.timedelta(days=2)),
                                                                  "assignee_id": partnership["users"]["caseworker.police"]},
                           headers=h).json()
    hub.client.post(f"/cases/{case['id']}/actions", json={"title": "Letter to landlord", "due_on": str(today + dt.timedelta(days=5))},
                    headers=h)
    hub.client.post(f"/cases/{case['id']}/actions", json={"title": "No due date"}, headers=h)
    overdue = hub.client.get("/actions/overdue", headers=h).json()
    assert [a["id"] for a in overdue] == [late["id"]] and overdue[0]["overdue"]
    r = hub.client.patch(f"/actions/{late['id']}", json={"version": late["version"], "status": "done",
                                                         "outcome": "Visited, safety advice given"}, headers=h)
    assert r.status_code == 200
    assert hub.client.get("/actions/overdue", headers=h).json() == []
    # an assignee from an agency not working the case is refused
    r = hub.client.post(f"/cases/{case['id']}/actions", json={"title": "x", "assignee_id": partnership["users"]["caseworker.council"]},
                        headers=h)
    assert r.status_code == 400


def test_risk_assessment_known_scores(hub, partnership):
    case = new_case(hub)
    h = hub.headers(CW)
    qs = hub.client.get("/risk/questionnaires", headers=h).json()
    keys = [q["key"] for q in qs[0]["questions"]]
    none = {k: False for k in keys}
    r = hub.client.post(f"/cases/{case['id']}/risk-assessments", json={"answers": none}, headers=h).json()
    assert (r["score"], r["band"]) == (0, "standard")
    assert r["next_review_on"] == str(dt.date.today() + dt.timedelta(days=90))
    # targeted (2) + afraid_home (2) = 4 -> medium; + hate (2) + mental_health (2) = 8 -> high, review in 7 days
    mid = none | {"targeted": True, "afraid_home": True}
    assert hub.client.post(f"/cases/{case['id']}/risk-assessments", json={"answers": mid}, headers=h).json()["band"] == "medium"
    high = mid | {"hate": True, "mental_health": True}
    r = hub.client.post(f"/cases/{case['id']}/risk-assessments", json={"answers": high}, headers=h).json()
    assert (r["score"], r["band"]) == (8, "high")
    page = hub.client.get(f"/cases/{case['id']}", headers=h).json()
    assert page["review_on"] == str(dt.date.today() + dt.timedelta(days=7))
    bad = hub.client.post(f"/cases/{case['id']}/risk-assessments", json={"answers": {"targeted": True}}, headers=h)
    assert bad.status_code == 422 and "unanswered" in bad.json()["detail"]


def test_osara_gates_and_award_export(hub, partnership):
    case = new_case(hub)
    h = hub.headers(CW)
    p = hub.client.post("/plans", json={"title": "Park ASB", "objective": "Cut ASB reports by a third",
                                        "case_id": case["id"], "areas": ["E336150N390300"]}, headers=h).json()
    assert p["stage"] == "objective"
    # cannot write the assessment before the response stage
    r = hub.client.put(f"/plans/{p['id']}/stage", json={"version": p["version"], "stage": "assessment",
                                                       "content": {"before": 10, "after": 5}}, headers=h)
    assert r.status_code == 409
    p = hub.client.post(f"/plans/{p['id']}/advance", headers=h).json()
    assert p["stage"] == "scanning"
    r = hub.client.post(f"/plans/{p['id']}/advance", headers=h)
    assert r.status_code == 409 and "scanning.problem" in r.json()["detail"]
    p = hub.client.put(f"/plans/{p['id']}/stage", json={"version": p["version"], "stage": "scanning", "content": {
        "problem": "Groups drinking in the park at night", "baseline": {"count": 30, "period": "2020-01:2020-06",
                                                                         "source": "police.uk"}}}, headers=h).json()
    p = hub.client.post(f"/plans/{p['id']}/advance", headers=h).json()
    assert p["missing_for_next_stage"] == ["analysis.offender", "analysis.victim", "analysis.place"]
    p = hub.client.put(f"/plans/{p['id']}/stage", json={"version": p["version"], "stage": "analysis", "content": {
        "offender": "Teenagers from two estates", "victim": "Residents on the park edge", "place": "Unlit path",
        "manager": "Parks department"}}, headers=h).json()
    p = hub.client.post(f"/plans/{p['id']}/advance", headers=h).json()
    p = hub.client.put(f"/plans/{p['id']}/stage", json={"version": p["version"], "stage": "response", "content": {
        "responses": [{"description": "Lighting on the path", "partner_agency_id": partnership["council"]}]}},
                       headers=h).json()
    p = hub.client.post(f"/plans/{p['id']}/advance", headers=h).json()
    assert p["stage"] == "assessment"
    p = hub.client.put(f"/plans/{p['id']}/stage", json={"version": p["version"], "stage": "assessment", "content": {
        "before": 30, "after": 18, "evaluation_ref": "evaluation report 2021-01"}}, headers=h).json()
    text = hub.client.get(f"/plans/{p['id']}/export", headers=h).text
    for heading in ("## Summary", "## Scanning", "## Analysis", "## Response", "## Assessment"):
        assert heading in text
    assert "change -40.0%" in text and "Council" in text and "manager: Parks department" in text
    # a stale version is refused
    r = hub.client.put(f"/plans/{p['id']}/stage", json={"version": 1, "stage": "assessment", "content": {}}, headers=h)
    assert r.status_code == 409


def test_malformed_requests_are_4xx(hub, partnership):
    h = hub.headers(CW)
    c = hub.client
    assert c.post("/cases", json={"kind": "nonsense", "title": "x"}, headers=h).status_code == 422
    assert c.post("/cases", content=b"{not json", headers=h | {"content-type": "application/json"}).status_code == 422
    assert c.get("/cases/99999999999", headers=h).status_code == 422
    assert c.get("/cases/123456", headers=h).status_code == 404
    assert c.post("/cases", json={"kind": "asb", "title": "a\x00b"}, headers=h).status_code == 422
    assert c.post("/cases", json={"kind": "asb", "title": "x" * 201}, headers=h).status_code == 422


def test_web_login_form_requires_csrf(hub, partnership):
    c = hub.client
    page = c.get("/web/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"email": CW, "password": "correct horse battery staple"}
    assert c.post("/web/login", data=form, follow_redirects=False).status_code == 403
    assert c.post("/web/login", data=form | {"csrf_token": token + "x"}, follow_redirects=False).status_code == 403
    r = c.post("/web/login", data=form | {"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and "saferhub_session" in r.headers.get("set-cookie", "")
    new_case(hub)
    home = c.get("/web/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/web/briefing"
    ask = c.get("/web/cases")  # the purpose is asked once per session, by a form, never in the URL
    assert "Purpose of viewing" in ask.text and "Noise and intimidation" not in ask.text
    token = ask.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    c.post("/web/purpose", data={"purpose": "weekly case review", "next": "/web/cases", "csrf_token": token})
    assert "Noise and intimidation" in c.get("/web/cases").text
    # a cross-site logout without the token is refused
    assert c.post("/web/logout", data={}, follow_redirects=False).status_code == 403


def test_locations_and_linked_incidents(hub, partnership):
    from sqlalchemy import insert

    from saferhub.geo.project import to_bng
    from saferhub.hub.models import Incident

    h = hub.headers(CW)
    # Liverpool Town Hall (WGS84); BNG is derived with the project's transform
    loc = hub.client.post("/locations", json={"uprn": "38012345", "description": "Town Hall", "lon": -2.9916,
                                              "lat": 53.4070, "lsoa": "E01033755"}, headers=h)
    assert loc.status_code == 201, loc.text
    x, y = to_bng([-2.9916], [53.4070])
    assert abs(loc.json()["x"] - float(x[0])) < 1e-6 and 334000 < loc.json()["x"] < 335000
    assert hub.client.post("/locations", json={"lon": -2.99}, headers=h).status_code == 400
    assert hub.client.post("/locations", json={"lon": 20.0, "lat": 53.4}, headers=h).status_code == 422
    assert hub.client.post("/locations", json={"uprn": "12ab"}, headers=h).status_code == 422
    case = new_case(hub, location_id=loc.json()["id"])
    assert case["location_id"] == loc.json()["id"]
    assert hub.client.post("/cases", json={"kind": "asb", "title": "t", "location_id": 999}, headers=h).status_code == 404
    with hub.sessions() as s:
        s.execute(insert(Incident), [{"month": dt.date(2020, m, 1), "category": "Anti-social behaviour", "source": "street",
                                      "event_id": f"e{m}", "caller_is_child": False,
                                      "agency_id": partnership["police"]} for m in (1, 2, 3)])
        s.commit()
        ids = list(s.scalars(select(Incident.id).order_by(Incident.id)))
    r = hub.client.post(f"/cases/{case['id']}/incidents", json={"incident_ids": ids[:2]}, headers=h).json()
    assert r == {"case_id": case["id"], "linked": 2, "already_linked": 0}
    r = hub.client.post(f"/cases/{case['id']}/incidents", json={"incident_ids": ids}, headers=h).json()
    assert (r["linked"], r["already_linked"]) == (1, 2)
    assert hub.client.post(f"/cases/{case['id']}/incidents", json={"incident_ids": [99999]}, headers=h).status_code == 404
    got = hub.client.get(f"/cases/{case['id']}/incidents", headers=h).json()
    assert [g["event_id"] for g in got] == ["e3", "e2", "e1"]
    # the council caseworker cannot see this case's incidents, nor the place
    hc = hub.headers(CW_COUNCIL)
    assert hub.client.get(f"/cases/{case['id']}/incidents", headers=hc).status_code == 404
    assert hub.client.get(f"/locations/{loc.json()['id']}", headers=hc).status_code == 404
    # ... nor read the police's incidents by linking them to a case of their own (ids are sequential)
    council_case = new_case(hub, CW_COUNCIL)
    r = hub.client.post(f"/cases/{council_case['id']}/incidents", json={"incident_ids": ids[:1]}, headers=hc)
    assert r.status_code == 404
    assert hub.client.get(f"/cases/{council_case['id']}/incidents", headers=hc).json() == []
    # ... nor place their case at the police's location to read it through the case
    r = hub.client.post("/cases", json={"kind": "asb", "title": "t", "location_id": loc.json()["id"]}, headers=hc)
    assert r.status_code == 404
    # the police caseworker reads the place with a purpose, and the read is logged
    assert hub.client.get(f"/locations/{loc.json()['id']}", headers=hub.headers(CW, None)).status_code == 400
    assert hub.client.get(f"/locations/{loc.json()['id']}", headers=h).json()["uprn"] == "38012345"
    with hub.sessions() as s:
        logged = s.scalars(select(AuditEvent).where(AuditEvent.entity == "location", AuditEvent.action == "read")).all()
        assert [(e.entity_ids, e.purpose) for e in logged] == [(str(loc.json()["id"]), "testing the hub")]


def test_nulls_and_foreign_people_are_refused_cleanly(hub, partnership):
    case = new_case(hub)
    h = hub.headers(CW)
    r = hub.client.patch(f"/cases/{case['id']}", json={"version": case["version"], "title": None}, headers=h)
    assert r.status_code == 400 and "empty" in r.json()["detail"]
    r = hub.client.patch(f"/cases/{case['id']}", json={"version": case["version"], "summary": None}, headers=h)
    assert r.status_code == 200
    other = new_case(hub)
    p = hub.client.post(f"/cases/{other['id']}/people", json={"role": "victim", "given_name": "Q", "family_name": "R"},
                        headers=h).json()
    answers = {k: False for k in ("repeat", "targeted", "hate", "disability", "mental_health", "alone", "afraid_home",
                                  "children", "daily_life", "retaliation")}
    r = hub.client.post(f"/cases/{case['id']}/risk-assessments", json={"answers": answers, "person_id": p["person_id"]},
                        headers=h)
    assert r.status_code == 404 and "not on case" in r.json()["detail"]


def test_deactivating_a_user_ends_their_access_at_once(hub, partnership):
    h = hub.headers(CW)
    assert hub.client.get("/me", headers=h).status_code == 200
    admin = hub.headers("admin.police@test.invalid")
    uid = partnership["users"]["caseworker.police"]
    r = hub.client.patch(f"/users/{uid}", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert hub.client.get("/me", headers=h).status_code == 401
    assert hub.client.post("/auth/login", json={"email": CW, "password": "correct horse battery staple"}).status_code == 401
    assert hub.client.patch(f"/users/{uid}", json={"active": True}, headers=hub.headers(COORD)).status_code == 403
    me = partnership["users"]["admin.police"]
    assert hub.client.patch(f"/users/{me}", json={"active": False}, headers=admin).status_code == 409
    # a move to another agency takes the user's agency-based access with it
    hub.client.patch(f"/users/{uid}", json={"active": True}, headers=admin)
    case = new_case(hub, email="caseworker2.police@test.invalid")
    hub.client.patch(f"/users/{uid}", json={"agency_id": partnership["council"]}, headers=admin)
    assert hub.client.get(f"/cases/{case['id']}", headers=hub.login(CW) | {"X-Purpose": "after the move"}).status_code == 404
