"""Issue 20, web forms the API had and the web lacked, in Chromium at 1366×900 and 390×844:
recording a missing-from-care episode on the missing person's page (police, the council, the
home's staff: the API's rule), and a coordinator publishing a plan's "you said, we did" summary
on its page (PUT /plans/{id}/public's rule). Post/redirect/get; a form that cannot be taken comes
back with what was typed; only those allowed see the form. Known answers from the hub's tables."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from tests.web.conftest import Session

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

INSPECTOR = "coordinator.merseyside-police@demo.saferhub.invalid"
POLICE_CASEWORKER = "caseworker.merseyside-police@demo.saferhub.invalid"
SIZES = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}


def _open(browser, live_web, demo_hub, email, size) -> Session:
    s = Session(browser, live_web)
    s.page.set_viewport_size(SIZES[size])
    s.sign_in(email, demo_hub["users"][email])
    s.state_purpose()
    return s


def _ready(p) -> None:
    p.wait_for_selector("body[data-page-ready=yes]")


def _db(demo_hub):
    return sqlite3.connect(demo_hub["url"].removeprefix("sqlite:///"))


def _missing_child(demo_hub, size) -> tuple[int, int]:
    """A simulated child in a simulated home, registered by the police coordinator (the service)."""
    from saferhub.hub import services
    from saferhub.hub.db import make_engine, session_factory
    from saferhub.hub.models import User

    engine = make_engine(demo_hub["url"])
    with session_factory(engine)() as db:
        boss = db.query(User).filter_by(email=INSPECTOR).one()
        home = services.missing.create_home(db, boss, kind="care_home", name=f"Simulated home (form test {size})",
                                            places=3, simulated=True)
        mp = services.missing.create_missing_person(db, boss, home_id=home["id"], in_care=True, given_name="Simulated",
                                                    family_name=f"form child {size}", simulated=True)
        db.commit()
    engine.dispose()
    return mp["id"], home["id"]


@pytest.mark.parametrize("size", list(SIZES))
def test_record_a_missing_episode_from_the_web(browser, live_web, demo_hub, size):
    mp, home = _missing_child(demo_hub, size)
    s = _open(browser, live_web, demo_hub, POLICE_CASEWORKER, size)
    try:
        p = s.page
        p.goto(f"{s.base}/web/missing/people/{mp}")
        _ready(p)
        assert p.locator("#home_id option:checked").inner_text() == f"Simulated home (form test {size})"
        assert p.locator("#risk").count() == 1  # the police grade risk
        # no time: refused at the field, nothing stored, the choice kept
        p.select_option("#risk", "medium")
        with p.expect_response(lambda r: r.request.method == "POST") as resp:
            p.click("button:has-text('Record episode')")
        assert resp.value.status == 400
        _ready(p)
        assert "when the child was reported missing" in p.inner_text("#reported_at-error")
        assert p.input_value("#risk") == "medium"
        # returned before reported: the service's refusal, with what was typed
        p.fill("#reported_at", "2026-12-01T22:15")
        p.fill("#returned_at", "2026-12-01T20:00")
        p.click("button:has-text('Record episode')")
        _ready(p)
        assert "returned_at is before reported_at" in p.inner_text("p.err")
        assert p.input_value("#reported_at") == "2026-12-01T22:15"
        with _db(demo_hub) as con:
            assert con.execute("SELECT count(*) FROM missing_episodes WHERE missing_person_id = ?", (mp,)).fetchone()[0] == 0
        p.fill("#returned_at", "2026-12-02T09:30")
        p.click("button:has-text('Record episode')")
        p.wait_for_url(re.compile(r"done=episode"))
        _ready(p)
        p.reload()  # the redirect's GET: nothing posted again
        _ready(p)
        with _db(demo_hub) as con:
            rows = con.execute("SELECT id, home_id, reported_at, returned_at, risk FROM missing_episodes "
                               "WHERE missing_person_id = ?", (mp,)).fetchall()
            logged = con.execute("SELECT entity_ids, detail FROM audit_events WHERE action = 'create' AND "
                                 "entity = 'missing_episode' ORDER BY seq DESC LIMIT 1").fetchone()
        assert len(rows) == 1 and rows[0][1] == home and rows[0][4] == "medium"
        assert rows[0][2].startswith("2026-12-01 22:15") and rows[0][3].startswith("2026-12-02 09:30")
        assert logged[0] == str(rows[0][0]) and json.loads(logged[1])["missing_person_id"] == mp
        body = p.inner_text("#episodes ~ table")
        assert "01 Dec 2026" in body or "1 Dec 2026" in body, body
        if size == "390":
            assert p.evaluate("document.documentElement.scrollWidth") <= 390
        s.shot(f"missing-episode-{size}")
        assert s.outside == [] and s.csp == []
    finally:
        s.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_coordinator_publishes_a_plan_and_a_caseworker_is_not_offered_the_form(browser, live_web, demo_hub,
                                                                                  size):
    s = _open(browser, live_web, demo_hub, INSPECTOR, size)
    try:
        p = s.page
        p.goto(f"{s.base}/web/plans")
        _ready(p)
        href = p.locator("main a[href^='/web/plans/']").first.get_attribute("href")
        pid = int(href.rsplit("/", 1)[1])
        p.goto(f"{s.base}{href}")
        _ready(p)
        title = f"Street drinking on Bold Street ({size})"
        p.fill("#pub-title", title)
        p.fill("#pub-done", "Evening patrols and a designated area order.")
        p.fill("#pub-outcome", "")
        with p.expect_response(lambda r: r.request.method == "POST") as resp:
            p.click("button[name=public][value=yes]")
        assert resp.value.status == 400
        _ready(p)
        assert "the outcome" in p.inner_text("#pub-outcome-error")
        assert p.input_value("#pub-title") == title  # kept
        p.fill("#pub-outcome", "Calls about drinking fell by a third.")
        p.click("button[name=public][value=yes]")
        p.wait_for_url(re.compile(r"done=published"))
        _ready(p)
        assert f"as “{title}”" in p.inner_text("#publish ~ p, #publish + p")
        with _db(demo_hub) as con:
            public, summary = con.execute("SELECT public, public_summary FROM plans WHERE id = ?", (pid,)).fetchone()
        assert public == 1 and json.loads(summary)["title"] == title
        s.shot(f"plan-publish-{size}")
        # withdraw again (the shared demo hub stays as the other tests expect)
        p.click("button[name=public][value=no]")
        p.wait_for_url(re.compile(r"done=withdrawn"))
        with _db(demo_hub) as con:
            assert con.execute("SELECT public FROM plans WHERE id = ?", (pid,)).fetchone()[0] == 0
        assert s.outside == [] and s.csp == []
    finally:
        s.close()
    c = _open(browser, live_web, demo_hub, POLICE_CASEWORKER, size)
    try:
        c.page.goto(f"{c.base}/web/plans/{pid}")
        _ready(c.page)
        if c.page.locator("#publish").count():  # the plan is theirs to read: shown its state, not the form
            assert c.page.locator("form[action$='/public']").count() == 0
        assert c.outside == [] and c.csp == []
    finally:
        c.close()
