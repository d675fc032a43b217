"""The authorisation matrix for the web, generated from the app's own routes (everything that is not
in /openapi.json: the /web/ pages, their forms, the report files, the docs pages): route x viewer
(every role of two agencies, a second caseworker, a third agency's caseworker, no one signed in) x
target (own agency's case, another agency's, a locked one, records on no case; report files by
kind; published layers). A route that is not in WEB_ROUTES fails test_every_web_route_has_a_rule
the day it lands, as in the API matrix.

Each cell signs in through the real form, states a purpose through the real /web/purpose form, and
checks:
- the access decision (allowed: the page or file; refused: 403/404, or the sign-in page when no one
  is signed in); a form is "allowed" exactly when it wrote (an audit row of a write by the viewer),
  and a refused form leaves every hub table as it was;
- no canary the viewer may not read, in any body (HTML, JSON, GeoJSON, report files, the briefing
  PDF's text);
- the audit: every readable canary a response showed is covered by a read row of this request, by
  this viewer, with the stated purpose; every report file opened is logged.
The expected access is matrix_world's (shared with the API matrix), plus the report-file rule:
files under <out>/patrol-plan/ (future patrol times, routes, the team briefing) are for police
coordinators, caseworkers and analysts; other reports for anyone signed in.

Cells that fail on today's code because of issue 19 items 1-3 are marked xfail(strict): they must
flip when the fix (branch gate-pages) lands."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from fastapi.routing import iter_route_contexts

from saferhub.web import HERE as WEB_DIR

from .matrix_world import MISSING_SIGHT
from .matrix_world import (CANARY, CASE_ROLES, LEVEL, OWNER, PASSWORD, TARGETS, VIEWERS, agency, audit_head,
                           audit_rows, email, full, make_world, may_read, module_hub, readable, role, snapshot)

pytestmark = pytest.mark.slow
ANON = "anonymous.none"
WEB_VIEWERS = VIEWERS + [ANON]
PURPOSE = "web matrix check as {v}"
ENTITY = {"case": "case", "person": "person", "note": "note", "action": "action", "referral": "referral",
          "power": "asb_power", "plan": "plan", "incident": "incident", "location": "location",
          "review": "case_review", "flag": "rule_flag", "found": "missing_found"}
REPORT_CLASSES = ("patrol", "report", "evaluation")
REPORT_TOKEN = {"patrol": "CANARY-patrol-plan", "report": "CANARY-report", "evaluation": "CANARY-report"}


def signed_in(v):
    return v != ANON


def may_open_report(v, kind):
    """Report files: <out>/patrol-plan/ for police coordinators, caseworkers, analysts; the rest for
    anyone signed in."""
    if kind == "patrol":
        return agency(v) == "police" and role(v) in ("coordinator", "caseworker", "analyst")
    return signed_in(v)


def visible(v):
    """Every canary v may see: matrix_world's records plus the report files' tokens."""
    return readable(v) | {REPORT_TOKEN[k] for k in REPORT_CLASSES if may_open_report(v, k)}


# ---------------------------------------------------------------- the expectations table
# rule(v, t) -> True (allowed) / False (refused) / "stub" / None (target does not apply)
# build(ctx, v, t) -> (method, url, form or None), or a list of them (one per file / layer)


@dataclass
class Route:
    rule: Callable
    build: Callable | None
    targets: tuple = (None,)
    write: bool = False        # a form: allowed means it wrote, refused means nothing changed
    redirect: bool = False     # allowed answers 303 (the front door, the sign-in form)
    unpublished: bool = False  # allowed may also be 404 "not published yet" (the public pages)


ANY = lambda v, t: True  # noqa: E731
SIGNED = lambda v, t: signed_in(v)  # noqa: E731


def _roles(*roles):
    return lambda v, t: role(v) in roles


def _case(v, t):
    """The case page: in full, a locked case's stub, or refused (404)."""
    return {"full": True, "stub": "stub"}.get(LEVEL.get(v, {}).get(t), False)


