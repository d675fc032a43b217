"""People reads and ASB Case Review decisions, pinned against the database (issue 26).

- reading a person needs a purpose: without one the read is refused, no personal data is sent and
  nothing is logged; with one, exactly one audit row records who read whom and why (the audit
  table itself is the oracle, not the response);
- a Case Review decision's recommendations survive saving: read back from the table in a fresh
  session and through the yearly publication figures, which count reviews with recommendations."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from saferhub.hub import audit, services
from saferhub.hub.models import AuditEvent, CaseReviewApplication, User

CW = "caseworker.police@test.invalid"
COORD = "coordinator.police@test.invalid"


def _audit_rows(hub) -> list[AuditEvent]:
    with hub.sessions() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _person_on_a_case(hub) -> tuple[int, int]:
    h = hub.headers(CW)
    case = hub.client.post("/cases", json={"kind": "asb", "title": "Noise on Bold Street"}, headers=h).json()
    pid = hub.client.post(f"/cases/{case['id']}/people", headers=h, json={
        "role": "victim", "given_name": "Ann", "family_name": "Lee-Hartley"}).json()["person_id"]
    r = hub.client.post(f"/cases/{case['id']}/notes", headers=h, json={
        "person_id": pid, "kind": "fact", "text": "Reported 4 incidents since March"})
    assert r.status_code == 201
    return case["id"], pid


@pytest.mark.parametrize("purpose", [None, "", "    ", "abc", "two\x07bells"])
def test_a_person_read_without_a_purpose_is_refused_and_logs_nothing(hub, partnership, purpose):
    _, pid = _person_on_a_case(hub)
    before = _audit_rows(hub)
    h = hub.headers(CW, purpose=None)
    if purpose is not None:
        h["X-Purpose"] = purpose
    r = hub.client.get(f"/people/{pid}", headers=h)
    assert 400 <= r.status_code < 500, r.text
    assert "Lee-Hartley" not in r.text and "Reported 4 incidents" not in r.text
    assert "purpose" in r.text.lower()
    after = _audit_rows(hub)
    assert [e.seq for e in after] == [e.seq for e in before]   # not one row more
    # and the service function refuses it the same way
    with hub.sessions() as s:
        user = s.scalar(select(User).where(User.email == CW))
        with pytest.raises(audit.MissingPurpose):
            services.get_person(s, user, pid, purpose)


def test_a_person_read_writes_exactly_one_audit_row_with_its_purpose(hub, partnership):
    case_id, pid = _person_on_a_case(hub)
    cw_id = partnership["users"]["caseworker.police"]
    for purpose in ("Safeguarding visit on 12 May", "Preparing the case review"):
        before = _audit_rows(hub)
        r = hub.client.get(f"/people/{pid}", headers=hub.headers(CW, purpose=purpose))
        assert r.status_code == 200 and r.json()["family_name"] == "Lee-Hartley"
        new = _audit_rows(hub)[len(before):]
        assert len(new) == 1, [(e.action, e.entity) for e in new]
        row = new[0]
        assert (row.action, row.entity, row.purpose, row.user_id) == ("read", "person", purpose, cw_id)
        assert row.agency_id == partnership["police"]
        assert row.entity_ids == str(pid)   # comma-separated ids
        assert json.loads(row.detail) == {"via_cases": [case_id]}
    with hub.sessions() as s:
        assert audit.verify(s).ok
        reads = s.scalar(select(func.count()).select_from(AuditEvent)
                         .where(AuditEvent.entity == "person", AuditEvent.action == "read"))
    assert reads == 2


def test_a_person_out_of_sight_is_not_found_and_not_logged(hub, partnership):
    _, pid = _person_on_a_case(hub)
    fire = hub.headers("caseworker.fire@test.invalid")   # logs in (an audit row of its own) first
    before = _audit_rows(hub)
    r = hub.client.get(f"/people/{pid}", headers=fire)
    assert r.status_code == 404 and "Lee-Hartley" not in r.text
    new = _audit_rows(hub)[len(before):]
    assert not [e for e in new if e.entity == "person" and e.action == "read"], [(e.action, e.entity) for e in new]


def _application(hub, ref: str, received_on: str) -> dict:
    """An application whose applicant reported 3 ASB incidents in the 6 months before: threshold met."""
    h = hub.headers(CW)
    incidents = [{"month": m, "category": "Anti-social behaviour", "victim_ref": ref}
                 for m in ("2024-01-01", "2024-02-01", "2024-03-01")]
    assert hub.client.post("/incidents", json={"incidents": incidents}, headers=h).status_code == 201
    r = hub.client.post("/asb/case-reviews", json={"applicant_ref": ref, "received_on": received_on}, headers=h)
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["threshold_met"] is True and app["decision"] == "pending"
    return app


def test_case_review_recommendations_survive_saving(hub, partnership):
    recs = "Mediation with the neighbour at No 4; a Community Protection Warning if it continues."
    with_recs = _application(hub, "victim-a", "2024-05-01")
    without = _application(hub, "victim-b", "2024-06-01")
    coord = hub.headers(COORD)
    r = hub.client.post(f"/asb/case-reviews/{with_recs['id']}/decision", headers=coord,
                        json={"recommendations": recs, "decided_on": "2024-05-20"})
    assert r.status_code == 200, r.text
    assert (r.json()["decision"], r.json()["recommendations"]) == ("review_held", recs)
    r = hub.client.post(f"/asb/case-reviews/{without['id']}/decision", headers=coord, json={})
    assert r.status_code == 200 and r.json()["recommendations"] is None
    # a second decision is refused and changes nothing
    again = hub.client.post(f"/asb/case-reviews/{with_recs['id']}/decision", headers=coord,
                            json={"recommendations": "something else"})
    assert again.status_code == 409
    # read back from the table in a fresh session: what was saved, not what was returned
    with hub.sessions() as s:
        saved = {a.id: a for a in s.scalars(select(CaseReviewApplication))}
        assert saved[with_recs["id"]].recommendations == recs
        assert saved[with_recs["id"]].decision == "review_held"
        assert saved[with_recs["id"]].decided_on == dt.date(2024, 5, 20)
        assert saved[without["id"]].recommendations is None
        assert saved[without["id"]].decision == "review_held"
    # and through the API's published figures: two reviews held, one with recommendations
    fig = hub.client.get("/asb/case-reviews/publication?year=2024", headers=coord).json()
    assert (fig["applications"], fig["threshold_not_met"], fig["reviews_carried_out"],
            fig["reviews_with_recommendations"]) == (2, 0, 2, 1)


def test_adding_people_is_validated_logged_and_kept_once_per_role(hub, partnership):
    h = hub.headers(CW)
    cw_id = partnership["users"]["caseworker.police"]
    case = hub.client.post("/cases", json={"kind": "asb", "title": "t"}, headers=h).json()
    url = f"/cases/{case['id']}/people"
    for half in ({"given_name": "Ann"}, {"family_name": "Lee"}):
        r = hub.client.post(url, json={"role": "victim", **half}, headers=h)
        assert r.status_code == 400, r.text
        assert r.json()["detail"] == "give person_id, or given_name and family_name for a new person"
    before = _audit_rows(hub)
    r = hub.client.post(url, json={"role": "victim", "given_name": "Ann", "family_name": "Lee",
                                   "date_of_birth": "1961-02-03"}, headers=h)
    pid = r.json()["person_id"]
    new = _audit_rows(hub)[len(before):]
    assert [(e.action, e.entity, e.entity_ids, e.user_id, e.purpose) for e in new] == [
        ("create", "case_person", str(pid), cw_id, "create case_person")]
    assert json.loads(new[0].detail) == {"case_id": case["id"], "role": "victim"}
    # the same person in the same role again: one role row; in another role: a second one
    for role in ("victim", "victim", "witness"):
        assert hub.client.post(url, json={"role": role, "person_id": pid}, headers=h).status_code == 201
    person = hub.client.get(f"/people/{pid}", headers=h).json()
    assert person["date_of_birth"] == "1961-02-03"
    assert sorted(r["role"] for r in person["roles"]) == ["victim", "witness"]


def test_a_person_is_seen_through_their_own_cases_only(hub, partnership):
    h = hub.headers(CW)
    a = hub.client.post("/cases", json={"kind": "asb", "title": "a"}, headers=h).json()["id"]
    b = hub.client.post("/cases", json={"kind": "asb", "title": "b"}, headers=h).json()["id"]
    pid = hub.client.post(f"/cases/{a}/people", json={"role": "victim", "given_name": "A", "family_name": "B"},
                          headers=h).json()["person_id"]
    other = hub.client.post(f"/cases/{b}/people", json={"role": "suspect", "given_name": "C", "family_name": "D"},
                            headers=h).json()["person_id"]
    before = _audit_rows(hub)
    person = hub.client.get(f"/people/{pid}", headers=h).json()
    assert person["roles"] == [{"case_id": a, "role": "victim"}]
    assert json.loads(_audit_rows(hub)[len(before)].detail) == {"via_cases": [a]}
    r = hub.client.get(f"/people/{other + 1000}", headers=h)
    assert r.status_code == 404 and r.json()["detail"] == f"no person {other + 1000}"
    # a role without case access is told which records it cannot read
    r = hub.client.get(f"/people/{pid}", headers=hub.headers("analyst.police@test.invalid"))
    assert r.status_code == 403 and r.json()["detail"] == "the analyst role has no access to person records"


def test_notes_need_the_person_on_the_case_are_logged_and_stay_with_their_case(hub, partnership):
    h = hub.headers(CW)
    cw_id = partnership["users"]["caseworker.police"]
    a = hub.client.post("/cases", json={"kind": "asb", "title": "a"}, headers=h).json()["id"]
    b = hub.client.post("/cases", json={"kind": "asb", "title": "b"}, headers=h).json()["id"]
    pid = hub.client.post(f"/cases/{a}/people", json={"role": "victim", "given_name": "A", "family_name": "B"},
                          headers=h).json()["person_id"]
    # a note on a case the person is not on is refused, whoever the person is
    r = hub.client.post(f"/cases/{b}/notes", json={"person_id": pid, "kind": "fact", "text": "x"}, headers=h)
    assert r.status_code == 404 and r.json()["detail"] == f"person {pid} is not on case {b}"
    before = _audit_rows(hub)
    r = hub.client.post(f"/cases/{a}/notes", json={"person_id": pid, "kind": "opinion", "text": "Seems worried"},
                        headers=h)
    assert r.status_code == 201 and r.json()["kind"] == "opinion"
    new = _audit_rows(hub)[len(before):]
    assert [(e.action, e.entity, e.entity_ids, e.user_id) for e in new] == [("create", "person_note", str(pid), cw_id)]
    assert json.loads(new[0].detail) == {"case_id": a, "kind": "opinion"}
    # the person joins case b too; b's caseworker notes stay on b and both show, oldest first
    hub.client.post(f"/cases/{b}/people", json={"role": "witness", "person_id": pid}, headers=h)
    hub.client.post(f"/cases/{b}/notes", json={"person_id": pid, "kind": "opinion", "text": "Later view"}, headers=h)
    person = hub.client.get(f"/people/{pid}", headers=h).json()
    assert [(n["case_id"], n["text"]) for n in person["opinions"]] == [(a, "Seems worried"), (b, "Later view")]
    assert person["roles"] == [{"case_id": a, "role": "victim"}, {"case_id": b, "role": "witness"}]


def test_case_review_roles_case_link_messages_and_log(hub, partnership):
    cw, coord = hub.headers(CW), hub.headers(COORD)
    case = hub.client.post("/cases", json={"kind": "asb", "title": "t"}, headers=cw).json()["id"]
    body = {"applicant_ref": "victim-c", "received_on": "2024-05-01"}
    r = hub.client.post("/asb/case-reviews", json=body, headers=hub.headers("analyst.police@test.invalid"))
    assert r.status_code == 403 and r.json()["detail"] == "this needs the role coordinator or caseworker; you are analyst"
    r = hub.client.post("/asb/case-reviews", json=body | {"case_id": case}, headers=hub.headers("caseworker.fire@test.invalid"))
    assert r.status_code in (403, 404)                          # a case it cannot read
    before = _audit_rows(hub)
    r = hub.client.post("/asb/case-reviews", json=body | {"case_id": case}, headers=cw)
    assert r.status_code == 201 and r.json()["case_id"] == case and r.json()["threshold_met"] is False
    app_id = r.json()["id"]
    new = _audit_rows(hub)[len(before):]
    assert [(e.action, e.entity, e.entity_ids) for e in new] == [("create", "case_review", str(app_id))]
    assert json.loads(new[0].detail) == {"threshold_met": False}
    with hub.sessions() as s:
        assert s.get(CaseReviewApplication, app_id).case_id == case
    url = f"/asb/case-reviews/{app_id}/decision"
    r = hub.client.post(url, json={"recommendations": "x"}, headers=cw)
    assert r.status_code == 403 and r.json()["detail"] == "this needs the role coordinator; you are caseworker"
    r = hub.client.post(url, json={}, headers=coord)
    assert r.status_code == 409 and r.json()["detail"] == "the threshold was not met; there is no review to record"
    r = hub.client.post("/asb/case-reviews/99999/decision", json={}, headers=coord)
    assert r.status_code == 404 and r.json()["detail"] == "no Case Review application 99999"
    met = _application(hub, "victim-d", "2024-05-01")
    before = _audit_rows(hub)
    assert hub.client.post(f"/asb/case-reviews/{met['id']}/decision", json={}, headers=coord).status_code == 200
    new = _audit_rows(hub)[len(before):]
    assert [(e.action, e.entity, e.entity_ids) for e in new] == [("update", "case_review", str(met["id"]))]
    assert json.loads(new[0].detail) == {"decision": "review_held"}
    r = hub.client.post(f"/asb/case-reviews/{met['id']}/decision", json={}, headers=coord)
    assert r.status_code == 409 and r.json()["detail"] == "this review was already recorded"


def test_case_review_threshold_is_the_partnership_rule_not_a_per_call_choice(hub, partnership):
    """A caller cannot pick the threshold or window for one application: probing counts across
    agencies by moving the threshold is closed (the rule is set once, `saferhub hub rules`)."""
    _application(hub, "victim-e", "2024-05-01")                  # 3 reports in Jan-Mar: met by default
    with hub.sessions() as s:
        user = s.scalar(select(User).where(User.email == CW))
        for override in ({"threshold": 4}, {"window_months": 3}):
            with pytest.raises(TypeError):
                services.apply_case_review(s, user, applicant_ref="victim-e", received_on=dt.date(2024, 5, 1),
                                           **override)


def test_powers_are_saved_as_given_logged_and_alerted_in_expiry_order(hub, partnership):
    from saferhub.hub.models import AsbPower

    cw = hub.headers(CW)
    case = hub.client.post("/cases", json={"kind": "asb", "title": "t"}, headers=cw).json()["id"]
    pid = hub.client.post(f"/cases/{case}/people", json={"role": "offender", "given_name": "O", "family_name": "P"},
                          headers=cw).json()["person_id"]
    url = f"/cases/{case}/asb-powers"
    before = _audit_rows(hub)
    r = hub.client.post(url, headers=cw, json={"power": "cpw", "grounds": "Litter", "person_id": pid,
                                               "recipient_age": 19, "issued_at": "2024-05-03T10:00:00Z"})
    assert r.status_code == 201, r.text
    fpn = r.json()["id"]
    new = _audit_rows(hub)[len(before):]
    assert [(e.action, e.entity, e.entity_ids) for e in new] == [("create", "asb_power", str(fpn))]
    assert json.loads(new[0].detail) == {"case_id": case, "power": "cpw"}
    now = dt.datetime.now(dt.timezone.utc)
    ids = []
    for hours_ago in (40, 30):   # dispersal lasts 48 h: 8 h and 18 h left
        r = hub.client.post(url, headers=cw, json={"power": "dispersal", "grounds": "Groups", "authorised_by": "Insp. B",
                                                   "issued_at": (now - dt.timedelta(hours=hours_ago)).isoformat()})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    with hub.sessions() as s:
        p = s.get(AsbPower, fpn)
        assert (p.person_id, p.recipient_age, p.grounds, p.power) == (pid, 19, "Litter", "cpw")
        d = s.get(AsbPower, ids[0])
        assert (d.authorised_by, d.extends_id, d.person_id) == ("Insp. B", None, None)
    before = _audit_rows(hub)
    alerts = hub.client.get("/asb/alerts", headers=hub.headers(CW, purpose="Checking powers about to lapse")).json()
    assert [a["power_id"] for a in alerts] == ids            # soonest expiry first
    new = _audit_rows(hub)[len(before):]
    assert [(e.action, e.entity, e.purpose) for e in new] == [("read", "asb_power", "Checking powers about to lapse")]
    assert new[0].entity_ids == ",".join(map(str, ids)) and json.loads(new[0].detail) == {"alerts": True}


@pytest.mark.parametrize("who,status", [("coordinator.police", 200), ("analyst.police", 200),
                                        ("admin.police", 200), ("caseworker.police", 403)])
def test_case_review_publication_is_for_coordinators_analysts_and_admins(hub, partnership, who, status):
    r = hub.client.get("/asb/case-reviews/publication?year=2024", headers=hub.headers(f"{who}@test.invalid"))
    assert r.status_code == status
    if status == 403:
        assert r.json()["detail"] == "this needs the role coordinator or analyst or admin; you are caseworker"
    else:
        assert r.json()["applications"] == 0
