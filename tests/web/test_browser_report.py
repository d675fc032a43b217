"""Checked as a person would: in a real browser (Debian's chromium, driven by Playwright).

- a hotspot report opens offline: no request leaves the file, the map image renders.
(The hub's pages are checked in test_pages_browser.py.)
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


def _offline_page(browser):
    """A page that records and refuses every request that is not local to the file itself."""
    page = browser.new_page()
    outside: list[str] = []

    def guard(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", guard)
    return page, outside


def test_hotspot_report_opens_offline_with_its_map(browser, merseyside_store, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from saferhub.cli import app

    report = tmp_path / "hotspots.html"
    monkeypatch.setenv("SAFERHUB_STORE", str(merseyside_store))
    r = CliRunner().invoke(app, ["hotspots", "--method", "gistar", "--categories", "grip", "--months",
                                 "2020-01:2020-06", "--cell-size", "250", "--report", str(report)])
    assert r.exit_code == 0, r.output
    page, outside = _offline_page(browser)
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert outside == [], f"the report asked the network for {outside}"
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.alt])")
    assert images, "the report has no map image"
    assert all(done and width > 200 for done, width, _ in images), images
    text = page.inner_text("body")
    assert "Hot spot, 99% confidence" in text and "Open Government Licence" in text
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
