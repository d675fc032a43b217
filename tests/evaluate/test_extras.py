"""Crossover, dose-response, power, costs and caller savings: simulated data (labelled) with known truth."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from saferhub.evaluate import costs, crossover, power, response
from saferhub.evaluate.yoy import TOO_FEW


def _assignment(n_areas=6, days=84, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days)
    return pd.DataFrame([{"area_id": f"A{a}", "date": d, "arm": rng.choice(["patrol", "control"])}
                         for a in range(n_areas) for d in dates])


def test_crossover_detects_a_simulated_effect_and_not_a_null():
    a = _assignment()
    sim = crossover.simulate_incidents(a, base_rate=1.5, patrol_effect=-0.4, seed=1)
    assert sim["simulated"].all()
    r = crossover.crossover_test(crossover.daily_counts(a, sim), n_perm=999)
    assert r["p"] < 0.01 and r["rate_ratio"] == pytest.approx(0.6, abs=0.1)
    nulls = [crossover.crossover_test(crossover.daily_counts(a, crossover.simulate_incidents(a, 1.5, 0.0, seed=s)),
                                      n_perm=199, seed=s)["p"] for s in range(40)]
    assert np.mean(np.array(nulls) < 0.05) <= 0.15


def test_crossover_permutations_keep_each_stratum_balance():
    a = _assignment(n_areas=2, days=14)
    days = crossover.daily_counts(a, crossover.simulate_incidents(a, 3.0, seed=2))
    r = crossover.crossover_test(days, n_perm=99)
    assert r["patrol_days"] + r["control_days"] == 28


def test_crossover_with_too_few_incidents_says_so():
    a = _assignment(n_areas=1, days=7)
    r = crossover.crossover_test(crossover.daily_counts(a, crossover.simulate_incidents(a, 0.5, seed=1)))
    assert r["result"] == TOO_FEW and "rate_ratio" not in r


def test_dose_response_recovers_a_simulated_slope_and_matches_statsmodels():
    rng = np.random.default_rng(3)
    rows = []
    for a in range(12):
        for wk in pd.date_range("2024-01-01", periods=20, freq="W-MON"):
            minutes = rng.uniform(0, 240)
            rows.append({"area_id": f"A{a}", "week": wk, "minutes_min": minutes * 0.8, "minutes_max": minutes * 1.2,
                         "y": rng.poisson(5 * np.exp(-0.1 * minutes / 60))})
    weeks = pd.DataFrame(rows)
    r = response.dose_response(weeks)
    assert r["mid"]["rate_ratio"] == pytest.approx(np.exp(-0.1), abs=0.04)
    assert r["min"]["rate_ratio"] < r["mid"]["rate_ratio"] < r["max"]["rate_ratio"]
    X = pd.get_dummies(weeks[["area_id"]].astype(str), drop_first=True, dtype=float)
    X = pd.concat([X, pd.get_dummies(weeks["week"].astype(str), drop_first=True, dtype=float)], axis=1)
    X["dose"] = (weeks["minutes_min"] + weeks["minutes_max"]) / 2 / 60
    ref = sm.GLM(weeks["y"], sm.add_constant(X), family=sm.families.Poisson()).fit()
    assert r["mid"]["rate_ratio"] == pytest.approx(np.exp(ref.params["dose"]), rel=1e-6)


def test_weekly_sums_daily_dosage():
    dosage = pd.DataFrame({"area_id": ["A"] * 3, "date": ["2024-01-01", "2024-01-02", "2024-01-08"],
                           "minutes_min": [10, 20, 5], "minutes_max": [15, 25, 10]})
    w = response.weekly(dosage, pd.DataFrame({"area_id": ["A"], "date": ["2024-01-03"]}))
    assert list(w["minutes_min"]) == [30, 5] and list(w["y"]) == [1, 0]


def test_minimum_detectable_effect_has_the_stated_power_by_simulation():
    mde = power.minimum_detectable_effect(50, 9, 9, controls_ratio=3)
    assert power.power_for(-mde["mde"], mde["se_log_rr"]) == pytest.approx(0.8, abs=0.01)
    rng = np.random.default_rng(0)
    t0, c0, c1 = rng.poisson(450, 4000), rng.poisson(1350, 4000), rng.poisson(1350, 4000)
    t1 = rng.poisson(450 * (1 - mde["mde"]), 4000)
    lrr = np.log(t1 / t0) - np.log(c1 / c0)
    se = np.sqrt(1 / t0 + 1 / t1 + 1 / c0 + 1 / c1)
    assert np.mean(np.abs(lrr / se) > 1.959964) == pytest.approx(0.8, abs=0.03)


def test_more_shared_swing_means_a_bigger_detectable_effect():
    a = power.minimum_detectable_effect(50, 9, 9)["mde"]
    assert power.minimum_detectable_effect(50, 9, 9, shock_var=0.01)["mde"] > a


def test_cost_interval_by_hand():
    r = costs.cost_avoided(10, 30, {"Robbery": 1, "Vehicle crime": 1, "Anti-social behaviour": 2})
    # shares: robbery .25, vehicle .25, asb .5 (not costed)
    assert r["low"] == pytest.approx(10 * (0.25 * 11320 + 0.25 * 870))
    assert r["high"] == pytest.approx(30 * (0.25 * 11320 + 0.25 * 10290))
    assert r["not_costed"] == ["Anti-social behaviour"] and r["costed_share"] == pytest.approx(0.5)
    assert r["price_year"] == "2015/16"


def test_cost_interval_spanning_zero_stays_an_interval():
    r = costs.cost_avoided(-5, 20, {"Burglary": 1}, uplift=1.1)
    assert r["low"] == pytest.approx(-5 * 5930 * 1.1) and r["high"] == pytest.approx(20 * 5930 * 1.1)


def test_every_police_uk_category_is_in_the_cost_table_once():
    from saferhub.categories import CATEGORIES

    table = costs.load_costs()
    assert sorted(table["category"]) == sorted(CATEGORIES)


def test_caller_savings_recover_a_simulated_reduction():
    rng = np.random.default_rng(1)
    rows = []
    for cid in range(400):
        flagged = cid < 60
        rate = rng.gamma(2, 2) if not flagged else rng.gamma(6, 2)
        for half, factor in ((0, 1.0), (1, 0.6 if flagged else 1.0)):
            n = rng.poisson(rate * factor)
            start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=90 * half)
            rows += [{"caller_id": cid, "date": start + pd.Timedelta(days=int(d)), "flagged": flagged}
                     for d in rng.integers(0, 90, n)]
    calls = pd.DataFrame(rows)
    r = costs.caller_savings(calls, "2024-03-31", unit_cost=40.0, n_boot=300)
    flagged_before = calls[(calls.flagged) & (calls.date < "2024-03-31")].shape[0]
    assert r["calls_saved_low"] < 0.4 * flagged_before < r["calls_saved_high"]
    assert r["saving_low"] == pytest.approx(40 * r["calls_saved_low"])


def test_cost_table_v2_corrects_arson_and_names_unchecked_figures():
    # Figures quoted from RR99 by the South Wales Echo (2 Aug 2019): see costs/SOURCE.txt.
    v2 = costs.load_costs().set_index("category")
    assert v2.loc["Criminal damage and arson", "unit_cost_high"] == 8420
    assert v2.loc["Vehicle crime", ["unit_cost_low", "unit_cost_high"]].tolist() == [870, 10290]
    assert costs.load_costs("ho-rr99-2015-16-v1").set_index("category").loc["Criminal damage and arson",
                                                                            "unit_cost_high"] == 8460
    r = costs.cost_avoided(1, 2, {"Burglary": 0.5, "Robbery": 0.3, "Anti-social behaviour": 0.2})
    assert r["unverified"] == ["Burglary"] and r["not_costed"] == ["Anti-social behaviour"]
    assert r["table"] == "ho-rr99-2015-16-v2" and r["price_year"] == "2015/16"
