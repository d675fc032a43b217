"""CLI for the data layer: ingest, fetch, status, quarantine. Thin: parse options, call, print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from saferhub import options
from saferhub.options import progress as _progress

console = options.console()


def _base(name: str) -> str:
    """A member's own file name ('archive.zip!2019-07/x.csv' -> 'x.csv')."""
    return Path(name.split("!")[-1]).name


def _ingest_table(report) -> Table:
    """One row per file. A data.police.uk name already says the month and kind, so when every
    file has one those columns are left out and the name is shown without its extension: the
    table then fits a 100-column terminal without folding the names."""
    from rich import box

    from saferhub.data.sources import POLICE_NAME

    names = [_base(f.name) for f in report.files]
    police = all(POLICE_NAME.search(n) for n in names)
    table = Table(title=f"ingest into {report.store}", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    cols = ("file",) + (() if police else ("kind", "months")) + ("read", "stored", "quarantined", "unlocated", "change")
    for col in cols:
        numeric = col in ("read", "stored", "quarantined", "unlocated")
        table.add_column(col, justify="right" if numeric else "left", overflow="fold", no_wrap=numeric)
    for name, f in zip(names, report.files):
        months = f.months[0] if len(f.months) == 1 else (f"{f.months[0]}..{f.months[-1]}" if f.months else "-")
        shown = name.removesuffix(".gz").removesuffix(".csv") if police else name
        table.add_row(shown, *(() if police else (f.kind, months)), f"{f.read:,}", f"{f.stored:,}",
                      f"{f.quarantined:,}", f"{f.unlocated:,}", f.change)
    return table


MAX_FILE_ROWS = 200   # past this, the ingest prints one row per force, not per file


def _force_table(forces) -> Table:
    """One row per force: its files summed, and whether they balance (read = stored + quarantined
    + ignored)."""
    table = Table(title="by force")
    for col in ("force", "files", "read", "stored", "quarantined", "ignored", "balanced"):
        table.add_column(col, justify="left" if col == "force" else "right")
    for t in forces:
        table.add_row(t.force, f"{t.files:,}", f"{t.read:,}", f"{t.stored:,}", f"{t.quarantined:,}",
                      f"{t.ignored:,}", "yes" if t.balanced else "NO")
    return table


def ingest(
    paths: List[Path] = typer.Argument(..., help="CSV / .csv.gz files, folders, or data.police.uk .zip archives."),
    kind: str = typer.Option("police", help="police (data.police.uk street/outcomes/stop-and-search) or incidents (partner records)."),
    mapping: Optional[Path] = typer.Option(None, help="Column mapping YAML for --kind incidents (docs/ingest.md)."),
    replace_older: bool = typer.Option(False, help="Let an older copy of a force-month replace a newer stored one."),
    far_km: Optional[float] = typer.Option(None, help="Quarantine points more than this many km outside the force's area: its boundary when known, else the bulk of the file's points (default 20)."),
    max_expanded_mb: Optional[float] = typer.Option(None, min=1, help="Refuse any file that expands past this many MB (default $SAFERHUB_MAX_EXPANDED_MB, else 128)."),
    max_expansion_ratio: Optional[float] = typer.Option(None, min=1, help="Refuse any file over 16 MB expanded that expands more than this many times its stored size (default 100)."),
    geo_dir: options.GeoDir = None,
    as_json: options.Json = False,
    store: options.Store = None,
):
    """Validate and load files into the event store; bad rows go to quarantine, nothing is lost."""
    from saferhub.data.archive import per_force
    from saferhub.data.ingest import ingest_paths
    from saferhub.data.sources import discover

    total = len(discover(paths))
    progress, task = _progress(total, "ingesting")
    with progress:
        report = ingest_paths(paths, store, kind=kind, mapping=mapping, replace_older=replace_older,
                              far_km=far_km, max_expanded_mb=max_expanded_mb,
                              max_expansion_ratio=max_expansion_ratio, geo_dir=geo_dir,
                              on_file=lambda name: progress.advance(task))
    if as_json:
        print(json.dumps(report.as_dict(), indent=1))
        return
    forces = per_force(report)
    if len(report.files) <= MAX_FILE_ROWS:
        console.print(_ingest_table(report))
    else:   # a national archive: thousands of files; one row per force instead
        console.print(f"{len(report.files):,} files (one row each with --json)")
    if len(forces) > 1:
        console.print(_force_table(forces))
    for f in report.files:
        if f.ignored_columns:
            console.print(f"{_base(f.name)}: column(s) not stored (no data.police.uk "
                          f"{f.kind} file has them): {', '.join(f.ignored_columns)}")
    read = sum(f.read for f in report.files)
    stored = sum(f.stored for f in report.files)
    quarantined = sum(f.quarantined for f in report.files)
    ignored = sum(f.ignored for f in report.files)
    console.print(f"read {read:,} = stored {stored:,} + quarantined {quarantined:,}"
                  + (f" + ignored (older copies) {ignored:,}" if ignored else "")
                  + f"; rows in store {report.rows_before:,} -> {report.rows_after:,} ({report.added:+,})")
    warned = sum(f.warnings for f in report.files)
    if warned:
        console.print(f"warnings: {warned:,} stored row(s) repeat a Crime ID of an earlier row (each kept, "
                      "with its own id)")
    if quarantined or warned:
        console.print("see the quarantined rows and warnings with: saferhub quarantine --out quarantine.csv")


def status(store: options.Store = None, as_json: options.Json = False):
    """What the store holds: forces, months, rows by category, unlocated and quarantined rows."""
    from saferhub.data.status import store_status

    s = store_status(store)
    if as_json:
        print(json.dumps(s, indent=1))
        return
    console.print(f"store {s['store']}  ({s['files_ingested']} files ingested)")
    if not s["forces"]:
        console.print("The store holds no crime or incident data yet: run `saferhub ingest PATH`.")
    forces = Table(title="forces")
    for col in ("force", "first month", "last month", "months", "missing months"):
        forces.add_column(col)
    for f in s["forces"]:
        forces.add_row(f["force"], f["first_month"], f["last_month"], str(f["months"]),
                       ", ".join(f["missing_months"]) or "none")
    if s["forces"]:
        console.print(forces)
    cats = Table(title="rows by category")
    for col in ("source", "category", "rows", "unlocated"):
        cats.add_column(col, justify="right" if col in ("rows", "unlocated") else "left")
    for c in s["by_category"]:
        cats.add_row(c["source"], c["category"], f"{c['rows']:,}", f"{c['unlocated']:,}")
    if s["by_category"]:
        console.print(cats)
    r = s["rows"]
    console.print(f"events {r['events']:,} (unlocated {s['unlocated_events']:,}); outcomes {r['outcomes']:,}; "
                  f"stop and search {r['stop_search']:,}")
    console.print(f"quarantined rows: {s['quarantined']:,}")
    for reason, n in s["quarantined_by_reason"].items():
        console.print(f"  {n:>8,}  {reason}")
    console.print(f"warnings (rows stored): {s['warnings']:,}")
    for reason, n in s["warnings_by_reason"].items():
        console.print(f"  {n:>8,}  {reason}")


def quarantine_cmd(store: options.Store = None,
                   out: Optional[Path] = typer.Option(None, help="Write the rows to this CSV (default: print).")):
    """List quarantined rows and warnings: file, line, reason and the raw text, to fix and re-ingest."""
    from saferhub.data.store import quarantine_report
    from saferhub.fsutil import write_atomic

    df = quarantine_report(store)
    if out:
        write_atomic(out, df.to_csv(index=False))
        n_warn = int((df["kind"] == "warning").sum())
        console.print(f"{len(df) - n_warn:,} quarantined rows and {n_warn:,} warnings written to {out}")
    else:
        for row in df.itertuples():
            console.print(f"{row.file}:{row.line}: {row.kind}: {row.reason}", highlight=False, soft_wrap=True)


def fetch(
    force: str = typer.Option(..., "--force", help="Force id or name, e.g. merseyside or 'Merseyside Police'; 'all': every force the API lists."),
    from_month: str = typer.Option(..., "--from", help="First month, YYYY-MM."),
    to_month: Optional[str] = typer.Option(None, "--to", help="Last month, YYYY-MM (default: the --from month)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", envvar="SAFERHUB_POLICE_API",
                                           help="police.uk API root (default https://data.police.uk/api)."),
    refresh: bool = typer.Option(False, help="Fetch months the store already holds again and replace them."),
    as_json: options.Json = False,
    store: options.Store = None,
):
    """Download street crimes for a force (or every force: --force all) and months from the police.uk API into the store."""
    from saferhub.data.fetch import fetch as fetch_months

    if force.strip().lower() == "all":
        return _fetch_all((from_month, to_month or from_month), store, base_url, refresh, as_json)

    progress, task = _progress(1, "fetching")
    with progress:
        def on_step(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=label)

        report = fetch_months(force, (from_month, to_month or from_month), store, base_url=base_url,
                              refresh=refresh, on_step=on_step)
    if as_json:
        print(json.dumps(report.as_dict(), indent=1))
        return
    if report.fetched:
        table = Table(title=f"fetch {report.force} from {report.base_url} into {report.store}")
        table.add_column("month", no_wrap=True)
        for col in ("read", "stored", "quarantined", "unlocated", "queries"):
            table.add_column(col, justify="right")
        table.add_column("change", no_wrap=True)
        for m in report.fetched:
            table.add_row(m.month, f"{m.read:,}", f"{m.stored:,}", f"{m.quarantined:,}", f"{m.unlocated:,}",
                          f"{m.queries:,}", m.change)
        console.print(table)
        splits = sum(m.splits for m in report.fetched)
        btp = sum(m.other_force for m in report.fetched)
        console.print(f"{splits:,} area(s) split because the API said they held over 10,000 crimes; "
                      f"{btp:,} British Transport Police crime(s) left out (published under force btp)")
        if any(m.quarantined for m in report.fetched):
            console.print("see the quarantined rows with: saferhub quarantine --out quarantine.csv")
    if report.no_boundary:
        console.print(f"warning: {len(report.no_boundary)} neighbourhood(s) have no usable boundary "
                      f"and were not searched: {', '.join(report.no_boundary)}")
    if report.boundary_file:
        console.print(f"force outline (union of its neighbourhoods) saved to {report.boundary_file}; "
                      "later ingests of this force check points against it")
    if report.details_file:
        console.print(f"neighbourhood teams, priorities and events (for the public pages) saved to {report.details_file}")
    if report.skipped:
        console.print(f"already in the store (use --refresh to fetch again): {', '.join(report.skipped)}")
    console.print(f"{report.requests:,} API requests ({report.retries:,} retried, {report.throttled:,} throttled); "
                  f"{len(report.fetched)} month(s) fetched, {len(report.skipped)} skipped")


def _fetch_all(months, store, base_url, refresh, as_json) -> None:
    from saferhub.data.archive import fetch_all

    progress, task = _progress(1, "forces")
    with progress:
        def on_force(force: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=force)

        report = fetch_all(months, store, base_url=base_url, refresh=refresh, on_force=on_force)
    if as_json:
        print(json.dumps(report.as_dict(), indent=1))
    else:
        table = Table(title=f"fetch every force from {report.base_url}")
        for col in ("force", "months fetched", "read", "stored", "quarantined", "skipped"):
            table.add_column(col, justify="left" if col == "force" else "right")
        for f, r in report.reports.items():
            table.add_row(f, str(len(r.fetched)), f"{sum(m.read for m in r.fetched):,}",
                          f"{sum(m.stored for m in r.fetched):,}", f"{sum(m.quarantined for m in r.fetched):,}",
                          str(len(r.skipped)))
        console.print(table)
    err = options.console(stderr=True)
    for f, why in sorted(report.failures.items()):
        err.print(f"{f}: FAILED: {why}", style="bold red", highlight=False, soft_wrap=True)
    err.print(f"{len(report.reports)} of {len(report.forces)} forces fetched; {len(report.failures)} failed",
              highlight=False)
    if report.failures:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("fetch")(fetch)
    app.command("status")(status)
    app.command("quarantine")(quarantine_cmd)
