"""The missing-episode pages are shells over the services: same need-to-know (a home's staff see
their home only; where found only for the police), the session's purpose logged, no inline script
or style (they must work under a strict CSP)."""

from __future__ import annotations

import re

from sqlalchemy import select

from saferhub.hub.models import AuditEvent

from .conftest import PASSWORD
from .test_missing_api import E, world  # noqa: F401 (the fixture)


def _sign_in(hub, who: str, purpose: str = "checking missing children"):
    c = hub.client
    c.cookies.clear()
    token = c.get("/web/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post("/web/login", data={"email": E(who), "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    ask = c.get("/web/missing")
    assert "Why do you need this?" in ask.text
    token = ask.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post("/web/purpose", data={"purpose": purpose, "next": "/web/missing", "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303
    return c


def _canaries(text):
    return set(re.findall(r"CANARY-([a-z]+-[0-9A-Z]+)", text))


def test_staff_pages_show_their_home_only(hub, world):  # noqa: F811
    c = _sign_in(hub, "staffa", "return home check")
    index = c.get("/web/missing")
    assert index.status_code == 200 and _canaries(index.text) == {"child-1", "home-A"}
    person = c.get(f"/web/missing/people/{world['kids']['1']}")
    assert person.status_code == 200
    assert _canaries(person.text) == {"child-1", "home-A", "episode-1A"}
    assert "episodes from your home only" in person.text
    for url in (f"/web/missing/people/{world['kids']['2']}", f"/web/missing/homes/{world['homes']['B']}"):
        r = c.get(url)
        assert r.status_code == 404 and "CANARY" not in r.text
    home = c.get(f"/web/missing/homes/{world['homes']['A']}")
    assert home.status_code == 200 and "exact Poisson (Garwood)" in home.text
    for r in (index, person, home):
        assert "<script" not in r.text and "style=" not in r.text and "<style" not in r.text
    with hub.sessions() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.purpose == "return home check")).all()
    assert {"missing_person", "missing_home"} <= {r.entity for r in rows}


def test_police_page_shows_where_found_and_council_page_does_not(hub, world):  # noqa: F811
    c = _sign_in(hub, "police")
    text = c.get(f"/web/missing/people/{world['kids']['1']}").text
    assert {"found-1A", "found-1B", "episode-1A", "episode-1B"} <= _canaries(text)
    c = _sign_in(hub, "liverpool")
    text = c.get(f"/web/missing/people/{world['kids']['1']}").text
    assert {"episode-1A", "episode-1B"} <= _canaries(text) and not {"found-1A", "found-1B"} & _canaries(text)
    assert c.get(f"/web/missing/people/{world['kids']['2']}").status_code == 404
