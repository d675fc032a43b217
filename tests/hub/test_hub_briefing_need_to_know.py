"""The daily briefing keeps need-to-know, section by section, with the JSON API as the oracle.

A small partnership (police, council, fire) gets, on an unlocked police case, a locked police case,
a council case and a fire case: an overdue and a new action, a high-risk review due, a pending ASB
Case Review, a dispersal about to expire, referrals, and incidents (some linked to the cases, some
on no case). Every text carries a canary naming its record. For each viewer the briefing's ids per
section must equal what the same user reads through the API (GET /cases, /cases/{id}/actions,
/actions/overdue, /referrals, /asb/alerts, /cases/{id}/incidents), and no canary may appear in the
rendered briefing that the API did not show that user. Dropping the access check from any section
(actions, reviews, referrals, Case Reviews, powers, incidents) fails here."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from saferhub.briefing import assemble, render
from saferhub.hub.models import AuditEvent, User
from saferhub.hub.services import briefing as hub_briefing

ASB = "Anti-social behaviour"
CANARY = re.compile(r"CANARY-[A-Za-z0-9-]+")
VIEWERS = ["caseworker.police", "caseworker2.police", "coordinator.police", "caseworker.council",
           "coordinator.council", "caseworker.fire"]
PURPOSE = "morning briefing need-to-know test"


def _iso(t: dt.datetime) -> str:
    return t.isoformat()


@pytest.fixture
def world(hub, partnership):
    """The partnership's records (made through the API, as the agencies would), and `now`."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    today = now.date()
    c = hub.client
    made: dict = {"now": now, "cases": {}}

    def case(owner: str, tag: str, locked: bool = False) -> int:
        h = hub.headers(f"{owner}@test.invalid")
        r = c.post("/cases", headers=h, json={"kind": "repeat_location", "title": f"CANARY-case-{tag}",
                                              "summary": f"CANARY-summary-{tag}", "risk": "high", "locked": locked,
                                              "review_on": str(today + dt.timedelta(days=2))})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        for title, due in ((f"CANARY-action-overdue-{tag}", today - dt.timedelta(days=3)),
                           (f"CANARY-action-new-{tag}", today + dt.timedelta(days=5))):
            r = c.post(f"/cases/{cid}/actions", headers=h, json={"title": title, "due_on": str(due)})
            assert r.status_code == 201, r.text
        r = c.post(f"/cases/{cid}/asb-powers", headers=h, json={
            "power": "dispersal", "issued_at": _iso(now - dt.timedelta(hours=40)), "grounds": f"CANARY-power-{tag}",
            "authorised_by": "Inspector Test"})
        assert r.status_code == 201, r.text
        # three ASB reports from one pseudonymous victim, recorded by the case's agency: a Case Review
        victim = f"V-{tag}"
        incidents = [{"occurred_at": _iso(now - dt.timedelta(days=d)), "category": ASB, "victim_ref": victim,
                      "location_text": f"CANARY-place-victim-{tag}-{d}"} for d in (40, 20)]
        incidents.append({"occurred_at": _iso(now - dt.timedelta(hours=3)), "category": ASB, "victim_ref": victim,
                          "location_text": f"CANARY-place-linked-{tag}"})
        r = c.post("/incidents", headers=h, json={"incidents": incidents})
        assert r.status_code == 201, r.text
        last = r.json()["last_id"]
        assert c.post(f"/cases/{cid}/incidents", headers=h, json={"incident_ids": [last]}).status_code in (200, 201)
        r = c.post("/asb/case-reviews", headers=h, json={"applicant_ref": victim, "received_on": str(today),
                                                         "case_id": cid})
        assert r.status_code == 201 and r.json()["threshold_met"], r.text
        made["cases"][tag] = cid
        return cid

    own = case("caseworker.police", "police-open")
    case("caseworker.police", "police-locked", locked=True)
    council = case("caseworker.council", "council")
    case("caseworker.fire", "fire")
    # referrals: police -> council and fire from the open case; council -> police
    for frm, cid, to in (("caseworker.police", own, "council"), ("caseworker.police", own, "fire"),
                         ("caseworker.council", council, "police")):
        r = c.post(f"/cases/{cid}/referrals", headers=hub.headers(f"{frm}@test.invalid"), json={
            "to_agency_id": partnership[to], "kind": "early_help", "reason": f"CANARY-referral-{frm}-{to}",
            "legal_gateway": "Crime and Disorder Act 1998 s115"})
        assert r.status_code == 201, r.text
    # incidents on no case, one per agency, in the last 24 hours
    for who in ("caseworker.police", "caseworker.council", "caseworker.fire"):
        r = c.post("/incidents", headers=hub.headers(f"{who}@test.invalid"), json={"incidents": [
            {"occurred_at": _iso(now - dt.timedelta(hours=2)), "category": ASB,
             "location_text": f"CANARY-place-unlinked-{who.split('.')[1]}"}]})
        assert r.status_code == 201, r.text
    return made


