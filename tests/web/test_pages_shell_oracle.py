"""What every page shares (api/pages/__init__.py, common.py, errors.py) and the map and public
pages (map.py, public.py), against the small known partnership of tests/web/pages_world.py: the
purpose form and its cookie, sign-in redirects, the CSRF cookie, the error pages' status codes
and words (never a 500, never raw JSON under /web/), static files, the map's deep-link view and
layers, and the public neighbourhood pages with their suppressed small counts. Server-side only."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from saferhub.api.pages import common

from .pages_world import MAP_LAYERS, SECRET, Site, page

PURPOSE = "shell pages oracle"


@pytest.fixture
def site(tmp_path, monkeypatch):
    s = Site(tmp_path, monkeypatch)
    yield s
    s.close()


# ---------------------------------------------------------------- the purpose form and its cookie

def test_purpose_form_checks_the_words_and_returns_to_a_safe_page(site):
    b = site.browser("caseworker.police")
    p = page(b.get("/web/cases?q=shop"))
    assert p.h1 == "Why do you need this?" and p.inputs["next"] == "/web/cases?q=shop"
    for bad in ("", "   ", "ab"):
        r = b.post("/web/purpose", {"purpose": bad, "next": "/web/cases?q=shop"})
        p = page(r)
        assert r.status_code == 400 and p.h1 == "Why do you need this?", bad
        assert p.alerts == ["Say in a few words why you need these records (for example: morning partnership "
                            "briefing). It is kept in the audit trail, as the law requires."]
        assert p.inputs["next"] == "/web/cases?q=shop" and p.inputs["purpose"] == bad
        assert "saferhub_purpose" not in r.headers.get("set-cookie", "")
    r = b.post("/web/purpose", {"purpose": "x", "next": "https://evil.example/"})
    assert r.status_code == 400 and page(r).inputs["next"] == "/web/briefing"
    r = b.post("/web/purpose", {"purpose": "  checking the shop case  ", "next": "/web/cases?q=shop"})
    assert r.status_code == 303 and r.headers["location"] == "/web/cases?q=shop"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("saferhub_purpose=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Max-Age=43200" in cookie
    seq = site.last_seq()
    assert page(b.get("/web/cases")).h1 == "Cases"
    assert {e.purpose for e in site.audit(seq)} == {"checking the shop case"}
    r = b.post("/web/purpose", {"purpose": "another reason", "next": "//evil.example/web/x"})
    assert r.status_code == 303 and r.headers["location"] == "/web/briefing"
    r = b.post("/web/purpose", {"purpose": "another reason"})
    assert r.status_code == 303 and r.headers["location"] == "/web/briefing"
    r = b.post("/web/purpose", {"purpose": "forged reason", "next": "/web/cases"}, csrf="stale")
    assert r.status_code == 403 and "saferhub_purpose" not in r.headers.get("set-cookie", "")
    anon = site.browser(None)
    anon.get("/web/login")
    r = anon.post("/web/purpose", {"purpose": "no session here", "next": "/web/cases"})
    assert r.status_code == 303 and r.headers["location"] == "/web/login"


def _cookie(b, value):
    """Replace the browser's purpose cookie (the server set it for its own domain)."""
    for c in list(b.client.cookies.jar):
        if c.name == "saferhub_purpose":
            b.client.cookies.jar.clear(c.domain, c.path, c.name)
    b.client.cookies.set("saferhub_purpose", value)


