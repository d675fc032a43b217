"""Plans, reports, the administrators' pages, the missing-from-care pages and the briefing
(api/pages/admin.py, missing.py, briefing.py) against the small known partnership of
tests/web/pages_world.py: who sees what, the purpose logged, the forms' messages, nothing stored
by a refused form, the redirect after a good one. Server-side only (TestClient)."""

from __future__ import annotations

import datetime as dt

import pytest

from saferhub.hub.models import MissingEpisode, Plan, User

from .pages_world import Site, field_errors, page

PURPOSE = "admin pages oracle"


@pytest.fixture
def site(tmp_path, monkeypatch):
    s = Site(tmp_path, monkeypatch)
    yield s
    s.close()


# ---------------------------------------------------------------- plans

def test_plans_list_and_page_by_role_with_the_purpose_logged(site):
    f = site.f
    b = site.browser("caseworker.police", PURPOSE)
    seq = site.last_seq()
    p = page(b.get("/web/plans"))
    assert p.h1 == "Problem-solving plans"
    assert [c[:4] for c in p.cells[1:]] == [[f"Plan {f.plan}", "Plan for the shops", "objective",
                                             f"HUB-{f.cases['own']:06d}"]]
    assert {e.purpose for e in site.audit(seq)} == {PURPOSE} and "plan" in {e.entity for e in site.audit(seq)}
    r = b.get(f"/web/plans/{f.plan}")
    p = page(r)
    assert r.status_code == 200 and p.h1 == f"Plan {f.plan}: Plan for the shops" and "Officer Caseworker Police ·" in p.text
    assert "Fewer calls about the shops" in p.text and "Not published." in p.text
    assert "pub-title" not in r.text  # a caseworker does not publish: no form
    r = b.get("/web/plans/999")
    p = page(r)
    assert r.status_code == 404 and p.h1 == "Plan not available" and "Officer Caseworker Police ·" in p.text
    assert p.text.split("Plan not available")[1].split("Back to the briefing")[0].strip()  # the service's words
    fire = site.browser("caseworker.fire", PURPOSE)
    p = page(fire.get("/web/plans"))
    assert p.cells[1:] == [["No plans you can see."]]
    r = fire.get(f"/web/plans/{f.plan}")
    assert r.status_code in (403, 404) and page(r).h1 == "Plan not available" and "Plan for the shops" not in r.text
    for who in ("analyst.police", "admin.police"):
        r = site.browser(who, PURPOSE).get("/web/plans")
        assert r.status_code == 403 and page(r).h1 == "Plans" and "Plan for the shops" not in r.text, who
    nb = site.browser("caseworker.police")
    for url in ("/web/plans", f"/web/plans/{f.plan}"):
        p = page(nb.get(url))
        assert p.h1 == "Why do you need this?" and p.inputs["next"] == url


