"""The authorisation matrix, generated from /openapi.json: every route x role x target (a case of
the viewer's agency, another agency's, a locked one, records on no case). A route that is not in
ROUTES below fails the test the day it lands, so every new route gets an access decision.

Canaries: every record holding case content carries `CANARY-<target>-<table>` (the world and who may
read what are shared with the web matrix: matrix_world.py). The scan reads EVERY response, allowed or
not, and fails when a canary shows that `readable()` says the viewer may not see. The expected
access is written here from the rules in `saferhub.hub.access`, independently of its code."""

from __future__ import annotations

import datetime as dt

import pytest

from sqlalchemy import select

from saferhub.hub.models import Action, Case, CaseIncident, MissingEpisode, MissingProfile, Plan

from .matrix_world import (CANARY, CASE_ROLES, LEAD, LEVEL, PASSWORD, TARGETS, VIEWERS, agency, full, may_read,
                           readable, role, w_owner)
from .matrix_world import MISSING_SIGHT, council, police
from .matrix_world import email as _email
from .matrix_world import make_world as _make_world
from .matrix_world import version as _version


# ---------------------------------------------------------------- the expectations table
# Each route: (rule, build). rule(v, t) -> True (allowed) / False (refused, 403 or 404) / None (this
# target does not apply). build(hub, w, v, t) -> (url, json body or None). `t` is None for routes
# that take no record.

def _roles(*roles):
    return lambda v, t: role(v) in roles


def _case(v, t):
    return None if t == "unattached" else full(v, t)


def _ids(w, t):
    return w["ids"][t]


def _scratch(w, v):
    return _ids(w, f"scratch-{'council' if agency(v) == 'council' else 'police'}")["case"]


ANY = lambda v, t: True  # noqa: E731
def _mis(w, t):
    return w["missing"][t]


def _missing_target(rule):
    """Missing records exist for the own and other targets only."""
    return lambda v, t: MISSING_SIGHT[(t, rule)](v) if t in ("own", "other") else None


def _profile_version(hub, mp_id):
    with hub.sessions() as s:
        return s.scalar(select(MissingProfile.version).where(MissingProfile.missing_person_id == mp_id))


