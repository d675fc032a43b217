"""The hotspot verbs (saferhub.hotspots.service) against independent recounts of a tiny store
(issue 26): every count, harm sum, months window and category filter is recounted from the placed
events themselves (tiny_hotspot_store.EVENTS, no saferhub), the harm weights from the packaged
CSV tables read here with the csv module, the KDE by brute force over cell centres, Gi* by its
textbook formula, the Knox table by counting pairs. Each test calls the verb itself (a shared
fixture that ran it once would hide later tests from mutation testing). ~1 s per test."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tiny_hotspot_store import AREA, CATS, CS, EVENTS, HOT, MONTHS, X0, Y0, recount, tiny_store  # noqa: F401

from saferhub.errors import SaferhubError
from saferhub.hotspots import service

GRIP_ORDER = ["Violence and sexual offences", "Robbery", "Possession of weapons", "Anti-social behaviour"]
ALL_CELLS = [f"E{X0 + CS * i}N{Y0 + CS * j}" for i in range(8) for j in range(8)]


def weights(version: str) -> dict[str, float]:
    """A packaged harm table, read without saferhub's loader."""
    text = (resources.files("saferhub") / "harm_weights" / f"{version}.csv").read_text()
    return {r["category"]: float(r["weight"]) for r in csv.DictReader(text.splitlines())}


def where(store, geo, **kw) -> dict:
    return {"store": store, "area": AREA, "cell_size": CS, "geo_dir": geo, **kw}


@pytest.fixture
def geo(tmp_path):
    """An empty geo folder: no ward/LSOA layers to read (place names come out empty)."""
    return tmp_path


def by_unit(gdf, column) -> pd.Series:
    return pd.Series(gdf[column].to_numpy(), index=gdf["unit_id"].to_numpy()).reindex(ALL_CELLS)


def full(s: pd.Series) -> pd.Series:
    return s.reindex(ALL_CELLS, fill_value=0.0)


def months(a: str, b: str) -> list[str]:
    return [m for m in MONTHS if a <= m <= b]


# --- counts, harm, months, categories -----------------------------------------------------------

def test_counts_equal_a_recount_in_the_months_window_and_categories(tiny_store, geo):  # noqa: F811
    got = service.counts(**where(tiny_store, geo, months="2020-03:2020-08", categories="Robbery,Burglary"))
    want = full(recount(months("2020-03", "2020-08"), ["Robbery", "Burglary"]))
    assert got["unit_id"].tolist() == sorted(ALL_CELLS) or set(got["unit_id"]) == set(ALL_CELLS)
    np.testing.assert_array_equal(by_unit(got, "count"), want)
    v2 = weights("cchi-category-v2")
    np.testing.assert_allclose(by_unit(got, "harm"), full(recount(months("2020-03", "2020-08"), ["Robbery", "Burglary"], v2)))
    n_out = int(((~EVENTS["inside"]) & EVENTS["month"].between("2020-03", "2020-08")
                 & EVENTS["category"].isin(["Robbery", "Burglary"])).sum())
    assert n_out > 0
    p = got.attrs["params"]
    assert p == {"method": "count", "categories": ["Robbery", "Burglary"], "categories_asked": "Robbery, Burglary",
                 "months": "2020-03..2020-08", "measure": "count", "events": int(want.sum()),
                 "force": "Merseyside Police", "units": "grid", "n_units": 64, "cell_size": CS,
                 "study_area": "the polygon given", "study_area_kind": "given", "events_outside_area": n_out,
                 "hull": None, "months_missing": [], "harm_weights": None, "weights": None, "drop_strays": False,
                 "notes": ["study area: the polygon given", f"{n_out} events outside the study area left out"]}
    np.testing.assert_allclose(by_unit(got, "share_of_crime"), want / want.sum())
    assert got.attrs["area"].equals(AREA)


