"""The case pages (api/pages/cases.py) against a small known partnership (tests/web/pages_world.py):
which cases each role lists and opens, the purpose logged with every read, the timeline's entries
and order, every form's messages, that a refused form stores nothing and a good one redirects,
and hostile text shown as text. Server-side only (TestClient): fast enough for mutation testing."""

from __future__ import annotations

import datetime as dt

import pytest

from saferhub.api.pages import cases as C
from saferhub.hub.models import Action, Case, PersonNote, Referral

from .pages_world import HOSTILE, Site, field_errors, page

PURPOSE = "cases page oracle"


@pytest.fixture
def site(tmp_path, monkeypatch):
    s = Site(tmp_path, monkeypatch)
    yield s
    s.close()


def _refs(p):
    return [cells[0] for cells in p.cells[1:]]


# ---------------------------------------------------------------- lists and the case page

def test_each_role_lists_the_cases_it_may_see_and_the_read_is_logged(site):
    f = site.f
    own, council, missing, locked = (f"HUB-{f.cases[k]:06d}" for k in ("own", "council", "missing", "locked"))
    # the episode's case is locked, owned by the police caseworker who recorded it, shared with the council
    want = {"caseworker.police": [locked, missing, own], "coordinator.police": [locked, missing, council, own],
            "caseworker.council": [missing, council], "caseworker.fire": []}
    for who, refs in want.items():
        b = site.browser(who, PURPOSE + " " + who)
        seq = site.last_seq()
        r = b.get("/web/cases")
        p = page(r)
        assert r.status_code == 200 and p.h1 == "Cases"
        assert _refs(p) == (refs or ["No cases match."]), who
        assert f"{len(refs)} case{'s' if len(refs) != 1 else ''}." in p.text
        rows = [e for e in site.audit(seq) if e.entity == "case"]
        assert rows and {e.purpose for e in rows} == {PURPOSE + " " + who}, who
    # the stub row names the contact, never the title
    p = page(site.browser("caseworker.police", PURPOSE).get("/web/cases"))
    assert p.cells[1] == [locked, "locked Contact Officer Coordinator Police (Merseyside Police)"]
    assert p.cells[2][:3] == [missing, "Missing episode", f"Missing from home or care: MP-{f.kids['1']:06d}"]
    assert p.cells[3][:6] == [own, "Repeat location", f"Own case {HOSTILE}", "Merseyside Police", "high", "Open"]
    assert "Locked police case" not in p.text


def test_search_and_filters_narrow_the_list(site):
    f = site.f
    b = site.browser("coordinator.police", PURPOSE)
    own, council = f"HUB-{f.cases['own']:06d}", f"HUB-{f.cases['council']:06d}"
    stubs = {f"HUB-{f.cases['locked']:06d}", f"HUB-{f.cases['missing']:06d}"}  # listed as stubs, whatever the search
    for query, refs in (("q=shop+doorway", [own]), ("q=SHOP+nothere", []), ("q=council", [council]),
                        (f"q={own.lower()}", [own]), ("risk=high", [own]), ("risk=standard", [council]),
                        ("kind=asb", [council]), ("kind=repeat_location&q=own", [own]), ("status=closed", [])):
        p = page(b.get(f"/web/cases?{query}"))
        got = [x for x in _refs(p) if x != "No cases match." and x not in stubs]
        assert got == refs, query
    p = page(b.get("/web/cases?status="))  # "any" status: all three
    assert len(_refs(p)) == 4 and "4 cases." in p.text
    assert p.inputs["q"] == ""
    p = page(b.get("/web/cases?q=shop"))
    assert p.inputs["q"] == "shop" and "1 case." in p.text


