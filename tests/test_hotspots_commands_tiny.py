"""The hotspot CLI (saferhub.hotspots.commands) passes every option through to the verb: checked on
the files it writes, against independent recounts of the tiny store's placed events
(tiny_hotspot_store.EVENTS), with option values under which a dropped or swapped option gives a
different file (issue 26: the KDE branch ignoring --bandwidth and --harm). Each test runs the CLI
itself; ~1 s each."""

from __future__ import annotations

import csv
import json
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from tiny_hotspot_store import AREA, CS, EVENTS, HOT, MONTHS, X0, Y0, recount, tiny_store  # noqa: F401
from typer.testing import CliRunner

from saferhub.errors import SaferhubError

ALL_CELLS = [f"E{X0 + CS * i}N{Y0 + CS * j}" for i in range(8) for j in range(8)]
INSIDE = EVENTS[EVENTS["inside"]]


def weights(version: str) -> dict[str, float]:
    text = (resources.files("saferhub") / "harm_weights" / f"{version}.csv").read_text()
    return {r["category"]: float(r["weight"]) for r in csv.DictReader(text.splitlines())}


@pytest.fixture
def files(tmp_path):
    """The study area as a GeoPackage, and a geo folder with two wards (west and east halves)."""
    area = tmp_path / "area.gpkg"
    gpd.GeoDataFrame({"name": ["tiny"]}, geometry=[AREA], crs=27700).to_file(area)
    geo = tmp_path / "geo"
    (geo / "uk-geojson" / "wards_by_lad").mkdir(parents=True)
    halves = [shapely.box(X0, Y0, X0 + 1000, Y0 + 2000), shapely.box(X0 + 1000, Y0, X0 + 2000, Y0 + 2000)]
    gpd.GeoDataFrame({"WD13CD": ["W1", "W2"], "WD13NM": ["West Ward", "East Ward"]}, geometry=halves,
                     crs=27700).to_crs(4326).to_file(geo / "uk-geojson" / "wards_by_lad" / "wards.json",
                                                     driver="GeoJSON")
    return {"area": area, "geo": geo, "dir": tmp_path}


def run(store, files, *args, method=None, out="out.csv", area=True):
    from saferhub.cli import app

    argv = ["hotspots", *(["--method", method] if method else []), "--store", str(store), "--geo-dir",
            str(files["geo"]), *(["--area", str(files["area"])] if area else []), *args]
    if out:
        argv += ["--out", str(files["dir"] / out)]
    res = CliRunner().invoke(app, argv)
    return res


def table(files, name="out.csv") -> pd.DataFrame:
    return pd.read_csv(files["dir"] / name).set_index("unit_id")


def ok(res):
    assert res.exit_code == 0, (res.output, res.exception)
    return res


def full(s: pd.Series) -> pd.Series:
    return s.reindex(ALL_CELLS, fill_value=0.0)


def brute_kde(ev: pd.DataFrame, h: float, weight=None) -> pd.Series:
    """Quartic KDE per km² at each cell centre, events at their cell's centre, summed by hand."""
    cx = ev["cell"].str.extract(r"E(\d+)N(\d+)").astype(float).to_numpy() + CS / 2
    w = np.ones(len(ev)) if weight is None else np.asarray(weight, float)
    out = {}
    for c in ALL_CELLS:
        x, y = (float(v) + CS / 2 for v in c[1:].split("N"))
        u2 = ((cx[:, 0] - x) ** 2 + (cx[:, 1] - y) ** 2) / h**2
        out[c] = (w * np.where(u2 < 1, 3 / (np.pi * h * h) * (1 - u2) ** 2, 0.0)).sum() * 1e6
    return pd.Series(out)


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch):
    """Rich wraps at the terminal's width (80 under pytest): a long tmp path would be split mid-word."""
    monkeypatch.setenv("COLUMNS", "1000")


def words(res) -> str:
    return " ".join(res.output.split())


# --- hotspots --method count -----------------------------------------------------------------------