def _ids(ctx, t):
    return ctx.w["ids"][t]


def _static(ctx, v, t):
    root = WEB_DIR / "static"
    return [("GET", f"/web/static/{p.relative_to(root)}", None) for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in (".css", ".js")][:3]


def _layers(ctx, v, t):
    folder = Path(ctx.env["SAFERHUB_STORE"]) / "products"
    return [("GET", f"/web/layers/{p.stem}.geojson", None) for p in sorted(folder.glob("*.geojson"))]


def _report_files(ctx, v, t):
    """Every file in the out folder and the evaluations folder, of this kind."""
    out, ev = Path(ctx.env["SAFERHUB_OUT"]), Path(ctx.env["SAFERHUB_STORE"]) / "evaluations"
    files = [("out", p.relative_to(out)) for p in out.rglob("*") if p.is_file()]
    files += [("evaluations", p.relative_to(ev)) for p in ev.rglob("*") if p.is_file()]
    return [("GET", f"/web/reports/{base}/{rel}", None) for base, rel in sorted(files)
            if _report_kind(base, str(rel)) == t]


def _report_kind(base, rel):
    return "evaluation" if base == "evaluations" else "patrol" if rel.startswith("patrol-plan/") else "report"


def _plan_version(ctx, t):
    from sqlalchemy import select

    from saferhub.hub.models import Plan

    with ctx.hub.sessions() as s:
        return s.scalar(select(Plan.version).where(Plan.id == _ids(ctx, t)["plan"]))


