"""A small partnership behind the web pages, for the fast page-level oracle tests (issue 26, the
pages' mutation pass): a migrated SQLite hub written through the JSON API once per process, every
user already signed in through the real sign-in form (their session cookies kept), a store folder
with a map catalogue and one layer, and a reports folder. Each test copies the hub file (ms) and
builds an app on it; no page function runs outside a test (mutmut records which tests run which
function), only the JSON API and the services.

`Browser` is a signed-in browser without a browser: the CSRF token from the last page rendered,
the purpose stated through the real purpose form, the HTML parsed with the stdlib parser."""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from saferhub.hub.db import make_engine, session_factory
from saferhub.hub.models import Agency, AuditEvent, Case, CaseAgency, User
from saferhub.hub.security import issue_token
from tests.hub.conftest import _password_hash
from tests.hub.oracle_db import fresh_copy

SECRET = "pages-oracle-secret"
HOSTILE = '<script>alert("x")</script> & <b>bold</b>'
PEOPLE = {  # who -> (agency code, role)
    "admin.police": ("police", "admin"), "analyst.police": ("police", "analyst"),
    "coordinator.police": ("police", "coordinator"), "caseworker.police": ("police", "caseworker"),
    "caseworker.council": ("council", "caseworker"), "caseworker.fire": ("fire", "caseworker"),
    "staffa": ("acme", "caseworker"), "coordinator.acme": ("acme", "coordinator"),
}
AGENCIES = {"police": ("Merseyside Police", "police"), "council": ("Liverpool Council", "council"),
            "fire": ("Fire Service", "fire"), "acme": ("Acme Care", "other")}
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
MAP_LAYERS = {"layers": [
    {"name": "gistar-grip", "group": "hotspots", "method": "gistar", "categories": "grip",
     "hot_bounds": [[53.38, -3.01], [53.43, -2.95]]},
    {"name": "gistar-all", "group": "hotspots", "method": "gistar", "categories": "all",
     "hot_bounds": [[53.30, -3.10], [53.50, -2.80]]}]}

# the public neighbourhood pages' published model, one ward, small counts already suppressed (None)
WARD = {"slug": "liverpool-anfield", "code": "E05000886", "name": "Anfield", "district": "Liverpool",
        "population": 14000, "most_deprived_pct": 10, "patrol": None, "priorities": [], "similar": [],
        "posts": {"short": "s", "long": "l"}, "police_uk": None,
        "crime": {"months": ["2020-10", "2020-11", "2020-12"], "monthly": [12, None, 9], "year": 250,
                  "rate_per_1000": 17.9, "yoy": {"result": "no clear change", "months": 3, "change_pct": -5.0,
                                                 "low_pct": -20.0, "high_pct": 12.0}},
        "asb": {"monthly": [4, 3, None], "year": 40, "rate_per_1000": 2.9,
                "yoy": {"result": "no clear change", "months": 3, "change_pct": 1.0, "low_pct": -5.0, "high_pct": 8.0}}}
PUBLIC_MODEL = {"wards": [WARD], "force": "merseyside", "periods": {"last": "2020-12", "year": "Jan to Dec 2020"},
                "disclosure": {"text": "Counts under 5 are not shown"}, "report_text": "101",
                "patrol_simulated": False, "area_wide_priorities": [], "patrol_all": None, "similar_how": "x",
                "today": "2026-12-07"}
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32


def email(who: str) -> str:
    return f"{who}@test.invalid"


@dataclass
class Facts:
    folder: Path
    agencies: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    cases: dict = field(default_factory=dict)       # "own", "council", "missing", "locked" -> id
    person: int = 0                                  # Ada Lovelace on the "own" case
    referral: int = 0                                # police -> council on "own", pending
    plan: int = 0
    homes: dict = field(default_factory=dict)
    kids: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=dict)     # who -> session cookie value


def _api(f: Facts, who: str, purpose="building the pages world"):
    return {"Authorization": f"Bearer {f.sessions[who]}", "X-Purpose": purpose}


def _ok(r, status=201):
    assert r.status_code == status, r.text
    return r.json()


