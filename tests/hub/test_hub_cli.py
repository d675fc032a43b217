"""The hub CLI: init (no default passwords), seed-demo from the real event store, audit-verify /
audit-export, rules. Exit codes and messages are checked through `python -m saferhub`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from saferhub.hub import audit, security
from saferhub.hub.db import make_engine, session_factory
from saferhub.hub.models import Agency, Case, CaseIncident, Incident, Plan, User

REPO = Path(__file__).resolve().parents[2]
MERSEYSIDE = REPO.parent / "shared" / "data" / "police-uk" / "merseyside"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli(*args, input=None):
    """Run the CLI in-process (a subprocess costs seconds of imports each time), mapping errors as
    `saferhub.cli.main` does: SaferhubError -> exit 2 with its message."""
    from typer.testing import CliRunner

    from saferhub.cli import app
    from saferhub.errors import SaferhubError

    r = CliRunner().invoke(app, list(args), input=input, env={"COLUMNS": "200"})
    if isinstance(r.exception, SaferhubError):
        return Result(2, r.stdout, str(r.exception))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Result(r.exit_code, r.stdout, r.stderr)


def test_user_mistakes_exit_2_without_traceback(tmp_path):
    """Through the real entry point once: one line on stderr, exit code 2."""
    e = os.environ | {"PYTHONPATH": str(REPO / "src")}
    r = subprocess.run([sys.executable, "-m", "saferhub", "hub", "init", "--db", str(tmp_path / "h.sqlite3"),
                        "--admin-email", "a@hub.invalid", "--password-stdin"], input="short\n",
                       capture_output=True, text=True, env=e, timeout=300)
    assert r.returncode == 2 and "at least 12" in r.stderr and "Traceback" not in r.stderr


def _session(url):
    engine = make_engine(url)
    return engine, session_factory(engine)()


def test_init_with_password_stdin_then_login(db_url):
    r = cli("hub", "init", "--db", db_url, "--admin-email", "admin@hub.invalid", "--password-stdin",
            input="a long enough secret\n")
    assert r.returncode == 0, r.stderr
    engine, s = _session(db_url)
    with s:
        assert security.authenticate(s, "admin@hub.invalid", "a long enough secret").role == "admin"
        assert security.authenticate(s, "admin@hub.invalid", "wrong") is None
        assert audit.verify(s).ok
    engine.dispose()
    # a second admin with the same e-mail is refused cleanly
    r = cli("hub", "init", "--db", db_url, "--admin-email", "admin@hub.invalid", "--password-stdin",
            input="another long secret\n")
    assert r.returncode == 2 and "exists" in r.stderr


def test_init_refuses_short_passwords_and_generates_one(tmp_path):
    db = str(tmp_path / "hub.sqlite3")
    r = cli("hub", "init", "--db", db, "--admin-email", "a@hub.invalid", "--password-stdin", input="short\n")
    assert r.returncode == 2 and "at least 12" in r.stderr
    r = cli("hub", "init", "--db", db, "--admin-email", "a@hub.invalid", "--generate-password")
    assert r.returncode == 0, r.stderr
    password = r.stdout.split("password (shown once, store it now):", 1)[1].split()[0]
    engine, s = _session(f"sqlite:///{db}")
    with s:
        assert security.authenticate(s, "a@hub.invalid", password) is not None
    engine.dispose()


def test_db_resolution_env_and_default(tmp_path, monkeypatch):
    from saferhub.hub.db import resolve_db_url

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SAFERHUB_HUB_DB", raising=False)
    assert resolve_db_url() == f"sqlite:///{tmp_path / 'xdg' / 'saferhub' / 'hub.sqlite3'}"
    monkeypatch.setenv("SAFERHUB_HUB_DB", "postgresql://postgres@127.0.0.1:5432/x")
    assert resolve_db_url() == "postgresql+psycopg://postgres@127.0.0.1:5432/x"
    assert resolve_db_url(str(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"


def test_audit_verify_and_export_exit_codes(tmp_path):
    db = str(tmp_path / "hub.sqlite3")
    assert cli("hub", "audit-verify", "--db", db).returncode == 2  # no schema yet: a clear error
    assert cli("hub", "init", "--db", db, "--admin-email", "a@hub.invalid", "--password-stdin",
               input="a long enough secret\n").returncode == 0
    r = cli("hub", "audit-verify", "--db", db)
    assert r.returncode == 0 and "intact" in r.stdout
    out = tmp_path / "audit.json"
    assert cli("hub", "audit-export", str(out), "--db", db).returncode == 0
    assert audit.verify_records(json.loads(out.read_text())).ok
    assert cli("hub", "audit-export", str(tmp_path / "audit.txt"), "--db", db).returncode == 2
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET purpose = 'rewritten' WHERE seq = 1"))
    engine.dispose()
    r = cli("hub", "audit-verify", "--db", db)
    assert r.returncode == 1 and "row 1" in r.stderr


def test_seed_demo_on_an_empty_store_says_ingest_first(tmp_path):
    r = cli("hub", "seed-demo", "--db", str(tmp_path / "hub.sqlite3"), "--store", str(tmp_path / "store"))
    assert r.returncode == 2 and "saferhub ingest" in r.stderr


def test_rules_bad_override_is_a_clear_error(tmp_path):
    db = str(tmp_path / "hub.sqlite3")
    cli("hub", "init", "--db", db)
    r = cli("hub", "rules", "--db", db, "--set", "repeat_victim_12_months.limit=3")
    assert r.returncode == 2 and "NAME.threshold=N" in r.stderr
    r = cli("hub", "rules", "--show")
    assert r.returncode == 0 and "asb_case_review_threshold" in r.stdout


MONTHS = ("2020-10", "2020-11", "2020-12")


@pytest.fixture(scope="module")
def asb_store(tmp_path_factory):
    from saferhub.data.ingest import ingest_paths

    store = tmp_path_factory.mktemp("store")
    ingest_paths([MERSEYSIDE / f"{m}-merseyside-street.csv.gz" for m in MONTHS], store=store)
    return store


def _reference_asb() -> pd.DataFrame:
    """The same months read straight from the CSVs with pandas: the oracle for the seed."""
    frames = [pd.read_csv(MERSEYSIDE / f"{m}-merseyside-street.csv.gz") for m in MONTHS]
    df = pd.concat(frames, ignore_index=True)
    return df[(df["Crime type"] == "Anti-social behaviour") & df["Longitude"].notna()]


@pytest.mark.slow
def test_seed_demo_from_real_events(db_url, asb_store, tmp_path):
    pw = tmp_path / "demo-passwords.tsv"
    r = cli("hub", "seed-demo", "--db", db_url, "--store", str(asb_store), "--passwords-file", str(pw), "--cases", "12")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(pw.stat().st_mode) == 0o600
    accounts = pw.read_text().splitlines()[1:]
    assert len(accounts) == 15 and all(len(a.split("\t")[3]) >= 20 for a in accounts)
    assert not any(a.split("\t")[3] in r.stdout for a in accounts)  # written to the file, not printed
    ref = _reference_asb()
    points = ref.groupby([ref["Longitude"].round(6), ref["Latitude"].round(6)]).size().sort_values(ascending=False)
    engine, s = _session(db_url)
    with s:
        names = set(s.scalars(select(Agency.name)))
        assert {"Merseyside Police", "Wirral Council", "Merseyside Fire & Rescue Service", "Liverpool Early Help"} <= names
        assert s.scalar(select(func.count()).select_from(Incident)) == len(ref)
        cases = s.scalars(select(Case).order_by(Case.id)).all()
        assert len(cases) == 12 and {c.kind for c in cases} == {"repeat_location"}
        per_case = dict(s.execute(select(CaseIncident.case_id, func.count()).group_by(CaseIncident.case_id)).all())
        # the cases are the 12 busiest snap points, busiest first, each with all its ASB incidents linked
        assert [per_case[c.id] for c in cases] == points.head(12).tolist()
        assert cases[0].locked and not any(c.locked for c in cases[1:])
        plan = s.scalars(select(Plan)).one()
        assert plan.case_id == cases[1].id and plan.stage == "scanning"
        # the baseline is the real count at that point (all three months fall in the 12-month window)
        assert plan.scanning["baseline"]["count"] == points.iloc[1]
        # a user logs in with a password from the file and sees their district's cases
        email, role, agency, password = accounts[[a.split("\t")[0] for a in accounts].index(
            "coordinator.merseyside-police@demo.saferhub.invalid")].split("\t")
        assert security.authenticate(s, email, password).role == "coordinator"
        assert s.scalar(select(func.count()).select_from(User)) == 15
        assert audit.verify(s).ok
    engine.dispose()
    # seeding twice is refused (it would duplicate the partnership's cases)
    r = cli("hub", "seed-demo", "--db", db_url, "--store", str(asb_store), "--passwords-file", str(pw))
    assert r.returncode == 2 and "already has cases" in r.stderr


@pytest.mark.slow
def test_serve_starts_and_answers(tmp_path):
    """`saferhub serve` refuses a database that does not exist (it would silently start an empty
    hub); after `hub init` it listens and serves the API and the sign-in page."""
    import socket
    import time

    import httpx

    with socket.socket() as sock:  # a free port chosen by the OS, not a fixed one
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    e = os.environ | {"PYTHONPATH": str(REPO / "src")}
    db = str(tmp_path / "hub.sqlite3")
    r = cli("serve", "--db", db, "--port", str(port))
    assert r.returncode == 2 and "no hub database" in r.stderr and not os.path.exists(db)
    assert cli("hub", "init", "--db", db).returncode == 0
    # --workers defaults to the core count; two processes share --db and a form key through the environment
    proc = subprocess.Popen([sys.executable, "-m", "saferhub", "serve", "--db", db, "--workers", "2",
                             "--port", str(port)], env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(120):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.5)
        assert r.json()["ok"]
        assert "csrf_token" in httpx.get(f"http://127.0.0.1:{port}/web/login").text
        assert httpx.get(f"http://127.0.0.1:{port}/cases").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