def test_publishing_a_plan_summary(site):
    f = site.f
    url = f"/web/plans/{f.plan}/public"
    b = site.browser("coordinator.police", PURPOSE)
    p = page(b.get(f"/web/plans/{f.plan}"))
    version = p.inputs["version"]
    assert p.inputs["title"] == "" and version.isdigit()
    good = {"version": version, "public": "yes", "title": "Shops", "done": "Patrols", "outcome": "Calmer"}
    for data, alerts, errors in (
            (good | {"public": "maybe"}, ["Choose publish or withdraw."], {}),
            (good | {"version": "x"}, ["This form is out of date: open the plan again."], {}),
            (good | {"version": "0"}, ["This form is out of date: open the plan again."], {}),
            (good | {"version": str(2**31)}, ["This form is out of date: open the plan again."], {}),
            (good | {"title": " ", "done": "", "outcome": ""}, [],
             {"title": "Give a public title: the public pages show it.",
              "done": "Give what was done: the public pages show it.",
              "outcome": "Give the outcome: the public pages show it."}),
            (good | {"title": "t" * 201, "done": "d" * 1001, "outcome": "o" * 1001}, [],
             {"title": "This is 201 characters long; the limit is 200.",
              "done": "This is 1,001 characters long; the limit is 1,000.",
              "outcome": "This is 1,001 characters long; the limit is 1,000."}),
            (good | {"title": "bad\x00"}, [], {"title": "Text must not contain NUL characters."})):
        r = b.post(url, data)
        p = page(r)
        assert r.status_code == 400 and p.alerts == alerts, data
        assert {k.removeprefix("pub-"): v for k, v in field_errors(p).items()} == errors, data
        assert p.h1 == f"Plan {f.plan}: Plan for the shops"
    assert p.inputs["title"] == "bad"
    with site.sessions() as s:
        assert not s.get(Plan, f.plan).public
    # withdrawing needs no text
    r = b.post(url, {"version": version, "public": "no"})
    assert r.status_code == 303 and r.headers["location"] == f"/web/plans/{f.plan}?done=withdrawn#publish"
    version = page(b.get(f"/web/plans/{f.plan}")).inputs["version"]
    r = b.post(url, good | {"version": version, "title": "t" * 200, "done": "d" * 1000})
    assert r.status_code == 303 and r.headers["location"] == f"/web/plans/{f.plan}?done=published#publish"
    with site.sessions() as s:
        plan = s.get(Plan, f.plan)
        assert plan.public and plan.public_summary["title"] == "t" * 200
    p = page(b.get(f"/web/plans/{f.plan}?done=published"))
    assert p.status == ["Published on the public pages."] and p.inputs["title"] == "t" * 200
    assert page(b.get(f"/web/plans/{f.plan}?done=withdrawn")).status == ["Withdrawn from the public pages."]
    assert page(b.get(f"/web/plans/{f.plan}?done=x")).status == []
    # an old version: the service's conflict, shown on the plan page with its status
    r = b.post(url, good | {"version": version})
    assert r.status_code == 409 and len(page(r).alerts) == 1
    # not theirs to publish, or no such plan: said plainly, nothing read again
    r = site.browser("caseworker.police", PURPOSE).post(url, good)
    assert r.status_code == 403 and page(r).h1 == "Plan not published"
    r = b.post("/web/plans/999/public", good)
    assert r.status_code == 404 and page(r).h1 == "Plan not published"
    assert "There is no plan 999 you can open." in page(r).text
    r = b.post(url, good | {"public": "no"}, csrf="stale")
    assert r.status_code == 403
    with site.sessions() as s:
        assert s.get(Plan, f.plan).public
    nb = site.browser("coordinator.police")
    p = page(nb.post(url, good))
    assert p.h1 == "Why do you need this?" and p.inputs["next"] == f"/web/plans/{f.plan}"


# ---------------------------------------------------------------- reports

def test_reports_list_and_open_is_logged(site):
    b = site.browser("analyst.police", PURPOSE)
    p = page(b.get("/web/reports"))
    assert p.h1 == "Reports" and "/web/reports/out/hotspots.html" in p.links
    seq = site.last_seq()
    r = b.get("/web/reports/out/hotspots.html")
    assert r.status_code == 200 and "<h1>Hotspot report</h1>" in r.text
    rows = site.audit(seq)
    assert len(rows) == 1 and rows[0].purpose == PURPOSE
    for bad in ("/web/reports/out/nothere.html", "/web/reports/elsewhere/hotspots.html", "/web/reports/out/..%2fx"):
        seq = site.last_seq()
        r = b.get(bad)
        assert r.status_code == 404 and "no such report" in page(r).text, bad
        assert site.audit(seq) == []


# ---------------------------------------------------------------- administration

def test_audit_trail_for_administrators_only(site):
    admin = site.browser("admin.police")
    rows = site.audit()
    r = admin.get("/web/admin/audit")
    p = page(r)
    assert r.status_code == 200 and p.h1 == "Audit trail"
    assert [int(c[0]) for c in p.cells[1:]] == [e.seq for e in reversed(rows)]
    assert p.cells[-1][2] == "system" or p.cells[-1][2].startswith("Officer")
    seqs = [int(c[0]) for c in p.cells[1:]]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == min(len(rows), 100)
    older = [x for x in p.links if x.startswith("/web/admin/audit?before=")]
    assert older == ([f"/web/admin/audit?before={seqs[-1]}&entity="] if len(rows) >= 100 else [])
    p = page(admin.get("/web/admin/audit?entity=referral"))
    assert p.cells[1:] and all("referral" in c[4].lower() or c[4].startswith("R") for c in p.cells[1:]), p.cells[1:3]
    p = page(admin.get("/web/admin/audit?entity=nosuchthing"))
    assert p.status[0].startswith("No audit entries for the record types “nosuchthing”")
    for who in ("coordinator.police", "analyst.police"):
        r = site.browser(who).get("/web/admin/audit")
        p = page(r)
        assert r.status_code == 403 and p.text.count("Only administrators see the audit trail.") == 1, who


