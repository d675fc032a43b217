"""The audit chain: every personal-data read is logged with its purpose; the chain verifies;
tampering (edit, delete, re-order) is detected; the table refuses UPDATE/DELETE; exports verify."""

import csv
import io
import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from saferhub.hub import audit
from saferhub.hub.models import AuditEvent

CW = "caseworker.police@test.invalid"


def _activity(hub):
    h = hub.headers(CW, "case conference 3 June")
    case = hub.client.post("/cases", json={"kind": "asb", "title": "t"}, headers=h).json()
    hub.client.post(f"/cases/{case['id']}/people", json={"role": "victim", "given_name": "A", "family_name": "B"}, headers=h)
    for _ in range(3):
        assert hub.client.get(f"/cases/{case['id']}", headers=h).status_code == 200
    return case


def test_reads_and_writes_are_chained_and_verify(hub, partnership):
    case = _activity(hub)
    with hub.sessions() as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        v = audit.verify(s)
    assert v.ok and v.rows == len(rows) >= 6
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
    reads = [r for r in rows if r.action == "read" and r.entity == "case"]
    assert len(reads) == 3 and {r.purpose for r in reads} == {"case conference 3 June"}
    assert {r.entity_ids for r in reads} == {str(case["id"])}
    assert any(r.action == "create" and r.entity == "case_person" for r in rows)
    assert any(r.action == "login" for r in rows)


def test_database_refuses_update_and_delete(hub, partnership):
    _activity(hub)
    for stmt in ("UPDATE audit_events SET purpose = 'x' WHERE seq = 1", "DELETE FROM audit_events WHERE seq = 1"):
        with pytest.raises(DBAPIError, match="append-only"):
            with hub.engine.begin() as conn:
                conn.execute(text(stmt))


def _drop_guards(hub):
    """What a DBA with full rights could do: remove the triggers first."""
    with hub.engine.begin() as conn:
        if hub.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))


@pytest.mark.parametrize("tamper", ["edit", "delete_middle", "delete_last", "rehash_edit"])
def test_tampering_is_detected(hub, partnership, tamper):
    _activity(hub)
    _drop_guards(hub)
    with hub.sessions() as s:
        n = s.scalar(select(func.max(AuditEvent.seq)))
    target = 3
    with hub.engine.begin() as conn:
        if tamper == "edit":
            conn.execute(text("UPDATE audit_events SET purpose = 'nothing to see' WHERE seq = :s"), {"s": target})
        elif tamper == "delete_middle":
            conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": target})
        elif tamper == "delete_last":
            conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": n})
        else:  # edit and recompute this row's own hash: its MAC (keyed) no longer matches
            row = conn.execute(text("SELECT * FROM audit_events WHERE seq = :s"), {"s": target}).mappings().one()
            fields = {k: row[k] for k in audit.FIELDS} | {"purpose": "forged"}
            conn.execute(text("UPDATE audit_events SET purpose = 'forged', hash = :h WHERE seq = :s"),
                         {"h": audit.row_hash(fields, row["prev_hash"]), "s": target})
    with hub.sessions() as s:
        v = audit.verify(s)
    assert not v.ok
    expected = {"edit": target, "delete_middle": target, "delete_last": n, "rehash_edit": target}[tamper]
    assert v.first_bad_seq == expected, v


def test_export_csv_and_json_verify_offline(hub, partnership):
    _activity(hub)
    admin = hub.headers("admin.police@test.invalid")
    r = hub.client.get("/audit/export?format=json", headers=admin)
    records = json.loads(r.text)
    assert audit.verify_records(records).ok
    records[2]["purpose"] = "changed"
    assert audit.verify_records(records).first_bad_seq == 3
    r = hub.client.get("/audit/export?format=csv", headers=admin)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert audit.verify_records(rows).ok and len(rows) == len(records) + 1  # the JSON export was logged
    assert rows[-1]["action"] == "export"
    v = hub.client.get("/audit/verify", headers=admin).json()
    assert v["ok"] and v["rows"] == len(records) + 2


def test_purpose_is_required_by_disclose(hub, partnership):
    from saferhub.hub.models import User

    with hub.sessions() as s:
        u = s.scalar(select(User).where(User.email == CW))
        for bad in (None, "", "   ", "abc"):
            with pytest.raises(audit.MissingPurpose):
                audit.disclose(s, u, bad, "case", [1])
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0
