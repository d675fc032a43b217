"""What the generated authorisation matrices share (the API's, test_hub_matrix_generated.py, and the
web's, test_web_matrix_generated.py): the viewers, the targets, the world of records with canary
strings, and who may read which canary. The expected access is written here from the rules in
`saferhub.hub.access`, independently of its code.

Canaries: every hub table holding case content (case, person, note, action, referral, power, plan,
incident, location, Case Review application, rule flag) carries `CANARY-<target>-<table>`."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from sqlalchemy import func, insert, select

from saferhub.hub.models import AuditEvent, Base, CaseIncident, CaseReviewApplication, Incident, RuleFlag

from .conftest import PASSWORD  # noqa: F401 (the matrices sign in with it)

AGENCIES = ("police", "council", "fire")
VIEWERS = [f"{r}.{a}" for a in ("police", "council") for r in ("admin", "analyst", "coordinator", "caseworker")] + [
    "caseworker2.police", "caseworker.fire"]
TARGETS = ("own", "other", "locked", "unattached")
CASE_ROLES = ("coordinator", "caseworker")
# Level at which each viewer reads each target case (access.py's table, written out by hand).
LEVEL = {
    "coordinator.police": dict(own="full", other="full", locked="stub"),
    "caseworker.police": dict(own="full", other="none", locked="stub"),
    "caseworker2.police": dict(own="full", other="none", locked="full"),
    "coordinator.council": dict(own="full", other="full", locked="stub"),
    "caseworker.council": dict(own="none", other="full", locked="none"),
}
LEAD = {"own": "police", "other": "council", "locked": "police", "unattached": "police"}
CASE_TABLES = ("case", "person", "note", "action", "referral", "power", "plan", "incident", "location", "review",
               "flag")
OWNER = {"own": "caseworker.police", "other": "caseworker.council", "locked": "caseworker2.police"}
CANARY = re.compile(r"CANARY-[a-z-]+")


def role(v):
    return v.split(".")[0].rstrip("2")


def agency(v):
    return v.split(".")[1]


def full(v, t):
    return LEVEL.get(v, {}).get(t) == "full"


def w_owner(v, t):
    return OWNER.get(t) == v


def may_read(v, t, table):
    """May viewer v read target t's record in `table`?"""
    if table == "flag":  # rule flags: coordinators and analysts (GET /rules/flags)
        return role(v) in ("coordinator", "analyst")
    if role(v) not in CASE_ROLES:
        return False
    if t == "unattached":  # plan, location, incident on no case: the recording agency
        if table == "review":  # a Case Review application on no case: coordinators
            return role(v) == "coordinator"
        return agency(v) == LEAD[t]
    if full(v, t):
        return True
    if table == "incident":  # an agency's own incident records, except one linked to a locked case:
        return agency(v) == LEAD[t] and t != "locked"  # that stays with the case's readers
    if table == "referral":  # referrals go to the fire service: its inbox
        return agency(v) == "fire"
    return False


def readable(v):
    return ({f"CANARY-{t}-{tb}" for t in TARGETS for tb in CASE_TABLES if may_read(v, t, tb)}
            | {c for c, rule in MISSING_CANARIES.items() if rule(v)})


# Missing episodes (issue 25). The fire service stands in for a care provider: it runs the "own"
# home and caseworker.fire is that home's named staff. The "own" child's council is the council;
# the "other" child and home belong to no partner council. Written from the brief: police and the
# child's council see the child's episodes; a home's staff only their home's; where found is
# police-only; a Philomena profile only its holders (own: the council; other: the police).
def police(v):
    return role(v) in CASE_ROLES and agency(v) == "police"


def council(v):
    return role(v) in CASE_ROLES and agency(v) == "council"


def _staff(v):
    return v == "caseworker.fire"


MISSING_SIGHT = {  # (target, record) -> who sees it
    ("own", "child"): lambda v: police(v) or council(v) or _staff(v),
    ("other", "child"): police,
    ("own", "episode"): lambda v: police(v) or council(v) or _staff(v),
    ("own", "episodeb"): lambda v: police(v) or council(v),  # the own child, from the other home
    ("other", "episode"): police,
    ("own", "found"): police,
    ("other", "found"): police,
    ("own", "home"): lambda v: police(v) or council(v) or _staff(v),
    ("other", "home"): police,  # the home's record and pattern; its name also shows in the own child's episode:
    ("other", "homename"): lambda v: police(v) or council(v),
    ("own", "profile"): council,
    ("other", "profile"): police,
}
MISSING_CANARIES = {f"CANARY-{t}-{rec}": rule for (t, rec), rule in MISSING_SIGHT.items() if rec != "home" or t == "own"}
MISSING_CANARIES["CANARY-other-home"] = MISSING_CANARIES.pop("CANARY-other-homename")


