"""Files people use: routes as GPX per team, the printable team briefing (HTML + PDF) and the
dosage report (HTML). Self-contained pages (inline CSS, images as data URIs), atomic writes."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from saferhub.fsutil import write_atomic
from saferhub.report.html import escape, figure_html, page, table_html

_BRIEF_CSS = ("<style>@page{size:A4;margin:14mm} .area{page-break-inside:avoid;display:flex;gap:1rem;"
              "align-items:flex-start;margin:.6rem 0} .area img{width:230px} .why{font-size:.9rem}"
              " .sim{background:#fde2e2;border-left:4px solid #c00;padding:.4rem 1rem}</style>")


def write_gpx(plan, out_dir) -> list[Path]:
    """One GPX per team: a track per day through its stations and visits at the planned times."""
    from saferhub.geo.project import to_wgs84

    out_dir = Path(out_dir)
    areas = plan.areas.set_index("area_id")
    cen = shapely.centroid(np.asarray(areas.geometry.values, dtype=object))
    lon, lat = to_wgs84(shapely.get_x(cen), shapely.get_y(cen))
    where = {a: (lo, la) for a, lo, la in zip(areas.index, lon, lat)}
    written = []
    for team in plan.teams:
        rows = plan.schedule[plan.schedule["team"] == team["name"]]
        slon, slat = to_wgs84([team["x"]], [team["y"]])
        segs = []
        for date, g in rows.groupby("date"):
            pts = [f'<trkpt lat="{slat[0]:.6f}" lon="{slon[0]:.6f}"><name>station</name></trkpt>']
            for r in g.sort_values("planned_start").itertuples():
                lo, la = where[r.area_id]
                t = pd.Timestamp(r.planned_start).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
                pts.append(f'<trkpt lat="{la:.6f}" lon="{lo:.6f}"><time>{t}</time>'
                           f'<name>{html.escape(r.area_name)}</name></trkpt>')
            segs.append(f"<trk><name>{html.escape(team['name'])} {date}</name><trkseg>{''.join(pts)}</trkseg></trk>")
        doc = ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="saferhub" '
               f'xmlns="http://www.topografix.com/GPX/1/1">{"".join(segs)}</gpx>\n')
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in team["name"])
        written.append(write_atomic(out_dir / f"route-{safe}.gpx", doc))
    return written


def _area_map(geom, events=None, station=None):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    minx, miny, maxx, maxy = geom.buffer(120).bounds
    if events is not None and len(events):
        sel = events[(events["x"] >= minx) & (events["x"] <= maxx) & (events["y"] >= miny) & (events["y"] <= maxy)]
        ax.scatter(sel["x"], sel["y"], s=4, c="#b2182b", alpha=0.5, lw=0, label="recorded crime")
    for poly in getattr(geom, "geoms", [geom]):
        xs, ys = poly.exterior.xy
        ax.fill(xs, ys, fc="#fdd49e", ec="#d7301f", lw=1.5, alpha=0.5)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.plot([minx + 20, minx + 120], [miny + 20, miny + 20], c="k", lw=2)
    ax.text(minx + 70, miny + 28, "100 m", ha="center", fontsize=7)
    return fig


def briefing_html(plan, events=None) -> str:
    """The team briefing: per team per day the visit times, then one block per area with its
    map and why it was chosen (rank, counts, top categories, harm)."""
    s = plan.schedule.copy()
    s["start"] = pd.to_datetime(s["planned_start"], utc=True).dt.tz_convert("Europe/London").dt.strftime("%a %-d %b %H:%M")
    s["end"] = pd.to_datetime(s["planned_end"], utc=True).dt.tz_convert("Europe/London").dt.strftime("%H:%M")
    sections = []
    if plan.simulated:
        sections.append(("SIMULATED", "<p class='sim'>This plan is SIMULATED demonstration data.</p>"))
    intro = (f"<p>{len(s)} visits of {plan.parameters.get('visit_minutes', 15)} minutes, "
             f"{plan.start} to {plan.end}. Visit times are drawn at random within the shifts (seed "
             f"{plan.seed}) so patrols are not predictable; keep to them within half an hour.</p>")
    if plan.power:
        intro += f"<p>{escape(plan.power['sentence'])}</p>"
    sections.append(("This plan", _BRIEF_CSS + intro))
    for team, g in s.groupby("team"):
        t = g[["start", "end", "area_name", "area_id"]].rename(columns={"start": "from", "end": "to",
                                                                     "area_name": "area", "area_id": "id"})
        sections.append((f"{team}: visits", table_html(t)))
    areas = plan.areas[plan.areas["area_id"].isin(set(s["area_id"]))]
    blocks = []
    for r in areas.sort_values("rank").itertuples():
        fig = _area_map(r.geometry, events)
        why = plan.reasons.get(r.area_id, "")
        blocks.append(f"<div class='area'>{figure_html(fig, 'map of ' + r.name)}<div><h3>{escape(r.name)}</h3>"
                      f"<p class='why'>{escape(r.area_id)} · rank {r.rank} · {r.count:.0f} crimes · harm "
                      f"{r.harm:,.0f}</p><p class='why'>{escape(why)}</p></div></div>")
    sections.append(("The areas and why they were chosen", "".join(blocks)))
    if plan.not_fitted:
        nf = pd.DataFrame(plan.not_fitted)
        summary = nf.groupby("reason").size().reset_index(name="visits")
        sections.append(("What did not fit, and why", table_html(summary)))
    title = ("SIMULATED " if plan.simulated else "") + f"Hotspot patrol briefing {plan.start} to {plan.end}"
    return page(title, sections, subtitle=f"plan {plan.plan_id}")


def write_briefing(plan, out_dir, events=None, pdf: bool = True) -> list[Path]:
    out_dir = Path(out_dir)
    doc = briefing_html(plan, events)
    paths = [write_atomic(out_dir / "briefing.html", doc)]
    if pdf:
        from weasyprint import HTML

        paths.append(write_atomic(out_dir / "briefing.pdf", HTML(string=doc).write_pdf()))
    return paths


def _weekly_chart(week: pd.DataFrame, names: dict, order: list):
    """Small multiples, best-ranked areas first (at most 12)."""
    import matplotlib.pyplot as plt

    areas = [a for a in order if a in set(week["area_id"])][:12]
    cols = 3
    rows = max(1, int(np.ceil(len(areas) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.2 * rows), squeeze=False, sharey=True)
    for ax, a in zip(axes.ravel(), areas):
        g = week[week["area_id"] == a]
        x = np.arange(len(g))
        ax.bar(x, g["minutes_max"] - g["minutes_min"], bottom=g["minutes_min"], color="#9ecae1",
               label="patrol minutes [min, max]")
        ax.bar(x, g["minutes_min"], color="#3182bd")
        ax.plot(x, g["planned_minutes"], "k_", ms=18, mew=2, label="planned")
        ax.set_xticks(x, [w[5:] for w in g["week"]], fontsize=7)
        ax.set_title(names.get(a, a)[:38], fontsize=8)
    for ax in axes.ravel()[len(areas):]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.supylabel("minutes per week")
    fig.tight_layout()
    return fig


def _dosage_map(areas, minutes: dict, outline=None):
    """Areas as dots (300 m areas vanish on a force-wide map) coloured by patrol minutes, on the
    force outline when one is known; the view is padded so a line of areas is not a sliver."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6))
    c = shapely.centroid(np.asarray(areas.geometry.values, dtype=object))
    x, y = shapely.get_x(c), shapely.get_y(c)
    if outline is not None:
        for part in getattr(outline, "geoms", [outline]):
            ox, oy = part.exterior.xy
            ax.plot(ox, oy, color="#888", linewidth=0.7)
    vals = np.array([minutes.get(a, 0.0) for a in areas["area_id"]])
    sc = ax.scatter(x, y, c=vals, s=90, cmap="Blues", edgecolors="#333", vmin=0, zorder=3)
    for xi, yi, rank in zip(x, y, areas["rank"]):
        ax.annotate(str(rank), (xi, yi), xytext=(5, 5), textcoords="offset points", fontsize=7)
    fig.colorbar(sc, ax=ax, shrink=0.7, label="patrol minutes (at least)")
    if outline is None:  # pad the smaller side to at least 60% of the larger, and 2 km each way
        cx, cy = (x.min() + x.max()) / 2, (y.min() + y.max()) / 2
        half = max(x.max() - x.min(), y.max() - y.min(), 4000) / 2 * 1.15
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy - max(half * 0.6, (y.max() - y.min()) / 2 * 1.15), cy + max(half * 0.6, (y.max() - y.min()) / 2 * 1.15))
    ax.set_aspect("equal")
    ax.set_xlabel("Easting (m, BNG)")
    ax.set_ylabel("Northing (m, BNG)")
    ax.set_title("Patrol minutes by area (labels are area ranks)")
    return fig