def test_audit_trail_pages_back(site):
    from saferhub.hub import audit

    with site.sessions() as s:  # enough entries to pass one page of 100
        u = s.get(User, site.f.users["coordinator.police"])
        for i in range(105):
            audit.disclose(s, u, "filling the trail", "case", [site.f.cases["own"]], {"n": i})
        s.commit()
    admin = site.browser("admin.police")
    p = page(admin.get("/web/admin/audit"))
    seqs = [int(c[0]) for c in p.cells[1:]]
    assert len(seqs) == 100
    older = [x for x in p.links if x.startswith("/web/admin/audit?before=")]
    assert older == [f"/web/admin/audit?before={seqs[-1]}&entity="]
    p = page(admin.get(older[0]))
    assert int(p.cells[1][0]) == seqs[-1] - 1


def test_users_page_and_deactivation_with_confirmation(site):
    f = site.f
    target = f.users["caseworker.fire"]
    admin = site.browser("admin.police")
    p = page(admin.get("/web/admin/users"))
    assert p.h1 == "Users" and p.status == []
    assert ["Officer Caseworker Fire", "caseworker.fire@test.invalid", "Fire Service", "caseworker", "yes"] in \
        [c[:5] for c in p.cells]
    assert page(admin.get("/web/admin/users?saved=1")).status == ["User updated."]
    r = admin.post(f"/web/admin/users/{target}", {"active": "false"})
    p = page(r)
    assert r.status_code == 200 and p.h1 == "Deactivate Officer Caseworker Fire?"
    assert p.inputs["confirm"] == "yes" and p.inputs["active"] == "false"
    with site.sessions() as s:
        assert s.get(User, target).active
    r = admin.post(f"/web/admin/users/{target}", {"active": "false", "confirm": "yes"})
    assert r.status_code == 303 and r.headers["location"] == "/web/admin/users?saved=1"
    with site.sessions() as s:
        assert not s.get(User, target).active
    r = admin.post(f"/web/admin/users/{target}", {"active": "true"})
    assert r.status_code == 303 and r.headers["location"] == "/web/admin/users?saved=1"
    with site.sessions() as s:
        assert s.get(User, target).active
    r = admin.post("/web/admin/users/999", {"active": "false"})
    assert r.status_code == 404 and "There is no user 999." in page(r).text
    r = admin.post("/web/admin/users/999", {"active": "true"})
    assert r.status_code == 404 and page(r).h1 == "Users"
    r = admin.post(f"/web/admin/users/{target}", {"active": "false", "confirm": "yes"}, csrf="stale")
    assert r.status_code == 403
    coord = site.browser("coordinator.police")
    r = coord.get("/web/admin/users")
    assert r.status_code == 403 and page(r).text.count("Only administrators manage users.") == 1
    for data in ({"active": "false"}, {"active": "false", "confirm": "yes"}, {"active": "true"}):
        r = coord.post(f"/web/admin/users/{target}", data)
        assert r.status_code == 403 and page(r).h1 == "Users", data
    with site.sessions() as s:
        assert s.get(User, target).active


# ---------------------------------------------------------------- missing from home or care

