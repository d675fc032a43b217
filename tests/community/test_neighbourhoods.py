"""Neighbourhood figures on small constructed inputs: periods, year-on-year against the evaluation
package's functions, similar wards by hand, patrol aggregates (no future, no plan), posts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saferhub.community import disclosure as D
from saferhub.community import neighbourhoods as N
from saferhub.community.posts import SHORT_LIMIT, write_posts


def test_periods_known_values():
    p = N.periods("2020-03", months_shown=24)
    assert p["ytd"] == ["2020-01", "2020-02", "2020-03"]
    assert p["ytd_before"] == ["2019-01", "2019-02", "2019-03"]
    assert p["year"][0] == "2019-04" and p["year"][-1] == "2020-03" and len(p["year"]) == 12
    assert p["trend"][0] == "2018-04" and len(p["trend"]) == 24


def test_year_on_year_uses_the_exact_test_and_calls_change_only_when_significant():
    from scipy import stats

    y = N.year_on_year(150, 100, 12)
    assert y["result"] == "up" and y["change_pct"] == 50
    # oracle: the C-test is a binomial test of 150 of 250 at p = 1/2; the interval is Clopper-Pearson mapped
    assert y["p"] == pytest.approx(stats.binomtest(150, 250, 0.5).pvalue, abs=1e-4)
    ci = stats.binomtest(150, 250).proportion_ci(0.95, method="exact")
    assert y["low_pct"] == round(100 * (ci.low / (1 - ci.low) - 1))
    assert y["high_pct"] == round(100 * (ci.high / (1 - ci.high) - 1))
    assert N.year_on_year(105, 100, 12)["result"] == "no clear change"
    # overdispersed months: the same totals are no longer a clear change, and the interval widens
    wide = N.year_on_year(150, 100, 12, phi=9.0)
    assert wide["result"] == "no clear change" and wide["low_pct"] < y["low_pct"] and wide["high_pct"] > y["high_pct"]
    half = 1.959964 * np.sqrt(9.0 * (1 / 150 + 1 / 100))
    assert wide["low_pct"] == round(100 * (1.5 * np.exp(-half) - 1))
    assert N.year_on_year(150, 100, 12, phi=float("nan"))["result"] == "too few to tell"
    assert N.year_on_year(60, 100, 12)["result"] == "down"
    assert N.year_on_year(None, 100, 12)["result"] == "too few to tell"
    assert N.year_on_year(5, 10, 12)["result"] == "too few to tell"


def test_dispersion_known_values():
    # Poisson-like months give 1 (the floor); months 10, 30 around 20: chi2 = (100 + 100) / 20 = 10 on 1 df
    assert N.dispersion([20, 20, 20], [20, 20, 20]) == 1.0
    assert N.dispersion([10, 30, 20], [20, 20, 20]) == pytest.approx(10 / 4)
    assert np.isnan(N.dispersion([None, None], [None, 5]))


def test_ward_counts_groups_by_ward_month_and_kind():
    ev = pd.DataFrame({"lsoa11": ["A1", "A1", "A2", "B1", "X9"],
                       "month": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-02-01", "2020-01-01", "2020-01-01"]),
                       "category": ["Burglary", "Anti-social behaviour", "Robbery", "Burglary", "Burglary"],
                       "key": [1, 2, 3, 4, 5]})
    c = N.ward_counts(ev, {"A1": "WA", "A2": "WA", "B1": "WB"}, "key")
    got = {(r.ward, r.month, r.group): (r.count, r.key) for r in c.itertuples()}
    assert got == {("WA", "2020-01", "asb"): (1, 2), ("WA", "2020-01", "crime"): (1, 1),
                   ("WA", "2020-02", "crime"): (1, 3), ("WB", "2020-01", "crime"): (1, 4)}


def test_similar_wards_by_hand():
    wards = pd.DataFrame({"code": list("ABCDE"), "population": [1000, 1100, 5000, 5200, 1050],
                          "imd_rank": [100, 150, 30000, 29000, 9000]})
    sim = N.similar_wards(wards, k=2)
    assert sim["A"] == ["B", "E"] and sim["C"] == ["D", "E"]
    assert all(code not in sim[code] for code in sim)


def test_protected_series_publishes_totals_and_hides_small_months():
    per = N.periods("2020-12", months_shown=24)
    counts = {m: 30 for m in per["trend"]} | {"2020-06": 4}
    s = N.protected_series(counts, {}, per, D.Rounding())
    i = s["months"].index("2020-06")
    assert s["monthly"][i] is None and s["monthly"][0] == 30
    assert s["year"] == 335 and s["ytd_before"] == 360


def _patrol_inputs():
    import geopandas as gpd
    from shapely.geometry import box

    wards = gpd.GeoDataFrame({"code": ["W1", "W2"]}, geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
                             crs=27700)
    areas = gpd.GeoDataFrame({"area_id": ["PA-1", "PA-2"]}, geometry=[box(100, 100, 200, 200), box(1500, 100, 1600, 200)],
                             crs=27700).to_crs(4326)
    days = pd.date_range("2026-11-30", "2026-12-13").strftime("%Y-%m-%d")
    rows = []
    for a, v in (("PA-1", 3), ("PA-2", 1)):
        for d in days:
            rows.append({"area_id": a, "date": d, "visits": v, "minutes_min": 20 * v, "minutes_max": 30 * v,
                         "planned_minutes": 99, "planned_visits": 7, "simulated": True})
    return pd.DataFrame(rows), areas, wards


def test_patrol_by_ward_weekly_no_future_no_plan():
    dosage, areas, wards = _patrol_inputs()
    out = N.patrol_by_ward(dosage, areas, wards, today="2026-12-07", rule=D.Rounding())
    w1 = out["W1"]
    # days up to 7 Dec only: week of 30 Nov (7 days x 3) and 7 Dec (1 day x 3)
    assert w1["weeks"] == ["2026-11-30", "2026-12-07"]
    assert w1["visits"] == [20, None] and w1["total_visits"] == 25  # 21 -> 20, 3 withheld, 24 -> 25
    assert w1["hours"] == [7, None] and w1["simulated"] is True
    assert w1["post_week"] == 0  # the week of 7 Dec has not ended: posts report the week before
    assert out["W2"]["visits"] == [None, None] and out["W2"]["total_visits"] is None
    assert "planned" not in repr(out) and "PA-1" not in repr(out)
    # all wards: 24 + 8 = 32 visits -> 30 (28..32); with W1's 25 (23..27) it leaves W2 anywhere in
    # 1..9, so it may stand
    assert out["_all"]["total_visits"] == 30 and out["_all"]["wards"] == 2


def test_force_total_is_withheld_when_it_gives_a_ward_away():
    import geopandas as gpd
    from shapely.geometry import box

    wards = gpd.GeoDataFrame({"code": ["W1", "W2"]}, geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
                             crs=27700)
    areas = gpd.GeoDataFrame({"area_id": ["A", "B"]}, geometry=[box(100, 100, 200, 200), box(1500, 100, 1600, 200)],
                             crs=27700).to_crs(4326)
    dosage = pd.DataFrame({"area_id": ["A", "B"], "date": ["2026-11-30", "2026-11-30"], "visits": [10, 1],
                           "minutes_min": [100.0, 10.0]})
    out = N.patrol_by_ward(dosage, areas, wards, today="2026-12-07", rule=D.Rounding())
    # W1 10 (published 10: 10..12), W2 1 (withheld): a total of 11 -> 10 would say W2 is 0..2
    assert out["W1"]["total_visits"] == 10 and out["W2"]["total_visits"] is None
    assert out["_all"]["total_visits"] is None


def _ward():
    per = N.periods("2020-12")
    return {"code": "W1", "name": "Anfield", "district": "Liverpool", "periods": per, "disclosure": "10-5",
            "crime": {"year": 2140, "query": "q-crime", "yoy": {"result": "down", "change_pct": -12}},
            "asb": {"year": 540, "query": "q-asb"},
            "patrol": {"weeks": ["2026-11-30"], "visits": [35], "hours": [12], "total_visits": 140,
                       "since": "2026-11-02", "simulated": True, "query": "q-patrol"}}


def test_posts_fit_trace_and_say_simulated():
    p = write_posts(_ward(), "Report: 101.")
    assert len(p["short"]) <= SHORT_LIMIT and p["short"].startswith("SIMULATED")
    assert "35 foot patrol visits" in p["short"] and "0800 555 111" in p["short"]
    ids = {n["id"]: n for n in p["sidecar"]["numbers"]}
    assert ids["visits_week"]["value"] == 35 and "q-patrol" in ids["visits_week"]["query"]
    assert ids["crime_year"]["value"] == 2140 and ids["crime_year"]["in"] == ["long"]
    assert "2,140 crimes" in p["long"] and "Crime down 12%" in p["long"]
    # every number in either post is in the sidecar
    import re

    numbers = {n.rstrip(",") for n in re.findall(r"\d[\d,]*", p["short"] + p["long"])} - {"101", "999", "0800", "555", "111", "12"}
    traced = {f"{n['value']:,}" for n in p["sidecar"]["numbers"]} | {str(abs(n["value"])) for n in p["sidecar"]["numbers"]}
    assert numbers <= traced | {"2", "1"}, numbers - traced
    w = _ward() | {"patrol": None, "name": "Sandhills, Kirkdale and Everton Village North"}
    short = write_posts(w, "Report: 101.")["short"]
    assert len(short) <= SHORT_LIMIT and "SIMULATED" not in short and "2,140 crimes recorded" in short


def test_cell_key_series_same_records_same_value_across_overlapping_cells():
    """With December the last month, "this year to date" and "the last 12 months" hold the same
    records: cell-key noise must give them the same published value (else averaging helps)."""
    per = N.periods("2020-12", months_shown=24)
    rng = np.random.default_rng(5)
    counts = {m: int(rng.integers(20, 60)) for m in per["trend"]}
    keys = {m: int(D.record_keys([f"{m}-{i}" for i in range(counts[m])], "k").sum()) for m in per["trend"]}
    s = N.protected_series(counts, keys, per, D.CellKey())
    assert s["year"] == s["ytd"] and abs(s["year"] - sum(counts[m] for m in per["year"])) <= 2
    again = N.protected_series(counts, keys, per, D.CellKey())
    assert again == s
    assert any(v != counts[m] for v, m in zip(s["monthly"], s["months"]))  # noise really is added
