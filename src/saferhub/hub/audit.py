"""The audit log: append-only, hash-chained, keyed, with a verify and an export (DPA 2018 Part 3,
s62: log consultation and disclosure of personal data with who, when, what and why).

Each row stores `prev_hash` (the previous row's hash) and `hash = SHA-256(canonical JSON of its own
fields + prev_hash)`, so changing, deleting or re-ordering any row breaks every later link. A hash
chain alone has no secret, though: whoever can write to the database can rewrite rows and
recompute every hash. So each row also carries `mac = HMAC-SHA256(key, key_id + hash)` under a key
held in a file outside the database (`saferhub.hub.auditkey`), and the chain's head is checkpointed,
signed, to a file beside the key (`saferhub.hub.checkpoint`), which catches truncation. `verify`
fails closed: a missing or wrong key, an unknown key id or a missing MAC is a failure, not a pass.
The head itself is signed too (`audit_head.mac`), so moving it back after deleting the newest rows
needs the key; rows without a MAC are accepted only as the leading prefix the signed checkpoints
record as "legacy" (written before audit keys existed), never because the database says so.

Appends lock the single `audit_head` row, so concurrent writers on PostgreSQL extend the chain one
at a time. A write's row is written in the same transaction as the data it logs; reads' rows are
group-committed after their transaction commits (`disclose`, `saferhub.hub.auditbatch`).

`disclose` is the one function every read of personal data goes through: it refuses to proceed
without a stated purpose. Purposes are stored exactly as given (Unicode; only the surrounding
white space is dropped)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from saferhub.errors import SaferhubError
from saferhub.hub import auditkey, checkpoint
from saferhub.hub.auditkey import AuditKeyError, Keyring
from saferhub.hub.models import AuditEvent, AuditHead, User

GENESIS = "0" * 64
FIELDS = ("seq", "at", "user_id", "agency_id", "action", "entity", "entity_ids", "purpose", "detail")
MIN_PURPOSE = 5


class MissingPurpose(SaferhubError):
    """Personal data was asked for without a stated purpose."""


class HeadMoved(AuditKeyError):
    """The audit head is not the one the hub signed: extending it would bless a truncation (503)."""


def row_hash(fields: dict, prev_hash: str) -> str:
    payload = json.dumps({k: fields[k] for k in FIELDS} | {"prev_hash": prev_hash},
                         sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def mac_message(key_id: str, digest: str) -> str:
    return f"saferhub-audit-row-v1\n{key_id}\n{digest}"


def head_message(key_id: str, seq: int, digest: str) -> str:
    return f"saferhub-audit-head-v1\n{key_id}\n{seq}\n{digest}"


def check_purpose(purpose: str | None) -> str:
    purpose = (purpose or "").strip()
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in purpose):
        raise MissingPurpose("the purpose contains control characters or broken Unicode; type it as plain text")
    if len(purpose) < MIN_PURPOSE:
        raise MissingPurpose(
            f"state why you need this personal data (a purpose of at least {MIN_PURPOSE} characters, "
            "e.g. the X-Purpose header); DPA 2018 s62 requires it to be logged"
        )
    if len(purpose) > 300:
        raise MissingPurpose("the purpose is longer than 300 characters")
    return purpose


def record(*, user: User | None, action: str, entity: str, entity_ids: Iterable, purpose: str,
           detail: dict | None = None) -> dict:
    """A row's content before it is placed in the chain (no seq yet)."""
    return {
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds"),
        "user_id": user.id if user is not None else None,
        "agency_id": user.agency_id if user is not None else None,
        "action": action,
        "entity": entity,
        "entity_ids": ",".join(str(i) for i in entity_ids),
        "purpose": purpose,
        "detail": json.dumps(detail or {}, sort_keys=True, default=str),
    }


def open_head(db: Session) -> tuple[AuditHead, Keyring]:
    """Lock the head (appends extend the chain one at a time) and check it is the one the hub
    signed; a brand-new hub gets its key on the first row, after that a missing key is an error."""
    head = db.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
    ring = auditkey.ensure()[0] if head.seq == 0 else auditkey.load()
    if not _head_signed(head, ring):
        raise HeadMoved("the audit head is not the one the hub signed (moved, or its signature removed): no "
                        "new rows until an administrator runs `saferhub hub audit-verify`")
    return head, ring


