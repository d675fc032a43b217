"""Issue 20 in Chromium at 1366×900 and 390×844: the briefing names places by street, ward and
district (never a bare police.uk snap point or an LSOA code), each with a link that centres the
map on it, and every case in it links to its page; a case is given a location from its page by
street + ward or by latitude/longitude (post/redirect/get, errors keep what was typed, audited).

The ward oracle is brute force: every raw ward polygon of the geo folder (not the simplified
published product the hub reads) is tested for the linked point."""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
from urllib.parse import parse_qs, urlparse

import pytest

from tests.web.conftest import GEO, Session

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

POLICE_CASEWORKER = "caseworker.merseyside-police@demo.saferhub.invalid"
SIZES = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}
BOLD_STREET = (53.4025, -2.9800)  # Bold Street, Liverpool city centre (Riverside ward on the 2013 map)


def _open(browser, live_web, demo_hub, size) -> Session:
    s = Session(browser, live_web)
    s.page.set_viewport_size(SIZES[size])
    s.sign_in(POLICE_CASEWORKER, demo_hub["users"][POLICE_CASEWORKER])
    s.state_purpose()
    return s


def _goto(s: Session, path: str) -> None:
    s.page.goto(f"{s.base}{path}")
    s.page.wait_for_selector("body[data-page-ready=yes]")


def _raw_wards():
    import shapely

    out = []
    for f in sorted((GEO / "uk-geojson" / "wards_by_lad").glob("*.json.gz")):
        for feat in json.loads(gzip.open(f).read())["features"]:
            out.append((feat["properties"]["WD13NM"], shapely.geometry.shape(feat["geometry"])))
    return out


def _ward_at(wards, lat, lon) -> tuple[str, float]:
    """(ward name, distance in degrees to its edge): the brute-force oracle."""
    import shapely

    p = shapely.Point(lon, lat)
    for name, g in wards:
        if g.contains(p):
            return name, g.exterior.distance(p) if g.geom_type == "Polygon" else g.boundary.distance(p)
    return "", 0.0


def _map_point(href: str) -> tuple[float, float]:
    u = urlparse(href)
    assert u.path == "/web/map", href
    q = parse_qs(u.query)
    assert q["zoom"] == ["17"], href
    return float(q["lat"][0]), float(q["lon"][0])


