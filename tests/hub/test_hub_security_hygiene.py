"""Input hygiene at the boundary (api/hygiene.py): strict JSON, a size limit, clipped 422s, UTF-8
purposes, no 5xx on sign-in, nothing committed by a refused write; the hub file is private and
`serve` never creates an empty hub."""

import os
import stat

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from saferhub.api import hygiene
from saferhub.hub.models import AuditEvent, Plan

from .test_hub_cli import cli

CW = "caseworker.police@test.invalid"
ZOE = "Safeguarding – Zoë's case"

HOSTILE = {
    "NaN": b'{"kind": "asb", "title": "t", "x": NaN}',
    "Infinity": b'{"kind": "asb", "title": "t", "x": -Infinity}',
    "overflow": b'{"kind": "asb", "title": "t", "x": 1e999}',
    "lone surrogate": b'{"kind": "asb", "title": "\\ud800"}',
    "lone surrogate key": b'{"kind": "asb", "\\udfff": 1}',
    "not utf-8": b'{"kind": "asb", "title": "\xff\xfe"}',
    "utf-16": '{"kind": "asb", "title": "t"}'.encode("utf-16"),
    "NUL": b'{"kind": "asb", "title": "a\\u0000b"}',
    "escaped NUL after a backslash": b'{"kind": "asb", "title": "a\\\\\\u0000"}',
    "deep": b"[" * 5000 + b"]" * 5000,
    "huge int": b'{"kind": "asb", "title": "t", "x": ' + b"9" * 5000 + b"}",
    "truncated": b'{"kind": "asb", "title": "t"',
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_strict_json_refuses_with_a_small_safe_422(name):
    with pytest.raises(hygiene.BadJSON):
        hygiene.check_json(HOSTILE[name])


def test_strict_json_accepts_ordinary_documents():
    hygiene.check_json('{"title": "Zoë – “quoted” 😀", "n": [1, 2.5, -3e10, null, true], "o": {}}'.encode())
    hygiene.check_json(b'{"path": "C:\\\\u0000 is a literal backslash-u, not NUL", "e": "\\u00e9"}')


def _count(hub, model):
    with hub.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_hostile_bodies_get_422_and_commit_nothing(hub, partnership):
    h = hub.headers(CW) | {"content-type": "application/json"}
    plan = hub.client.post("/plans", json={"title": "p", "objective": "o"}, headers=h).json()
    before = (_count(hub, AuditEvent), _count(hub, Plan))
    for name, body in HOSTILE.items():
        for method, path in (("POST", "/cases"), ("PUT", f"/plans/{plan['id']}/stage"), ("POST", "/auth/login")):
            r = hub.client.request(method, path, content=body, headers=h)
            assert r.status_code == 422, (name, path, r.status_code, r.text[:200])
            assert len(r.content) < 600 and r.json()["detail"][0]["loc"] == ["body"]
    assert (_count(hub, AuditEvent), _count(hub, Plan)) == before


def test_the_hostile_plan_write_no_longer_leaves_the_plan_unreadable(hub, partnership):
    """Found by the hostile-body fuzz with the boundary check switched off: a lone surrogate in a
    plan's scanning `problem` was committed (the JSON column escapes it), then the response failed
    to encode (500) — on that write and on every later read of the plan. NaN went in the same way."""
    h = hub.headers(CW)
    plan = hub.client.post("/plans", json={"title": "p", "objective": "o"}, headers=h).json()
    plan = hub.client.post(f"/plans/{plan['id']}/advance", headers=h).json()
    assert plan["stage"] == "scanning"
    for content in (b'{"problem": "\\udc00"}', b'{"problem": NaN}', b'{"data_sources": [Infinity]}'):
        body = b'{"version": %d, "stage": "scanning", "content": %s}' % (plan["version"], content)
        r = hub.client.put(f"/plans/{plan['id']}/stage", content=body, headers=h | {"content-type": "application/json"})
        assert r.status_code == 422, r.text
    r = hub.client.get(f"/plans/{plan['id']}", headers=h)
    assert r.status_code == 200 and r.json()["version"] == plan["version"] and r.json()["scanning"] == {}


@pytest.mark.parametrize("body", [
    b'{"email": "\\ud800@x.invalid", "password": "correct horse battery staple"}',
    b'{"email": "a\\u0000b@x.invalid", "password": "p"}',
    b'{"email": "' + b"a" * 10000 + b'", "password": "p"}',
    b'{"email": ["a"], "password": {"x": 1}}',
    b'{"email": 1e999, "password": NaN}',
    b'[]', b'"just a string"', b'null', b'',
    '{"email": "zoë@x.invalid", "password": "pässwörd–"}'.encode(),
])
def test_sign_in_never_500s(hub, partnership, body):
    r = hub.client.post("/auth/login", content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    r.json()  # always a JSON body


def test_web_sign_in_never_500s(hub, partnership):
    c = hub.client
    token = c.get("/web/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    for email in ("%00", "a" * 199 + "%ED%B2%80", "%FF%FE", "zo%C3%AB@x.invalid", "+", "a" * 5000):
        body = f"email={email}&password=x&csrf_token={token}".encode()
        r = c.post("/web/login", content=body, follow_redirects=False,
                   headers={"content-type": "application/x-www-form-urlencoded"})
        assert 400 <= r.status_code < 500, (email[:20], r.status_code)


def test_validation_errors_never_echo_large_bodies(hub, partnership):
    h = hub.headers(CW)
    big = "x" * 200_000
    r = hub.client.post("/cases", json={"kind": "asb", "title": big}, headers=h)
    assert r.status_code == 422 and len(r.content) < 1000 and big[:1000] not in r.text
    r = hub.client.post("/cases", json={"kind": "asb", "title": "t", big: 1}, headers=h)  # an unknown key
    assert r.status_code == 422 and len(r.content) < 1000
    r = hub.client.post("/cases", json=[list(range(10000))], headers=h)
    assert r.status_code == 422 and len(r.content) < 1000


def test_request_size_limit_413(hub, partnership, monkeypatch):
    from saferhub.api import create_app

    monkeypatch.setenv("SAFERHUB_MAX_REQUEST_BYTES", "2048")
    with TestClient(create_app(engine=hub.engine, secret="s")) as c:
        h = hub.headers(CW)
        ok = c.post("/cases", json={"kind": "asb", "title": "small"}, headers=h)
        assert ok.status_code == 201
        r = c.post("/cases", json={"kind": "asb", "title": "t", "pad": "x" * 3000}, headers=h)
        assert r.status_code == 413 and "2,048 bytes" in r.json()["detail"]

        def chunks():  # no Content-Length: counted as it streams
            for _ in range(10):
                yield b" " * 500
        r = c.post("/cases", content=chunks(), headers=h | {"content-type": "application/json"})
        assert r.status_code == 413
        r = c.post("/cases", content=b"{}", headers=h | {"content-length": "lots"})
        assert r.status_code == 400
    assert _count(hub, AuditEvent) > 0


@pytest.mark.parametrize("form", ["raw utf-8", "rfc 8187"])
def test_purposes_are_stored_exactly_as_typed(hub, partnership, form):
    from urllib.parse import quote

    case = hub.client.post("/cases", json={"kind": "asb", "title": "t"}, headers=hub.headers(CW)).json()
    value = ZOE.encode("utf-8") if form == "raw utf-8" else "UTF-8''" + quote(ZOE, safe="")
    h = hub.headers(CW, purpose=None) | {"X-Purpose": value}
    assert hub.client.get(f"/cases/{case['id']}", headers=h).status_code == 200
    with hub.sessions() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last.purpose == ZOE and last.action == "read"


def test_header_text_decoding():
    assert hygiene.header_text(ZOE.encode().decode("latin-1")) == ZOE  # what HTTP hands us for raw UTF-8
    assert hygiene.header_text("Zo\xeb") == "Zo\xeb"  # genuine latin-1 stays
    assert hygiene.header_text("UTF-8''Zo%C3%AB%20%E2%80%93") == "Zoë –"
    assert hygiene.header_text("plain ASCII 100%") == "plain ASCII 100%"
    with pytest.raises(Exception) as e:
        hygiene.header_text("utf-8''%ff%fe")
    assert e.value.status_code == 400


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_hub_database_file_is_created_0600(tmp_path, umask):
    from saferhub.hub.db import make_engine, upgrade

    path = tmp_path / "new" / "hub.sqlite3"
    old = os.umask(umask)
    try:
        upgrade(f"sqlite:///{path}")
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")  # a write, so the -wal file exists too
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
        engine.dispose()
    finally:
        os.umask(old)
    assert modes["hub.sqlite3"] == 0o600 and modes.get("hub.sqlite3-wal", 0o600) == 0o600
    assert "hub.sqlite3-wal" in modes


def test_serve_refuses_a_database_that_does_not_exist(tmp_path):
    path = tmp_path / "typo.sqlite3"
    r = cli("serve", "--db", str(path))
    assert r.returncode == 2 and "no hub database" in r.stderr and "hub init" in r.stderr
    assert not path.exists()
