"""The fast lane of the case list and case page (api/fastlane.py, issue 22) answers exactly as
the routes do.

Oracle: the same app built without the lane (`create_app(fast_lane=False)`), on the same database:
for plain requests, hostile ones and refusals alike, the same status, JSON, headers and audit
rows. On PostgreSQL the lane must have answered every plain request (its count) and none of the
others; on SQLite it is not installed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from saferhub.api import create_app
from saferhub.hub.models import AuditEvent
from sqlalchemy import select

CW = "caseworker.police@test.invalid"
ANALYST = "analyst.police@test.invalid"


@pytest.fixture
def two_apps(hub, partnership):
    cw, ids = hub.headers(CW), []
    for k in range(7):
        body = {"kind": ["asb", "iom"][k % 2], "title": f"case {k} Zoë \"quoted\"", "risk": "high" if k % 3 else "standard",
                "locked": k == 5}
        r = hub.client.post("/cases", json=body, headers=cw)
        assert r.status_code == 201
        ids.append(r.json()["id"])
    council = hub.headers("caseworker.council@test.invalid")
    for locked in (True, False):
        r = hub.client.post("/cases", json={"kind": "asb", "title": "council's", "locked": locked}, headers=council)
        assert r.status_code == 201
        ids.append(r.json()["id"])
    route = create_app(engine=hub.engine, secret="test-secret", fast_lane=False)
    with TestClient(route) as client:
        yield hub, client, ids


def _token(hub, email):
    return hub.headers(email, None)["Authorization"]


# (path, headers) -> the lane answers it (True) or leaves it to the route (False)
def _requests(hub, ids):
    cw, analyst = _token(hub, CW), _token(hub, ANALYST)
    p = "checking the fast lane"
    pages = [f"/cases/{i}" for i in ids] + ["/cases/999999", f"/cases/{2**31 - 1}"]
    plain = [(path, {"Authorization": cw, "X-Purpose": p}) for path in pages] + [
        (pages[0], {"Authorization": cw}), (pages[0], {"Authorization": analyst, "X-Purpose": p}),
        (pages[0], {"Authorization": "Bearer not-a-token", "X-Purpose": p}),
        (pages[1], {"Authorization": cw, "X-Purpose": "UTF-8''Zo%C3%AB%20%E2%80%93%20review"}),

        ("/cases", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?status=open", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?status=closed&kind=asb&mine=true&limit=3&offset=1", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?kind=iom&mine=false&limit=500&offset=0", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?status=op%65n&limit=2", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?offset=10000000", {"Authorization": cw, "X-Purpose": p}),
        ("/cases", {"Authorization": "bEaReR " + cw.split(" ", 1)[1], "X-Purpose": p}),
        ("/cases", {"Authorization": cw, "X-Purpose": "Zoë's safeguarding review".encode()}),  # raw UTF-8
        ("/cases", {"Authorization": cw, "X-Purpose": "UTF-8''Zo%C3%AB%20%E2%80%93%20review"}),
        # refusals the lane answers through the app's own mapping
        ("/cases", {"Authorization": cw}),
        ("/cases", {"Authorization": cw, "X-Purpose": "  "}),
        ("/cases", {"Authorization": cw, "X-Purpose": "x" * 301}),
        ("/cases", {"Authorization": analyst, "X-Purpose": p}),
        ("/cases", {"Authorization": "Bearer not-a-token", "X-Purpose": p}),
    ]
    routed = [(path, {"Authorization": cw, "X-Purpose": p}) for path in (
        f"/cases/0{ids[0]}", "/cases/0", f"/cases/{2**31}", f"/cases/{ids[0]}?x=1", "/cases/%D9%A3", f"/cases/{ids[0]}/",
        f"/cases/{ids[0]}0000000000", "/cases/-1", "/cases/1e3")] + [
        (pages[0], [("Authorization", cw), ("Authorization", cw), ("X-Purpose", p)]),
        (pages[0], {"Authorization": cw, "X-Purpose": "UTF-8''%FF%FE"}),

        ("/cases?mine=1", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?limit=0", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?limit=501", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?limit=%EF%BC%95", {"Authorization": cw, "X-Purpose": p}),  # a fullwidth 5
        ("/cases?offset=-1", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?status=open&status=closed", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?status=", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?unknown=1", {"Authorization": cw, "X-Purpose": p}),
        ("/cases?kind=burglary", {"Authorization": cw, "X-Purpose": p}),
        ("/cases", [("Authorization", cw), ("Authorization", cw), ("X-Purpose", p)]),
        ("/cases", [("Authorization", cw), ("X-Purpose", p), ("X-Purpose", p)]),
        ("/cases", {"Authorization": cw.replace(" ", "  "), "X-Purpose": p}),
        ("/cases", {"X-Purpose": p}),
        ("/cases", {"Authorization": cw, "X-Purpose": "UTF-8''%FF%FE"}),
        ("/cases", {"Authorization": cw, "X-Purpose": "y" * 4001}),
        ("/cases/", {"Authorization": cw, "X-Purpose": p}),
    ]
    return [(path, h, True) for path, h in plain] + [(path, h, False) for path, h in routed]


def _audit(hub, after: int) -> list[tuple]:
    with hub.sessions() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)).all()
        return [(r.user_id, r.action, r.entity, r.entity_ids, r.purpose, r.detail) for r in rows]


def _last_seq(hub) -> int:
    with hub.sessions() as s:
        return s.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) or 0


SKIP_HEADERS = {"content-length", "date"}  # the database's JSON spaces differently: same values


def test_the_lane_answers_as_the_route_does(two_apps):
    hub, route, ids = two_apps
    lane_app = hub.client.app
    postgres = hub.dialect == "postgresql"
    answered = 0
    for path, headers, plain in _requests(hub, ids):
        served_before = getattr(lane_app.state, "fast_lane_served", 0)
        seq = _last_seq(hub)
        fast = hub.client.get(path, headers=headers, follow_redirects=False)
        fast_audit, seq = _audit(hub, seq), _last_seq(hub)
        slow = route.get(path, headers=headers, follow_redirects=False)
        slow_audit = _audit(hub, seq)
        case = (path, headers)
        assert fast.status_code == slow.status_code, (case, fast.text, slow.text)
        if path.split("?")[0] == "/cases" and fast.status_code == 200:  # JSON PostgreSQL spaced its own way
            assert fast.json() == slow.json(), case
        else:  # refusals and the case page: the same bytes
            assert fast.content == slow.content, case
        assert ({k: v for k, v in fast.headers.items() if k not in SKIP_HEADERS}
                == {k: v for k, v in slow.headers.items() if k not in SKIP_HEADERS}), case
        assert fast_audit == slow_audit, case
        served = getattr(lane_app.state, "fast_lane_served", 0) - served_before
        assert served == (1 if postgres and plain and fast.status_code == 200 else 0), case
        answered += fast.status_code == 200
        if fast.status_code == 200:
            assert fast_audit and all(r[1] == "read" for r in fast_audit), case
    assert answered >= 10


def test_the_lane_serves_the_same_cases_to_every_role(two_apps):
    hub, route, _ = two_apps
    for email in ("coordinator.police@test.invalid", "caseworker2.police@test.invalid",
                  "coordinator.council@test.invalid", "caseworker.council@test.invalid", "caseworker.fire@test.invalid"):
        h = hub.headers(email)
        for path in ("/cases", "/cases?mine=true", "/cases?status=open&limit=4&offset=2"):
            fast, slow = hub.client.get(path, headers=h), route.get(path, headers=h)
            assert fast.status_code == slow.status_code == 200 and fast.json() == slow.json(), (email, path)