CASE_ROLE = _roles(*CASE_ROLES)
ROUTES = {
    "POST /auth/login": (ANY, lambda hub, w, v, t: ("/auth/login", {"email": _email(v), "password": PASSWORD})),
    "POST /auth/logout": (ANY, None),  # run with a throwaway token (see below)
    "GET /me": (ANY, lambda hub, w, v, t: ("/me", None)),
    "GET /health": (ANY, lambda hub, w, v, t: ("/health", None)),
    "GET /agencies": (ANY, lambda hub, w, v, t: ("/agencies", None)),
    "POST /agencies": (_roles("admin"), lambda hub, w, v, t: (
        "/agencies", {"code": f"m-{v}", "name": "M", "kind": "other"})),
    "GET /users": (_roles("admin"), lambda hub, w, v, t: ("/users", None)),
    "POST /users": (_roles("admin"), lambda hub, w, v, t: ("/users", {
        "email": f"new.{v}@test.invalid", "name": "New", "agency_id": w["agency"]["fire"], "role": "analyst",
        "password": "a long enough password"})),
    "PATCH /users/{user_id}": (_roles("admin"), lambda hub, w, v, t: (
        f"/users/{w['users']['analyst.fire']}", {"active": True})),
    "GET /cases": (CASE_ROLE, lambda hub, w, v, t: ("/cases", None)),
    "POST /cases": (CASE_ROLE, lambda hub, w, v, t: ("/cases", {"kind": "asb", "title": "matrix"})),
    "GET /cases/{case_id}": (_case, lambda hub, w, v, t: (f"/cases/{_ids(w, t)['case']}", None)),
    "PATCH /cases/{case_id}": (_case, lambda hub, w, v, t: (
        f"/cases/{_ids(w, t)['case']}", {"version": _version(hub, Case, _ids(w, t)["case"]), "risk": "medium"})),
    "POST /cases/{case_id}/agencies": (_case, lambda hub, w, v, t: (
        f"/cases/{_ids(w, t)['case']}/agencies", {"agency_id": w["agency"][LEAD[t]]})),
    "POST /cases/{case_id}/members": (
        lambda v, t: None if t == "unattached" else full(v, t) and (
            role(v) == "coordinator" or w_owner(v, t)),
        lambda hub, w, v, t: (f"/cases/{_ids(w, t)['case']}/members", {"user_id": _ids(w, t)["owner"]})),
    "POST /locations": (CASE_ROLE, lambda hub, w, v, t: ("/locations", {"description": "matrix place"})),
    "GET /locations/{location_id}": (
        lambda v, t: may_read(v, t, "location"), lambda hub, w, v, t: (f"/locations/{_ids(w, t)['location']}", None)),
    "POST /incidents": (CASE_ROLE, lambda hub, w, v, t: ("/incidents", {"incidents": [
        {"month": "2020-02-01", "category": "Anti-social behaviour"}]})),
    "POST /cases/{case_id}/incidents": (  # linking needs the case in full and sight of the incident
        lambda v, t: may_read(v, t, "incident") and (t == "unattached" or full(v, t)),
        lambda hub, w, v, t: (f"/cases/{_scratch(w, v) if t == 'unattached' else _ids(w, t)['case']}/incidents",
                              {"incident_ids": [_ids(w, t)["incident"]]})),
    "GET /cases/{case_id}/incidents": (_case, lambda hub, w, v, t: (f"/cases/{_ids(w, t)['case']}/incidents", None)),
    "POST /cases/{case_id}/people": (_case, lambda hub, w, v, t: (
        f"/cases/{_ids(w, t)['case']}/people", {"role": "witness", "given_name": "W", "family_name": "X"})),
    "POST /cases/{case_id}/notes": (_case, lambda hub, w, v, t: (
        f"/cases/{_ids(w, t)['case']}/notes", {"person_id": _ids(w, t)["person"], "kind": "opinion", "text": "n"})),
    "GET /people/{person_id}": (_case, lambda hub, w, v, t: (f"/people/{_ids(w, t)['person']}", None)),
    "POST /cases/{case_id}/referrals": (_case, lambda hub, w, v, t: (f"/cases/{_ids(w, t)['case']}/referrals", {
        "to_agency_id": w["agency"]["fire"], "kind": "designing_out_crime", "reason": "r", "legal_gateway": "g"})),
    "GET /referrals": (CASE_ROLE, lambda hub, w, v, t: ("/referrals?box=out" if agency(v) != "fire" else "/referrals",
                                                        None)),
    "POST /referrals/{referral_id}/response": (
        lambda v, t: None if t == "unattached" else role(v) in CASE_ROLES and agency(v) == "fire",
        lambda hub, w, v, t: (f"/referrals/{_ids(w, t)['referral']}/response", {"accept": False, "reason": "no"})),
    "POST /cases/{case_id}/actions": (_case, lambda hub, w, v, t: (f"/cases/{_ids(w, t)['case']}/actions",
                                                                   {"title": "follow up"})),
    "GET /cases/{case_id}/actions": (_case, lambda hub, w, v, t: (f"/cases/{_ids(w, t)['case']}/actions", None)),
    "PATCH /actions/{action_id}": (_case, lambda hub, w, v, t: (f"/actions/{_ids(w, t)['action']}", {
        "version": _version(hub, Action, _ids(w, t)["action"]), "outcome": "checked"})),
    "GET /actions/overdue": (CASE_ROLE, lambda hub, w, v, t: ("/actions/overdue", None)),
    "GET /risk/questionnaires": (ANY, lambda hub, w, v, t: ("/risk/questionnaires", None)),
    "POST /cases/{case_id}/risk-assessments": (_case, lambda hub, w, v, t: (
        f"/cases/{_ids(w, t)['case']}/risk-assessments", {"answers": {k: False for k in (
            "repeat", "targeted", "hate", "disability", "mental_health", "alone", "afraid_home", "children",
            "daily_life", "retaliation")}})),
    "POST /cases/{case_id}/asb-powers": (_case, lambda hub, w, v, t: (f"/cases/{_ids(w, t)['case']}/asb-powers", {
        "power": "pspo", "issued_at": dt.datetime.now(dt.timezone.utc).isoformat(), "grounds": "g"})),
    "GET /asb/alerts": (CASE_ROLE, lambda hub, w, v, t: ("/asb/alerts", None)),
    "POST /asb/case-reviews": (
        lambda v, t: role(v) in CASE_ROLES and (t == "unattached" or full(v, t)),
        lambda hub, w, v, t: ("/asb/case-reviews", {"applicant_ref": "m", "received_on": "2021-06-01",
                                                    "case_id": _ids(w, t).get("case")})),
    "POST /asb/case-reviews/{app_id}/decision": (
        lambda v, t: role(v) == "coordinator" and (t == "unattached" or full(v, t)),
        lambda hub, w, v, t: (f"/asb/case-reviews/{_ids(w, t)['app']}/decision", {"recommendations": "r"})),
    "GET /asb/case-reviews/publication": (_roles("coordinator", "analyst", "admin"), lambda hub, w, v, t: (
        "/asb/case-reviews/publication?year=2021", None)),
    "POST /rules/run": (_roles("coordinator", "analyst", "admin"), lambda hub, w, v, t: ("/rules/run", {})),
    "GET /rules/flags": (_roles("coordinator", "analyst"), lambda hub, w, v, t: ("/rules/flags", None)),
    "POST /plans": (lambda v, t: role(v) in CASE_ROLES and (t == "unattached" or full(v, t)),
                    lambda hub, w, v, t: ("/plans", {"title": "p", "objective": "o",
                                                     "case_id": _ids(w, t).get("case")})),
    "GET /plans/{plan_id}": (lambda v, t: may_read(v, t, "plan"),
                             lambda hub, w, v, t: (f"/plans/{_ids(w, t)['plan']}", None)),
    "PUT /plans/{plan_id}/stage": (lambda v, t: may_read(v, t, "plan"), lambda hub, w, v, t: (
        f"/plans/{_ids(w, t)['plan']}/stage", {"version": _version(hub, Plan, _ids(w, t)["plan"]), "stage": "scanning",
                                               "content": {"problem": "p", "baseline": {"count": 1}}})),
    # no such run: allowed viewers get 400 ("no evaluation run"), refused ones 403/404 first
    "PUT /plans/{plan_id}/assessment/evaluation": (lambda v, t: may_read(v, t, "plan"), lambda hub, w, v, t: (
        f"/plans/{_ids(w, t)['plan']}/assessment/evaluation",
        {"version": _version(hub, Plan, _ids(w, t)["plan"]), "run_id": "EV-000000"})),
    "POST /plans/{plan_id}/advance": (lambda v, t: may_read(v, t, "plan"),
                                      lambda hub, w, v, t: (f"/plans/{_ids(w, t)['plan']}/advance", None)),
    "GET /plans/{plan_id}/export": (lambda v, t: may_read(v, t, "plan"),
                                    lambda hub, w, v, t: (f"/plans/{_ids(w, t)['plan']}/export", None)),
    "PUT /plans/{plan_id}/public": (lambda v, t: role(v) == "coordinator" and may_read(v, t, "plan"), lambda hub, w, v, t: (
        f"/plans/{_ids(w, t)['plan']}/public", {"version": _version(hub, Plan, _ids(w, t)["plan"]), "public": True,
                                                "title": "Street drinking", "done": "Patrols", "outcome": "Fewer calls"})),
    "POST /missing/homes": (lambda v, t: police(v) or council(v), lambda hub, w, v, t: (
        "/missing/homes", {"kind": "foster_home", "name": "matrix home"})),
    "GET /missing/homes": (CASE_ROLE, lambda hub, w, v, t: ("/missing/homes", None)),
    "POST /missing/homes/{home_id}/staff": (  # the operator's coordinator: the council runs the other home
        lambda v, t: (v == "coordinator.council" and t == "other") if t in ("own", "other") else None,
        lambda hub, w, v, t: (f"/missing/homes/{_mis(w, t)['home']}/staff", {"user_id": w["users"]["staff.council"]})),
    "GET /missing/homes/{home_id}/pattern": (_missing_target("home"), lambda hub, w, v, t: (
        f"/missing/homes/{_mis(w, t)['home']}/pattern", None)),
    "POST /missing/people": (lambda v, t: police(v) or council(v), lambda hub, w, v, t: (
        "/missing/people", {"given_name": "Matrix", "family_name": "Child"})),
    "GET /missing/people": (CASE_ROLE, lambda hub, w, v, t: ("/missing/people", None)),
    "GET /missing/people/{missing_person_id}": (_missing_target("child"), lambda hub, w, v, t: (
        f"/missing/people/{_mis(w, t)['mp']}", None)),
    "POST /missing/people/{missing_person_id}/episodes": (_missing_target("home"), lambda hub, w, v, t: (
        f"/missing/people/{_mis(w, t)['mp']}/episodes", {"home_id": _mis(w, t)["home"],
                                                        "reported_at": "2023-06-01T21:00:00+00:00"})),
    "PATCH /missing/episodes/{episode_id}": (_missing_target("episode"), lambda hub, w, v, t: (
        f"/missing/episodes/{_mis(w, t)['episode']}",
        {"version": _version(hub, MissingEpisode, _mis(w, t)["episode"]), "interview_declined": False})),
    "PUT /missing/people/{missing_person_id}/profile": (_missing_target("profile"), lambda hub, w, v, t: (
        f"/missing/people/{_mis(w, t)['mp']}/profile",
        {"version": _profile_version(hub, _mis(w, t)["mp"]), "health": "checked"})),
    "GET /missing/people/{missing_person_id}/profile": (_missing_target("profile"), lambda hub, w, v, t: (
        f"/missing/people/{_mis(w, t)['mp']}/profile", None)),
    "GET /missing/found-places": (lambda v, t: police(v), lambda hub, w, v, t: ("/missing/found-places", None)),
    "GET /missing/shares": (_roles("coordinator", "analyst"), lambda hub, w, v, t: ("/missing/shares", None)),
    "POST /missing/rules/run": (_roles("coordinator"), lambda hub, w, v, t: ("/missing/rules/run", None)),
    "GET /missing/alerts": (CASE_ROLE, lambda hub, w, v, t: ("/missing/alerts", None)),
    "GET /audit/verify": (_roles("admin"), lambda hub, w, v, t: ("/audit/verify", None)),
    "GET /audit/export": (_roles("admin"), lambda hub, w, v, t: ("/audit/export?format=json", None)),
}
def _unlink(hub, w):
    from sqlalchemy import delete

    with hub.sessions() as s:
        s.execute(delete(CaseIncident).where(CaseIncident.incident_id == w["ids"]["unattached"]["incident"]))
        s.commit()


