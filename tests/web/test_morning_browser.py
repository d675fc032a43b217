"""Issue 20 in Chromium at 1366×900 and 390×844: the briefing's summary first (each figure a link to
its section), the age of the data said plainly, tables as cards on a phone with no sideways
scrolling; a case page whose forms redirect (a reload adds nothing) and whose timeline has times
and authors; sign-in that returns to the deep link, fragment included. Screenshots go to
test-artifacts/web/ (briefing-1366, briefing-390, case-1366, case-390)."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.web.conftest import Session

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

POLICE_CASEWORKER = "caseworker.merseyside-police@demo.saferhub.invalid"
YOUTH_CASEWORKER = "caseworker.youth-justice@demo.saferhub.invalid"
SIZES = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}


def _open(browser, live_web, demo_hub, email, size) -> Session:
    s = Session(browser, live_web)
    s.page.set_viewport_size(SIZES[size])
    s.sign_in(email, demo_hub["users"][email])
    s.state_purpose()
    return s


@pytest.mark.parametrize("size", list(SIZES))
def test_briefing_summary_first_and_readable_on_a_phone(browser, live_web, demo_hub, size):
    s = _open(browser, live_web, demo_hub, POLICE_CASEWORKER, size)
    try:
        p = s.page
        assert p.url.endswith("/web/briefing")
        tiles = p.locator("ul.tiles li a")
        hrefs = [tiles.nth(i).get_attribute("href") for i in range(tiles.count())]
        assert hrefs == ["#incidents", "#referrals", "#actions", "#reviews", "#dosage"]
        for h in hrefs:
            assert p.locator(h).count() == 1  # every figure links to its section
        # the summary sits in the first screen, above every section
        assert p.locator("ul.tiles").bounding_box()["y"] < p.locator("#incidents").bounding_box()["y"]
        assert p.locator("ul.tiles").bounding_box()["y"] < SIZES[size]["height"]
        text = p.inner_text("ul.tiles")
        assert re.search(r"usual for a (Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|no incidents "
                         r"recorded in the same hours", text), text
        body = p.inner_text("main")
        # the published hotspots are from 2020 (three months): said plainly, with the months
        assert re.search(r"police\.uk crime data for October 2020 to December 2020: \d+ years?( \d+ months?)? "
                         r"before this briefing", body), body[:800]
        for jargon in ("Adjusted p", "z 3.", "asb_case_review_threshold", "X-Purpose", "hours left"):
            assert jargon not in body
        # the referral's age is shown
        assert re.search(r"Waiting\s*:?\s*\d+ (day|hour)", body) or "Overdue (waiting more than 5 days): 0" in body
        if size == "390":
            assert p.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
            assert p.evaluate("getComputedStyle(document.querySelector('table.cards tr')).display") == "block"
            assert p.evaluate("getComputedStyle(document.querySelector('table.cards thead')).position") == "absolute"
            header = p.locator("header.top").bounding_box()
            assert header["width"] <= 390
        tiles.nth(1).click()
        p.wait_for_url("**#referrals")
        s.shot(f"briefing-{size}")
        assert s.outside == [] and s.csp == []
    finally:
        s.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_case_page_forms_redirect_and_a_reload_adds_nothing(browser, live_web, demo_hub, size):
    s = _open(browser, live_web, demo_hub, POLICE_CASEWORKER, size)
    try:
        p = s.page
        p.goto(f"{s.base}/web/cases")
        p.locator("table.cards tbody a").first.click()
        p.wait_for_selector("#action-title")
        cid = int(re.search(r"/web/cases/(\d+)", p.url).group(1))
        title = f"Browser action {size} no due date"
        p.fill("#action-title", title)
        p.click("button:has-text('Add action')")
        p.wait_for_selector("p.flash:has-text('Action added.')")
        assert "/web/cases/" in p.url and "done=action" in p.url
        p.reload()
        p.wait_for_selector("p.flash")
        with sqlite3.connect(demo_hub["url"].removeprefix("sqlite:///")) as con:
            n = con.execute("SELECT count(*) FROM actions WHERE case_id = ? AND title = ?", (cid, title)).fetchone()[0]
        assert n == 1  # the reload repeated the GET, not the POST
        # the new action is at the top of the timeline (dated now, not the case's 2020 opening)
        first = p.locator("ol.timeline li").first.inner_text()
        assert title in first and "Action added (no due date" in first
        if size == "390":
            assert p.evaluate("document.documentElement.scrollWidth") <= 390
        s.shot(f"case-{size}")
        assert s.outside == [] and s.csp == []
    finally:
        s.close()


def test_sign_in_returns_to_the_deep_link_with_its_fragment(browser, live_web, demo_hub):
    with sqlite3.connect(demo_hub["url"].removeprefix("sqlite:///")) as con:
        rid = con.execute("SELECT r.id FROM referrals r JOIN users u ON u.agency_id = r.to_agency_id "
                          "WHERE u.email = ? ORDER BY r.id LIMIT 1", (YOUTH_CASEWORKER,)).fetchone()[0]
    s = Session(browser, live_web)
    try:
        p = s.page
        p.set_viewport_size(SIZES["390"])
        p.goto(f"{live_web}/web/referrals#referral-{rid}")
        p.wait_for_selector("#login-form")
        assert p.evaluate("document.documentElement.clientWidth") == 390  # the viewport meta: not 980 px wide
        assert p.input_value("#next") == f"/web/referrals#referral-{rid}"
        p.fill("#email", YOUTH_CASEWORKER)
        p.fill("#password", "not the password")
        p.click("button:has-text('Sign in')")
        p.wait_for_selector("p.err")
        assert p.input_value("#email") == YOUTH_CASEWORKER  # kept after a failed attempt
        p.fill("#password", demo_hub["users"][YOUTH_CASEWORKER])
        p.click("button:has-text('Sign in')")
        p.wait_for_selector("input#purpose")
        s.state_purpose()
        p.wait_for_selector(f"#referral-{rid}")
        assert p.url.endswith(f"/web/referrals#referral-{rid}")
        assert s.outside == [] and s.csp == []
    finally:
        s.close()


@pytest.mark.parametrize("path", ["/web/briefing", "/web/cases", "/web/referrals", "/web/cases/first", "/web/login"])
def test_no_serious_accessibility_violations_on_a_phone(browser, live_web, demo_hub, path):
    from tests.web.test_pages_browser import _axe

    s = _open(browser, live_web, demo_hub, POLICE_CASEWORKER, "390")
    try:
        p = s.page
        if path == "/web/cases/first":
            p.goto(f"{s.base}/web/cases")
            p.locator("table.cards tbody a").first.click()
            p.wait_for_selector("#action-title")
        elif path == "/web/login":
            p.context.clear_cookies()
            p.goto(f"{s.base}/web/login")
            p.wait_for_selector("#login-form")
        else:
            p.goto(f"{s.base}{path}")
            p.wait_for_load_state("load")
        assert _axe(p) == []
        assert p.evaluate("document.documentElement.scrollWidth") <= 390, path
        assert s.outside == [] and s.csp == []
    finally:
        s.close()
