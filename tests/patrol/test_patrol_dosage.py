"""Dosage by hand, and the whole loop through the CLI on real areas with simulated pings."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from saferhub.patrol import dosage as D


def _ts(s):
    return pd.Timestamp(s, tz="Europe/London").tz_convert("UTC")


def test_daily_by_hand():
    patrols = pd.DataFrame({
        "area_id": ["A", "A", "B"],
        "start": [_ts("2026-05-04 10:05"), _ts("2026-05-04 14:00"), _ts("2026-05-05 23:50")],
        "end": [_ts("2026-05-04 10:20"), _ts("2026-05-04 14:12"), _ts("2026-05-06 00:10")],
        "minutes_min": [15.0, 12.0, 20.0], "minutes_max": [18.0, 16.0, 24.0], "devices": [2, 1, 2],
        "simulated": [False] * 3})
    schedule = pd.DataFrame({
        "team": ["T"] * 3, "date": ["2026-05-04", "2026-05-04", "2026-05-05"], "area_id": ["A", "A", "B"],
        "area_name": ["a", "a", "b"],
        "planned_start": ["2026-05-04T10:00:00+01:00", "2026-05-04T17:00:00+01:00", "2026-05-05T12:00:00+01:00"],
        "planned_end": ["2026-05-04T10:15:00+01:00", "2026-05-04T17:15:00+01:00", "2026-05-05T12:15:00+01:00"]})
    day = D.daily(patrols, schedule, ["A", "B"], ["2026-05-04", "2026-05-05"])
    a = day.set_index(["area_id", "date"])
    assert a.loc[("A", "2026-05-04"), "visits"] == 2
    assert a.loc[("A", "2026-05-04"), "minutes_min"] == 27 and a.loc[("A", "2026-05-04"), "minutes_max"] == 34
    assert a.loc[("A", "2026-05-04"), "planned_visits"] == 2
    assert a.loc[("A", "2026-05-04"), "delivered_visits"] == 1      # 10:00 kept, 17:00 missed
    assert a.loc[("A", "2026-05-04"), "missed_windows"] == 1
    assert a.loc[("B", "2026-05-05"), "visits"] == 1                 # 23:50 local is still the 5th
    assert a.loc[("B", "2026-05-05"), "delivered_visits"] == 0
    assert a.loc[("A", "2026-05-05"), "visits"] == 0                 # every area x day is there
    c = D.compliance(day)
    assert c["planned_visits"] == 3 and c["delivered_visits"] == 1 and c["planned_minutes"] == 45
    tb = D.time_between(patrols).set_index("area_id")
    assert tb.loc["A", "median_hours_between"] == pytest.approx(3 + 40 / 60)
    assert D.headline(patrols, "2026-05-04") == "3 foot patrol visits in hotspot areas since 4 May 2026"
    w = D.weekly(day)
    assert w.set_index(["area_id", "week"]).loc[("A", "2026-05-04"), "visits"] == 2


@pytest.mark.slow
def test_the_loop_through_the_cli(areas_file, patrol_store, tmp_path):
    import shutil

    from saferhub.cli import app

    store = tmp_path / "store"
    shutil.copytree(patrol_store, store)
    run = CliRunner().invoke
    out = tmp_path / "out"
    r = run(app, ["patrol", "plan", "--store", str(store), "--areas", str(areas_file), "--start", "2026-03-28",
                  "--days", "3", "--n-teams", "2", "--seed", "5", "--crossover", "--history-months", "3",
                  "--out-dir", str(out), "--no-pdf"])
    assert r.exit_code == 0, r.output
    assert "visits planned" in r.output and "crossover can detect" in r.output
    for f in ("schedule.csv", "areas.gpkg", "areas.geojson", "briefing.html", "route-Team_1.gpx"):
        assert (out / f).exists(), f
    plan_dir = next((store / "patrol" / "plans").iterdir())
    doc = json.loads((plan_dir / "plan.json").read_text())
    from saferhub.patrol.service import load_plan

    plan = load_plan(doc["plan_id"], store)
    assert list(plan.schedule.columns)[:6] == ["team", "date", "area_id", "area_name", "planned_start", "planned_end"]
    assert {c["arm"] for c in plan.crossover} == {"patrol", "control"}
    r = run(app, ["patrol", "simulate", "--store", str(store), "--seed", "2", "--interval", "60"])
    assert r.exit_code == 0, r.output
    assert "SIMULATED" in r.output
    pings = next(plan_dir.glob("simulated-pings-*.csv"))
    raw_ids = set(pd.read_csv(pings)["device"])
    r = run(app, ["patrol", "ingest", "--store", str(store), "--force", "merseyside", str(pings)])
    assert r.exit_code == 0, r.output
    rep = r.output
    r = run(app, ["patrol", "dosage", "--store", str(store), "--out", str(out / "dosage.csv"),
                  "--report", str(out / "dosage.html")])
    assert r.exit_code == 0, r.output
    assert "SIMULATED" in r.output and "foot patrol visits in hotspot areas since 28 March 2026" in r.output
    day = pd.read_csv(out / "dosage.csv")
    assert {"area_id", "date", "visits", "minutes_min", "minutes_max", "planned_minutes", "planned_visits"} <= set(day)
    assert (day["minutes_min"] <= day["minutes_max"]).all()
    assert day["planned_visits"].sum() == len(plan.schedule)
    r2 = run(app, ["patrol", "visits", "--store", str(store), "--out", str(out / "visits.csv")])
    assert r2.exit_code == 0, r2.output
    html = (out / "dosage.html").read_text()
    assert "SIMULATED" in html
    # no raw radio id in any output, report or message
    texts = [rep, r.output, r2.output, html, (out / "dosage.csv").read_text(), (out / "visits.csv").read_text()]
    texts += [p.read_text() for p in plan_dir.glob("simulated-truth-*.csv")]
    for raw in raw_ids:
        assert not any(raw in t for t in texts), raw


def test_user_mistakes_are_one_line_errors(tmp_path):
    import subprocess
    import sys

    from saferhub.cli import app
    from saferhub.errors import SaferhubError

    bad = tmp_path / "pings.csv"
    bad.write_text("a,b\n1,2\n")
    p = subprocess.run([sys.executable, "-m", "saferhub", "patrol", "ingest", "--store", str(tmp_path / "s"), str(bad)],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "need a device" in p.stderr, p.stderr
    for args in (["patrol", "plan", "--store", str(tmp_path / "s"), "--areas", str(tmp_path / "none.gpkg"),
                  "--start", "2026-01-01"],
                 ["patrol", "dosage", "--store", str(tmp_path / "s")]):
        r = CliRunner().invoke(app, args)
        assert isinstance(r.exception, SaferhubError), (args, r.exception)   # main() prints it, exit 2


def test_patrol_notes_become_incidents(areas_result, tmp_path):
    from saferhub.data import events
    from saferhub.errors import BadFileError
    from saferhub.patrol.notes import import_notes

    areas = areas_result.areas
    a0, a1 = areas["area_id"].iloc[0], areas["area_id"].iloc[1]
    notes = tmp_path / "notes.csv"
    notes.write_text("note_id,time,area_id,kind,detail,officer\n"
                     f"1,2026-03-28T14:05:00+00:00,{a0},environmental issue,Broken lighting,PC 1234\n"
                     f"2,2026-03-29T15:10:00+01:00,{a1},Suspicious activity,Group by the cash machine,PC 99\n")
    store = tmp_path / "s"
    import_notes(notes, areas, store)
    import_notes(notes, areas, store)                       # idempotent: keyed by note id
    t = events(store, sources="incident").to_pandas().sort_values("event_id")
    assert len(t) == 2 and set(t["agency"]) == {"police-patrol"}
    assert t["category"].tolist() == ["Patrol note: environmental issue", "Patrol note: suspicious activity"]
    assert t["text"].iloc[0] == f"[{a0}] Broken lighting" and a0 in t["location"].iloc[0]
    assert str(t["occurred_at"].iloc[1]) == "2026-03-29 14:10:00+00:00"
    c = areas.geometry.iloc[0].centroid
    assert abs(t["x"].iloc[0] - c.x) < 1 and abs(t["y"].iloc[0] - c.y) < 1
    assert not any("PC 1234" in str(v) for v in t.to_numpy().ravel())
    bad = tmp_path / "bad.csv"
    bad.write_text(f"time,area_id,kind,detail\n2026-03-28T14:05:00Z,{a0},graffiti,x\n")
    with pytest.raises(BadFileError, match="line 2: kind 'graffiti'"):
        import_notes(bad, areas, store)
    # lines are physical: a blank line and a quoted line break come before the bad row
    bad.write_text(f"time,area_id,kind,detail\n\n2026-03-28T14:05:00Z,{a0},environmental issue,\"two\nlines\"\n"
                   f"2026-03-28T14:06:00Z,{a0},graffiti,x\n")
    with pytest.raises(BadFileError, match="line 5: kind 'graffiti'"):
        import_notes(bad, areas, store)
    bad.write_text(f"time,area_id,kind,detail\n2026-03-28T14:05:00Z,{a0},environmental issue\n")
    with pytest.raises(BadFileError, match="line 2: wrong column count \\(got 3, expected 4\\)"):
        import_notes(bad, areas, store)


def test_manual_visit_logs_count_in_dosage(areas_file, tmp_path):
    from saferhub.patrol import service
    from saferhub.patrol.logs import import_log

    a0 = service.read_areas(areas_file)["area_id"].iloc[0]
    log = tmp_path / "log.csv"
    log.write_text("callsign,area_id,start,end\n"
                   f"PC 42,{a0},2026-05-04T10:00:00+01:00,2026-05-04T10:20:00+01:00\n"
                   f"PC 42,{a0},2026-05-04T15:00:00+01:00,2026-05-04T15:15:00+01:00\n")
    store = tmp_path / "s"
    assert import_log(log, store)["change"] == "new"
    assert import_log(log, store)["change"].startswith("unchanged")
    day = service.dosage(store, areas_path=areas_file, since="2026-05-04", until="2026-05-04")
    row = day.set_index("area_id").loc[a0]
    assert row["visits"] == 2 and row["minutes_min"] == 35 and row["minutes_max"] == 35
    assert day["visits"].sum() == 2
    assert "PC 42" not in day.to_csv()
    bad = tmp_path / "bad.csv"
    bad.write_text(f"callsign,area_id,start,end\nPC 1,{a0},2026-05-04T10:00:00+01:00,2026-05-04T09:00:00+01:00\n")
    with pytest.raises(Exception, match="line 2: start/end unreadable or end before start"):
        import_log(bad, store)
    bad.write_text(f"callsign,area_id,start,end\r\n\r\n\"PC\r\n1\",{a0},2026-05-04T10:00:00+01:00,2026-05-04T10:10:00+01:00\r\n"
                   f"PC 1,{a0},2026-05-04T10:00:00,2026-05-04T09:00:00+01:00\r\n")
    with pytest.raises(Exception, match="line 5: start time has no zone"):
        import_log(bad, store)