def dosage_html(day: pd.DataFrame, week: pd.DataFrame, areas, outline=None) -> str:
    """The dosage report; `outline` (the force boundary, BNG) draws the map's context."""
    names = dict(zip(areas["area_id"], areas["name"]))
    comp = day.attrs.get("compliance", {})
    sim = day.attrs.get("simulated", False)
    head = f"<p><b>{escape(day.attrs.get('headline', ''))}</b></p>"
    if sim:
        head = "<p class='note'>SIMULATED data: made by the simulator for demonstration, not real patrols.</p>" + head
    if comp.get("planned_visits"):
        head += (f"<p>{comp['delivered_visits']} of {comp['planned_visits']} planned visits delivered "
                 f"({comp['visit_compliance']:.0%}); patrol minutes {comp['minutes_min']:,.0f} to "
                 f"{comp['minutes_max']:,.0f} against {comp['planned_minutes']:,.0f} planned; "
                 f"{comp['missed_windows']} planned windows missed.</p>")
    det = day.attrs.get("detection", {})
    if det:
        head += (f"<p class='meta'>{det['pings']:,} GPS pings; {det['device_visits']:,} radio visits make "
                 f"{det['patrol_visits']:,} patrol visits; {det['drive_bys_discarded']:,} vehicle drive-bys "
                 f"and {det['passing_through']:,} pass-throughs not counted.</p>")
    per_area = day.groupby("area_id", as_index=False)[["visits", "minutes_min", "minutes_max", "planned_visits",
                                                       "delivered_visits", "missed_windows"]].sum()
    tb = day.attrs.get("time_between")
    if tb is not None and len(tb):
        per_area = per_area.merge(tb[["area_id", "median_hours_between"]], on="area_id", how="left")
    minutes = dict(zip(per_area["area_id"], per_area["minutes_min"]))
    rank = dict(zip(areas["area_id"], areas["rank"]))
    per_area.insert(0, "rank", per_area["area_id"].map(rank))
    per_area.insert(1, "area", per_area.pop("area_id").map(names))
    per_area = per_area.sort_values("rank").round({"minutes_min": 0, "minutes_max": 0, "median_hours_between": 1})
    per_area = per_area.rename(columns={"minutes_min": "minutes (at least)", "minutes_max": "minutes (at most)",
                                        "planned_visits": "planned", "delivered_visits": "delivered",
                                        "missed_windows": "missed", "median_hours_between": "median hours between"})
    sections = [("Summary", head), ("Map", figure_html(_dosage_map(areas, minutes, outline), "map of patrol minutes")),
                ("Per area", table_html(per_area, "{:,.1f}")),
                ("Weekly minutes per area", figure_html(_weekly_chart(week, names, list(areas.sort_values("rank")["area_id"])),
                                                   "weekly minutes"))]
    title = ("SIMULATED " if sim else "") + "Hotspot patrol dosage and compliance"
    return page(title, sections, subtitle=f"plan {day.attrs.get('plan_id') or '-'}")