def test_missing_pages_by_role_with_the_purpose_logged(site):
    f = site.f
    kid, home = f.kids["1"], f.homes["A"]
    for who in ("caseworker.police", "caseworker.council", "staffa"):
        b = site.browser(who, PURPOSE)
        seq = site.last_seq()
        p = page(b.get("/web/missing"))
        assert p.h1 == "Missing from home or care"
        assert [c[:2] for c in p.cells if c and c[0].startswith("MP-")] == [[f"MP-{kid:06d}", "Kid One"]], who
        assert ["Home A", "care home", "4"] in [c[:3] for c in p.cells], who
        r = b.get(f"/web/missing/people/{kid}")
        assert r.status_code == 200 and page(r).h1 == f"MP-{kid:06d}: Kid One" and "Officer " in page(r).text.split("Sign out")[0]
        r = b.get(f"/web/missing/homes/{home}")
        assert r.status_code == 200 and page(r).h1 == "Home A"
        assert {e.purpose for e in site.audit(seq)} == {PURPOSE}
        assert {"missing_person", "missing_home"} <= {e.entity for e in site.audit(seq)}
    fire = site.browser("caseworker.fire", PURPOSE)
    p = page(fire.get("/web/missing"))
    assert ["Nobody you may see."] in p.cells and ["No homes you may see."] in p.cells
    for url, what in ((f"/web/missing/people/{kid}", f"missing person {kid}"), (f"/web/missing/homes/{home}",
                                                                                  f"home {home}")):
        r = fire.get(url)
        p = page(r)
        assert r.status_code == 404 and p.h1 == "Not available", url
        assert "Officer Caseworker Fire ·" in p.text
        assert f"There is no {what} you can open. Police, the person's council and the home's named staff " \
               "see missing episodes; ask them if you expected one." in p.text
        assert "Kid One" not in r.text
    nb = site.browser("caseworker.police")
    for url in ("/web/missing", f"/web/missing/people/{kid}", f"/web/missing/homes/{home}"):
        p = page(nb.get(url))
        assert p.h1 == "Why do you need this?" and p.inputs["next"] == url
    r = site.browser("analyst.police", PURPOSE).get("/web/missing")
    assert r.status_code == 403 and page(r).h1 == "Not available" and "There is no" not in r.text
    assert "Officer Analyst Police ·" in page(r).text


def test_recording_an_episode(site):
    f = site.f
    kid, home = f.kids["1"], f.homes["A"]
    url = f"/web/missing/people/{kid}/episodes"
    b = site.browser("caseworker.police", PURPOSE)
    p = page(b.get(f"/web/missing/people/{kid}"))
    before = site.count(MissingEpisode, missing_person_id=kid)
    when = "Enter a date and time, for example 2026-12-07 21:30."
    for data, errors in (({"home_id": "x", "risk": "awful", "reported_at": ""},
                          {"home_id": "Choose the home the child went missing from.",
                           "risk": "Choose a risk grading from the list.",
                           "reported_at": "Say when the child was reported missing."}),
                         ({"home_id": "0", "reported_at": "yesterday", "returned_at": "later"},
                          {"home_id": "Choose the home the child went missing from.", "reported_at": when,
                           "returned_at": when}),
                         ({"home_id": str(2**31), "reported_at": "2026-12-01T10:00"},
                          {"home_id": "Choose the home the child went missing from."}),
                         ({"home_id": str(home), "reported_at": "2026-12-01T10:00\x00"},
                          {"reported_at": "Text must not contain NUL characters."})):
        r = b.post(url, data)
        assert r.status_code == 400 and field_errors(page(r)) == errors, data
    # returned before reported: the service refuses, the form says so
    r = b.post(url, {"home_id": str(home), "reported_at": "2026-12-01T10:00", "returned_at": "2026-11-01T10:00"})
    p = page(r)
    assert r.status_code == 400 and len(p.alerts) == 1 and p.inputs["returned_at"] == "2026-11-01T10:00"
    assert site.count(MissingEpisode, missing_person_id=kid) == before
    r = b.post(url, {"home_id": str(home), "reported_at": "2026-12-01T10:00", "returned_at": "", "risk": "stale"},
               csrf="stale")
    assert r.status_code == 403
    r = b.post(url, {"home_id": str(home), "reported_at": "2026-12-01T10:00"}, csrf="stale")
    p = page(r)
    assert r.status_code == 403 and p.alerts == ["This form had expired (it was open too long, or you signed in "
                                                 "again elsewhere), so nothing was saved. What you typed is kept "
                                                 "below: check it and press the button again."]
    assert p.inputs["reported_at"] == "2026-12-01T10:00"
    assert site.count(MissingEpisode, missing_person_id=kid) == before
    r = b.post(url, {"home_id": str(home), "reported_at": " 2026-12-01T10:00 ", "returned_at": "2026-12-01T12:30+01:00",
                     "risk": "high"})
    assert r.status_code == 303 and r.headers["location"] == f"/web/missing/people/{kid}?done=episode#episodes"
    with site.sessions() as s:
        e = s.query(MissingEpisode).filter_by(missing_person_id=kid).order_by(MissingEpisode.id.desc()).first()
        assert (e.home_id, e.risk) == (home, "high")
        assert e.reported_at.replace(tzinfo=dt.timezone.utc) == dt.datetime(2026, 12, 1, 10, tzinfo=dt.timezone.utc)
        assert e.returned_at.replace(tzinfo=dt.timezone.utc) == dt.datetime(2026, 12, 1, 11, 30, tzinfo=dt.timezone.utc)
    assert page(b.get(f"/web/missing/people/{kid}?done=episode")).status == ["Episode recorded."]
    assert page(b.get(f"/web/missing/people/{kid}?done=x")).status == []
    # someone who may not see the child: 404, nothing stored; a stale form from them: 403
    fire = site.browser("caseworker.fire", PURPOSE)
    r = fire.post(url, {"home_id": str(home), "reported_at": "2026-12-02T10:00"})
    assert r.status_code == 404 and "Kid One" not in r.text
    r = fire.post(url, {"home_id": str(home), "reported_at": "2026-12-02T10:00"}, csrf="stale")
    assert r.status_code == 403 and "Kid One" not in r.text
    nb = site.browser("caseworker.police")
    p = page(nb.post(url, {"home_id": str(home), "reported_at": "2026-12-02T10:00"}))
    assert p.h1 == "Why do you need this?" and p.inputs["next"] == f"/web/missing/people/{kid}"
    r = nb.post(url, {"home_id": str(home), "reported_at": "2026-12-02T10:00"}, csrf="stale")
    assert r.status_code == 403 and page(r).h1 == "Not allowed"
    assert site.count(MissingEpisode, missing_person_id=kid) == before + 1


