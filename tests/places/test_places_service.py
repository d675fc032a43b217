"""The register, attribution and ranking on a small constructed store (known answers)."""


import pandas as pd
import pytest

from saferhub.data.products import read_product
from saferhub.errors import SaferhubError
from saferhub.places import facilities, service

from .conftest import FACILITIES, lonlat


@pytest.fixture
def store(small_store, tmp_path):
    import shutil

    target = tmp_path / "store"
    shutil.copytree(small_store, target)
    return target


def test_build_register_from_snap_points(store):
    out = service.build_facility_register(store=store)
    assert out["facility_points"] == len(FACILITIES)
    assert out["by_type"] == {"Supermarket": 8, "Nightclub": 6}
    reg = service.read_register(store)
    assert (reg["label"] == facilities.LABEL).all()
    busy = reg[reg["place_id"] == "PUK-supermarket-E342800N390000"].iloc[0]
    assert busy["street"] == "Lord Street" and busy["name"] == "Supermarket near Lord Street"
    before = service.register_path(store).read_bytes()
    service.build_facility_register(store=store)          # idempotent: the same file
    assert service.register_path(store).read_bytes() == before


def test_rank_flags_the_problem_supermarket(store):
    service.build_facility_register(store=store)
    ranked = service.rank(store=store)
    top = ranked.iloc[0]
    assert top["place_id"] == "PUK-supermarket-E342800N390000" and top["flagged"]
    assert top["events"] == 36 and top["crimes"] == 18 and top["asb"] == 18
    assert top["ratio"] == pytest.approx(6.0)              # others: 6 each over 6 months
    assert ranked["flagged"].sum() == 1
    assert "Lord Street" in top["words"] and "6.0 times its class's average" in top["words"]
    a = service.attribute(store=store)
    assert a.events_attributed == sum(f[3] for f in FACILITIES) * 6    # street crimes at no place
    # a radius that reaches the street point beside the busy supermarket takes its burglaries too
    wide = service.rank(store=store, radius=50)
    assert wide.set_index("place_id").loc["PUK-supermarket-E342800N390000", "crimes"] == 18 + 6
    entry = service.publish_rank(ranked, store=store)
    layer = read_product(service.LAYER, store)
    assert entry["features"] == len(layer["features"]) == len(ranked)
    assert read_product("map-layers", store)["layers"][0]["name"] == service.LAYER
    html = service.rank_report(ranked, store / "r.html").read_text()
    assert "Lord Street" in html and "J-curve" in html


REGISTER = """Ref,Premises,Kind,Licence,Open,Lon,Lat
L1,The Crown,Pub,premises licence,11:00-02:00,{a},{b}
L2,Corner Shop,Off licence,premises licence,08:00-22:00,{c},{d}
L3,No Point,Pub,premises licence,11:00-23:00,,
L1,The Crown again,Pub,premises licence,11:00-23:00,{a},{b}
L4,Odd Hours,Pub,premises licence,late,{a},{b}
"""
MAPPING = """agency: Liverpool licensing
version: 1
columns: {id: Ref, name: Premises, type: Kind, licence_type: Licence, hours: Open, lon: Lon, lat: Lat}
types: {Off licence: Off-licence}
"""


def test_import_partner_register_with_quarantine(store, tmp_path):
    a, b = lonlat(2810, 0)
    c, d = lonlat(0, 10)
    csv = tmp_path / "premises.csv"
    csv.write_text(REGISTER.format(a=a, b=b, c=c, d=d))
    (tmp_path / "m.yaml").write_text(MAPPING)
    out = service.import_register(csv, tmp_path / "m.yaml", store=store)
    assert out["imported"] == 2 and out["quarantined"] == 3
    q = pd.read_csv(out["quarantine_file"])
    assert q["line"].tolist() == [4, 5, 6]
    assert q["reason"].tolist() == ["no coordinates (a place needs a point)", "duplicate id (an earlier row has it)",
                                    "unreadable opening hours 'late' (use HH:MM-HH:MM or 24h)"]
    reg = service.read_register(store).set_index("place_id")
    crown = reg.loc["liverpool-licensing:L1"]
    assert crown["late_night"] and crown["street"] == "Lord Street" and crown["type"] == "Pub"
    assert reg.loc["liverpool-licensing:L2", "type"] == "Off-licence"
    again = service.import_register(csv, tmp_path / "m.yaml", store=store)   # idempotent
    assert again["places_in_register"] == out["places_in_register"] == 2


def test_bad_mapping_and_empty_register_are_one_line_errors(store, tmp_path):
    (tmp_path / "m.yaml").write_text("agency: x\ncolumns: {id: a, name: b}\n")
    with pytest.raises(SaferhubError, match="columns must map type"):
        service.import_register(tmp_path / "nope.csv", tmp_path / "m.yaml", store=store)
    with pytest.raises(SaferhubError, match="register is empty"):
        service.rank(store=store)


def test_simulated_register_is_labelled(store, tmp_path):
    out = service.simulate_premises(tmp_path, n=40, seed=3, store=store)
    imp = service.import_register(out["csv"], out["mapping"], store=store)
    assert imp["imported"] == 40 and imp["simulated"]
    reg = service.read_register(store)
    assert reg["label"].str.startswith("SIMULATED").all() and reg["name"].str.startswith("Simulated").all()
    again = service.simulate_premises(tmp_path / "b", n=40, seed=3, store=store)
    assert open(again["csv"]).read() == open(out["csv"]).read()