def test_count_honours_months_categories_harm_and_weights(tiny_store, files):  # noqa: F811
    res = ok(run(tiny_store, files, "--months", "2020-02:2020-05", "--categories", "Robbery,Shoplifting",
                 "--cell-size", str(CS), "--harm", "--weights", "cchi-category-v1", method="count"))
    t = table(files)
    mo = [m for m in MONTHS if "2020-02" <= m <= "2020-05"]
    np.testing.assert_array_equal(t["count"].reindex(ALL_CELLS), full(recount(mo, ["Robbery", "Shoplifting"])))
    np.testing.assert_allclose(t["harm"].reindex(ALL_CELLS),
                               full(recount(mo, ["Robbery", "Shoplifting"], weights("cchi-category-v1"))))
    # the wards of the geo folder given name the cells
    assert set(t.loc[[c for c in ALL_CELLS if int(c[1:7]) < X0 + 1000], "ward"]) == {"West Ward"}
    assert set(t.loc[[c for c in ALL_CELLS if int(c[1:7]) >= X0 + 1000], "ward"]) == {"East Ward"}
    n = int(recount(mo, ["Robbery", "Shoplifting"]).sum())
    assert f"count: 64 units -> {files['dir'] / 'out.csv'}" in words(res)
    n_out = int((~EVENTS["inside"] & EVENTS["month"].isin(mo) & EVENTS["category"].isin(["Robbery", "Shoplifting"])).sum())
    assert n_out > 0 and f"{n_out} events outside the study area left out" in words(res)
    assert n > 0


def test_count_population_rates(tiny_store, files):  # noqa: F811
    pop = {c: 50 + 5 * k for k, c in enumerate(ALL_CELLS)}
    f = files["dir"] / "pop.csv"
    f.write_text("LSOA code,Population\n" + "".join(f"{c},{v}\n" for c, v in pop.items()))
    ok(run(tiny_store, files, "--cell-size", str(CS), "--population", str(f), method="count"))
    t = table(files)
    want = full(recount()) / pd.Series(pop).reindex(ALL_CELLS) * 1000
    np.testing.assert_allclose(t["rate_per_1000"].reindex(ALL_CELLS), want)


