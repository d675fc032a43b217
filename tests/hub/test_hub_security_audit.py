"""The keyed audit trail against someone with full write access to the database (but not to the
key file): rewriting and re-chaining rows, re-attributing them, truncating the tail, and a wrong or
missing key — all must make `audit-verify` fail. Key rotation keeps old rows verifiable."""

import json
import os
import stat

import pytest
from sqlalchemy import func, select, text

from saferhub.hub import audit, auditkey, checkpoint
from saferhub.hub.models import AuditEvent

from .test_hub_audit import _activity, _drop_guards
from .test_hub_cli import cli

CW = "caseworker.police@test.invalid"
ZOE = "Safeguarding – Zoë's case"


def _rechain_from(hub, first: int, change: dict) -> None:
    """What an attacker with SQL access can do: change row `first`, then recompute its hash and every
    later row's link and hash, and the head, so the plain hash chain is consistent again."""
    _drop_guards(hub)
    with hub.engine.begin() as conn:
        rows = conn.execute(text("SELECT * FROM audit_events WHERE seq >= :s ORDER BY seq"), {"s": first}).mappings().all()
        prev = rows[0]["prev_hash"]
        for i, row in enumerate(rows):
            fields = {k: row[k] for k in audit.FIELDS} | (change if i == 0 else {})
            digest = audit.row_hash(fields, prev)
            sets = ", ".join(f"{k} = :{k}" for k in change) if i == 0 else ""
            conn.execute(text(f"UPDATE audit_events SET {sets + ', ' if sets else ''}prev_hash = :p, hash = :h "
                              "WHERE seq = :seq"), (change if i == 0 else {}) | {"p": prev, "h": digest, "seq": row["seq"]})
            prev = digest
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})


def _export(hub):
    with hub.sessions() as s:
        return json.loads(audit.export(s, "json"))


@pytest.mark.parametrize("change", [{"purpose": "nothing to see here"},  # rewrite
                                    {"user_id": 1, "agency_id": 1}])    # re-attribute to someone else
def test_rewritten_and_rechained_rows_are_detected(hub, partnership, change):
    _activity(hub)
    _rechain_from(hub, 3, change)
    assert audit.verify_records(_export(hub)).ok  # the unkeyed chain is fooled...
    with hub.sessions() as s:
        v = audit.verify(s)
    assert not v.ok and v.first_bad_seq == 3 and "not authentic" in v.problem  # ...the keyed one is not
    assert not audit.verify_records(_export(hub), auditkey.load()).ok


def _head(hub):
    with hub.engine.connect() as conn:
        return dict(conn.execute(text("SELECT seq, hash, mac FROM audit_head")).mappings().one())


def _truncate_to(hub, head: dict) -> None:
    """Delete every row after `head` and set the head back to it (a head observed earlier, with its
    signature: the most a database operator without the key can do). Guards dropped first."""
    with hub.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > :seq"), head)
        conn.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash, mac = :mac WHERE id = 1"), head)


def test_truncating_the_tail_is_detected_by_the_checkpoint(hub, partnership):
    _activity(hub)
    seen = _head(hub)  # a head the attacker saw earlier (e.g. in a backup)
    hub.client.get("/cases", headers=hub.headers(CW))
    with hub.sessions() as s:
        v, entry = audit.write_checkpoint(s)
    assert v.ok and entry["seq"] == v.rows > seen["seq"]
    hub.client.get("/cases", headers=hub.headers(CW))  # more rows after the checkpoint
    _drop_guards(hub)
    _truncate_to(hub, seen)
    with hub.sessions() as s:
        v = audit.verify(s)
    assert not v.ok and "truncated" in v.problem and v.first_bad_seq == seen["seq"] + 1, v