def test_case_page_shows_the_record_with_its_timeline_newest_first_and_logs_the_purpose(site):
    f = site.f
    b = site.browser("caseworker.police", PURPOSE)
    seq = site.last_seq()
    r = b.get(f"/web/cases/{f.cases['own']}")
    p = page(r)
    assert r.status_code == 200
    assert p.h1 == f"Case HUB-{f.cases['own']:06d}: Own case {HOSTILE}"
    assert "<script>alert" not in r.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in r.text
    assert "high risk" in p.text and "Shop doorway, nightly noise" in p.text
    assert "Agencies working it: Merseyside Police" in p.text
    assert "0 linked incidents; 1 open actions." in p.text
    whats = [li for li in p.lis if any(w in li for w in ("Opened the case", "Referred", "Action added", "Note ("))]
    assert len(whats) == 4
    assert "Opened the case" in whats[-1]  # the opening is oldest (a date, sorted with the datetimes)
    assert any(f"Referred to Liverpool Council (early help; referral R{f.referral})" in w and "Family needs support" in w
               for w in whats)
    assert any("Action added (due 05 Jan 2026; open)" in w and "Visit the shop owner" in w for w in whats)
    assert any("Note (fact) about Ada Lovelace" in w and f"Note text {HOSTILE}" in w for w in whats)
    assert all(w in r.text for w in ("Officer Caseworker Police",))
    rows = site.audit(seq)
    assert {e.purpose for e in rows} == {PURPOSE}
    assert {"case", "action", "referral"} <= {e.entity for e in rows}


def test_a_locked_case_is_a_stub_an_unknown_one_404_and_roles_without_cases_403(site):
    f = site.f
    b = site.browser("caseworker.police", PURPOSE)
    r = b.get(f"/web/cases/{f.cases['locked']}")
    p = page(r)
    assert r.status_code == 200 and p.h1 == f"Case HUB-{f.cases['locked']:06d}"
    assert "This case is locked. Contact Officer Coordinator Police" in p.text and "Locked police case" not in p.text
    assert "Officer Caseworker Police · Merseyside Police · caseworker" in p.text  # signed in: the page's header
    for cid in (f.cases["council"], 999):
        seq = site.last_seq()
        r = b.get(f"/web/cases/{cid}")
        p = page(r)
        assert r.status_code == 404 and p.h1 == "Case not available"
        assert f"There is no case {cid} you can open. If you expected one, ask its owner to share it" in p.text
        assert "Council only case" not in r.text
    # the coordinator owns the locked case: the full page
    p = page(site.browser("coordinator.police", PURPOSE).get(f"/web/cases/{f.cases['locked']}"))
    assert p.h1 == f"Case HUB-{f.cases['locked']:06d}: Locked police case"
    for who in ("analyst.police", "admin.police"):
        b = site.browser(who)
        seq = site.last_seq()
        for url in ("/web/cases", f"/web/cases/{f.cases['own']}", "/web/referrals"):
            r = b.get(url)
            p = page(r)
            assert r.status_code == 403 and p.h1 == "Not allowed", (who, url)
            assert "Your account has no access to case records" in p.text and "Own case" not in r.text
        assert site.audit(seq) == []


def test_case_pages_ask_the_purpose_first_and_read_nothing(site):
    f = site.f
    b = site.browser("caseworker.police")
    seq = site.last_seq()
    for url in ("/web/cases", f"/web/cases/{f.cases['own']}", "/web/referrals"):
        r = b.get(url)
        p = page(r)
        assert r.status_code == 200 and p.h1 == "Why do you need this?", url
        assert p.inputs["next"] == url and "Own case" not in r.text
    assert site.audit(seq) == []


def test_the_flash_after_each_form(site):
    cid = site.f.cases["own"]
    b = site.browser("caseworker.police", PURPOSE)
    for done, flash in (("action", "Action added."), ("note", "Note added."), ("location", "Location set."),
                        ("referral", "Referral sent.")):
        assert page(b.get(f"/web/cases/{cid}?done={done}")).status == [flash]
    assert page(b.get(f"/web/cases/{cid}?done=referral&sent=7")).status == ["Referral R7 sent."]
    assert page(b.get(f"/web/cases/{cid}?done=action&sent=7")).status == ["Action added."]
    assert page(b.get(f"/web/cases/{cid}?done=other")).status == []


# ---------------------------------------------------------------- opening a case

