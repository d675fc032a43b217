"""audit.py and checkpoint.py against docs/hub.md "Purpose and audit" (issue 14, second pass).

Oracles written here, not taken from the module: each row's hash is recomputed with hashlib from
the documented field list (seq, at, user, agency, action, entity, ids, purpose, detail) plus the
previous row's hash, as canonical JSON; each MAC and checkpoint signature is recomputed with hmac
from the key file read as plain JSON. Every stored field is then edited one at a time, rows are
deleted and re-ordered, and verify / verify_records must name the first bad row. SQLite only."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import logging

import pytest
from sqlalchemy import select, text

from saferhub.errors import SaferhubError
from saferhub.hub import audit, auditkey, checkpoint
from saferhub.hub.db import make_engine, session_factory
from saferhub.hub.models import Agency, User

from .oracle_db import fresh_copy

GENESIS = "0" * 64
DOCUMENTED_FIELDS = ["seq", "at", "user_id", "agency_id", "action", "entity", "entity_ids", "purpose", "detail"]


@pytest.fixture
def hub(tmp_path):
    engine = make_engine(fresh_copy(tmp_path / "hub.sqlite3"))
    sessions = session_factory(engine)
    with sessions() as s:
        a = Agency(code="wirral", name="Wirral", kind="council")
        s.add(a)
        s.flush()
        s.add(User(email="casey@x.test", name="Casey", agency_id=a.id, role="caseworker", password_hash="x"))
        s.commit()
    yield engine, sessions
    engine.dispose()


def _user(s) -> User:
    return s.scalar(select(User))


def _write(sessions, n=4):
    """n rows of varied content: a read with a non-ASCII purpose, a system row with no user, ..."""
    with sessions() as s:
        u = _user(s)
        audit.disclose(s, u, "  Safeguarding – Zoë's case  ", "case", [3, 1, 2], {"b": 1, "a": [2]})
        audit.append(s, user=None, action="login", entity="user", entity_ids=[], purpose="sign-in")
        for i in range(n - 2):
            audit.append(s, user=u, action="update", entity="case_note", entity_ids=[i], purpose=f"review {i}",
                         detail={"when": dt.date(2026, 1, i + 1)})
        s.commit()


def _rows(engine) -> list[dict]:
    with engine.connect() as c:
        return [dict(r) for r in c.execute(text("SELECT * FROM audit_events ORDER BY seq")).mappings()]


def _key() -> tuple[str, bytes, dict]:
    raw = json.loads(auditkey.key_path().read_text())
    return raw["current"], bytes.fromhex(raw["keys"][raw["current"]]), raw


def _hand_hash(row: dict, prev: str) -> str:
    content = {k: row[k] for k in DOCUMENTED_FIELDS} | {"prev_hash": prev}
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _drop_guards(engine):
    with engine.begin() as c:
        c.execute(text("DROP TRIGGER audit_events_no_update"))
        c.execute(text("DROP TRIGGER audit_events_no_delete"))


def _verify(sessions, ring=None):
    with sessions() as s:
        return audit.verify(s, ring)


def test_rows_are_sha256_of_the_documented_fields_and_hmac_under_the_key_file(hub):
    engine, sessions = hub
    before = dt.datetime.now(dt.timezone.utc)
    _write(sessions)
    rows = _rows(engine)
    kid, key, raw = _key()
    assert list(raw["keys"]) == [kid] and len(key) == 32
    prev = GENESIS
    for i, r in enumerate(rows, start=1):
        assert r["seq"] == i and r["prev_hash"] == prev
        assert r["hash"] == _hand_hash(r, prev)
        want_mac = hmac.new(key, f"saferhub-audit-row-v1\n{kid}\n{r['hash']}".encode(), hashlib.sha256).hexdigest()
        assert (r["key_id"], r["mac"]) == (kid, want_mac)
        at = dt.datetime.fromisoformat(r["at"])
        assert at.utcoffset() == dt.timedelta(0) and before <= at <= dt.datetime.now(dt.timezone.utc)
        assert len(r["at"]) == len("2026-11-29T12:00:00.000000+00:00")  # microseconds, always
        prev = r["hash"]
    first, system = rows[0], rows[1]
    assert (first["action"], first["entity"], first["entity_ids"]) == ("read", "case", "3,1,2")
    assert first["purpose"] == "Safeguarding – Zoë's case"  # stored as typed, outer spaces dropped
    assert first["detail"] == '{"a": [2], "b": 1}'
    assert (first["user_id"], first["agency_id"]) == (1, 1)
    assert (system["user_id"], system["agency_id"], system["entity_ids"], system["detail"]) == (None, None, "", "{}")
    assert rows[2]["detail"] == '{"when": "2026-01-01"}'
    with engine.connect() as c:
        head = c.execute(text("SELECT seq, hash, mac FROM audit_head")).one()
    want_head_mac = hmac.new(key, f"saferhub-audit-head-v1\n{kid}\n4\n{rows[-1]['hash']}".encode(),
                             hashlib.sha256).hexdigest()
    assert tuple(head) == (4, rows[-1]["hash"], want_head_mac)  # the head is signed too
    v = _verify(sessions)  # a hub's first rows are witnessed at once (one checkpoint, after the commit)
    assert (v.ok, v.rows, v.first_bad_seq, v.problem, v.legacy, v.checkpoints) == (True, 4, None, None, 0, 1)


CHANGES = {  # field -> (new value, the problem verify reports at row 2)
    "seq": (20, "row 2 is missing"),
    "at": ("2020-01-01T00:00:00.000000+00:00", "row 2 was changed after it was written"),
    "user_id": (99, "row 2 was changed after it was written"),
    "agency_id": (99, "row 2 was changed after it was written"),
    "action": ("delete", "row 2 was changed after it was written"),
    "entity": ("person", "row 2 was changed after it was written"),
    "entity_ids": ("7", "row 2 was changed after it was written"),
    "purpose": ("nothing to see", "row 2 was changed after it was written"),
    "detail": ('{"x": 1}', "row 2 was changed after it was written"),
    "prev_hash": ("f" * 64, "row 2 does not link to row 1"),
    "hash": ("e" * 64, "row 2 was changed after it was written"),
    "key_id": ("k-other", "row 2 names key 'k-other', which the key file {path} does not hold"),
    "mac": ("d" * 64, "row 2 is not authentic: its MAC does not match (rewritten, or the wrong key file)"),
}


@pytest.mark.parametrize("field", list(CHANGES))
def test_editing_any_field_is_found_at_that_row(hub, field):
    engine, sessions = hub
    _write(sessions)
    assert set(DOCUMENTED_FIELDS) == set(audit.FIELDS)
    _drop_guards(engine)
    value, problem = CHANGES[field]
    with engine.begin() as c:
        c.execute(text(f"UPDATE audit_events SET {field} = :v WHERE seq = 2"), {"v": value})
    v = _verify(sessions)
    assert (v.ok, v.rows, v.first_bad_seq) == (False, 1, 2)
    assert v.problem == problem.format(path=auditkey.key_path())
    # the export, verified offline: the chain alone catches content, links and hashes ...
    with sessions() as s:
        records = json.loads(audit.export(s, "json"))
    offline = audit.verify_records(records)
    if field in ("key_id", "mac"):
        assert offline.ok  # ... the MAC needs the key file
        keyed = audit.verify_records(records, auditkey.load())
        assert (keyed.ok, keyed.rows, keyed.first_bad_seq, keyed.problem) == (
            False, 1, 2, "row 2 is not authentic under this key file")
    else:
        assert (offline.ok, offline.rows, offline.first_bad_seq, offline.problem) == (
            False, 1, 2, "row 2 does not verify")


def _legacy_witness(ring, rows, legacy):
    """The witness of a hub upgraded from before migration 0003: `hub init` made the key and signed
    the head of its `legacy` unkeyed rows (v2 line, by hand)."""
    kid, key, _ = _key()
    at = "2026-11-29T09:30:00+00:00"
    digest = rows[legacy - 1]["hash"]
    msg = f"saferhub-audit-checkpoint-v2\n{legacy}\n{digest}\n{at}\n{legacy}"
    line = {"seq": legacy, "hash": digest, "at": at, "legacy": legacy, "key_id": kid,
            "mac": hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()}
    checkpoint.path_for(ring).write_text(json.dumps(line) + "\n")


def test_a_missing_mac_is_a_failure_unless_it_is_a_leading_legacy_row(hub):
    engine, sessions = hub
    _write(sessions)
    _drop_guards(engine)
    rows = _rows(engine)
    ring = auditkey.load()
    with engine.begin() as c:
        c.execute(text("UPDATE audit_events SET mac = NULL, key_id = NULL WHERE seq <= 2"))
    v = _verify(sessions)  # the witness says the key era began at row 1: stripped, not legacy
    assert (v.ok, v.rows, v.first_bad_seq, v.legacy) == (False, 0, 1, 0)
    assert v.problem == ("row 1 has no MAC, but the audit key era began after row 0 (signed in the checkpoint "
                         "file): its MAC was stripped")
    _legacy_witness(ring, rows, 2)
    v = _verify(sessions)
    assert (v.ok, v.rows, v.legacy, v.checkpoints) == (True, 4, 2, 1)
    # every kind of failure after the legacy prefix still reports its length
    for sql, seq in (("UPDATE audit_events SET purpose = 'x' WHERE seq = 3", 3),
                     ("UPDATE audit_events SET mac = :bad WHERE seq = 3", 3),
                     ("UPDATE audit_events SET prev_hash = :bad WHERE seq = 3", 3),
                     ("UPDATE audit_events SET seq = 30 WHERE seq = 3", 3),
                     ("UPDATE audit_head SET seq = 5", 5)):
        with engine.begin() as c:
            c.execute(text(sql), {"bad": "0" * 64})
        v = _verify(sessions)
        assert (v.ok, v.first_bad_seq, v.legacy) == (False, seq, 2), sql
        with engine.begin() as c:  # put it back
            c.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = 30"))
            c.execute(text("UPDATE audit_events SET purpose = :p, mac = :m, prev_hash = :h WHERE seq = 3"),
                      {"p": rows[2]["purpose"], "m": rows[2]["mac"], "h": rows[2]["prev_hash"]})
            c.execute(text("UPDATE audit_head SET seq = 4"))
    checkpoint.write(ring, 4, "f" * 64, create=False)  # legacy 2, from the file
    assert _lines(ring)[-1]["legacy"] == 2
    v = _verify(sessions)
    assert (v.ok, v.first_bad_seq, v.legacy, v.checkpoints) == (False, 4, 2, 1)
    _legacy_witness(ring, rows, 2)
    with engine.begin() as c:  # a MAC stripped after the legacy prefix
        c.execute(text("UPDATE audit_events SET mac = NULL, key_id = NULL WHERE seq = 4"))
    v = _verify(sessions)
    assert (v.ok, v.first_bad_seq, v.legacy) == (False, 4, 2)
    assert v.problem.startswith("row 4 names key None")
    with engine.begin() as c:  # a row with its key id but no MAC
        c.execute(text("UPDATE audit_events SET key_id = 'x' WHERE seq = 4"))
        c.execute(text("UPDATE audit_events SET mac = NULL WHERE seq = 3"))
    v = _verify(sessions)
    assert (v.ok, v.first_bad_seq) == (False, 3) and "not authentic" in v.problem
    checkpoint.path_for(ring).unlink()  # without the witness no row may lack a MAC
    v = _verify(sessions)
    assert (v.ok, v.first_bad_seq, v.legacy) == (False, 1, 0) and "no MAC" in v.problem


def test_deleting_or_reordering_rows_is_found(hub):
    engine, sessions = hub
    _write(sessions, 5)
    _drop_guards(engine)
    rows = _rows(engine)
    with engine.begin() as c:  # swap rows 2 and 3 (their numbers too): links break at 2
        c.execute(text("UPDATE audit_events SET seq = -2 WHERE seq = 2"))
        c.execute(text("UPDATE audit_events SET seq = 2 WHERE seq = 3"))
        c.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = -2"))
    v = _verify(sessions)
    assert (v.ok, v.rows, v.first_bad_seq, v.problem) == (False, 1, 2, "row 2 does not link to row 1")
    swapped = [rows[0], rows[2], rows[1]] + rows[3:]
    assert audit.verify_records(swapped).first_bad_seq == 2
    with engine.begin() as c:  # put them back, then delete the middle row
        c.execute(text("UPDATE audit_events SET seq = -2 WHERE seq = 2"))
        c.execute(text("UPDATE audit_events SET seq = 2 WHERE seq = 3"))
        c.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = -2"))
    assert _verify(sessions).ok
    with engine.begin() as c:
        c.execute(text("DELETE FROM audit_events WHERE seq = 3"))
    v = _verify(sessions)
    assert (v.ok, v.rows, v.first_bad_seq, v.problem) == (False, 2, 3, "row 3 is missing")
    assert audit.verify_records(rows[:2] + rows[3:]).first_bad_seq == 3


def test_deleting_the_newest_row_is_found_by_the_head_or_a_checkpoint(hub):
    engine, sessions = hub
    _write(sessions)
    with sessions() as s:
        v, entry = audit.write_checkpoint(s)
    assert v.ok and entry["seq"] == 4
    _drop_guards(engine)
    rows = _rows(engine)
    with engine.begin() as c:
        c.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    v = _verify(sessions)
    assert (v.ok, v.rows, v.first_bad_seq, v.problem) == (False, 3, 4, "the chain ends at row 3 but the head says row 4")
    with engine.begin() as c:  # a careful attacker sets the head back too: it is signed
        c.execute(text("UPDATE audit_head SET seq = 3, hash = :h"), {"h": rows[2]["hash"]})
    v = _verify(sessions)
    assert (v.ok, v.rows, v.first_bad_seq, v.checkpoints) == (False, 3, 4, 0)
    assert v.problem == ("the head (row 3) is not signed with the audit key: it was moved, so rows after row 3 "
                         "may have been deleted")
    kid, key, _ = _key()  # replaying the head's signature from when row 3 was the newest: the checkpoint remembers
    mac3 = hmac.new(key, f"saferhub-audit-head-v1\n{kid}\n3\n{rows[2]['hash']}".encode(), hashlib.sha256).hexdigest()
    with engine.begin() as c:
        c.execute(text("UPDATE audit_head SET mac = :m"), {"m": mac3})
    v = _verify(sessions)
    assert (v.ok, v.rows, v.first_bad_seq, v.checkpoints) == (False, 3, 4, 0)
    assert v.problem == f"rows 4 to 4 are missing: a checkpoint of {entry['at']} saw 4 rows (the log was truncated)"
    with sessions() as s:  # and a broken chain is never checkpointed
        v2, none = audit.write_checkpoint(s)
    assert not v2.ok and none is None


def test_head_hash_must_match_the_last_row(hub):
    engine, sessions = hub
    _write(sessions)
    with engine.begin() as c:
        c.execute(text("UPDATE audit_head SET hash = :h"), {"h": "a" * 64})
    v = _verify(sessions)
    assert (v.ok, v.rows, v.first_bad_seq) == (False, 4, 5)


def test_verify_fails_closed_without_the_key(hub, tmp_path):
    engine, sessions = hub
    _write(sessions)
    path = auditkey.key_path()
    other = auditkey.create(tmp_path / "other" / "audit.key")
    v = _verify(sessions, other)
    assert (v.ok, v.rows, v.first_bad_seq) == (False, 0, 1)
    assert v.problem == f"row 1 names key {_key()[0]!r}, which the key file {other.path} does not hold"
    with sessions() as s:  # nor is a checkpoint signed with a key file the chain does not verify under
        assert audit.write_checkpoint(s, other) == (v, None)
        assert not checkpoint.path_for(other).exists()
    path.unlink()
    v = _verify(sessions)
    assert (v.ok, v.rows, v.first_bad_seq) == (False, 0, None)
    assert v.problem.startswith(f"cannot authenticate the log: no audit key file at {path}")
    with sessions() as s:  # no key file: no new rows either (once the hub has rows); a read's row is
        audit.disclose(s, _user(s), "a purpose", "case", [1])  # group-committed: commit() refuses
        with pytest.raises(auditkey.AuditKeyError):
            s.commit()
    with sessions() as s:
        with pytest.raises(auditkey.AuditKeyError):
            audit.append(s, user=None, action="x", entity="y", entity_ids=[], purpose="p")
    assert len(_rows(engine)) == 4


def test_verify_walks_in_batches(hub):
    engine, sessions = hub
    _write(sessions, 7)
    with sessions() as s:
        for batch in (1, 2, 3, 7, 8):
            v = audit.verify(s, batch=batch)
            assert (v.ok, v.rows) == (True, 7), batch


@pytest.mark.parametrize("purpose,ok", [
    (None, False), ("", False), ("    ", False), ("abcd", False), ("  abcd  ", False), ("abcde", True),
    ("a" * 300, True), ("a" * 301, False), ("  " + "a" * 300 + "  ", True), ("tab\there", False),
    ("nul\x00here", False), ("bad \ud800 text", False), ("Zoë – ok", True),
])
def test_purpose_rules(purpose, ok):
    if ok:
        assert audit.check_purpose(purpose) == purpose.strip()
    else:
        with pytest.raises(audit.MissingPurpose) as e:
            audit.check_purpose(purpose)
        msg = str(e.value)
        if purpose and any(c in purpose for c in "\t\x00\ud800"):
            assert msg == "the purpose contains control characters or broken Unicode; type it as plain text"
        elif purpose and len(purpose.strip()) > 300:
            assert msg == "the purpose is longer than 300 characters"
        else:
            assert msg == ("state why you need this personal data (a purpose of at least 5 characters, e.g. the "
                           "X-Purpose header); DPA 2018 s62 requires it to be logged")


def test_stub_reads_are_logged_only_when_shown(hub):
    engine, sessions = hub
    with sessions() as s:
        audit.disclose_stubs(s, _user(s), "a purpose", [])
        s.commit()
    assert _rows(engine) == []
    with sessions() as s:
        with pytest.raises(audit.MissingPurpose):
            audit.disclose_stubs(s, _user(s), "abc", [5])
        audit.disclose_stubs(s, _user(s), "a purpose", iter([5, 6]), {"page": 2})
        s.commit()
    (row,) = _rows(engine)
    assert (row["action"], row["entity"], row["entity_ids"], row["purpose"]) == ("read", "case_stub", "5,6", "a purpose")
    assert (row["user_id"], row["agency_id"]) == (1, 1)  # who saw the stub
    assert json.loads(row["detail"]) == {"fields": ["case.ref", "owner.name", "owner.email", "lead_agency.name"],
                                         "page": 2}


def test_export_formats(hub):
    engine, sessions = hub
    _write(sessions)
    cols = DOCUMENTED_FIELDS + ["prev_hash", "hash", "key_id", "mac"]
    with sessions() as s:
        as_csv = audit.export(s)
        as_json = audit.export(s, "json")
        with pytest.raises(SaferhubError, match=r"^unknown audit export format 'xml'; use csv or json$"):
            audit.export(s, "xml")
    assert as_csv.splitlines()[0] == ",".join(cols) and "\r" not in as_csv
    records = list(csv.DictReader(io.StringIO(as_csv)))
    assert records == [{k: "" if v is None else str(v) for k, v in r.items()} for r in _rows(engine)]
    assert json.loads(as_json) == _rows(engine)
    assert "Zoë" in as_json and "\n " in as_json  # readable: not escaped, indented
    ring = auditkey.load()
    for recs in (records, json.loads(as_json)):
        v = audit.verify_records(recs, ring)
        assert (v.ok, v.rows) == (True, 4)
    assert audit.verify_records([]).ok
    records[1]["user_id"] = "1"  # the system row re-attributed to a user
    assert audit.verify_records(records).first_bad_seq == 2


# ------------------------------------------------------------------ checkpoints


def _lines(ring) -> list[dict]:
    return [json.loads(x) for x in checkpoint.path_for(ring).read_text().splitlines() if x.strip()]


def test_checkpoint_lines_are_signed_by_hand_and_private(hub):
    engine, sessions = hub
    _write(sessions)
    ring = auditkey.load()
    path = checkpoint.path_for(ring)
    (first,) = _lines(ring)  # the hub's first rows were witnessed after their commit
    assert (first["seq"], first["hash"], first["legacy"]) == (4, _rows(engine)[-1]["hash"], 0)
    path.unlink()
    with pytest.raises(FileNotFoundError):  # a vanished witness is not restarted by the writer
        checkpoint.write(ring, 4, _rows(engine)[-1]["hash"], create=False)
    entry = checkpoint.write(ring, 4, _rows(engine)[-1]["hash"])
    assert path == auditkey.key_path().with_name("audit.checkpoints")
    assert path.stat().st_mode & 0o777 == 0o600
    kid, key, _ = _key()
    (line,) = _lines(ring)
    assert line == entry and set(line) == {"seq", "hash", "at", "legacy", "key_id", "mac"} and line["legacy"] == 0
    assert path.read_text() == json.dumps(entry, sort_keys=True) + "\n"
    msg = f"saferhub-audit-checkpoint-v2\n4\n{line['hash']}\n{line['at']}\n0"
    assert line["mac"] == hmac.new(key, msg.encode(), hashlib.sha256).hexdigest() and line["key_id"] == kid
    at = dt.datetime.fromisoformat(line["at"])
    assert at.utcoffset() == dt.timedelta(0) and at.microsecond == 0
    assert abs(dt.datetime.now(dt.timezone.utc) - at) < dt.timedelta(seconds=5)
    with path.open("a") as f:
        f.write("\n   \n")  # blank lines are skipped, and checking goes on after them
    checkpoint.write(ring, 0, GENESIS)  # the empty chain, as `hub init` checkpoints it
    with sessions() as s:
        rep = checkpoint.check(s, ring, 4)
    assert (rep.checked, rep.problem, rep.bad_seq) == (2, None, None)
    assert _verify(sessions).checkpoints == 2


@pytest.mark.parametrize("edit", ["seq", "hash", "at", "legacy", "mac", "key_id", "garbage", "missing"])
def test_an_edited_checkpoint_line_is_refused(hub, edit):
    engine, sessions = hub
    _write(sessions)
    ring = auditkey.load()
    good = checkpoint.write(ring, 2, _rows(engine)[1]["hash"])
    path = checkpoint.path_for(ring)
    bad = dict(good)
    if edit == "garbage":
        text_line = "{not json"
    else:
        if edit == "missing":
            del bad["mac"]
        else:
            bad[edit] = {"seq": 1, "hash": "0" * 64, "at": "2020-01-01T00:00:00+00:00", "mac": "0" * 64,
                         "key_id": "k-other", "legacy": 1}[edit]
        text_line = json.dumps(bad)
    path.write_text(json.dumps(good) + "\n" + text_line + "\n")
    with sessions() as s:
        rep = checkpoint.check(s, ring, 4)
    assert (rep.checked, rep.bad_seq) == (1, None)
    assert rep.problem == ("audit.checkpoints line 2 is not an authentic checkpoint (edited, or signed with a key "
                           "this key file does not hold)")
    v = _verify(sessions)
    assert (v.ok, v.rows, v.checkpoints, v.problem) == (False, 4, 1, rep.problem)


def test_a_checkpoint_names_a_row_that_was_changed(hub):
    engine, sessions = hub
    _write(sessions)
    ring = auditkey.load()
    checkpoint.path_for(ring).unlink()
    entry = checkpoint.write(ring, 3, "c" * 64)  # signed, but not what row 3 holds
    with sessions() as s:
        rep = checkpoint.check(s, ring, 4)
    assert (rep.checked, rep.bad_seq) == (0, 3)
    assert rep.problem == f"row 3 differs from the checkpoint of {entry['at']}"
    with sessions() as s:  # a checkpoint at the head itself is fine; one row beyond it is not
        checkpoint.path_for(ring).unlink()
        checkpoint.write(ring, 4, _rows(engine)[3]["hash"])
        assert checkpoint.check(s, ring, 4).problem is None
        late = checkpoint.write(ring, 5, "b" * 64)
        rep = checkpoint.check(s, ring, 4)
    assert (rep.checked, rep.bad_seq) == (1, 5)
    assert rep.problem == f"rows 5 to 5 are missing: a checkpoint of {late['at']} saw 5 rows (the log was truncated)"


def test_checkpoints_are_written_after_commit_every_n_rows(hub, monkeypatch):
    engine, sessions = hub
    assert checkpoint.EVERY == 100
    monkeypatch.setattr(checkpoint, "EVERY", 4)
    ring_path = lambda: checkpoint.path_for(auditkey.load())  # noqa: E731
    with sessions() as s:
        for i in range(5):  # rows 1-5: row 4 is due, and the due checkpoint follows the chain to row 5
            audit.append(s, user=None, action="x", entity="y", entity_ids=[i], purpose="p")
            assert not ring_path().exists()  # nothing before the commit
        s.commit()
    rows = _rows(engine)
    assert [(e["seq"], e["hash"]) for e in _lines(auditkey.load())] == [(5, rows[4]["hash"])]
    with sessions() as s:  # rows 6 and 7, not due: nothing new
        for i in range(2):
            audit.append(s, user=None, action="x", entity="y", entity_ids=[i], purpose="p")
        s.commit()
    assert len(_lines(auditkey.load())) == 1
    with sessions() as s:  # rows 8 (due) and 9, rolled back: no checkpoint is left behind
        for i in range(2):
            audit.append(s, user=None, action="x", entity="y", entity_ids=[i], purpose="p")
        s.rollback()
    with sessions() as s:
        s.commit()  # an empty commit writes nothing either
    assert len(_lines(auditkey.load())) == 1
    assert _verify(sessions).checkpoints == 1


@pytest.mark.parametrize("error", [OSError("disk full"), auditkey.AuditKeyError("key file gone")])
def test_a_failed_checkpoint_write_is_logged_not_raised(hub, monkeypatch, caplog, error):
    engine, sessions = hub
    monkeypatch.setattr(checkpoint, "EVERY", 1)

    def broken(*a, **k):
        raise error

    monkeypatch.setattr(checkpoint, "write", broken)
    with caplog.at_level(logging.ERROR, logger="saferhub.hub.audit"), sessions() as s:
        audit.append(s, user=None, action="x", entity="y", entity_ids=[], purpose="p")
        s.commit()
    assert len(_rows(engine)) == 1
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("saferhub.hub.audit", "ERROR", f"could not write the audit checkpoint: {error}")]
