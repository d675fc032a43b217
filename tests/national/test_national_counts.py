"""National counts by month and category on a small SYNTHETIC national store: both engines equal a
brute-force pandas count of every row, with and without filters."""

import pandas as pd
import pytest
from find_helpers import small_store  # noqa: F401


@pytest.fixture(scope="module")
def national_store(small_store, tmp_path_factory):  # noqa: F811
    from saferhub.national.synthetic import synthesize

    out = tmp_path_factory.mktemp("national-counts") / "store"
    synthesize(small_store, out, forces=4, months="2020-01:2020-12", fraction=0.6, seed=3)
    return out


def _brute(store, months=None, categories=None, force=None):
    from saferhub.data import events

    df = events(store, force=force, months=months, categories=categories, columns=["month", "category"]).to_pandas()
    df["month"] = pd.to_datetime(df["month"]).dt.strftime("%Y-%m")
    out = df.groupby(["month", "category"]).size().rename("events").reset_index()
    return out.sort_values(["month", "category"]).reset_index(drop=True).astype({"events": "int64"})


@pytest.mark.parametrize("engine", ["duckdb", "pyarrow", "auto"])
@pytest.mark.parametrize("kw", [{}, {"months": "2019-03:2019-08", "categories": "grip"},
                                {"force": "synthetic-02", "categories": ["Burglary", "Robbery"]}])
def test_counts_equal_a_brute_force_count(national_store, engine, kw):
    from saferhub.national.counts import national_counts

    got = national_counts(national_store, engine=engine, **kw)
    want = _brute(national_store, **kw)
    assert len(want) > 10
    pd.testing.assert_frame_equal(got, want)


def test_every_row_counted_once_and_bad_engine_refused(national_store):
    from saferhub.data.store import Catalog
    from saferhub.errors import SaferhubError
    from saferhub.national.counts import national_counts

    total = sum(r["rows"] for r in Catalog.load(national_store).partitions.values())
    assert national_counts(national_store)["events"].sum() == total
    # the synthetic forces are shifted 0, 12 and 24 months back: 2018 months are held
    assert {"2018-01", "2019-01", "2020-01"} <= set(national_counts(national_store)["month"])
    assert national_counts(national_store, months="1990-01").empty
    with pytest.raises(SaferhubError, match="engine"):
        national_counts(national_store, engine="spark")


def test_cli_counts_writes_the_same_table(national_store, tmp_path):
    from typer.testing import CliRunner

    from saferhub.cli import app
    from saferhub.national.counts import national_counts

    out = tmp_path / "counts.csv"
    r = CliRunner().invoke(app, ["national", "counts", "--store", str(national_store), "--categories", "grip",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    want = national_counts(national_store, categories="grip")
    pd.testing.assert_frame_equal(pd.read_csv(out, dtype={"month": str}), want)
    assert "2019-06" in r.stdout and "Robbery" in r.stdout
    bad = CliRunner().invoke(app, ["national", "counts", "--store", str(national_store), "--engine", "spark"])
    # a SaferhubError: the saferhub entry point prints it as one line (CliRunner hands it back)
    assert bad.exit_code != 0 and "unknown engine 'spark'" in str(bad.exception)