def test_open_a_case_form_checks_every_field_and_stores_nothing_until_right(site):
    b = site.browser("caseworker.police")
    p = page(b.get("/web/cases/new"))
    assert p.h1 == "Open a case" and p.inputs["title"] == ""
    before = site.count(Case)
    for data, errors in (
            ({"kind": "nope", "title": " ", "risk": "huge", "review_on": "soon"},
             {"kind": "Choose what kind of case this is.",
              "title": "Give the case a short title (for example the place and the problem).",
              "risk": "Choose standard, medium or high.", "review_on": "Enter a date as YYYY-MM-DD, for example 2026-12-01."}),
            ({"kind": "asb", "title": "x" * 201}, {"title": "The title is longer than 200 characters."}),
            ({"kind": "asb", "title": "ok\x00", "summary": "fine\nlines"}, {"title": "Text must not contain NUL characters."}),
            ({"kind": "asb", "title": "ok", "summary": "bad\x07bell"}, None),
            ({"kind": "asb", "title": "ok", "review_on": "bad\x01"}, None)):
        r = b.post("/web/cases/new", data)
        p = page(r)
        assert r.status_code == 400 and p.alerts == ["Please correct the fields marked below."], data
        got = field_errors(p)
        if errors is not None:
            assert got == errors, data
        else:
            assert len(got) == 1 and "control character" in next(iter(got.values())).lower(), got
            assert "\x07" not in r.text and "\x01" not in r.text
    assert p.inputs["title"] == "ok"  # what was typed comes back
    assert site.count(Case) == before
    r = b.post("/web/cases/new", {"kind": "asb", "title": "  New one  ", "summary": " ", "risk": "medium",
                                  "review_on": " 2027-01-31 "})
    assert r.status_code == 303
    with site.sessions() as s:
        c = s.query(Case).order_by(Case.id.desc()).first()
        assert (c.title, c.summary, c.risk, c.review_on, c.kind) == (
            "New one", None, "medium", dt.date(2027, 1, 31), "asb")
    assert r.headers["location"] == f"/web/cases/{c.id}"
    r = b.post("/web/cases/new", {"kind": "asb", "title": "x", "review_on": ""})
    assert r.status_code == 303 and site.count(Case) == before + 2
    r = b.post("/web/cases/new", {"kind": "asb", "title": "forged"}, csrf="not-a-token")
    assert r.status_code == 403 and site.count(Case) == before + 2


def test_opening_a_case_without_a_case_role_is_refused_and_rolled_back(site):
    b = site.browser("analyst.police")
    before = site.count(Case)
    r = b.post("/web/cases/new", {"kind": "asb", "title": "Analyst case"})
    p = page(r)
    assert r.status_code == 400 and p.alerts[0] == "Please correct the fields marked below."
    assert any("caseworker" in a or "coordinator" in a for a in p.alerts[1:]), p.alerts
    assert site.count(Case) == before


# ---------------------------------------------------------------- the case forms

def test_action_form(site):
    cid = site.f.cases["own"]
    b = site.browser("caseworker.police", PURPOSE)
    b.get(f"/web/cases/{cid}")
    before = site.count(Action, case_id=cid)
    for data, errors in (({"title": " ", "due_on": "tomorrow"},
                          {"title": "Say what needs doing.", "due_on": "Enter a date as YYYY-MM-DD, for example 2026-12-01."}),
                         ({"title": "y" * 301}, {"title": "This is 301 characters long; the limit is 300. Shorten it "
                                                          "(what you typed is kept here)."}),
                         ({"title": "ok", "due_on": "2026-01-01\x00"}, {"due_on": "Text must not contain NUL characters."})):
        r = b.post(f"/web/cases/{cid}/actions", data)
        p = page(r)
        assert r.status_code == 400 and field_errors(p) == errors, data
        assert p.h1.startswith(f"Case HUB-{cid:06d}")
    assert p.inputs.get("title") == "ok"
    r = b.post(f"/web/cases/{cid}/actions", {"title": "y" * 300, "due_on": ""})
    assert r.status_code == 303
    assert site.count(Action, case_id=cid) == before + 1
    r = b.post(f"/web/cases/{cid}/actions", {"title": "  Call the school  ", "due_on": "2027-02-03"})
    assert r.status_code == 303 and r.headers["location"] == f"/web/cases/{cid}?done=action#add-action"
    with site.sessions() as s:
        a = s.query(Action).filter_by(case_id=cid).order_by(Action.id.desc()).first()
        assert (a.title, a.due_on) == ("Call the school", dt.date(2027, 2, 3))
    # a case this user cannot open: the 404 page, nothing written
    other = site.f.cases["council"]
    r = b.post(f"/web/cases/{other}/actions", {"title": "sneak"})
    assert r.status_code == 404 and site.count(Action, case_id=other) == 0
    assert f"There is no case {other} you can open." in page(r).text