WEB_ROUTES = {
    "GET /web/login": Route(ANY, lambda ctx, v, t: ("GET", "/web/login", None)),
    "POST /web/login": Route(ANY, None),  # a throwaway browser signs in (see _special)
    "POST /web/logout": Route(ANY, None),  # a throwaway browser signs in and out
    "GET /web/": Route(SIGNED, lambda ctx, v, t: ("GET", "/web/", None), redirect=True),
    "GET /web/static/{path:path}": Route(ANY, _static),
    "POST /web/purpose": Route(SIGNED, lambda ctx, v, t: (
        "POST", "/web/purpose", {"purpose": PURPOSE.format(v=v), "next": "/web/cases"}), redirect=True),
    "GET /web/map": Route(SIGNED, lambda ctx, v, t: ("GET", "/web/map", None)),
    "GET /web/layers/{name}.geojson": Route(SIGNED, _layers),
    # found: where missing children were found (police only; others get an empty layer). The world's
    # episodes are from 2024, so ask for ten years (the map's default is one)
    "GET /web/hub-layers/{kind}.geojson": Route(SIGNED, lambda ctx, v, t: (
        "GET", f"/web/hub-layers/{t}.geojson" + ("?days=3650" if t == "found" else ""), None),
        targets=("cases", "plans", "found")),
    "GET /web/briefing": Route(SIGNED, lambda ctx, v, t: ("GET", "/web/briefing", None)),
    "GET /web/briefing.pdf": Route(SIGNED, lambda ctx, v, t: ("GET", "/web/briefing.pdf", None)),
    "GET /web/cases": Route(lambda v, t: role(v) in CASE_ROLES, lambda ctx, v, t: ("GET", "/web/cases", None)),
    "GET /web/cases/new": Route(SIGNED, lambda ctx, v, t: ("GET", "/web/cases/new", None)),
    "POST /web/cases/new": Route(lambda v, t: role(v) in CASE_ROLES, lambda ctx, v, t: (
        "POST", "/web/cases/new", {"kind": "asb", "title": "web matrix case", "risk": "standard"}), write=True),
    "GET /web/cases/{case_id}": Route(_case, lambda ctx, v, t: ("GET", f"/web/cases/{_ids(ctx, t)['case']}", None),
                                      targets=TARGETS[:3]),
    "POST /web/cases/{case_id}/referrals": Route(lambda v, t: full(v, t), lambda ctx, v, t: (
        "POST", f"/web/cases/{_ids(ctx, t)['case']}/referrals",
        {"to_agency_id": str(ctx.w["agency"]["fire"]), "kind": "other", "reason": "web matrix referral",
         "legal_gateway": "CDA 1998 s115"}), targets=TARGETS[:3], write=True),
    "POST /web/cases/{case_id}/actions": Route(lambda v, t: full(v, t), lambda ctx, v, t: (
        "POST", f"/web/cases/{_ids(ctx, t)['case']}/actions", {"title": "web matrix action"}),
        targets=TARGETS[:3], write=True),
    "POST /web/cases/{case_id}/notes": Route(lambda v, t: full(v, t), lambda ctx, v, t: (
        "POST", f"/web/cases/{_ids(ctx, t)['case']}/notes",
        {"person_id": str(_ids(ctx, t)["person"]), "kind": "fact", "text": "web matrix note"}),
        targets=TARGETS[:3], write=True),
    # give the case a location by coordinates (the world publishes no boundaries: any point in Great Britain)
    "POST /web/cases/{case_id}/location": Route(lambda v, t: full(v, t), lambda ctx, v, t: (
        "POST", f"/web/cases/{_ids(ctx, t)['case']}/location", {"lat": "53.4070", "lon": "-2.9916"}),
        targets=TARGETS[:3], write=True),
    "GET /web/referrals": Route(lambda v, t: role(v) in CASE_ROLES, lambda ctx, v, t: ("GET", "/web/referrals", None)),
    # the receiving agency (fire) answers; each cell answers a fresh referral of the target case
    "POST /web/referrals/{referral_id}": Route(
        lambda v, t: role(v) in CASE_ROLES and agency(v) == "fire",
        lambda ctx, v, t: ("POST", f"/web/referrals/{ctx.fresh_referral(t)}",
                           {"decision": "decline", "reason": "web matrix: not for us"}),
        targets=TARGETS[:3], write=True),
    "GET /web/plans": Route(lambda v, t: role(v) in CASE_ROLES, lambda ctx, v, t: ("GET", "/web/plans", None)),
    "GET /web/plans/{plan_id}": Route(lambda v, t: may_read(v, t, "plan"),
                                      lambda ctx, v, t: ("GET", f"/web/plans/{_ids(ctx, t)['plan']}", None),
                                      targets=TARGETS),
    # publish the plan's "you said, we did" summary (PUT /plans/{id}/public's rule: coordinators who read it)
    "POST /web/plans/{plan_id}/public": Route(lambda v, t: role(v) == "coordinator" and may_read(v, t, "plan"),
                                              lambda ctx, v, t: (
        "POST", f"/web/plans/{_ids(ctx, t)['plan']}/public",
        {"version": str(_plan_version(ctx, t)), "public": "yes", "title": "Street drinking", "done": "Patrols",
         "outcome": "Fewer calls"}), targets=TARGETS, write=True),
    "GET /web/missing": Route(lambda v, t: role(v) in CASE_ROLES, lambda ctx, v, t: ("GET", "/web/missing", None)),
    "GET /web/missing/people/{mp_id}": Route(lambda v, t: MISSING_SIGHT[(t, "child")](v), lambda ctx, v, t: (
        "GET", f"/web/missing/people/{ctx.w['missing'][t]['mp']}", None), targets=("own", "other")),
    # record an episode (the API's POST /missing/people/{id}/episodes rule: sight of the child and the home)
    "POST /web/missing/people/{mp_id}/episodes": Route(lambda v, t: MISSING_SIGHT[(t, "home")](v), lambda ctx, v, t: (
        "POST", f"/web/missing/people/{ctx.w['missing'][t]['mp']}/episodes",
        {"home_id": str(ctx.w["missing"][t]["home"]), "reported_at": "2023-06-01T21:00"}),
        targets=("own", "other"), write=True),
    "GET /web/missing/homes/{home_id}": Route(lambda v, t: MISSING_SIGHT[(t, "home")](v), lambda ctx, v, t: (
        "GET", f"/web/missing/homes/{ctx.w['missing'][t]['home']}", None), targets=("own", "other")),
    "GET /web/reports": Route(SIGNED, lambda ctx, v, t: ("GET", "/web/reports", None)),
    "GET /web/reports/{base}/{name:path}": Route(lambda v, t: may_open_report(v, t), _report_files,
                                                 targets=REPORT_CLASSES),
    "GET /web/admin/audit": Route(_roles("admin"), lambda ctx, v, t: ("GET", "/web/admin/audit", None)),
    "GET /web/admin/users": Route(_roles("admin"), lambda ctx, v, t: ("GET", "/web/admin/users", None)),
    "POST /web/admin/users/{user_id}": Route(_roles("admin"), lambda ctx, v, t: (
        "POST", f"/web/admin/users/{ctx.w['users']['analyst.fire']}", {"active": "true"}), write=True),
    # the public neighbourhood pages: anyone, signed in or not; aggregates and approved summaries only
    # (their content and privacy scan: tests/community)
    "GET /public/": Route(ANY, lambda ctx, v, t: ("GET", "/public/", None), unpublished=True),
    "GET /public/survey": Route(ANY, lambda ctx, v, t: ("GET", "/public/survey", None), unpublished=True),
    "GET /public/{slug}": Route(ANY, lambda ctx, v, t: ("GET", "/public/everton", None), unpublished=True),
    "GET /public/charts/{name:path}": Route(ANY, lambda ctx, v, t: ("GET", "/public/charts/everton.png", None),
                                            unpublished=True),
    "GET /public/csv/{name}": Route(ANY, lambda ctx, v, t: ("GET", "/public/csv/neighbourhoods.csv", None),
                                    unpublished=True),
    # the API's documentation pages: public, no records
    "GET /openapi.json": Route(ANY, lambda ctx, v, t: ("GET", "/openapi.json", None)),
    "GET /docs": Route(ANY, lambda ctx, v, t: ("GET", "/docs", None)),
}

