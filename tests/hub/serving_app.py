"""A tiny ASGI app for tests/hub/test_hub_serving.py: each answer says which worker process served
it and whether its connection has TCP_NODELAY (found among the process's own sockets by the
client's address)."""

from __future__ import annotations

import json
import os
import socket


def _nodelay(client) -> bool | None:
    for fd in os.listdir("/proc/self/fd"):
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            s = socket.socket(fileno=os.dup(int(fd)))
        except OSError:  # closed meanwhile
            continue
        with s:
            try:
                if s.type == socket.SOCK_STREAM and s.getpeername()[:2] == tuple(client):
                    return bool(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            except OSError:
                continue
    return None


def make():
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = json.dumps({"pid": os.getpid(), "nodelay": _nodelay(scope["client"])}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app