def _takes_record(path):
    return "{" in path or path in ("/plans", "/asb/case-reviews")


def run_matrix(hub, partnership):
    """Every route x viewer x target; returns the list of problems."""
    w = _make_world(hub, partnership)
    spec = hub.client.get("/openapi.json").json()
    routes = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]
    problems = [f"{m} {p}: not in the expectations table" for m, p in routes if f"{m} {p}" not in ROUTES]
    problems += [f"{k}: in the table but not in /openapi.json" for k in ROUTES
                 if tuple(k.split(" ", 1)) not in routes]
    n = 0
    for v in VIEWERS:
        h = hub.headers(_email(v), "authorisation matrix")
        for method, path in routes:
            rule, build = ROUTES.get(f"{method} {path}", (None, None))
            if rule is None:
                continue
            for t in (TARGETS if _takes_record(path) else (None,)):
                want = rule(v, t)
                if want is None:
                    continue
                if build is None:  # logout: a throwaway token, so the matrix's own stays valid
                    r = hub.client.post("/auth/logout", headers=hub.login(_email(v)))
                else:
                    url, body = build(hub, w, v, t)
                    r = hub.client.request(method, url, json=body, headers=h)
                if path == "/cases/{case_id}/incidents" and method == "POST" and t == "unattached":
                    _unlink(hub, w)  # each viewer meets the incident on no case, as recorded
                n += 1
                where = f"{v} {method} {path} [{t}]"
                stub = method == "GET" and path == "/cases/{case_id}" and LEVEL.get(v, {}).get(t) == "stub"
                if r.status_code >= 500:
                    problems.append(f"{where}: {r.status_code} {r.text[:150]}")
                elif stub:
                    if r.status_code != 200 or r.json().get("access") != "stub":
                        problems.append(f"{where}: expected a stub, got {r.status_code} {r.text[:150]}")
                elif want and r.status_code in (401, 403, 404):
                    problems.append(f"{where}: refused ({r.status_code} {r.text[:150]}), expected allowed")
                elif not want and r.status_code not in (403, 404):
                    problems.append(f"{where}: {r.status_code}, expected 403 or 404 ({r.text[:150]})")
                leaked = set(CANARY.findall(r.text)) - readable(v)
                if leaked:
                    problems.append(f"{where}: LEAK {sorted(leaked)}")
    assert n > 400, n  # the matrix really ran
    return problems


@pytest.mark.slow  # about 1,100 requests: 20-45 s per database on a loaded 2-core machine
def test_generated_authorisation_matrix(hub, partnership):
    problems = run_matrix(hub, partnership)
    assert problems == [], "\n".join(problems[:60])
