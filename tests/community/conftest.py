"""Community fixtures: the real geo folder (wards, IMD, population), read in place."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GEO = REPO.parent / "shared" / "data" / "geo"


import datetime as dt  # noqa: E402

import pytest  # noqa: E402

TODAY = dt.date(2026, 12, 7)
# Personal data seeded into the hub; none of it may appear on any public page, post or file.
SECRETS = {
    "victim name": "Marjorie Pemberton-Vale",
    "victim surname": "Pemberton-Vale",
    "offender name": "Dwayne Okonkwo-Riley",
    "address": "14 Larkspur Crescent",
    "caller ref": "CAD-2026-118823",
    "victim ref": "VR-88-4417-Q",
    "officer": "Gemma Hartley-Quinn",
    "future patrol": "23:15 on 12 December",
    "free text": "the lad from number 9 keeps kicking the door",
    "case title": "Larkspur noise and threats",
    "patrol area id": "PA-SECRET-7",
}
APPROVED = {"title": "Street drinking near the shops", "done": "Joint patrols and a Public Spaces Protection Order.",
            "outcome": "Calls about street drinking fell by half over three months."}


def _hub(url):
    from saferhub.hub import services
    from saferhub.hub.db import make_engine, session_factory, upgrade
    from saferhub.hub.models import Agency

    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        police = Agency(code="police", name="Merseyside Police", kind="police")
        s.add(police)
        s.flush()
        pw = "correct horse battery staple 42"
        officer = services.add_user(s, "gemma@police.invalid", SECRETS["officer"], police.id, "caseworker", pw)
        coord = services.add_user(s, "coord@police.invalid", "Hub Coordinator", police.id, "coordinator", pw)
        loc = services.create_location(s, officer, description=SECRETS["address"], ward="Anfield")
        case = services.create_case(s, officer, kind="asb", title=SECRETS["case title"],
                                    summary=SECRETS["free text"], location_id=loc["id"])
        victim = services.add_person_to_case(s, officer, case["id"], "victim", given_name="Marjorie",
                                             family_name="Pemberton-Vale")
        services.add_person_to_case(s, officer, case["id"], "suspect", given_name="Dwayne", family_name="Okonkwo-Riley")
        services.add_note(s, officer, case["id"], victim["person_id"], "fact", SECRETS["free text"])
        services.create_action(s, officer, case["id"], title=f"Patrol Larkspur Crescent {SECRETS['future patrol']}")
        services.record_incidents(s, officer, [{"month": dt.date(2020, 11, 1), "category": "Anti-social behaviour",
                                                "caller_ref": SECRETS["caller ref"], "victim_ref": SECRETS["victim ref"],
                                                "location_text": SECRETS["address"]}])
        plan = services.create_plan(s, officer, title=SECRETS["case title"], objective=SECRETS["free text"],
                                    case_id=case["id"], areas=["Anfield"])
        p = services.get_plan(s, coord, plan["id"], "publishing you said we did")
        services.set_plan_public(s, coord, plan["id"], p["version"], True, **APPROVED)
        s.commit()
    engine.dispose()


def _patrol_products(store):
    """SIMULATED patrol areas in Anfield and Everton and a dosage table that runs a week past
    TODAY (planned visits only, as a plan would): the public pages must show neither the future
    nor the area ids."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    from saferhub.data.products import write_product

    areas = gpd.GeoDataFrame({"area_id": [SECRETS["patrol area id"], "PA-2"], "simulated": True},
                             geometry=[box(336200, 393400, 336400, 393600), box(335300, 392000, 335500, 392200)],
                             crs=27700)
    write_product("patrol-areas", areas, store)
    rows = []
    for d in pd.date_range(TODAY - dt.timedelta(days=20), TODAY + dt.timedelta(days=7)):
        past = d.date() <= TODAY
        for a, v in ((SECRETS["patrol area id"], 4), ("PA-2", 2)):
            rows.append({"area_id": a, "date": d.strftime("%Y-%m-%d"), "visits": v if past else 0,
                         "minutes_min": 25.0 * v if past else 0.0, "minutes_max": 35.0 * v if past else 0.0,
                         "planned_minutes": 120.0, "planned_visits": 3, "delivered_visits": 3 if past else 0,
                         "missed_windows": 0, "devices": 2, "simulated": True})
    write_product("patrol-dosage", rows, store)


@pytest.fixture(scope="session")
def public_site(merseyside_store, tmp_path_factory):
    """A store view over the real Merseyside data with simulated patrol products, a hub seeded
    with personal data and one approved public plan, a simulated survey, and the published pages
    with their static export."""
    from saferhub.community import service

    root = tmp_path_factory.mktemp("community")
    store = root / "store"
    store.mkdir()
    for child in merseyside_store.iterdir():
        if child.name not in ("products", ".built", "survey"):
            (store / child.name).symlink_to(child)
    _patrol_products(store)
    db = f"sqlite:///{root / 'hub.sqlite3'}"
    _hub(db)
    made = service.survey_simulate(root / "sv", GEO, n_per_wave=400, seed=2)
    service.survey_import([made["csv"]], made["mapping"], store, GEO)
    service.survey_results(store, GEO)
    summary = service.publish_neighbourhoods(store, None, GEO, out=root / "site", db=db, today=TODAY)
    return {"store": store, "db": db, "site": root / "site", "summary": summary}
