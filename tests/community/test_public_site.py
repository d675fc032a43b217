"""The public site end to end on the real Merseyside data: every ward's page, a static export
that opens offline with no broken links and zero external requests, axe-core clean, pages that
need no sign-in, and a privacy scan for personal data seeded into the hub."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from .conftest import APPROVED, SECRETS

pytestmark = pytest.mark.slow  # one publish of all 111 wards over the real store (~20-60 s)
AXE = Path(__file__).resolve().parents[1] / "web" / "vendor" / "axe-core" / "axe.min.js"


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src") and v:
                self.refs.append(v)


def _refs(html: str) -> list[str]:
    p = _Refs()
    p.feed(html)
    return p.refs


def test_every_ward_is_exported_and_every_link_resolves(public_site):
    site = public_site["site"]
    pages = sorted(site.glob("*.html"))
    assert public_site["summary"]["wards"] == 111 and len(pages) == 111 + 2  # wards, index, survey
    external, broken = [], []
    for page in pages:
        for ref in _refs(page.read_text()):
            if ref.startswith("#"):
                continue
            if re.match(r"^[a-z]+:", ref):
                external.append((page.name, ref))  # only the how-to-report links may leave the site
                continue
            if not (site / ref.split("#")[0]).is_file():
                broken.append((page.name, ref))
    assert broken == []
    assert {r for _, r in external} <= {"https://www.merseyside.police.uk/ro/report/", "https://crimestoppers-uk.org/"}
    summary = pd.read_csv(site / "csv" / "neighbourhoods.csv")
    assert len(summary) == 111 and summary["crimes_last_12_months"].dropna().mod(5).eq(0).all()
    assert (summary["crimes_last_12_months"].dropna() >= 10).all()
    assert set(summary["crime_change_called"]) <= {"up", "down", "no clear change", "too few to tell"}
    assert (site / "charts" / "liverpool-anfield-trend.png").stat().st_size > 5000
    for short in site.glob("posts/*-short.txt"):
        assert len(short.read_text().strip()) <= 280


def test_static_site_offline_no_external_requests_and_axe_clean(public_site, browser):
    site = public_site["site"]
    outside, failed = [], []
    page = browser.new_page()
    try:
        page.on("request", lambda r: None if r.url.startswith("file://") else outside.append(r.url))
        # the pages have no scripts; axe-core itself fetches stylesheets, which file:// refuses
        page.on("requestfailed", lambda r: None if r.resource_type in ("fetch", "xhr") else failed.append(r.url))
        for name in ("index.html", "liverpool-anfield.html", "survey.html"):
            page.goto((site / name).as_uri())
            page.wait_for_load_state("load")
            broken_images = page.evaluate("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
            assert broken_images == [], name
            page.add_script_tag(content=AXE.read_text())
            violations = page.evaluate("""async () => {
                const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}});
                return r.violations.filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id + ' ' + v.nodes[0].target);
            }""")
            assert violations == [], (name, violations)
        page.goto((site / "index.html").as_uri())
        page.click("text=Anfield")
        assert page.url.endswith("liverpool-anfield.html")
        assert "Crime and anti-social behaviour" in page.inner_text("main")
    finally:
        page.close()
    assert outside == [] and failed == []


def test_public_pages_need_no_sign_in_and_show_the_approved_plan(public_site, monkeypatch):
    from fastapi.testclient import TestClient

    from saferhub.api import create_app

    monkeypatch.setenv("SAFERHUB_STORE", str(public_site["store"]))
    with TestClient(create_app(db=public_site["db"], secret="t")) as c:
        r = c.get("/public/")
        assert r.status_code == 200 and "Anfield" in r.text
        r = c.get("/public/liverpool-anfield")
        assert r.status_code == 200
        assert APPROVED["title"] in r.text and APPROVED["outcome"] in r.text
        assert c.get("/public/charts/liverpool-anfield-trend.png").headers["content-type"] == "image/png"
        assert c.get("/public/survey").status_code == 200 and "SIMULATED" in c.get("/public/survey").text
        assert c.get("/public/csv/liverpool-anfield.csv").text.startswith("ward_code,ward,month,crimes")
        assert c.get("/public/no-such-ward").status_code == 404
        assert c.get("/public/charts/..%2f..%2fhub.sqlite3").status_code == 404


def test_privacy_scan_of_every_public_page_post_and_file(public_site, monkeypatch):
    from fastapi.testclient import TestClient

    from saferhub.api import create_app
    from saferhub.community import service

    texts = {}
    for f in public_site["site"].rglob("*"):
        if f.is_file() and f.suffix in (".html", ".csv", ".txt", ".json", ".css"):
            texts[str(f)] = f.read_text()
    model = service.public_model(public_site["store"])
    texts["product"] = repr(model) + repr(service.read_survey_product(public_site["store"]))
    monkeypatch.setenv("SAFERHUB_STORE", str(public_site["store"]))
    with TestClient(create_app(db=public_site["db"], secret="t")) as c:
        for w in model["wards"]:
            texts[f"/public/{w['slug']}"] = c.get(f"/public/{w['slug']}").text
        for u in ("/public/", "/public/survey", "/public/csv/neighbourhoods.csv", "/public/csv/survey.csv"):
            texts[u] = c.get(u).text
    assert len(texts) > 111 * 4
    everything = "\n".join(texts.values())
    assert APPROVED["done"] in everything  # the scan sees hub text that was approved for publication
    leaks = [(what, where) for what, secret in SECRETS.items() for where, t in texts.items() if secret.lower() in t.lower()]
    assert leaks == []
    # the hardened CSP allows no inline scripts or styles: the public pages have neither
    pages = [t for where, t in texts.items() if where.startswith("/public/") or where.endswith(".html")]
    assert not [p for p in pages if "<script" in p or " style=" in p or "<style" in p]
    # patrol work: aggregated by week, only up to today (the future week is planned, never shown)
    pw = [w["patrol"] for w in model["wards"] if w["patrol"]]
    assert pw and all(max(p["weeks"]) <= "2026-12-07" for p in pw) and all(p["simulated"] for p in pw)
    assert sum(p["total_visits"] or 0 for p in pw) > 0
    assert "SIMULATED" in texts[str(public_site["site"] / f"{next(w['slug'] for w in model['wards'] if w['patrol'])}.html")]


def test_a_users_own_boundaries_make_the_pages(merseyside_store, tmp_path):
    """--areas: three neighbourhoods drawn from six Liverpool wards; their counts are the sums of
    the wards' (LSOAs go to the area holding their centroid), each through the 10-5 rule."""
    from saferhub.community import neighbourhoods as N
    from saferhub.community import service

    from .conftest import GEO

    store = tmp_path / "store"
    store.mkdir()
    for child in merseyside_store.iterdir():
        if child.name not in ("products", ".built"):
            (store / child.name).symlink_to(child)
    w = N.ward_table(GEO)
    six = w[w["district"] == "Liverpool"].iloc[:6].copy()
    six["nbh"] = ["North", "North", "Centre", "Centre", "South", "South"]
    six.dissolve("nbh").reset_index()[["nbh", "geometry"]].to_file(tmp_path / "my-areas.geojson", driver="GeoJSON")
    res = service.publish_neighbourhoods(store, None, GEO, out=tmp_path / "site", areas=tmp_path / "my-areas.geojson",
                                         name_column="nbh")
    assert res["wards"] == 3
    model = service.public_model(store)
    by = {x["name"]: x for x in model["wards"]}
    assert set(by) == {"North", "Centre", "South"} and by["North"]["district"] == "My Areas"
    assert by["North"]["population"] == int(six.loc[six["nbh"] == "North", "population"].sum())
    assert sorted(p.name for p in (tmp_path / "site").glob("*.html")) == \
        ["index.html", "my-areas-centre.html", "my-areas-north.html", "my-areas-south.html"]
    assert all(len(x["similar"]) == 2 for x in model["wards"])
