"""Browser hardening (api/headers.py, api/web.py): security headers on every response, no inline
script or style for the CSP to break, Secure cookies over HTTPS (directly or via a trusted proxy),
CSRF tokens bound to the session, and /docs served from vendored files only."""

import re

import pytest
from fastapi.testclient import TestClient

from saferhub.web import HERE as WEB

from tests.hub.conftest import PASSWORD

CW, CW2 = "caseworker.police@test.invalid", "caseworker2.police@test.invalid"


def _token(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _sign_in(c: TestClient, email: str = CW) -> None:
    r = c.post("/web/login", data={"email": email, "password": PASSWORD, "csrf_token": _token(c.get("/web/login").text)},
               follow_redirects=False)
    assert r.status_code == 303, r.text


def _csp(r) -> dict:
    return {d.split()[0]: d.split()[1:] for d in r.headers["content-security-policy"].split(";") if d.strip()}


def _strict(r) -> None:
    csp = _csp(r)
    assert csp["default-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert not re.search(r"https?:|unsafe", r.headers["content-security-policy"])
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_every_kind_of_response_carries_the_headers(hub, partnership, tmp_path, monkeypatch):
    h = hub.headers(CW)
    c = hub.client
    case = c.post("/cases", json={"kind": "asb", "title": "Noise"}, headers=h).json()
    answers = [c.get("/health"), c.get(f"/cases/{case['id']}", headers=h), c.get("/cases/99999", headers=h),
               c.post("/cases", json={"kind": "nonsense"}, headers=h), c.get("/cases", headers={}),
               c.post("/cases", content=b"x" * (2 << 20), headers=h | {"content-type": "application/json"}),
               c.get("/web/login"), c.get("/web/briefing", follow_redirects=False), c.get("/openapi.json"),
               c.get("/docs")]
    assert [r.status_code for r in answers] == [200, 200, 404, 422, 401, 413, 200, 303, 200, 200]
    for r in answers:
        _strict(r)
        assert r.headers["cache-control"] == "no-store", r.request.url
    static = c.get("/web/static/app.css")
    _strict(static)
    assert static.status_code == 200 and "no-store" not in static.headers["cache-control"]
    # a signed-in page showing personal data
    _sign_in(c)
    page = c.get("/web/cases")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    _strict(page)
    # report documents keep their inline styles but may run no script at all, sandboxed
    monkeypatch.setenv("SAFERHUB_OUT", str(tmp_path))
    (tmp_path / "r.html").write_text("<!doctype html><style>h1{color:red}</style><h1>Report</h1>")
    rep = c.get("/web/reports/out/r.html")
    assert rep.status_code == 200 and rep.headers["cache-control"] == "no-store"
    csp = _csp(rep)
    assert csp["default-src"] == ["'none'"] and "script-src" not in csp and "sandbox" in csp
    assert csp["frame-ancestors"] == ["'none'"] and rep.headers["x-frame-options"] == "DENY"


def test_templates_and_pages_hold_no_inline_script_or_style():
    """What the CSP would block: inline <script> (JSON data blocks are not scripts), on*= handlers,
    javascript: URLs, style attributes and <style> blocks. The PDF-only print template is exempt
    (WeasyPrint reads it; no browser is served it)."""
    sources = {p.name: p.read_text() for p in (WEB / "templates").glob("*.html") if p.name != "briefing_print.html"}
    sources["web.py"] = (WEB.parent / "api" / "web.py").read_text()
    sources["app.py"] = (WEB.parent / "api" / "app.py").read_text()
    sources.update({p.name: p.read_text() for p in (WEB / "static").glob("map*.js")})  # map.js and its helpers
    assert {"map.js", "map-cells.js", "map-labels.js", "map-legend.js", "map-util.js"} <= set(sources)
    for name, text in sources.items():
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (name, tag)
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", text), name
        assert not re.search(r"\sstyle\s*=|<style\b|javascript:", text, re.I), name


@pytest.fixture
def trusted_proxy(monkeypatch):
    monkeypatch.setenv("SAFERHUB_TRUSTED_PROXIES", '["10.9.0.0/16"]')


def _cookies(r) -> dict:
    out = {}
    for line in r.headers.get_list("set-cookie"):
        name = line.split("=", 1)[0]
        out[name] = {p.strip().lower() for p in line.split(";")[1:]}
    return out


@pytest.mark.parametrize("base,peer,proto,secure", [
    ("http://testserver", "10.9.0.5", None, False),
    ("https://testserver", "192.0.2.1", None, True),             # HTTPS to the app itself
    ("http://testserver", "10.9.0.5", "https", True),            # TLS ended at a trusted proxy
    ("http://testserver", "10.9.0.5", "http, https", True),      # the proxy's own (last) value counts
    ("http://testserver", "10.9.0.5", "https, http", False),
    ("http://testserver", "192.0.2.1", "https", False),          # anyone may send the header: not believed
])
def test_cookies_are_secure_over_https_directly_or_via_a_trusted_proxy(hub, partnership, trusted_proxy,
                                                                       base, peer, proto, secure):
    app = hub.client.app
    extra = {"x-forwarded-proto": proto} if proto else {}
    with TestClient(app, base_url=base, client=(peer, 5000), headers=extra) as c:
        page = c.get("/web/login")
        raw = page.headers["set-cookie"].split("saferhub_csrf=", 1)[1].split(";", 1)[0]
        # sent by hand: the test client (rightly) keeps Secure cookies off plain-HTTP requests
        r = c.post("/web/login", data={"email": CW, "password": PASSWORD, "csrf_token": _token(page.text)},
                   headers={"cookie": f"saferhub_csrf={raw}"}, follow_redirects=False)
        assert r.status_code == 303
        jar = _cookies(page) | _cookies(r)
        assert set(jar) >= {"saferhub_csrf", "saferhub_session"}
        for name, flags in jar.items():
            assert ("secure" in flags) is secure, (name, flags)
            assert "httponly" in flags and "samesite=strict" in flags


def test_a_planted_csrf_cookie_and_its_token_do_not_work_in_another_session(hub, partnership):
    app = hub.client.app
    with TestClient(app) as attacker, TestClient(app) as victim:
        # the attacker's own pre-login token and cookie value
        anon_token = _token(attacker.get("/web/login").text)
        anon_raw = attacker.cookies["saferhub_csrf"]
        # ... and a token minted for the attacker's own signed-in session
        _sign_in(attacker, CW2)
        ask = attacker.get("/web/cases")
        session_token, session_raw = _token(ask.text), attacker.cookies["saferhub_csrf"]
        _sign_in(victim, CW)
        for token, raw in ((anon_token, anon_raw), (session_token, session_raw)):
            victim.cookies.set("saferhub_csrf", raw)  # planted (a sibling subdomain, plain HTTP)
            for path, form in (("/web/logout", {}), ("/web/purpose", {"purpose": "forged purpose here"})):
                r = victim.post(path, data=form | {"csrf_token": token}, follow_redirects=False)
                assert r.status_code == 403, (path, r.status_code)
        # the victim is still signed in, with no purpose stated
        page = victim.get("/web/cases")
        assert page.status_code == 200 and "Purpose of viewing" in page.text
        # the victim's own token still works (so the refusals above were the binding, not breakage)
        r = victim.post("/web/logout", data={"csrf_token": _token(page.text)}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/web/login"


def test_the_pre_login_token_is_rotated_at_sign_in(hub, partnership):
    c = hub.client
    page = c.get("/web/login")
    before, raw = _token(page.text), c.cookies["saferhub_csrf"]
    r = c.post("/web/login", data={"email": CW, "password": PASSWORD, "csrf_token": before}, follow_redirects=False)
    assert r.status_code == 303 and c.cookies["saferhub_csrf"] != raw
    assert c.post("/web/logout", data={"csrf_token": before}, follow_redirects=False).status_code == 403
    # a wrong password keeps the form usable
    with TestClient(c.app) as other:
        page = other.get("/web/login")
        bad = other.post("/web/login", data={"email": CW, "password": "wrong password!!", "csrf_token": _token(page.text)})
        assert bad.status_code == 401 and "Wrong e-mail or password" in bad.text
        ok = other.post("/web/login", data={"email": CW, "password": PASSWORD, "csrf_token": _token(bad.text)},
                        follow_redirects=False)
        assert ok.status_code == 303


def test_docs_are_served_from_vendored_files_only(hub):
    c = hub.client
    html = c.get("/docs").text
    assert not re.search(r"(https?:)?//[a-z0-9]", html.replace("/web/static/", "")), html
    srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert srcs and all(s.startswith("/web/static/") for s in srcs)
    for s in srcs:
        r = c.get(s)
        assert r.status_code == 200 and len(r.content) > 100, s
    vendor = WEB / "static" / "vendor" / "swagger-ui"
    assert "Apache License" in (vendor / "LICENSE").read_text()
    assert "swagger-ui-dist@5.36.0" in (vendor / "SOURCE.txt").read_text()
    assert c.get("/redoc").status_code == 404
    assert "saferhub hub" in c.get("/openapi.json").json()["info"]["title"]


@pytest.mark.parametrize("tile_url,source", [
    (None, None),
    ("https://tiles.example:8443/{z}/{x}/{y}.png", "https://tiles.example:8443"),
    ("https://{s}.tile.example/{z}/{x}/{y}.png", "https://*.tile.example"),
    ("file:///tmp/{z}.png", None),
])
def test_the_only_outside_image_source_is_the_configured_tile_server(tile_url, source):
    from saferhub.api.headers import policies

    page, report = policies(tile_url)
    img = next(d for d in page.split("; ") if d.startswith("img-src")).split()[1:]
    assert img == ["'self'", "data:"] + ([source] if source else [])
    assert "http" not in report and "http" not in page.replace(source or "-", "")
