"""The web pages go through the same gate as the JSON API (issue 19, items 2, 3 and 8):
- `/web/plans` lists exactly the plans `GET /plans/{id}` lets the same user open (a plan on no
  case: its lead agency's case roles only);
- report files: future patrol plans only for a police agency's coordinators, caseworkers and
  analysts, aggregates for everyone signed in; a file not allowed is neither listed nor served
  (404); every open is logged; no server folder is printed;
- web forms refuse NUL and other control characters (newline and tab allowed in multi-line text)
  with a clear message and store nothing, by the same rule as the JSON bodies."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from saferhub.hub.models import AuditEvent, Case, User

from .conftest import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One signed-in web session (cookies) on the hub's app."""

    def __init__(self, hub, email: str):
        self.c = TestClient(hub.client.app)
        self.c.__enter__()
        page = self.c.get("/web/login")
        r = self.c.post("/web/login", data={"email": email, "password": PASSWORD,
                                            "csrf_token": TOKEN.search(page.text).group(1)}, follow_redirects=False)
        assert r.status_code == 303, r.text

    def token(self, path: str = "/web/cases/new") -> str:
        page = self.c.get(path)
        m = TOKEN.search(page.text)
        assert m, page.text[:300]
        return m.group(1)

    def state_purpose(self, purpose: str = "web gate test purpose") -> None:
        r = self.c.post("/web/purpose", data={"purpose": purpose, "next": "/web/briefing",
                                              "csrf_token": self.token()}, follow_redirects=False)
        assert r.status_code == 303, r.text

    def close(self) -> None:
        self.c.__exit__(None, None, None)


@pytest.fixture
def browse(hub):
    made = []

    def make(who: str) -> Browser:
        b = Browser(hub, f"{who}@test.invalid")
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


# -- item 2: plans ---------------------------------------------------------------------------

def test_plans_page_lists_exactly_what_the_api_opens(hub, partnership, browse):
    c = hub.client
    made = {}
    for who, locked in (("caseworker.police", False), ("caseworker.police", True), ("caseworker.council", False)):
        h = hub.headers(f"{who}@test.invalid")
        cid = c.post("/cases", headers=h, json={"kind": "repeat_location", "title": "t", "locked": locked}).json()["id"]
        for case_id in (cid, None):
            tag = f"CANARY-plan-{who}-{'locked' if locked else 'open'}-{'case' if case_id else 'nocase'}"
            r = c.post("/plans", headers=h, json={"title": tag, "objective": "reduce repeat ASB", "case_id": case_id})
            assert r.status_code == 201, r.text
            made[tag] = r.json()["id"]
    for who in ("caseworker.police", "caseworker2.police", "coordinator.police", "caseworker.council",
                "coordinator.council", "caseworker.fire"):
        b = browse(who)
        b.state_purpose()
        page = b.c.get("/web/plans")
        assert page.status_code == 200
        listed = {t for t in made if t in page.text}
        opens = {t for t, pid in made.items()
                 if c.get(f"/plans/{pid}", headers=hub.headers(f"{who}@test.invalid")).status_code == 200}
        assert listed == opens, who
        for t, pid in made.items():  # the plan's own page agrees
            assert (b.c.get(f"/web/plans/{pid}").status_code == 200) == (t in opens), (who, t)
    # the probe: another agency's caseworker never sees a police plan on no case
    wirral = browse("caseworker.council")
    wirral.state_purpose()
    assert "CANARY-plan-caseworker.police-open-nocase" not in wirral.c.get("/web/plans").text
    analyst = browse("analyst.police")
    analyst.state_purpose()
    r = analyst.c.get("/web/plans")
    assert r.status_code == 403 and "CANARY" not in r.text


# -- item 3: report files --------------------------------------------------------------------

REPORTS = {
    "out/hotspots.html": "aggregate",
    "out/forecast/backtest.html": "aggregate",
    "out/patrol-dosage.html": "aggregate",
    "out/patrol-plan/briefing.html": "patrol",
    "out/patrol-plan/briefing.pdf": "patrol",
    "out/week-49/briefing.html": "patrol",  # `patrol plan --out-dir week-49`: it holds the schedule
    "evaluations/EV-abc123.html": "aggregate",
}
POLICE_PATROL = {"coordinator.police", "caseworker.police", "analyst.police"}


@pytest.fixture
def report_files(tmp_path, monkeypatch):
    out, store = tmp_path / "out", tmp_path / "store"
    for name in REPORTS:
        base, rel = name.split("/", 1)
        f = (out if base == "out" else store / "evaluations") / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"%PDF-1.4 test" if f.suffix == ".pdf" else f"<h1>CANARY-{name}</h1>".encode())
    (out / "week-49" / "schedule.csv").write_text("team,area_id,planned_start,planned_end\n")
    (out / "patrol-plan" / "route-team-1.gpx").write_text("<gpx/>")
    (out / ".hidden.html").write_text("hidden")
    monkeypatch.setenv("SAFERHUB_OUT", str(out))
    monkeypatch.setenv("SAFERHUB_STORE", str(store))
    return tmp_path


@pytest.mark.parametrize("who", ["coordinator.police", "caseworker.police", "analyst.police", "admin.police",
                                 "caseworker.council", "coordinator.council", "analyst.council", "caseworker.fire"])
