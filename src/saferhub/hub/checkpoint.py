"""Signed checkpoints of the audit chain's head, kept outside the database (the witness).

The HMAC on each audit row stops forgery, but not truncation: deleting the newest rows (and
setting the head back) leaves a shorter chain that still verifies. So the head is witnessed: a
line `{"seq", "hash", "at", "legacy", "key_id", "mac"}` is appended to a file beside the key file
(`audit.key` -> `audit.checkpoints`) when a hub writes its first rows, whenever a transaction
crosses a multiple of `EVERY` rows, at `hub init`, at key rotation and on `saferhub hub
audit-checkpoint`. `audit-verify` then requires:
- every line to be authentic, and every row it names to be present with the same hash;
- the file to reach at least the last multiple of `EVERY` below the database's head, and to exist
  at all once the database holds rows: deleting the file, or dropping its newest lines back past
  such a point, is a failure (`coverage`);
- no row without a MAC after the key era began. `legacy` is how many leading rows were written
  before audit keys existed (migration 0003); it is signed into every line, so whoever can only
  write to the database cannot widen it by stripping MACs (lines written before this field existed
  count as `legacy = seq`: the row they pin is as far as any unkeyed row can reach).

The writer never creates the file except for a hub's very first checkpoint (a new hub, or `hub
init` making the key of a hub with legacy rows): a file that vanished later stays missing, so
verification keeps failing until a key holder looks and runs `audit-checkpoint --repair-witness`.

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

EVERY = 100  # rows between the points the witness must reach
GENESIS = "0" * 64


def path_for(ring: Keyring) -> Path:
    return ring.path.with_suffix(".checkpoints")


def _message(seq: int, digest: str, at: str, legacy: int | None = None) -> str:
    if legacy is None:  # lines written before the era was recorded
        return f"saferhub-audit-checkpoint-v1\n{seq}\n{digest}\n{at}"
    return f"saferhub-audit-checkpoint-v2\n{seq}\n{digest}\n{at}\n{legacy}"


def write(ring: Keyring, seq: int, digest: str, legacy: int | None = None, *, create: bool = True) -> dict:
    """Append one signed checkpoint line (file created 0600 only when `create`; otherwise a missing
    file is FileNotFoundError, so a deleted witness is not silently restarted). `legacy` defaults
    to the value the file already records (0 for a new file)."""
    path = path_for(ring)
    if legacy is None:
        legacy = recorded_legacy(ring)
        legacy = 0 if legacy is None else legacy
    at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    entry = {"seq": seq, "hash": digest, "at": at, "legacy": legacy, "key_id": ring.current,
             "mac": ring.mac(ring.current, _message(seq, digest, at, legacy))}
    line = json.dumps(entry, sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | (os.O_CREAT if create else 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    _send_elsewhere(line)
    return entry


def _send_elsewhere(line: str) -> None:
    """The pluggable second witness: `SAFERHUB_AUDIT_WITNESS_COMMAND` gets each line on its stdin
    (e.g. `logger -n loghost -t saferhub-audit`, `ssh witness@host 'cat >> hub.checkpoints'`, or a
    client for an append-only / object-lock store). A failure is logged, not raised: the local
    file already holds the line."""
    command = os.environ.get("SAFERHUB_AUDIT_WITNESS_COMMAND", "").strip()
    if not command:
        return
    import logging
    import shlex
    import subprocess

    try:
        subprocess.run(shlex.split(command), input=line, text=True, timeout=10, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        logging.getLogger(__name__).error("the second audit witness (%s) failed: %s", command, exc)


_legacy_cache: dict[Path, tuple[int, int, int]] = {}  # path -> (inode, size read, legacy)


def recorded_legacy(ring: Keyring) -> int | None:
    """How many unkeyed leading rows the witness allows (None: no authentic line, or no file).
    Cached while the file only grows (writers append), so a batch need not re-read it."""
    path = path_for(ring)
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    hit = _legacy_cache.get(path)
    if hit and hit[0] == st.st_ino and hit[1] <= st.st_size:
        return hit[2]
    good = [e for _, e in read(ring) if e is not None]
    if not good:
        return None
    legacy = min(_legacy_of(e) for e in good)
    _legacy_cache[path] = (st.st_ino, st.st_size, legacy)
    return legacy


def _legacy_of(e: dict) -> int:
    return int(e["legacy"]) if "legacy" in e else int(e["seq"])


def read(ring: Keyring, copy: Path | None = None) -> list[tuple[int | str, dict | None]]:
    """(line number, entry) for each non-blank line; entry None when the line is not authentic.
    `copy`: a copy of the witness kept elsewhere (its lines are labelled with its path)."""
    path = copy or path_for(ring)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if copy is not None:
            lineno = f"{copy} line {lineno}"
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            seq, digest, at = int(e["seq"]), str(e["hash"]), str(e["at"])
            legacy = int(e["legacy"]) if "legacy" in e else None
            ok = ring.check(e.get("key_id"), _message(seq, digest, at, legacy), e.get("mac"))
            if legacy is not None and not 0 <= legacy <= seq:
                ok = False
        except (ValueError, KeyError, TypeError, AttributeError):
            ok = False
        out.append((lineno, e if ok else None))
    return out


def allowed_legacy(lines: list[tuple[int, dict | None]]) -> int:
    """The longest unkeyed prefix the authentic lines allow (0 without any: fail closed)."""
    good = [e for _, e in lines if e is not None]
    return min((_legacy_of(e) for e in good), default=0)


@dataclass
class CheckpointReport:
    checked: int
    problem: str | None = None
    bad_seq: int | None = None
    top: int | None = None  # the newest row the witness vouches for
    coverage: bool = False  # the problem is that the witness stops short (deleted, shortened)


def _hashes(db: Session, seqs: set[int], chunk: int = 1000) -> dict[int, str]:
    """The stored hash of each row a line names (a line per batch: fetched in chunks, not one by one)."""
    order, out = sorted(seqs), {}
    for i in range(0, len(order), chunk):
        part = order[i:i + chunk]
        out.update(db.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(part))).all())
    return out


def check(db: Session, ring: Keyring, head_seq: int, lines: list | None = None) -> CheckpointReport:
    """Every checkpoint must be authentic, the database must still hold its row unchanged, and the
    witness must reach as far as the database says it should (not deleted, not shortened)."""
    path = path_for(ring)
    lines = read(ring) if lines is None else lines
    n, top = 0, None
    stored = _hashes(db, {int(e["seq"]) for _, e in lines if e is not None and 0 < int(e["seq"]) <= head_seq})
    for lineno, e in lines:
        if e is None:
            where = lineno if isinstance(lineno, str) else f"{path.name} line {lineno}"
            return CheckpointReport(n, f"{where} is not an authentic checkpoint "
                                       "(edited, or signed with a key this key file does not hold)")
        seq, digest, at = int(e["seq"]), str(e["hash"]), str(e["at"])
        if seq > head_seq:
            return CheckpointReport(n, f"rows {head_seq + 1} to {seq} are missing: a checkpoint of {at} "
                                       f"saw {seq} rows (the log was truncated)", head_seq + 1)
        if (GENESIS if seq == 0 else stored.get(seq)) != digest:
            return CheckpointReport(n, f"row {seq} differs from the checkpoint of {at}", seq)
        n, top = n + 1, seq if top is None else max(top, seq)
    if head_seq > 0 and top is None:
        return CheckpointReport(n, f"the checkpoint file {path} is missing or empty, but the database holds "
                                   f"{head_seq:,} audit rows (the witness was deleted; once you know why: "
                                   "saferhub hub audit-checkpoint --repair-witness)", 1, coverage=True)
    due = head_seq // EVERY * EVERY
    if top is not None and top < due:
        return CheckpointReport(n, f"the checkpoint file ends at row {top} but the database has {head_seq:,} rows, "
                                   f"so it must reach row {due} (lines were dropped from {path.name})", top + 1, top,
                                coverage=True)
    return CheckpointReport(n, top=top)
