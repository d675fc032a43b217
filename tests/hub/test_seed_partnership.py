"""The demo partnership is built for the force whose data was ingested (hub seed-demo)."""

from conftest import GEO


def test_merseyside_keeps_its_real_partnership():
    from saferhub.hub.seed import AGENCIES, partnership

    agencies, districts, roles = partnership("merseyside", GEO)
    assert agencies is AGENCIES and districts["Wirral"] == "wirral-council"


def test_another_force_gets_its_name_and_its_districts_councils():
    from saferhub.hub.seed import partnership

    agencies, districts, roles = partnership("cheshire", GEO)
    names = {code: name for code, name, _ in agencies}
    assert names["cheshire-police"] == "Cheshire Constabulary"
    assert names["hub"] == "Cheshire Community Safety Partnership hub"
    assert names["cheshire-fire"] == "Cheshire Fire and Rescue Service"
    # the LSOA lookup's local authorities for Cheshire: its four unitary authorities
    assert set(districts) == {"Cheshire East", "Cheshire West and Chester", "Halton", "Warrington"}
    assert districts["Halton"] == "halton-council" and names["halton-council"] == "Halton Council"
    assert not any("Merseyside" in n or "Liverpool" in n for n in names.values())
    codes = set(names)
    assert {c for c, _ in roles} <= codes and ("cheshire-police", "coordinator") in roles
    assert all((c, "caseworker") in roles for c in districts.values())


def test_no_geo_folder_gives_one_generic_council():
    from saferhub.hub.seed import partnership

    agencies, districts, _ = partnership("dyfed-powys", None)
    councils = [(c, n) for c, n, k in agencies if k == "council"]
    assert districts == {} and councils == [("dyfed-powys-council",
                                             "Dyfed-Powys Council (a demo partner: no district list for this force)")]
    assert ("dyfed-powys-police", "Dyfed-Powys Police") in [(c, n) for c, n, _ in agencies]
