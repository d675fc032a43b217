"""The national engine on a small SYNTHETIC national store (the small real Liverpool store replayed
as three forces): the generator's moves are exact, the Dask run gives exactly the single-process
rows, and a force that fails is reported without stopping the others."""

import numpy as np
import pandas as pd
import pytest
from find_helpers import small_store  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def national_store(small_store, tmp_path_factory):  # noqa: F811
    from saferhub.national.synthetic import synthesize

    out = tmp_path_factory.mktemp("national") / "store"
    s = synthesize(small_store, out, forces=3, months="2020-01:2020-12", fraction=0.5, seed=7)
    assert s["forces"] == 3 and s["source"] == "merseyside"
    return out


def test_synthetic_forces_are_moved_renamed_and_labelled(small_store, national_store):  # noqa: F811
    from saferhub.data import events
    from saferhub.national.runner import forces_in_store
    from saferhub.national.synthetic import offset

    assert forces_in_store(national_store) == ["synthetic-01", "synthetic-02", "synthetic-03"]
    src = events(small_store, months="2020-01:2020-12", columns=["event_id", "x", "y", "month"]).to_pandas()
    for k, fid in enumerate(["synthetic-01", "synthetic-02", "synthetic-03"]):
        t = events(national_store, force=fid, columns=["event_id", "x", "y", "month", "text", "lsoa"]).to_pandas()
        assert 0.45 < len(t) / len(src) < 0.55            # thinned to about half
        assert t["event_id"].str.startswith(fid + ":").all() and t["lsoa"].isna().all()
        assert t["text"].str.startswith("synthetic replay of merseyside").all()
        dx, dy, back = offset(k)
        m = t.assign(event_id=t["event_id"].str.split(":", n=1).str[1]).merge(src, on="event_id", suffixes=("", "_src"))
        assert len(m) == len(t)
        ok = m["x_src"].notna()
        np.testing.assert_allclose(m.loc[ok, "x"] - m.loc[ok, "x_src"], dx)
        np.testing.assert_allclose(m.loc[ok, "y"] - m.loc[ok, "y_src"], dy)
        shift = (pd.to_datetime(m["month_src"]).dt.to_period("M") - pd.to_datetime(m["month"]).dt.to_period("M"))
        assert {s.n for s in shift} == {back}
    # the same seed gives the same store
    a = events(national_store, force="synthetic-02", columns=["event_id"])["event_id"].to_pylist()
    assert len(set(a)) == len(a)


def test_dask_run_equals_the_single_process_run(national_store):
    from saferhub.national.runner import national
    from saferhub.query import EventQuery, UnitSpec

    q, u = EventQuery(store=national_store, categories="grip"), UnitSpec(cell_size=250)
    one = national(q, u, workers=0)
    dask = national(q, u, workers=2)
    assert one.failures == {} and dask.failures == {}
    assert list(one.table["force"]) == ["synthetic-01", "synthetic-02", "synthetic-03"]
    cols = [c for c in one.table.columns if c != "seconds"]
    pd.testing.assert_frame_equal(one.table[cols], dask.table[cols])
    assert dask.params["run_on"].startswith("a Dask LocalCluster of 2")
    # forces differ (their own thinning), and each row is that force's own single-force result
    assert one.table["gistar_digest"].nunique() == 3
    from saferhub.hotspots import gistar
    from saferhub.national.runner import _digest

    own = gistar(query=q.replace(force="synthetic-02"), spec=u.replace(drop_strays=True))
    assert _digest(own) == one.table.set_index("force").loc["synthetic-02", "gistar_digest"]
    assert (one.table["hot_cells"] > 0).all() and (one.table["gini"] > 0.3).all()
    assert one.table["skill_vs_naive"].notna().all()


def test_a_failing_force_is_reported_and_the_others_run(national_store):
    from saferhub.national.runner import national
    from saferhub.query import EventQuery, UnitSpec

    r = national(EventQuery(store=national_store, categories="grip"), UnitSpec(cell_size=250),
                 forces=["synthetic-01", "nowhere"], workers=0)
    assert list(r.table["force"]) == ["synthetic-01"]
    assert set(r.failures) == {"nowhere"} and "no located events" in r.failures["nowhere"]
    assert "\n" not in r.failures["nowhere"]


