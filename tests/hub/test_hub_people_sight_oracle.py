"""A person is seen only through the cases the reader reads in full (issue 26, the planted-bug
probe): hub/services/people.py at service level on the small 48-case hub of service_world.

One person sits on three cases that different viewers can and cannot read (an open council case, a
locked council case, a locked fire-participating case). For every viewer the oracle is
service_world.level(), the documented need-to-know table, not the service's SQL:
- the roles, facts and opinions returned are exactly those of the viewer's readable cases (a note
  or role from a case out of sight never leaks), and the one audit row names those cases;
- linking the known person to another case by id needs sight of them first (else 404 and no row);
- the roles without case records (analyst, administrator) are refused as a role, not as absence;
- a note written about the person is one audit row, kept with its kind."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from saferhub.hub.errors import Forbidden, NotFound
from saferhub.hub.models import CasePerson, Person, PersonNote
from saferhub.hub.services import people

from .service_world import PURPOSE, VIEWERS, add_case, cached_world, full_cases, ids_of, make_world, reads

CASE_VIEWERS = [v for v in VIEWERS if not v.startswith(("admin", "analyst"))]
BASE = dt.datetime(2026, 11, 1, 9, tzinfo=dt.timezone.utc)


def _build(db):
    """The 48 cases, plus three that hold one person (Ann Probe): open council (victim), locked
    council owned by caseworker.C (witness), locked police with fire, caseworker.F a member
    (suspect). On each of the three a fact and an opinion about her."""
    w = make_world(db)
    cases = {"open": add_case(w, lead="C", owner="caseworker.C"),
             "council": add_case(w, locked=True, lead="C", owner="caseworker.C"),
             "fire": add_case(w, locked=True, lead="P", part="F", owner="caseworker.P", member="caseworker.F")}
    ann = Person(given_name="Ann", family_name="Probe", created_by_agency_id=w.agencies["P"])
    db.add(ann)
    db.flush()
    roles = {"open": "victim", "council": "witness", "fire": "suspect"}
    notes = []
    for k, (name, cid) in enumerate(cases.items()):
        db.add(CasePerson(case_id=cid, person_id=ann.id, role=roles[name]))
        for j, kind in enumerate(("fact", "opinion")):
            n = PersonNote(person_id=ann.id, case_id=cid, kind=kind, text=f"{kind} on {name}",
                           author_id=w.users["caseworker.P"], at=BASE + dt.timedelta(hours=2 * k + j))
            db.add(n)
            db.flush()
            notes.append((n.id, cid, kind))
    db.flush()
    w.facts = {"ann": ann.id, "cases": cases, "roles": {cases[k]: r for k, r in roles.items()}, "notes": notes}
    return w


@pytest.fixture
def world(tmp_path):
    engine, w = cached_world(tmp_path, _build)
    yield w
    w.db.close()
    engine.dispose()


def _seen(w, viewer) -> list[int]:
    return sorted(set(w.facts["cases"].values()) & full_cases(w, viewer))


def test_the_three_cases_split_the_viewers():
    """The world is worth testing: some viewers see all three cases, some one or two, some none."""
    import tempfile
    from pathlib import Path

    engine, w = cached_world(Path(tempfile.mkdtemp(prefix="saferhub-people-")), _build)
    try:
        sizes = {v: len(_seen(w, v)) for v in CASE_VIEWERS}
    finally:
        w.db.close()
        engine.dispose()
    assert {0, 1, 2} <= set(sizes.values()), sizes


@pytest.mark.parametrize("viewer", CASE_VIEWERS)
def test_roles_and_notes_come_only_from_the_cases_in_sight(world, viewer):
    w, pid = world, world.facts["ann"]
    seen = _seen(w, viewer)
    call = lambda: people.get_person(w.db, w.user(viewer), pid, PURPOSE)  # noqa: E731
    if not seen:
        with pytest.raises(NotFound):
            call()
        return
    out, rows = reads(w.db, call)
    assert out["roles"] == [{"case_id": c, "role": w.facts["roles"][c]} for c in seen]
    by_kind = {k: [nid for nid, cid, kind in w.facts["notes"] if cid in seen and kind == k] for k in ("fact", "opinion")}
    assert [n["id"] for n in out["facts"]] == by_kind["fact"]
    assert [n["id"] for n in out["opinions"]] == by_kind["opinion"]
    assert {n["case_id"] for n in out["facts"] + out["opinions"]} == set(seen)
    assert [(r.action, r.entity, ids_of(r), r.purpose) for r in rows] == [("read", "person", [pid], PURPOSE)]
    assert json.loads(rows[0].detail) == {"via_cases": seen}


@pytest.mark.parametrize("viewer", ["admin.P", "analyst.P"])
def test_roles_without_case_records_are_refused_as_a_role(world, viewer):
    with pytest.raises(Forbidden, match="person records"):
        people.get_person(world.db, world.user(viewer), world.facts["ann"], PURPOSE)


@pytest.mark.parametrize("viewer", CASE_VIEWERS)
def test_linking_a_known_person_needs_sight_of_them(world, viewer):
    w, pid = world, world.facts["ann"]
    target = min(full_cases(w, viewer) - set(w.facts["cases"].values()))   # a case the viewer may add to

    def rows_for_target():
        return w.db.query(CasePerson).filter_by(case_id=target, person_id=pid).count()

    if not _seen(w, viewer):
        with pytest.raises(NotFound):
            people.add_person_to_case(w.db, w.user(viewer), target, "witness", person_id=pid)
        assert rows_for_target() == 0
        return
    out, rows = reads(w.db, lambda: people.add_person_to_case(w.db, w.user(viewer), target, "witness", person_id=pid))
    assert out == {"case_id": target, "person_id": pid, "role": "witness"}
    assert rows_for_target() == 1
    assert [(r.action, r.entity, ids_of(r)) for r in rows] == [("create", "case_person", [pid])]


def test_a_note_is_one_audit_row_and_keeps_its_kind(world):
    w, pid = world, world.facts["ann"]
    cid = w.facts["cases"]["open"]
    out, rows = reads(w.db, lambda: people.add_note(w.db, w.user("caseworker.C"), cid, pid, "opinion", "seems afraid"))
    assert out["kind"] == "opinion" and out["case_id"] == cid
    assert [(r.action, r.entity, ids_of(r)) for r in rows] == [("create", "person_note", [pid])]
    assert json.loads(rows[0].detail) == {"case_id": cid, "kind": "opinion"}
    got = people.get_person(w.db, w.user("caseworker.C"), pid, PURPOSE)
    assert out["id"] in [n["id"] for n in got["opinions"]] and out["id"] not in [n["id"] for n in got["facts"]]