def seal(head: AuditHead, ring: Keyring, content: dict) -> dict:
    """Place one record after the head: its seq, links, hash and MAC; the head moves to it and is
    re-signed. Returns the row's columns."""
    fields = {"seq": head.seq + 1} | content
    digest = row_hash(fields, head.hash)
    row = fields | {"prev_hash": head.hash, "hash": digest, "key_id": ring.current,
                    "mac": ring.mac(ring.current, mac_message(ring.current, digest))}
    head.seq, head.hash = fields["seq"], digest
    head.mac = ring.mac(ring.current, head_message(ring.current, fields["seq"], digest))
    return row


def append(db: Session, *, user: User | None, action: str, entity: str, entity_ids: Iterable,
           purpose: str, detail: dict | None = None, _content: dict | None = None) -> AuditEvent:
    """Add one chained, keyed row (flushed, not committed: it commits with the caller's transaction,
    so a write and its audit row commit or roll back together)."""
    content = _content or record(user=user, action=action, entity=entity, entity_ids=entity_ids,
                                 purpose=purpose, detail=detail)
    head, ring = open_head(db)
    before = head.seq
    for earlier in db.info.pop(_READS, []):  # reads this transaction made before it wrote: in order, inline
        db.add(AuditEvent(**seal(head, ring, earlier)))
    row = AuditEvent(**seal(head, ring, content))
    db.add(row)
    db.info[HOLDS_HEAD] = True
    db.flush()  # one flush sends the insert and the head update together
    due = db.info.get(_DUE)
    if due or before == 0 or row.seq // checkpoint.EVERY > before // checkpoint.EVERY:
        # written once the transaction has committed; only a hub's first rows may create the file
        first = before == 0 or (due is not None and due[3])
        db.info[_DUE] = (ring, row.seq, row.hash, first)
    return row


_DUE = "saferhub_audit_checkpoint"
HOLDS_HEAD = "saferhub_audit_holds_head"  # this transaction has appended (and locked the head)
_READS = "saferhub_audit_reads"  # disclosures waiting for the transaction's commit


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(HOLDS_HEAD, None)
    due = session.info.pop(_DUE, None)
    if due:
        ring, seq, digest, first = due
        try:
            checkpoint.write(ring, seq, digest, create=first)
        except (OSError, AuditKeyError) as exc:  # the data is committed; say so loudly, do not 500
            logging.getLogger(__name__).error("could not write the audit checkpoint: %s", exc)
    reads = session.info.pop(_READS, None)
    if reads:  # group commit: wait until they are durable (an error propagates out of commit())
        from saferhub.hub import auditbatch

        auditbatch.write(session.get_bind(), reads)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    for k in (_DUE, HOLDS_HEAD, _READS):
        session.info.pop(k, None)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction) -> None:
    if transaction.parent is None and not transaction.nested:  # also a close() without commit
        _forget(session)


def disclose(db: Session, user: User, purpose: str | None, entity: str, entity_ids: Iterable,
             detail: dict | None = None) -> None:
    """Log a read of personal data. Every personal-data read goes through here, before the data
    is returned; no purpose, no data.

    Reads are group-committed: the record waits for the caller's commit, then joins a batch that
    one transaction appends, chains and commits for many requests at once (`auditbatch`);
    `commit()` returns only once the row is durable, so no answer leaves before its audit row,
    and a rolled-back transaction logs nothing, as before. A transaction that has already
    appended (a write, holding the head) logs its reads inline instead."""
    _read(db, record(user=user, action="read", entity=entity, entity_ids=list(entity_ids),
                     purpose=check_purpose(purpose), detail=detail))


def _read(db: Session, content: dict) -> None:
    if db.info.get(HOLDS_HEAD):
        append_record(db, content)
        return
    _key_usable()
    db.info.setdefault(_READS, []).append(content)