def _cells():
    for key, route in WEB_ROUTES.items():
        for v in WEB_VIEWERS:
            for t in route.targets:
                if route.rule(v, t) is None:
                    continue
                yield pytest.param(key, v, t, id=f"{key} {v} {t or ''}".strip())


CELLS = list(_cells())


# ---------------------------------------------------------------- the world


class Ctx:
    def __init__(self, hub, env, world):
        self.hub, self.env, self.w = hub, env, world
        self.users: dict = {}

    def user(self, v):
        """v's browser: signed in through the form, purpose stated through the form."""
        from .web_client import WebUser

        if v not in self.users:
            if signed_in(v):
                u = WebUser(self.hub.client.app, email(v), PASSWORD)
                u.state_purpose(PURPOSE.format(v=v))
            else:
                u = WebUser(self.hub.client.app, None, None)
            self.users[v] = u
        return self.users[v]

    def served(self) -> set[str]:
        """Report files the listing links to, for anyone: a file no one is shown (a kind the hub
        does not serve) must answer 404 to everyone."""
        if not hasattr(self, "_served"):
            self._served = {m for v in WEB_VIEWERS if signed_in(v)
                            for m in re.findall(r'href="(/web/reports/[^"]+)"', self.user(v).get("/web/reports").text)}
        return self._served

    def fresh_referral(self, t):
        h = self.hub.headers(email(OWNER[t]))
        r = self.hub.client.post(f"/cases/{_ids(self, t)['case']}/referrals", headers=h, json={
            "to_agency_id": self.w["agency"]["fire"], "kind": "other", "reason": f"CANARY-{t}-referral",
            "legal_gateway": "CDA 1998 s115"})
        assert r.status_code == 201, r.text
        return r.json()["id"]