def test_a_stale_form_keeps_the_text_and_stores_nothing(site):
    cid, pid = site.f.cases["own"], site.f.person
    b = site.browser("caseworker.police", PURPOSE)
    for url, data, kept in ((f"/web/cases/{cid}/actions", {"title": "Kept action"}, "Kept action"),
                            (f"/web/cases/{cid}/notes", {"person_id": str(pid), "kind": "fact", "text": "Kept note"},
                             "Kept note"),
                            (f"/web/cases/{cid}/referrals", {"to_agency_id": "3", "kind": "early_help",
                                                             "reason": "Kept reason", "legal_gateway": "CDA"},
                             "Kept reason"),
                            (f"/web/cases/{cid}/location", {"lat": "53.4", "lon": "-2.9"}, "53.4")):
        r = b.post(url, data, csrf="stale")
        p = page(r)
        assert r.status_code == 403 and C.STALE in p.alerts, url
        assert kept in r.text
    assert site.count(Action, case_id=cid) == 1 and site.count(PersonNote, case_id=cid) == 1
    assert site.count(Referral, case_id=cid) == 1
    # a stale form on a case the user cannot open, or with no session: the plain 403, nothing shown
    other = site.f.cases["council"]
    r = b.post(f"/web/cases/{other}/actions", {"title": "x"}, csrf="stale")
    assert r.status_code == 403 and "security token" in page(r).text and "Council only" not in r.text
    anon = site.browser(None)
    r = anon.post(f"/web/cases/{cid}/actions", {"title": "x"}, csrf="stale")
    assert r.status_code == 403 and "security token" in page(r).text
    anon.get("/web/login")  # a good token from before sign-in: the post goes to the sign-in page
    r = anon.post(f"/web/cases/{cid}/actions", {"title": "x"})
    assert r.status_code == 303 and r.headers["location"] == "/web/login"
    # no purpose yet: the purpose form, nothing written
    nb = site.browser("caseworker.police")
    r = nb.post(f"/web/cases/{cid}/actions", {"title": "no purpose"})
    assert page(r).h1 == "Why do you need this?" and page(r).inputs["next"] == f"/web/cases/{cid}"
    assert site.count(Action, case_id=cid) == 1


def test_note_form(site):
    cid, pid = site.f.cases["own"], site.f.person
    b = site.browser("caseworker.police", PURPOSE)
    for data, errors in (({"person_id": "x", "kind": "rumour", "text": " "},
                          {"person_id": "Choose who the note is about.",
                           "kind": "Say whether the note is a fact or an opinion.", "text": "Write the note."}),
                         ({"person_id": "0", "kind": "fact", "text": "t"}, {"person_id": "Choose who the note is about."}),
                         ({"person_id": str(2**31), "kind": "fact", "text": "t"},
                          {"person_id": "Choose who the note is about."}),
                         ({"person_id": "\u0661", "kind": "fact", "text": "t"},
                          {"person_id": "Choose who the note is about."}),
                         ({"person_id": str(pid), "kind": "fact", "text": "z" * 20_001},
                          {"text": "This is 20,001 characters long; the limit is 20,000. Shorten it (what you "
                                   "typed is kept here)."})):
        r = b.post(f"/web/cases/{cid}/notes", data)
        assert r.status_code == 400 and field_errors(page(r)) == errors, data
    # a person not on this case: the service refuses, the form says so, nothing is kept
    r = b.post(f"/web/cases/{cid}/notes", {"person_id": str(2**31 - 1), "kind": "opinion", "text": "Lost note"})
    p = page(r)
    assert r.status_code == 400 and len(p.alerts) == 1 and "Lost note" in r.text
    assert site.count(PersonNote, case_id=cid) == 1
    r = b.post(f"/web/cases/{cid}/notes", {"person_id": str(pid), "kind": "opinion", "text": " Seemed calm \n"})
    assert r.status_code == 303 and r.headers["location"] == f"/web/cases/{cid}?done=note#notes"
    with site.sessions() as s:
        n = s.query(PersonNote).filter_by(case_id=cid).order_by(PersonNote.id.desc()).first()
        assert (n.kind, n.person_id) == ("opinion", pid)
    assert "Seemed calm" in b.get(f"/web/cases/{cid}").text


