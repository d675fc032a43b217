"""axe-core (vendored, tests/web/vendor/axe-core) on every /web page at 1366×900 and 390×844: no
serious or critical WCAG 2 A/AA violation, every form field labelled, zero outside requests. The
map page is tested in test_pages_browser (its script belongs to the map work)."""

from __future__ import annotations

import pytest

from tests.web.conftest import Session
from tests.web.test_pages_browser import _axe

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

POLICE_CASEWORKER = "caseworker.merseyside-police@demo.saferhub.invalid"
INSPECTOR = "coordinator.merseyside-police@demo.saferhub.invalid"
ADMIN = "admin@hub.example"
SIZES = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}
PAGES = {  # name -> (who, path; "{case}", "{plan}", "{mp}", "{home}" filled in)
    "sign-in": (None, "/web/login"),
    "briefing": (POLICE_CASEWORKER, "/web/briefing"),
    "cases": (POLICE_CASEWORKER, "/web/cases"),
    "case": (POLICE_CASEWORKER, "/web/cases/{case}"),
    "case-new": (POLICE_CASEWORKER, "/web/cases/new"),
    "referrals": (POLICE_CASEWORKER, "/web/referrals"),
    "plans": (INSPECTOR, "/web/plans"),
    "plan": (INSPECTOR, "/web/plans/{plan}"),
    "reports": (POLICE_CASEWORKER, "/web/reports"),
    "audit": (ADMIN, "/web/admin/audit"),
    "users": (ADMIN, "/web/admin/users"),
    "missing": (POLICE_CASEWORKER, "/web/missing"),
    "missing-person": (POLICE_CASEWORKER, "/web/missing/people/{mp}"),
    "missing-home": (POLICE_CASEWORKER, "/web/missing/homes/{home}"),
}


@pytest.fixture(scope="module")
def ids(demo_hub) -> dict:
    """A case the police caseworker opens, a plan the coordinator opens, and a simulated missing child."""
    from sqlalchemy import select

    from saferhub.hub import services
    from saferhub.hub.db import make_engine, session_factory
    from saferhub.hub.models import User

    engine = make_engine(demo_hub["url"])
    with session_factory(engine)() as db:
        cw = db.scalars(select(User).where(User.email == POLICE_CASEWORKER)).one()
        boss = db.scalars(select(User).where(User.email == INSPECTOR)).one()
        case = services.list_cases(db, cw, "accessibility check", limit=1)[0]["id"]
        plan = services.list_plans(db, boss, "accessibility check")[0]["id"]
        home = services.missing.create_home(db, boss, kind="care_home", name="Simulated home (axe)", places=2,
                                            simulated=True)
        mp = services.missing.create_missing_person(db, boss, home_id=home["id"], in_care=True,
                                                    given_name="Simulated", family_name="axe child", simulated=True)
        db.commit()
    engine.dispose()
    return {"case": case, "plan": plan, "mp": mp["id"], "home": home["id"]}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violations_on_any_page(browser, live_web, demo_hub, ids, name, size):
    who, path = PAGES[name]
    s = Session(browser, live_web)
    s.page.set_viewport_size(SIZES[size])
    try:
        if who:
            s.sign_in(who, demo_hub["users"][who])
            s.state_purpose("accessibility check")
        s.page.goto(s.base + path.format(**ids))
        s.page.wait_for_selector("body[data-page-ready=yes]")
        assert s.page.url.split("?")[0].endswith(path.format(**ids)), s.page.url
        assert _axe(s.page) == [], name
        unlabelled = s.page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.outerHTML)""")
        assert unlabelled == [], name
        if size == "390":
            assert s.page.evaluate("document.documentElement.scrollWidth") <= 390, name
        assert s.outside == [] and s.csp == []
    finally:
        s.close()