def _report_files_on_disk(env):
    out, store = Path(env["SAFERHUB_OUT"]), Path(env["SAFERHUB_STORE"])
    patrol = out / "patrol-plan"
    patrol.mkdir(parents=True)
    token = REPORT_TOKEN["patrol"]
    (patrol / "briefing.html").write_text(f"<!doctype html><title>Patrol briefing</title><p>{token} Team A Tue "
                                          "14:30 Church Street</p>")
    (patrol / "route-Team_A.gpx").write_text(f'<?xml version="1.0"?><gpx><trk><name>{token}</name></trk></gpx>')
    (patrol / "schedule.csv").write_text(f"team,start,area\nTeam A,{token},Church Street\n")
    (patrol / "plan.png").write_bytes(b"\x89PNG\r\n\x1a\n" + token.encode())
    from weasyprint import HTML

    (patrol / "briefing.pdf").write_bytes(HTML(string=f"<h1>Patrol briefing</h1><p>{token}</p>").write_pdf())
    (out / "hotspots.html").write_text(f"<!doctype html><title>Hotspots</title><p>{REPORT_TOKEN['report']}</p>")
    (out / "forecast").mkdir()
    (out / "forecast" / "forecast.html").write_text(f"<p>{REPORT_TOKEN['report']} forecast</p>")
    (out / "patrol-dosage.html").write_text(f"<p>{REPORT_TOKEN['report']} yesterday's dosage</p>")
    (store / "evaluations").mkdir()
    (store / "evaluations" / "EV-000001.html").write_text(f"<p>{REPORT_TOKEN['report']} evaluation</p>")
    (store / "products" / "wards.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point",'
        '"coordinates":[-2.98,53.41]},"properties":{"name":"CANARY-report ward"}}]}')
    # a force's layer from `saferhub national run --layers`, offered by the map's force chooser:
    # served by the same layer route, to anyone signed in (issue 23)
    (store / "products" / "national-synthetic-01-hotspots-grip-gistar.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point",'
        '"coordinates":[-3.98,53.41]},"properties":{"gi_bin":3,"street":"CANARY-report street"}}]}')
    (store / "products" / "national-map-layers.json").write_text(
        '{"layers":[{"force":"synthetic-01","name":"national-synthetic-01-hotspots-grip-gistar","group":"hotspots",'
        '"method":"gistar","categories":"grip","cell_size":150,"hot_bounds":[[53.4,-4.0],[53.42,-3.96]]}]}')


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def web(request, tmp_path_factory):
    from .conftest import make_partnership

    gen = module_hub(request, tmp_path_factory, request.param)
    hub, env = next(gen)
    _report_files_on_disk(env)
    ctx = Ctx(hub, env, make_world(hub, make_partnership(hub)))
    yield ctx
    next(gen, None)


@pytest.fixture(autouse=True)
def audit_key_file(web, monkeypatch):
    """This module's hub is shared by its tests: its key file and folders, not one per test."""
    for k, v in web.env.items():
        monkeypatch.setenv(k, v)


# ---------------------------------------------------------------- the checks


def _shown(text):
    return set(CANARY.findall(text))


def _record(ctx, canary):
    """(entity, id, case id) of a record canary, or None for report tokens."""
    m = re.fullmatch(r"CANARY-(own|other|locked|unattached)-([a-z]+)", canary)
    if not m or m.group(2) not in ENTITY:
        return None
    ids = ctx.w["ids"][m.group(1)]
    rid = {"review": ids.get("app"), "note": None, "flag": None,  # found: logged by its episode
           "found": ctx.w.get("missing", {}).get(m.group(1), {}).get("episode")}.get(m.group(2), ids.get(m.group(2)))
    return ENTITY[m.group(2)], rid, ids.get("case")


