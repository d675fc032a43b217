"""The evaluation service and CLI on the real Merseyside store: stored runs, plans, bad input."""

import json

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from saferhub.cli import app
from saferhub.evaluate import service
from saferhub.evaluate.yoy import TOO_FEW

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(merseyside_store, hot_areas):
    return service.evaluate(hot_areas, "2019-04:2019-12", "2020-04:2020-12", categories="grip", harm=True,
                            store=merseyside_store, save=False)


def test_run_counts_match_a_direct_point_in_polygon_count(run, merseyside_store, hot_areas):
    from saferhub.data import events

    areas = gpd.read_file(hot_areas)
    ev = events(store=merseyside_store, months="2019-04:2019-12", categories="grip", geo=True,
                columns=["x", "y", "month"])
    inside = gpd.sjoin(ev, areas, predicate="within")
    by_area = {r["area_id"]: r["before"] for r in run["yoy_areas"]}
    for aid, n in inside.groupby("area_id").size().items():
        assert by_area[aid] == n
    assert run["yoy_overall"]["before"] == len(inside)


def test_run_has_intervals_everywhere_and_a_cost_range(run):
    d = run["did"]
    assert d["low"] < d["rate_ratio"] < d["high"]
    assert run["yoy_overall"]["rr_low"] < run["yoy_overall"]["rate_ratio"] < run["yoy_overall"]["rr_high"]
    assert run["cost"]["low"] < run["cost"]["high"] and run["cost"]["price_year"] == "2015/16"
    assert run["harm"]["low"] < run["harm"]["ratio"] < run["harm"]["high"]
    assert [r["ring"] for r in run["displacement"]["rings"]] == ["0-100 m", "100-250 m"]
    assert 0 < run["power"]["mde"] < 1
    es = run["event_study"]
    assert len(es) == 18 and sum(r["relative"] == 0 for r in es) == 1


def test_summary_for_assessment_quotes_the_run(run):
    s = service.summary_for_assessment(run)
    assert s["did_change_pct"] == pytest.approx(100 * (run["did"]["rate_ratio"] - 1))
    assert s["did_change_low_pct"] < s["did_change_pct"] < s["did_change_high_pct"]
    assert s["cost_avoided_low"] == run["cost"]["low"] and s["significant"] == (run["did"]["p"] < 0.05)
    assert f"{s['did_change_pct']:+.0f}%" in s["headline"]


def test_imd_matching_keeps_controls_in_the_areas_deciles(merseyside_store, hot_areas):
    from saferhub.evaluate.imd import place_deciles
    from tests.conftest import GEO

    run = service.evaluate(hot_areas, "2019-04:2019-12", "2020-04:2020-12", categories="grip", imd=True,
                           geo_dir=GEO, store=merseyside_store, save=False)
    areas = gpd.read_file(hot_areas)
    area_dec = set(place_deciles(areas.centroid.x.to_numpy(), areas.centroid.y.to_numpy(), GEO))
    xy = np.array([[int(v) + 100 for v in c[1:].split("N")] for c in run["did"]["control_cells"]])
    assert set(place_deciles(xy[:, 0], xy[:, 1], GEO)) <= area_dec
    assert run["params"]["imd"] is True


def test_controls_are_outside_the_buffers(run, hot_areas):
    import shapely

    union = gpd.read_file(hot_areas).geometry.union_all()
    for cid in run["did"]["control_cells"]:
        x, y = (int(v) for v in cid[1:].split("N"))
        assert shapely.distance(box(x, y, x + 200, y + 200), union) > 250 - 1e-6


def test_too_few_events_gives_no_estimate(merseyside_store):
    tiny = gpd.GeoDataFrame({"area_id": ["T1"], "name": ["Empty field"]},
                            geometry=[box(300000, 380000, 300050, 380050)], crs="EPSG:27700")
    run = service.evaluate(tiny, "2019-04:2019-12", "2020-04:2020-12", store=merseyside_store, save=False)
    assert run["result"] == TOO_FEW and "did" not in run
    assert service.summary_for_assessment(run)["headline"].startswith("Too few events")


def test_cli_stores_a_reproducible_run_and_a_report(plan_store, hot_areas, tmp_path):
    args = ["evaluate", "--areas", str(hot_areas), "--before", "2019-04:2019-12", "--after", "2020-04:2020-12",
            "--categories", "grip", "--store", str(plan_store), "--report", str(tmp_path / "eval.html"),
            "--out", str(tmp_path / "eval.json")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "eval.json").read_text())
    stored = service.load_run(out["run_id"], store=plan_store)
    assert stored["did"] == out["did"] and stored["params"]["buffers"] == [100.0, 250.0]
    html = (tmp_path / "eval.html").read_text()
    assert "What this cannot show" in html and out["run_id"] in html
    assert f"{stored['yoy_overall']['before']:,.0f}" in html
    again = CliRunner().invoke(app, args)  # idempotent: same parameters, same run id
    assert out["run_id"] in again.output and service.list_runs(plan_store) == [out["run_id"]]


