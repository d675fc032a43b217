"""Several uvicorn worker processes on one port: each worker its own listening socket, Nagle off.

Two things `uvicorn.run(..., workers=N)` does, measured here (issue 22), are changed:
- It shares one socket among the workers, and asyncio accepts up to a whole backlog of waiting
  connections per wake-up, so a burst of connections (a proxy's keep-alive pool, a load test's 50
  clients) all landed on whichever worker woke first: 50 of 50 on one process, the other idle.
  Here each worker gets a socket of its own bound to the same port with SO_REUSEPORT, and the
  kernel spreads new connections over them by their addresses.
- Its socket is made with protocol 0, and asyncio turns TCP_NODELAY on only for sockets made with
  IPPROTO_TCP, so accepted connections kept Nagle's algorithm: a response written in two pieces
  (headers, then body) waited for the client's delayed ACK, ~40 ms per request on a kept-alive
  connection (44 ms against 0.3 ms for one worker). Here TCP_NODELAY is set on each listening
  socket; on Linux accepted sockets inherit it.
Supervision (restarting a worker that dies, signals) stays uvicorn's `Multiprocess`.

    python -m saferhub.api.serving MODULE:FACTORY --workers N [--host H] [--port P]
    python src/saferhub/api/serving.py ...   (the same, e.g. for another checkout's app)
"""

from __future__ import annotations

import argparse
import os
import socket
import sys


def _listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run_workers(app: str, *, host: str, port: int, workers: int, log_level: str = "info") -> None:
    """Serve the app factory `app` ("module:callable") from `workers` processes."""
    from uvicorn import Config
    from uvicorn.supervisors import Multiprocess

    class OwnSocketEach(Multiprocess):
        """Every worker uvicorn starts (first, after a crash, on SIGHUP or SIGTTIN) reads
        `self.sockets` once: it gets a new socket on the port. The parent's copy is dropped when the
        worker has started (multiprocessing deletes a started process's arguments), so the parent
        holds no socket that would be handed connections it never accepts."""

        @property
        def sockets(self) -> list[socket.socket]:
            return [_listener(host, port)]

        @sockets.setter
        def sockets(self, _value) -> None:
            pass

    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1; the hub
    # decides itself, from the `trusted_proxies` setting (saferhub.hub.security.client_address)
    config = Config(app, factory=True, host=host, port=port, workers=workers, log_level=log_level,
                    proxy_headers=False)
    _listener(host, port).close()  # a port in use is an error now, in the parent, not in each worker
    OwnSocketEach(config, sockets=[]).run()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("app")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--log-level", default="warning")
    args = ap.parse_args()
    run_workers(args.app, host=args.host, port=args.port, workers=args.workers, log_level=args.log_level)


if __name__ == "__main__":
    # run as a file (benchmarks run another checkout's app this way): this folder on sys.path would
    # shadow top-level modules with its own (app, headers, web, ...)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    main()