def test_moving_the_head_back_needs_its_signature(hub, partnership):
    """Deleting the newest rows and moving the head back: the head is signed, so without the key
    this fails; a replayed head (seen earlier) is caught by the witness of every batch of reads;
    only rows newer than the last witnessed head (a write's row, between checkpoints) can go."""
    _activity(hub)
    with hub.sessions() as s:
        _, entry = audit.write_checkpoint(s)
    witnessed = _head(hub)
    hub.client.get("/cases", headers=hub.headers(CW))
    _drop_guards(hub)
    _truncate_to(hub, witnessed | {"mac": None})
    with hub.sessions() as s:  # the read's batch was witnessed: its row is missed
        v = audit.verify(s)
    assert not v.ok and v.first_bad_seq == witnessed["seq"] + 1 and "truncated" in v.problem
    with hub.engine.begin() as c:  # an unsigned head exactly at a signed checkpoint: vouched for by it
        c.execute(text("DELETE FROM audit_events WHERE seq > :seq"), witnessed)
    checkpoint.path_for(auditkey.load()).write_text(
        "".join(x + "\n" for x in checkpoint.path_for(auditkey.load()).read_text().splitlines()
                if json.loads(x)["seq"] <= witnessed["seq"]))
    with hub.sessions() as s:
        assert audit.verify(s).ok
    hub.client.get("/cases", headers=hub.headers(CW))  # a read: witnessed
    read_head = _head(hub)
    h = hub.headers(CW)
    r = hub.client.post("/cases", json={"kind": "asb", "title": "t"}, headers=h)  # a write: not witnessed
    assert r.status_code == 201, r.text
    assert hub.client.post("/cases", json={"kind": "asb", "title": "u"}, headers=h).status_code == 201
    top = _head(hub)
    with hub.engine.connect() as conn:
        prev = conn.execute(text("SELECT seq, hash FROM audit_events WHERE seq = :s"), {"s": top["seq"] - 1}).one()
    _truncate_to(hub, {"seq": prev.seq, "hash": prev.hash, "mac": top["mac"]})  # a signature of another head
    with hub.sessions() as s:
        v = audit.verify(s)
    assert not v.ok and v.first_bad_seq == prev.seq + 1 and "not signed" in v.problem
    _truncate_to(hub, read_head)  # the documented gap: a replayed head, newer than the last witness line
    with hub.sessions() as s:
        assert audit.verify(s).ok


def test_checkpoints_are_written_every_n_rows_after_commit_only(hub, partnership, monkeypatch):
    monkeypatch.setattr(checkpoint, "EVERY", 4)
    _activity(hub)
    with hub.sessions() as s:
        n = s.scalar(select(func.count()).select_from(AuditEvent))
        audit.append(s, user=None, action="test", entity="x", entity_ids=[], purpose="rolled back")
        audit.append(s, user=None, action="test", entity="x", entity_ids=[], purpose="rolled back")
        audit.append(s, user=None, action="test", entity="x", entity_ids=[], purpose="rolled back")
        audit.append(s, user=None, action="test", entity="x", entity_ids=[], purpose="rolled back")
        s.rollback()  # a checkpoint of rows that never committed would later look like truncation
    lines = [json.loads(x) for x in checkpoint.path_for(auditkey.load()).read_text().splitlines()]
    seqs = [e["seq"] for e in lines]
    assert seqs[0] == 1 and max(seqs) == n  # the first rows; nothing rolled back
    assert all(any(k <= q < k + 4 for q in seqs) for k in range(4, n + 1, 4))  # a line in every span of 4
    with hub.sessions() as s:  # every batch of reads is witnessed
        reads = s.scalars(select(AuditEvent.seq).where(AuditEvent.action == "read")).all()
    assert len(reads) >= 3 and set(reads) <= set(seqs)
    with hub.sessions() as s:
        v = audit.verify(s)
    assert v.ok and v.checkpoints == len(lines) >= 1


def test_a_forged_checkpoint_line_is_refused(hub, partnership):
    _activity(hub)
    with hub.sessions() as s:
        audit.write_checkpoint(s)
    path = checkpoint.path_for(auditkey.load())
    e = json.loads(path.read_text().splitlines()[-1])
    path.write_text(json.dumps(e | {"seq": e["seq"] + 50}) + "\n")
    with hub.sessions() as s:
        v = audit.verify(s)
    assert not v.ok and "not an authentic checkpoint" in v.problem


def test_wrong_or_missing_key_fails_closed(hub, partnership, audit_key_file):
    _activity(hub)
    ring = auditkey.load()
    with hub.sessions() as s:
        assert audit.verify(s).ok
    # same key id, different secret (e.g. a key file from another hub)
    audit_key_file.unlink()
    auditkey._write(audit_key_file, ring.current, {ring.current: os.urandom(32)})
    with hub.sessions() as s:
        v = audit.verify(s)
    assert not v.ok and v.first_bad_seq == 1 and "not authentic" in v.problem
    audit_key_file.unlink()
    with hub.sessions() as s:
        v = audit.verify(s)
    assert not v.ok and "cannot authenticate" in v.problem and "no audit key file" in v.problem
    # and writing is refused too (503), rather than logging rows nobody can check
    r = hub.client.get("/cases", headers=hub.headers(CW))
    assert r.status_code == 503 and "audit key" in r.json()["detail"]


