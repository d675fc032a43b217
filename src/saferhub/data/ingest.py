"""Ingest files into the event store as one transaction: all files land, or (when any file is
unusable) none do and the store is exactly as it was.

The unit of replacement is a partition (dataset, force, month). data.police.uk republishes months
with matured outcomes, so a *newer* copy of a force-month replaces the stored one; the same copy
again changes nothing; an *older* copy is ignored unless `replace_older` is set.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from saferhub.data.sources import Limits, Member, close_archives, discover
from saferhub.data.schemas import schema_tag
from saferhub.data.store import StoreWriter, partition_key
from saferhub.errors import BadFileError, SaferhubError


class IngestError(SaferhubError):
    """One or more files were unusable; nothing was stored."""

    def __init__(self, errors: list[BadFileError]):
        self.errors = errors
        if len(errors) == 1:   # the usual case: one line naming the file and the reason
            super().__init__(f"{errors[0]}; nothing was stored (the store is unchanged)")
            return
        lines = "\n".join(f"  {e}" for e in errors)
        super().__init__(f"{len(errors)} files could not be ingested; the store is unchanged:\n{lines}")


@dataclass
class FileResult:
    name: str
    kind: str
    force: str
    months: list[str]
    read: int
    stored: int
    quarantined: int
    ignored: int
    unlocated: int
    change: str          # new | replaced | upgraded (rewritten with new columns) | unchanged | older copy ignored | mixed
    warnings: int = 0    # rows stored with a warning (duplicate Crime IDs); not part of the balance
    ignored_columns: list[str] = field(default_factory=list)   # header columns of no known kind, not stored

    @property
    def balanced(self) -> bool:
        return self.read == self.stored + self.quarantined + self.ignored


@dataclass
class IngestReport:
    store: Path
    files: list[FileResult] = field(default_factory=list)
    rows_before: int = 0
    rows_after: int = 0

    @property
    def added(self) -> int:
        return self.rows_after - self.rows_before

    def as_dict(self) -> dict:
        return {"store": str(self.store), "rows_before": self.rows_before, "rows_after": self.rows_after,
                "files": [asdict(f) for f in self.files]}


def _live_rows(catalog) -> int:
    return sum(p["rows"] for p in catalog.partitions.values())


def ingest_paths(paths, store=None, *, kind: str = "police", mapping=None, replace_older: bool = False,
                 far_km: float | None = None, max_expanded_mb: float | None = None,
                 max_expansion_ratio: float | None = None, geo_dir=None,
                 on_file: Callable[[str], None] | None = None) -> IngestReport:
    """Ingest police.uk CSVs (kind='police') or partner incidents (kind='incidents', with a
    mapping file) from files, folders and zip archives. Returns per-file accounting.

    max_expanded_mb / max_expansion_ratio: refuse any file that expands past these (defaults from
    the settings); geo_dir: where force boundaries and LSOA lookups are looked for."""
    from saferhub.data.policeuk import Checks

    checks = Checks(far_km, Limits.from_settings(max_expanded_mb, max_expansion_ratio), store, geo_dir)
    members = discover(paths)
    if not members:
        raise SaferhubError("no CSV files found in " + ", ".join(str(p) for p in paths))
    if kind == "police":
        from saferhub.data.policeuk import parse_member

        def parse(member: Member):
            return parse_member(member, checks=checks)
    elif kind == "incidents":
        from saferhub.data.incidents import load_mapping, parse_incidents

        if mapping is None:
            raise SaferhubError("partner incidents need --mapping MAPPING.yaml (see docs/ingest.md)")
        spec = load_mapping(mapping)

        def parse(member: Member):
            return parse_incidents(member, spec, checks=checks)
    else:
        raise SaferhubError(f"unknown kind {kind!r}: use 'police' or 'incidents'")

    parsed, errors = [], []
    with StoreWriter(store) as writer:

        def parse_and_stage(member):
            try:
                item = parse(member)
            except BadFileError as exc:
                return exc
            if kind == "police":   # write partitions in the worker, overlapping other files' parsing
                _prestage(writer, item)
            return item

        futures = [_pool().submit(parse_and_stage, m) for m in members]
        try:
            for member, future in zip(members, futures):
                result = future.result()
                if on_file:
                    on_file(member.name)
                (errors if isinstance(result, BadFileError) else parsed).append(result)
        finally:   # on any error, no worker may still be staging files into this writer
            for future in futures:
                future.cancel()
            wait(futures)
            close_archives(members)
        if errors:
            raise IngestError(errors)
        report = _store_parsed(writer, parsed, replace_older=replace_older, incidents=(kind == "incidents"))
    order = {m.name: i for i, m in enumerate(members)}
    report.files.sort(key=lambda f: order.get(f.name, 0))
    return report


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The parsing threads, kept for the life of the process: each thread builds its own pyproj
    transformer on first use (~0.1 s, a database look-up), so fresh threads per ingest paid that
    again every time. Parsing and writing release the GIL for most of their work."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="saferhub-ingest")
        return _POOL


def _forget_pool() -> None:   # a forked child has none of the parent's threads
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _prestage(writer: StoreWriter, item) -> None:
    """Write a parsed file's partitions (and its quarantine and warnings) now, unless the store
    already holds exactly this content (a re-ingest then writes nothing), and let go of the rows:
    only their count is kept, so an ingest of a thousand files holds the rows of the files being
    parsed, not of every file. Unused staged files are removed at commit."""
    item.staged = {}
    for month, table in item.tables.items():
        old = writer.catalog.partitions.get(partition_key(item.dataset, item.force, month))
        # A partition already holding this content is this file's copy too: should another file
        # in the run replace it first, this one can still go back to it.
        item.staged[month] = old["file"] if _holds(old, f"{item.sha256}:{month}", item.dataset) else \
            writer.stage_partition(item.dataset, item.force, month, table)
    item.tables = {month: table.select([]) for month, table in item.tables.items()}   # no columns, same rows
    if item.quarantined:
        item.staged_quarantine = writer.stage_table(f"quarantine/{item.sha256[:32]}", item.quarantine)
        item.quarantine = item.quarantine.select([])
    if item.warned:
        item.staged_warnings = writer.stage_table(f"warnings/{item.sha256[:32]}", item.warnings)
        item.warnings = item.warnings.select([])


def _holds(old: dict | None, content: str, dataset: str) -> bool:
    """Whether a stored partition is exactly this content, written with today's columns."""
    return bool(old) and old.get("content") == content and old.get("schema") == schema_tag(dataset)