def append_record(db: Session, content: dict) -> AuditEvent:
    return append(db, user=None, action=content["action"], entity=content["entity"], entity_ids=[],
                  purpose=content["purpose"], _content=content)


def _key_usable() -> None:
    """Refuse a read at once when the key file is there but unusable (too open, malformed); a
    missing file is decided by the batch (a brand-new hub makes its key on the first row)."""
    try:
        auditkey.load()
    except AuditKeyError:
        if auditkey.key_path().exists():
            raise


STUB_FIELDS = ("case.ref", "owner.name", "owner.email", "lead_agency.name")


def disclose_stubs(db: Session, user: User, purpose: str | None, case_ids: Iterable,
                   detail: dict | None = None) -> None:
    """Log that locked cases' stubs were shown. A stub names the owning officer (name, e-mail) so
    the reader knows whom to ask: personal data too. Its own entity ("case_stub"), so a reviewer
    can tell "saw the case" from "saw whom to contact"; nothing is written when no stub was shown."""
    ids = list(case_ids)
    if ids:
        _read(db, record(user=user, action="read", entity="case_stub", entity_ids=ids, purpose=check_purpose(purpose),
                         detail={"fields": list(STUB_FIELDS)} | (detail or {})))


@dataclass
class Verification:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    problem: str | None = None
    legacy: int = 0  # leading rows from before keying: protected by the chain and checkpoints only
    checkpoints: int = 0


def _keyring(ring: Keyring | None) -> Keyring:
    return ring if ring is not None else auditkey.load()