def test_cli_writes_the_table_and_lists_a_failed_force(national_store, tmp_path):
    import os
    import subprocess
    import sys

    out = tmp_path / "national.csv"
    proc = subprocess.run([sys.executable, "-m", "saferhub", "national", "run", "--store", str(national_store),
                           "--workers", "1", "--cell-size", "250", "--force", "synthetic-03,nowhere",
                           "--out", str(out), "--backtest-months", "2", "--backtest-out", str(tmp_path / "bt.csv")],
                          capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "nowhere: FAILED: no located events" in proc.stderr and "Traceback" not in proc.stderr
    assert "1 of 2 forces" in proc.stderr and "on a Dask LocalCluster of 1 worker" in proc.stderr
    assert "synthetic-03" in proc.stdout and "WARNING" not in proc.stderr
    table = pd.read_csv(out)
    assert list(table["force"]) == ["synthetic-03"] and table["events"].iloc[0] > 1000
    bt = pd.read_csv(tmp_path / "bt.csv")    # the national backtest: the last 2 months, per model
    assert sorted(bt["model"]) == ["counts12", "naive"] and (bt["months"] == 2).all()
    assert (bt["force"] == "synthetic-03").all() and "national backtest, last 2 months" in proc.stdout


def test_update_recomputes_only_the_force_whose_months_changed(national_store):
    from saferhub.data.store import StoreWriter, events
    from saferhub.national.runner import fingerprint, national
    from saferhub.query import EventQuery, UnitSpec

    q, u = EventQuery(store=national_store, categories="grip"), UnitSpec(cell_size=250)
    first = national(q, u, workers=0)
    same = national(q, u, workers=0, update=True)
    assert same.params["recomputed"] == [] and same.params["reused"] == ["synthetic-01", "synthetic-02", "synthetic-03"]
    pd.testing.assert_frame_equal(first.table, same.table)
    # "police.uk republishes" one month of synthetic-02: fewer rows, a new content stamp
    before = {f: fingerprint(national_store, f) for f in ("synthetic-01", "synthetic-02", "synthetic-03")}
    month = sorted(events(national_store, force="synthetic-02", columns=["month"])["month"].to_pylist())[-1]
    t = events(national_store, force="synthetic-02", months=str(month)[:7])
    t = t.drop_columns(["harm_weight"]).slice(0, t.num_rows // 2)
    key = f"events/synthetic-02/{str(month)[:7]}"
    with StoreWriter(national_store) as w:
        rec = dict(w.catalog.partitions[key])
        rec.update(file=w.stage_partition("events", "synthetic-02", str(month)[:7], t), rows=t.num_rows,
                   content="republished")
        w.catalog.partitions[key] = rec
        w.commit()
    after = {f: fingerprint(national_store, f) for f in before}
    assert [f for f in before if before[f] != after[f]] == ["synthetic-02"]
    upd = national(q, u, workers=0, update=True)
    assert upd.params["recomputed"] == ["synthetic-02"] and upd.params["reused"] == ["synthetic-01", "synthetic-03"]
    full = national(q, u, workers=0)   # no --update: everything recomputed, the same table
    cols = [c for c in full.table.columns if c != "seconds"]
    pd.testing.assert_frame_equal(upd.table[cols], full.table[cols])
    old, new = first.table.set_index("force"), upd.table.set_index("force")
    assert new.loc["synthetic-02", "events"] < old.loc["synthetic-02", "events"]
    assert new.loc["synthetic-01", "gistar_digest"] == old.loc["synthetic-01", "gistar_digest"]


def test_an_unreachable_scheduler_is_one_clear_error(national_store):
    from saferhub.errors import SaferhubError
    from saferhub.national.runner import national
    from saferhub.query import EventQuery, UnitSpec

    with pytest.raises(SaferhubError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        national(EventQuery(store=national_store), UnitSpec(cell_size=250), scheduler="tcp://127.0.0.1:9",
                 forces=["synthetic-01"])
