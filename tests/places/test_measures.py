"""The prevention fund: measures import and validation, and a simulated measure with a known
injected effect recovered within its interval."""

import pandas as pd
import pytest

from ingest_helpers import write
from saferhub.data.ingest import ingest_paths
from saferhub.places import measures, prevention

HEADER = measures.STREET_HEADER


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    root = tmp_path_factory.mktemp("town")
    files, measure = measures.simulate_town(seed=2, effect=0.5)
    for month, rows in files.items():
        write(root / "csv" / f"{month}-merseyside-street.csv", rows, header=HEADER)
    store = root / "store"
    ingest_paths([root / "csv"], store=store, far_km=1000)
    return store, measure


def test_injected_effect_is_recovered(town, tmp_path):
    store, measure = town
    csv = tmp_path / "measures.csv"
    pd.DataFrame([measure]).to_csv(csv, index=False)
    out = prevention.import_measures(csv, store=store)
    assert out == {"imported": 1, "quarantined": 0, "measures": 1, "quarantine_file": None}
    view = prevention.evaluate_fund(store=store, allocated=200_000)
    m = view["measures"][0]
    assert m["change_low_pct"] < -50 < m["change_high_pct"]          # the true effect is inside
    assert m["change_high_pct"] < 0 and m["significant"]
    f = view["fund"]
    assert f["spent"] == 20_000 and f["unspent"] == 180_000 and f["simulated"]
    assert 0 < f["crimes_prevented_low"] < f["crimes_prevented_high"]
    assert m["harm_after"] < m["harm_before"] and 0 < f["harm_prevented_low"] < f["harm_prevented_high"]
    lo, hi = f["cost_per_crime_prevented"]
    assert lo == pytest.approx(20_000 / f["crimes_prevented_high"])


BAD = """measure_id,kind,start,cost,funding_line,place_id,easting,northing,radius_m
M1,cctv,2020-01-01,"£5,000",Fund,,342000,392000,
M2,laser moat,2020-01-01,10,Fund,,342000,392000,
M3,lighting,01/02/2020,10,Fund,,342000,392000,
M4,lighting,2020-02-01,lots,Fund,,342000,392000,
M5,lighting,2020-02-01,10,Fund,PUK-nope,,,
M1,cctv,2020-01-01,10,Fund,,342000,392000,
M6,alley gates,2020-02-01,10,Fund,,,,
"""


def test_measures_validation_quarantines_with_reasons(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text(BAD)
    good, q = measures.parse_measures(p, pd.DataFrame(columns=["place_id", "x", "y"]))
    assert good["measure_id"].tolist() == ["M1"] and good["cost"].iloc[0] == 5000
    assert good["radius_m"].iloc[0] == 100
    reasons = q.to_pandas().set_index("line")["reason"].to_dict()
    assert reasons[3].startswith("unknown kind 'laser moat'")
    assert reasons[4] == "start '01/02/2020' is not a date (YYYY-MM-DD)"
    assert reasons[5] == "cost 'lots' is not an amount in pounds"
    assert reasons[6] == "no place 'PUK-nope' in the register"
    assert reasons[7] == "duplicate measure_id (an earlier row has it)"
    assert reasons[8] == "no place: give a place_id, lon/lat or easting/northing"


def test_fund_view_sums_and_too_few():
    rows = [{"cost": 100.0, "events_avoided_low": 2.0, "events_avoided_high": 10.0, "significant": True},
            {"cost": 50.0, "events_avoided_low": None, "events_avoided_high": None}]
    f = measures.fund_view(rows, allocated=1000)
    assert f["spent"] == 150 and f["measures_too_few"] == 1 and f["cost_per_crime_prevented"] == [15.0, 75.0]


def test_fund_cli_report(town, tmp_path):
    from typer.testing import CliRunner

    from saferhub.cli import app

    store, measure = town
    csv = tmp_path / "m.csv"
    pd.DataFrame([measure]).to_csv(csv, index=False)
    r = CliRunner().invoke(app, ["places", "measures", "import", str(csv), "--store", str(store)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["places", "fund", "--allocated", "200000", "--store", str(store),
                                 "--report", str(tmp_path / "fund.html")])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "fund.html").read_text()
    assert "SIMULATED" in html and "Allocated £200,000; spent £20,000" in html
