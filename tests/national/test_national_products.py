"""The national products beyond the table (a backtest per force, every force's map layers) and
the engine's fault tolerance: a Dask worker killed mid-run loses nothing, a re-run completes.
On a small SYNTHETIC national store (the small real Liverpool store replayed as three forces)."""

import json
import os
import signal

import numpy as np
import pandas as pd
import pytest
from find_helpers import small_store  # noqa: F401

pytestmark = pytest.mark.slow
FORCES = ["synthetic-01", "synthetic-02", "synthetic-03"]


@pytest.fixture(scope="module")
def nat(small_store, tmp_path_factory):  # noqa: F811
    from saferhub.national.synthetic import synthesize

    out = tmp_path_factory.mktemp("national-products") / "store"
    synthesize(small_store, out, forces=3, months="2020-01:2020-12", fraction=0.5, seed=7)
    return out


def _q(nat):
    from saferhub.query import EventQuery, UnitSpec

    return EventQuery(store=nat, categories="grip"), UnitSpec(cell_size=250)


def test_backtest_and_layers_for_every_force_and_a_failure_reported(nat):
    from saferhub.briefing.layers import hotspot_layer  # noqa: F401 (the single-force layer code)
    from saferhub.data.products import product_path, read_product
    from saferhub.hotspots import gistar
    from saferhub.national.products import CATALOGUE, layer_names
    from saferhub.national.runner import national

    q, u = _q(nat)
    r = national(q, u, workers=0, forces=FORCES + ["nowhere"], backtest_months=4, layers=True)
    assert set(r.failures) == {"nowhere"} and list(r.table["force"]) == FORCES
    bt = r.backtest
    assert sorted(bt["force"].unique()) == FORCES and set(bt["model"]) == {"naive", "counts12"}
    assert (bt["months"] == 4).all()
    naive = bt[bt["model"] == "naive"]
    np.testing.assert_allclose(naive["pai_vs_naive"], 1.0)            # the baseline against itself
    # the table's skill (last 3 months) and the backtest (last 4) come from the same monthly PAIs
    assert (bt[bt["model"] == "counts12"]["pai"] > 1).all()
    sm = r.backtest_summary.set_index("model")
    assert sm.loc["counts12", "forces"] == 3
    assert sm.loc["counts12", "pai_vs_naive_mean"] == pytest.approx(bt[bt["model"] == "counts12"]["pai_vs_naive"].mean())
    # every force's layers, in the single-force publish format, listed in the national catalogue
    cat = read_product(CATALOGUE, nat)["layers"]
    assert sorted({e["force"] for e in cat}) == FORCES and len(cat) == 6 == len(r.layers)
    for f in FORCES:
        hot_name, fc_name = layer_names(f, q.categories_text)
        hot = read_product(hot_name, nat)
        assert hot["type"] == "FeatureCollection" and hot["meta"]["force"] == f
        props = hot["features"][0]["properties"]
        assert {"unit_id", "gi_bin", "hot_class", "z", "p_adj", "count", "trend"} <= set(props)
        # exactly the force's significant Gi* cells
        own = gistar(query=q.replace(force=f), spec=u.replace(drop_strays=True))
        assert len(hot["features"]) == int((own["gi_bin"] != 0).sum())
        assert {ft["properties"]["unit_id"] for ft in hot["features"]} == set(own.loc[own["gi_bin"] != 0, "unit_id"])
        fc = read_product(fc_name, nat)
        assert {"unit_id", "risk", "rank"} <= set(fc["features"][0]["properties"])
        assert product_path(hot_name, nat).suffix == ".geojson"
    # a second run with a force failing drops that force's old catalogue entries only
    r2 = national(q, u, workers=0, forces=["synthetic-01"], layers=True)
    assert r2.failures == {} and len(read_product(CATALOGUE, nat)["layers"]) == 6


def test_killing_a_worker_mid_run_loses_nothing_and_a_rerun_completes(nat):
    import logging

    from distributed import Client, LocalCluster

    from saferhub.national.runner import national

    q, u = _q(nat)
    single = national(q, u, workers=0, forces=FORCES)
    cols = [c for c in single.table.columns if c != "seconds"]
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    watcher = Client(cluster)
    pids = watcher.run(os.getpid)                       # worker address -> its process id
    killed = []

    def kill_after_first_completed():                   # called when a force's future completes
        if killed:
            return
        busy = [a for a, keys in watcher.processing().items() if keys] or list(pids)
        os.kill(pids[busy[0]], signal.SIGKILL)
        killed.append(busy[0])

    try:
        r = national(q, u, scheduler=cluster.scheduler_address, forces=FORCES, progress=kill_after_first_completed)
    finally:
        watcher.close()
        cluster.close()
    assert len(killed) == 1
    # the run completes every force, or names the lost ones; nothing is silently missing
    assert sorted(list(r.table["force"]) + list(r.failures)) == FORCES
    assert all("\n" not in why for why in r.failures.values())
    if not r.failures:
        pd.testing.assert_frame_equal(r.table[cols], single.table[cols])
    # a re-run (--update) completes them: identical to the single-process run
    again = national(q, u, workers=0, forces=FORCES, update=True)
    assert again.failures == {} and sorted(again.params["recomputed"]) == sorted(r.failures)
    pd.testing.assert_frame_equal(again.table[cols], single.table[cols])
    saved = json.loads((nat / "national" / "latest.json").read_text())
    assert sorted(saved["forces"]) == FORCES
