"""`saferhub nearrepeat --drop-strays` reaches the verb (issue 26, the planted-bug probe): the tiny
store has no stray points, so the Knox table is the same either way and only the call can tell.
The verb is wrapped (it still runs and writes its table); what it was asked is recorded."""

from __future__ import annotations

import pytest
from tiny_hotspot_store import tiny_store  # noqa: F401
from typer.testing import CliRunner


@pytest.mark.parametrize("flag, dropped", [("--drop-strays", True), ("--no-drop-strays", False)])
def test_nearrepeat_passes_drop_strays_to_the_verb(tiny_store, tmp_path, monkeypatch, flag, dropped):  # noqa: F811
    from saferhub.cli import app
    from saferhub.hotspots import service

    asked = []
    real = service.near_repeat
    monkeypatch.setattr(service, "near_repeat", lambda **kw: asked.append(kw) or real(**kw))
    out = tmp_path / "knox.csv"
    res = CliRunner().invoke(app, ["nearrepeat", "--store", str(tiny_store), "--months", "2020-10:2020-12",
                                   "--permutations", "3", "--seed", "5", flag, "--out", str(out)])
    assert res.exit_code == 0, (res.output, res.exception)
    assert len(asked) == 1 and asked[0]["drop_strays"] is dropped
    assert (asked[0]["months"], asked[0]["permutations"], asked[0]["seed"]) == ("2020-10:2020-12", 3, 5)
    assert out.read_text().startswith("space,time,observed")