def verify(db: Session, ring: Keyring | None = None, batch: int = 5000, *, bootstrap: bool = False,
           coverage: bool = True, copies: Iterable = ()) -> Verification:
    """Walk the chain in order; the first row whose link, content or MAC does not match is reported,
    then the head and the signed checkpoints are compared. No key, no pass.

    `bootstrap` (only `hub init` creating the key of a hub with legacy rows) accepts any leading
    unkeyed rows and no witness yet; `coverage=False` (only `audit-checkpoint --repair-witness`)
    skips the check that the witness reaches as far as the database. `copies`: copies of the
    witness kept elsewhere (another host, append-only storage), checked like the local file."""
    try:
        ring = _keyring(ring)
    except AuditKeyError as exc:
        return Verification(False, 0, None, f"cannot authenticate the log: {exc}")
    lines = checkpoint.read(ring)
    for copy in copies:
        lines += checkpoint.read(ring, Path(copy))
    allowed = None if bootstrap else checkpoint.allowed_legacy(lines)
    prev, expected_seq, n, last, legacy, last_kid = GENESIS, 1, 0, 0, 0, None
    while True:
        rows = db.execute(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for r in rows:
            if r.seq != expected_seq:
                return Verification(False, n, expected_seq, f"row {expected_seq} is missing", legacy)
            if r.prev_hash != prev:
                return Verification(False, n, r.seq, f"row {r.seq} does not link to row {r.seq - 1}", legacy)
            fields = {k: getattr(r, k) for k in FIELDS}
            if row_hash(fields, r.prev_hash) != r.hash:
                return Verification(False, n, r.seq, f"row {r.seq} was changed after it was written", legacy)
            if r.mac is None and r.key_id is None and legacy == n and (allowed is None or n < allowed):
                legacy += 1  # written before audit keys existed (migration 0003), as the witness records
            elif r.mac is None and r.key_id is None and legacy == n:
                return Verification(False, n, r.seq, f"row {r.seq} has no MAC, but the audit key era began "
                                                      f"after row {allowed} (signed in the checkpoint file): "
                                                      "its MAC was stripped", legacy)
            elif r.key_id not in ring.keys:
                return Verification(False, n, r.seq, f"row {r.seq} names key {r.key_id!r}, which the key file "
                                                      f"{ring.path} does not hold", legacy)
            elif not ring.check(r.key_id, mac_message(r.key_id, r.hash), r.mac):
                return Verification(False, n, r.seq, f"row {r.seq} is not authentic: its MAC does not match "
                                                      "(rewritten, or the wrong key file)", legacy)
            else:
                last_kid = r.key_id
            prev, expected_seq, n, last = r.hash, r.seq + 1, n + 1, r.seq
        db.expunge_all()
    head = db.get(AuditHead, 1)
    if head.seq != n or head.hash != prev:
        return Verification(False, n, n + 1, f"the chain ends at row {n} but the head says row {head.seq}", legacy)
    if not _head_authentic(head, last_kid if last_kid and last == n else None, ring, lines):
        return Verification(False, n, n + 1, f"the head (row {n}) is not signed with the audit key: it was moved, "
                                             f"so rows after row {n} may have been deleted", legacy)
    if bootstrap:
        return Verification(True, n, legacy=legacy)
    cp = checkpoint.check(db, ring, n, lines)
    if cp.problem and (coverage or not cp.coverage):
        return Verification(False, n, cp.bad_seq, cp.problem, legacy, cp.checked)
    return Verification(True, n, legacy=legacy, checkpoints=cp.checked)


def _head_signed(head: AuditHead, ring: Keyring) -> bool:
    """Before extending the chain: the head carries the hub's signature under one of its keys (or is
    unsigned where that is allowed: see `_head_authentic`; the witness is read only then)."""
    if head.mac is None:
        return head.seq == 0 or _head_authentic(head, None, ring, checkpoint.read(ring))
    return any(ring.check(k, head_message(k, head.seq, head.hash), head.mac) for k in ring.keys)


def _head_authentic(head: AuditHead, kid: str | None, ring: Keyring, lines: list) -> bool:
    """Signed under the newest row's key; or unsigned (an empty hub, or rows from before 0005)
    where a signed checkpoint names exactly this row."""
    if head.mac is not None:
        return kid is not None and ring.check(kid, head_message(kid, head.seq, head.hash), head.mac)
    if head.seq == 0:
        return True
    return any(e is not None and int(e["seq"]) == head.seq and e["hash"] == head.hash for _, e in lines)


def write_checkpoint(db: Session, ring: Keyring | None = None, *, bootstrap: bool = False,
                     repair: bool = False) -> tuple[Verification, dict | None]:
    """Verify, then sign the current head into the checkpoint file (never bless a broken chain).
    `repair` also accepts a witness that stops short of the database (deleted or shortened by
    accident, or a crash between a commit and its checkpoint) and restarts it: a key holder's
    deliberate decision, after looking."""
    ring = _keyring(ring)
    v = verify(db, ring, bootstrap=bootstrap, coverage=not repair)
    if not v.ok:
        return v, None
    head = db.get(AuditHead, 1)
    create = bootstrap or repair or head.seq == 0
    return v, checkpoint.write(ring, head.seq, head.hash, v.legacy, create=create)


def export(db: Session, fmt: str = "csv") -> str:
    """The whole log as CSV or JSON (with hashes, so the export can be verified elsewhere)."""
    rows = db.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()
    cols = FIELDS + ("prev_hash", "hash", "key_id", "mac")
    records = [{c: getattr(r, c) for c in cols} for r in rows]
    if fmt == "json":
        return json.dumps(records, indent=1, ensure_ascii=False)
    if fmt != "csv":
        raise SaferhubError(f"unknown audit export format {fmt!r}; use csv or json")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(records)
    return buf.getvalue()


def verify_records(records: list[dict], ring: Keyring | None = None) -> Verification:
    """Verify an exported chain (list of dicts as written by `export`) without the database; with
    the keyring, each row's MAC too."""
    prev = GENESIS
    for i, r in enumerate(records, start=1):
        fields = {k: r[k] for k in FIELDS}
        for k in ("seq", "user_id", "agency_id"):
            fields[k] = None if fields[k] in (None, "") else int(fields[k])
        if fields["seq"] != i or r["prev_hash"] != prev or row_hash(fields, prev) != r["hash"]:
            return Verification(False, i - 1, i, f"row {i} does not verify")
        if ring is not None and not ring.check(r.get("key_id"), mac_message(r.get("key_id") or "", r["hash"]),
                                               r.get("mac")):
            return Verification(False, i - 1, i, f"row {i} is not authentic under this key file")
        prev = r["hash"]
    return Verification(True, len(records))
