"""The audit stays complete under concurrency (issue 22): N clients each make M reads at once,
through the group-committed audit writer; afterwards there are exactly N x M read rows, one per
(client, read), in one chain that verifies, and every batch's head is witnessed. Also: a write's
audit row stays in the write's transaction (a refused write logs nothing, a read in a write
transaction is logged inline), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections import Counter

from sqlalchemy import func, select

from saferhub.hub import audit, auditkey, checkpoint
from saferhub.hub.models import AuditEvent, Case, User

N, M = 8, 10
EMAILS = ["caseworker.police@test.invalid", "caseworker2.police@test.invalid", "coordinator.police@test.invalid",
          "coordinator.council@test.invalid"]


def test_n_clients_by_m_reads_give_exactly_n_m_rows_in_one_chain(hub, partnership):
    cw = hub.headers(EMAILS[0])
    case = hub.client.post("/cases", json={"kind": "asb", "title": "shared"}, headers=cw).json()
    for e in EMAILS:
        hub.headers(e)  # sign in first, so only reads happen below
    with hub.sessions() as s:
        before = s.scalar(select(func.max(AuditEvent.seq)))
    start, errors = threading.Barrier(N), []

    def client(i: int) -> None:
        h = hub.headers(EMAILS[i % len(EMAILS)], f"concurrency client {i}")
        start.wait()
        for j in range(M):
            url = f"/cases/{case['id']}" if j % 2 else "/cases?limit=5"
            r = hub.client.get(url, headers=h | {"X-Purpose": f"concurrency client {i} read {j}"})
            if r.status_code != 200:
                errors.append((i, j, r.status_code, r.text))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with hub.sessions() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.seq > before).order_by(AuditEvent.seq)).all()
        purposes = Counter(r.purpose for r in rows)
        assert len(rows) == N * M
        assert purposes == Counter(f"concurrency client {i} read {j}" for i in range(N) for j in range(M))
        assert [r.seq for r in rows] == list(range(before + 1, before + N * M + 1))
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
        v = audit.verify(s)
        assert v.ok and v.rows == before + N * M, v
    seqs = {json.loads(x)["seq"] for x in checkpoint.path_for(auditkey.load()).read_text().splitlines()}
    assert before + N * M in seqs  # the last batch's head is witnessed


def test_reads_in_a_write_transaction_are_logged_inline_and_roll_back_with_it(hub, partnership):
    with hub.sessions() as s:
        u = s.scalar(select(User).where(User.email == EMAILS[0]))
        audit.disclose(s, u, "read before a refused write", "case", [1])
        audit.append(s, user=u, action="create", entity="case", entity_ids=[1], purpose="write")
        audit.disclose(s, u, "read inside the write", "case", [1])
        s.rollback()  # the write was refused: nothing of it, or its reads, is logged
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0
        audit.disclose(s, u, "read before a write", "case", [2])
        s.add(Case(kind="asb", title="t", lead_agency_id=u.agency_id, owner_id=u.id))
        audit.append(s, user=u, action="create", entity="case", entity_ids=[2], purpose="write")
        audit.disclose(s, u, "read after the write", "case", [2])
        s.commit()
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [(r.action, r.purpose) for r in rows] == [
        ("read", "read before a write"), ("create", "write"), ("read", "read after the write")]


def test_a_read_whose_audit_row_cannot_be_written_is_not_served(hub, partnership, monkeypatch):
    """No answer before its audit row is durable: when the batch fails, the read answers 503 with
    no data and nothing is logged; the next read, once the database is back, is served and logged."""
    from saferhub.hub import auditbatch

    h = hub.headers(EMAILS[0])
    case = hub.client.post("/cases", json={"kind": "asb", "title": "secret title"}, headers=h).json()
    with hub.sessions() as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    real = auditbatch.insert

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(auditbatch, "insert", broken)
    r = hub.client.get(f"/cases/{case['id']}", headers=h)
    assert r.status_code == 503 and "secret title" not in r.text
    with hub.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before
    monkeypatch.setattr(auditbatch, "insert", real)
    r = hub.client.get(f"/cases/{case['id']}", headers=h)
    assert r.status_code == 200 and r.json()["title"] == "secret title"
    with hub.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before + 1
        assert audit.verify(s).ok
