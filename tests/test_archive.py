"""The national archive and `fetch --force all`.

Archive: a SYNTHETIC national archive (the real Merseyside month renamed as three forces, laid out
as police.uk's all-forces zip) ingests force by force with read = stored + quarantined for each,
every force's rows equal to a brute-force read of the source CSV, and a second ingest adds nothing.
Fetch: every force the fake police.uk API lists is fetched; one it cannot serve is reported and
the others still land."""

import gzip
import io
import json

import pandas as pd
import pytest
from conftest import MERSEYSIDE
from fake_police_api import FakePoliceAPI, world
from typer.testing import CliRunner

MONTH = "2019-06"
FORCES = ["cheshire", "lancashire", "merseyside"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from saferhub.data.archive import synthetic_archive

    out = tmp_path_factory.mktemp("archive") / "police-uk-national-SYNTHETIC.zip"
    written = synthetic_archive([MERSEYSIDE / f"{MONTH}-merseyside-street.csv.gz"], FORCES, out)
    assert sorted(written) == [f"{MONTH}/{MONTH}-{f}-street.csv" for f in FORCES]
    return out


@pytest.fixture(scope="module")
def source_rows():
    return pd.read_csv(io.BytesIO(gzip.decompress((MERSEYSIDE / f"{MONTH}-merseyside-street.csv.gz").read_bytes())),
                       dtype=str)


def test_archive_ingests_force_by_force_and_balances(archive, source_rows, tmp_path):
    from saferhub.data import events
    from saferhub.data.archive import per_force
    from saferhub.data.ingest import ingest_paths

    store = tmp_path / "store"
    report = ingest_paths([archive], store=store)
    totals = per_force(report)
    assert [t.force for t in totals] == FORCES
    counts = events(store, columns=["force", "category"]).to_pandas()
    want = source_rows["Crime type"].value_counts().sort_index()
    for t in totals:
        assert t.files == 1 and t.read == len(source_rows) and t.balanced
        assert t.stored + t.quarantined == t.read and t.stored == (counts["force"] == t.force).sum()
        # the same rows as the source file, force by force (brute force: pandas on the CSV)
        got = counts.loc[counts["force"] == t.force, "category"].value_counts().sort_index()
        if t.quarantined == 0:
            assert got.to_dict() == want.to_dict()
    assert report.added == sum(t.stored for t in totals)
    again = ingest_paths([archive], store=store)
    assert again.added == 0 and {f.change for f in again.files} == {"unchanged"}


def test_cli_ingest_prints_one_row_per_force(archive, tmp_path):
    from saferhub.cli import app

    out = CliRunner().invoke(app, ["ingest", str(archive), "--store", str(tmp_path / "s")])
    assert out.exit_code == 0, out.output
    assert "by force" in out.stdout
    for f in FORCES:
        assert f in out.stdout
    assert "NO" not in out.stdout.split("by force", 1)[1]


def _fake_world():
    hoods, crimes, expected = world(("2023-01",), seed=5, dense=60)
    hoods = {"merseyside": hoods["merseyside"], "cheshire": hoods["merseyside"]}   # same patch, two forces
    return FakePoliceAPI(hoods, crimes, rate_limit=None, listed_forces=["cheshire", "merseyside", "nowhere"]), expected


def test_fetch_all_fetches_every_listed_force_and_reports_failures(tmp_path):
    from saferhub.data import events
    from saferhub.data.archive import fetch_all
    from saferhub.data.policeapi import PoliceAPI

    fake, expected = _fake_world()
    store = tmp_path / "store"
    seen = []
    with fake as base, PoliceAPI(base, rate=500.0, backoff=0.01, max_backoff=0.05) as api:
        r = fetch_all("2023-01", store, api=api, on_force=lambda f, i, n: seen.append((f, i, n)))
    assert r.forces == ["cheshire", "merseyside", "nowhere"] and seen == [(f, i, 3) for i, f in enumerate(r.forces)]
    assert sorted(r.reports) == ["cheshire", "merseyside"]
    assert list(r.failures) == ["nowhere"] and "unknown police force 'nowhere'" in r.failures["nowhere"]
    ev = events(store, columns=["force", "event_id", "x"]).to_pandas()
    mine = ev[ev["force"] == "merseyside"]
    assert set(mine["event_id"]) == expected["2023-01"]["event_ids"]
    # the same neighbourhoods: cheshire gets the located crimes, not merseyside's no-location ones
    assert set(ev.loc[ev["force"] == "cheshire", "event_id"]) == set(mine.loc[mine["x"].notna(), "event_id"])
    for f, rep in r.reports.items():
        assert [m.month for m in rep.fetched] == ["2023-01"]
        assert rep.fetched[0].stored == (ev["force"] == f).sum()


def test_cli_fetch_all(tmp_path):
    from saferhub.cli import app

    fake, _ = _fake_world()
    runner = CliRunner()
    with fake as base:
        out = runner.invoke(app, ["fetch", "--force", "all", "--from", "2023-01", "--base-url", base,
                                  "--store", str(tmp_path / "s"), "--json"])
    assert out.exit_code == 1, out.output
    doc = json.loads(out.stdout)
    assert sorted(doc["fetched"]) == ["cheshire", "merseyside"] and list(doc["failures"]) == ["nowhere"]
    assert "nowhere: FAILED" in out.stderr and "2 of 3 forces fetched; 1 failed" in out.stderr
