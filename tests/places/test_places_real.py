"""Real data: the facility register and attribution on the shared Merseyside months."""

import pytest

from saferhub.places import service

# Events at facility snap points in the shared 2020 Merseyside months (issue 24 quotes these; a
# pandas count of the CSVs' Location column gives the same).
EXPECTED_2020 = {"Supermarket": 4450, "Shopping Area": 2684, "Sports/Recreation Area": 2481, "Petrol Station": 2074,
                 "Hospital": 1035, "Nightclub": 966, "Police Station": 813,
                 "Further/Higher Educational Building": 609, "Bus/Coach Station": 531}


@pytest.mark.slow
def test_merseyside_facility_register_and_ranking(merseyside_store, tmp_path):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(merseyside_store, store)
    out = service.build_facility_register(store=store, months="2020-01:2020-12")
    assert out["by_type"]["Supermarket"] == 145 and out["facility_points"] == 1148
    ranked = service.rank(store=store, months="2020-01:2020-12")
    by_type = ranked.groupby("type")["events"].sum()
    for t, n in EXPECTED_2020.items():
        assert by_type[t] == n, t
    assert (ranked["street"] != "").all()
    # the J-curve: in every large class the busiest 10% of points hold far more than 10% of the events
    for t, c in ranked.attrs["classes"].items():
        if c["places"] >= 20:
            assert c["top10_share"] > 0.25, t
    assert 0 < ranked["flagged"].sum() < len(ranked) * 0.5


@pytest.mark.slow
def test_facility_types_derivation_on_merseyside(merseyside_store):
    from saferhub.data.store import events
    from saferhub.places import facilities

    ev = events(store=merseyside_store, sources="street", located_only=True,
                columns=["location", "x", "y", "lsoa_name"]).to_pandas()
    district = ev["lsoa_name"].fillna("").str[:-5]
    found = set(facilities.candidate_types(ev["location"], ev["x"], ev["y"], district)["name"])
    # the rule finds 13 of the types and three street names without a road word, reviewed away
    assert found - set(facilities.FACILITY_TYPES) == {"Kingsway", "Broadway", "Meadway"}
    assert len(found & set(facilities.FACILITY_TYPES)) == 13
