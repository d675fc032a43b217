"""Several server processes on one port (api/serving.py, what `saferhub serve --workers N` runs):
a burst of kept-alive connections is spread over the workers (each has its own SO_REUSEPORT
socket; with one shared socket the first worker to wake accepted all 40), every connection is
answered (the parent holds no listening socket that would be handed connections it never
accepts), and accepted connections have TCP_NODELAY (without it a response in two writes waited
~40 ms for the client's delayed ACK). Checked on the sockets, not by timing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
CONNECTIONS = 40


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_burst_of_connections_is_spread_over_the_workers_and_each_is_answered_without_nagle():
    port = _port()
    env = os.environ | {"PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'src'}"}
    proc = subprocess.Popen([sys.executable, "-m", "saferhub.api.serving", "tests.hub.serving_app:make",
                             "--workers", "2", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        workers = set()
        for _ in range(480):  # until both workers answer (each started with its own socket)
            try:
                workers.add(httpx.get(base, timeout=1).json()["pid"])
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.25)
            if len(workers) == 2:
                break
        # CONNECTIONS clients connect at once, then each sends three requests on its connection
        with ThreadPoolExecutor(CONNECTIONS) as pool:
            clients = [httpx.Client(base_url=base, timeout=30) for _ in range(CONNECTIONS)]
            try:
                answers = list(pool.map(lambda c: [c.get("/").json() for _ in range(3)], clients))
            finally:
                for c in clients:
                    c.close()
        listening = subprocess.run(["ss", "-Htlnp", f"( sport = :{port} )"], capture_output=True, text=True).stdout
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert len(answers) == CONNECTIONS
    pids = [{a["pid"] for a in conn} for conn in answers]
    assert all(len(p) == 1 for p in pids)  # kept alive: one connection, one worker
    served_by = [p.pop() for p in pids]
    assert set(served_by) == workers and len(workers) == 2, served_by  # both workers took connections
    assert all(a["nodelay"] is True for conn in answers for a in conn)
    # the listening sockets are the workers' own, none the parent's
    assert f"pid={proc.pid}," not in listening and listening.count("LISTEN") == 2, listening
