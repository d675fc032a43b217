"""CLI: `saferhub places build | import | simulate | rank | plan | measures ... | asb-agreement |
design-out`. Thin: each verb calls one function in `saferhub.places.service`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from saferhub import options

places_app = typer.Typer(help="Prevent: places (premises, facilities), problem premises, prevention measures.",
                         no_args_is_help=True)
Radius = Annotated[float, typer.Option("--radius", min=0, help="Attribute events within this many metres of a "
                                       "place (0: only at its own snap point). Each event goes to one place.")]
Types = Annotated[Optional[str], typer.Option("--types", help="Only these place types, comma-separated.")]


def _split(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _print(obj) -> None:
    import json

    options.console().print_json(json.dumps(obj, default=str))


@places_app.command("build")
def build(store: options.Store = None, force: options.Force = None, months: options.Months = None,
          geo_dir: options.GeoDir = None) -> None:
    """Build the facility register from police.uk snap points (anonymised points, not addresses)."""
    from saferhub.places import service

    _print(service.build_facility_register(store=store, force=force, months=months, geo_dir=geo_dir))


@places_app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="The partner's register (CSV).")],
            mapping: Annotated[Path, typer.Option("--mapping", help="Mapping YAML (docs/prevent.md).")],
            store: options.Store = None, geo_dir: options.GeoDir = None) -> None:
    """Import a partner's register of premises (licensed premises, care homes, schools, shops ...)."""
    from saferhub.places import service

    _print(service.import_register(file, mapping, store=store, geo_dir=geo_dir))


@places_app.command("simulate")
def simulate(out_dir: Annotated[Path, typer.Option("--out-dir")] = Path("."),
             n: Annotated[int, typer.Option("--n", min=1, max=100_000)] = 300,
             seed: Annotated[int, typer.Option("--seed")] = 1, store: options.Store = None) -> None:
    """Write a SIMULATED premises register (CSV + mapping) at the store's real street points."""
    from saferhub.places import service

    _print(service.simulate_premises(out_dir, n=n, seed=seed, store=store))


@places_app.command("rank")
def rank(months: options.Months = None, radius: Radius = 0.0, types: Types = None,
         categories: options.Categories = None, top: Annotated[int, typer.Option("--top", min=1)] = 20,
         report: Annotated[Optional[Path], typer.Option("--report", help="HTML report.")] = None,
         out: options.Out = None, publish: Annotated[bool, typer.Option("--publish/--no-publish",
                                                                        help="Publish the map layer.")] = True,
         store: options.Store = None, force: options.Force = None) -> None:
    """Rank places against their own class (problem premises), in plain words."""
    from saferhub.places import service

    ranked = service.rank(store=store, months=months, radius=radius, force=force, categories=categories,
                          types=_split(types))
    con = options.console()
    for w, r in zip(ranked["words"].head(top), ranked["rank"].head(top)):
        con.print(f"{r:>3}. {w}", highlight=False, soft_wrap=True)
    con.print(f"{int(ranked['flagged'].sum())} of {len(ranked):,} places significantly above their class "
              f"(BH FDR 5%)", highlight=False)
    if out:
        from saferhub.fsutil import write_atomic

        cols = [c for c in ranked.columns if c != "words"] + ["words"]
        write_atomic(out, ranked[cols].to_csv(index=False))
        con.print(f"wrote {out}")
    if report:
        con.print(f"wrote {service.rank_report(ranked, report, top=top)}")
    if publish:
        con.print(f"published map layer {service.publish_rank(ranked, store=store)['name']}")


@places_app.command("plan")
def plan(place_id: Annotated[str, typer.Argument(help="A place id from `saferhub places rank`.")],
         email: Annotated[str, typer.Option(help="The hub user who owns the plan.")],
         months: options.Months = None, radius: Radius = 0.0, db: options.Db = None,
         store: options.Store = None) -> None:
    """Create a one-step OSARA plan for a place, its scanning stage filled from the figures."""
    from saferhub.places import service

    with service.hub_session(db, email) as (s, user):
        result = service.place_plan(s, user, place_id, store=store, months=months, radius=radius)
        s.commit()
    _print({"plan_id": result["id"], "title": result["title"], "stage": result["stage"],
            "scanning": result["scanning"]})


measures_app = typer.Typer(help="The prevention fund's measures (CCTV, City Watch, taxi marshals, lighting ...).",
                           no_args_is_help=True)


@measures_app.command("import")
def measures_import(file: Annotated[Path, typer.Argument(help="Measures CSV (docs/prevent.md).")],
                    store: options.Store = None) -> None:
    """Import the fund's measures: where, when, cost and funding line; bad rows quarantined."""
    from saferhub.places import prevention

    _print(prevention.import_measures(file, store=store))


