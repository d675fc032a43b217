"""The hotspot commands end to end on a real three-month Merseyside store."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import GEO, MERSEYSIDE, REPO
from typer.testing import CliRunner

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hotspots_cli")]
MONTHS = ("2020-01", "2020-02", "2020-03")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from saferhub.data.ingest import ingest_paths

    folder = tmp_path_factory.mktemp("store")
    ingest_paths([MERSEYSIDE / f"{m}-merseyside-street.csv.gz" for m in MONTHS], store=folder)
    return folder


def run(store, *args):
    from saferhub.cli import app

    res = CliRunner().invoke(app, [*args, "--store", str(store)], catch_exceptions=True)
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    assert res.exit_code == 0, res.output
    return res


def _self_contained(html: str):
    assert "data:image/png;base64," in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "<script src" not in html


def test_gistar_grid_writes_gpkg_report_and_png(store, tmp_path):
    import geopandas as gpd

    out, rep, png = tmp_path / "gi.gpkg", tmp_path / "gi.html", tmp_path / "gi.png"
    run(store, "hotspots", "--method", "gistar", "--categories", "violence", "--months", "2020-01:2020-03",
        "--cell-size", "400", "--out", str(out), "--report", str(rep), "--png", str(png))
    gdf = gpd.read_file(out)
    assert gdf.crs.to_epsg() == 27700
    assert {"unit_id", "z", "p_adj", "gi_bin", "hot_class", "street", "share_of_crime"} <= set(gdf.columns)
    assert (gdf["gi_bin"] == 3).sum() > 10
    html = rep.read_text()
    _self_contained(html)
    assert "Hot spot, 99% confidence" in html and "distance band" not in html and "ring" in html
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_count_csv_holds_every_event_in_the_area_with_bng_centroids(store, tmp_path):
    out = tmp_path / "counts.csv"
    area = GEO / "merseyside_pfa_derived_from_lsoa.geojson.gz"
    run(store, "hotspots", "--method", "count", "--categories", "burglary", "--months", "2020-01:2020-03",
        "--cell-size", "500", "--area", str(area), "--out", str(out))
    t = pd.read_csv(out)
    assert {"unit_id", "count", "harm", "centroid_x", "centroid_y"} <= set(t.columns)
    assert t["centroid_x"].between(300000, 380000).all()
    # Independent count: burglaries in these months whose point lies in the force polygon.
    import shapely

    from saferhub.geo.area import read_area
    from saferhub.geo.project import to_bng
    df = pd.concat([pd.read_csv(MERSEYSIDE / f"{m}-merseyside-street.csv.gz") for m in MONTHS])
    df = df[(df["Crime type"] == "Burglary") & df["Longitude"].notna()]
    x, y = to_bng(df["Longitude"].to_numpy(), df["Latitude"].to_numpy())
    inside = shapely.contains_xy(read_area(area), x, y)
    # Every event inside the polygon is counted (edge cells holding events are kept).
    assert t["count"].sum() == inside.sum()
    from saferhub.harm import load_weights
    assert t["harm"].sum() == pytest.approx(t["count"].sum() * load_weights()["Burglary"])


def test_kde_geojson_is_wgs84(store, tmp_path):
    import geopandas as gpd

    out = tmp_path / "kde.geojson"
    run(store, "hotspots", "--method", "kde", "--categories", "robbery", "--months", "2020-01:2020-03",
        "--cell-size", "300", "--bandwidth", "900", "--out", str(out))
    gdf = gpd.read_file(out)
    assert gdf.crs.to_epsg() == 4326
    assert gdf["density_km2"].max() > 0


def test_dual_kde_difference_of_two_periods(store, tmp_path):
    out = tmp_path / "dual.csv"
    run(store, "hotspots", "--method", "kde", "--categories", "burglary", "--months", "2020-03",
        "--before", "2020-01:2020-02", "--cell-size", "400", "--bandwidth", "1200", "--out", str(out))
    t = pd.read_csv(out)
    np.testing.assert_allclose(t["difference_km2"], t["density_a_km2"] - t["density_b_km2"], atol=1e-9)
    # 'before' has two months, scaled to one: total mass of b equals half the before-events' mass.
    assert t["density_a_km2"].sum() > 0 and t["density_b_km2"].sum() > 0


def test_dual_kde_of_two_category_sets(store, tmp_path):
    out = tmp_path / "versus.csv"
    run(store, "hotspots", "--method", "kde", "--categories", "robbery", "--versus", "burglary",
        "--months", "2020-01:2020-03", "--cell-size", "400", "--bandwidth", "1200", "--out", str(out))
    t = pd.read_csv(out)
    # a and b integrate to their event counts (per km^2 x cell area), so their ratio is robbery/burglary.
    cell_km2 = 0.4 * 0.4
    df = pd.concat([pd.read_csv(MERSEYSIDE / f"{m}-merseyside-street.csv.gz") for m in MONTHS])
    n_rob = (df["Crime type"] == "Robbery").sum()
    n_burg = (df["Crime type"] == "Burglary").sum()
    assert t["density_a_km2"].sum() * cell_km2 == pytest.approx(n_rob, rel=0.03)
    assert t["density_b_km2"].sum() * cell_km2 == pytest.approx(n_burg, rel=0.03)


def test_emerging_on_hexagons_to_geoparquet(store, tmp_path):
    import geopandas as gpd

    out, rep = tmp_path / "em.parquet", tmp_path / "em.html"
    run(store, "hotspots", "--method", "emerging", "--categories", "anti-social-behaviour",
        "--months", "2020-01:2020-03", "--units", "hex", "--cell-size", "600", "--out", str(out),
        "--report", str(rep))
    gdf = gpd.read_parquet(out)
    from saferhub.hotspots.emerging import LABELS
    assert set(gdf["category"]) <= set(LABELS)
    assert gdf["unit_id"].str.startswith("H").all()
    _self_contained(rep.read_text())


def test_change_on_lsoas_with_population_rates(store, tmp_path):
    out = tmp_path / "change.csv"
    run(store, "hotspots", "--method", "change", "--months", "2020-03", "--before", "2020-01:2020-02",
        "--units", "lsoa", "--boundaries", str(GEO / "liverpool_lsoa2011.geojson.gz"), "--out", str(out))
    t = pd.read_csv(out)
    assert len(t) >= 297 and t["unit_id"].str.startswith("E01").all()
    assert {"before", "after", "change_p_adj", "direction"} <= set(t.columns)
    out2 = tmp_path / "rates.csv"
    run(store, "hotspots", "--method", "count", "--months", "2020-01", "--units", "lsoa", "--boundaries",
        str(GEO / "liverpool_lsoa2011.geojson.gz"), "--population",
        str(GEO / "File_6_-_IoD2019_Population_Denominators.csv.gz"), "--out", str(out2))
    r = pd.read_csv(out2)
    assert r["population"].notna().mean() > 0.99
    np.testing.assert_allclose(r["rate_per_1000"], r["count"] / r["population"] * 1000)


def test_concentration_and_nearrepeat_commands(store, tmp_path):
    rep, csv = tmp_path / "conc.html", tmp_path / "conc.csv"
    res = run(store, "concentration", "--categories", "grip", "--cell-size", "250", "--out", str(csv),
              "--report", str(rep))
    assert "generalized Gini" in res.output
    t = pd.read_csv(csv)
    assert set(t["measure"]) >= {"Gini", "share of units holding 50%"}
    _self_contained(rep.read_text())
    kcsv, krep = tmp_path / "knox.csv", tmp_path / "knox.html"
    run(store, "nearrepeat", "--categories", "burglary", "--space-bands", "0,200,400", "--time-bands", "0,1",
        "--permutations", "19", "--seed", "1", "--out", str(kcsv), "--report", str(krep))
    k = pd.read_csv(kcsv)
    assert len(k) == 4 * 3 and (k["p"] >= 1 / 20).all()
    _self_contained(krep.read_text())


@pytest.mark.parametrize("args, message", [
    (["hotspots", "--method", "blob", "--out", "x.csv"], "'blob' is not one of"),
    (["hotspots", "--method", "change", "--out", "x.csv"], "needs --before"),
    (["hotspots", "--method", "count"], "nothing to write"),
    (["hotspots", "--method", "count", "--out", "x.txt"], "unknown output format"),
    (["hotspots", "--method", "count", "--months", "2020", "--out", "x.csv"], "not a month"),
    (["hotspots", "--method", "count", "--months", "2031-01", "--out", "x.csv"], "no located events"),
    (["hotspots", "--units", "lsoa", "--out", "x.csv", "--cell-size", "500"], "needs --boundaries"),
    (["nearrepeat", "--time-unit", "days"], "timestamped"),
])
def test_user_mistakes_are_one_line_exit_2(store, tmp_path, monkeypatch, capsys, args, message):
    from saferhub.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["saferhub", *args, "--store", str(store)])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert message in " ".join(err.split()) and "Traceback" not in err


def test_real_entry_point_reports_errors_without_traceback(store, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "saferhub", "hotspots", "--method", "nope", "--out", "x.csv",
                           "--store", str(store)], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 2
    assert "'nope' is not one of" in proc.stderr and "Traceback" not in proc.stderr


def test_stray_point_is_named_and_refused_then_dropped_with_a_warning(tmp_path, monkeypatch, capsys):
    from saferhub.cli import main
    from saferhub.data.ingest import ingest_paths

    df = pd.read_csv(MERSEYSIDE / "2020-01-merseyside-street.csv.gz").dropna(subset=["Longitude"]).head(400)
    df = df.copy()
    df.loc[df.index[7], ["Longitude", "Latitude", "Location"]] = [-0.1276, 51.5072, "On or near Whitehall"]
    src = tmp_path / "2020-01-merseyside-street.csv"
    df.to_csv(src, index=False)
    st = tmp_path / "store"
    ingest_paths([src], store=st, far_km=1e6)  # let the stray into the store (ingest would quarantine it)
    monkeypatch.chdir(tmp_path)
    args = ["saferhub", "hotspots", "--method", "count", "--cell-size", "500", "--out", "c.csv", "--store", str(st)]
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as exc:
        main()
    err = " ".join(capsys.readouterr().err.split())
    assert exc.value.code == 2
    assert "1 stray point" in err and "Whitehall" in err and "--drop-strays" in err
    monkeypatch.setattr(sys, "argv", args + ["--drop-strays"])
    main_ok = None
    try:
        main()
    except SystemExit as e:  # typer may exit 0
        main_ok = e.code
    assert main_ok in (None, 0)
    err = " ".join(capsys.readouterr().err.split())
    assert "WARNING: leaving out 1 stray point" in err and "Whitehall" in err
    assert pd.read_csv(tmp_path / "c.csv")["count"].sum() == 399  # every non-stray event
    # --area (as the error suggests) also works: strays outside the user's area are left out loudly.
    import geopandas as gpd
    import shapely
    box = shapely.box(320000, 377000, 362000, 423000)
    gpd.GeoDataFrame(geometry=[box], crs=27700).to_file(tmp_path / "a.geojson")
    monkeypatch.setattr(sys, "argv", [*args, "--area", str(tmp_path / "a.geojson")])
    try:
        main()
    except SystemExit as e:
        assert e.code in (None, 0)
    assert "WARNING: leaving out 1 stray point" in " ".join(capsys.readouterr().err.split())


def test_nearrepeat_in_days_on_timestamped_partner_incidents(tmp_path):
    """Partner incidents carry times: the Knox test runs in days and finds planted near repeats."""
    from saferhub.data.ingest import ingest_paths
    from saferhub.geo.project import to_wgs84

    rng = np.random.default_rng(4)
    n0, nrep = 700, 120
    x, y = rng.uniform(333000, 339000, n0), rng.uniform(387000, 393000, n0)
    day = rng.integers(0, 365, n0)
    src = rng.integers(0, n0, nrep)
    x = np.r_[x, x[src] + rng.uniform(-20, 20, nrep)]
    y = np.r_[y, y[src] + rng.uniform(-20, 20, nrep)]
    day = np.r_[day, day[src] + rng.integers(0, 4, nrep)]
    lon, lat = to_wgs84(x, y)
    when = pd.Timestamp("2020-01-01 12:00") + pd.to_timedelta(day, unit="D")
    rows = pd.DataFrame({"Ref": [f"R{i}" for i in range(x.size)], "Reported": when.strftime("%d/%m/%Y %H:%M"),
                         "Type": "Youths causing annoyance", "Long": np.round(lon, 6), "Lat": np.round(lat, 6)})
    rows.to_csv(tmp_path / "calls.csv", index=False)
    (tmp_path / "map.yaml").write_text("agency: Wirral Council\nforce: merseyside\ncolumns:\n  id: Ref\n"
                                       "  datetime: Reported\n  category: Type\n  lon: Long\n  lat: Lat\n"
                                       "categories:\n  Youths causing annoyance: Anti-social behaviour\n")
    st = tmp_path / "store"
    ingest_paths([tmp_path / "calls.csv"], store=st, kind="incidents", mapping=tmp_path / "map.yaml")
    out = tmp_path / "knox.csv"
    run(st, "nearrepeat", "--categories", "anti-social-behaviour", "--time-unit", "days", "--space-bands", "50,200",
        "--time-bands", "3,7", "--permutations", "99", "--seed", "3", "--out", str(out))
    k = pd.read_csv(out)
    close = k[(k.space == "0 to 50 m") & (k.time == "0 to 3 days")].iloc[0]
    assert close.observed >= nrep and close.knox_ratio > 3 and close.p == pytest.approx(0.01)
    assert k["observed"].sum() == x.size * (x.size - 1) // 2


def test_street_segments_count_and_harm_gistar(store, tmp_path):
    """A 150 m street lattice over central Liverpool: every event in the box snaps to a segment
    (no point is more than 75 m from a street), and Gi* runs on segment contiguity with harm."""
    import geopandas as gpd
    import shapely

    x0, y0, x1, y1, step = 334000, 389000, 336000, 391000, 150
    lines, ids = [], []
    for k, v in enumerate(np.arange(x0, x1 + 1, step)):
        for j, w in enumerate(np.arange(y0, y1, step)):
            lines += [shapely.LineString([(v, w), (v, min(w + step, y1))])]
            ids += [f"V{k}-{j}"]
    for k, w in enumerate(np.arange(y0, y1 + 1, step)):
        for j, v in enumerate(np.arange(x0, x1, step)):
            lines += [shapely.LineString([(v, w), (min(v + step, x1), w)])]
            ids += [f"H{k}-{j}"]
    net = tmp_path / "streets.gpkg"
    gpd.GeoDataFrame({"id": ids}, geometry=lines, crs=27700).to_file(net)
    area = tmp_path / "box.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, x1, y1)], crs=27700).to_file(area)
    out = tmp_path / "seg.csv"
    run(store, "hotspots", "--method", "count", "--months", "2020-01:2020-03", "--units", "segments",
        "--network", str(net), "--snap", "110", "--area", str(area), "--out", str(out))
    t = pd.read_csv(out)
    from saferhub.geo.project import to_bng
    df = pd.concat([pd.read_csv(MERSEYSIDE / f"{m}-merseyside-street.csv.gz") for m in MONTHS]).dropna(subset=["Longitude"])
    x, y = to_bng(df["Longitude"].to_numpy(), df["Latitude"].to_numpy())
    inside = shapely.contains_xy(shapely.box(x0, y0, x1, y1), x, y)
    assert len(t) == len(lines) and t["unit_id"].is_unique
    assert t["count"].sum() == inside.sum()
    gi = tmp_path / "seg_gi.csv"
    run(store, "hotspots", "--method", "gistar", "--harm", "--months", "2020-01:2020-03", "--units", "segments",
        "--network", str(net), "--snap", "110", "--area", str(area), "--out", str(gi))
    g = pd.read_csv(gi).set_index("unit_id")
    c = t.set_index("unit_id")
    np.testing.assert_allclose(g.loc[c.index, "harm"], c["harm"])  # --harm analyses harm
    assert g["n_neighbours"].min() >= 2 and g["z"].notna().all()
