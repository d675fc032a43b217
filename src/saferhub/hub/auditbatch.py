"""Group commit for the audit rows of reads (issue 22).

Every personal-data read writes an audit row, and appends extend one chain, so before this each
read took the head's lock and paid for its own commit (one fsync) while every other reader waited.
Here a request's disclosures are handed over when its transaction commits; one writer thread per
database collects what arrives within `LINGER` seconds (or `MAX_ROWS` rows), appends them in one
transaction (one head lock, one multi-row INSERT, one commit), appends the new signed head to the
witness (`checkpoint`), and only then releases the requests, whose `commit()` returns. So:
- no answer leaves before its audit row is durable: the request is blocked in `commit()` until
  the batch has committed (an error there, or no answer within `WAIT` seconds, is raised from
  `commit()`, and the route answers 503 without the data);
- a crash before the batch commits loses only rows of requests that had not been answered; a
  crash after it leaves rows of requests that may not have been answered (the read was about to
  be served): logged, never invented (every row comes from a `disclose` call);
- truncation is detected back to the last batch: every batch's head is witnessed.
Writes are not batched: a write's audit row stays in the write's own transaction (`audit.append`),
so a refused write commits nothing and a committed one always has its row.

The writer has its own one-connection engine, so it never waits for the pool the requests it is
serving hold; it stops after `IDLE` seconds without work and starts again on demand."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from saferhub.hub.errors import HubError

LINGER = 0.002  # seconds to wait for more rows once one has arrived
MAX_ROWS = 500
WAIT = 60.0  # seconds a request waits for its batch before giving up (503)
IDLE = 2.0

log = logging.getLogger(__name__)


class AuditUnavailable(HubError):
    """The audit rows of this request could not be made durable, so its data is not served."""

    status = 503


@dataclass
class _Job:
    records: list[dict]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    seqs: list[int] = field(default_factory=list)


class _Writer:
    def __init__(self, url: str) -> None:
        self.url = url
        self.jobs: queue.Queue[_Job] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="saferhub-audit-batch", daemon=True)
        self.batches = 0
        self.pid = os.getpid()  # a forked child inherits the registry but not the thread

    def _run(self) -> None:
        from saferhub.hub.db import make_engine, session_factory

        engine = make_engine(self.url, pool_size=1, max_overflow=0)
        sessions = session_factory(engine)
        try:
            while True:
                try:
                    first = self.jobs.get(timeout=IDLE)
                except queue.Empty:
                    with _lock:  # leave only if nothing arrived meanwhile (submit holds the lock)
                        if self.jobs.empty():
                            if _writers.get(self.url) is self:
                                del _writers[self.url]
                            return
                    continue
                batch, rows = [first], len(first.records)
                deadline = time.monotonic() + LINGER
                while rows < MAX_ROWS:
                    try:
                        job = self.jobs.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    batch.append(job)
                    rows += len(job.records)
                self._flush(sessions, batch)
        finally:
            engine.dispose()

    def _flush(self, sessions, batch: list[_Job]) -> None:
        from saferhub.hub import audit, checkpoint
        from saferhub.hub.models import AuditEvent

        try:
            with sessions() as s:
                head, ring = audit.open_head(s)
                first = head.seq == 0
                rows = []
                for job in batch:
                    for content in job.records:
                        rows.append(audit.seal(head, ring, content))
                        job.seqs.append(rows[-1]["seq"])
                s.execute(insert(AuditEvent), rows)  # one multi-row INSERT ("insertmanyvalues")
                s.flush()  # the head's update
                s.commit()
                seq, digest = head.seq, head.hash
        except BaseException as exc:  # nothing committed: every request in the batch fails (503)
            log.error("audit batch of %d rows not written: %s", sum(len(j.records) for j in batch), exc)
            for job in batch:
                job.error = exc
                job.done.set()
            return
        try:  # witness the batch before answering, so truncation is caught back to this batch
            checkpoint.write(ring, seq, digest, create=first)
        except (OSError, HubError) as exc:  # the rows are durable; say so loudly, do not 503
            log.error("could not write the audit checkpoint: %s", exc)
        self.batches += 1
        for job in batch:
            job.done.set()


_lock = threading.Lock()
_writers: dict[str, _Writer] = {}


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def write(engine: Engine, records: list[dict]) -> list[int]:
    """Append `records` through the database's batch writer; returns their seq numbers once they
    are committed (raises what the batch raised, or AuditUnavailable after `WAIT` seconds)."""
    job = _Job(records)
    url = _url(engine)
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        # a private in-memory database cannot be reached from another connection: write it here
        from saferhub.hub.db import session_factory

        _Writer(url)._flush(session_factory(engine), [job])
        return _result(job)
    with _lock:
        writer = _writers.get(url)
        if writer is None or writer.pid != os.getpid():
            writer = _writers[url] = _Writer(url)
            writer.thread.start()
        writer.jobs.put(job)
    if not job.done.wait(WAIT):
        raise AuditUnavailable("the audit log did not answer in time; nothing was served")
    return _result(job)


def _result(job: _Job) -> list[int]:
    if job.error is not None:
        if isinstance(job.error, HubError):
            raise job.error
        raise AuditUnavailable(f"the audit log could not be written ({type(job.error).__name__}); "
                               "nothing was served") from job.error
    return job.seqs