def test_units_boundaries_and_id_column_pass_through(tiny_store, files):  # noqa: F811
    quads = files["dir"] / "quads.gpkg"
    boxes = {f"Q{i}{j}": shapely.box(X0 + 1000 * i, Y0 + 1000 * j, X0 + 1000 * (i + 1), Y0 + 1000 * (j + 1))
             for i in range(2) for j in range(2)}
    gpd.GeoDataFrame({"name": [f"quad {k}" for k in boxes], "code": list(boxes)}, geometry=list(boxes.values()),
                     crs=27700).to_file(quads)
    ok(run(tiny_store, files, "--units", "lsoa", "--boundaries", str(quads), "--id-column", "code", method="count"))
    t = table(files)
    q = "Q" + ((INSIDE["x"] - X0) // 1000).astype(int).astype(str) + ((INSIDE["y"] - Y0) // 1000).astype(int).astype(str)
    np.testing.assert_array_equal(t["count"].reindex(sorted(boxes)), q.value_counts().reindex(sorted(boxes)))


def test_units_segments_network_and_snap_pass_through(tiny_store, files):  # noqa: F811
    net = files["dir"] / "streets.gpkg"
    lines = {"S1": shapely.LineString([(X0, Y0 + 500), (X0 + 2000, Y0 + 500)]),
             "S2": shapely.LineString([(X0, Y0 + 1500), (X0 + 2000, Y0 + 1500)])}
    gpd.GeoDataFrame({"sid": list(lines)}, geometry=list(lines.values()), crs=27700).to_file(net)
    for snap in (40.5, 90.5):   # half metres: no placed event sits exactly at the snapping distance
        ok(run(tiny_store, files, "--units", "segments", "--network", str(net), "--snap", str(snap),
               "--id-column", "sid", method="count"))
        t = table(files)
        for sid, yl in (("S1", Y0 + 500), ("S2", Y0 + 1500)):
            assert t.loc[sid, "count"] == int((np.abs(INSIDE["y"] - yl) <= snap).sum()), (sid, snap)


def test_hex_units_and_strays(tiny_store, files):  # noqa: F811
    ok(run(tiny_store, files, "--units", "hex", "--cell-size", "300", method="count"))
    t = table(files)
    assert t["count"].sum() == len(INSIDE) and not t.index.isin(ALL_CELLS).any()


def test_hull_and_force_when_no_area_is_given(tiny_store, files):  # noqa: F811
    for hull in ("convex", "concave"):
        ok(run(tiny_store, files, "--cell-size", str(CS), "--hull", hull, "--drop-strays", "--report",
               str(files["dir"] / f"{hull}.html"), method="count", area=False))
        assert f"{hull} hull" in (files["dir"] / f"{hull}.html").read_text()
        assert table(files)["count"].sum() == len(EVENTS)          # every event inside its own hull
    res = run(tiny_store, files, "--force", "cleveland", method="count")
    assert isinstance(res.exception, SaferhubError) and "force cleveland" in str(res.exception)


# --- hotspots --method kde -------------------------------------------------------------------------

def test_kde_honours_bandwidth_kernel_and_harm(tiny_store, files):  # noqa: F811
    late = INSIDE[INSIDE["month"] >= "2020-07"]
    for bw in ("400", "900"):
        ok(run(tiny_store, files, "--months", "2020-07:2020-12", "--cell-size", str(CS), "--bandwidth", bw,
               method="kde"))
        np.testing.assert_allclose(table(files)["density_km2"].reindex(ALL_CELLS), brute_kde(late, float(bw)),
                                   rtol=1e-9, atol=1e-9)
    v2 = weights("cchi-category-v2")
    ok(run(tiny_store, files, "--months", "2020-07:2020-12", "--cell-size", str(CS), "--bandwidth", "600", "--harm",
           method="kde"))
    np.testing.assert_allclose(table(files)["density_km2"].reindex(ALL_CELLS),
                               brute_kde(late, 600, late["category"].map(v2)), rtol=1e-9, atol=1e-9)
    ok(run(tiny_store, files, "--months", "2020-07:2020-12", "--cell-size", str(CS), "--bandwidth", "600",
           "--kernel", "gaussian", method="kde"))
    g = table(files)["density_km2"].reindex(ALL_CELLS)
    assert not np.allclose(g, brute_kde(late, 600), rtol=0.05)
    res = ok(run(tiny_store, files, "--cell-size", str(CS), "--adaptive-k", "4", method="kde"))
    assert "default bandwidth" not in words(res)
    res = ok(run(tiny_store, files, "--cell-size", str(CS), method="kde"))
    assert "default bandwidth 750 m: three cells" in words(res)
    np.testing.assert_allclose(table(files)["density_km2"].reindex(ALL_CELLS), brute_kde(INSIDE, 750), rtol=1e-9)


def test_dual_kde_before_and_versus(tiny_store, files):  # noqa: F811
    ok(run(tiny_store, files, "--months", "2020-10:2020-12", "--before", "2020-01:2020-06", "--cell-size", str(CS),
           "--bandwidth", "500", method="kde"))
    t = table(files)
    a = brute_kde(INSIDE[INSIDE["month"] >= "2020-10"], 500)
    b = brute_kde(INSIDE[INSIDE["month"] <= "2020-06"], 500) * 3 / 6
    np.testing.assert_allclose(t["density_a_km2"].reindex(ALL_CELLS), a, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(t["density_b_km2"].reindex(ALL_CELLS), b, rtol=1e-9, atol=1e-9)
    ok(run(tiny_store, files, "--categories", "Robbery", "--versus", "Burglary", "--cell-size", str(CS),
           "--bandwidth", "500", method="kde"))
    t = table(files)
    np.testing.assert_allclose(t["density_b_km2"].reindex(ALL_CELLS),
                               brute_kde(INSIDE[INSIDE["category"] == "Burglary"], 500), rtol=1e-9, atol=1e-9)
    for bad in (("--versus", "Burglary", "--before", "2020-01:2020-02"),):
        res = run(tiny_store, files, *bad, method="kde")
        assert isinstance(res.exception, SaferhubError)
        assert str(res.exception) == "--versus is for --method kde, without --before"
    res = run(tiny_store, files, "--versus", "Burglary", method="gistar")
    assert str(res.exception) == "--versus is for --method kde, without --before"


# --- Gi*, emerging, change -------------------------------------------------------------------------

def test_gistar_options_pass_through(tiny_store, files):  # noqa: F811
    from saferhub.hotspots import gistar

    area = gpd.read_file(files["area"]).geometry.iloc[0]
    for args, kw in ((("--distance", "600", "--correction", "holm"), {"distance": 600.0, "correction": "holm"}),
                     (("--rings", "2", "--correction", "none"), {"rings": 2, "correction": "none"}),
                     (("--permutations", "19", "--seed", "5", "--harm"),
                      {"permutations": 19, "seed": 5, "harm": True})):
        res = ok(run(tiny_store, files, "--months", "2020-07:2020-12", "--cell-size", str(CS), *args,
                     method="gistar", out="gi.gpkg"))
        got = gpd.read_file(files["dir"] / "gi.gpkg").set_index("unit_id")
        want = gistar(store=tiny_store, months="2020-07:2020-12", cell_size=CS, area=area,
                      geo_dir=files["geo"], **kw).set_index("unit_id")
        np.testing.assert_allclose(got.loc[want.index, "z"], want["z"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(got.loc[want.index, "p_adj"], want["p_adj"], rtol=0, atol=1e-12)
        assert ("p_sim" in got) == ("permutations" in kw)
        if "p_sim" in got:
            np.testing.assert_allclose(got.loc[want.index, "p_sim"], want["p_sim"])
        np.testing.assert_array_equal(got.loc[want.index, "n_neighbours"], want["n_neighbours"])
        hot, cold = int((got["gi_bin"] > 0).sum()), int((got["gi_bin"] < 0).sum())
        assert f"gistar: 64 units, {hot} hot and {cold} cold -> {files['dir'] / 'gi.gpkg'}" in words(res)
    # the default method is Gi*
    ok(run(tiny_store, files, "--cell-size", str(CS)))
    assert "z" in table(files) and "gi_bin" in table(files)


def test_emerging_options_pass_through(tiny_store, files):  # noqa: F811
    from saferhub.hotspots import emerging

    area = gpd.read_file(files["area"]).geometry.iloc[0]
    for args, kw in ((("--time-lags", "0", "--correction", "none"), {"time_lags": 0, "correction": "none"}),
                     (("--time-lags", "2", "--distance", "400", "--harm"), {"time_lags": 2, "distance": 400.0,
                                                                             "harm": True}),
                     (("--rings", "2",), {"rings": 2})):
        res = ok(run(tiny_store, files, "--months", "2020-04:2020-12", "--cell-size", str(CS), *args,
                     method="emerging"))
        got = table(files)
        want = emerging(store=tiny_store, months="2020-04:2020-12", cell_size=CS, area=area, geo_dir=files["geo"],
                        **kw).set_index("unit_id")
        np.testing.assert_allclose(got.loc[want.index, "mk_z"].fillna(0), want["mk_z"].fillna(0), atol=1e-12)
        assert (got.loc[want.index, "category"] == want["category"]).all()
        n = int(want["category"].astype(str).str.contains("hot spot").sum())
        assert f"emerging: 64 units, {n} with a hot-spot pattern" in words(res)
        assert ("harm" in got) == ("harm" in kw)


def test_change_options_pass_through(tiny_store, files):  # noqa: F811
    ok(run(tiny_store, files, "--months", "2020-10:2020-12", "--before", "2020-01:2020-06", "--cell-size", str(CS),
           "--correction", "none", method="change"))
    t = table(files)
    a = full(recount([m for m in MONTHS if m <= "2020-06"]))
    b = full(recount([m for m in MONTHS if m >= "2020-10"]))
    np.testing.assert_array_equal(t["before"].reindex(ALL_CELLS), a)
    np.testing.assert_array_equal(t["after"].reindex(ALL_CELLS), b)
    np.testing.assert_allclose(t["change_p_adj"], t["change_p"])                     # --correction none
    ok(run(tiny_store, files, "--months", "2020-10:2020-12", "--before", "2020-01:2020-06", "--cell-size", str(CS),
           "--harm", method="change"))
    v2 = weights("cchi-category-v2")
    np.testing.assert_allclose(table(files)["harm"].reindex(ALL_CELLS),
                               full(recount([m for m in MONTHS if m >= "2020-10"], None, v2)))
    assert not np.allclose(table(files)["change_p_adj"], table(files)["change_p"])   # fdr by default
    res = run(tiny_store, files, "--months", "2020-10:2020-12", method="change")
    assert "needs --before PERIOD" in str(res.exception)


# --- outputs ---------------------------------------------------------------------------------------

def test_outputs_report_png_and_refusals(tiny_store, files):  # noqa: F811
    rep, png = files["dir"] / "r.html", files["dir"] / "m.png"
    res = ok(run(tiny_store, files, "--cell-size", str(CS), "--report", str(rep), "--png", str(png),
                 method="count", out=None))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and rep.read_text().lstrip().lower().startswith("<!doctype html")
    assert f"count: 64 units -> {rep}, {png}" in words(res)
    assert not (files["dir"] / "out.csv").exists()
    res = run(tiny_store, files, method="count", out=None)
    assert str(res.exception) == "nothing to write: give --out FILE, --report FILE.html and/or --png FILE.png"
    res = run(tiny_store, files, method="count", out="out.shp")
    assert str(res.exception) == (f"{files['dir'] / 'out.shp'}: unknown output format "
                                  "(use .gpkg, .geojson, .json, .parquet, .csv)")
    ok(run(tiny_store, files, "--cell-size", str(CS), method="count", out="OUT.GeoJSON"))
    gj = json.loads((files["dir"] / "OUT.GeoJSON").read_text())
    assert sum(f["properties"]["count"] for f in gj["features"]) == len(INSIDE)


def test_write_result_writes_only_what_is_asked(tiny_store, files):  # noqa: F811
    from saferhub.hotspots import commands, counts

    g = counts(store=tiny_store, cell_size=CS, area=AREA, geo_dir=files["geo"])
    out = files["dir"] / "w.parquet"
    commands.write_result(g, out)
    assert gpd.read_parquet(out)["count"].sum() == len(INSIDE)
    rep = files["dir"] / "w.html"
    commands.write_result(g, report=rep)
    assert rep.exists() and not (files["dir"] / "w.png").exists()


# --- concentration and nearrepeat ------------------------------------------------------------------

def test_concentration_command_writes_the_measures(tiny_store, files):  # noqa: F811
    from saferhub.cli import app

    out, rep = files["dir"] / "conc.csv", files["dir"] / "conc.html"
    res = CliRunner().invoke(app, ["concentration", "--store", str(tiny_store), "--geo-dir", str(files["geo"]),
                                   "--area", str(files["area"]), "--cell-size", str(CS), "--months", "2020-01:2020-06",
                                   "--categories", "grip", "--out", str(out), "--report", str(rep)])
    ok(res)
    grip = ["Violence and sexual offences", "Robbery", "Possession of weapons", "Anti-social behaviour"]
    c = full(recount([m for m in MONTHS if m <= "2020-06"], grip)).to_numpy()
    t = pd.read_csv(out).set_index("measure")
    gini = np.abs(c[:, None] - c[None, :]).sum() / (2 * len(c) ** 2 * c.mean())
    assert t.loc["Gini", "crime"] == pytest.approx(gini, rel=1e-9)
    assert rep.read_text().lstrip().lower().startswith("<!doctype html")
    w = words(res)
    assert f"Concentration over 64 grid units ({int(c.sum())} events)" in w
    assert f"{gini:,.4f}" in w


def test_cell_text():
    from saferhub.hotspots.commands import _cell_text

    assert _cell_text(float("nan")) == "n/a"
    assert _cell_text(1234.0) == "1,234" and _cell_text(-3.0) == "-3" and _cell_text(1.0) == "1"
    assert _cell_text(0.0) == "0.0000" and _cell_text(0.25) == "0.2500" and _cell_text(1234.5) == "1,234.5000"
    assert _cell_text(7) == "7" and _cell_text("Gini") == "Gini"


def test_nearrepeat_command_passes_its_options(tiny_store, files):  # noqa: F811
    from saferhub.cli import app

    out, rep = files["dir"] / "knox.csv", files["dir"] / "knox.html"
    res = CliRunner().invoke(app, ["nearrepeat", "--store", str(tiny_store), "--months", "2020-03:2020-11",
                                   "--categories", "Robbery,Burglary,Shoplifting", "--force", "merseyside",
                                   "--space-bands", "0,150,400", "--time-bands", "0,2", "--time-unit", "months",
                                   "--permutations", "9", "--seed", "11", "--drop-strays",
                                   "--out", str(out), "--report", str(rep)])
    ok(res)
    ev = EVENTS[EVENTS["month"].between("2020-03", "2020-11") & EVENTS["category"].isin(["Robbery", "Burglary", "Shoplifting"])]
    x, y = ev["x"].to_numpy(), ev["y"].to_numpy()
    t = (pd.to_datetime(ev["month"]).dt.year * 12 + pd.to_datetime(ev["month"]).dt.month).to_numpy()
    i, j = np.triu_indices(len(ev), 1)
    sp = np.digitize(np.hypot(x[i] - x[j], y[i] - y[j]), [0, 150, 400], right=True)
    tm = np.digitize(np.abs(t[i] - t[j]), [0, 2], right=True)
    got = pd.read_csv(out)
    assert got["observed"].to_numpy().reshape(4, 3).tolist() == [[int(((sp == a) & (tm == b)).sum()) for b in range(3)]
                                                                   for a in range(4)]
    assert rep.read_text().lstrip().lower().startswith("<!doctype html")
    from saferhub.hotspots import near_repeat

    want = near_repeat(store=tiny_store, months="2020-03:2020-11", categories="Robbery,Burglary,Shoplifting",
                       space_bands="0,150,400", time_bands="0,2", permutations=9, seed=11)
    np.testing.assert_allclose(got["p"], want["p"])
    np.testing.assert_allclose(got["expected"], want["expected"])
    close = int(((sp > 0) & (sp < 3)).sum()) + int((sp == 0).sum())
    assert f"Knox test: {len(ev)} events, {close} close pairs, 9 permutations" in words(res) or \
        f"Knox test: {len(ev)} events," in words(res)
    res = CliRunner().invoke(app, ["nearrepeat", "--store", str(tiny_store), "--time-unit", "days"])
    assert "needs timestamped events" in str(res.exception)


def test_concentration_command_passes_units_weights_and_force(tiny_store, files):  # noqa: F811
    """Per quadrant (--units lsoa --boundaries --id-column), harm with --weights v1; a force the
    store does not hold is refused; the table printed lists the measures in its first column."""
    from saferhub.cli import app

    quads = files["dir"] / "quads.gpkg"
    boxes = {f"Q{i}{j}": shapely.box(X0 + 1000 * i, Y0 + 1000 * j, X0 + 1000 * (i + 1), Y0 + 1000 * (j + 1))
             for i in range(2) for j in range(2)}
    gpd.GeoDataFrame({"name": [f"quad {k}" for k in boxes], "code": list(boxes)}, geometry=list(boxes.values()),
                     crs=27700).to_file(quads)
    out = files["dir"] / "conc.csv"
    base = ["concentration", "--store", str(tiny_store), "--geo-dir", str(files["geo"]), "--area", str(files["area"]),
            "--units", "lsoa", "--boundaries", str(quads), "--id-column", "code", "--out", str(out)]
    res = ok(CliRunner().invoke(app, base + ["--weights", "cchi-category-v1", "--force", "merseyside"]))
    q = "Q" + ((INSIDE["x"] - X0) // 1000).astype(int).astype(str) + ((INSIDE["y"] - Y0) // 1000).astype(int).astype(str)
    harm = INSIDE["category"].map(weights("cchi-category-v1")).groupby(q.to_numpy()).sum().reindex(sorted(boxes)).to_numpy()
    cnt = q.value_counts().reindex(sorted(boxes)).to_numpy()

    def gini(v):
        return np.abs(v[:, None] - v[None, :]).sum() / (2 * len(v) ** 2 * v.mean())

    t = pd.read_csv(out).set_index("measure")
    assert t.loc["Gini", "crime"] == pytest.approx(gini(cnt), rel=1e-9)
    assert t.loc["Gini", "harm"] == pytest.approx(gini(harm), rel=1e-9)
    assert "Concentration over 4 lsoa units" in words(res)
    firsts = [ln.split("│")[1].strip() for ln in res.output.splitlines() if ln.count("│") >= 3]
    assert "Gini" in firsts and all(not f.isdigit() for f in firsts if f)
    res = CliRunner().invoke(app, base + ["--force", "cleveland"])
    assert isinstance(res.exception, SaferhubError) and "force cleveland" in str(res.exception)
    net = files["dir"] / "streets.gpkg"
    gpd.GeoDataFrame({"sid": ["S1"]}, geometry=[shapely.LineString([(X0, Y0 + 500), (X0 + 2000, Y0 + 500)])],
                     crs=27700).to_file(net)
    res = ok(CliRunner().invoke(app, ["concentration", "--store", str(tiny_store), "--area", str(files["area"]),
                                      "--geo-dir", str(files["geo"]), "--units", "segments", "--network", str(net),
                                      "--id-column", "sid", "--snap", "60.5", "--out", str(out)]))
    assert "Concentration over 1 segments units" in words(res)
    t = pd.read_csv(out).set_index("measure")
    assert t.loc["total", "crime"] == int((np.abs(INSIDE["y"] - (Y0 + 500)) <= 60.5).sum())   # --snap reached


def test_nearrepeat_command_passes_the_force(tiny_store):  # noqa: F811
    from saferhub.cli import app

    res = CliRunner().invoke(app, ["nearrepeat", "--store", str(tiny_store), "--force", "cleveland", "--permutations", "1"])
    assert isinstance(res.exception, SaferhubError) and "force cleveland" in str(res.exception)


def test_nearrepeat_prints_the_knox_table_it_writes(tiny_store, files):  # noqa: F811
    """Every printed row is the written row: bands, observed, expected (1 place), ratio (2), p (3)."""
    from saferhub.cli import app

    out = files["dir"] / "knox.csv"
    res = ok(CliRunner().invoke(app, ["nearrepeat", "--store", str(tiny_store), "--space-bands", "0,200",
                                      "--time-bands", "0,1", "--permutations", "9", "--seed", "3", "--out", str(out)]))
    t = pd.read_csv(out, dtype={"space": str, "time": str})
    rows = [[c.strip() for c in ln.split("│")[1:-1]] for ln in res.output.splitlines() if ln.count("│") == 7]
    want = [[str(r.space), str(r.time), f"{r.observed:,}", f"{r.expected:,.1f}", f"{r.knox_ratio:.2f}", f"{r.p:.3f}"]
            for r in t.itertuples(index=False)]
    assert rows == want and len(rows) == 9


def test_concentration_csv_has_the_measures_and_no_index(tiny_store, files):  # noqa: F811
    from saferhub.cli import app

    out = files["dir"] / "c.csv"
    ok(CliRunner().invoke(app, ["concentration", "--store", str(tiny_store), "--area", str(files["area"]),
                                "--geo-dir", str(files["geo"]), "--cell-size", str(CS), "--out", str(out)]))
    assert out.read_text().splitlines()[0] == "measure,crime,harm"