def test_the_purpose_cookie_belongs_to_one_session_and_is_signed(site):
    b = site.browser("caseworker.police", PURPOSE)
    value = b.client.cookies.get("saferhub_purpose")
    assert value
    other = site.browser("coordinator.police")
    other.client.cookies.set("saferhub_purpose", value)
    assert page(other.get("/web/cases")).h1 == "Why do you need this?"  # another session's answer: asked again
    _cookie(b, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert page(b.get("/web/cases")).h1 == "Why do you need this?"  # tampered
    _cookie(b, "")
    assert page(b.get("/web/cases")).h1 == "Why do you need this?"
    # signed with the right key and salt but bound to no session (the pre-login tag): refused too
    s = URLSafeTimedSerializer(SECRET, salt="saferhub-purpose")
    _cookie(b, s.dumps(["0" * 32, "made up"]))
    assert page(b.get("/web/cases")).h1 == "Why do you need this?"
    _cookie(b, s.dumps("not a pair"))
    assert page(b.get("/web/cases")).h1 == "Why do you need this?"
    # the documented format: [keyed digest of the session token, purpose], salted "saferhub-purpose"
    import hashlib
    import hmac

    token = site.f.sessions["caseworker.police"].encode()
    tag = hmac.new(SECRET.encode(), b"session:" + token, hashlib.sha256).hexdigest()[:32]
    _cookie(b, s.dumps([tag, "made by another server process"]))
    seq = site.last_seq()
    assert page(b.get("/web/cases")).h1 == "Cases"
    assert {e.purpose for e in site.audit(seq)} == {"made by another server process"}
    _cookie(b, URLSafeTimedSerializer(SECRET, salt="saferhub-csrf-session").dumps([tag, "a csrf token"]))
    assert page(b.get("/web/cases")).h1 == "Why do you need this?"


def test_session_purpose_expires_after_twelve_hours(site, monkeypatch):
    import time

    b = site.browser("caseworker.police", PURPOSE)
    assert page(b.get("/web/cases")).h1 == "Cases"
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 12 * 3600 - 60)
    assert page(b.get("/web/cases")).h1 == "Cases"
    monkeypatch.setattr(time, "time", lambda: real() + 12 * 3600 + 60)
    assert page(b.get("/web/cases")).h1 == "Why do you need this?"


# ---------------------------------------------------------------- signing in, CSRF cookie

def test_pages_send_the_signed_out_to_sign_in_and_back(site):
    anon = site.browser(None)
    for url, back in (("/web/cases", "/web/cases"), ("/web/cases?q=a b&risk=high", "/web/cases%3Fq%3Da%2520b%26risk%3Dhigh"),
                      ("/web/map", "/web/map"), ("/web/reports", "/web/reports"), ("/web/admin/users", "/web/admin/users")):
        r = anon.get(url)
        assert r.status_code == 303 and r.headers["location"] == f"/web/login?next={back}", url
    r = anon.client.get("/web/cases", cookies={"saferhub_session": "not-a-token"})
    assert r.status_code == 303 and r.headers["location"] == "/web/login?next=/web/cases"
    # the sign-in page uses the same check for where to go back to
    page_ = page(anon.get("/web/login?next=/web/referrals"))
    assert page_.inputs["next"] == "/web/referrals"


