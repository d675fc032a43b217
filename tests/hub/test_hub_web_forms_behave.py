"""Web forms that behave (issue 20): post/redirect/get after every case form, errors that keep what
was typed (too long, a stale form), a note on the case page, the timeline's real times and authors,
sign-in that keeps the e-mail and returns to the deep link, no purpose asked of roles that cannot
see case pages, and a confirmation before an administrator deactivates a user."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from saferhub.hub.models import Action, PersonNote, User
from tests.hub.conftest import PASSWORD
from tests.hub.web_client import WebUser

PURPOSE = "forms behave test"


def _case(hub, email="caseworker.police@test.invalid"):
    h = hub.headers(email)
    r = hub.client.post("/cases", headers=h, json={"kind": "repeat_location", "title": "Forms", "risk": "standard"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    pid = hub.client.post(f"/cases/{cid}/people", headers=h, json={
        "role": "victim", "given_name": "Ada", "family_name": "Lovelace"}).json()["person_id"]
    return cid, pid


def _web(hub, email):
    u = WebUser(hub.client.app, email, PASSWORD)
    u.state_purpose(PURPOSE)
    return u


def _count(hub, model, **where):
    with hub.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).filter_by(**where))


def test_case_forms_redirect_and_a_refresh_adds_nothing(hub, partnership):
    cid, pid = _case(hub)
    u = _web(hub, "caseworker.police@test.invalid")
    u.get(f"/web/cases/{cid}")
    r = u.post(f"/web/cases/{cid}/actions", {"title": "Visit the shop", "due_on": ""})
    assert r.status_code == 303 and r.headers["location"] == f"/web/cases/{cid}?done=action#add-action"
    page = u.get(r.headers["location"].split("#")[0])
    assert page.status_code == 200 and "Action added." in page.text
    # the refresh repeats the GET, never the POST: still one action, dated today (not the case's opening)
    u.get(r.headers["location"].split("#")[0])
    assert _count(hub, Action, case_id=cid) == 1
    assert "Action added (no due date; open)" in page.text
    assert f"<time datetime=\"{dt.date.today().isoformat()}" in page.text or dt.date.today().strftime("%d %b %Y") in page.text
    r = u.post(f"/web/cases/{cid}/notes", {"person_id": str(pid), "kind": "opinion", "text": "Seemed frightened."})
    assert r.status_code == 303 and "done=note" in r.headers["location"]
    page = u.get(f"/web/cases/{cid}")
    assert _count(hub, PersonNote, case_id=cid) == 1
    assert "Note (opinion) about Ada Lovelace" in page.text and "Seemed frightened." in page.text
    assert "Caseworker.Police (Police)" in page.text  # who wrote it
    r = u.post(f"/web/cases/{cid}/referrals", {"to_agency_id": str(partnership["fire"]), "kind": "early_help",
                                               "reason": "Needs a fire safety visit", "legal_gateway": "CDA 1998 s115"})
    assert r.status_code == 303 and "done=referral" in r.headers["location"]
    page = u.get(f"/web/cases/{cid}")
    assert "Referred to Fire" in page.text and "Caseworker.Police (Police)" in page.text


def test_errors_keep_what_was_typed(hub, partnership):
    cid, pid = _case(hub)
    u = _web(hub, "caseworker.police@test.invalid")
    u.get(f"/web/cases/{cid}")
    long = "x" * 4990 + "TAILMARK00"
    r = u.post(f"/web/cases/{cid}/actions", {"title": long, "due_on": ""})
    assert r.status_code == 400 and "<html" in r.text.lower()
    assert "5,000 characters long; the limit is 300" in r.text and "TAILMARK00" in r.text
    assert _count(hub, Action, case_id=cid) == 0
    # a stale form (its token from another session): 403, the page, the text kept, nothing stored
    r = u.post(f"/web/cases/{cid}/notes", {"person_id": str(pid), "kind": "fact", "text": "Kept after expiry"},
               csrf=False)
    assert r.status_code == 403 and "This form had expired" in r.text and "Kept after expiry" in r.text
    assert _count(hub, PersonNote, case_id=cid) == 0


def test_sign_in_keeps_the_email_returns_to_the_deep_link_and_says_when_to_retry(hub, partnership):
    u = WebUser(hub.client.app, None, None)
    r = u.get("/web/referrals")
    assert r.status_code == 303 and r.headers["location"] == "/web/login?next=/web/referrals"
    page = u.get(r.headers["location"])
    assert 'name="next" id="next" value="/web/referrals"' in page.text
    assert 'name="viewport"' in page.text
    r = u.post("/web/login", {"email": "caseworker.fire@test.invalid", "password": "wrong", "next": "/web/referrals"})
    assert r.status_code == 401 and 'value="caseworker.fire@test.invalid"' in r.text and "wrong" not in r.text.split("<main")[1].split("Wrong")[0]
    r = u.post("/web/login", {"email": "caseworker.fire@test.invalid", "password": PASSWORD, "next": "/web/referrals"})
    assert r.status_code == 303 and r.headers["location"] == "/web/referrals"
    for bad in ("https://evil.example/", "//evil.example/web/", "/web/../api", "/web/\\evil", "/other"):
        v = WebUser(hub.client.app, None, None)
        r = v.post("/web/login", {"email": "caseworker.fire@test.invalid", "password": PASSWORD, "next": bad})
        assert r.status_code == 303 and r.headers["location"] == "/web/briefing", bad
    hub.client.app.state.login_limit = True
    w = WebUser(hub.client.app, None, None)
    for _ in range(40):
        r = w.post("/web/login", {"email": "analyst.fire@test.invalid", "password": "not it"})
        if r.status_code == 429:
            break
    assert r.status_code == 429 and "Try again in" in r.text and "UTC" in r.text and int(r.headers["retry-after"]) > 0
    assert 'value="analyst.fire@test.invalid"' in r.text and "<html" in r.text.lower()


def test_roles_without_case_pages_get_403_not_a_purpose_form(hub, partnership):
    for who in ("analyst.police", "admin.police"):
        u = WebUser(hub.client.app, f"{who}@test.invalid", PASSWORD)
        for url in ("/web/cases", "/web/referrals", "/web/cases/1"):
            r = u.get(url)
            assert r.status_code == 403 and "Purpose of viewing" not in r.text, (who, url)


def test_admin_confirms_before_deactivating_and_the_audit_says_when_nothing_matches(hub, partnership):
    admin = WebUser(hub.client.app, "admin.police@test.invalid", PASSWORD)
    target = partnership["users"]["analyst.fire"]
    admin.get("/web/admin/users")
    r = admin.post(f"/web/admin/users/{target}", {"active": "false"})
    assert r.status_code == 200 and "Yes, deactivate" in r.text and 'name="confirm" value="yes"' in r.text
    with hub.sessions() as s:
        assert s.get(User, target).active
    r = admin.post(f"/web/admin/users/{target}", {"active": "false", "confirm": "yes"})
    assert r.status_code == 303
    with hub.sessions() as s:
        assert not s.get(User, target).active
    r = admin.get("/web/admin/audit?entity=no-such-kind")
    assert r.status_code == 200 and "No audit entries for the record types" in r.text
    r = admin.get("/web/admin/audit?entity=user,+login")  # several kinds at once
    kinds = set(re.findall(r'data-label="Record">(\w+) ', r.text))
    assert r.status_code == 200 and kinds and kinds <= {"user", "login"}, kinds