def _covered(rows, uid, purpose, entity, rid, case_id) -> bool:
    for r in rows:
        if r.user_id != uid or r.action != "read" or r.purpose != purpose:
            continue
        ids = set(r.entity_ids.split(",")) if r.entity_ids else set()
        if r.entity == entity and (rid is None or str(rid) in ids):
            return True
        if entity in ("person", "note") and r.entity == "case" and str(case_id) in ids:
            return True  # the case page lists its people; the case row names them (detail.people)
    return False


def check_cell(ctx, key, v, t) -> list[str]:
    route = WEB_ROUTES[key]
    want = route.rule(v, t)
    u = ctx.user(v)
    uid = ctx.w["users"].get(v)
    problems = []
    if route.build is None:
        return _special(ctx, key, v)
    reqs = route.build(ctx, v, t)
    reqs = reqs if isinstance(reqs, list) else [reqs]
    assert reqs, f"{key} [{t}]: nothing to request (the fixture should have made some)"
    rule_want = want
    for method, url, form in reqs:
        want = rule_want
        where = f"{v} {method} {url}"
        if key == "GET /web/reports/{base}/{name:path}" and url not in ctx.served():
            want = False  # not a kind of file the hub serves
        before = snapshot(ctx.hub) if route.write else None
        seq = before["audit"] if before else audit_head(ctx.hub)
        r = u.get(url) if method == "GET" else u.post(url, form)
        rows = audit_rows(ctx.hub, seq)
        text = _body(r)
        if r.status_code >= 500:
            problems.append(f"{where}: {r.status_code}")
            continue
        login = r.status_code == 303 and r.headers.get("location", "").split("?next=")[0].endswith("/web/login")
        if not signed_in(v) and url.startswith("/web/") and url not in ("/web/login",) \
                and not url.startswith("/web/static/"):
            if not (login or (method == "POST" and r.status_code in (401, 403))):
                problems.append(f"{where}: {r.status_code}, expected the sign-in page")
            want = False
        elif route.write:
            wrote = [x for x in rows if x.user_id == uid and x.action != "read"]
            after = snapshot(ctx.hub)
            if want and not wrote:
                problems.append(f"{where}: refused ({r.status_code}: {_gist(text)}), expected a write")
            if not want:
                if wrote:
                    problems.append(f"{where}: WROTE {[(x.action, x.entity) for x in wrote]}, expected refused")
                changed = {k: (before[k], after[k]) for k in before if k != "audit" and before[k] != after[k]}
                if changed:
                    problems.append(f"{where}: refused but rows changed {changed}")
        elif want is True and r.status_code != (303 if route.redirect else 200) \
                and not (route.unpublished and r.status_code == 404):
            problems.append(f"{where}: {r.status_code} ({_gist(text)}), expected allowed")
        elif want == "stub" and (r.status_code != 200 or not any(x.entity == "case_stub" for x in rows)):
            problems.append(f"{where}: expected the locked case's stub (logged), got {r.status_code}")
        elif want is False and r.status_code not in (403, 404):
            problems.append(f"{where}: {r.status_code} ({_gist(text)}), expected 403 or 404")
        leaked = _shown(text) - visible(v)
        if key == "GET /web/reports" and "patrol-plan/" in text and not may_open_report(v, "patrol"):
            leaked.add("the patrol-plan files' names")
        if leaked:
            problems.append(f"{where}: LEAK {sorted(leaked)}")
        purpose = PURPOSE.format(v=v)
        for c in sorted(_shown(text) & visible(v)):
            rec = _record(ctx, c)
            if rec and not _covered(rows, uid, purpose, *rec):
                problems.append(f"{where}: showed {c} with no audit read row ({rec[0]} {rec[1]}, purpose {purpose!r})")
        if key == "GET /web/reports/{base}/{name:path}" and want and r.status_code == 200 \
                and not any(x.user_id == uid for x in rows):
            problems.append(f"{where}: opened a report file without an audit row")
    return problems


