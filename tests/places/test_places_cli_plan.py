"""The CLI verbs end to end, and a one-step OSARA plan through the hub's plan service."""

import shutil

import pytest
from typer.testing import CliRunner

from saferhub.cli import app
from saferhub.hub.db import make_engine, session_factory, upgrade
from saferhub.hub.models import Agency, Plan, User


@pytest.fixture
def hubdb(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFERHUB_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        a = Agency(code="licensing", name="Licensing team", kind="council")
        s.add(a)
        s.flush()
        s.add(User(email="lic@test.invalid", name="Lic", agency_id=a.id, role="coordinator", password_hash="x"))
        s.commit()
    engine.dispose()
    return url


def test_build_rank_plan_via_cli(small_store, tmp_path, hubdb):
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    run = CliRunner().invoke
    r = run(app, ["places", "build", "--store", str(store)])
    assert r.exit_code == 0, r.output
    r = run(app, ["places", "rank", "--store", str(store), "--report", str(tmp_path / "rank.html"),
                  "--out", str(tmp_path / "rank.csv"), "--top", "3"])
    assert r.exit_code == 0, r.output
    assert "  1. Supermarket near Lord Street" in r.output and "1 of 14 places significantly above" in r.output
    assert (tmp_path / "rank.html").exists() and (tmp_path / "rank.csv").read_text().count("\n") == 15
    r = run(app, ["places", "plan", "PUK-supermarket-E342800N390000", "--email", "lic@test.invalid",
                  "--db", hubdb, "--store", str(store)])
    assert r.exit_code == 0, r.output
    engine = make_engine(hubdb)
    with session_factory(engine)() as s:
        plan = s.query(Plan).one()
        assert plan.areas == ["PUK-supermarket-E342800N390000"]
        assert plan.scanning["baseline"]["count"] == 36 and "6.0 times its class's typical" in plan.scanning["baseline"]["source"]
        assert "significantly above them" in plan.scanning["problem"]
    engine.dispose()
    r = run(app, ["places", "plan", "PUK-nope", "--email", "lic@test.invalid", "--db", hubdb, "--store", str(store)])
    assert r.exit_code != 0 and "no place 'PUK-nope'" in str(r.exception)
