"""The audit log: append-only, hash-chained, with a verify and an export (DPA 2018 Part 3, s62:
log consultation and disclosure of personal data with who, when, what and why).

Each row stores `prev_hash` (the previous row's hash) and `hash = SHA-256(canonical JSON of its own
fields + prev_hash)`. Changing, deleting or re-ordering any row breaks every later link, which
`verify` reports. Appends lock the single `audit_head` row, so concurrent writers on PostgreSQL
extend the chain one at a time; the row is written in the same transaction as the data it logs.

`disclose` is the one function every read of personal data goes through: it refuses to proceed
without a stated purpose."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.errors import SaferhubError
from saferhub.hub.models import AuditEvent, AuditHead, User

GENESIS = "0" * 64
FIELDS = ("seq", "at", "user_id", "agency_id", "action", "entity", "entity_ids", "purpose", "detail")
MIN_PURPOSE = 5


class MissingPurpose(SaferhubError):
    """Personal data was asked for without a stated purpose."""


def row_hash(fields: dict, prev_hash: str) -> str:
    payload = json.dumps({k: fields[k] for k in FIELDS} | {"prev_hash": prev_hash},
                         sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def check_purpose(purpose: str | None) -> str:
    purpose = (purpose or "").strip()
    if len(purpose) < MIN_PURPOSE:
        raise MissingPurpose(
            f"state why you need this personal data (a purpose of at least {MIN_PURPOSE} characters, "
            "e.g. the X-Purpose header); DPA 2018 s62 requires it to be logged"
        )
    if len(purpose) > 300:
        raise MissingPurpose("the purpose is longer than 300 characters")
    return purpose


def append(db: Session, *, user: User | None, action: str, entity: str, entity_ids: Iterable,
           purpose: str, detail: dict | None = None) -> AuditEvent:
    """Add one chained row (flushed, not committed: it commits with the caller's transaction)."""
    head = db.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
    fields = {
        "seq": head.seq + 1,
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds"),
        "user_id": user.id if user is not None else None,
        "agency_id": user.agency_id if user is not None else None,
        "action": action,
        "entity": entity,
        "entity_ids": ",".join(str(i) for i in entity_ids),
        "purpose": purpose,
        "detail": json.dumps(detail or {}, sort_keys=True, default=str),
    }
    digest = row_hash(fields, head.hash)
    event = AuditEvent(**fields, prev_hash=head.hash, hash=digest)
    db.add(event)
    head.seq, head.hash = fields["seq"], digest
    db.flush()  # one flush sends the insert and the head update together
    return event


def disclose(db: Session, user: User, purpose: str | None, entity: str, entity_ids: Iterable,
             detail: dict | None = None) -> None:
    """Log a read of personal data. Every personal-data read goes through here, before the data
    is returned; no purpose, no data."""
    append(db, user=user, action="read", entity=entity, entity_ids=list(entity_ids),
           purpose=check_purpose(purpose), detail=detail)


@dataclass
class Verification:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(db: Session, batch: int = 5000) -> Verification:
    """Walk the chain in order; the first row whose link or content does not match is reported."""
    prev, expected_seq, n, last = GENESIS, 1, 0, 0
    while True:
        rows = db.execute(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for r in rows:
            if r.seq != expected_seq:
                return Verification(False, n, expected_seq, f"row {expected_seq} is missing")
            if r.prev_hash != prev:
                return Verification(False, n, r.seq, f"row {r.seq} does not link to row {r.seq - 1}")
            fields = {k: getattr(r, k) for k in FIELDS}
            if row_hash(fields, r.prev_hash) != r.hash:
                return Verification(False, n, r.seq, f"row {r.seq} was changed after it was written")
            prev, expected_seq, n, last = r.hash, r.seq + 1, n + 1, r.seq
        db.expunge_all()
    head = db.get(AuditHead, 1)
    if head.seq != n or head.hash != prev:
        return Verification(False, n, n + 1, f"the chain ends at row {n} but the head says row {head.seq}")
    return Verification(True, n)


def export(db: Session, fmt: str = "csv") -> str:
    """The whole log as CSV or JSON (with hashes, so the export can be verified elsewhere)."""
    rows = db.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()
    cols = FIELDS + ("prev_hash", "hash")
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


def verify_records(records: list[dict]) -> Verification:
    """Verify an exported chain (list of dicts as written by `export`) without the database."""
    prev = GENESIS
    for i, r in enumerate(records, start=1):
        fields = {k: r[k] for k in FIELDS}
        for k in ("seq", "user_id", "agency_id"):
            fields[k] = None if fields[k] in (None, "") else int(fields[k])
        if fields["seq"] != i or r["prev_hash"] != prev or row_hash(fields, prev) != r["hash"]:
            return Verification(False, i - 1, i, f"row {i} does not verify")
        prev = r["hash"]
    return Verification(True, len(records))