def test_referral_form(site):
    f = site.f
    cid = f.cases["own"]
    b = site.browser("caseworker.police", PURPOSE)
    for data, errors in (({"to_agency_id": "", "kind": "x", "reason": "abcd", "legal_gateway": "ab"},
                          {"to_agency_id": "Choose the agency to refer to.", "kind": "Choose the kind of referral.",
                           "reason": "Say in a sentence why you are referring (at least 5 characters).",
                           "legal_gateway": "Name the legal gateway for sharing (for example Crime and Disorder Act "
                                            "1998 s115)."}),
                         ({"to_agency_id": str(f.agencies["fire"]), "kind": "early_help", "reason": "r" * 5001,
                           "legal_gateway": "g" * 201},
                          {"reason": "This is 5,001 characters long; the limit is 5,000. Shorten it (what you typed "
                                     "is kept here).",
                           "legal_gateway": "This is 201 characters long; the limit is 200. Shorten it (what you "
                                            "typed is kept here)."})):
        r = b.post(f"/web/cases/{cid}/referrals", data)
        assert r.status_code == 400 and field_errors(page(r)) == errors, data
    assert site.count(Referral, case_id=cid) == 1
    # to an agency that does not exist: the service's message, nothing stored
    r = b.post(f"/web/cases/{cid}/referrals", {"to_agency_id": "999", "kind": "early_help", "reason": "Needs help",
                                               "legal_gateway": "CDA"})
    assert r.status_code == 400 and len(page(r).alerts) == 1 and site.count(Referral, case_id=cid) == 1
    r = b.post(f"/web/cases/{cid}/referrals", {"to_agency_id": str(f.agencies["fire"]), "kind": "early_help",
                                               "reason": "  Fire safety visit  ", "legal_gateway": " CDA "})
    assert r.status_code == 303
    with site.sessions() as s:
        ref = s.query(Referral).filter_by(case_id=cid).order_by(Referral.id.desc()).first()
        assert (ref.reason, ref.legal_gateway, ref.to_agency_id) == ("Fire safety visit", "CDA", f.agencies["fire"])
    assert r.headers["location"] == f"/web/cases/{cid}?done=referral&sent={ref.id}#refer"


def test_location_form(site):
    cid = site.f.cases["own"]
    b = site.browser("caseworker.police", PURPOSE)
    number = "Enter a number in decimal degrees, for example 53.4049 or -2.9811."
    for data, errors in (({"lat": "53.4"}, {"lon": "Give both latitude and longitude, or neither."}),
                         ({"lon": "-2.9"}, {"lat": "Give both latitude and longitude, or neither."}),
                         ({}, {"ward": "Choose the ward (and type the street if you know it), or give latitude and "
                                       "longitude."}),
                         ({"ward": "  "}, {"ward": "Choose the ward (and type the street if you know it), or give "
                                                   "latitude and longitude."}),
                         ({"lat": "north", "lon": "nan"}, {"lat": number, "lon": number}),
                         ({"lat": "inf", "lon": "-inf"}, {"lat": number, "lon": number}),
                         ({"lat": "5" + "0" * 30, "lon": "1"}, {"lat": number}),
                         ({"lat": "53.4\x00", "lon": "-2.9"}, {"lat": "Text must not contain NUL characters."}),
                         ({"street": "s" * 201, "ward": "E05000886"},
                          {"street": "This is 201 characters long; a street name is at most 200."})):
        r = b.post(f"/web/cases/{cid}/location", data)
        assert r.status_code == 400 and field_errors(page(r)) == errors, data
    r = b.post(f"/web/cases/{cid}/location", {"lat": " 53.4049 ", "lon": "-2.9811"})
    assert r.status_code == 303 and r.headers["location"] == f"/web/cases/{cid}?done=location#location"
    with site.sessions() as s:
        c = s.get(Case, cid)
        assert c.location_id is not None
    p = page(b.get(f"/web/cases/{cid}"))
    assert "Location:" in p.text and "53.4049" in b.get(f"/web/cases/{cid}").text


# ---------------------------------------------------------------- referrals