def _api_view(hub, email: str) -> dict:
    """What the JSON API shows `email`: ids per section and every canary in the answers."""
    h = hub.headers(email, PURPOSE)
    c = hub.client
    seen: set[str] = set()

    def get(url):
        r = c.get(url, headers=h)
        assert r.status_code == 200, (url, r.text)
        seen.update(CANARY.findall(r.text))
        return r.json()

    cases = [x for x in get("/cases?limit=500") if x.get("access") == "full"]
    view = {"cases": {x["id"] for x in cases}, "actions": set(), "incidents": set(), "seen": seen}
    for x in cases:
        get(f"/cases/{x['id']}")
        view["actions"] |= {a["id"] for a in get(f"/cases/{x['id']}/actions")}
        view["incidents"] |= {i["id"] for i in get(f"/cases/{x['id']}/incidents")}
    view["overdue"] = {a["id"] for a in get("/actions/overdue")}
    view["referrals_in"] = {r["id"] for r in get("/referrals?box=in") if r["status"] == "pending"}
    get("/referrals?box=out")
    view["powers"] = {a["power_id"] for a in get("/asb/alerts?horizon_hours=168")}
    return view


def _own_incidents(s, user: User, full_cases: set[int]) -> tuple[set[int], set[str]]:
    """The viewer's agency's incidents (and their canaries), less any linked to a locked case the
    API does not let the viewer read in full: a locked case's incidents stay with its readers."""
    from saferhub.hub.models import Case, CaseIncident, Incident

    hidden = {i for i, cid, locked in s.execute(select(CaseIncident.incident_id, Case.id, Case.locked)
                                                 .join(Case, Case.id == CaseIncident.case_id))
              if locked and cid not in full_cases}
    rows = s.execute(select(Incident.id, Incident.location_text).where(Incident.agency_id == user.agency_id)).all()
    mine = {(i, t) for i, t in rows if i not in hidden}
    return {i for i, _ in mine}, {m for _, t in mine for m in CANARY.findall(t or "")}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_each_briefing_section_shows_only_what_the_api_shows(hub, partnership, world, tmp_path, viewer):
    now = world["now"]
    api = _api_view(hub, f"{viewer}@test.invalid")
    last_day = _last_day(hub, now)
    with hub.sessions() as s:
        u = s.scalar(select(User).where(User.email == f"{viewer}@test.invalid"))
        own, own_places = _own_incidents(s, u, api["cases"])
        seq0 = s.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
        b = assemble.assemble(s, u, PURPOSE, now=now, store=tmp_path)
        recent = hub_briefing.recent_incidents(s, u, PURPOSE, now - dt.timedelta(hours=24))
        html = render.standalone_html(b)
        s.commit()
        logged = s.scalars(select(AuditEvent).where(AuditEvent.seq > seq0, AuditEvent.user_id == u.id)).all()

    # section by section, the API's own answers for the same user
    assert {a["id"] for a in b.actions_overdue} == api["overdue"] and api["overdue"]
    assert {a["id"] for a in b.actions_new} == api["actions"] and api["actions"] > api["overdue"]  # all made today
    assert {c["id"] for c in b.reviews_due} == api["cases"]  # every case here is high risk, review in 2 days
    assert {r["id"] for r in b.referrals_new + b.referrals_waiting + b.referrals_overdue} == api["referrals_in"]
    assert {r["case_id"] for r in b.case_reviews} == api["cases"]
    assert {p["power_id"] for p in b.powers} == api["powers"] and len(b.powers) == len(api["cases"])
    recent_ids = {r["id"] for r in recent["readable"]}
    assert recent_ids == (api["incidents"] | own) & last_day and recent_ids
    assert b.incidents_total == len(recent_ids) and b.incidents_recorded == len(last_day) == 7
    # nothing on the page that the API did not show this user
    shown = set(CANARY.findall(html))
    assert shown and shown <= api["seen"] | own_places, sorted(shown - api["seen"])
    # every section's read is logged with the purpose; the incidents with their ids
    entities = {e.entity for e in logged}
    assert {"incident", "action", "case", "referral", "case_review", "asb_power"} <= entities
    assert {e.purpose for e in logged} == {PURPOSE}
    inc_rows = [e for e in logged if e.entity == "incident"]
    assert {int(i) for e in inc_rows for i in e.entity_ids.split(",") if i} == recent_ids


