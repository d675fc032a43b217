"""ASB recorded the same way: mappings, matching by time and place, Cohen's kappa against a
hand-computed table and sklearn."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from saferhub.data.ingest import ingest_paths
from saferhub.errors import SaferhubError
from saferhub.places import asbmap, prevention
from saferhub.places.report import asb_html


def test_kappa_hand_computed_table():
    # 50 items: a\b  personal nuisance  -> 20 agree personal, 5 p/n, 10 n/p, 15 agree nuisance
    a = ["personal"] * 25 + ["nuisance"] * 25
    b = ["personal"] * 20 + ["nuisance"] * 5 + ["personal"] * 10 + ["nuisance"] * 15
    k = asbmap.cohen_kappa(a, b)
    po = 35 / 50
    pe = (25 / 50) * (30 / 50) + (25 / 50) * (20 / 50)       # = 0.5
    assert k["observed"] == pytest.approx(po) and k["chance"] == pytest.approx(0.5)
    assert k["kappa"] == pytest.approx((po - pe) / (1 - pe)) == pytest.approx(0.4)
    assert k["table"].loc["nuisance", "personal"] == 10
    rng = np.random.default_rng(1)
    x = rng.choice(list(asbmap.TYPES), 300)
    y = np.where(rng.random(300) < 0.6, x, rng.choice(list(asbmap.TYPES), 300))
    assert asbmap.cohen_kappa(x, y)["kappa"] == pytest.approx(cohen_kappa_score(x, y))


def test_match_is_one_to_one_within_tolerances():
    t0 = pd.Timestamp("2024-05-01 22:00", tz="UTC")
    a = pd.DataFrame({"t": [t0, t0, t0 + pd.Timedelta(hours=5)], "x": [0.0, 10.0, 0.0], "y": [0.0, 0.0, 0.0]})
    b = pd.DataFrame({"t": [t0 + pd.Timedelta(minutes=10), t0 + pd.Timedelta(minutes=90), t0],
                      "x": [5.0, 0.0, 500.0], "y": [0.0, 0.0, 0.0]})
    p = asbmap.match(a, b, minutes=60, metres=50)
    # a0 and a1 both want b0 (b1 is 90 minutes away, b2 500 m away): a0 is 5 m off, a1 5 m off too;
    # score ties -> the lower a row wins; a1 gets nothing; a2 (5 hours later) nothing
    assert p.values.tolist() == [[0, 0]]


MAP_COUNCIL = """agency: Wirral Council
version: 2
columns: {id: ref, datetime: when, category: type, easting: e, northing: n}
asb:
  Noise nuisance: nuisance
  Neighbour dispute: personal
  Fly-tipping: environmental
  Graffiti: environmental
"""
MAP_POLICE = """agency: Police ASB
version: 1
columns: {id: ref, datetime: when, category: type, easting: e, northing: n}
asb:
  ASB Nuisance: nuisance
  ASB Personal: personal
  ASB Environmental: environmental
"""


def _write(path, rows):
    pd.DataFrame(rows, columns=["ref", "when", "type", "e", "n"]).to_csv(path, index=False)


def test_two_agencies_agreement_end_to_end(tmp_path):
    council, police = [], []
    # (council category, police category) for incidents recorded by both; 8 agree, 4 disagree
    same = [("Noise nuisance", "ASB Nuisance")] * 4 + [("Neighbour dispute", "ASB Personal")] * 2 + \
           [("Fly-tipping", "ASB Environmental")] * 2 + [("Neighbour dispute", "ASB Nuisance")] * 3 + \
           [("Graffiti", "ASB Nuisance")]
    for i, (cc, pc) in enumerate(same):
        e, n = 340_000 + 1000 * i, 390_000
        council.append([f"C{i}", f"2024-05-{i + 1:02d} 21:00", cc, e, n])
        police.append([f"P{i}", f"2024-05-{i + 1:02d} 21:20", pc, e + 30, n])     # 20 min, 30 m apart
    council.append(["C99", "2024-05-20 10:00", "Skip fire", 350_000, 395_000])  # no police record, unmapped
    _write(tmp_path / "council.csv", council)
    _write(tmp_path / "police.csv", police)
    (tmp_path / "council.yaml").write_text(MAP_COUNCIL)
    (tmp_path / "police.yaml").write_text(MAP_POLICE)
    store = tmp_path / "store"
    ingest_paths([tmp_path / "council.csv"], store=store, kind="incidents", mapping=tmp_path / "council.yaml", far_km=1000)
    ingest_paths([tmp_path / "police.csv"], store=store, kind="incidents", mapping=tmp_path / "police.yaml", far_km=1000)
    res = prevention.asb_agreement(tmp_path / "council.yaml", tmp_path / "police.yaml", store=store, minutes=30, metres=50)
    assert res["matched"] == 12
    types_c = ["nuisance"] * 4 + ["personal"] * 2 + ["environmental"] * 2 + ["personal"] * 3 + ["environmental"]
    types_p = ["nuisance"] * 4 + ["personal"] * 2 + ["environmental"] * 2 + ["nuisance"] * 3 + ["nuisance"]
    assert res["kappa_type"]["kappa"] == pytest.approx(cohen_kappa_score(types_c, types_p))
    assert res["kappa_type"]["observed"] == pytest.approx(8 / 12)
    top = res["disagreements"].iloc[0]
    assert (top["category_a"], top["category_b"], top["incidents"]) == ("Neighbour dispute", "ASB Nuisance", 3)
    assert res["agencies"][0]["unmapped_categories"] == ["Skip fire"]
    assert res["agencies"][0]["mapping_version"] == "2"
    assert np.isnan(res["kappa_police_uk"]["kappa"])        # all "Anti-social behaviour" on police.uk
    html = asb_html(res)
    assert "Neighbour dispute" in html and "mapping version 2" in html
    from typer.testing import CliRunner

    from saferhub.cli import app

    r = CliRunner().invoke(app, ["places", "asb-agreement", str(tmp_path / "council.yaml"), str(tmp_path / "police.yaml"),
                                 "--minutes", "30", "--metres", "50", "--store", str(store),
                                 "--report", str(tmp_path / "asb.html")])
    assert r.exit_code == 0, r.output
    assert "12 incidents recorded by both" in r.output and "Neighbour dispute (personal)  vs  ASB Nuisance" in r.output
    # tighter tolerance: 20 minutes apart is outside 10 minutes
    assert prevention.asb_agreement(tmp_path / "council.yaml", tmp_path / "police.yaml", store=store,
                                 minutes=10, metres=50)["matched"] == 0


def test_mapping_errors_are_one_line(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("agency: x\nversion: 1\ncolumns: {}\nasb: {Noise: loud}\n")
    with pytest.raises(SaferhubError, match="maps to 'loud'"):
        asbmap.load(p)
    p.write_text("agency: x\ncolumns: {}\nasb: {Noise: nuisance}\n")
    with pytest.raises(SaferhubError, match="version"):
        asbmap.load(p)
