"""The public pages, charts and CSVs from the public model (already disclosure-controlled).

One set of templates (community/templates) serves both the live pages (/public/...) and the static
export (a folder any web server can host, opening offline): `Links` says how a page points at
another page, a chart or a CSV in each. No inline scripts or styles (the app's CSP forbids them):
one stylesheet, web/static/public.css, copied into the export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from saferhub.errors import SaferhubError


HERE = Path(__file__).resolve().parent
CSS = HERE.parent / "web" / "static" / "public.css"
MARKER = ".saferhub-public"
env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)
env.filters["num"] = lambda v: "not shown" if v is None else f"{v:,}"
env.filters["pct1"] = lambda v: "" if v is None else f"{100 * v:.0f}%"
env.filters["pts"] = lambda v: f"{v:+.0f}"
env.globals["survey_chart"] = lambda q: "survey/" + q.replace("_", "-") + ".png"
env.filters["rate"] = lambda v: "not shown" if v is None else f"{v:,.1f}"


@dataclass(frozen=True)
class Links:
    """Where things are: the live site (`/public/...`) or the static export (relative files)."""

    static: bool
    has_survey: bool = False

    def home(self) -> str:
        return "index.html" if self.static else "/public/"

    def ward(self, slug: str) -> str:
        return f"{slug}.html" if self.static else f"/public/{slug}"

    def chart(self, name: str) -> str:
        return f"charts/{name}" if self.static else f"/public/charts/{name}"

    def csv(self, name: str) -> str:
        return f"csv/{name}" if self.static else f"/public/csv/{name}"

    def survey(self) -> str:
        return "survey.html" if self.static else "/public/survey"

    def css(self) -> str:
        return "public.css" if self.static else "/web/static/public.css"


def _month_label(m: str) -> str:
    import datetime as dt

    return dt.date.fromisoformat(m + "-01").strftime("%b %Y")


env.filters["month"] = _month_label


def index_html(model: dict, links: Links, survey: dict | None = None) -> str:
    districts: dict[str, list] = {}
    for w in model["wards"]:
        districts.setdefault(w["district"], []).append(w)
    return env.get_template("index.html").render(model=model, districts=districts, links=links, survey=survey,
                                                 title="Your neighbourhood: crime, patrols and what we did")


def ward_html(model: dict, ward: dict, links: Links, today: dt.date | None = None) -> str:
    """`today`: the page's date, which decides which police.uk events are still to come (the
    export's is the publish date; a live page's is the day it is served)."""
    if today is None:
        today = dt.date.fromisoformat(model["today"]) if links.static and model.get("today") else dt.date.today()
    return env.get_template("ward.html").render(model=model, w=ward, links=links, upcoming=upcoming(ward, today),
                                                today=today, title=f"{ward['name']} ({ward['district']})")


def upcoming(ward: dict, today: dt.date) -> list[dict]:
    """The police.uk events of a ward not yet over on `today` (an event with no end counts by its start)."""
    events = (ward.get("police_uk") or {}).get("events") or []
    return [e for e in events if (e.get("end") or e["start"])[:10] >= today.isoformat()]


def _day(iso: str | None) -> str:
    return "" if not iso else dt.datetime.fromisoformat(iso).strftime("%-d %b %Y")


def _when(e: dict) -> str:
    """'Sun 20 Dec 2026, 10:00 to 12:00' (midnight start = a whole-day event: no times)."""
    start = dt.datetime.fromisoformat(e["start"])
    text = start.strftime("%a %-d %b %Y")
    end = dt.datetime.fromisoformat(e["end"]) if e.get("end") else None
    if start.time() != dt.time(0):
        text += start.strftime(", %H:%M")
        if end and end.date() == start.date():
            text += end.strftime(" to %H:%M")
    if end and end.date() != start.date():
        text += " to " + end.strftime("%a %-d %b %Y")
    return text


env.filters["day"] = _day
env.filters["when"] = _when


def survey_html(survey: dict, links: Links) -> str:
    return env.get_template("survey.html").render(s=survey, links=links, title="What residents told us")


# ---------------------------------------------------------------- CSV (spreadsheet-clean)

def ward_csv(ward: dict) -> str:
    """Month, crime, ASB (blank = not shown), one row per month; plain ASCII header, ISO months."""
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\r\n")
    wr.writerow(["ward_code", "ward", "month", "crimes", "asb_reports", "note"])
    for m, c, a in zip(ward["crime"]["months"], ward["crime"]["monthly"], ward["asb"]["monthly"]):
        note = "" if c is not None and a is not None else "blank = fewer than the threshold, not shown"
        wr.writerow([ward["code"], ward["name"], m, "" if c is None else c, "" if a is None else a, note])
    return buf.getvalue()


def summary_csv(model: dict) -> str:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\r\n")
    wr.writerow(["ward_code", "ward", "district", "population_mid2015", "crimes_last_12_months",
                 "crimes_per_1000", "asb_last_12_months", "asb_per_1000", "crime_change_pct_year_to_date",
                 "crime_change_low_pct", "crime_change_high_pct", "crime_change_called", "patrol_visits_since",
                 "patrol_simulated"])
    for w in model["wards"]:
        y, p = w["crime"]["yoy"], w["patrol"] or {}
        wr.writerow([w["code"], w["name"], w["district"], w["population"], _b(w["crime"]["year"]),
                     _b(w["crime"]["rate_per_1000"]), _b(w["asb"]["year"]), _b(w["asb"]["rate_per_1000"]),
                     _b(y.get("change_pct")), _b(y.get("low_pct")), _b(y.get("high_pct")), y["result"],
                     _b(p.get("total_visits")), "yes" if p.get("simulated") else ("no" if p else "")])
    return buf.getvalue()


def _b(v):
    return "" if v is None else v


# ---------------------------------------------------------------- charts

def write_charts(model: dict, folder: Path) -> list[Path]:
    """Per ward: <slug>-trend.png (monthly crime and ASB; gaps where a month is not shown) and,
    when there is patrol work, <slug>-patrol.png (visits per week)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 2.8), dpi=80)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.22, top=0.9, wspace=0.18)  # fixed: tight_layout per ward is slow
    pfig, pax = plt.subplots(figsize=(8.4, 2.4), dpi=80)
    pfig.subplots_adjust(left=0.06, right=0.99, bottom=0.15, top=0.88)
    for w in model["wards"]:
        for ax, group, colour in ((axes[0], "crime", "#1f4e79"), (axes[1], "asb", "#b35806")):
            ax.clear()
            s = w[group]
            y = [float("nan") if v is None else v for v in s["monthly"]]
            ax.plot(range(len(y)), y, color=colour, marker="o", markersize=2.5, linewidth=1.5)
            ticks = list(range(0, len(y), max(1, len(y) // 6)))
            ax.set_xticks(ticks, [_month_label(s["months"][i]) for i in ticks], fontsize=7, rotation=30)
            ax.set_title("Crimes per month" if group == "crime" else "Anti-social behaviour per month", fontsize=9)
            ax.set_ylim(bottom=0)
            ax.tick_params(axis="y", labelsize=7)
            ax.spines[["top", "right"]].set_visible(False)
        path = folder / f"{w['slug']}-trend.png"
        fig.savefig(path)
        written.append(path)
        p = w.get("patrol")
        if p and p.get("weeks"):
            pax.clear()
            v = [0 if x is None else x for x in p["visits"]]
            pax.bar(range(len(v)), v, color=["#9ecae1" if x is None else "#2171b5" for x in p["visits"]])
            pax.set_xticks(range(len(v)), [f"w/c {x[5:]}" for x in p["weeks"]], fontsize=7)
            pax.set_title(("SIMULATED: " if p.get("simulated") else "") + "Foot patrol visits in hotspot areas per week",
                          fontsize=9)
            pax.spines[["top", "right"]].set_visible(False)
            path = folder / f"{w['slug']}-patrol.png"
            pfig.savefig(path)
            written.append(path)
    plt.close(fig)
    plt.close(pfig)
    return written


# ---------------------------------------------------------------- the static site

def export_site(model: dict, charts: Path, out: Path, survey: dict | None = None) -> Path:
    """Write the whole public site to `out` (replaced atomically: built beside it, then swapped)."""
    out = Path(out).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise SaferhubError(f"{out}: a file, not a folder; give a folder for --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise SaferhubError(f"{out}: a folder that is not a saferhub public export (no {MARKER}); it would be "
                            "replaced, so give a new or empty folder")
    tmp = out.with_name(f".{out.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "csv").mkdir(parents=True)
    (tmp / "posts").mkdir()
    links = Links(static=True, has_survey=bool(survey))
    shutil.copytree(charts, tmp / "charts")
    shutil.copy(CSS, tmp / "public.css")
    (tmp / MARKER).write_text("A saferhub public export: `saferhub publish neighbourhoods --out` replaces this folder.\n")
    (tmp / "index.html").write_text(index_html(model, links, survey), encoding="utf-8")
    (tmp / "csv" / "neighbourhoods.csv").write_text(summary_csv(model), encoding="utf-8")
    for w in model["wards"]:
        (tmp / f"{w['slug']}.html").write_text(ward_html(model, w, links), encoding="utf-8")
        (tmp / "csv" / f"{w['slug']}.csv").write_text(ward_csv(w), encoding="utf-8")
        (tmp / "posts" / f"{w['slug']}-short.txt").write_text(w["posts"]["short"] + "\n", encoding="utf-8")
        (tmp / "posts" / f"{w['slug']}-long.txt").write_text(w["posts"]["long"] + "\n", encoding="utf-8")
        (tmp / "posts" / f"{w['slug']}-sources.json").write_text(json.dumps(w["posts"]["sidecar"], indent=1),
                                                                 encoding="utf-8")
    if survey:
        (tmp / "survey.html").write_text(survey_html(survey, links), encoding="utf-8")
        (tmp / "csv" / "survey.csv").write_text(survey["csv"], encoding="utf-8")
        if (charts.parent / "survey").is_dir():
            shutil.copytree(charts.parent / "survey", tmp / "charts" / "survey")
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    return out




def survey_chart_name(question: str) -> str:
    return question.replace("_", "-") + ".png"


def write_survey_charts(model: dict, folder: Path) -> list[Path]:
    """Per question: the latest wave's estimate overall and per district with its 95% interval,
    the national figure as a dashed line. Withheld districts are left out (their bases are in the table)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for q in model["questions"]:
        rows = [r for r in model["rows"] if r["wave"] == model["latest"] and r["question"] == q
                and r["level"] in ("overall", "district") and not r["withheld"]]
        fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.2), dpi=80)
        names = [("Merseyside (all)" if r["level"] == "overall" else r["area"]) for r in rows]
        y = list(range(len(rows)))[::-1]
        for yi, r in zip(y, rows):
            ax.plot([100 * r["low"], 100 * r["high"]], [yi, yi], color="#1f4e79", linewidth=2)
            ax.plot(100 * r["p"], yi, "o", color="#1f4e79" if r["level"] == "district" else "#b35806", markersize=7)
        nat = model["national"].get(q)
        if nat:
            ax.axvline(nat["percent"], color="#555", linestyle="--", linewidth=1,
                       label=f"England & Wales {nat['percent']:.0f}% ({nat['period']})")
            ax.legend(fontsize=7, loc="lower right", frameon=False)
        ax.set_yticks(y, names, fontsize=8)
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of residents (95% interval)", fontsize=8)
        ax.set_title(("SIMULATED: " if model["simulated"] else "") + model["labels"][q] + f" ({model['latest']})", fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        path = folder / survey_chart_name(q)
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written