def _special(ctx, key, v):
    """Sign in and sign out with throwaway browsers, so the cell's own session stays valid."""
    from .web_client import WebUser

    app = ctx.hub.client.app
    if not signed_in(v):
        b = WebUser(app, None, None)
        r = b.post("/web/login", {"email": "nobody@test.invalid", "password": "not the password"})
        if key == "POST /web/logout":
            r = b.post("/web/logout", {})
            return [] if r.status_code == 303 else [f"{v} logout: {r.status_code}"]
        return [] if r.status_code == 401 else [f"{v} login with a wrong password: {r.status_code}, expected 401"]
    b = WebUser(app, email(v), PASSWORD)  # asserts the 303 and the session
    if key == "POST /web/logout":
        r = b.post("/web/logout", {})
        again = b.get("/web/briefing")
        if r.status_code != 303 or again.status_code != 303:
            return [f"{v} logout: {r.status_code}, then the briefing answered {again.status_code}"]
    return []


def _body(r):
    from .web_client import body_text

    text = body_text(r)
    if r.headers.get("content-type", "").startswith("application/pdf") and r.status_code == 200:
        # both PDFs (the daily briefing, the patrol briefing) say "briefing"
        assert "briefing" in text.lower(), "the PDF's text could not be read: the scan would be blind"
    return text


def _gist(text):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))[-160:]


# ---------------------------------------------------------------- the tests


def test_every_web_route_has_a_rule(web):
    """Every route of the app that /openapi.json does not list is in WEB_ROUTES, and back."""
    spec = web.hub.client.get("/openapi.json").json()
    documented = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
    routes = {f"{m} {r.path}" for r in iter_route_contexts(web.hub.client.app.routes) for m in (r.methods or ())
              if m != "HEAD"}
    missing = sorted(routes - documented - set(WEB_ROUTES))
    stale = sorted(set(WEB_ROUTES) - routes)
    assert not missing, f"web routes with no access rule in WEB_ROUTES: {missing}"
    assert not stale, f"in WEB_ROUTES but not served: {stale}"


@pytest.mark.parametrize(("key", "v", "t"), CELLS)
def test_web_matrix(web, key, v, t):
    problems = check_cell(web, key, v, t)
    assert problems == [], "\n".join(problems[:20])


def test_matrix_is_big_enough():
    assert len(CELLS) > 300, len(CELLS)
    assert {k for k, *_ in (c.values for c in CELLS)} == set(WEB_ROUTES)


def test_pdf_text_reads_weasyprint():
    """The PDF scan reads what WeasyPrint wrote (else a canary in the briefing PDF would pass unseen)."""
    from weasyprint import HTML

    from .web_client import pdf_text

    pdf = HTML(string="<h1>Brief</h1><table><tr><td>CANARY-own-incident</td></tr></table>"
                      "<p><b>Zoë</b> ² CANARY-locked-case</p>"
                      "<p style='width:4em'>CANARY-unattached-incident</p>").write_pdf()  # wraps at its hyphens
    text = pdf_text(pdf)
    assert {"CANARY-own-incident", "CANARY-locked-case", "CANARY-unattached-incident"} == _shown(text), text
    assert "Zoë" in text, text


def test_audit_cover_rule():
    """The audit check itself can fail: a row for another id, user or purpose does not count."""
    from types import SimpleNamespace as R

    rows = [R(user_id=1, action="read", purpose="p", entity="incident", entity_ids="5,6")]
    assert _covered(rows, 1, "p", "incident", 6, 1)
    assert not _covered(rows, 1, "p", "incident", 7, 1)
    assert not _covered(rows, 2, "p", "incident", 6, 1)
    assert not _covered(rows, 1, "q", "incident", 6, 1)
    assert not _covered(rows, 1, "p", "plan", 6, 1)
