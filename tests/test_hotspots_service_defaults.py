"""The hotspot verbs' defaults and stated parameters (issue 26, third file of the tiny store's
tests): change's default correction (Benjamini-Hochberg, recomputed here) and alpha (0.05), the
method and measure each verb states, and the population reader's column rules and errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tiny_hotspot_store import AREA, CS, MONTHS, X0, Y0, recount, tiny_store  # noqa: F401

from saferhub.errors import SaferhubError
from saferhub.hotspots import service

ALL_CELLS = [f"E{X0 + CS * i}N{Y0 + CS * j}" for i in range(8) for j in range(8)]


def by_unit(gdf, column) -> pd.Series:
    return pd.Series(gdf[column].to_numpy(), index=gdf["unit_id"].to_numpy()).reindex(ALL_CELLS)


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, by their definition."""
    m = len(p)
    order = np.argsort(p)
    q = np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1)
    return out


def test_change_defaults_fdr_and_alpha_and_states_what_it_did(tiny_store, tmp_path):  # noqa: F811
    got = service.change(store=tiny_store, months="2020-07:2020-12", before="2020-01:2020-06", area=AREA,
                         cell_size=CS, geo_dir=tmp_path)
    a = recount(MONTHS[:6]).reindex(ALL_CELLS, fill_value=0).to_numpy()
    b = recount(MONTHS[6:]).reindex(ALL_CELLS, fill_value=0).to_numpy()
    n = a + b
    p = np.where(n > 0, np.minimum(1, 2 * np.minimum(stats.binom.cdf(b, n, 0.5), stats.binom.sf(b - 1, n, 0.5))), 1.0)
    np.testing.assert_allclose(by_unit(got, "change_p"), p, rtol=1e-9)
    q = bh(p)
    np.testing.assert_allclose(by_unit(got, "change_p_adj"), q, rtol=1e-9)
    want = np.where(q <= 0.05, np.sign(b - a), 0)
    np.testing.assert_array_equal(by_unit(got, "direction"), want)
    assert (want != 0).any() and ((q > 0.05) & (b != a)).any()      # both kinds of cell are here
    pr = got.attrs["params"]
    assert pr["method"] == "change" and pr["measure"] == "count" and pr["correction"] == "fdr"
    assert pr["length_ratio"] == "6/6 months"
    h = service.change(store=tiny_store, months="2020-07:2020-12", before="2020-01:2020-06", area=AREA,
                       cell_size=CS, geo_dir=tmp_path, alpha=1.0)
    np.testing.assert_array_equal(by_unit(h, "direction"), np.where(q <= 1.0, np.sign(b - a), 0))
    assert (h["direction"] != 0).sum() > (got["direction"] != 0).sum()   # a looser alpha flags more cells
    hh = service.change(store=tiny_store, months="2020-07:2020-12", before="2020-01:2020-06", area=AREA,
                        cell_size=CS, geo_dir=tmp_path, harm=True)
    assert hh.attrs["params"]["measure"] == "harm" and hh.attrs["params"]["method"] == "change"


def test_every_verb_states_its_method_and_measure(tiny_store, tmp_path):  # noqa: F811
    kw = {"store": tiny_store, "area": AREA, "cell_size": CS, "geo_dir": tmp_path}
    for verb, method, extra in (("counts", "count", {}), ("kde", "kde", {"bandwidth": 500}), ("gistar", "gistar", {}),
                                ("emerging", "emerging", {})):
        for harm in (False, True):
            p = getattr(service, verb)(**kw, **extra, harm=harm).attrs["params"]
            assert (p["method"], p["measure"]) == (method, "harm" if harm else "count"), (verb, harm)
            assert p["harm_weights"] == ("default" if harm else None)
    p = service.concentration(**kw).attrs["params"]
    assert (p["method"], p["measure"]) == ("concentration", "harm")


def test_population_columns_and_errors(tmp_path):
    f = tmp_path / "pop.csv"
    f.write_text("LSOA name,LSOA code,Population\nLiverpool 001A,E01000001,1500\n")
    assert service.read_population(f) == {"E01000001": 1500}          # the code column, not the name
    f.write_text("\ufeffPersons,LSOA code\n1200,E01000002\n")            # Excel's BOM before the first name
    assert service.read_population(f) == {"E01000002": 1200}
    f.write_text("Residents,lsoa11 code\n7,E01000003\n")
    assert service.read_population(f) == {"E01000003": 7}
    for text in ("LSOA code,people\nE01,5\n", "area,Population\nE01,5\n"):
        f.write_text(text)
        with pytest.raises(SaferhubError, match="^" + re.escape(f"{f}: need an LSOA code column and a population column")):
            service.read_population(f)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage\x00")
    with pytest.raises(SaferhubError, match="^" + re.escape(f"{bad}: not a readable CSV (")):
        service.read_population(bad)


def test_documented_defaults_of_gistar_emerging_and_kde(tiny_store, tmp_path):  # noqa: F811
    """A verb called without an option gives the answer of the documented default, and that
    option changes the answer (so a different default could not pass)."""
    kw = {"store": tiny_store, "area": AREA, "cell_size": CS, "geo_dir": tmp_path, "months": "2020-04:2020-12"}
    g = service.gistar(**kw)
    p = g.attrs["params"]
    assert p["correction"] == "fdr" and p["permutations"] is None and p["seed"] is None
    assert p["neighbours"].startswith("1 ring(s)") and "p_sim" not in g
    np.testing.assert_allclose(g["p_adj"], bh(g["p"].to_numpy()), rtol=1e-9)
    e = service.emerging(**kw)
    pe = e.attrs["params"]
    assert pe["time_lags"] == 1 and pe["correction"] == "fdr" and pe["neighbours"].startswith("1 ring(s)")
    explicit = service.emerging(**kw, time_lags=1, alpha=0.05, rings=1, correction="fdr")
    assert (e["category"] == explicit["category"]).all()
    np.testing.assert_allclose(e["mk_z"].fillna(0), explicit["mk_z"].fillna(0))
    loose = service.emerging(**kw, time_lags=1, alpha=0.5)
    assert (loose["hot_slices"] > e["hot_slices"]).any()
    lag2 = service.emerging(**kw, time_lags=2)
    assert not np.allclose(lag2["mk_z"].fillna(0), e["mk_z"].fillna(0))
    k = service.kde(**kw, bandwidth=500)
    assert k.attrs["params"]["kernel"] == "quartic" and k.attrs["params"]["adaptive_k"] is None
    np.testing.assert_allclose(k["density_km2"], service.kde(**kw, bandwidth=500, kernel="quartic")["density_km2"])


def test_adaptive_kde_uses_per_event_bandwidths(tiny_store, tmp_path):  # noqa: F811
    """--adaptive-k reaches the estimator: the surface differs from the fixed default bandwidth's
    and from another k's, and still holds (nearly) every event's mass."""
    kw = {"store": tiny_store, "area": AREA, "cell_size": CS, "geo_dir": tmp_path}
    fixed = service.kde(**kw)["density_km2"].to_numpy()
    k3 = service.kde(**kw, adaptive_k=3)["density_km2"].to_numpy()
    k12 = service.kde(**kw, adaptive_k=12)["density_km2"].to_numpy()
    assert not np.allclose(k3, fixed, rtol=0.05) and not np.allclose(k3, k12, rtol=0.05)
    n = int(recount().sum())
    assert k3.sum() * (CS / 1000) ** 2 == pytest.approx(n, rel=0.25)