def _build() -> Facts:
    from saferhub.api import create_app

    folder = Path(tempfile.mkdtemp(prefix="saferhub-pages-world-"))
    f = Facts(folder)
    (folder / "store").mkdir()
    (folder / "out").mkdir()
    _env(folder)
    url = fresh_copy(folder / "hub.sqlite3")
    engine = make_engine(url)
    with session_factory(engine)() as s:
        for code, (name, kind) in AGENCIES.items():
            a = Agency(code=code, name=name, kind=kind)
            s.add(a)
            s.flush()
            f.agencies[code] = a.id
        for who, (code, role) in PEOPLE.items():
            u = User(email=email(who), name=f"Officer {who.split('.')[0].title()} {code.title()}",
                     agency_id=f.agencies[code], role=role, password_hash=_password_hash())
            s.add(u)
            s.flush()
            f.users[who] = u.id
        for who, uid in f.users.items():  # a session each, as the sign-in form gives (no argon2 here)
            f.sessions[who] = issue_token(s, s.get(User, uid))
        s.commit()
    app = create_app(engine=engine, secret=SECRET)
    app.state.login_limit = False
    with TestClient(app) as c:
        police, council = _api(f, "caseworker.police"), _api(f, "caseworker.council")
        own = _ok(c.post("/cases", headers=police, json={
            "kind": "repeat_location", "title": f"Own case {HOSTILE}", "summary": "Shop doorway, nightly noise",
            "risk": "high"}))
        f.cases["own"] = own["id"]
        f.person = _ok(c.post(f"/cases/{own['id']}/people", headers=police, json={
            "role": "victim", "given_name": "Ada", "family_name": "Lovelace"}))["person_id"]
        _ok(c.post(f"/cases/{own['id']}/notes", headers=police, json={
            "person_id": f.person, "kind": "fact", "text": f"Note text {HOSTILE}"}))
        _ok(c.post(f"/cases/{own['id']}/actions", headers=police, json={
            "title": "Visit the shop owner", "due_on": "2026-01-05"}))
        f.referral = _ok(c.post(f"/cases/{own['id']}/referrals", headers=police, json={
            "to_agency_id": f.agencies["council"], "kind": "early_help", "reason": "Family needs support",
            "legal_gateway": "CDA 1998 s115"}))["id"]
        spot = _ok(c.post("/locations", headers=council, json={"description": "Stanley Park gates", "lat": 53.4345,
                                                               "lon": -2.9612}))["id"]
        f.cases["council"] = _ok(c.post("/cases", headers=council, json={
            "kind": "asb", "title": "Council only case", "risk": "standard", "location_id": spot}))["id"]
        f.plan = _ok(c.post("/plans", headers=police, json={
            "title": "Plan for the shops", "objective": "Fewer calls about the shops", "case_id": own["id"],
            "areas": ["Anfield"]}))["id"]
        # missing from home or care: a home run by Acme (Liverpool's), its staff, a child, an episode
        homes = _ok(c.post("/missing/homes", headers=police, json={
            "kind": "care_home", "name": "Home A", "places": 4, "operator_agency_id": f.agencies["acme"],
            "council_agency_id": f.agencies["council"], "address": "1 Home Street"}))
        f.homes["A"] = homes["id"]
        _ok(c.post(f"/missing/homes/{homes['id']}/staff", headers=_api(f, "coordinator.acme"),
                   json={"user_id": f.users["staffa"]}))
        f.kids["1"] = _ok(c.post("/missing/people", headers=police, json={
            "given_name": "Kid", "family_name": "One", "date_of_birth": "2010-05-01",
            "council_agency_id": f.agencies["council"], "home_id": homes["id"], "in_care": True}))["id"]
        _ok(c.post(f"/missing/people/{f.kids['1']}/episodes", headers=police, json={
            "home_id": homes["id"], "reported_at": (NOW - dt.timedelta(days=20)).isoformat(),
            "returned_at": (NOW - dt.timedelta(days=19)).isoformat(), "risk": "medium"}))
    with session_factory(engine)() as s:  # a locked police case owned by the coordinator: a stub to others
        case = Case(kind="asb", title="Locked police case", lead_agency_id=f.agencies["police"],
                    owner_id=f.users["coordinator.police"], locked=True)
        s.add(case)
        s.flush()
        s.add(CaseAgency(case_id=case.id, agency_id=f.agencies["police"]))
        s.commit()
        f.cases["locked"] = case.id
        f.cases["missing"] = s.scalar(select(Case.id).where(Case.kind == "missing_episode"))  # the episode's case
    engine.dispose()
    from saferhub.data.products import write_product

    write_product("map-layers", MAP_LAYERS, folder / "store")
    (folder / "store" / "products" / "gistar-grip.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": []}))
    write_product("community-neighbourhoods", PUBLIC_MODEL, folder / "store")
    charts = folder / "store" / "products" / "community" / "charts"
    charts.mkdir(parents=True)
    (charts / "liverpool-anfield-trend.png").write_bytes(PNG)
    (folder / "out" / "hotspots.html").write_text("<!doctype html><title>Hotspots</title><h1>Hotspot report</h1>")
    return f


def _env(folder: Path, setenv=None) -> None:
    values = {"SAFERHUB_STORE": str(folder / "store"), "SAFERHUB_OUT": str(folder / "out"),
              "SAFERHUB_AUDIT_KEY_FILE": str(folder / "audit.key")}
    for k, v in values.items():
        (setenv or os.environ.__setitem__)(k, v)
    os.environ.pop("SAFERHUB_TILE_URL", None)


_FACTS: list[Facts] = []
_OWNER = os.getpid()


def _cleanup():
    if _FACTS and os.getpid() == _OWNER:  # not in mutmut's forks
        shutil.rmtree(_FACTS[0].folder, ignore_errors=True)