def test_render_sets_one_csrf_cookie_and_a_token_bound_to_it(site):
    b = site.browser("caseworker.police")
    r = b.get("/web/reports")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("saferhub_csrf=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    raw = b.client.cookies.get("saferhub_csrf")
    r2 = b.get("/web/map")
    assert b.client.cookies.get("saferhub_csrf") == raw  # kept while the browser has it
    # a second render in one request (the purpose form after a refused form post) keeps the same cookie
    r = b.post("/web/purpose", {"purpose": "", "next": "/web/cases"})
    assert r.headers.get_list("set-cookie") == [h for h in r.headers.get_list("set-cookie") if h.startswith("saferhub_csrf=")]
    assert len(r.headers.get_list("set-cookie")) == 1
    assert r2.status_code == 200


def test_safe_next_and_text_helpers():
    for url in ("/web/cases", "/web/cases?q=x", "/web/" + "a" * 495):
        assert common.safe_next(url) == url, url
    for url in ("", "/web", "/other", "https://x/web/", "//evil/web/", "/web/\\x", "/web/../api", "/web/a b",
                "/web/\x07", "/web/" + "a" * 496, "x/web/"):
        assert common.safe_next(url) == "/web/briefing", url
    assert common.text_errors({"a": "fine", "b": "x\x00", "c": "l1\nl2", "d": "l1\nl2", "e": "\ud800"},
                              multiline=("c",)) == {
        "b": "Text must not contain NUL characters.",
        "d": "Text must not contain control characters such as U+000A.",
        "e": "Text contains broken Unicode (a lone surrogate); type it as plain text."}
    assert common.shown("a\x00b\x07c\n\r\td\ud800é") == "abc\n\r\tdé"


# ---------------------------------------------------------------- error pages

def test_error_pages_have_their_status_title_and_plain_words(site):
    b = site.browser("caseworker.police", PURPOSE)
    r = b.get("/web/cases/abc")
    p = page(r)
    assert r.status_code == 422 and p.h1 == "That request could not be read"
    assert p.text.count("The page could not use what was sent. case_id: ") == 1
    assert "abc" not in p.text.split("case_id:")[1]  # the value sent is never echoed
    r = b.get(f"/web/cases/{2**31}")
    assert r.status_code == 422 and "case_id: Input should be less than or equal to 2147483647." in page(r).text
    r = b.get("/web/cases/0")
    assert r.status_code == 422 and "case_id: Input should be greater than or equal to 1." in page(r).text
    r = b.get("/web/nothing-here")
    p = page(r)
    assert r.status_code == 404 and p.h1 == "Not found" and "Not Found" in p.text
    assert "text/html" in r.headers["content-type"] and "/web/briefing" in p.links
    r = b.client.put("/web/cases")
    assert r.status_code == 405 and page(r).h1 == "Not available this way"
    assert r.headers["allow"] == "GET"
    # outside /web/: the JSON API's own answers
    r = b.client.get("/cases/abc", headers={"Authorization": "Bearer x"})
    assert r.headers["content-type"].startswith("application/json")
    r = b.client.get("/nothing-here")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


def test_many_bad_fields_are_summed_up(site):
    b = site.browser("caseworker.police", PURPOSE)
    b.get("/web/cases/1")
    data = [(k, "x" * 5000) for k in ("title", "due_on", "csrf_token")]
    r = b.client.post("/web/cases/1/actions", data=dict(data))
    p = page(r)
    assert r.status_code == 422 and p.h1 == "That request could not be read"
    msg = next(x for x in p.text.split("That request could not be read") if "could not use" in x)
    assert "due_on: String should have at most 4000 characters" in msg and "csrf_token:" in msg
    assert "(and" not in msg
    r = b.client.post("/web/cases/abc/referrals", data={k: "x" * 60_000 for k in (
        "to_agency_id", "kind", "reason", "legal_gateway", "csrf_token")})
    p = page(r)
    msg = p.text.split("The page could not use what was sent. ")[1].split(" Back to the briefing")[0]
    assert r.status_code == 422 and msg.endswith(" (and 1 more).")
    assert msg.count("; ") == 4 and msg.startswith("case_id: Input should be a valid integer")
    r = b.client.post("/web/cases/abc/referrals", data={k: "x" * 60_000 for k in (
        "to_agency_id", "kind", "reason", "legal_gateway")})
    msg = page(r).text.split("The page could not use what was sent. ")[1].split(" Back to the briefing")[0]
    assert r.status_code == 422 and msg.count("; ") == 4 and "more)" not in msg
    # outside /web/ the same kind of error is the JSON API's 422
    r = b.client.post("/auth/login", json={"email": 5})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/json") and r.json()["detail"]


def test_plain_error_wording():
    from saferhub.api.pages import errors as E

    assert E._plain({"loc": ("body", "case_id"), "msg": "Value error, too big"}) == "case_id: too big"
    assert E._plain({"loc": ("query", "a", 0), "msg": ""}) == "a.0: not acceptable"
    assert E._plain({"loc": ("body",)}) == "the request: not acceptable"
    assert E._plain({"msg": "m"}) == "the request: m"
    assert E._plain({"loc": ("header", "x-a"), "msg": "m"}) == "x-a: m"
    assert E._plain({"loc": ("cookie", "c", "path", "query"), "msg": "m"}) == "c: m"
    from saferhub.api import hygiene

    assert E._plain({"loc": ("path", "x" * 60), "msg": "m" * 300}) == \
        f"{hygiene.clip('x' * 60, 40)}: {hygiene.clip('m' * 300, 200)}"
    assert E._plain({"loc": ("path", "x" * 40), "msg": "m" * 200}) == f"{'x' * 40}: {'m' * 200}"
    assert E.TITLES[403] == "Not allowed" and E.TITLES[429] == "Too many attempts"


def test_hub_and_database_errors_under_web_are_pages(site, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from saferhub.hub import services
    from saferhub.hub.errors import Conflict

    b = site.browser("caseworker.police", PURPOSE)

    def busy(*a, **k):
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(services.reports, "list_reports", busy)
    r = b.get("/web/reports")
    p = page(r)
    assert r.status_code == 503 and p.h1 == "Not available" and "the database is busy; try again" in p.text
    assert r.headers["retry-after"] == "1" and "text/html" in r.headers["content-type"]

    def conflict(*a, **k):
        raise Conflict("someone changed it first")

    monkeypatch.setattr(services.reports, "list_reports", conflict)
    r = b.get("/web/reports")
    assert r.status_code == 409 and "someone changed it first" in page(r).text
    monkeypatch.setattr(services.reports, "list_reports", lambda *a, **k: (_ for _ in ()).throw(
        Conflict("x" * 1000)))
    r = b.get("/web/reports")
    assert r.status_code == 409 and len(page(r).by_id.get("main", "")) < 400
    # the same error outside /web/ stays JSON
    monkeypatch.setattr(services, "list_agencies", busy)
    r = b.client.get("/agencies", headers={"Authorization": f"Bearer {site.f.sessions['caseworker.police']}"})
    assert r.status_code == 503 and r.json() == {"detail": "the database is busy; try again"}


def test_static_files(site):
    c = TestClient(site.app)
    r = c.get("/web/static/app.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert r.headers["cache-control"] == "public, max-age=3600"
    r = c.get("/web/static/map-util.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    for bad in ("/web/static/../pages/common.py", "/web/static/%2e%2e/templates/base.html", "/web/static/nothing.css",
                "/web/static/vendor", "/web/static/"):
        r = c.get(bad)
        assert r.status_code == 404 and "text/html" in r.headers["content-type"], bad


# ---------------------------------------------------------------- the map

def _config(r) -> dict:
    text = r.text.split('<script type="application/json" id="config">')[1].split("</script>")[0]
    return json.loads(text)


def test_map_opens_on_the_hot_spots_or_a_checked_deep_link(site):
    b = site.browser("analyst.police")
    grip = MAP_LAYERS["layers"][0]["hot_bounds"]
    r = b.get("/web/map")
    assert r.status_code == 200 and page(r).h1 == "Map"
    assert _config(r) == {"tile_url": None, "hub": False, "view": {"layer": None, "bounds": grip,
                                                                  "source": "hot spots"}}
    assert json.loads(r.text.split('id="catalogue">')[1].split("</script>")[0]) == MAP_LAYERS
    assert _config(b.get("/web/map?lat=53.4&lon=-2.98&zoom=14.3&layer=kde"))["view"] == {
        "layer": "kde", "center": [53.4, -2.98], "zoom": 14.5, "source": "link"}
    assert _config(b.get("/web/map?lat=53.4&lon=-2.98"))["view"]["zoom"] == 16
    for bad in ("lat=99&lon=-2.98", "lat=53.4&lon=20", "lat=53.4&lon=-2.98&zoom=3", "lat=53.4&lon=-2.98&zoom=25",
                "lat=x&lon=-2.98", "lat=53.4", "lat=nan&lon=nan", "lat=53.4&lon=-2.98&zoom=inf", "layer=evil"):
        view = _config(b.get(f"/web/map?{bad}"))["view"]
        assert view["source"] == "hot spots" and view["bounds"] == grip and view["layer"] is None, bad
    p = page(b.get("/web/map"))
    assert "No map layers have been published yet" not in p.text


def test_map_offers_hub_layers_to_case_roles_after_the_purpose(site, monkeypatch):
    b = site.browser("caseworker.police")
    r = b.get("/web/map?lat=53.4&lon=-2.98&zoom=14&layer=kde")
    p = page(r)
    assert _config(r)["hub"] is False and p.inputs["next"] == "/web/map?lat=53.4&lon=-2.98&zoom=14&layer=kde"
    assert "Purpose of viewing cases" in p.text
    r = b.get("/web/map?layer=gistar")
    assert page(r).inputs["next"] == "/web/map?layer=gistar"
    b.state_purpose(PURPOSE, "/web/map")
    r = b.get("/web/map")
    assert _config(r)["hub"] is True and "Open cases" in page(r).text
    assert "Where missing children were found (police only)" in page(r).text
    r = site.browser("caseworker.council", PURPOSE).get("/web/map")
    assert _config(r)["hub"] is True and "Where missing children were found" not in page(r).text
    r = site.browser("analyst.police", PURPOSE).get("/web/map")
    assert _config(r)["hub"] is False and "Purpose of viewing cases" not in page(r).text
    monkeypatch.setenv("SAFERHUB_TILE_URL", "https://tiles.example/{z}/{x}/{y}.png")
    site2 = Site.__new__(Site)
    site2.__dict__.update(site.__dict__)
    from saferhub.api import create_app

    app = create_app(engine=site.engine, secret=SECRET)
    c = TestClient(app, follow_redirects=False)
    c.cookies.set("saferhub_session", site.f.sessions["analyst.police"])
    r = c.get("/web/map")
    assert _config(r)["tile_url"] == "https://tiles.example/{z}/{x}/{y}.png"
    assert "No background map tiles are configured" not in page(r).text


def test_map_without_a_catalogue_and_a_catalogue_that_closes_its_script(site, monkeypatch, tmp_path):
    from saferhub.data.products import write_product

    store = tmp_path / "store"
    monkeypatch.setenv("SAFERHUB_STORE", str(store))
    b = site.browser("analyst.police")
    r = b.get("/web/map")
    scripts = page(r).scripts
    assert r.status_code == 200 and "No map layers have been published yet" in page(r).text
    assert _config(r)["view"] == {"layer": None, "source": "layer"}
    write_product("map-layers", {"layers": [{"name": "x", "title": "</script><script>alert(1)</script>"}]}, store)
    r = b.get("/web/map")
    assert "</script><script>alert(1)" not in r.text and page(r).scripts == scripts
    assert json.loads(r.text.split('id="catalogue">')[1].split("</script>")[0])["layers"][0]["title"] == \
        "</script><script>alert(1)</script>"


def test_published_layers_and_hub_layers(site):
    b = site.browser("analyst.police")
    r = b.get("/web/layers/gistar-grip.geojson")
    assert r.status_code == 200 and r.json() == {"type": "FeatureCollection", "features": []}
    assert r.headers["content-type"] == "application/geo+json"
    assert r.headers["cache-control"] == "private, max-age=60"
    for name, words in (("map-layers", "no such layer"), ("Bad_Name!", "no such layer"),
                        ("kde-grip", "the layer kde-grip has not been published yet")):
        r = b.get(f"/web/layers/{name}.geojson")
        assert r.status_code == 404 and words in page(r).text, name
    r = site.browser(None).get("/web/layers/gistar-grip.geojson")
    assert r.status_code == 303
    council = site.browser("caseworker.council")
    r = council.get("/web/hub-layers/cases.geojson")
    assert r.status_code == 428 and r.json() == {"detail": "state the purpose of viewing first"}
    council.state_purpose(PURPOSE)
    seq = site.last_seq()
    r = council.get("/web/hub-layers/cases.geojson")
    feats = r.json()["features"]
    assert r.status_code == 200 and [f["properties"]["id"] for f in feats] == [site.f.cases["council"]]
    assert feats[0]["geometry"]["coordinates"] == [-2.9612, 53.4345]
    assert {e.purpose for e in site.audit(seq)} == {PURPOSE}
    police = site.browser("caseworker.police", PURPOSE)
    assert police.get("/web/hub-layers/cases.geojson").json()["features"] == []
    r = police.get("/web/hub-layers/nothing.geojson")
    assert r.status_code == 404 and "no such layer" in page(r).text
    for days in ("0", "3651", "x"):
        r = police.get(f"/web/hub-layers/found.geojson?days={days}")
        assert r.status_code == 422, days
    r = police.get("/web/hub-layers/found.geojson?days=3650")
    assert r.status_code == 200 and r.json()["type"] == "FeatureCollection"


# ---------------------------------------------------------------- the public pages

def test_public_pages_show_the_published_model_with_small_counts_blank(site):
    c = TestClient(site.app)
    r = c.get("/public/")
    assert r.status_code == 200 and "Anfield" in r.text
    assert "set-cookie" not in r.headers
    assert "/public/liverpool-anfield" in page(r).links
    r = c.get("/public/liverpool-anfield")
    assert r.status_code == 200 and page(r).h1.startswith("Anfield")
    assert "/public/csv/liverpool-anfield.csv" in page(r).links
    r = c.get("/public/csv/liverpool-anfield.csv")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="liverpool-anfield.csv"'
    assert r.text.splitlines() == [
        "ward_code,ward,month,crimes,asb_reports,note", "E05000886,Anfield,2020-10,12,4,",
        'E05000886,Anfield,2020-11,,3,"blank = fewer than the threshold, not shown"',
        'E05000886,Anfield,2020-12,9,,"blank = fewer than the threshold, not shown"']
    r = c.get("/public/csv/neighbourhoods.csv")
    assert r.status_code == 200 and r.text.splitlines()[1].startswith("E05000886,Anfield,Liverpool,14000,250,")
    assert r.headers["content-disposition"] == 'attachment; filename="neighbourhoods.csv"'
    r = c.get("/public/charts/liverpool-anfield-trend.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content.startswith(b"\x89PNG")
    for url, words in (("/public/nowhere", "no such neighbourhood"), ("/public/csv/nowhere.csv", "no such file"),
                       ("/public/csv/liverpool-anfield", "no such file"), ("/public/csv/survey.csv", "no such file"),
                       ("/public/charts/nothing.png", "no such chart"),
                       ("/public/survey", "no survey results have been published")):
        r = c.get(url)
        assert r.status_code == 404 and r.json() == {"detail": words}, url


def test_public_survey_pages_when_published(site, monkeypatch):
    from saferhub.community import render as R
    from saferhub.community import service

    survey = {"csv": "question,share\nsafe,0.7\n"}
    monkeypatch.setattr(service, "read_survey_product", lambda store=None: survey)
    monkeypatch.setattr(R, "survey_html", lambda s, links: f"<h1>Survey</h1>{s['csv']}{links.has_survey}")
    c = TestClient(site.app)
    r = c.get("/public/survey")
    assert r.status_code == 200 and r.text == "<h1>Survey</h1>question,share\nsafe,0.7\nTrue"
    r = c.get("/public/csv/survey.csv")
    assert r.status_code == 200 and r.text == survey["csv"]
    assert r.headers["content-disposition"] == 'attachment; filename="survey.csv"'


def test_public_pages_before_publishing_are_404(site, monkeypatch, tmp_path):
    monkeypatch.setenv("SAFERHUB_STORE", str(tmp_path / "empty"))
    c = TestClient(site.app)
    for url in ("/public/", "/public/liverpool-anfield", "/public/csv/neighbourhoods.csv"):
        r = c.get(url)
        assert r.status_code == 404 and r.json() == {
            "detail": "the neighbourhood pages have not been published yet (saferhub publish neighbourhoods)"}, url


def test_the_purpose_form_names_the_user_and_returns_to_the_page_asked_for(site):
    b = site.browser("caseworker.police")
    for url in ("/web/cases", "/web/cases?risk=high"):
        r = b.get(url)
        p = page(r)
        assert r.status_code == 200 and p.h1 == "Why do you need this?" and p.inputs["next"] == url
        assert "Officer Caseworker Police · Merseyside Police · caseworker" in p.text
    r = b.post("/web/purpose", {"purpose": "", "next": "/web/cases"})
    assert "Officer Caseworker Police · Merseyside Police · caseworker" in page(r).text


def test_the_sign_in_form_checks_its_token(site):
    anon = site.browser(None)
    r = anon.post("/web/login", {"email": "caseworker.police@test.invalid", "password": "x"}, csrf="stale")
    p = page(r)
    assert r.status_code == 403 and p.alerts == ["The sign-in form had expired. Please sign in again."]
    assert p.inputs["email"] == "caseworker.police@test.invalid"
    anon.get("/web/login")
    r = anon.post("/web/login", {"email": "nobody@test.invalid", "password": "x"})
    assert r.status_code == 401 and "The sign-in form had expired" not in r.text


def test_case_pages_refuse_roles_without_case_records_with_a_403_page(site):
    b = site.browser("analyst.police")
    r = b.get("/web/cases")
    p = page(r)
    assert r.status_code == 403 and p.h1 == "Not allowed" and "text/html" in r.headers["content-type"]
    assert "Your account has no access to case records: cases and referrals are for coordinators and " \
           "caseworkers, so no purpose is asked." in p.text
    assert "Why do you need this?" not in p.text
    p = page(site.browser("caseworker.police").get("/web/missing"))
    assert p.h1 == "Why do you need this?" and "Officer Caseworker Police ·" in p.text
