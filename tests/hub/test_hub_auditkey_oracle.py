"""auditkey.py against docs/hub.md "Key handling" (issue 14, second pass): the key file is JSON
{"current": id, "keys": {id: hex}}, mode 0600 whatever the umask, refused when group or others may
read it, keys of 256 bits; rotation adds a key and keeps the old ones. MACs are recomputed here
with hmac from the file's bytes. No database."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re

import pytest

from saferhub.hub import auditkey
from saferhub.hub.auditkey import AuditKeyError


@pytest.fixture
def path(tmp_path):
    return tmp_path / "keys" / "audit.key"


def _raw(p):
    return json.loads(p.read_text())


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_create_writes_one_private_256_bit_key(path, umask):
    old = os.umask(umask)
    try:
        ring = auditkey.create(path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600
    raw = _raw(path)
    assert set(raw) == {"current", "keys"} and list(raw["keys"]) == [raw["current"]]
    assert re.fullmatch(r"k\d{8}-[0-9a-f]{6}", raw["current"])
    key = bytes.fromhex(raw["keys"][raw["current"]])
    assert len(key) == 32
    assert (ring.path, ring.current, ring.keys) == (path, raw["current"], {raw["current"]: key})
    assert sorted(os.listdir(path.parent)) == ["audit.key"]  # the temporary file was renamed, not left
    with pytest.raises(AuditKeyError, match=rf"^{re.escape(str(path))} exists already; rotate its key instead "
                                            r"of replacing the file$"):
        auditkey.create(path)
    assert AuditKeyError.status == 503


def test_two_keyrings_have_different_keys(tmp_path):
    a = auditkey.create(tmp_path / "a.key")
    b = auditkey.create(tmp_path / "b.key")
    assert a.keys[a.current] != b.keys[b.current]


def test_mac_and_check_by_hand(path):
    ring = auditkey.create(path)
    key = bytes.fromhex(_raw(path)["keys"][ring.current])
    msg = "saferhub-audit-row-v1\nk\nZoë"
    want = hmac.new(key, msg.encode("utf-8"), hashlib.sha256).hexdigest()
    assert ring.mac(ring.current, msg) == want
    assert ring.check(ring.current, msg, want) is True
    assert ring.check(ring.current, msg, want.upper()) is False
    assert ring.check(ring.current, msg + " ", want) is False
    for kid, mac in ((None, want), ("", want), ("k-unknown", want), (ring.current, None), (ring.current, "")):
        assert ring.check(kid, msg, mac) is False
    with pytest.raises(AuditKeyError, match=rf"^the audit key file {re.escape(str(path))} has no key 'k-x'$"):
        ring.mac("k-x", msg)


def test_ensure_creates_once(path):
    ring, created = auditkey.ensure(path)
    assert created is True and path.exists()
    again, created = auditkey.ensure(path)
    assert created is False and again.keys == ring.keys and again.current == ring.current


def test_rotation_adds_a_current_key_and_keeps_the_old(path):
    first = auditkey.create(path)
    second = auditkey.rotate(path)
    third = auditkey.rotate(path)
    raw = _raw(path)
    assert raw["current"] == third.current and len({first.current, second.current, third.current}) == 3
    assert set(raw["keys"]) == {first.current, second.current, third.current}
    assert bytes.fromhex(raw["keys"][first.current]) == first.keys[first.current]
    assert third.keys[first.current] == first.keys[first.current]
    assert {len(k) for k in third.keys.values()} == {32} and len(set(third.keys.values())) == 3
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(path.parent)) == ["audit.key"]


def test_rotation_picks_an_unused_id(path, monkeypatch):
    ring = auditkey.create(path)
    ids = iter([ring.current, ring.current, "k-fresh"])
    monkeypatch.setattr(auditkey, "_new_id", lambda: next(ids))
    assert auditkey.rotate(path).current == "k-fresh"


@pytest.mark.parametrize("mode,ok", [(0o600, True), (0o400, True), (0o700, True), (0o640, False), (0o604, False),
                                     (0o610, False), (0o601, False), (0o660, False)])
def test_a_key_file_others_may_read_is_refused(path, mode, ok):
    auditkey.create(path)
    os.chmod(path, mode)
    if ok:
        assert auditkey.load(path).path == path
    else:
        with pytest.raises(AuditKeyError) as e:
            auditkey.load(path)
        shown = {0o640: "-rw-r-----", 0o604: "-rw----r--", 0o610: "-rw---x---", 0o601: "-rw------x",
                 0o660: "-rw-rw----"}[mode]
        assert str(e.value) == (f"the audit key file {path} may be read by other users (mode {shown}); "
                                f"run: chmod 600 {path}")
    os.chmod(path, 0o600)


def test_a_missing_key_file_says_what_to_do(path):
    with pytest.raises(AuditKeyError) as e:
        auditkey.load(path)
    assert str(e.value) == (f"no audit key file at {path}: run `saferhub hub init` to create one, or restore it "
                            "from your backup (without it new audit rows cannot be written)")


@pytest.mark.parametrize("content", [
    "not json", "[]", '{"current": "a"}', '{"keys": {}}', '{"current": "b", "keys": {"a": "%s"}}' % ("00" * 32),
    '{"current": "a", "keys": {"a": "%s"}}' % ("00" * 31), '{"current": "a", "keys": {"a": "zz"}}',
    '{"current": "a", "keys": {"a": "%s", "b": "%s"}}' % ("00" * 32, "00" * 31), '{"current": "a", "keys": []}',
    '{"current": "a", "keys": {"a": 5}}',
])
def test_a_malformed_key_file_is_refused(path, content):
    path.parent.mkdir(parents=True)
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(AuditKeyError, match=rf"^the audit key file {re.escape(str(path))} is unreadable: "):
        auditkey.load(path)


def test_the_reason_a_key_file_is_refused_is_given(path):
    path.parent.mkdir(parents=True)
    path.write_text('{"current": "b", "keys": {"a": "%s"}}' % ("00" * 32))
    os.chmod(path, 0o600)
    with pytest.raises(AuditKeyError) as e:
        auditkey.load(path)
    assert str(e.value) == (f"the audit key file {path} is unreadable: the current key is missing or a key is "
                            "shorter than 32 bytes")


def test_a_new_file_in_new_folders(tmp_path):
    deep = tmp_path / "a" / "b" / "audit.key"
    assert auditkey.create(deep).path == deep and deep.stat().st_mode & 0o777 == 0o600


def test_key_ids_carry_the_utc_date(monkeypatch):
    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz=None):  # 23:30 UTC on 1 January is already 2 January on a UTC+10 clock
            utc = dt.datetime(2026, 1, 1, 23, 30, tzinfo=dt.timezone.utc)
            return utc.astimezone(tz) if tz else dt.datetime(2026, 1, 2, 9, 30)

    monkeypatch.setattr(auditkey.dt, "datetime", Clock)
    assert re.fullmatch(r"k20260101-[0-9a-f]{6}", auditkey._new_id())


def test_exactly_32_byte_keys_are_accepted(path):
    path.parent.mkdir(parents=True)
    path.write_text('{"current": "a", "keys": {"a": "%s", "b": "%s"}}' % ("01" * 32, "02" * 40))
    os.chmod(path, 0o600)
    ring = auditkey.load(path)
    assert ring.current == "a" and ring.keys == {"a": b"\x01" * 32, "b": b"\x02" * 40}


def test_load_is_cached_until_the_file_changes(path):
    first = auditkey.load(auditkey.create(path).path)
    assert auditkey.load(path) is first
    rotated = auditkey.rotate(path)
    assert rotated is not first and auditkey.load(path) is rotated and rotated.current != first.current


def test_key_path_from_argument_or_settings(path, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert auditkey.key_path("~/k/audit.key") == tmp_path / "k" / "audit.key"
    monkeypatch.setenv("SAFERHUB_AUDIT_KEY_FILE", str(path))
    assert auditkey.key_path() == path and auditkey.key_path("") == path
    ring, created = auditkey.ensure()
    assert created and ring.path == path
