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
        areas: Annotated[Optional[Path], typer.Option(help="Your own neighbourhood boundaries (GeoJSON/GPKG) instead of wards.")] = None,
        name_column: Annotated[Optional[str], typer.Option(help="--areas: the column naming each area.")] = None,
        wards: Annotated[bool, typer.Option("--wards", help="Wards even when saferhub fetch stored police.uk neighbourhoods.")] = False,
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
                                         report_text=report_text or service.REPORT_TEXT, areas=areas,
                                         name_column=name_column, use_fetched=not wards)
    con = options.console()
    con.print(f"published {res['wards']} neighbourhood pages ({res['force']}, to {res['last_month']}); "
              f"{res['disclosure']}", highlight=False)
    if res.get("out"):
        con.print(f"static site: {res['out']}/index.html", highlight=False)


@survey_app.command("import")
def survey_import(files: Annotated[list[Path], typer.Argument(help="Survey CSV file(s).")],
                  mapping: Annotated[Path, typer.Option(help="The mapping YAML (columns, questions, answers).")],
                  store: options.Store = None, geo_dir: options.GeoDir = None) -> None:
    """Import survey responses: every row checked; bad rows quarantined with file, line and reason
    (<store>/survey/quarantine.csv); importing the same file again changes nothing."""
    from saferhub.community import service
    from saferhub.config import settings

    s = settings(store=store, geo_dir=geo_dir)
    for r in service.survey_import(files, mapping, s.store_path, s.geo_dir):
        why = "; ".join(f"{k}: {v}" for k, v in r["reasons"].items())
        options.console().print(f"{r['file']}: read {r['read']:,} = kept {r['kept']:,} + quarantined "
                                f"{r['quarantined']:,}{' (' + why + ')' if why else ''}", highlight=False)


@survey_app.command("simulate")
def survey_simulate(out: Annotated[Path, typer.Option("--out", help="Folder for the SIMULATED CSV and its mapping.")],
                    n: Annotated[int, typer.Option(min=10, max=1_000_000, help="Respondents per wave.")] = 2000,
                    waves: Annotated[str, typer.Option(help="Wave names, comma-separated.")] = "2025-Q1,2025-Q2",
                    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file).")] = 1,
                    geo_dir: options.GeoDir = None) -> None:
    """Write SIMULATED survey responses (labelled so wherever shown) and the mapping to import them."""
    from saferhub.community import service
    from saferhub.config import settings

    r = service.survey_simulate(out, settings(geo_dir=geo_dir).geo_dir, waves=tuple(w.strip() for w in waves.split(",") if w.strip()),
                                n_per_wave=n, seed=seed)
    options.console().print(f"SIMULATED: {r['rows']:,} responses in {r['csv']}; mapping {r['mapping']}", highlight=False)


@survey_app.command("results")
def survey_results(method: Annotated[str, typer.Option(help="Interval: beta (Korn-Graubard, Kish n_eff) or logit.")] = "beta",
                   min_base: Annotated[int, typer.Option(min=1, help="Withhold estimates from fewer respondents.")] = 50,
                   national: Annotated[str, typer.Option(help="National figures table version.")] = "csew-2025-03",
                   out: Annotated[Optional[Path], typer.Option("--out", help="Also write the results CSV here.")] = None,
                   store: options.Store = None, geo_dir: options.GeoDir = None) -> None:
    """Weighted results with 95% intervals, overall, by district and ward; publish them for /public/survey."""
    from saferhub.community import service
    from saferhub.config import settings
    from saferhub.errors import SaferhubError
    from saferhub.fsutil import write_atomic

    if method not in ("beta", "logit"):
        raise SaferhubError("--method must be beta or logit")
    s = settings(store=store, geo_dir=geo_dir)
    r = service.survey_results(s.store_path, s.geo_dir, method=method, min_base=min_base, national=national)
    if out:
        write_atomic(out, service.read_survey_product(s.store_path)["csv"])
    options.console().print(("SIMULATED survey: " if r["simulated"] else "")
                            + f"waves {', '.join(r['waves'])}; {sum(r['respondents'].values()):,} responses; "
                            f"{r['withheld']:,} cells withheld (base under {min_base}); published to /public/survey",
                            highlight=False)


def register(app: typer.Typer) -> None:
    from saferhub.briefing.commands import publish_app

    publish_app.command("neighbourhoods")(publish_neighbourhoods)
    app.add_typer(survey_app, name="survey")
