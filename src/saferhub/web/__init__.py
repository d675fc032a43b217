"""The web's templates (Jinja) and static assets (CSS, JS, vendored Leaflet with its licence).

Only files and one template environment live here; pages (saferhub.api.pages) and the briefing
renderer (saferhub.briefing.render) both use `env`."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).resolve().parent
env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)
env.filters["thousands"] = lambda n: "" if n is None else f"{int(n):,}"
env.filters["minutes"] = lambda v: "" if v is None or v != v else f"{v:.0f}"
env.filters["pct"] = lambda v: "" if v is None else f"{v:.0f}%"
env.filters["when"] = lambda t: "" if t is None else (t.strftime("%d %b %Y %H:%M") if hasattr(t, "hour")
                                                      else t.strftime("%d %b %Y"))
