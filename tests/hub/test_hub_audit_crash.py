"""Group commit and crashes (issue 22): a process is SIGKILLed at each step of a batch of reads -
before the batch's INSERT reaches the database, after the batch committed but before its witness
line, and after the witness but before the requests are released. Afterwards every read whose
commit had returned (its answer could have left) has its row, no row exists that no read asked
for, and the chain verifies. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from saferhub.hub import audit
from saferhub.hub.models import AuditEvent

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import os, signal, sys
    from types import SimpleNamespace
    from saferhub.hub import audit, auditbatch, checkpoint
    from saferhub.hub.db import make_engine, session_factory

    step, url = sys.argv[1], sys.argv[2]
    calls = {"n": 0}

    def die():
        print("dying", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    real_insert, real_write = auditbatch.insert, checkpoint.write

    def insert(*a, **k):
        calls["n"] += 1
        if step == "before_commit" and calls["n"] == 4:
            die()
        return real_insert(*a, **k)

    def witness(*a, **k):
        if step == "before_witness" and calls["n"] == 4:
            die()
        out = real_write(*a, **k)
        if step == "before_release" and calls["n"] == 4:
            die()
        return out

    auditbatch.insert, checkpoint.write = insert, witness
    sessions = session_factory(make_engine(url))
    user = SimpleNamespace(id=None, agency_id=None)
    for i in range(1, 6):
        with sessions() as s:
            print(f"asked {i}", flush=True)
            audit.disclose(s, user, f"read number {i}", "case", [i])
            s.commit()  # returns only once the row is durable: the answer may leave now
            print(f"answered {i}", flush=True)
""")


@pytest.mark.parametrize("step", ["before_commit", "before_witness", "before_release"])
def test_sigkill_during_a_batch_loses_no_answered_row_and_invents_none(db_url, step, audit_key_file):
    env = os.environ | {"PYTHONPATH": str(REPO / "src")}
    r = subprocess.run([sys.executable, "-c", CHILD, step, db_url], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == -9, r.stderr
    lines = r.stdout.split()
    answered = {int(n) for w, n in zip(lines, lines[1:]) if w == "answered"}
    asked = {int(n) for w, n in zip(lines, lines[1:]) if w == "asked"}
    assert answered == {1, 2, 3} and asked == {1, 2, 3, 4} and "dying" in lines
    from saferhub.hub.db import make_engine, session_factory

    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        logged = [int(p.rsplit(" ", 1)[1]) for p in s.scalars(select(AuditEvent.purpose).order_by(AuditEvent.seq))]
        v = audit.verify(s)
    engine.dispose()
    # answered reads are all there, in order; the read in flight is there only if its batch committed
    assert logged == ([1, 2, 3] if step == "before_commit" else [1, 2, 3, 4])
    assert v.ok, v