def test_referral_inbox_and_decisions(site):
    f = site.f
    police = site.browser("caseworker.police", PURPOSE)
    p = page(police.get("/web/referrals"))
    assert p.h1 == "Referrals: Merseyside Police"
    assert [c[:6] for c in p.cells if c and c[0] == f"R{f.referral}"] == [
        [f"R{f.referral}", f"HUB-{f.cases['own']:06d}", "Liverpool Council", "Early help", p.cells[-1][4], "Pending"]]
    assert "No referrals to your agency." in p.text
    council = site.browser("caseworker.council", PURPOSE)
    seq = site.last_seq()
    p = page(council.get("/web/referrals"))
    assert [c[:5] for c in p.cells if c and c[0] == f"R{f.referral}"] == [
        [f"R{f.referral}", f"HUB-{f.cases['own']:06d}", "Merseyside Police", "Early help",
         "Family needs support Gateway: CDA 1998 s115"]]
    assert "None sent." in p.text and {e.purpose for e in site.audit(seq)} == {PURPOSE}
    for data, error in (({"decision": "maybe"}, "Choose accept or decline."),
                        ({"decision": "decline", "reason": "  "},
                         "Give a reason for declining, so the referring agency knows what to do next."),
                        ({"decision": "decline", "reason": "no\x00"}, "Text must not contain NUL characters.")):
        r = council.post(f"/web/referrals/{f.referral}", data)
        p = page(r)
        assert r.status_code == 400 and p.alerts == [error], data
    assert p.inputs["reason"] == "no"
    # police cannot answer their own referral: the service's message
    r = police.post(f"/web/referrals/{f.referral}", {"decision": "accept"})
    assert r.status_code == 400 and len(page(r).alerts) == 1
    with site.sessions() as s:
        assert s.get(Referral, f.referral).status == "pending"
    r = council.post(f"/web/referrals/{f.referral}", {"decision": "decline", "reason": " Not ours "})
    assert r.status_code == 303 and r.headers["location"] == "/web/referrals?flash=declined"
    with site.sessions() as s:
        ref = s.get(Referral, f.referral)
        assert (ref.status, ref.decline_reason) == ("declined", "Not ours")
    assert page(council.get("/web/referrals?flash=declined")).status == ["Referral declined."]
    assert page(council.get("/web/referrals?flash=accepted")).status == [
        "Referral accepted: the case is now shared with your agency."]
    assert page(council.get("/web/referrals?flash=x")).status == []
    r = council.post(f"/web/referrals/{f.referral}", {"decision": "accept"}, csrf="stale")
    assert r.status_code == 403


def test_accepting_a_referral_shares_the_case(site):
    f = site.f
    council = site.browser("caseworker.council", PURPOSE)
    assert council.get(f"/web/cases/{f.cases['own']}").status_code == 404
    r = council.post(f"/web/referrals/{f.referral}", {"decision": "accept", "reason": ""})
    assert r.status_code == 303 and r.headers["location"] == "/web/referrals?flash=accepted"
    with site.sessions() as s:
        ref = s.get(Referral, f.referral)
        assert (ref.status, ref.decline_reason) == ("accepted", None)
    assert council.get(f"/web/cases/{f.cases['own']}").status_code == 200
    p = page(site.browser("caseworker.police", PURPOSE).get(f"/web/cases/{f.cases['own']}"))
    assert f"Referral R{f.referral} accepted" in p.text
    assert "Agencies working it: Liverpool Council, Merseyside Police" in p.text or \
        "Agencies working it: Merseyside Police, Liverpool Council" in p.text


# ---------------------------------------------------------------- the pure helpers