atexit.register(_cleanup)


def facts() -> Facts:
    if not _FACTS:
        _FACTS.append(_build())
    return _FACTS[0]


class Site:
    """One test's copy of the world: an app on its own hub file."""

    def __init__(self, tmp_path: Path, monkeypatch):
        from saferhub.api import create_app

        self.f = facts()
        _env(self.f.folder, lambda k, v: monkeypatch.setenv(k, v))
        monkeypatch.delenv("SAFERHUB_TILE_URL", raising=False)
        shutil.copy(self.f.folder / "hub.sqlite3", tmp_path / "hub.sqlite3")
        self.engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
        self.sessions = session_factory(self.engine)
        self.app = create_app(engine=self.engine, secret=SECRET)
        self.app.state.login_limit = False

    def browser(self, who: str | None, purpose: str | None = None) -> Browser:
        b = Browser(self.app, self.f.sessions[who] if who else None)
        if purpose:
            b.state_purpose(purpose)
        return b

    def audit(self, since: int = 0) -> list[AuditEvent]:
        with self.sessions() as s:
            return list(s.scalars(select(AuditEvent).where(AuditEvent.seq > since).order_by(AuditEvent.seq)))

    def last_seq(self) -> int:
        rows = self.audit()
        return rows[-1].seq if rows else 0

    def count(self, model, **where) -> int:
        from sqlalchemy import func

        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(model).filter_by(**where))

    def close(self):
        self.engine.dispose()


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    def __init__(self, app, session: str | None):
        self.client = TestClient(app, follow_redirects=False)
        if session:
            self.client.cookies.set("saferhub_session", session)
        self.token = None

    def _seen(self, r):
        if "text/html" in r.headers.get("content-type", ""):
            m = TOKEN.search(r.text)
            if m:
                self.token = m.group(1)
        return r

    def get(self, url: str):
        return self._seen(self.client.get(url))

    def post(self, url: str, data: dict | None = None, csrf: bool | str = True):
        data = dict(data or {})
        if csrf is True:
            if self.token is None:
                self.get("/web/reports")  # any page: its token
            data["csrf_token"] = self.token or ""
        elif isinstance(csrf, str):
            data["csrf_token"] = csrf
        return self._seen(self.client.post(url, data=data))

    def state_purpose(self, purpose: str, next: str = "/web/briefing"):
        r = self.post("/web/purpose", {"purpose": purpose, "next": next})
        assert r.status_code == 303 and r.headers["location"] == next, (r.status_code, r.text[:300])
        return r


class Page(HTMLParser):
    """A page's visible text (by element), its h1, messages, links, form fields and their errors."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.text_parts: list[str] = []
        self.h1 = ""
        self.alerts: list[str] = []      # role=alert (errors)
        self.status: list[str] = []      # role=status (flash)
        self.links: list[str] = []
        self.inputs: dict[str, str] = {}  # name -> value (inputs and textareas)
        self.scripts = 0
        self.by_id: dict[str, str] = {}
        self.lis: list[str] = []          # every <li>'s text (the timeline's entries)
        self.rows: list[str] = []         # every table row's text
        self.cells: list[list[str]] = []  # every table row's cells
        self._row: list[str] = []
        self._capture: list[list] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "script" and a.get("type") != "application/json":
            self.scripts += 1
        if tag == "input" and a.get("name"):
            if a.get("type") not in ("radio", "checkbox") or "checked" in a:
                self.inputs[a["name"]] = a.get("value") or ""
        if tag == "br":
            self.handle_data(" ")
        if tag in ("input", "br", "meta", "link", "img", "hr"):
            return
        self.stack.append((tag, a))
        self._capture.append([tag, a, []])

    def handle_endtag(self, tag):
        while self.stack:
            t, a = self.stack.pop()
            _, _, parts = self._capture.pop()
            text = " ".join("".join(parts).split())
            if self._capture:
                self._capture[-1][2].append("".join(parts))
            if t == "h1":
                self.h1 = text
            if a.get("role") == "alert":
                self.alerts.append(text)
            if a.get("role") == "status":
                self.status.append(text)
            if a.get("id"):
                self.by_id[a["id"]] = text
            if t == "li":
                self.lis.append(text)
            if t in ("td", "th"):
                self._row.append(text)
            if t == "tr":
                self.rows.append(text)
                self.cells.append(self._row)
                self._row = []
            if t == "textarea" and a.get("name"):
                self.inputs[a["name"]] = "".join(parts)
            if t == tag:
                break

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._capture:
            self._capture[-1][2].append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.text_parts).split())


def page(r) -> Page:
    return Page(r.text)


def field_errors(p: Page) -> dict[str, str]:
    """The form's per-field messages (<span id="NAME-error">), by field name."""
    return {k[:-len("-error")]: v for k, v in p.by_id.items() if k.endswith("-error")}