def test_harm_counts_use_the_asked_weights_table(tiny_store, geo):  # noqa: F811
    for version in ("cchi-category-v1", None):
        kw = {} if version is None else {"weights": version}
        got = service.counts(**where(tiny_store, geo, months="2020-01:2020-12", **kw), harm=True)
        w = weights(version or "cchi-category-v2")
        np.testing.assert_allclose(by_unit(got, "harm"), full(recount(MONTHS, None, w)))
        np.testing.assert_array_equal(by_unit(got, "count"), full(recount(MONTHS)))
        p = got.attrs["params"]
        assert p["measure"] == "harm" and p["harm_weights"] == (version or "default") and "weights" not in p
        # every category present, Grip's first in their order, then the rest alphabetically
        assert p["categories"] == GRIP_ORDER + ["Burglary", "Shoplifting"] and p["categories_asked"] == "all"
    # v1 and v2 differ for these categories: the table asked is the one used
    assert weights("cchi-category-v1")["Violence and sexual offences"] != weights("cchi-category-v2")["Violence and sexual offences"]


def test_categories_are_listed_in_the_order_asked(tiny_store, geo):  # noqa: F811
    got = service.counts(**where(tiny_store, geo, categories="Shoplifting,Robbery,Bicycle theft"))
    p = got.attrs["params"]
    assert p["categories"] == ["Shoplifting", "Robbery"]           # asked order, absent one left out
    assert p["categories_asked"] == "Shoplifting, Robbery, Bicycle theft"
    assert p["months"] == "2020-01..2020-12"
    np.testing.assert_array_equal(by_unit(got, "count"), full(recount(None, ["Shoplifting", "Robbery"])))


def test_counts_rates_from_a_population_mapping_and_a_csv(tiny_store, geo, tmp_path):  # noqa: F811
    pop = {c: 100 + 10 * k for k, c in enumerate(ALL_CELLS)}
    pop[ALL_CELLS[0]] = 0
    f = tmp_path / "pop.csv"
    f.write_text("LSOA Code,All usual residents population\n" + "".join(f'{c},"{v:,}"\n' for c, v in pop.items()))
    want = full(recount()) / pd.Series(pop).reindex(ALL_CELLS) * 1000
    want[ALL_CELLS[0]] = np.nan
    for population in (pop, f, str(f)):
        got = service.counts(**where(tiny_store, geo), population=population)
        np.testing.assert_allclose(by_unit(got, "rate_per_1000"), want)
        np.testing.assert_allclose(by_unit(got, "population"), pd.Series(pop).reindex(ALL_CELLS).astype(float))


def test_read_population_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage\x00")
    with pytest.raises(SaferhubError, match="not a readable CSV"):
        service.read_population(bad)
    cols = tmp_path / "cols.csv"
    cols.write_text("area,people\nE01,5\n")
    with pytest.raises(SaferhubError, match="need an LSOA code column and a population column"):
        service.read_population(cols)
    with pytest.raises(SaferhubError, match="not a readable CSV"):
        service.read_population(tmp_path / "missing.csv")
    ok = tmp_path / "ok.csv"
    ok.write_text("LSOA11 code,Persons\nE01000001,\"1,500\"\nE01000002,12\n")
    assert service.read_population(ok) == {"E01000001": 1500, "E01000002": 12}
    ok.write_text("\ufefflsoa code,Population\nE01000001,x\n")   # a BOM, and a value that is no number
    assert np.isnan(service.read_population(ok)["E01000001"])
    ok.write_text("LSOA code,Residents\nE01000003,7\n")
    assert service.read_population(ok) == {"E01000003": 7}


def test_events_given_are_filtered_by_months_and_categories(geo):
    ev = EVENTS[["x", "y", "month", "category"]].copy()
    got = service.counts(ev, months="2020-05:2020-07", categories="Anti-social behaviour", area=AREA,
                         cell_size=CS, geo_dir=geo)
    np.testing.assert_array_equal(by_unit(got, "count"), full(recount(months("2020-05", "2020-07"),
                                                                       ["Anti-social behaviour"])))
    with pytest.raises(SaferhubError, match="none of the events given matches"):
        service.counts(ev, months="2019-01:2019-02", area=AREA, cell_size=CS, geo_dir=geo)


# --- KDE ----------------------------------------------------------------------------------------

