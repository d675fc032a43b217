"""CLI: `saferhub serve` and `saferhub hub init | seed-demo | audit-verify | audit-export |
audit-checkpoint | audit-rotate-key | rules | simulate-missing`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from saferhub import options

DbOpt = Annotated[Optional[str], typer.Option(
    "--db", help="Hub database: a SQLAlchemy URL (postgresql+psycopg://...) or a SQLite file path. "
                 "Default: $SAFERHUB_HUB_DB, else <data dir>/saferhub/hub.sqlite3.")]

hub_app = typer.Typer(help="The multi-agency hub: set up, seed, check the audit log, run rules.",
                      no_args_is_help=True)


def _session(db: str | None, migrate: bool = False):
    from saferhub.hub.db import make_engine, resolve_db_url, session_factory, upgrade

    url = resolve_db_url(db)
    if migrate:
        upgrade(url)
    engine = make_engine(url)
    return url, engine, session_factory(engine)()


def _require_schema(db_session) -> None:
    from sqlalchemy import inspect

    from saferhub.errors import SaferhubError

    if not inspect(db_session.get_bind()).has_table("audit_head"):
        raise SaferhubError("the hub database has no schema yet; run `saferhub hub init` first")


@hub_app.command("init")
def init(
    db: DbOpt = None,
    admin_email: Annotated[Optional[str], typer.Option(help="Create this first administrator.")] = None,
    admin_name: Annotated[str, typer.Option(help="The administrator's name.")] = "Hub administrator",
    agency_code: Annotated[str, typer.Option(help="Code of the administrator's agency.")] = "hub",
    agency_name: Annotated[str, typer.Option(help="Name of the administrator's agency.")] = "Community Safety Partnership hub",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    generate_password: Annotated[bool, typer.Option("--generate-password",
                                                    help="Generate a password and print it once.")] = False,
) -> None:
    """Create or upgrade the schema (Alembic); optionally add the first admin. No default passwords."""

    from saferhub.errors import SaferhubError
    from saferhub.hub import security, services
    from saferhub.hub.db import safe_url

    console = options.console()
    if password_stdin and generate_password:
        raise SaferhubError("choose --password-stdin or --generate-password, not both")
    url, engine, s = _session(db, migrate=True)
    console.print(f"hub schema is up to date in {safe_url(url)}")
    _init_audit_key(s, console)
    if not admin_email:
        return
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif generate_password:
        password = security.generate_password()
    else:
        password = typer.prompt("Password for " + admin_email, hide_input=True, confirmation_prompt=True)
    with s:
        services.first_admin(s, email=admin_email, password=password, name=admin_name,
                             agency_code=agency_code, agency_name=agency_name)
        s.commit()
    console.print(f"created administrator {admin_email} (agency {agency_code})")
    if generate_password:
        console.print(f"password (shown once, store it now): {password}", highlight=False)
    engine.dispose()


def _init_audit_key(s, console) -> None:
    """Create the audit keyring when missing and sign the chain's head (a legacy chain included)."""
    from saferhub.errors import SaferhubError
    from saferhub.hub import audit, auditkey

    ring, created = auditkey.ensure()
    if created:
        console.print(f"created the audit key file {ring.path} (mode 0600): back it up, and keep it off "
                      "the database server if you can")
    with s:  # a key made just now: the rows already there are the legacy prefix the witness records
        v, _ = audit.write_checkpoint(s, ring, bootstrap=created)
    if not v.ok:
        raise SaferhubError(f"the audit log does not verify ({v.problem}); not signing it")


