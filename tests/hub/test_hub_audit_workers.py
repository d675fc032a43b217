"""The group-committed audit across server processes (issue 22): `saferhub serve --workers 2`
runs two processes, each with its own audit batch writer; N clients x M reads spread over both
still give exactly N x M read rows, in one chain that verifies, the last batch witnessed. The
chain head's row lock (`audit.open_head`) is what orders the two writers' batches."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select

from saferhub.hub import audit, auditkey, checkpoint
from saferhub.hub.models import AuditEvent

REPO = Path(__file__).resolve().parents[2]
N, M = 8, 10
EMAILS = ["caseworker.police@test.invalid", "caseworker2.police@test.invalid", "coordinator.police@test.invalid",
          "coordinator.council@test.invalid"]


def _cpu(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text()
    f = f[f.rindex(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(d))
    return out


def test_two_server_processes_n_by_m_reads_one_chain(hub, partnership):
    cw = hub.headers(EMAILS[0])
    case = hub.client.post("/cases", json={"kind": "asb", "title": "shared"}, headers=cw).json()
    tokens = [hub.headers(e, None) for e in EMAILS]  # signed in first, so only reads happen below
    with hub.sessions() as s:
        before = s.scalar(select(func.max(AuditEvent.seq)))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {"PYTHONPATH": str(REPO / "src"), "SAFERHUB_HUB_DB": hub.url}
    proc = subprocess.Popen([sys.executable, "-m", "saferhub", "serve", "--workers", "2", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.25)
        workers = _children(proc.pid)
        cpu0 = {w: _cpu(w) for w in workers}
        start, errors = threading.Barrier(N), []

        def client(i: int) -> None:
            h = tokens[i % len(tokens)]
            start.wait()
            for j in range(M):  # a new connection each time, so the kernel spreads them over both processes
                url = f"{base}/cases/{case['id']}" if j % 2 else f"{base}/cases?limit=5"
                r = httpx.get(url, headers=h | {"X-Purpose": f"worker client {i} read {j}"}, timeout=60)
                if r.status_code != 200:
                    errors.append((i, j, r.status_code, r.text))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(N)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        busy = sorted(_cpu(w) - cpu0[w] for w in workers if w in cpu0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert errors == []
    # uvicorn's supervisor has two worker processes (and a multiprocessing helper that does no work)
    assert len([b for b in busy if b > 0.05]) >= 2, busy  # both workers served reads
    with hub.sessions() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.seq > before).order_by(AuditEvent.seq)).all()
        assert len(rows) == N * M
        assert Counter(r.purpose for r in rows) == Counter(
            f"worker client {i} read {j}" for i in range(N) for j in range(M))
        assert [r.seq for r in rows] == list(range(before + 1, before + N * M + 1))
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
        v = audit.verify(s)
        assert v.ok and v.rows == before + N * M, v
    seqs = {json.loads(x)["seq"] for x in checkpoint.path_for(auditkey.load()).read_text().splitlines()}
    assert before + N * M in seqs  # whichever process wrote the last batch witnessed it