def brute_kde(ev: pd.DataFrame, h: float, weight=None) -> pd.Series:
    """Quartic KDE per km² at each cell centre, events taken at their cell's centre (the grid
    estimate), summed by hand."""
    cx = ev["cell"].str.extract(r"E(\d+)N(\d+)").astype(float).to_numpy() + CS / 2
    w = np.ones(len(ev)) if weight is None else np.asarray(weight, float)
    out = {}
    for c in ALL_CELLS:
        x, y = (float(v) + CS / 2 for v in c[1:].split("N"))
        u2 = ((cx[:, 0] - x) ** 2 + (cx[:, 1] - y) ** 2) / h**2
        k = np.where(u2 < 1, 3 / (np.pi * h * h) * (1 - u2) ** 2, 0.0)
        out[c] = (w * k).sum() * 1e6
    return pd.Series(out).reindex(ALL_CELLS)


def _inside(ev):
    return ev[ev["inside"]]


def test_kde_is_the_quartic_sum_with_the_bandwidth_and_harm_asked(tiny_store, geo):  # noqa: F811
    ev = _inside(EVENTS[EVENTS["month"] >= "2020-07"])
    for bw in (400.0, 900.0):
        got = service.kde(**where(tiny_store, geo, months="2020-07:2020-12"), bandwidth=bw)
        np.testing.assert_allclose(by_unit(got, "density_km2"), brute_kde(ev, bw), rtol=1e-9, atol=1e-9)
        p = got.attrs["params"]
        assert p["bandwidth_m"] == bw and p["kernel"] == "quartic" and p["adaptive_k"] is None
        assert p["measure"] == "count" and not any("default bandwidth" in n for n in p["notes"])
    v2 = weights("cchi-category-v2")
    got = service.kde(**where(tiny_store, geo, months="2020-07:2020-12"), bandwidth=600, harm=True)
    np.testing.assert_allclose(by_unit(got, "density_km2"), brute_kde(ev, 600, ev["category"].map(v2)), rtol=1e-9)
    assert got.attrs["params"]["measure"] == "harm" and got.attrs["params"]["harm_weights"] == "default"
    np.testing.assert_allclose(by_unit(got, "harm"), full(recount(months("2020-07", "2020-12"), None, v2)))


def test_kde_default_bandwidth_is_three_cells_and_said(tiny_store, geo):  # noqa: F811
    got = service.kde(**where(tiny_store, geo))
    np.testing.assert_allclose(by_unit(got, "density_km2"), brute_kde(_inside(EVENTS), 3 * CS), rtol=1e-9)
    p = got.attrs["params"]
    assert p["bandwidth_m"] == 750.0
    assert "default bandwidth 750 m: three cells (override with --bandwidth)" in p["notes"]
    ad = service.kde(**where(tiny_store, geo), adaptive_k=5)
    pa = ad.attrs["params"]
    assert pa["bandwidth_m"] is None and pa["adaptive_k"] == 5
    assert not any("default bandwidth" in n for n in pa["notes"])
    g = service.kde(**where(tiny_store, geo), kernel="gaussian", bandwidth=300)
    assert g.attrs["params"]["kernel"] == "gaussian"
    assert not np.allclose(by_unit(g, "density_km2"), brute_kde(_inside(EVENTS), 300), rtol=0.05)