def ingest_parsed(parsed: list, store=None, *, replace_older: bool = False, incidents: bool = False) -> IngestReport:
    """Store already-validated files (`ParsedFile`s from any reader: CSV, API, partner) in one
    transaction. The police.uk fetcher and the CSV ingest share this."""
    with StoreWriter(store) as writer:
        return _store_parsed(writer, parsed, replace_older=replace_older, incidents=incidents)


def _store_parsed(writer: StoreWriter, parsed: list, *, replace_older: bool, incidents: bool) -> IngestReport:
    catalog = writer.catalog
    report = IngestReport(writer.root, rows_before=_live_rows(catalog))
    if incidents:
        from saferhub.data.incidents import merge_into

        merge_into(writer, parsed)
    # Oldest copies first, so when one run holds two copies of a month the newest wins.
    for item in sorted(parsed, key=lambda p: (p.member.stamp, p.member.name)):
        report.files.append(_apply(writer, item, replace_older))
    _drop_superseded_files(catalog)
    report.rows_after = _live_rows(catalog)
    writer.commit()
    return report


def _apply(writer: StoreWriter, item, replace_older: bool) -> FileResult:
    catalog = writer.catalog
    stored = ignored = 0
    changes = set()
    keys = []
    merged = getattr(item, "merged", None)   # partner incidents: partitions merged by id
    for month, table in sorted((merged or item.tables).items()):
        own = item.tables[month].num_rows if month in item.tables else 0
        key = partition_key(item.dataset, item.force, month)
        content = item.content_ids[month] if merged else f"{item.sha256}:{month}"
        old = catalog.partitions.get(key)
        if merged and table.num_rows == 0:   # every record of that month moved elsewhere
            catalog.partitions.pop(key, None)
            continue
        same = bool(old) and old.get("content") == content
        if same and (merged or _holds(old, content, item.dataset)):
            changes.add("unchanged")
            stored += own
            keys.append(key)
            continue
        if old and not same and old["stamp"] > item.member.stamp and not (replace_older or merged):
            changes.add("older copy ignored")
            ignored += own
            continue
        pre = getattr(item, "staged", {}).get(month)
        rel = pre if (pre and not merged) else writer.stage_partition(item.dataset, item.force, month, table)
        sources = sorted(set(old.get("sources", [])) | {item.sha256}) if (old and merged) else [item.sha256]
        catalog.partitions[key] = {
            "file": rel, "rows": table.num_rows, "content": content, "sha256": item.sha256,
            "sources": sources, "stamp": item.member.stamp, "source_file": item.member.name,
            "schema": schema_tag(item.dataset),
        }
        if same:   # the same copy, stored before a column was added
            changes.add("upgraded")
        else:
            changes.add(("replaced" if not merged else "updated") if old else "new")
        stored += own
        keys.append(key)
    record = {
        "name": item.member.name, "kind": item.kind, "force": item.force, "stamp": item.member.stamp,
        "months": sorted(item.tables), "partitions": keys, "read": item.rows_read,
        "stored": stored, "quarantined": item.quarantined, "unlocated": item.unlocated,
        "ingested_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "quarantine_file": None, "warnings": _warned(item), "warnings_file": None,
        "ignored_columns": list(getattr(item, "extra_columns", [])),
    }
    if item.quarantined:
        record["quarantine_file"] = getattr(item, "staged_quarantine", None) or \
            writer.stage_table(f"quarantine/{item.sha256[:32]}", item.quarantine)
    if record["warnings"] and keys:
        record["warnings_file"] = getattr(item, "staged_warnings", None) or \
            writer.stage_table(f"warnings/{item.sha256[:32]}", item.warnings)
    if keys or not changes or item.quarantined:
        if item.kind == "incidents":
            catalog.files.pop(item.sha256, None)  # a store written before per-agency keys
        catalog.files[file_key(item)] = record
    change = changes.pop() if len(changes) == 1 else ("mixed" if changes else "new")
    return FileResult(item.member.name, item.kind, item.force, sorted(item.tables), item.rows_read,
                      stored, item.quarantined, ignored, item.unlocated, change, _warned(item),
                      record["ignored_columns"])


def file_key(item) -> str:
    """The catalog's key for an ingested file. A partner file naming several agencies is parsed
    into one part per agency (the first carries the file's quarantine), so each part gets its own
    entry: `<sha256>:<agency>`; every other file is keyed by its sha256 alone."""
    return f"{item.sha256}:{item.force}" if item.kind == "incidents" else item.sha256


def _warned(item) -> int:
    warnings = getattr(item, "warnings", None)
    return 0 if warnings is None else warnings.num_rows


def _drop_superseded_files(catalog) -> None:
    """Forget ingested files none of whose partitions are live any more (and their quarantine)."""
    live_shas = {sha for p in catalog.partitions.values() for sha in p.get("sources", [p["sha256"]])}
    for key, rec in list(catalog.files.items()):
        if rec["partitions"] and key.split(":", 1)[0] not in live_shas:
            del catalog.files[key]