@pytest.mark.parametrize("size", list(SIZES))
def test_briefing_names_places_by_street_and_ward_and_links_them(browser, live_web, demo_hub, size):
    s = _open(browser, live_web, demo_hub, size)
    wards = _raw_wards()
    try:
        p = s.page
        _goto(s, "/web/briefing")
        checked = 0
        for section in ("#incidents", "#hotspots"):
            table = p.locator(f"{section} ~ table.cards").first
            links = table.locator("tbody td[data-label=Place] a")
            assert links.count() > 0, section
            for i in range(links.count()):
                text, href = links.nth(i).inner_text().strip(), links.nth(i).get_attribute("href")
                lat, lon = _map_point(href)
                ward, edge = _ward_at(wards, lat, lon)
                assert ward, (text, href)  # every listed place is in the partnership
                m = re.fullmatch(r"(?:On or near .+, )?(.+) ward \((Knowsley|Liverpool|Sefton|St\. Helens|Wirral)\)",
                                 text)
                assert m, text
                if edge > 0.0003:  # ~20 m: the published boundary is simplified by 10 m
                    assert m.group(1) == ward, (text, ward)
                checked += 1
        assert checked >= 2
        main = p.inner_text("main")
        assert not re.search(r"\bE0[0-9]{7}\b", main)  # no LSOA or ward codes anywhere a person reads
        # every case in the briefing links to its case page
        refs = p.locator("main a", has_text=re.compile(r"^HUB-\d{6}$"))
        assert refs.count() > 0
        for i in range(refs.count()):
            n = int(refs.nth(i).inner_text()[4:])
            assert refs.nth(i).get_attribute("href") == f"/web/cases/{n}"
        assert not re.search(r"(?<!>)HUB-\d{6}", p.evaluate(
            "() => [...document.querySelectorAll('main td, main li')].filter(e => !e.querySelector('a'))"
            ".map(e => e.textContent).join(' ')"))
        if size == "390":
            assert p.evaluate("document.documentElement.scrollWidth") <= 390
        s.shot(f"briefing-places-{size}")
        assert s.outside == [] and s.csp == []
    finally:
        s.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_case_location_set_by_street_and_ward_then_by_coordinates(browser, live_web, demo_hub, size):
    s = _open(browser, live_web, demo_hub, size)
    try:
        p = s.page
        _goto(s, "/web/cases")
        p.locator("table.cards tbody a").first.click()
        p.wait_for_selector("body[data-page-ready=yes] #street")
        cid = int(re.search(r"/web/cases/(\d+)", p.url).group(1))
        # a street that is not in the chosen ward: an error page that keeps what was typed and says where it is
        p.fill("#street", "Bold Street")
        p.select_option("#ward", label="Everton (Liverpool)")
        with p.expect_response(lambda r: r.request.method == "POST") as resp:
            p.click("button:has-text('Set location')")
        assert resp.value.status == 400
        p.wait_for_selector("body[data-page-ready=yes]")
        err = p.inner_text("#location ~ p.err, p.err")
        assert "Everton ward (Liverpool)" in err and "Riverside (Liverpool)" in err, err
        assert p.input_value("#street") == "Bold Street"
        assert p.locator("#ward option:checked").inner_text() == "Everton (Liverpool)"
        # the right ward: post/redirect/get, named and linked on the case page
        p.select_option("#ward", label="Riverside (Liverpool)")
        p.click("button:has-text('Set location')")
        p.wait_for_url(re.compile(r"done=location"))
        p.wait_for_selector("body[data-page-ready=yes]")
        link = p.locator(".case-place a")
        assert link.inner_text() == "On or near Bold Street, Riverside ward (Liverpool)"
        lat, lon = _map_point(link.get_attribute("href"))
        assert abs(lat - BOLD_STREET[0]) < 0.003 and abs(lon - BOLD_STREET[1]) < 0.004, (lat, lon)
        p.reload()  # the redirect's GET: a reload posts nothing
        p.wait_for_selector("body[data-page-ready=yes]")
        with sqlite3.connect(demo_hub["url"].removeprefix("sqlite:///")) as con:
            locs = con.execute("SELECT count(*) FROM locations WHERE description = ?",
                               ("On or near Bold Street, Riverside ward (Liverpool)",)).fetchone()[0]
            row = con.execute("SELECT location_id FROM cases WHERE id = ?", (cid,)).fetchone()
            audit = con.execute("SELECT action, entity, entity_ids, detail FROM audit_events "
                                "ORDER BY seq DESC LIMIT 20").fetchall()
        assert locs >= 1 and row[0] is not None
        assert any(a == "create" and e == "location" and str(row[0]) in ids for a, e, ids, _ in audit), audit
        assert any(a == "update" and e == "case" and str(cid) in ids and f'"location_id": {row[0]}' in d
                   for a, e, ids, d in audit), audit
        # bad coordinates: kept, with the reason at the field
        p.fill("#street", "")
        p.select_option("#ward", value="")
        p.fill("#lat", "53.4x")
        p.fill("#lon", "-2.98")
        p.click("button:has-text('Set location')")
        p.wait_for_selector("body[data-page-ready=yes] #lat-error")
        assert p.input_value("#lat") == "53.4x" and p.input_value("#lon") == "-2.98"
        # coordinates: named by the ward they fall in (Liverpool Town Hall is in Central ward)
        p.fill("#lat", "53.4070")
        p.fill("#lon", "-2.9916")
        p.click("button:has-text('Set location')")
        p.wait_for_url(re.compile(r"done=location"))
        p.wait_for_selector("body[data-page-ready=yes]")
        assert p.locator(".case-place a").inner_text().endswith("Central ward (Liverpool)")
        assert _map_point(p.locator(".case-place a").get_attribute("href")) == (53.407, -2.9916)
        if size == "390":
            assert p.evaluate("document.documentElement.scrollWidth") <= 390
        s.shot(f"case-location-{size}")
        assert s.outside == [] and s.csp == []
    finally:
        s.close()
