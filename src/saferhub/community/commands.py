"""CLI: `saferhub publish neighbourhoods` (the public pages and their static export) and
`saferhub survey import | simulate | results` - thin shells over community/service.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from saferhub import options

survey_app = typer.Typer(help="Tell: the perceptions survey (import responses, simulate, weighted results).",
                         no_args_is_help=True)


def publish_neighbourhoods(
        out: Annotated[Optional[Path], typer.Option("--out", help="Also write the static site (HTML, PNG, CSV) to this folder.")] = None,
        method: Annotated[str, typer.Option(help="Disclosure control: 10-5 (suppress < threshold, round to base) or cell-key.")] = "10-5",
        threshold: Annotated[int, typer.Option(min=1, help="10-5 rule: counts under this are not shown.")] = 10,
        base: Annotated[int, typer.Option(min=1, help="10-5 rule: round the rest to this.")] = 5,
        months_shown: Annotated[int, typer.Option(min=13, max=120, help="Months in the trend.")] = 36,
        report_text: Annotated[Optional[str], typer.Option(help="How-to-report text (default: 101, 999, Crimestoppers).")] = None,
        key_file: Annotated[Optional[Path], typer.Option(help="cell-key: the secret's file (created 0600 if missing).")] = None,
        store: options.Store = None, force: options.Force = None, geo_dir: options.GeoDir = None,
        db: options.Db = None) -> None:
    """Public neighbourhood pages for every ward: crime and ASB trends, rates, similar wards, this
    year against last, patrol work, "you said, we did", posts. Served at /public/; --out DIR also
    writes a static copy that opens offline."""
    from saferhub.community import service
    from saferhub.config import settings

    s = settings(store=store, geo_dir=geo_dir, hub_db=db)
    res = service.publish_neighbourhoods(s.store_path, force, s.geo_dir, out=out, method=method, threshold=threshold,
                                         base=base, months_shown=months_shown, db=s.hub_db, key_file=key_file,
                                         report_text=report_text or service.REPORT_TEXT)
    con = options.console()
    con.print(f"published {res['wards']} neighbourhood pages ({res['force']}, to {res['last_month']}); "
              f"{res['disclosure']}", highlight=False)
    if res.get("out"):
        con.print(f"static site: {res['out']}/index.html", highlight=False)


def register(app: typer.Typer) -> None:
    from saferhub.briefing.commands import publish_app

    publish_app.command("neighbourhoods")(publish_neighbourhoods)
    app.add_typer(survey_app, name="survey")
