"""Issue 19 item 4: the audit must not be forgeable with SQL alone. Each case is what someone with
full write access to the database (and, for the witness cases, to the checkpoint file) but not to
the key file can do; each must make `saferhub hub audit-verify` exit 1 naming the first bad row, and
`GET /audit/verify` answer ok false with that row, on SQLite and PostgreSQL. Every case passed
verification before the era, head and witness checks existed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from saferhub.hub import audit, auditkey, checkpoint

from .test_hub_audit import _activity, _drop_guards
from .test_hub_cli import cli

CW = "caseworker.police@test.invalid"
ADMIN = "admin.police@test.invalid"


def _rows(hub) -> list[dict]:
    with hub.engine.connect() as c:
        return [dict(r) for r in c.execute(text("SELECT * FROM audit_events ORDER BY seq")).mappings()]


def _setup(hub, after_checkpoint: int = 3):
    """Some activity, a checkpoint, then `after_checkpoint` more reads; the admin signs in first (the
    API check itself then writes nothing). Returns the checkpoint entry."""
    admin = hub.headers(ADMIN)
    _activity(hub)
    with hub.sessions() as s:
        v, entry = audit.write_checkpoint(s)
    assert v.ok, v
    for _ in range(after_checkpoint):
        assert hub.client.get("/cases", headers=hub.headers(CW)).status_code == 200
    with hub.sessions() as s:
        assert audit.verify(s).ok
    return admin, entry


def _strip_macs(hub):
    with hub.engine.begin() as c:
        c.execute(text("UPDATE audit_events SET key_id = NULL, mac = NULL"))


def _move_head(hub, seq: int, digest: str, mac: str | None = "keep"):
    sets = "seq = :s, hash = :h" + ("" if mac == "keep" else ", mac = :m")
    with hub.engine.begin() as c:
        c.execute(text(f"UPDATE audit_head SET {sets} WHERE id = 1"), {"s": seq, "h": digest, "m": mac})


def _forge_rows(hub, partnership, n: int = 5):
    """Five rows saying the other agency's caseworker read the locked case, chained on the head."""
    rows = _rows(hub)
    prev, seq = rows[-1]["hash"], rows[-1]["seq"]
    council = partnership["users"]["caseworker.council"]
    with hub.engine.begin() as c:
        for i in range(n):
            seq += 1
            fields = {"seq": seq, "at": rows[-1]["at"], "user_id": council, "agency_id": partnership["council"],
                      "action": "read", "entity": "case", "entity_ids": "1", "purpose": "routine review",
                      "detail": "{}"}
            digest = audit.row_hash(fields, prev)
            c.execute(text("INSERT INTO audit_events (seq, at, user_id, agency_id, action, entity, entity_ids, "
                           "purpose, detail, prev_hash, hash) VALUES (:seq, :at, :user_id, :agency_id, :action, "
                           ":entity, :entity_ids, :purpose, :detail, :p, :h)"), fields | {"p": prev, "h": digest})
            prev = digest
    _move_head(hub, seq, prev, None)
    return seq


def _rechain_after(hub, first: int, purpose: str):
    """Rewrite rows from `first` on and recompute every hash and link, then the head (no MAC)."""
    rows = [r for r in _rows(hub) if r["seq"] >= first]
    prev = rows[0]["prev_hash"]
    with hub.engine.begin() as c:
        for r in rows:
            fields = {k: r[k] for k in audit.FIELDS} | {"purpose": purpose}
            digest = audit.row_hash(fields, prev)
            c.execute(text("UPDATE audit_events SET purpose = :p, prev_hash = :ph, hash = :h WHERE seq = :s"),
                      {"p": purpose, "ph": prev, "h": digest, "s": r["seq"]})
            prev = digest
    _move_head(hub, rows[-1]["seq"], prev, None)


def _witness():
    return checkpoint.path_for(auditkey.load())


def _expect_broken(hub, admin, first_bad: int, words: str):
    r = hub.client.get("/audit/verify", headers=admin)
    assert r.status_code == 200
    body = r.json()
    assert (body["ok"], body["first_bad_seq"]) == (False, first_bad), body
    assert words in body["problem"]
    out = cli("hub", "audit-verify", "--db", hub.url)
    assert out.returncode == 1, out
    assert f"first bad row {first_bad}:" in out.stderr and words in out.stderr, out.stderr


@pytest.mark.parametrize("case", ["strip_macs", "forge_after_checkpoint", "delete_witness", "shorten_witness",
                                  "move_head", "rehash_chain"])
