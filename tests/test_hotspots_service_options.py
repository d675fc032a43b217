"""The hotspot verbs take their options in every documented form (issue 26, second file of the tiny
store's tests): an EventQuery / UnitSpec instead of keywords, events given instead of a store,
place names from the geo folder given, the verb's own name in a wrong-keyword error, stray
events dropped or refused, and the Knox test's seed, defaults and timestamps. Oracles: recounts of
the placed events (tiny_hotspot_store.EVENTS), pair counts by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from tiny_hotspot_store import AREA, CS, EVENTS, MONTHS, X0, Y0, recount, tiny_store  # noqa: F401

from saferhub.errors import SaferhubError
from saferhub.hotspots import service
from saferhub.query import EventQuery, UnitSpec

ALL_CELLS = [f"E{X0 + CS * i}N{Y0 + CS * j}" for i in range(8) for j in range(8)]
VERBS = ("counts", "kde", "gistar", "emerging", "concentration", "change", "near_repeat")


@pytest.fixture
def geo(tmp_path):
    """A geo folder with two wards: the west and east halves of the study area."""
    d = tmp_path / "geo" / "uk-geojson" / "wards_by_lad"
    d.mkdir(parents=True)
    halves = [shapely.box(X0, Y0, X0 + 1000, Y0 + 2000), shapely.box(X0 + 1000, Y0, X0 + 2000, Y0 + 2000)]
    gpd.GeoDataFrame({"WD13CD": ["W1", "W2"], "WD13NM": ["West Ward", "East Ward"]}, geometry=halves,
                     crs=27700).to_crs(4326).to_file(d / "wards.json", driver="GeoJSON")
    return tmp_path / "geo"


def wards_ok(gdf) -> bool:
    west = gdf["unit_id"].str.slice(1, 7).astype(int) < X0 + 1000
    return set(gdf.loc[west, "ward"]) == {"West Ward"} and set(gdf.loc[~west, "ward"]) == {"East Ward"}


def by_unit(gdf, column) -> pd.Series:
    return pd.Series(gdf[column].to_numpy(), index=gdf["unit_id"].to_numpy()).reindex(ALL_CELLS)


def full(s):
    return s.reindex(ALL_CELLS, fill_value=0.0)


def test_query_and_spec_objects_and_the_geo_folder(tiny_store, geo):  # noqa: F811
    q = EventQuery(store=str(tiny_store), months="2020-07:2020-12", categories="Robbery,Burglary,Shoplifting")
    u = UnitSpec(cell_size=CS, area=AREA, geo_dir=str(geo))
    late = [m for m in MONTHS if m >= "2020-07"]
    want = full(recount(late, ["Robbery", "Burglary", "Shoplifting"]))
    for verb, kw in (("counts", {}), ("kde", {"bandwidth": 500}), ("gistar", {}), ("emerging", {}),
                     ("concentration", {}), ("change", {"before": "2020-01:2020-06"})):
        got = getattr(service, verb)(query=q, spec=u, **kw)
        col = "after" if verb == "change" else "count"
        np.testing.assert_array_equal(by_unit(got, col), want, err_msg=verb)
        assert wards_ok(got), verb
        assert got.attrs["params"]["categories_asked"] == "Robbery, Burglary, Shoplifting", verb
    k = service.near_repeat(query=q, space_bands="0,300", time_bands="0,1", permutations=3, seed=1)
    sel = EVENTS[EVENTS["month"].isin(late) & EVENTS["category"].isin(["Robbery", "Burglary", "Shoplifting"])]
    assert k.attrs["params"]["events"] == len(sel)


def test_events_given_to_every_verb(geo):
    ev = EVENTS[["x", "y", "month", "category"]]
    rob = ev[ev["category"] == "Robbery"]
    want = full(recount(None, ["Robbery"]))
    kw = {"area": AREA, "cell_size": CS, "geo_dir": geo}
    for verb, extra in (("counts", {}), ("kde", {"bandwidth": 500}), ("gistar", {}), ("emerging", {}),
                        ("concentration", {})):
        got = getattr(service, verb)(rob, **kw, **extra)
        np.testing.assert_array_equal(by_unit(got, "count"), want, err_msg=verb)
        assert wards_ok(got), verb
    got = service.change(rob[rob["month"] >= "2020-07"], before=rob[rob["month"] < "2020-07"], **kw)
    np.testing.assert_array_equal(by_unit(got, "before"), full(recount(MONTHS[:6], ["Robbery"])))
    np.testing.assert_array_equal(by_unit(got, "after"), full(recount(MONTHS[6:], ["Robbery"])))
    k = service.near_repeat(rob, space_bands="0,300", time_bands="0,1", permutations=3, seed=1)
    assert k.attrs["params"]["events"] == len(rob) and k.attrs["params"]["categories"] == ["Robbery"]


@pytest.mark.parametrize("verb", VERBS)
def test_a_wrong_keyword_names_the_verb(verb):
    with pytest.raises(TypeError, match=rf"^{verb}\(\) got unexpected keyword argument\(s\) colour$"):
        extra = {"before": "2020-01:2020-02"} if verb == "change" else {}
        getattr(service, verb)(EVENTS, colour="red", **extra)


def test_concentration_measures_crime_as_counts_and_harm_as_weights(geo):
    ev = EVENTS[["x", "y", "month", "category"]]
    got = service.concentration(ev, area=AREA, cell_size=CS, geo_dir=geo)
    s = got.attrs["summary"].set_index("measure")
    gg = [m for m in s.index if "generali" in m.lower()]
    assert gg, list(s.index)
    assert np.isfinite(float(s.loc[gg[0], "crime"])) and pd.isna(s.loc[gg[0], "harm"])
    assert list(got.attrs["summary"].columns) == ["measure", "crime", "harm"]


def _with_stray():
    ev = EVENTS[["x", "y", "month", "category"]].copy()
    stray = pd.DataFrame({"x": [X0 + 400_000.0], "y": [Y0 + 300_000.0], "month": ["2020-05"], "category": ["Robbery"],
                          "event_id": ["STRAYEVENT01"], "location": ["On or near Far Away"]})
    return pd.concat([ev, stray], ignore_index=True)


def test_knox_strays_are_refused_or_dropped_and_said():
    ev = _with_stray()
    with pytest.raises(SaferhubError, match="pass --drop-strays"):
        service.near_repeat(ev, permutations=1)
    got = service.near_repeat(ev, permutations=1, drop_strays=True, space_bands="0,300", time_bands="0,1")
    notes = got.attrs["params"]["notes"]
    assert len(notes) == 1 and notes[0].startswith("WARNING: leaving out") and "Far Away" in notes[0]
    assert got.attrs["params"]["events"] == len(EVENTS)


def test_knox_defaults_and_seed():
    ev = EVENTS[["x", "y", "month", "category"]]
    a = service.near_repeat(ev, seed=4)
    p = a.attrs["params"]
    assert p["permutations"] == 99 and p["space_bands_m"] == "0,100,200,300,400" and p["time_bands"] == "0,1,2,3"
    assert p["time_unit"] == "months" and p["seed"] == 4 and a.attrs["knox"].permutations == 99
    b = service.near_repeat(ev, seed=4)
    np.testing.assert_array_equal(a["expected"], b["expected"])
    np.testing.assert_array_equal(a["p"], b["p"])
    c = service.near_repeat(ev, seed=5)
    assert not np.array_equal(a["expected"], c["expected"])


def test_knox_days_count_from_midnight_utc_of_naive_and_aware_stamps():
    """Half the stamps at midnight exactly, half at noon: whole days since 1970-01-01 00:00 UTC."""
    ev = EVENTS[["x", "y", "month", "category"]].copy().reset_index(drop=True)
    n = len(ev)
    day0 = pd.to_datetime(ev["month"]) + pd.to_timedelta(np.arange(n) % 28, unit="D")
    stamps = day0 + pd.to_timedelta(np.where(np.arange(n) % 2 == 0, 0, 12), unit="h")
    days = ((stamps - pd.Timestamp(0)) // pd.Timedelta(days=1)).to_numpy()
    x, y = ev["x"].to_numpy(), ev["y"].to_numpy()
    i, j = np.triu_indices(n, 1)
    d, lag = np.hypot(x[i] - x[j], y[i] - y[j]), np.abs(days[i] - days[j])
    want = [int(((d == 0) & (lag == 0)).sum()), int(((d == 0) & (lag > 0) & (lag <= 1)).sum()),
            int(((d > 0) & (d <= 300) & (lag == 0)).sum()), int(((d > 0) & (d <= 300) & (lag > 0) & (lag <= 1)).sum())]
    for s in (stamps, stamps.dt.tz_localize("UTC")):   # naive stamps are read as UTC
        ev["occurred_at"] = s
        got = service.near_repeat(ev, space_bands="0,300", time_bands="0,1", time_unit="days", permutations=2, seed=1)
        obs = got["observed"].to_numpy().reshape(3, 3)
        assert [obs[0, 0], obs[0, 1], obs[1, 0], obs[1, 1]] == want
    ev["occurred_at"] = pd.NaT
    with pytest.raises(SaferhubError, match="needs timestamped events"):
        service.near_repeat(ev, time_unit="hours")


def test_dual_kde_keeps_the_kernel_and_the_geo_folder(tiny_store, geo):  # noqa: F811
    kw = {"store": tiny_store, "area": AREA, "cell_size": CS, "geo_dir": geo, "months": "2020-10:2020-12"}
    gq = service.kde(**kw, bandwidth=400, kernel="gaussian", before="2020-01:2020-03")
    qq = service.kde(**kw, bandwidth=400, kernel="quartic", before="2020-01:2020-03")
    ga = service.kde(**kw, bandwidth=400, kernel="gaussian")
    np.testing.assert_allclose(gq["density_a_km2"], ga["density_km2"], rtol=1e-9, atol=1e-9)
    assert not np.allclose(gq["density_a_km2"], qq["density_a_km2"], rtol=0.05)
    assert gq.attrs["params"]["kernel"] == "gaussian" and wards_ok(gq)
    vs = service.kde(**kw, bandwidth=400, versus="Burglary")
    assert wards_ok(vs)


def test_the_other_period_is_read_like_the_first(tiny_store, geo):  # noqa: F811
    """A `before` or `versus` read from the store takes what the first set does not say from the
    first set: its categories (before) or its months (versus); hexagons holding either set's
    events are kept; events given as `before` are weighed with the query's harm table."""
    ev = EVENTS[["x", "y", "month", "category"]]
    kw = {"store": tiny_store, "area": AREA, "cell_size": CS, "geo_dir": geo}
    rob_late = ev[(ev["category"] == "Robbery") & (ev["month"] >= "2020-10")]
    got = service.kde(rob_late, before="2020-01:2020-06", bandwidth=500, **kw)      # Robbery before, too
    alone = service.kde(store=tiny_store, months="2020-01:2020-06", categories="Robbery", bandwidth=500, area=AREA,
                        cell_size=CS, geo_dir=geo)
    np.testing.assert_allclose(got["density_b_km2"], alone["density_km2"] * 3 / 6, rtol=1e-9, atol=1e-9)
    vs = service.kde(rob_late, versus="Burglary", bandwidth=500, **kw)              # Burglary in Oct-Dec only
    bur = service.kde(store=tiny_store, months="2020-10:2020-12", categories="Burglary", bandwidth=500, area=AREA,
                      cell_size=CS, geo_dir=geo)
    np.testing.assert_allclose(vs["density_b_km2"], bur["density_km2"], rtol=1e-9, atol=1e-9)
    hx = service.change(store=tiny_store, months="2020-12", before="2020-01:2020-06", units="hex", cell_size=200,
                        area=AREA, geo_dir=geo)
    assert hx["before"].sum() == recount(MONTHS[:6]).sum() and hx["after"].sum() == recount(["2020-12"]).sum()
    v1 = {"Violence and sexual offences": 120.0, "Robbery": 365.0, "Anti-social behaviour": 1.0, "Burglary": 60.0,
          "Possession of weapons": 180.0, "Shoplifting": 2.0}                     # cchi-category-v1, by hand
    h = service.change(ev[ev["month"] >= "2020-07"], before=ev[ev["month"] < "2020-07"], harm=True,
                       weights="cchi-category-v1", area=AREA, cell_size=CS, geo_dir=geo)
    np.testing.assert_allclose(by_unit(h, "before"), full(recount(MONTHS[:6], None, v1)))
    np.testing.assert_allclose(by_unit(h, "harm"), full(recount(MONTHS[6:], None, v1)))


def test_months_the_store_does_not_hold_are_said_only_for_store_reads(tiny_store, geo):  # noqa: F811
    got = service.counts(store=tiny_store, months="2020-11:2021-02", area=AREA, cell_size=CS, geo_dir=geo)
    p = got.attrs["params"]
    assert p["months_missing"] == ["2021-01", "2021-02"] and any("2021-01" in n for n in p["notes"])
    given = service.counts(EVENTS[["x", "y", "month", "category"]], months="2020-11:2021-02", area=AREA, cell_size=CS,
                           geo_dir=geo)
    assert given.attrs["params"]["months_missing"] == [] and not any("2021" in n for n in given.attrs["params"]["notes"])
    assert given["count"].sum() == recount(["2020-11", "2020-12"]).sum()