# ---------------------------------------------------------------- the briefing

def test_briefing_asks_the_purpose_then_logs_it(site):
    b = site.browser("caseworker.police")
    seq = site.last_seq()
    for url in ("/web/briefing", "/web/briefing.pdf"):
        r = b.get(url)
        p = page(r)
        assert r.status_code == 200 and p.h1 == "Why do you need this?" and p.inputs["next"] == url
    assert site.audit(seq) == []
    b.state_purpose(PURPOSE)
    r = b.get("/web/briefing")
    p = page(r)
    assert r.status_code == 200 and p.h1.startswith("Daily partnership briefing, ")
    rows = site.audit(seq)
    assert rows and {e.purpose for e in rows} == {PURPOSE}
    r = b.get("/web/briefing.pdf")
    today = dt.datetime.now(dt.timezone.utc)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-disposition"] in (f'attachment; filename="briefing-{d:%Y-%m-%d}.pdf"'
                                                for d in (today, today - dt.timedelta(days=1)))
    assert r.headers["cache-control"] == "no-store"
    # the analyst's briefing has no personal data: no purpose asked
    r = site.browser("analyst.police").get("/web/briefing")
    assert r.status_code == 200 and page(r).h1.startswith("Daily partnership briefing")


def test_episode_times_are_utc_whatever_the_server_zone(monkeypatch):
    import time

    from saferhub.api.pages import missing as M

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        errors: dict = {}
        naive = M._when(" 2026-12-01T10:00 ", "r", errors)
        assert naive == dt.datetime(2026, 12, 1, 10, tzinfo=dt.timezone.utc) and naive.hour == 10
        aware = M._when("2026-12-01T12:30+01:00", "r", errors)
        assert aware.hour == 11 and aware.minute == 30 and aware.utcoffset() == dt.timedelta(0)
        assert M._when("  ", "r", errors) is None and errors == {}
        assert M._when("2026-13-01T10:00", "r", errors) is None
        assert errors == {"r": "Enter a date and time, for example 2026-12-07 21:30."}
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