def email(v):
    return f"{v}@test.invalid"


# ---------------------------------------------------------------- the world


def make_world(hub, partnership):
    """Cases own (police), other (council), locked (police, caseworker2's) with a record of every
    kind each, records on no case, and a plain scratch case per agency. Incidents happened an hour
    ago (so the daily briefing shows them); the cases are high risk with a review due in two days
    (the briefing's reviews list)."""
    world = {"ids": {}, "agency": {a: partnership[a] for a in AGENCIES}, "users": partnership["users"]}
    owners = {"own": "caseworker.police", "other": "caseworker.council", "locked": "caseworker2.police",
              "scratch-police": "caseworker.police", "scratch-council": "caseworker.council"}
    review_on = str(dt.date.today() + dt.timedelta(days=2))
    for t, owner in owners.items():
        h, c = hub.headers(email(owner)), f"CANARY-{t}-"
        if t.startswith("scratch"):  # a plain case of the agency's own, to link incidents into
            world["ids"][t] = {"case": hub.client.post("/cases", json={"kind": "asb", "title": "scratch"},
                                                       headers=h).json()["id"]}
            continue
        loc = hub.client.post("/locations", json={"description": f"{c}location", "lon": -2.98, "lat": 53.41},
                              headers=h).json()
        case = hub.client.post("/cases", json={
            "kind": "asb", "title": f"{c}case", "summary": f"{c}case", "locked": t == "locked",
            "location_id": loc["id"], "risk": "high", "review_on": review_on}, headers=h).json()
        ids = world["ids"][t] = {"case": case["id"], "location": loc["id"], "owner": world["users"][owner]}
        cid = case["id"]
        ids["person"] = hub.client.post(f"/cases/{cid}/people", json={
            "role": "victim", "given_name": f"{c}person", "family_name": "X"}, headers=h).json()["person_id"]
        hub.client.post(f"/cases/{cid}/notes", json={"person_id": ids["person"], "kind": "fact",
                                                     "text": f"{c}note"}, headers=h)
        ids["action"] = hub.client.post(f"/cases/{cid}/actions", json={
            "title": f"{c}action", "due_on": str(dt.date.today() - dt.timedelta(days=3))}, headers=h).json()["id"]
        ids["referral"] = hub.client.post(f"/cases/{cid}/referrals", json={
            "to_agency_id": partnership["fire"], "kind": "other", "reason": f"{c}referral",
            "legal_gateway": "CDA 1998 s115"}, headers=h).json()["id"]
        hub.client.post(f"/cases/{cid}/asb-powers", json={
            "power": "dispersal", "issued_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "grounds": f"{c}power", "authorised_by": "Insp. Example"}, headers=h)
        ids["plan"] = hub.client.post("/plans", json={"title": f"{c}plan", "objective": f"{c}plan",
                                                      "case_id": cid}, headers=h).json()["id"]
    h = hub.headers(email("caseworker.police"))
    u = world["ids"]["unattached"] = {}
    u["plan"] = hub.client.post("/plans", json={"title": "CANARY-unattached-plan", "objective": "o"},
                                headers=h).json()["id"]
    u["location"] = hub.client.post("/locations", json={"description": "CANARY-unattached-location"},
                                    headers=h).json()["id"]
    _missing_world(hub, world, partnership)
    an_hour_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    with hub.sessions() as s:
        for t in TARGETS:
            iid = s.execute(insert(Incident).returning(Incident.id), [{
                "month": an_hour_ago.date().replace(day=1), "occurred_at": an_hour_ago,
                "category": "Anti-social behaviour",
                "source": "incident", "location_text": f"CANARY-{t}-incident", "caller_ref": f"CANARY-{t}-incident",
                "caller_is_child": False, "agency_id": world["agency"][LEAD[t]]}]).scalar_one()
            world["ids"][t]["incident"] = iid
            if t != "unattached":
                s.execute(insert(CaseIncident), [{"case_id": world["ids"][t]["case"], "incident_id": iid}])
            world["ids"][t]["app"] = s.execute(insert(CaseReviewApplication).returning(CaseReviewApplication.id), [{
                "case_id": world["ids"][t].get("case"), "applicant_ref": "matrix", "received_on": dt.date(2021, 5, 1),
                "reports_in_window": 3, "threshold_met": True, "threshold_rule": "test", "decision": "pending",
                "recommendations": f"CANARY-{t}-review"}]).scalar_one()
        s.execute(insert(RuleFlag), [{
            "rule": "repeat_location_asb_3_months", "rule_version": 1, "subject_kind": "place",
            "subject_key": "CANARY-unattached-flag", "first_triggered": dt.date(2020, 1, 1), "count": 5, "params": {}}])
        s.commit()
    return world


def _missing_world(hub, world, partnership):
    c, h = hub.client, hub.headers(email("caseworker.police"))
    world["users"]["staff.council"] = hub.user("staff.council@test.invalid", partnership["council"], "caseworker")
    world["users"]["coordinator.fire"] = partnership["users"]["coordinator.fire"]
    homes = {
        "own": {"kind": "care_home", "operator_agency_id": partnership["fire"], "council_agency_id": partnership["council"]},
        "other": {"kind": "care_home", "operator_agency_id": partnership["council"]},
    }
    ids = {}
    for t, body in homes.items():
        home = c.post("/missing/homes", json=body | {"name": f"CANARY-{t}-home", "places": 3}, headers=h).json()
        ids[t] = {"home": home["id"]}
    assert c.post(f"/missing/homes/{ids['own']['home']}/staff", json={"user_id": partnership["users"]["caseworker.fire"]},
                  headers=hub.headers(email("coordinator.fire"))).status_code == 201
    for t, council_id in (("own", partnership["council"]), ("other", None)):
        ids[t]["mp"] = c.post("/missing/people", json={
            "given_name": f"CANARY-{t}-child", "family_name": "X", "date_of_birth": "2010-01-01",
            "council_agency_id": council_id, "home_id": ids[t]["home"], "in_care": True}, headers=h).json()["id"]
    for key, t, home in (("episode", "own", "own"), ("episodeb", "own", "other"), ("episode", "other", "other")):
        found = {"description": f"CANARY-{t}-found"} if key == "episode" else None
        ep = c.post(f"/missing/people/{ids[t]['mp']}/episodes", json={
            "home_id": ids[home]["home"], "reported_at": "2024-01-10T20:00:00+00:00", "risk": "medium",
            "interview_by": f"CANARY-{t}-{key}", "found": found}, headers=h).json()
        ids[t][key] = ep["id"]
    for t, holder in (("own", "caseworker.council"), ("other", "caseworker.police")):
        assert c.put(f"/missing/people/{ids[t]['mp']}/profile", json={"description": f"CANARY-{t}-profile"},
                     headers=hub.headers(email(holder))).status_code == 200
    world["missing"] = ids


def version(hub, model, id_):
    with hub.sessions() as s:
        return s.scalar(select(model.version).where(model.id == id_))


CONTENT_TABLES = [t for t in Base.metadata.sorted_tables
                  if t.name not in ("audit_events", "audit_head", "api_tokens", "login_attempts")]


def snapshot(hub) -> dict:
    """Rows per hub table (sessions and sign-in outcomes aside) and the audit head: what a refused
    write must leave exactly as it was."""
    counts = [select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in CONTENT_TABLES]
    head = select(func.coalesce(func.max(AuditEvent.seq), 0)).scalar_subquery().label("audit")
    with hub.sessions() as s:  # one round trip
        return dict(s.execute(select(*counts, head)).one()._mapping)


def audit_head(hub) -> int:
    with hub.sessions() as s:
        return s.scalar(select(func.max(AuditEvent.seq))) or 0


def audit_rows(hub, after_seq: int) -> list[AuditEvent]:
    with hub.sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq)))


