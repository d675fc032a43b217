"""The problem-premises layer on the web map (saferhub places rank publishes it)."""

from __future__ import annotations

import json

import pytest

from tests.web.conftest import GEO, MONTHS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

INSPECTOR = "coordinator.merseyside-police@demo.saferhub.invalid"


def test_map_draws_problem_premises(signed_in, web_store):
    from saferhub.places import service

    service.build_facility_register(store=web_store, months=MONTHS, geo_dir=GEO)
    ranked = service.rank(store=web_store, months=MONTHS)
    service.publish_rank(ranked, store=web_store)
    layer = json.loads((web_store / "products" / f"{service.LAYER}.geojson").read_text())
    flagged = sum(bool(f["properties"]["flagged"]) for f in layer["features"])
    assert flagged > 0
    s = signed_in(INSPECTOR)
    s.page.goto(f"{s.base}/web/map")
    s.page.check("#show-places")
    s.page.wait_for_selector("body[data-places-drawn]", timeout=20000)
    assert s.page.get_attribute("body", "data-places-drawn") == str(len(layer["features"]))
    red = s.page.locator("#map path[fill='#d62f27']")
    assert red.count() == flagged
    red.first.dispatch_event("click")  # not a click at its centre (flaky)
    text = s.page.wait_for_selector(".leaflet-popup-content").inner_text()
    assert "times its class's average" in text and "not an address" in text
    s.shot("map-places")
    s.page.uncheck("#show-places")
    assert s.page.locator("#map path[fill='#d62f27']").count() == 0
    assert s.outside == []