def _last_day(hub, now) -> set[int]:
    from saferhub.hub.models import Incident

    with hub.sessions() as s:
        rows = s.execute(select(Incident.id, Incident.occurred_at)).all()
    since = now - dt.timedelta(hours=24)
    return {i for i, at in rows if at is not None and (at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)) >= since}


def test_locked_case_and_partner_incidents_stay_hidden(hub, partnership, world, tmp_path):
    """The issue's probe: a police incident's free-text place, linked to a locked police case,
    reaches no one outside that case, not even the police coordinator; a partner's unlinked
    incident reaches only its own agency."""
    now = world["now"]
    for viewer in VIEWERS + ["analyst.police", "admin.police"]:
        with hub.sessions() as s:
            u = s.scalar(select(User).where(User.email == f"{viewer}@test.invalid"))
            b = assemble.assemble(s, u, PURPOSE, now=now, store=tmp_path)
            html = render.standalone_html(b)
            s.rollback()
        named = viewer == "caseworker.police"  # the locked case's owner
        assert ("CANARY-place-linked-police-locked" in html) is named, viewer
        for agency in ("police", "council", "fire"):
            mine = viewer.endswith(f".{agency}") and not viewer.startswith(("analyst", "admin"))
            assert (f"CANARY-place-unlinked-{agency}" in html) is mine, (viewer, agency)


@pytest.mark.parametrize("viewer", ["analyst.police", "admin.police"])
def test_analysts_and_admins_get_one_aggregate_count_no_purpose_no_reads(hub, partnership, world, tmp_path, viewer):
    with hub.sessions() as s:
        u = s.scalar(select(User).where(User.email == f"{viewer}@test.invalid"))
        seq0 = s.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
        b = assemble.assemble(s, u, None, now=world["now"], store=tmp_path)
        html = render.standalone_html(b)
        s.commit()
        assert s.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) == seq0  # no reads
    assert not b.sees_cases and b.incidents == [] and b.incidents_total == 0
    assert b.incidents_recorded == 7  # the partnership's count: one figure, no place, agency or category
    assert CANARY.findall(html) == [] and "Police" not in html.split("Incidents in the last 24 hours")[1][:600]
    assert b.actions_new == b.actions_overdue == b.reviews_due == b.referrals_new == b.powers == b.case_reviews == []
