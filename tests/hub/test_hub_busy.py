"""Overload answers 503 with Retry-After, not a 500 with a stack trace: when every pooled
database connection stays busy past the pool's timeout (the open-loop benchmark at several times
the hub's capacity hit this, issue 22)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from saferhub.api import create_app
from saferhub.hub.db import make_engine


def test_pool_exhausted_is_503_not_500(hub, partnership):
    h = hub.headers("coordinator.police@test.invalid")
    engine = make_engine(hub.url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        with TestClient(create_app(engine=engine, secret="test-secret")) as client:
            assert client.get("/cases", headers=h).status_code == 200
            with engine.connect():  # the only connection is taken
                r = client.get("/cases", headers=h)
            assert r.status_code == 503 and r.headers["Retry-After"] == "1"
            assert r.json() == {"detail": "the database is busy; try again"}
            assert client.get("/cases", headers=h).status_code == 200  # and back once it is free
    finally:
        engine.dispose()
