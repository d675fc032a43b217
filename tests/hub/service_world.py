"""A small partnership written straight into a migrated SQLite hub (no app, no sign-in), for the
service-level tests of issue 26 part 2 (test_hub_*_oracle.py over hub/services): each test builds
its own in well under a second, so a mutation run costs a second or two per mutant, and no fixture
calls a service function outside the test (mutmut records which tests run which function).

Need-to-know is stated here again from docs/hub.md "Roles and need-to-know" and the module text of
hub/access.py, without its SQL: `level` (viewer x case) and `reads_incident` are the oracle the
tests hold the services to. `reads(db, ...)` gives the audit rows a call added, after its commit."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from saferhub.hub.db import make_engine, session_factory
from saferhub.hub.models import (
    Agency,
    AuditEvent,
    Case,
    CaseAgency,
    CaseIncident,
    CaseMember,
    User,
)

from .oracle_db import fresh_copy

VIEWERS = ["admin.P", "analyst.P", "coordinator.P", "coordinator.C", "caseworker.P", "caseworker2.P",
           "caseworker.C", "caseworker.F"]
CASE_ROLES = ("coordinator", "caseworker")
KINDS = {"P": "police", "C": "council", "F": "fire"}
NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.timezone.utc)
PURPOSE = "service oracle: need-to-know check"


@functools.cache
def _pw() -> str:
    from saferhub.hub.security import hash_password

    return hash_password("not used to sign in here")


def open_hub(tmp_path):
    """(engine, session) on a fresh copy of the migrated empty hub."""
    engine = make_engine(fresh_copy(tmp_path / "hub.sqlite3"))
    return engine, session_factory(engine)()


@dataclass
class World:
    db: object
    agencies: dict = field(default_factory=dict)   # "P" -> id
    users: dict = field(default_factory=dict)      # "caseworker.P" -> user id
    cases: dict = field(default_factory=dict)      # case id -> facts (locked, agencies, owner, member, lead)
    facts: dict = field(default_factory=dict)      # what a builder wrote, as plain values

    def user(self, name: str) -> User:
        return self.db.get(User, self.users[name])


_TEMPLATES: dict = {}


def cached_world(tmp_path, builder):
    """(engine, World) on a copy of the hub `builder(db) -> World` wrote, built once per process
    (a world of 48 cases takes a second or two to write; a copy takes milliseconds). Facts are
    plain values, so they outlive the builder's session."""
    if builder not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="saferhub-service-world-"))
        engine, db = open_hub(folder)
        w = builder(db)
        db.commit()
        plain = World(None, dict(w.agencies), dict(w.users), dict(w.cases), dict(w.facts))
        db.close()
        engine.dispose()
        _TEMPLATES[builder] = (folder / "hub.sqlite3", plain)
    path, plain = _TEMPLATES[builder]
    shutil.copy(path, tmp_path / "hub.sqlite3")
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    db = session_factory(engine)()
    return engine, World(db, plain.agencies, plain.users, plain.cases, plain.facts)


def make_world(db, combos=None) -> World:
    """Agencies P (police), C (council), F (fire); the viewers; one case per combination of locked x
    lead agency x participating agency x owner x named member (48 by default)."""
    w = World(db)
    for code, kind in KINDS.items():
        a = Agency(code=code, name=f"Agency {code}", kind=kind)
        db.add(a)
        db.flush()
        w.agencies[code] = a.id
    for name in VIEWERS:
        role = name.split(".")[0].rstrip("2")
        u = User(email=f"{name}@x.test", name=f"Officer {name}", agency_id=w.agencies[name[-1]], role=role,
                 password_hash=_pw())
        db.add(u)
        db.flush()
        w.users[name] = u.id
    combos = combos if combos is not None else itertools.product(
        [False, True], "PC", [None, "F"], ["caseworker.P", "caseworker.C"], [None, "caseworker2.P", "caseworker.F"])
    for locked, lead, part, owner, member in combos:
        add_case(w, locked=locked, lead=lead, part=part, owner=owner, member=member)
    db.flush()
    return w


def add_case(w: World, *, locked=False, lead="P", part=None, owner="caseworker.P", member=None, **fields) -> int:
    db = w.db
    k = len(w.cases)
    c = Case(kind="asb", title=f"case {k}", lead_agency_id=w.agencies[lead], owner_id=w.users[owner],
             locked=locked, **fields)
    db.add(c)
    db.flush()
    for a in {lead, part} - {None}:
        db.add(CaseAgency(case_id=c.id, agency_id=w.agencies[a]))
    if member:
        db.add(CaseMember(case_id=c.id, user_id=w.users[member]))
    db.flush()
    w.cases[c.id] = {"locked": locked, "agencies": {lead, part} - {None}, "owner": owner, "member": member,
                     "lead": lead}
    return c.id


def level(viewer: str, case: dict) -> str:
    """The documented table: "full", "stub" or "none" for one viewer and one case."""
    role, agency = viewer.split(".")[0].rstrip("2"), viewer[-1]
    if role not in CASE_ROLES:
        return "none"
    named = viewer in (case["owner"], case["member"])
    works = agency in case["agencies"]
    if role == "coordinator":
        return "full" if (not case["locked"] or named) else "stub"
    if named or (works and not case["locked"]):
        return "full"
    return "stub" if works else "none"


def full_cases(w: World, viewer: str) -> set[int]:
    return {cid for cid, c in w.cases.items() if level(viewer, c) == "full"}


def reads_incident(w: World, viewer: str, agency: str | None, linked: list[int]) -> bool:
    """An incident: anyone who reads in full a case it is linked to; otherwise the case roles of the
    agency that recorded it, unless it is linked to a locked case."""
    if viewer.split(".")[0].rstrip("2") not in CASE_ROLES:
        return False
    if any(level(viewer, w.cases[c]) == "full" for c in linked):
        return True
    return agency == viewer[-1] and not any(w.cases[c]["locked"] for c in linked)


def link(db, case_id: int, incident_id: int) -> None:
    db.add(CaseIncident(case_id=case_id, incident_id=incident_id))


def audit_rows(db) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def reads(db, call):
    """Run `call()`, commit, and return (its result, the audit rows it added)."""
    before = len(audit_rows(db))
    out = call()
    db.commit()
    return out, audit_rows(db)[before:]


def refused(w: World, call, exc, message: str | None = None):
    """`call()` raises exactly `exc` (not a subclass; with exactly `message`, when given) and adds
    no audit row."""
    before = len(audit_rows(w.db))
    with pytest.raises(exc) as e:
        call()
    w.db.rollback()
    assert type(e.value) is exc, e.value
    assert len(audit_rows(w.db)) == before
    if message is not None:
        assert str(e.value) == message
    return e.value


def ids_of(row: AuditEvent) -> list[int]:
    return [int(i) for i in row.entity_ids.split(",") if i]