def test_plan_is_evaluated_with_its_months_and_crossover(plan_store):
    run = service.evaluate_plan("PLAN-test", store=plan_store, categories="grip", save=False)
    assert run["params"]["after"][0] == "2020-04" and run["params"]["before"][0] == "2019-04"
    assert run["crossover"]["result"].startswith("no timestamped incidents")
    assert run["params"]["simulated"] is True
    from saferhub.evaluate.report import render

    assert "simulated data" in render(run)
    # Wherever a person sees the crossover figures from a simulated plan, they say SIMULATED.
    assert run["crossover"]["simulated"] is True
    estimated = {**run, "crossover": {"result": "estimated", "patrol_days": 60, "control_days": 60, "change_pct": -30.0,
                                      "p": 0.01, "permutations": 999, "simulated": True}}
    html = render(estimated)
    section = html[html.index("Patrol days against control days"):]
    assert "SIMULATED" in section[:600] and "-30%" in section[:900]
    summary = service.summary_for_assessment(run)
    assert summary["simulated"] is True and summary["headline"].startswith("SIMULATED")


@pytest.mark.parametrize("args,message", [
    (["--areas", "missing.gpkg", "--before", "2019-04:2019-12", "--after", "2020-04:2020-12"], "areas file not found"),
    (["--areas", "AREAS", "--before", "2019-04:2019-12", "--after", "2019-06:2020-02"], "overlap"),
    (["--areas", "AREAS", "--before", "2019-13", "--after", "2020-04:2020-12"], "not a month"),
    (["--areas", "AREAS", "--before", "2019-04:2019-12", "--after", "2020-04:2020-12", "--buffers", "a,b"], "--buffers"),
    (["--plan", "NOPE"], "no such plan"),
])
def test_bad_input_is_one_line_and_exit_code_2(plan_store, hot_areas, args, message, tmp_path):
    import subprocess
    import sys

    from conftest import saferhub_main

    args = [str(hot_areas) if a == "AREAS" else a for a in args]
    if message == "areas file not found":  # one case through a real `python -m saferhub`
        proc = subprocess.run([sys.executable, "-m", "saferhub", "evaluate", *args, "--store", str(plan_store)],
                              capture_output=True, text=True, cwd=tmp_path)
        code, err = proc.returncode, proc.stderr
    else:
        code, err = saferhub_main("evaluate", *args, "--store", plan_store, cwd=tmp_path)
    assert code == 2, err
    assert message in err and "Traceback" not in err


def test_points_instead_of_polygons_are_refused(tmp_path):
    from saferhub.errors import BadFileError
    from saferhub.evaluate.inputs import read_areas

    pts = gpd.GeoDataFrame({"area_id": ["a"]}, geometry=gpd.points_from_xy([1], [2]), crs="EPSG:27700")
    pts.to_file(tmp_path / "p.gpkg")
    with pytest.raises(BadFileError, match="must be polygons"):
        read_areas(tmp_path / "p.gpkg")



def test_pdf_report_is_written(run, tmp_path, hot_areas):
    from saferhub.evaluate import report

    path = report.write(run, tmp_path / "eval.pdf", areas=gpd.read_file(hot_areas))
    data = path.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 50_000


def test_one_area_with_simulated_dosage_and_a_synthetic_control(merseyside_store, hot_areas):
    import pandas as pd
    from saferhub.data import events

    area = gpd.read_file(hot_areas).iloc[[0]]
    days = pd.date_range("2020-04-01", "2020-12-31")
    rng = np.random.default_rng(0)
    minutes = rng.uniform(0, 40, len(days))
    dosage = pd.DataFrame({"area_id": area["area_id"].iloc[0], "date": days, "minutes_min": minutes * 0.8,
                           "minutes_max": minutes * 1.2, "simulated": True})
    run = service.evaluate(area, "2019-04:2019-12", "2020-04:2020-12", categories="grip", dosage=dosage,
                           synthetic=True, store=merseyside_store, save=False)
    assert run["params"]["simulated"] is True
    sc = run["synthetic"]
    assert sc["result"] == "estimated" and sum(sc["weights"]) == pytest.approx(1)
    points = pd.DataFrame(run["dose_response"]["points"])
    ev = events(store=merseyside_store, months="2020-04:2020-12", categories="grip", geo=True, columns=["x", "y", "month"])
    inside = gpd.sjoin(ev, area, predicate="within")
    assert points["y"].sum() == len(inside) and len(points) == 9
    assert run["dose_response"]["result"].startswith("needs at least two areas")


def test_a_typed_query_gives_the_keyword_run(run, merseyside_store, hot_areas):
    from saferhub.query import EventQuery

    typed = service.evaluate(hot_areas, "2019-04:2019-12", "2020-04:2020-12", harm=True,
                             query=EventQuery(store=merseyside_store, categories="grip"), save=False)
    assert typed["yoy_overall"] == run["yoy_overall"] and typed["did"] == run["did"]
    assert typed["yoy_areas"] == run["yoy_areas"]
