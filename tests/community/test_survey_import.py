"""`saferhub survey import`: mapping errors are one line; bad rows are quarantined with line and
reason; re-importing is idempotent; the generator's file imports cleanly and says SIMULATED."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from saferhub.cli import app
from saferhub.community import service

from .conftest import GEO

MAPPING = """columns: {id: RespID, wave: Wave, area: Ward, weight: Wt}
questions:
  confidence:
    column: Q1
    yes: [Agree, Strongly agree]
    no: [Disagree]
    missing: ["Don't know"]
"""
CSV = """RespID,Wave,Ward,Wt,Q1
r1,W1,Anfield,1.5,Agree
r2,W1,anfield,0.5,Disagree
r3,W1,Atlantis,1,Agree
r4,W1,Anfield,-2,Agree
r5,W1,Anfield,1,Maybe
r1,W1,Anfield,1,Agree
r6,W1,Park,1,Agree
r7,W1,Park (Sefton),1,Don't know
r8,W1,E05000886,abc,Agree
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "m.yaml").write_text(MAPPING)
    (tmp_path / "s.csv").write_text(CSV)
    return tmp_path


def test_bad_rows_quarantined_with_line_and_reason_and_idempotent(files, tmp_path):
    store = tmp_path / "store"
    r = service.survey_import([files / "s.csv"], files / "m.yaml", store, GEO)
    assert r[0]["read"] == 9 and r[0]["kept"] == 3 and r[0]["quarantined"] == 6
    q = pd.read_csv(store / "survey" / "quarantine.csv")
    reasons = dict(zip(q["line"], q["reason"]))
    assert "not a ward we know" in reasons[4]
    assert "not positive" in reasons[5]
    assert "'Maybe'" in reasons[6]
    assert "appears twice" in reasons[7]
    assert "more than one ward" in reasons[8]
    assert "not a number" in reasons[10]
    kept = pd.read_parquet(store / "survey" / "responses.parquet")
    assert sorted(kept["id"]) == ["r1", "r2", "r7"] and kept.loc[kept["id"] == "r7", "confidence"].isna().all()
    service.survey_import([files / "s.csv"], files / "m.yaml", store, GEO)
    assert len(pd.read_parquet(store / "survey" / "responses.parquet")) == 3
    assert len(pd.read_csv(store / "survey" / "quarantine.csv")) == 6


def test_mapping_and_file_mistakes_are_one_line(files, tmp_path):
    (files / "bad.yaml").write_text("columns: {id: RespID}\nquestions: {}\n")
    r = CliRunner().invoke(app, ["survey", "import", "--mapping", str(files / "bad.yaml"), "--store",
                                 str(tmp_path / "st"), "--geo-dir", str(GEO), str(files / "s.csv")])
    assert r.exit_code != 0 and "columns must map id, wave and area" in str(r.exception)
    (files / "nocol.csv").write_text("RespID,Wave,Ward\nr1,W1,Anfield\n")
    with pytest.raises(Exception, match="no column"):
        service.survey_import([files / "nocol.csv"], files / "m.yaml", tmp_path / "st", GEO)


def test_simulated_file_round_trip_and_results(tmp_path):
    store = tmp_path / "store"
    made = service.survey_simulate(tmp_path / "sim", GEO, n_per_wave=300, seed=3)
    r = service.survey_import([made["csv"]], made["mapping"], store, GEO)
    assert r[0]["kept"] == 600 and r[0]["quarantined"] == 0
    res = service.survey_results(store, GEO, min_base=50)
    assert res["simulated"] is True and res["respondents"] == {"2025-Q1": 300, "2025-Q2": 300}
    m = service.read_survey_product(store)
    overall = [x for x in m["rows"] if x["level"] == "overall" and x["question"] == "confidence"]
    assert all(0.45 < x["p"] < 0.85 and x["low"] < x["p"] < x["high"] for x in overall)
    assert all(x["withheld"] for x in m["rows"] if x["level"] == "ward")  # ~3 people a ward
    assert m["national"]["confidence"]["percent"] == 67 and m["national"]["foot_patrol_weekly"]["percent"] == 11
    assert m["national"]["good_job"]["period"] == "year ending March 2025"
    assert m["csv"].splitlines()[1].endswith(",yes")
    # the same seed makes the same file
    again = service.survey_simulate(tmp_path / "sim2", GEO, n_per_wave=300, seed=3)
    assert open(again["csv"]).read() == open(made["csv"]).read()
