"""The case list as the API sends it (issue 22): on PostgreSQL the database writes the JSON
(`cases.list_cases_json`); it must be what the response model makes of `cases.list_cases`' rows,
key for key and in the same order, with the same audit records, for every viewer and filter.
Oracle: `list_cases` through the route's response model (`CaseListItem`), on the same database.
On SQLite `list_cases_json` hands back those rows themselves."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from pydantic import TypeAdapter

from saferhub.api.schemas import CaseListItem
from saferhub.hub.db import make_engine, session_factory
from saferhub.hub.audit import MissingPurpose
from saferhub.hub.errors import Forbidden
from saferhub.hub.models import Case
from saferhub.hub.services import cases

from .service_world import PURPOSE, VIEWERS, add_case, audit_rows, level, make_world

SENT = TypeAdapter(list[CaseListItem])
ODD = 'quote " backslash \\ new\nline tab\t bell\x07 del\x7f é ü 😀 </script>'


@pytest.fixture
def world(db_url):
    engine = make_engine(db_url)
    db = session_factory(engine)()
    w = make_world(db)
    # values whose JSON writing can differ: escapes, non-ASCII, NULLs next to dates, a seven-digit id
    for made, values in ((add_case(w), dict(title=ODD, summary=None, review_on=dt.date(2027, 2, 28))),
                         (add_case(w), dict(title="closed", summary=ODD, status="closed", kind="iom",
                                            closed_on=dt.date(2026, 11, 30))),
                         (add_case(w, locked=True, lead="C", owner="caseworker.C"), dict(title=ODD))):
        for k, v in values.items():
            setattr(db.get(Case, made), k, v)
    big = Case(id=1_234_567, kind="asb", title="big id", lead_agency_id=w.agencies["P"],
               owner_id=w.users["caseworker.P"], locked=False)
    db.add(big)
    db.flush()
    from saferhub.hub.models import CaseAgency

    db.add(CaseAgency(case_id=big.id, agency_id=w.agencies["P"]))
    db.commit()
    yield w
    db.close()
    engine.dispose()


def _records(rows):
    return [(r.user_id, r.action, r.entity, r.entity_ids, r.purpose, r.detail) for r in rows]


def _both(w, viewer, **filters):
    """(what list_cases_json sends, what the route sent for list_cases' rows), each with its audit."""
    db, user = w.db, w.user(viewer)
    before = len(audit_rows(db))
    out = cases.list_cases_json(db, user, PURPOSE, **filters)
    db.commit()
    mid = audit_rows(db)
    rows = cases.list_cases(db, user, PURPOSE, **filters)
    db.commit()
    after = audit_rows(db)
    sent = json.loads(out) if isinstance(out, bytes) else SENT.dump_python(SENT.validate_python(out), mode="json")
    want = SENT.dump_python(SENT.validate_python(rows), mode="json")
    return (sent, _records(mid[before:])), (want, _records(after[len(mid):]))


FILTERS = [dict(), dict(status="open"), dict(status="closed"), dict(kind="iom"), dict(mine=True),
           dict(status="open", kind="asb", mine=True), dict(limit=7), dict(limit=5, offset=9), dict(offset=10_000)]


@pytest.mark.parametrize("viewer", [v for v in VIEWERS if not v.startswith(("admin", "analyst"))])
def test_the_json_list_is_the_response_models_list_with_the_same_audit(world, viewer):
    assert isinstance(cases.list_cases_json(world.db, world.user(viewer), PURPOSE), bytes) == (
        world.db.get_bind().dialect.name == "postgresql")
    world.db.rollback()
    seen = 0
    for filters in FILTERS:
        (sent, logged), (want, want_logged) = _both(world, viewer, **filters)
        assert sent == want, filters
        assert [list(d) for d in sent] == [list(d) for d in want]  # the keys in the model's order
        assert logged == want_logged and logged  # a list read is logged even when it lists nothing
        seen += len(sent)
    assert seen > 0
    # every value the odd rows carry came through unchanged
    (sent, _), _ = _both(world, viewer, limit=500)
    by_ref = {d["ref"]: d for d in sent}
    sees_p = level(viewer, {"locked": False, "agencies": {"P"}, "owner": "caseworker.P", "member": None,
                            "lead": "P"}) == "full"  # the big id's and the odd title's case
    assert ("HUB-1234567" in by_ref) == sees_p
    assert ODD in {d.get("title") for d in sent} or not sees_p


def test_refusals_are_the_same_and_log_nothing(world):
    for viewer, purpose, exc in (("analyst.P", PURPOSE, Forbidden), ("admin.P", PURPOSE, Forbidden),
                                 ("caseworker.P", "", MissingPurpose), ("caseworker.P", "x\x00y" * 3, MissingPurpose)):
        before = len(audit_rows(world.db))
        messages = []
        for call in (cases.list_cases_json, cases.list_cases):
            with pytest.raises(exc) as e:
                call(world.db, world.user(viewer), purpose)
            world.db.rollback()
            messages.append(str(e.value))
        assert messages[0] == messages[1] and len(audit_rows(world.db)) == before


def test_every_filter_combination_has_its_statement(world):
    """Each (role, status, kind, mine) statement is built once and answers like list_cases."""
    for status, kind, mine in itertools.product([None, "open"], [None, "asb"], [False, True]):
        (sent, logged), (want, want_logged) = _both(world, "coordinator.C", status=status, kind=kind, mine=mine)
        assert sent == want and logged == want_logged