def test_dual_kde_before_a_period_of_another_length_is_rescaled(tiny_store, geo):  # noqa: F811
    """after = Oct-Dec (3 months), before = Jan-Jun (6 months): before's density x 3/6."""
    got = service.kde(**where(tiny_store, geo, months="2020-10:2020-12", categories="grip"), bandwidth=500,
                      before="2020-01:2020-06")
    grip = GRIP_ORDER
    a_ev = _inside(EVENTS[EVENTS["month"].between("2020-10", "2020-12") & EVENTS["category"].isin(grip)])
    b_ev = _inside(EVENTS[EVENTS["month"].between("2020-01", "2020-06") & EVENTS["category"].isin(grip)])
    a, b = brute_kde(a_ev, 500), brute_kde(b_ev, 500) * 3 / 6
    np.testing.assert_allclose(by_unit(got, "density_a_km2"), a, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(by_unit(got, "density_b_km2"), b, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(by_unit(got, "difference_km2"), a - b, rtol=1e-9, atol=1e-6)
    np.testing.assert_array_equal(by_unit(got, "count"), full(recount(months("2020-10", "2020-12"), grip)))
    p = got.attrs["params"]
    assert p["before"] == "2020-01..2020-06" and p["before_scale"] == "3/6 months"
    assert p["months"] == "2020-10..2020-12" and p["method"] == "kde" and p["measure"] == "count"
    assert "versus" not in p and p["bandwidth_m"] == 500
    # before without categories takes the after period's categories present
    got2 = service.kde(**where(tiny_store, geo, months="2020-10:2020-12"), bandwidth=500, before="2020-02:2020-03")
    b2 = brute_kde(_inside(EVENTS[EVENTS["month"].between("2020-02", "2020-03")]), 500) * 3 / 2
    np.testing.assert_allclose(by_unit(got2, "density_b_km2"), b2, rtol=1e-9, atol=1e-9)
    assert got2.attrs["params"]["before_scale"] == "3/2 months"


def test_dual_kde_versus_other_categories_in_the_same_months(tiny_store, geo):  # noqa: F811
    got = service.kde(**where(tiny_store, geo, months="2020-04:2020-09", categories="Robbery"), bandwidth=500,
                      versus="Shoplifting,Burglary")
    window = EVENTS["month"].between("2020-04", "2020-09")
    a = brute_kde(_inside(EVENTS[window & (EVENTS["category"] == "Robbery")]), 500)
    b = brute_kde(_inside(EVENTS[window & EVENTS["category"].isin(["Shoplifting", "Burglary"])]), 500)
    np.testing.assert_allclose(by_unit(got, "density_a_km2"), a, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(by_unit(got, "density_b_km2"), b, rtol=1e-9, atol=1e-9)
    r = by_unit(got, "ratio")
    np.testing.assert_allclose(r[b > 0], (a / b)[b > 0], rtol=1e-9)
    p = got.attrs["params"]
    assert p["versus"] == "Burglary, Shoplifting" and "before" not in p and "before_scale" not in p
    # no months asked: the versus events come from the months the first set spans
    got = service.kde(**where(tiny_store, geo, categories="Robbery"), bandwidth=500, versus="Burglary")
    np.testing.assert_allclose(by_unit(got, "density_b_km2"),
                               brute_kde(_inside(EVENTS[EVENTS["category"] == "Burglary"]), 500), rtol=1e-9, atol=1e-9)


def test_dual_kde_before_given_as_events(geo):
    ev = EVENTS[["x", "y", "month", "category"]]
    after, before = ev[ev["month"] >= "2020-09"], ev[ev["month"] <= "2020-02"]
    got = service.kde(after, before=before, bandwidth=500, area=AREA, cell_size=CS, geo_dir=geo)
    b = brute_kde(_inside(EVENTS[EVENTS["month"] <= "2020-02"]), 500) * 4 / 2
    np.testing.assert_allclose(by_unit(got, "density_b_km2"), b, rtol=1e-9, atol=1e-9)
    assert got.attrs["params"]["before_scale"] == "4/2 months"
    outside = EVENTS[~EVENTS["inside"]][["x", "y", "month", "category"]]
    with pytest.raises(SaferhubError, match="^no before events in the study area$"):
        service.kde(after, before=outside, bandwidth=500, area=AREA, cell_size=CS, geo_dir=geo)


def test_kde_refuses_what_it_cannot_do(tiny_store, geo):  # noqa: F811
    with pytest.raises(SaferhubError, match=r"^a dual KDE compares with --before OR --versus, not both$"):
        service.kde(**where(tiny_store, geo), before="2020-01:2020-02", versus="Robbery")
    for kw in ({"adaptive_k": 5}, {"harm": True}):
        for other in ({"before": "2020-01:2020-02"}, {"versus": "Robbery"}):
            with pytest.raises(SaferhubError, match=r"^a dual KDE \(--before/--versus\) uses a fixed bandwidth "
                                                    r"and counts; drop --adaptive-k/--harm$"):
                service.kde(**where(tiny_store, geo), **kw, **other)
    with pytest.raises(SaferhubError, match=r"^KDE is computed on a square grid \(--units grid\)$"):
        service.kde(**where(tiny_store, geo), units="hex")
    with pytest.raises(SaferhubError, match=r"^the before events: no located events match"):
        service.kde(**where(tiny_store, geo, months="2020-10:2020-12"), before="2019-01:2019-03")
    with pytest.raises(SaferhubError, match=r"^the versus events: no located events match"):
        service.kde(**where(tiny_store, geo, months="2020-10:2020-12"), versus="Bicycle theft")


# --- Gi* ----------------------------------------------------------------------------------------

def brute_gistar(values: pd.Series) -> pd.Series:
    """Getis-Ord Gi* (focal cell included, binary weights over one ring) by its formula."""
    xs = values.reindex(ALL_CELLS).to_numpy(float)
    n = len(xs)
    mean, s = xs.mean(), np.sqrt((xs**2).mean() - xs.mean() ** 2)
    pos = {c: (int(c[1:].split("N")[0]), int(c.split("N")[1])) for c in ALL_CELLS}
    z = {}
    for c, (x, y) in pos.items():
        w = np.array([abs(px - x) <= CS and abs(py - y) <= CS for px, py in pos.values()], float)
        num = (w * xs).sum() - mean * w.sum()
        den = s * np.sqrt((n * (w**2).sum() - w.sum() ** 2) / (n - 1))
        z[c] = num / den
    return pd.Series(z)


def test_gistar_on_counts_and_on_harm(tiny_store, geo):  # noqa: F811
    got = service.gistar(**where(tiny_store, geo, months="2020-07:2020-12"), correction="none")
    c = full(recount(months("2020-07", "2020-12")))
    z = brute_gistar(c)
    np.testing.assert_allclose(by_unit(got, "z"), z.reindex(ALL_CELLS), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(by_unit(got, "p"), 2 * stats.norm.sf(np.abs(z.reindex(ALL_CELLS))), rtol=1e-6)
    np.testing.assert_allclose(by_unit(got, "p_adj"), by_unit(got, "p"))         # correction none
    np.testing.assert_array_equal(by_unit(got, "count"), c)
    nb = by_unit(got, "n_neighbours").to_numpy()
    assert sorted(set(nb)) == [4, 6, 9] or sorted(set(nb)) == [3, 5, 8]          # corners, edges, interior
    assert "harm" not in got and "p_sim" not in got
    assert got.loc[got["unit_id"] == f"E{HOT[0]}N{HOT[1]}", "gi_bin"].item() > 0  # the late hot cell
    from saferhub.hotspots.words import HOT_LABELS
    assert all(w == HOT_LABELS[b] for w, b, n in zip(got["hot_class"], got["gi_bin"], got["count"]) if n > 0 or b <= 0)
    p = got.attrs["params"]
    assert p["method"] == "gistar" and p["correction"] == "none" and p["permutations"] is None
    assert p["seed"] is None and p["neighbours"].startswith("1 ring(s) of neighbouring cells")
    v2 = weights("cchi-category-v2")
    gh = service.gistar(**where(tiny_store, geo, months="2020-07:2020-12"), harm=True, correction="none")
    h = full(recount(months("2020-07", "2020-12"), None, v2))
    np.testing.assert_allclose(by_unit(gh, "z"), brute_gistar(h).reindex(ALL_CELLS), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(by_unit(gh, "harm"), h)
    np.testing.assert_array_equal(by_unit(gh, "count"), c)
    assert gh.attrs["params"]["measure"] == "harm"


def test_gistar_passes_its_options_through(tiny_store, geo):  # noqa: F811
    got = service.gistar(**where(tiny_store, geo), distance=600, correction="holm", permutations=19, seed=7)
    p = got.attrs["params"]
    assert p["neighbours"].startswith("distance band 600 m") and p["correction"] == "holm"
    assert p["permutations"] == 19 and p["seed"] == 7
    ps = got["p_sim"].to_numpy()
    assert ((ps >= 1 / 20) & (ps <= 1)).all()
    nb = by_unit(got, "n_neighbours").to_numpy()
    assert nb.max() > 9                                   # 600 m reaches beyond one ring of 250 m cells
    raw = got["p"].to_numpy()
    m = len(raw)
    order = np.argsort(raw)
    holm = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * raw[order]))
    want = np.empty(m)
    want[order] = holm
    np.testing.assert_allclose(got["p_adj"].to_numpy(), want, rtol=1e-9)
    r2 = service.gistar(**where(tiny_store, geo), rings=2)
    assert r2.attrs["params"]["neighbours"].startswith("2 ring(s)") and by_unit(r2, "n_neighbours").max() == 25


def test_hot_words_name_empty_hot_cells():
    got = service.hot_words(np.array([3, 2, 1, 3, 0, -2]), np.array([0, 0, 0, 4, 0, 0]))
    assert list(got) == ["Beside a hot spot (no crime in the cell), 99% confidence",
                         "Beside a hot spot (no crime in the cell), 95% confidence",
                         "Beside a hot spot (no crime in the cell), 90% confidence",
                         "Hot spot, 99% confidence", "Not significant", "Cold spot, 95% confidence"]


# --- emerging, change, concentration ------------------------------------------------------------

def test_emerging_counts_months_and_harm(tiny_store, geo):  # noqa: F811
    got = service.emerging(**where(tiny_store, geo, months="2020-04:2020-12"), time_lags=0, correction="none")
    np.testing.assert_array_equal(by_unit(got, "count"), full(recount(months("2020-04", "2020-12"))))
    p = got.attrs["params"]
    assert p["first_month"] == "2020-04" and p["time_lags"] == 0 and p["correction"] == "none"
    assert p["months"] == "2020-04..2020-12" and p["neighbours"].startswith("1 ring(s)")
    # the sparkline trends: mean count per month over the cells of each pattern, 9 months long
    cats = got["category"].to_numpy()
    per_month = pd.crosstab(_inside(EVENTS[EVENTS["month"] >= "2020-04"])["cell"],
                            EVENTS["month"]).reindex(index=ALL_CELLS, columns=months("2020-04", "2020-12"), fill_value=0)
    for lab, series in p["trends"].items():
        cells = by_unit(got, "category").index[by_unit(got, "category").to_numpy() == lab]
        np.testing.assert_allclose(series, per_month.loc[cells].mean(axis=0).to_numpy())
    assert sum(int((cats == k).sum()) for k in p["trends"]) == 64
    v2 = weights("cchi-category-v2")
    gh = service.emerging(**where(tiny_store, geo, months="2020-04:2020-12"), harm=True, time_lags=2)
    np.testing.assert_allclose(by_unit(gh, "harm"), full(recount(months("2020-04", "2020-12"), None, v2)))
    assert "count" in gh and gh.attrs["params"]["time_lags"] == 2 and gh.attrs["params"]["measure"] == "harm"
    assert gh.attrs["params"]["correction"] == "fdr"


def test_emerging_refuses_too_few_months_and_negative_lags(tiny_store, geo):  # noqa: F811
    with pytest.raises(SaferhubError, match=r"^emerging hot spots need at least 3 months \(--months\)$"):
        service.emerging(**where(tiny_store, geo, months="2020-04:2020-05"))
    service.emerging(**where(tiny_store, geo, months="2020-04:2020-06"), time_lags=0)  # 3 months is enough
    with pytest.raises(SaferhubError, match=r"^--time-lags must be 0 or more$"):
        service.emerging(**where(tiny_store, geo), time_lags=-1)


def test_change_counts_the_two_periods_and_tests_with_the_length_ratio(tiny_store, geo):  # noqa: F811
    got = service.change(**where(tiny_store, geo, months="2020-10:2020-12"), before="2020-01:2020-06",
                         correction="none")
    a, b = full(recount(months("2020-01", "2020-06"))), full(recount(months("2020-10", "2020-12")))
    np.testing.assert_array_equal(by_unit(got, "before"), a)
    np.testing.assert_array_equal(by_unit(got, "after"), b)
    # the exact conditional test: given n = a + b, b ~ Binomial(n, r / (1 + r)), r = 3/6
    pr = 0.5 / 1.5
    for c in (f"E{HOT[0]}N{HOT[1]}", f"E{X0}N{Y0 + 7 * CS}"):
        n, k = int(a[c] + b[c]), int(b[c])
        want = min(1.0, 2 * min(stats.binom.cdf(k, n, pr), stats.binom.sf(k - 1, n, pr)))
        assert by_unit(got, "change_p")[c] == pytest.approx(want, rel=1e-9)
        # not the test with equal periods (the length ratio ignored)
        assert want != pytest.approx(min(1.0, 2 * min(stats.binom.cdf(k, n, 0.5), stats.binom.sf(k - 1, n, 0.5))))
    assert by_unit(got, "direction")[f"E{HOT[0]}N{HOT[1]}"] == 1
    assert by_unit(got, "direction")[f"E{X0}N{Y0 + 7 * CS}"] == -1
    p = got.attrs["params"]
    assert p["before"] == "2020-01..2020-06" and p["length_ratio"] == "3/6 months"
    assert p["before_events"] == int(a.sum()) and p["correction"] == "none" and p["events"] == int(b.sum())
    v2 = weights("cchi-category-v2")
    gh = service.change(**where(tiny_store, geo, months="2020-10:2020-12"), before="2020-01:2020-06", harm=True,
                        correction="none")
    ha, hb = (full(recount(months(*m), None, v2)) for m in (("2020-01", "2020-06"), ("2020-10", "2020-12")))
    ha2, hb2 = (full(recount(months(*m), None, {k: v * v for k, v in v2.items()}))
                for m in (("2020-01", "2020-06"), ("2020-10", "2020-12")))
    np.testing.assert_allclose(by_unit(gh, "harm"), hb)
    np.testing.assert_allclose(by_unit(gh, "before"), ha)
    z = (hb - 0.5 * ha) / np.sqrt(hb2 + 0.25 * ha2)
    ok = (ha + hb) > 0
    np.testing.assert_allclose(by_unit(gh, "change_z")[ok], z[ok], rtol=1e-9)
    with pytest.raises(SaferhubError, match=r"^--method change needs --before PERIOD \(and --months for the after period\)$"):
        service.change(**where(tiny_store, geo), before=None)


def test_concentration_summary_and_lorenz(tiny_store, geo):  # noqa: F811
    got = service.concentration(**where(tiny_store, geo, months="2020-01:2020-06"))
    c = full(recount(months("2020-01", "2020-06"))).to_numpy()
    h = full(recount(months("2020-01", "2020-06"), None, weights("cchi-category-v2"))).to_numpy()

    def gini(v):
        return np.abs(v[:, None] - v[None, :]).sum() / (2 * len(v) ** 2 * v.mean())

    s = got.attrs["summary"].set_index("measure")
    assert s.loc["Gini", "crime"] == pytest.approx(gini(c), rel=1e-9)
    assert s.loc["Gini", "harm"] == pytest.approx(gini(h), rel=1e-9)
    assert pd.isna(s.loc["generalized Gini", "harm"]) if "generalized Gini" in s.index else True
    lor = got.attrs["lorenz"]
    for key, v in (("crime", c), ("harm", h)):
        units, total = (np.asarray(x) for x in lor[key])
        asc = np.sort(v)
        np.testing.assert_allclose(units, np.arange(65) / 64)
        np.testing.assert_allclose(total, np.r_[0, np.cumsum(asc)] / asc.sum(), atol=1e-12)
    p = got.attrs["params"]
    assert p["method"] == "concentration" and p["measure"] == "harm" and p["harm_weights"] == "default"
    np.testing.assert_allclose(by_unit(got, "harm"), h)


# --- near repeat ---------------------------------------------------------------------------------

def test_knox_table_counts_close_pairs_by_hand():
    ev = EVENTS[["x", "y", "month", "category"]].copy()
    got = service.near_repeat(ev, space_bands="0,200,500", time_bands="0,1,2", permutations=9, seed=1)
    x, y = ev["x"].to_numpy(), ev["y"].to_numpy()
    t = (pd.to_datetime(ev["month"]).dt.year * 12 + pd.to_datetime(ev["month"]).dt.month).to_numpy()
    i, j = np.triu_indices(len(ev), 1)
    d, dt_ = np.hypot(x[i] - x[j], y[i] - y[j]), np.abs(t[i] - t[j])
    sp = np.digitize(d, [0, 200, 500], right=True)    # 0: same place, 1: (0,200], 2: (200,500]
    tm = np.digitize(dt_, [0, 1, 2], right=True)
    obs = got["observed"].to_numpy().reshape(4, 4)  # the last row and column: beyond the bands
    for a in range(4):
        for b in range(4):
            assert obs[a, b] == int(((sp == a) & (tm == b)).sum()), (a, b)
    p = got.attrs["params"]
    assert p["events"] == len(ev) and p["time_unit"] == "months" and p["permutations"] == 9 and p["seed"] == 1
    assert p["space_bands_m"] == "0,200,500" and p["time_bands"] == "0,1,2" and p["notes"] == []
    assert p["categories"] == GRIP_ORDER + ["Burglary", "Shoplifting"] and p["categories_asked"] == "all"
    assert p["months"] == "2020-01..2020-12" and p["method"] == "near repeat (Knox test)"
    assert got.attrs["knox"].n_events == len(ev)


def test_knox_in_days_from_timestamps_and_its_errors():
    ev = EVENTS[["x", "y", "month", "category"]].copy().reset_index(drop=True)
    day = pd.to_datetime(ev["month"]) + pd.to_timedelta(np.arange(len(ev)) % 28, unit="D") + pd.Timedelta(hours=23)
    ev["occurred_at"] = day.dt.tz_localize("UTC")
    ev.loc[:9, "occurred_at"] = pd.NaT                         # ten without a timestamp: left out, said
    got = service.near_repeat(ev, space_bands="0,300", time_bands="0,7", time_unit="days", permutations=3, seed=2)
    keep = ev["occurred_at"].notna().to_numpy()
    x, y = ev["x"].to_numpy()[keep], ev["y"].to_numpy()[keep]
    t = (day[keep] - pd.Timestamp(0)).dt.days.to_numpy()
    i, j = np.triu_indices(keep.sum(), 1)
    d, dt_ = np.hypot(x[i] - x[j], y[i] - y[j]), np.abs(t[i] - t[j])
    assert got["observed"].to_numpy().reshape(3, 3)[1, 1] == int(((d > 0) & (d <= 300) & (dt_ > 0) & (dt_ <= 7)).sum())
    assert got.attrs["params"]["notes"] == ["leaving out 10 events without a timestamp"]
    assert got.attrs["params"]["events"] == keep.sum() and got.attrs["params"]["time_unit"] == "days"
    hours = service.near_repeat(ev, space_bands="0,300", time_bands="0,24", time_unit="hours", permutations=3, seed=2)
    assert hours.attrs["params"]["time_unit"] == "hours"
    assert hours["observed"].to_numpy().reshape(3, 3)[1, 1] == int(((d > 0) & (d <= 300) & (dt_ > 0) & (dt_ <= 1)).sum())
    plain = EVENTS[["x", "y", "month", "category"]]
    with pytest.raises(SaferhubError, match=r"^--time-unit days needs timestamped events \(police.uk rows only have months\)$"):
        service.near_repeat(plain, time_unit="days")
    with pytest.raises(SaferhubError, match=r"^--time-unit must be months, days or hours$"):
        service.near_repeat(plain, time_unit="weeks")
    with pytest.raises(SaferhubError, match=r"^--permutations must be at least 1$"):
        service.near_repeat(plain, permutations=0)
    service.near_repeat(plain, permutations=1, space_bands="0,100", time_bands="0,1")


def test_knox_reads_the_store_with_months_and_categories(tiny_store):  # noqa: F811
    got = service.near_repeat(store=tiny_store, months="2020-10:2020-12", categories="Robbery,Violence and sexual offences",
                              space_bands="0,250", time_bands="0,1", permutations=3, seed=3, drop_strays=True)
    sel = EVENTS[EVENTS["month"].between("2020-10", "2020-12") & EVENTS["category"].isin(GRIP_ORDER[:2])]
    p = got.attrs["params"]
    assert p["events"] == len(sel) and p["categories"] == ["Robbery", "Violence and sexual offences"]
    assert p["categories_asked"] == "Robbery, Violence and sexual offences" and p["months"] == "2020-10..2020-12"
