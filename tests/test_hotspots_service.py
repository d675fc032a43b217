"""The hotspot verbs on the small real store: same answers as the CLI, harm honoured by every
method, parameters stated from what was computed, places named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import GEO
from find_helpers import small_store  # noqa: F401
from scipy import stats

from saferhub.errors import SaferhubError

CS = 250


@pytest.fixture(scope="module")
def grip(small_store):  # noqa: F811
    from saferhub.data import events

    return events(small_store, months="2020-01:2020-12", categories="grip")


def _cell_sums(ev: pd.DataFrame, values=None) -> pd.Series:
    """Independent oracle: per lower-left cell id, the count (or summed values) of events."""
    cx = (np.floor(ev["x"] / CS) * CS).astype(int).astype(str)
    cy = (np.floor(ev["y"] / CS) * CS).astype(int).astype(str)
    s = pd.Series(1.0 if values is None else np.asarray(values, float), index="E" + cx + "N" + cy)
    return s.groupby(level=0).sum()


def test_gistar_verb_gives_the_cli_z_scores(small_store, grip, tmp_path, monkeypatch):  # noqa: F811
    import geopandas as gpd
    from typer.testing import CliRunner

    from saferhub.cli import app
    from saferhub.hotspots import gistar

    monkeypatch.setenv("SAFERHUB_STORE", str(small_store))
    monkeypatch.delenv("SAFERHUB_GEO_DIR", raising=False)
    got = gistar(grip, cell_size=CS)
    out = tmp_path / "gi.gpkg"
    res = CliRunner().invoke(app, ["hotspots", "--method", "gistar", "--months", "2020-01:2020-12",
                                   "--categories", "grip", "--cell-size", str(CS), "--out", str(out)])
    assert res.exit_code == 0, res.output
    cli = gpd.read_file(out)
    assert list(cli["unit_id"]) == list(got["unit_id"])
    assert np.allclose(cli["z"], got["z"], rtol=0, atol=1e-12)
    assert (cli["gi_bin"].to_numpy() == got["gi_bin"].to_numpy()).all()
    p = got.attrs["params"]
    assert p["method"] == "gistar" and p["cell_size"] == CS and p["measure"] == "count"
    assert p["events"] == int(got["count"].sum())


def test_counts_and_places_match_an_independent_tally(grip):
    from saferhub.hotspots import counts

    got = counts(grip, cell_size=CS, geo_dir=GEO).set_index("unit_id")
    ev = grip.to_pandas()
    import geopandas as gpd
    import shapely

    force = gpd.read_file(f"/vsigzip/{GEO / 'merseyside_pfa_derived_from_lsoa.geojson.gz'}").to_crs(27700).union_all()
    ev = ev[shapely.contains_xy(force, ev["x"], ev["y"])]  # the boundary's events, all counted
    inside = _cell_sums(ev)
    assert got["count"].sum() == len(ev) == got.attrs["params"]["events"]
    assert np.allclose(got.loc[inside.index, "count"], inside)
    assert got["share_of_crime"].sum() == pytest.approx(1.0)
    # street: the most frequent police.uk location in the cell (ties: alphabetical)
    busiest = inside.idxmax()
    cx, cy = (int(v) for v in busiest[1:].split("N"))
    cell = ev[(ev.x >= cx) & (ev.x < cx + CS) & (ev.y >= cy) & (ev.y < cy + CS)]
    vc = cell["location"].value_counts()
    assert got.loc[busiest, "street"] == sorted(vc[vc == vc.max()].index)[0]
    assert got.loc[busiest, "ward"] in {"Central", "Riverside"}  # Liverpool city centre wards
    assert got.loc[busiest, "lsoa_name"].startswith("Liverpool")
    assert got.attrs["params"]["study_area"].startswith("the merseyside force boundary")


def test_harm_is_honoured_by_every_method(small_store, grip):  # noqa: F811
    """Issue 14: emerging and change with harm gave the count output while saying 'harm'."""
    from saferhub.hotspots import change, counts, emerging, gistar, kde

    ev = grip.to_pandas()
    harm_cells = _cell_sums(ev, ev["harm_weight"])
    for verb, kw in ((counts, {}), (gistar, {}), (emerging, {}), (kde, {}),
                     (change, {"before": "2019-07:2019-12", "store": small_store})):
        h = verb(grip, harm=True, cell_size=CS, **kw)
        c = verb(grip, harm=False, cell_size=CS, **kw)
        assert h.attrs["params"]["measure"] == "harm" and c.attrs["params"]["measure"] == "count"
        assert "harm" in h and ("harm" not in c or verb is counts), verb.__name__
        assert np.allclose(h.set_index("unit_id").loc[harm_cells.index, "harm"], harm_cells), verb.__name__
        assert np.allclose(h["count"], c["count"])
    # Gi* on harm is Gi* on the harm values (not on counts): compare z with counts' z
    gh, gc = gistar(grip, harm=True, cell_size=CS), gistar(grip, cell_size=CS)
    assert not np.allclose(gh["z"], gc["z"])
    em_h, em_c = emerging(grip, harm=True, cell_size=CS), emerging(grip, cell_size=CS)
    assert not np.allclose(em_h["mk_z"].fillna(0), em_c["mk_z"].fillna(0))


def test_harm_change_is_the_compound_poisson_test(small_store, grip):  # noqa: F811
    from saferhub.data import events
    from saferhub.hotspots import change

    got = change(grip, before="2019-07:2019-12", store=small_store, harm=True, cell_size=CS, correction="none")
    before = events(small_store, months="2019-07:2019-12", categories="grip").to_pandas()
    ev = grip.to_pandas()
    a, a2 = _cell_sums(before, before["harm_weight"]), _cell_sums(before, before["harm_weight"] ** 2)
    b, b2 = _cell_sums(ev, ev["harm_weight"]), _cell_sums(ev, ev["harm_weight"] ** 2)
    cells = a.index.intersection(b.index)[:50]
    r = 12 / 6
    z = (b[cells] - r * a[cells]) / np.sqrt(b2[cells] + r * r * a2[cells])
    g = got.set_index("unit_id").loc[cells]
    assert np.allclose(g["before"], a[cells]) and np.allclose(g["after"], b[cells])
    assert np.allclose(g["change_z"], z)
    assert np.allclose(g["change_p"], 2 * stats.norm.sf(np.abs(z)))


def test_report_states_what_was_computed(grip):
    from saferhub.hotspots import emerging
    from saferhub.hotspots.report import html_report

    h = emerging(grip, harm=True, cell_size=CS)
    html = html_report(h)
    assert "Emerging hot spots (harm-weighted) of violence, robbery, weapons and ASB, Jan–Dec 2020" in html
    assert "harm, in days of custody" in html
    h.attrs["params"]["measure"] = "count"  # the report reads the result, not the request
    assert "harm, in days of custody" not in html_report(h)


def test_gistar_separates_hot_cells_without_crime(grip):
    from saferhub.hotspots import gistar

    g = gistar(grip, cell_size=CS)
    empty_hot = (g["gi_bin"] > 0) & (g["count"] == 0)
    assert g.loc[empty_hot, "hot_class"].str.startswith("Beside a hot spot").all()
    assert g.loc[(g["gi_bin"] == 3) & (g["count"] > 0), "hot_class"].eq("Hot spot, 99% confidence").all()
    assert (g.loc[empty_hot, "nearby"] != "").all()


def test_no_match_says_what_the_store_holds(small_store):  # noqa: F811
    from saferhub.hotspots import gistar

    with pytest.raises(SaferhubError, match=r"forces merseyside; months 2019-07..2020-12"):
        gistar(store=small_store, months="2021-01:2021-03", categories="grip")
