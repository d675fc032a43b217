"""The CLI options every command shares, declared once: one spelling, one help text, one default.

Use them as parameter annotations: `def cmd(store: options.Store = None, months: options.Months = None)`.
Values are passed on as given; the settings object (saferhub.config) resolves `None` to the
environment variable or the default, so every command resolves paths the same way."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

Store = Annotated[Optional[Path], typer.Option(
    "--store", help="Event store folder (default: $SAFERHUB_STORE, else ~/.local/share/saferhub/store).")]
Db = Annotated[Optional[str], typer.Option(
    "--db", help="Hub database: a SQLAlchemy URL (postgresql+psycopg://...) or a SQLite file path. "
                 "Default: $SAFERHUB_HUB_DB, else ~/.local/share/saferhub/hub.sqlite3.")]
GeoDir = Annotated[Optional[Path], typer.Option(
    "--geo-dir", help="Folder with IMD 2019 / population CSVs and boundaries (default: $SAFERHUB_GEO_DIR).")]
Force = Annotated[Optional[str], typer.Option(
    "--force", help="Police force, e.g. merseyside (default: every force in the store).")]
Months = Annotated[Optional[str], typer.Option(
    "--months", help="Months, e.g. 2020-01:2020-12 or 2020-03,2020-04 (default: all in the store).")]
Categories = Annotated[Optional[str], typer.Option(
    "--categories", help="Crime categories: names, slugs or groups (grip, violence, asb...), comma-separated.")]
CellSize = Annotated[Optional[int], typer.Option(
    "--cell-size", min=10, max=100_000, help="Grid cell size in metres (default: chosen from the area and said).")]
Out = Annotated[Optional[Path], typer.Option("--out", help="Output file.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


class Units(str, Enum):
    grid = "grid"
    hex = "hex"
    lsoa = "lsoa"
    segments = "segments"


class Correction(str, Enum):
    fdr = "fdr"
    holm = "holm"
    none = "none"


def console(stderr: bool = False):
    """The console every command prints with. Markup is off: file names, place names and raw rows
    come from users' files, so "[red]" or "[/b]" in one is printed as text, never parsed (a stray
    closing tag raised MarkupError). Style with `style=` or rich.text.Text instead."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False)


def progress(total: int, label: str):
    """One Rich progress bar on stderr for every long-running command: `with bar: bar.advance(task)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console(stderr=True), transient=True)
    return bar, bar.add_task(label, total=total)
