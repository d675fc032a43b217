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


def age(hours: float | None) -> str:
    """A plain age: '23 hours', '1 day 1 hour', '4 days 23 hours' (whole hours, rounded down)."""
    if hours is None:
        return ""
    h = max(0, int(hours))
    days, h = divmod(h, 24)
    parts = ([f"{days} day{'s' * (days != 1)}"] if days else []) + ([f"{h} hour{'s' * (h != 1)}"] if h or not days else [])
    return " ".join(parts)


env.filters["age"] = age


def month(text) -> str:
    """'2020-10' (or a date) -> 'October 2020'."""
    import datetime as dt

    return "" if not text else dt.date.fromisoformat(str(text)[:7] + "-01").strftime("%B %Y")


env.filters["month"] = month