def test_key_file_is_private_and_a_readable_one_is_refused(tmp_path):
    old = os.umask(0)
    try:
        ring = auditkey.create(tmp_path / "k" / "audit.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE(ring.path.stat().st_mode) == 0o600
    assert len(ring.keys[ring.current]) == 32
    with pytest.raises(auditkey.AuditKeyError, match="exists"):
        auditkey.create(ring.path)
    os.chmod(ring.path, 0o644)
    with pytest.raises(auditkey.AuditKeyError, match="chmod 600"):
        auditkey.load(ring.path)


def test_unkeyed_rows_are_accepted_only_as_a_leading_legacy_prefix(hub, partnership):
    _activity(hub)
    _drop_guards(hub)
    with hub.engine.begin() as conn:  # as rows written before migration 0003 look
        conn.execute(text("UPDATE audit_events SET key_id = NULL, mac = NULL WHERE seq <= 2"))
        two = conn.execute(text("SELECT hash FROM audit_events WHERE seq = 2")).scalar_one()
    with hub.sessions() as s:  # but the witness says this hub had audit keys from its first row
        v = audit.verify(s)
    assert not v.ok and v.first_bad_seq == 1 and "no MAC" in v.problem
    ring = auditkey.load()  # a hub upgraded from before 0003: `hub init` signed its legacy head
    checkpoint.path_for(ring).unlink()
    checkpoint.write(ring, 2, two, 2)
    with hub.sessions() as s:
        v = audit.verify(s)
    assert v.ok and v.legacy == 2
    with hub.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET key_id = NULL, mac = NULL WHERE seq = 4"))
    with hub.sessions() as s:
        v = audit.verify(s)
    assert not v.ok and v.first_bad_seq == 4


def test_cli_init_rotate_checkpoint_verify(tmp_path, audit_key_file):
    db = str(tmp_path / "hub.sqlite3")
    r = cli("hub", "init", "--db", db, "--admin-email", "a@hub.invalid", "--password-stdin",
            input="a long enough secret\n")
    assert r.returncode == 0 and "created the audit key file" in r.stdout
    assert stat.S_IMODE(audit_key_file.stat().st_mode) == 0o600
    first = auditkey.load().current
    r = cli("hub", "audit-rotate-key", "--db", db)
    assert r.returncode == 0, r.stderr
    second = auditkey.load().current
    assert second != first and set(auditkey.load().keys) == {first, second}
    assert cli("hub", "audit-export", str(tmp_path / "a.json"), "--db", db).returncode == 0  # a row under the new key
    r = cli("hub", "audit-checkpoint", "--db", db)
    assert r.returncode == 0 and "checkpoint of row" in r.stdout
    r = cli("hub", "audit-verify", "--db", db)
    assert r.returncode == 0 and "intact" in r.stdout, r.stderr
    records = json.loads((tmp_path / "a.json").read_text())
    assert {x["key_id"] for x in records} == {first, second}  # old rows keep verifying under their key id
    # drop the old key from the file: rows signed with it can no longer be authenticated
    ring = auditkey.load()
    audit_key_file.unlink()
    auditkey._write(audit_key_file, second, {second: ring.keys[second]})
    r = cli("hub", "audit-verify", "--db", db)
    assert r.returncode == 1 and first in r.stderr


def test_cli_verify_without_key_exits_1(tmp_path, audit_key_file):
    db = str(tmp_path / "hub.sqlite3")
    assert cli("hub", "init", "--db", db).returncode == 0
    audit_key_file.unlink()
    r = cli("hub", "audit-verify", "--db", db)
    assert r.returncode == 1 and "no audit key file" in r.stderr


def test_stub_reads_have_their_own_record_format(hub, partnership):
    from saferhub.hub.models import User

    with hub.sessions() as s:
        u = s.scalar(select(User).where(User.email == CW))
        audit.disclose_stubs(s, u, ZOE, [])  # no stub shown: nothing logged
        audit.disclose_stubs(s, u, ZOE, [7, 9], {"list": True})
        s.commit()
        row = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert (row.action, row.entity, row.entity_ids, row.purpose) == ("read", "case_stub", "7,9", ZOE)
        assert json.loads(row.detail) == {"fields": list(audit.STUB_FIELDS), "list": True}
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 1  # the empty call wrote nothing
        with pytest.raises(audit.MissingPurpose):
            audit.disclose_stubs(s, u, "  ", [1])
        with pytest.raises(audit.MissingPurpose):
            audit.disclose_stubs(s, u, "a purpose with a \x00 NUL", [1])