def module_hub(request, tmp_path_factory, kind: str):
    """A Hub shared by a whole test module (the `hub` fixture is per test): a migrated SQLite copy or
    the emptied PostgreSQL test database, its own audit key file, store and out folders (set in
    the environment by the caller, through `env`). Yields (hub, env)."""
    import shutil

    from fastapi.testclient import TestClient

    from saferhub.api import create_app
    from saferhub.hub.db import make_engine, session_factory

    from .conftest import Hub, _reset_pg

    base = tmp_path_factory.mktemp(f"module-hub-{kind}")
    if kind == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), base / "hub.sqlite3")
        url = f"sqlite:///{base / 'hub.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = make_engine(url)
        _reset_pg(engine)
        engine.dispose()
    env = {"SAFERHUB_AUDIT_KEY_FILE": str(base / "keys" / "audit.key"), "SAFERHUB_STORE": str(base / "store"),
           "SAFERHUB_OUT": str(base / "out")}
    (base / "store" / "products").mkdir(parents=True)
    (base / "out").mkdir()
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    engine = make_engine(url)
    app = create_app(engine=engine, secret="test-secret")
    app.state.login_limit = False  # dozens of sign-ins from one test address
    with TestClient(app) as client:
        yield Hub(url, engine, session_factory(engine), client), env
    engine.dispose()
    mp.undo()