def test_timeline_order_labels_and_counts():
    utc = dt.timezone.utc
    case = {"opened_on": dt.date(2026, 1, 10), "owner": {"name": "Owner"}}
    incidents = [{"month": dt.date(2025, 12, 1), "source": "simulated"}, {"month": dt.date(2025, 12, 1), "source": "x"},
                 {"month": dt.date(2026, 2, 1), "source": "police"}]
    refs = [{"id": 5, "created_at": dt.datetime(2026, 3, 1, 9, tzinfo=utc), "to_agency_id": 2, "kind": "early_help",
             "reason": "why", "responded_at": dt.datetime(2026, 3, 2, 9, tzinfo=utc), "status": "declined",
             "decline_reason": "not ours"},
            {"id": 6, "created_at": dt.datetime(2026, 3, 3, tzinfo=utc), "to_agency_id": 3, "kind": "housing",
             "reason": "r", "responded_at": None, "status": "pending", "decline_reason": None}]
    actions = [{"due_on": dt.date(2026, 4, 5), "status": "open", "created_at": dt.datetime(2026, 1, 11, tzinfo=utc),
                "title": "Act", "overdue": True},
               {"due_on": None, "status": "done", "created_at": None, "title": "Old", "overdue": False}]
    people = {"senders": {5: "Sender"}, "notes": [{"at": dt.datetime(2026, 1, 12, tzinfo=utc), "author": "Au",
                                                   "kind": "fact", "person": "Pat", "text": "note"}]}
    t = C._timeline(case, actions, incidents, refs, {2: "Council", 3: "Fire"}, people)
    assert [x["what"] for x in t] == [
        "Referred to Fire (housing; referral R6)", "Referral R5 declined", "Referred to Council (early help; referral R5)",
        "1 incident linked", "Note (fact) about Pat", "Action added (due 05 Apr 2026; open)",
        "Opened the case", "Action added (no due date; done)", "2 incidents linked"]
    by = {x["what"]: x for x in t}
    assert by["Referral R5 declined"]["who"] == "Council" and by["Referral R5 declined"]["text"] == "not ours"
    assert by["Referred to Council (early help; referral R5)"]["who"] == "Sender"
    assert by["Referred to Fire (housing; referral R6)"]["who"] is None
    assert by["2 incidents linked"]["simulated"] is True and by["1 incident linked"]["simulated"] is False
    assert by["2 incidents linked"]["label"] == "December 2025" and by["Opened the case"]["who"] == "Owner"
    assert by["Action added (due 05 Apr 2026; open)"]["overdue"] is True
    assert by["Action added (no due date; done)"]["at"] == dt.date(2026, 1, 10)
    assert by["Note (fact) about Pat"]["who"] == "Au" and by["Note (fact) about Pat"]["text"] == "note"


def test_number_date_and_length_helpers():
    errors: dict = {}
    assert C._number(" 53.5 ", "lat", errors) == 53.5 and C._number("", "lat", errors) is None
    assert C._number("  ", "lat", errors) is None and errors == {}
    assert C._number("1" * 30, "lat", errors) == float("1" * 30) and errors == {}
    for bad in ("1" * 31, "nan", "inf", "-inf", "x"):
        e: dict = {}
        assert C._number(bad, "lon", e) is None and list(e) == ["lon"], bad
    assert C._date(" 2026-02-03 ", "d", errors) == dt.date(2026, 2, 3) and C._date(" ", "d", errors) is None
    assert errors == {}
    assert C._date("2026-02-30", "d", errors) is None and errors == {"d": "Enter a date as YYYY-MM-DD, for example 2026-12-01."}
    errors = {"title": "first"}
    C._too_long({"title": "x" * 301, "reason": "r" * 5000, "other": "o" * 99999, "text": "t" * 20_001}, errors)
    assert errors["title"] == "first" and "reason" not in errors and "other" not in errors
    assert errors["text"].startswith("This is 20,001 characters long; the limit is 20,000.")


def test_case_forms_refuse_roles_without_case_records_before_the_purpose(site):
    cid = site.f.cases["own"]
    for purpose in (None, PURPOSE):
        b = site.browser("analyst.police", purpose)
        for url, data in ((f"/web/cases/{cid}/actions", {"title": "analyst action"}),
                          (f"/web/cases/{cid}/notes", {"person_id": str(site.f.person), "kind": "fact", "text": "t"}),
                          (f"/web/cases/{cid}/location", {"lat": "53.4", "lon": "-2.9"}),
                          (f"/web/cases/{cid}/referrals", {"to_agency_id": "2", "kind": "early_help",
                                                           "reason": "a reason", "legal_gateway": "CDA"})):
            r = b.post(url, data)
            p = page(r)
            assert r.status_code == 403 and p.h1 == "Not allowed", (purpose, url)
            assert "Your account has no access to case records" in p.text
    assert site.count(Action, case_id=cid) == 1
