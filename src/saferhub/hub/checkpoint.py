"""Signed checkpoints of the audit chain's head, kept outside the database.

The HMAC on each audit row stops forgery, but not truncation: deleting the newest rows (and
setting the head back) leaves a shorter chain that still verifies. So every `EVERY` rows (after the
transaction commits), at `hub init`, at key rotation and on `saferhub hub audit-checkpoint`, a line
`{"seq", "hash", "at", "key_id", "mac"}` is appended to a file beside the key file
(`audit.key` -> `audit.checkpoints`). `audit-verify` then requires every checkpointed row to be
present with the same hash. Rows written after the last checkpoint can still be removed unseen:
run `audit-checkpoint` from cron (e.g. hourly) and copy the file off the host to narrow that gap.

Lines are appended with O_APPEND (one small write each, so concurrent server processes do not
interleave); order does not matter, each line is checked on its own."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.hub.auditkey import Keyring
from saferhub.hub.models import AuditEvent

EVERY = 100  # rows between automatic checkpoints
GENESIS = "0" * 64


def path_for(ring: Keyring) -> Path:
    return ring.path.with_suffix(".checkpoints")


def _message(seq: int, digest: str, at: str) -> str:
    return f"saferhub-audit-checkpoint-v1\n{seq}\n{digest}\n{at}"


def write(ring: Keyring, seq: int, digest: str) -> dict:
    """Append one signed checkpoint line (file created 0600)."""
    at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    entry = {"seq": seq, "hash": digest, "at": at, "key_id": ring.current,
             "mac": ring.mac(ring.current, _message(seq, digest, at))}
    path = path_for(ring)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


@dataclass
class CheckpointReport:
    checked: int
    problem: str | None = None
    bad_seq: int | None = None


def check(db: Session, ring: Keyring, head_seq: int) -> CheckpointReport:
    """Every checkpoint must be authentic, and the database must still hold its row unchanged."""
    path = path_for(ring)
    if not path.exists():
        return CheckpointReport(0)
    n = 0
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            seq, digest, at = int(e["seq"]), str(e["hash"]), str(e["at"])
            authentic = ring.check(e.get("key_id"), _message(seq, digest, at), e.get("mac"))
        except (ValueError, KeyError, TypeError):
            authentic = False
        if not authentic:
            return CheckpointReport(n, f"{path.name} line {lineno} is not an authentic checkpoint "
                                       "(edited, or signed with a key this key file does not hold)")
        if seq > head_seq:
            return CheckpointReport(n, f"rows {head_seq + 1} to {seq} are missing: a checkpoint of {at} "
                                       f"saw {seq} rows (the log was truncated)", head_seq + 1)
        stored = GENESIS if seq == 0 else db.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))
        if stored != digest:
            return CheckpointReport(n, f"row {seq} differs from the checkpoint of {at}", seq)
        n += 1
    return CheckpointReport(n)