@places_app.command("fund")
def fund(allocated: Annotated[Optional[float], typer.Option("--allocated", min=0, help="Pounds allocated.")] = None,
         funding_line: Annotated[Optional[str], typer.Option("--funding-line")] = None,
         months_before: Annotated[int, typer.Option(min=3, max=36)] = 12,
         months_after: Annotated[int, typer.Option(min=1, max=36)] = 12,
         categories: options.Categories = None,
         report: Annotated[Optional[Path], typer.Option("--report", help="HTML report.")] = None,
         out: options.Out = None, store: options.Store = None) -> None:
    """Evaluate every measure and show the fund: allocated, spent, crimes prevented, cost per crime."""
    import json

    from saferhub.fsutil import write_atomic
    from saferhub.places import report as rep
    from saferhub.places import prevention

    view = prevention.evaluate_fund(store=store, allocated=allocated, funding_line=funding_line,
                                 months_before=months_before, months_after=months_after, categories=categories)
    _print(view["fund"])
    if out:
        write_atomic(out, json.dumps(view, default=str, indent=1))
    if report:
        write_atomic(report, rep.fund_html(view))
        options.console().print(f"wrote {report}")


@places_app.command("asb-agreement")
def asb_agreement(mapping_a: Annotated[Path, typer.Argument(help="Agency A's mapping (with an asb: section).")],
                  mapping_b: Annotated[Path, typer.Argument(help="Agency B's mapping.")],
                  minutes: Annotated[float, typer.Option(min=1, help="Same incident if within this many minutes.")] = 60,
                  metres: Annotated[float, typer.Option(min=1, help="... and within this many metres.")] = 100,
                  months: options.Months = None,
                  report: Annotated[Optional[Path], typer.Option("--report", help="HTML report.")] = None,
                  store: options.Store = None) -> None:
    """How two agencies record the same ASB incidents: Cohen's kappa and the categories that disagree."""
    from saferhub.fsutil import write_atomic
    from saferhub.places import report as rep
    from saferhub.places import prevention

    res = prevention.asb_agreement(mapping_a, mapping_b, store=store, months=months, minutes=minutes, metres=metres)
    con = options.console()
    k = res["kappa_type"]
    con.print(f"{res['matched']:,} incidents recorded by both; Cohen's kappa on the Home Office type "
              f"{k['kappa']:.2f} (observed agreement {100 * k['observed']:.0f}%)" if res["matched"] else
              "no incident recorded by both within the tolerances", highlight=False)
    for r in res["disagreements"].itertuples():
        con.print(f"  {r.incidents:>4}  {r.category_a} ({r.type_a})  vs  {r.category_b} ({r.type_b})", highlight=False)
    if report:
        write_atomic(report, rep.asb_html(res))
        con.print(f"wrote {report}")


design_app = typer.Typer(help="Designing out crime: environmental problems become actions for the responsible agency.",
                         no_args_is_help=True)
Email = Annotated[str, typer.Option(help="The hub user acting (a coordinator or caseworker).")]
Purpose = Annotated[str, typer.Option(help="Why (logged with every record read).")]


@design_app.command("raise")
def design_raise(email: Email,
                 responsible: Annotated[Optional[list[str]], typer.Option(
                     help="kind=agency-code, e.g. 'broken lighting=council-lights' (repeatable).")] = None,
                 months: options.Months = None, radius: Radius = 100.0,
                 due_days: Annotated[int, typer.Option(min=1, max=365)] = 28,
                 purpose: Purpose = "designing out crime: environmental problems and the actions raised for them",
                 db: options.Db = None, store: options.Store = None) -> None:
    """Raise one hub action per place and kind of problem (fly-tipping, broken lighting, overgrown
    shrubbery, damaged fencing, graffiti) for the agency responsible; re-running adds only new ones."""
    from saferhub.errors import SaferhubError
    from saferhub.places import prevention, service

    pairs = {}
    for item in responsible or []:
        if "=" not in item:
            raise SaferhubError(f"--responsible {item!r}: write kind=agency-code")
        k, v = item.split("=", 1)
        pairs[k.strip()] = v.strip()
    with service.hub_session(db, email) as (s, user):
        out = prevention.raise_design_out_actions(s, user, store=store, responsible=pairs, months=months,
                                               radius=radius, due_days=due_days, purpose=purpose)
        s.commit()
    _print(out)


@design_app.command("status")
def design_status(email: Email, purpose: Purpose = "designing out crime: tracking actions to done",
                  months_each_side: Annotated[int, typer.Option(min=1, max=24)] = 6, radius: Radius = 100.0,
                  db: options.Db = None, store: options.Store = None) -> None:
    """Every designing-out action, its status, and for done ones crime before and after (with intervals)."""
    from saferhub.places import prevention, service

    with service.hub_session(db, email) as (s, user):
        rows = prevention.design_out_status(s, user, store=store, purpose=purpose, months_each_side=months_each_side,
                                         radius=radius)
        s.commit()   # the purpose-logged reads
    con = options.console()
    for r in rows:
        line = f"{r['status']:>9}  {r['kind']:<20} {r['place_id']}  due {r['due_on']}"
        if r.get("result") == "estimated":
            line += (f"  before {r['before']} / after {r['after']}: x{r['rate_ratio']:.2f} "
                     f"(95% {r['low']:.2f}-{r['high']:.2f}, p={r['p']:.3f})")
        elif r.get("result"):
            line += f"  before {r['before']} / after {r['after']}: {r['result']}"
        con.print(line, highlight=False, soft_wrap=True)
    if not rows:
        con.print("no designing-out actions yet (saferhub places design-out raise)")


def register(app: typer.Typer) -> None:
    places_app.add_typer(measures_app, name="measures")
    places_app.add_typer(design_app, name="design-out")
    app.add_typer(places_app, name="places")
