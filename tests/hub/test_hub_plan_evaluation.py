"""The OSARA assessment stage takes its figures from a stored evaluation run (issue 10's hub link):
no hand-typed numbers, the run's id kept as the reference, and need-to-know checked before the
run is read."""

from __future__ import annotations

import json


def _run(store, run_id="EV-abc123"):
    """A stored run with the fields `saferhub.evaluate.service.summary_for_assessment` reads."""
    folder = store / "evaluations"
    folder.mkdir(parents=True)
    run = {"run_id": run_id, "result": "estimated",
           "params": {"before": ["2019-04", "2019-12"], "after": ["2020-04", "2020-12"], "areas": ["PA-1", "PA-2"]},
           "yoy_overall": {"before": 412, "after": 331, "change_pct": -19.66},
           "did": {"rate_ratio": 0.82, "low": 0.71, "high": 0.95, "p": 0.008},
           "displacement": {"wdq": 0.31, "wdd": {"wdd": -64.0}},
           "cost": {"low": 12000.0, "high": 95000.0, "price_year": "2015/16"}}
    (folder / f"{run_id}.json").write_text(json.dumps(run))
    return run


def _to_assessment(hub, h, partnership) -> dict:
    """A plan walked through the OSARA gates to its assessment stage."""
    c = hub.client
    p = c.post("/plans", json={"title": "Park ASB", "objective": "Cut ASB by a third"}, headers=h).json()
    stages = [("scanning", {"problem": "Drinking in the park at night", "baseline": {"count": 30}}),
              ("analysis", {"offender": "Teenagers", "victim": "Residents", "place": "Unlit path"}),
              ("response", {"responses": [{"description": "Lighting", "partner_agency_id": partnership["council"]}]})]
    p = c.post(f"/plans/{p['id']}/advance", headers=h).json()
    for stage, content in stages:
        p = c.put(f"/plans/{p['id']}/stage", json={"version": p["version"], "stage": stage, "content": content},
                  headers=h).json()
        p = c.post(f"/plans/{p['id']}/advance", headers=h).json()
    assert p["stage"] == "assessment", p
    return p


def test_assessment_figures_come_from_the_run(hub, partnership, tmp_path, monkeypatch):
    monkeypatch.setenv("SAFERHUB_STORE", str(tmp_path / "store"))
    _run(tmp_path / "store")
    h = hub.headers("coordinator.police@test.invalid")
    plan = _to_assessment(hub, h, partnership)
    body = {"version": plan["version"], "run_id": "EV-abc123"}
    r = hub.client.put(f"/plans/{plan['id']}/assessment/evaluation", json=body, headers=h)
    assert r.status_code == 200, r.text
    a = r.json()["assessment"]
    assert (a["before"], a["after"], a["evaluation_ref"]) == (412, 331, "EV-abc123")
    assert (a["before_period"], a["after_period"]) == ("2019-04:2019-12", "2020-04:2020-12")
    assert round(a["did_change_pct"]) == -18 and a["significant"] is True
    assert a["headline"].startswith("Compared with matched places, events in the areas changed by -18%")
    # a missing run is a clear 400, and another agency cannot reach the plan at all (404 first)
    body["version"] = r.json()["version"]
    missing = hub.client.put(f"/plans/{plan['id']}/assessment/evaluation", json={**body, "run_id": "EV-nope00"},
                             headers=h)
    assert missing.status_code == 400 and missing.json()["detail"] == "no evaluation run 'EV-nope00'"
    assert str(tmp_path) not in missing.text and "evaluations" not in missing.text  # no server folder
    other = hub.headers("coordinator.council@test.invalid")
    assert hub.client.put(f"/plans/{plan['id']}/assessment/evaluation", json=body, headers=other).status_code == 404
    # ids are checked at the boundary: no path tricks reach the file system
    bad = hub.client.put(f"/plans/{plan['id']}/assessment/evaluation", json={**body, "run_id": "EV-../../x"},
                         headers=h)
    assert bad.status_code == 422
