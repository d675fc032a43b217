"""Issue 23, every force's layers on the web map, in Debian's Chromium at 1366x900 and 390x844: a
small SYNTHETIC national store (the small real Liverpool store replayed as three forces) run with
`national(..., layers=True)` like `saferhub national run --layers`, its products put beside this
force's own in the web store. The force chooser names forces plainly and marks the synthetic ones
simulated; choosing one draws its published blocks, fitted to its hot cells, with its name in the
legend and the popups; `?force=` opens on it; the national overview draws one circle a force with
the national table's figures. Waits on the page's ready marks; zero requests beyond 127.0.0.1.
Screenshots: test-artifacts/web/map-national-<size>.png, map-national-overview-<size>.png."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from find_helpers import small_store  # noqa: F401

from tests.web.conftest import Session
from tests.web.test_map_offline_browser import INSPECTOR, JARGON, SIZES, _click_near_centre, _hot_boxes

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
FORCES = ["synthetic-01", "synthetic-02", "synthetic-03"]
CIRCLES = "#map path.leaflet-interactive[fill='#d95f02']"  # the overview's circles


@pytest.fixture(scope="module")
def national_layers(small_store, web_store, published, tmp_path_factory):  # noqa: F811
    """The three forces' layers and the national table, published into the web store."""
    from saferhub.national.runner import national
    from saferhub.national.synthetic import synthesize
    from saferhub.query import EventQuery, UnitSpec

    nat = tmp_path_factory.mktemp("web-national") / "store"
    synthesize(small_store, nat, forces=3, months="2020-01:2020-12", fraction=0.5, seed=7)
    r = national(EventQuery(store=nat, categories="grip"), UnitSpec(cell_size=250), workers=0, layers=True)
    assert r.failures == {} and list(r.table["force"]) == FORCES
    for p in (nat / "products").glob("national-*"):
        shutil.copy(p, web_store / "products" / p.name)
    cat = json.loads((web_store / "products" / "national-map-layers.json").read_text())["layers"]
    return {"table": r.table.set_index("force"), "layers": {(e["force"], e["method"]): e for e in cat}}


def _open(browser, live_web, demo_hub, size, path="/web/map", ready="body[data-hotspots-drawn][data-boundaries-drawn]"):
    s = Session(browser, live_web)
    s.page.set_viewport_size(SIZES[size])
    s.sign_in(INSPECTOR, demo_hub["users"][INSPECTOR])
    s.page.goto(f"{s.base}{path}")
    s.page.wait_for_selector(ready, timeout=30000)
    return s


def _features(web_store, name):
    return json.loads((web_store / "products" / f"{name}.geojson").read_text())["features"]


def _drawn_force(page, force):
    """Wait until the cells drawn are `force`'s ("" for this force's own layers)."""
    try:
        page.wait_for_function("f => document.body.dataset.hotspotsForce === f", arg=force, timeout=30000)
    except Exception:
        raise AssertionError(f"waiting for {force!r}: {page.evaluate('JSON.stringify(document.body.dataset)')}") from None


def _map_box(page):
    return page.eval_on_selector("#map", "e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }")