@hub_app.command("seed-demo")
def seed_demo(
    db: DbOpt = None,
    store: Annotated[Optional[str], typer.Option("--store", help="Event store folder (default as `ingest`).")] = None,
    passwords_file: Annotated[Optional[Path], typer.Option(
        help="Write the demo users' generated passwords here (mode 0600) instead of printing them.")] = None,
    cases: Annotated[int, typer.Option(min=1, max=100000, help="How many repeat-location cases to open.")] = 40,
) -> None:
    """Load a demo partnership for the store's force: agencies, users per role, cases built from real ASB events."""

    from saferhub.hub import seed

    console = options.console()
    url, engine, s = _session(db, migrate=True)
    frame = seed.load_asb_events(store)
    with s:
        from saferhub.config import settings

        result = seed.seed_demo(s, frame, n_cases=cases, force=seed.store_force(store), geo_dir=settings().geo_dir)
        s.commit()
    console.print(f"seeded {result['agencies']} agencies, {len(result['users'])} users, {result['cases']} cases, "
                  f"{result['incidents']:,} incidents; rule flags: {result['flags']}")
    lines = [f"{u['email']}\t{u['role']}\t{u['agency']}\t{u['password']}" for u in result["users"]]
    if passwords_file:
        import os

        fd = os.open(passwords_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("email\trole\tagency\tpassword\n" + "\n".join(lines) + "\n")
        os.chmod(passwords_file, 0o600)
        console.print(f"demo users' passwords written to {passwords_file} (mode 0600)")
    else:
        console.print("demo users (passwords shown once):")
        for line in lines:
            console.print(line, highlight=False)
    engine.dispose()


@hub_app.command("audit-verify")
def audit_verify(
    db: DbOpt = None,
    witness: Annotated[Optional[list[Path]], typer.Option(
        "--witness", help="Also check this copy of the checkpoint file kept elsewhere (repeatable).")] = None,
) -> None:
    """Check the audit log's chain, each row's MAC (audit key file) and the signed checkpoints; exit 1
    and name the first bad row if it was tampered with (or the key is missing or wrong)."""

    from saferhub.errors import SaferhubError
    from saferhub.hub import audit

    for copy in witness or []:
        if not copy.is_file():
            raise SaferhubError(f"--witness {copy}: no such file")
    _, engine, s = _session(db)
    with s:
        _require_schema(s)
        v = audit.verify(s, copies=witness or [])
    engine.dispose()
    if v.ok:
        legacy = f"; {v.legacy:,} rows from before audit keys (chain and checkpoints only)" if v.legacy else ""
        options.console().print(f"audit log intact: {v.rows:,} rows verified with the audit key, "
                        f"{v.checkpoints:,} signed checkpoints match{legacy}")
        return
    first = f"first bad row {v.first_bad_seq}: " if v.first_bad_seq else ""
    options.console(stderr=True).print(f"audit log broken: {first}{v.problem} ({v.rows:,} rows verified before it)",
                                       style="bold red")
    raise typer.Exit(1)


@hub_app.command("audit-checkpoint")
def audit_checkpoint(
    db: DbOpt = None,
    repair_witness: Annotated[bool, typer.Option(
        "--repair-witness", help="Also sign when the only problem is that the checkpoint file stops short of the "
                                 "database (deleted or shortened, or a crash before a checkpoint): after you have "
                                 "checked why.")] = False,
) -> None:
    """Verify the log, then append a signed checkpoint of its head to the file beside the audit key
    (run it from cron; a truncation back past any checkpoint is then detected)."""

    from saferhub.hub import audit, checkpoint

    _, engine, s = _session(db)
    with s:
        _require_schema(s)
        v, entry = audit.write_checkpoint(s, repair=repair_witness)
    engine.dispose()
    if entry is None:
        options.console(stderr=True).print(f"audit log broken, not signed: {v.problem}", style="bold red")
        raise typer.Exit(1)
    from saferhub.hub import auditkey

    options.console().print(f"checkpoint of row {entry['seq']:,} written to {checkpoint.path_for(auditkey.load())}")


@hub_app.command("audit-rotate-key")
def audit_rotate_key(db: DbOpt = None) -> None:
    """Start signing new audit rows with a fresh key. Old keys stay in the file (rows name their key
    id), so the whole log still verifies; the head is checkpointed under the new key."""

    from saferhub.errors import SaferhubError
    from saferhub.hub import audit, auditkey

    _, engine, s = _session(db)
    with s:
        _require_schema(s)
        v = audit.verify(s)
        if not v.ok:
            raise SaferhubError(f"the audit log does not verify ({v.problem}); rotate only a sound log")
        ring = auditkey.rotate()
        audit.append(s, user=None, action="rotate", entity="audit_key", entity_ids=[],
                     purpose=f"audit key rotated to {ring.current}")
        s.commit()
        audit.write_checkpoint(s, ring)
    engine.dispose()
    options.console().print(f"new audit key {ring.current} is current ({len(ring.keys)} keys in {ring.path})")


@hub_app.command("audit-export")
def audit_export(
    out: Annotated[Path, typer.Argument(help="Output file (.csv or .json).")],
    db: DbOpt = None,
) -> None:
    """Export the audit log with its hashes (CSV or JSON by the file's extension)."""

    from saferhub.errors import SaferhubError
    from saferhub.hub import audit
    from saferhub.fsutil import write_atomic

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        raise SaferhubError(f"{out}: use a .csv or .json file name")
    _, engine, s = _session(db)
    with s:
        _require_schema(s)
        text = audit.export(s, fmt)
        audit.append(s, user=None, action="export", entity="audit", entity_ids=[], purpose=f"audit export to {out.name}")
        s.commit()
    engine.dispose()
    write_atomic(out, text)
    options.console().print(f"wrote {out}")


@hub_app.command("rules")
def rules_cmd(
    db: DbOpt = None,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Override a rule: NAME.threshold=N or NAME.window=N (repeatable).")] = None,
    show: Annotated[bool, typer.Option("--show", help="Only list the rules and their thresholds.")] = False,
) -> None:
    """Evaluate the rules (frequent callers, repeat victims/locations, Case Review) over all incidents."""
    import time

    from rich.table import Table

    from saferhub.errors import SaferhubError
    from saferhub.hub import rules as rules_mod
    from saferhub.hub import services

    overrides: dict[str, dict] = {}
    for item in set_ or []:
        try:
            key, value = item.split("=", 1)
            name, field = key.rsplit(".", 1)
            if field not in ("threshold", "window"):
                raise ValueError
            overrides.setdefault(name, {})[field] = int(value)
        except ValueError:
            raise SaferhubError(f"--set {item!r}: write NAME.threshold=N or NAME.window=N") from None
    console = options.console()
    if show:
        t = Table("rule", "version", "subject", "threshold", "window", "categories")
        for r in rules_mod.DEFAULT_RULES:
            t.add_row(r.name, str(r.version), r.subject, str(r.threshold), f"{r.window} {r.unit}(s)",
                      ", ".join(r.categories or ()) or "all")
        console.print(t)
        return
    _, engine, s = _session(db)
    with s:
        _require_schema(s)
        t0 = time.perf_counter()
        with console.status("evaluating rules over the hub's incidents"):
            result = services.run_rules(s, None, overrides)
        from saferhub.hub import audit

        audit.append(s, user=None, action="evaluate", entity="rules", entity_ids=[], purpose="saferhub hub rules",
                     detail={"flags": result["flags"]})
        s.commit()
    engine.dispose()
    console.print(f"{result['incidents']:,} incidents in {time.perf_counter() - t0:.1f} s")
    for name, n in sorted(result["flags"].items()):
        console.print(f"  {name}: {n:,} flagged")


@hub_app.command("simulate-missing")
def simulate_missing(
    db: DbOpt = None,
    days: Annotated[int, typer.Option(min=1, max=730, help="How many days of episodes, up to now.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed and day give the same episodes).")] = 25,
    passwords_file: Annotated[Optional[Path], typer.Option(
        help="Append the simulated care provider's demo sign-ins here (mode 0600) instead of printing them.")] = None,
) -> None:
    """Add SIMULATED missing episodes (homes, children, episodes, return interviews) to a seeded demo
    hub, then run the missing-episode rules. Labelled simulated everywhere; a second run adds nothing."""
    from saferhub.hub.missing_simulate import simulate_missing as simulate

    console = options.console()
    _, engine, s = _session(db, migrate=True)
    with s:
        _require_schema(s)
        result = simulate(s, days=days, seed=seed)
        s.commit()
    engine.dispose()
    if result.get("note"):
        console.print(f"missing episodes: {result['note']}; nothing added")
        return
    console.print(f"SIMULATED missing episodes: {result['homes']} homes, {result['people']} people, "
                  f"{result['episodes']} episodes over {days} days; rules raised {result['alerts']} alerts and "
                  f"{result['referrals']} referrals")
    lines = [f"{u['email']}\t{u['role']}\t{u['agency']}\t{u['password']}" for u in result["users"]]
    if lines and passwords_file:
        import os

        fd = os.open(passwords_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(passwords_file, 0o600)
        console.print(f"the simulated care provider's sign-ins were added to {passwords_file}")
    elif lines:
        console.print("the simulated care provider's demo users (passwords shown once):")
        for line in lines:
            console.print(line, highlight=False)


def serve(
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="Server processes (default: one per CPU core).")] = None,
) -> None:
    """Start the hub web service (API docs at /docs, sign-in page at /web/login)."""
    import os

    import uvicorn

    from saferhub.config import settings
    from saferhub.errors import SaferhubError
    from saferhub.hub.db import resolve_db_url, sqlite_path, upgrade

    config = settings(hub_db=db)
    url = resolve_db_url(config.hub_db)
    path = sqlite_path(url)
    if path is not None and not path.exists():  # a typo must not start an empty hub
        raise SaferhubError(f"no hub database at {path}; create it with `saferhub hub init --db {path}` "
                            "(serve never creates one)")
    upgrade(url)  # brings an existing schema up to this version's migrations
    _require_audit_key(url)
    workers = workers or os.cpu_count() or 1
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1; the hub
    # decides itself, from the `trusted_proxies` setting (saferhub.hub.security.client_address)
    if workers == 1:
        from saferhub.api.app import create_app

        uvicorn.run(create_app(url, config=config), host=host, port=port, log_level="info",
                    proxy_headers=False)
        return
    # Several processes (uvicorn's, measured against granian and uvloop in benchmarks/RESULTS.md,
    # issue 22): each builds the app from the environment, so hand them the database and one
    # form-signing key (a random one for this run unless SAFERHUB_SECRET is set). Each process
    # has its own audit batch writer; the chain head's row lock orders their batches.
    os.environ["SAFERHUB_HUB_DB"] = url
    if not config.secret:
        import secrets

        os.environ["SAFERHUB_SECRET"] = secrets.token_hex(32)
    from saferhub.api.serving import run_workers

    run_workers("saferhub.api.app:from_settings", host=host, port=port, workers=workers)  # Nagle off


def _require_audit_key(url: str) -> None:
    """A hub with audit rows must have its key file before it serves (else every read would fail)."""
    from saferhub.hub import auditkey
    from saferhub.hub.db import make_engine
    from saferhub.hub.models import AuditHead

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            seq = conn.execute(AuditHead.__table__.select()).first().seq
    finally:
        engine.dispose()
    if seq > 0:
        auditkey.load()  # AuditKeyError (exit 2) names the file and what to do


def register(app: typer.Typer) -> None:
    app.add_typer(hub_app, name="hub")
    app.command("serve")(serve)