def test_report_files_follow_one_access_decision_and_every_open_is_logged(hub, partnership, browse, report_files, who):
    b = browse(who)
    page = b.c.get("/web/reports")
    assert page.status_code == 200
    assert str(report_files) not in page.text and "/tmp" not in page.text  # no server folders
    allowed = {n for n, kind in REPORTS.items() if kind == "aggregate" or who in POLICE_PATROL}
    listed = {n for n in REPORTS if f'href="/web/reports/{n}"' in page.text}
    assert listed == allowed
    assert ".hidden" not in page.text
    with hub.sessions() as s:
        seq0 = s.scalar(select(func.max(AuditEvent.seq)))
    for name in REPORTS:
        r = b.c.get(f"/web/reports/{name}")
        assert r.status_code == (200 if name in allowed else 404), name
        if name not in allowed:
            assert "CANARY" not in r.text and "no such report" in r.text  # the app's HTML error page
    # what is never a report answers the same 404
    for other in ("out/.hidden.html", "elsewhere/x.html", "out/patrol-plan/route-team-1.gpx",
                  "out/week-49/schedule.csv"):
        assert b.c.get(f"/web/reports/{other}").status_code == 404, other
    with hub.sessions() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.seq > seq0, AuditEvent.entity == "report_file")).all()
        uid = s.scalar(select(User.id).where(User.email == f"{who}@test.invalid"))
    opened = [r for r in rows if '"path"' in r.detail]
    assert {re.search(r'"path": "([^"]+)"', r.detail).group(1) for r in opened} >= allowed
    assert all(r.user_id == uid and r.action == "read" and r.purpose == "opened report" for r in opened)
    assert not any(n in r.detail for r in opened for n in REPORTS if n not in allowed)  # refusals read nothing


def test_a_stated_purpose_is_logged_with_the_report(hub, partnership, browse, report_files):
    b = browse("caseworker.police")
    b.state_purpose("planning next week's patrols")
    assert b.c.get("/web/reports/out/patrol-plan/briefing.html").status_code == 200
    with hub.sessions() as s:
        last = s.scalars(select(AuditEvent).where(AuditEvent.entity == "report_file")
                         .order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert last.purpose == "planning next week's patrols" and "out/patrol-plan/briefing.html" in last.detail


# -- item 8 (web): control characters in forms -----------------------------------------------

BAD = {"NUL": "Bridge\x00Street", "bell": "Bridge\x07Street", "escape": "Bridge\x1b[2JStreet",
       "DEL": "Bridge\x7fStreet"}


def _cases(hub) -> int:
    with hub.sessions() as s:
        return s.scalar(select(func.count()).select_from(Case))


@pytest.mark.parametrize("kind", sorted(BAD))
def test_web_forms_refuse_control_characters_and_store_nothing(hub, partnership, browse, kind):
    bad = BAD[kind]
    b = browse("caseworker.police")
    b.state_purpose()
    h = hub.headers("caseworker.police@test.invalid")
    cid = hub.client.post("/cases", headers=h, json={"kind": "repeat_location", "title": "A real case"}).json()["id"]
    before = _cases(hub)
    with hub.sessions() as s:
        seq0 = s.scalar(select(func.max(AuditEvent.seq)))
    # a new case: title (one line) and summary (multi-line)
    for field in ("title", "summary"):
        form = {"kind": "repeat_location", "title": "Bridge Street", "summary": "", "risk": "standard",
                "review_on": "", field: bad, "csrf_token": b.token()}
        r = b.c.post("/web/cases/new", data=form, follow_redirects=False)
        assert r.status_code == 400, (field, r.text[:300])
        assert "control characters" in r.text or "NUL" in r.text
        assert "\x00" not in r.text and bad not in r.text  # the form comes back without the character
    assert _cases(hub) == before
    # an action, a referral, a referral answer
    r = b.c.post(f"/web/cases/{cid}/actions", data={"title": bad, "due_on": "", "csrf_token": b.token()})
    assert r.status_code == 400 and ("control characters" in r.text or "NUL" in r.text)
    r = b.c.post(f"/web/cases/{cid}/referrals", data={
        "to_agency_id": str(partnership["council"]), "kind": "early_help", "reason": f"Please assess {bad}",
        "legal_gateway": "Crime and Disorder Act 1998 s115", "csrf_token": b.token()})
    assert r.status_code == 400 and ("control characters" in r.text or "NUL" in r.text)
    with hub.sessions() as s:
        writes = s.scalars(select(AuditEvent.action).where(AuditEvent.seq > seq0,
                                                           AuditEvent.action.in_(("create", "disclose", "update"))))
        assert list(writes) == []  # nothing stored
    # line breaks and tabs are fine in multi-line text; the JSON API takes the same rule
    form = {"kind": "repeat_location", "title": "Bridge Street", "summary": "Seen twice:\n\tmonday\r\n\ttuesday",
            "risk": "standard", "review_on": "", "csrf_token": b.token()}
    assert b.c.post("/web/cases/new", data=form, follow_redirects=False).status_code == 303
    api = hub.client.post("/cases", headers=h, json={"kind": "repeat_location", "title": bad})
    assert api.status_code == 422 and _cases(hub) == before + 1


def test_referral_answer_refuses_control_characters(hub, partnership, browse):
    h = hub.headers("caseworker.police@test.invalid")
    cid = hub.client.post("/cases", headers=h, json={"kind": "repeat_location", "title": "A real case"}).json()["id"]
    rid = hub.client.post(f"/cases/{cid}/referrals", headers=h, json={
        "to_agency_id": partnership["council"], "kind": "early_help", "reason": "Please assess the family",
        "legal_gateway": "Crime and Disorder Act 1998 s115"}).json()["id"]
    b = browse("caseworker.council")
    b.state_purpose()
    r = b.c.post(f"/web/referrals/{rid}", data={"decision": "decline", "reason": "No\x00capacity",
                                                 "csrf_token": b.token("/web/referrals")})
    assert r.status_code == 400 and "NUL" in r.text
    ref = hub.client.get("/referrals?box=in", headers=hub.headers("caseworker.council@test.invalid")).json()
    assert [x["status"] for x in ref if x["id"] == rid] == ["pending"]