@pytest.mark.parametrize("size", list(SIZES))
def test_choosing_a_force_draws_its_layer_fitted_named_and_marked_simulated(browser, live_web, demo_hub, web_store,
                                                                            national_layers, size):
    s = _open(browser, live_web, demo_hub, size)
    try:
        page = s.page
        _drawn_force(page, "")  # this force's own layers first, as before
        options = page.eval_on_selector_all("#force option", "os => os.map(o => [o.value, o.textContent.trim()])")
        assert options == [["", "This force (layers from saferhub publish)"]] + [
            [f, f"Synthetic force {f[-2:]} (simulated)"] for f in FORCES]
        page.select_option("#force", "synthetic-02")
        _drawn_force(page, "synthetic-02")
        entry = national_layers["layers"][("synthetic-02", "gistar")]
        factor = int(page.get_attribute("body", "data-hotspots-factor"))
        name = entry["name"] if factor == 1 else next(x["name"] for x in entry["levels"] if x["factor"] == factor)
        feats = _features(web_store, name)
        assert page.get_attribute("body", "data-hotspots-drawn") == str(len(feats))
        # fitted to the force's hot cells: every hot square inside the map, at least 8 px across
        hot, m = _hot_boxes(s), _map_box(page)
        assert len(hot) == sum(f["properties"]["gi_bin"] > 0 for f in feats) > 0
        assert all(l >= m[0] - 1 and t >= m[1] - 1 and r <= m[2] + 1 and b <= m[3] + 1 for l, t, r, b in hot)
        assert min(r - l for l, t, r, b in hot) >= 8
        legend = page.inner_text("#legend")
        assert "Synthetic force 02 (simulated)" in legend and "Hot spot, 99% confidence" in legend
        assert "Simulated" in page.inner_text("#force-note")
        assert page.inner_text("#layer-note").startswith("Synthetic force 02 (simulated): published ")
        s.shot(f"map-national-{size}")
        text = _click_near_centre(page)
        assert "Synthetic force 02 (simulated)" in text and re.search(r"Hot spot|hot spot square", text), text
        assert not JARGON.search(text), text
        # the forecast layer of the same force
        page.select_option("#method", "forecast")
        page.wait_for_function("() => document.querySelector('#legend').innerText.includes('Forecast for')")
        assert national_layers["layers"][("synthetic-02", "forecast")]["target_month"] in page.inner_text("#legend")
        assert "Synthetic force 02 (simulated)" in page.inner_text("#legend")
        # back to this force's own (it published no forecast here: the page says so, and Gi* draws)
        page.select_option("#force", "")
        page.wait_for_function("() => document.querySelector('#layer-note').innerText.includes('not been published')")
        page.select_option("#method", "gistar")
        _drawn_force(page, "")
        assert "simulated" not in page.inner_text("#legend")
        assert s.outside == [] and s.csp == []
    finally:
        s.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_force_link_opens_on_it_and_the_overview_shows_every_force(browser, live_web, demo_hub, national_layers, size):
    s = _open(browser, live_web, demo_hub, size, "/web/map?force=synthetic-03")
    try:
        page = s.page
        _drawn_force(page, "synthetic-03")
        assert page.input_value("#force") == "synthetic-03" and page.get_attribute("body", "data-view") == "hot spots"
        page.check("#show-overview")
        page.wait_for_selector("body[data-overview-drawn='3']")
        assert "overview" in page.get_attribute("body", "data-legend").split()
        circles = page.eval_on_selector_all(CIRCLES, "els => els.map(e => e.getBoundingClientRect().width)")
        assert len(circles) == 3
        # each labelled with the share of its force's crime in its hot-spot squares
        shares = sorted(f"{100 * v:.0f}%" for v in national_layers["table"]["crime_in_hot_cells"])
        assert sorted(page.eval_on_selector_all(".maplabel-overview", "els => els.map(e => e.textContent)")) == shares
        s.shot(f"map-national-overview-{size}")
        # a force's circle: its national-table figures and a link that opens the map on it
        row = national_layers["table"].loc["synthetic-01"]
        share = f"{100 * row['crime_in_hot_cells']:.1f}".removesuffix(".0") + "%"
        text = ""
        for i in range(3):
            page.evaluate("""([sel, i]) => { const e = document.querySelectorAll(sel)[i],
                r = e.getBoundingClientRect();
                e.dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: (r.left + r.right) / 2, clientY: (r.top + r.bottom) / 2})); }""", [CIRCLES, i])
            # wait for THIS circle's popup: the previous one is still open until it is replaced, and
            # reading (or clicking a link in) the old one under load picked the wrong force
            page.wait_for_function("""prev => { const e = document.querySelector('.leaflet-popup-content');
                return e !== null && e.innerText !== prev; }""", arg=text, timeout=30000)
            text = page.inner_text(".leaflet-popup-content")
            if "Synthetic force 01 (simulated)" in text:
                break
        assert f"{int(row['hot_cells']):,} of {int(row['cells']):,}" in text and share in text, (text, share)
        # follow the link of THIS force's popup, by the link's own activation: on a phone the popup pans
        # the map into view, and a mouse click aimed while it moved missed the link (the page stayed put)
        link = page.locator(".leaflet-popup-content", has_text="Synthetic force 01 (simulated)").locator("a")
        assert link.get_attribute("href") == "/web/map?force=synthetic-01"
        with page.expect_navigation(timeout=30000):
            link.evaluate("a => a.click()")
        _drawn_force(page, "synthetic-01")
        assert page.url.endswith("/web/map?force=synthetic-01") and page.input_value("#force") == "synthetic-01"
        assert s.outside == [] and s.csp == []
    finally:
        s.close()


def test_an_unknown_force_opens_this_forces_own_layers(browser, live_web, demo_hub, national_layers):
    s = _open(browser, live_web, demo_hub, "1366", "/web/map?force=%3Cscript%3E")
    try:
        _drawn_force(s.page, "")
        assert s.page.input_value("#force") == "" and s.outside == [] and s.csp == []
    finally:
        s.close()