def test_sql_only_tampering_fails_verification(hub, partnership, case, monkeypatch):
    if case == "shorten_witness":
        monkeypatch.setattr(checkpoint, "EVERY", 4)  # checkpoints every 4 rows, so there are lines to drop
    admin, entry = _setup(hub)
    _drop_guards(hub)
    rows = _rows(hub)
    n = rows[-1]["seq"]
    if case == "strip_macs":  # the whole log posing as rows "from before audit keys"
        _strip_macs(hub)
        _expect_broken(hub, admin, 1, "no MAC")
    elif case == "forge_after_checkpoint":  # issue 19: strip, then append rows nobody wrote
        _strip_macs(hub)
        _forge_rows(hub, partnership)
        _expect_broken(hub, admin, 1, "no MAC")
    elif case == "delete_witness":
        _witness().unlink()
        _expect_broken(hub, admin, 1, "checkpoint file")
    elif case == "shorten_witness":
        lines = _witness().read_text().splitlines()
        tops = [json.loads(x)["seq"] for x in lines]
        assert max(tops) >= 8 and len(lines) >= 3
        keep = [x for x in lines if json.loads(x)["seq"] < 4]  # drop every line from row 4 on
        _witness().write_text("".join(x + "\n" for x in keep))
        top = max(json.loads(x)["seq"] for x in keep)
        _expect_broken(hub, admin, top + 1, "lines were dropped")
    elif case == "move_head":  # delete the rows after the checkpoint and move the head back to one
        back = rows[entry["seq"]]  # the row after the checkpoint: not witnessed
        with hub.engine.begin() as c:
            c.execute(text("DELETE FROM audit_events WHERE seq > :s"), {"s": back["seq"]})
        _move_head(hub, back["seq"], back["hash"])
        _expect_broken(hub, admin, back["seq"] + 1, "not signed")
        # and the hub does not write on top of a moved head (it would re-sign it)
        r = hub.client.get("/cases", headers=hub.headers(CW))
        assert r.status_code == 503 and "audit head" in r.json()["detail"]
    else:  # rewrite the rows after the checkpoint and re-hash the chain from there
        _strip_macs(hub)
        _rechain_after(hub, entry["seq"] + 1, "nothing to see")
        _expect_broken(hub, admin, 1, "no MAC")
    assert n > entry["seq"]


def test_rows_forged_with_made_up_macs_fail_at_the_first_forged_row(hub, partnership):
    admin, entry = _setup(hub)
    _drop_guards(hub)
    n = _rows(hub)[-1]["seq"]
    _forge_rows(hub, partnership)
    with hub.engine.begin() as c:
        c.execute(text("UPDATE audit_events SET key_id = :k, mac = :m WHERE seq > :s"),
                  {"k": auditkey.load().current, "m": "ab" * 32, "s": n})
    _expect_broken(hub, admin, n + 1, "not authentic")


def test_a_witness_lost_by_accident_is_repaired_only_on_purpose(hub, partnership):
    """Deleting the witness fails verification and the hub does not recreate it by itself; a key
    holder repairs it deliberately (`audit-checkpoint --repair-witness`), after which it verifies."""
    admin, _ = _setup(hub)
    _witness().unlink()
    assert cli("hub", "audit-checkpoint", "--db", hub.url).returncode == 1
    for _ in range(3):
        assert hub.client.get("/cases", headers=hub.headers(CW)).status_code == 200
    assert not _witness().exists()
    r = cli("hub", "audit-checkpoint", "--db", hub.url, "--repair-witness")
    assert r.returncode == 0 and "checkpoint of row" in r.stdout, r.stderr
    assert hub.client.get("/audit/verify", headers=admin).json()["ok"] is True


def test_a_copy_of_the_witness_elsewhere_catches_a_consistent_rollback(hub, partnership, tmp_path, monkeypatch):
    """The attack no local check can see: with the database and the local checkpoint file both
    writable, roll both back to a state seen earlier (its head signature included). A copy of the
    witness kept elsewhere - here fed by SAFERHUB_AUDIT_WITNESS_COMMAND, as another host or an
    append-only store would be - still names the missing rows."""
    copy = tmp_path / "offhost.checkpoints"
    monkeypatch.setenv("SAFERHUB_AUDIT_WITNESS_COMMAND", f"sh -c 'cat >> {copy}'")
    admin = hub.headers(ADMIN)
    _activity(hub)
    local = _witness().read_text()
    with hub.engine.connect() as c:
        seen = dict(c.execute(text("SELECT seq, hash, mac FROM audit_head")).mappings().one())
    for _ in range(3):  # reads after the state the attacker saved, witnessed here and elsewhere
        assert hub.client.get("/cases", headers=hub.headers(CW)).status_code == 200
    assert copy.read_text().splitlines() == _witness().read_text().splitlines()
    _drop_guards(hub)
    with hub.engine.begin() as c:
        c.execute(text("DELETE FROM audit_events WHERE seq > :seq"), seen)
        c.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash, mac = :mac WHERE id = 1"), seen)
    _witness().write_text(local)
    assert hub.client.get("/audit/verify", headers=admin).json()["ok"] is True  # locally consistent
    r = cli("hub", "audit-verify", "--db", hub.url, "--witness", str(copy))
    assert r.returncode == 1 and f"first bad row {seen['seq'] + 1}:" in r.stderr and "truncated" in r.stderr
    assert cli("hub", "audit-verify", "--db", hub.url, "--witness", str(tmp_path / "nope")).returncode == 2
