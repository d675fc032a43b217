"""The evaluation report a chief officer or funder can read: question, design, method, results with
intervals, charts, map and a plain "what this cannot show". Every figure comes from the run dict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.evaluate.yoy import TOO_FEW
from saferhub.fsutil import write_atomic
from saferhub.report.html import escape, figure_html, page, params_html, table_html


def _pct(v) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:+.1f}%" if abs(v) < 10 else f"{v:+.0f}%"


def _change(ratio):
    """A rate ratio as a percentage change (None or NaN stays unknown)."""
    return None if ratio is None or pd.isna(ratio) else 100 * (float(ratio) - 1)


def _money(v) -> str:
    return "–" if v is None else ("−" if v < 0 else "") + f"£{abs(v):,.0f}"


def _series_chart(run):
    import matplotlib.pyplot as plt

    s = run["series"]
    fig, ax = plt.subplots(figsize=(8.5, 3.2))
    x = pd.to_datetime(s["months"])
    ax.plot(x, s["treated"], marker="o", label="Patrol areas", color="#b2182b")
    ax.plot(x, s["controls_scaled"], marker=".", ls="--", label="Matched places (scaled to the same 'before' level)", color="#2166ac")
    for period, colour in (("before", "#999"), ("after", "#f0b400")):
        ax.axvspan(pd.to_datetime(s[period][0]), pd.to_datetime(s[period][-1]) + pd.offsets.MonthEnd(0), alpha=.12, color=colour)
    ax.set_ylabel("Events per month")
    ax.set_title("Before (grey) and after (yellow): areas against matched places")
    ax.legend(fontsize=8, loc="best")
    return fig


def _event_chart(run):
    import matplotlib.pyplot as plt

    es = pd.DataFrame(run["event_study"])
    fig, ax = plt.subplots(figsize=(8.5, 3.0))
    colours = np.where(es["post"], "#b2182b", "#555")
    ax.errorbar(es["month"], es["rate_ratio"], yerr=[es["rate_ratio"] - es["low"], es["high"] - es["rate_ratio"]],
                fmt="none", ecolor="#bbb")
    ax.scatter(es["month"], es["rate_ratio"], c=colours, zorder=3)
    ax.axhline(1, color="k", lw=.8)
    ax.set_yscale("log")
    from matplotlib.ticker import FixedLocator, FuncFormatter

    ax.yaxis.set_major_locator(FixedLocator([0.25, 0.5, 1, 2, 4]))
    ax.yaxis.set_minor_locator(FixedLocator([]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylabel("Areas vs matched places\n(1 = same as last 'before' month)")
    ax.set_title("Event study: before months (grey) should sit near 1 if the comparison is fair")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    return fig


def _rings_chart(run):
    import matplotlib.pyplot as plt

    rings = run["displacement"]["rings"]
    names = ["Patrol areas"] + [f"Ring {r['ring']}" for r in rings]
    b = [run["yoy_overall"]["before"]] + [r["before"] for r in rings]
    a = [run["yoy_overall"]["after"]] + [r["after"] for r in rings]
    fig, ax = plt.subplots(figsize=(6.5, 3.0))
    pos = np.arange(len(names))
    ax.bar(pos - .2, b, .4, label="Before", color="#999")
    ax.bar(pos + .2, a, .4, label="After", color="#f0b400")
    ax.set_xticks(pos, names)
    ax.set_ylabel("Events")
    ax.set_title("Areas and the rings around them: did crime move next door?")
    ax.legend()
    return fig


def _dose_chart(run):
    import matplotlib.pyplot as plt

    pts = pd.DataFrame(run["dose_response"]["points"])
    fig, ax = plt.subplots(figsize=(6.5, 3.0))
    ax.scatter((pts["minutes_min"] + pts["minutes_max"]) / 2, pts["y"], alpha=.7)
    ax.set_xlabel("Delivered patrol minutes (mid-point of the GPS interval)")
    ax.set_ylabel("Events")
    ax.set_title("Dose and response, one dot per area and period")
    return fig


def _map(run, areas, rings):
    """Areas numbered as in the area-by-area table: at force scale a 200 m square is a dot and
    twenty street names on top of each other are unreadable, so the map carries numbers."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 6.0))
    rings.plot(ax=ax, color=["#fde0ef", "#f7f7f7"][: len(rings)], edgecolor="#999", lw=.5)
    areas.plot(ax=ax, color="#b2182b", edgecolor="k", lw=.5)
    pts = areas.geometry.representative_point()
    ax.scatter(pts.x, pts.y, s=14, color="#b2182b", zorder=3)
    x0, y0, x1, y1 = rings.total_bounds
    pad = max(x1 - x0, y1 - y0) * 0.05 + 250
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect("equal")
    fig.canvas.draw()   # fixes the axes' scale, so label boxes can be sized in points
    to_pt = ax.transData.transform
    placed: list[tuple[float, float, float, float]] = []
    for number, c in enumerate(pts, start=1):
        px, py = to_pt((c.x, c.y))
        w, h = 4.5 * len(str(number)) + 3, 9
        # nearest free spot among a ring of offsets, so dense clusters stay readable
        for radius in (6, 14, 24, 36):
            spots = [(px + radius * np.cos(a) - w / 2, py + radius * np.sin(a) - h / 2)
                     for a in np.linspace(0, 2 * np.pi, 12, endpoint=False) + np.pi / 4]
            free = [s for s in spots if not any(s[0] < b[2] and b[0] < s[0] + w and s[1] < b[3] and b[1] < s[1] + h
                                                for b in placed)]
            if free:
                break
        sx, sy = (free or spots)[0]
        placed.append((sx, sy, sx + w, sy + h))
        dx, dy = sx + w / 2 - px, sy + h / 2 - py
        ax.annotate(str(number), (c.x, c.y), xytext=(dx * 72 / fig.dpi, dy * 72 / fig.dpi), textcoords="offset points",
                    fontsize=7, ha="center", va="center", arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "#555"},
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
    ax.set_axis_off()
    ax.set_title("Areas (red, numbered as in the area-by-area table) and their buffer rings")
    return fig


def render(run: dict, areas=None) -> str:
    p = run["params"]
    title = "Did it work? Evaluation " + run["run_id"] + (" (simulated data)" if p.get("simulated") else "")
    sub = f"Before {p['before'][0]} to {p['before'][-1]} · after {p['after'][0]} to {p['after'][-1]} · {len(p['areas'])} areas"
    simulated = bool(p.get("simulated"))
    q = (f"<p>Did crime ({escape(p['categories'] or 'all categories')}) fall in the {len(p['areas'])} areas after the "
         f"operation started, compared with the same months a year before and with similar places nearby that "
         f"had no operation? Did it move into the streets around them?</p>")
    if simulated:
        q += "<p class='note'>This report uses simulated data: it demonstrates the method and proves nothing.</p>"
    sections = [("The question", q)]
    if run.get("result") == TOO_FEW:
        sections.append(("Result", f"<p class='note'><b>Too few events to tell.</b> {escape(run['message'])}</p>"))
        return page(title, sections + [("Parameters", params_html(_flat(p)))], sub)
    from saferhub.evaluate.design import headline

    o, d, dsp = run["yoy_overall"], run["did"], run["displacement"]
    sections.append(("In one sentence", f"<p class='note'><b>{escape(headline(run))}</b></p>"))
    design = (f"<p>Year on year: the same {len(p['after'])} months compared. Comparison places: {d['controls']} "
              f"200 m squares with no operation, outside the {p['buffers'][-1]:g} m buffer, chosen because their crime "
              f"level and trend before the start matched the areas'. Displacement: rings of "
              f"{', '.join(f'{b:g}' for b in p['buffers'])} m around the areas.</p>")
    sections.append(("How we tested it", design + "<ul>" + "".join(f"<li><b>{escape(k.upper())}</b>: {escape(v)}</li>"
                                                                  for k, v in p["methods"].items()) + "</ul>"))
    res = pd.DataFrame([
        {"Measure": "Same months, year before (areas only)", "Before": o["before"], "After": o["after"],
         "Change": _pct(o.get("change_pct")), "95% interval": f"{_pct(100 * (o['rr_low'] - 1))} to {_pct(100 * (o['rr_high'] - 1))}",
         "p (C-test / E-test / referenced)": f"{o['p_c_test']:.2g} / {o['p_e_test']:.2g} / {o['p_referenced']:.2g}"},
        {"Measure": "Against matched places (difference-in-differences)", "Before": o["before"], "After": o["after"],
         "Change": _pct(100 * (d["rate_ratio"] - 1)), "95% interval": f"{_pct(100 * (d['low'] - 1))} to {_pct(100 * (d['high'] - 1))}",
         "p (C-test / E-test / referenced)": f"p = {d['p']:.2g}"}])
    body = table_html(res) + "<p>Places change from year to year for many reasons. The first row alone cannot " \
        "tell an operation from those; the second row (and the referenced p-value) can, so they decide.</p>"
    body += figure_html(_series_chart(run), "monthly events in the areas and matched places")
    body += figure_html(_event_chart(run), "event study")
    sections.append(("Results", body))
    sections.append(("Area by area (same months, year before)", table_html(_area_table(run["yoy_areas"]))))
    w = dsp["wdd"]
    disp = (f"<p>WDD (negative = crime prevented overall, counting the rings), against matched places and their own "
            f"rings: {_num(w['wdd'], '{:+,.0f}')} events, 95% interval {_num(w['low'], '{:+,.0f}')} to "
            f"{_num(w['high'], '{:+,.0f}')} (p = {_num(w['p'], '{:.2g}')}). The published Wheeler & Ratcliffe form "
            f"gives {_num(w.get('published'), '{:+,.0f}')} events (p = {_num(w.get('p_poisson'), '{:.2g}')} with its "
            f"Poisson error, which real data overstate: it is shown, never decides). WDQ: {_num(dsp.get('wdq'))} "
            f"(above 0: benefits spread to the rings; below 0: crime moved into them). Total net effect: "
            f"{_num(dsp.get('total_net_effect'), '{:+,.0f}')} events.</p>"
            "<p class='note'>The rings are bigger than the areas, so their own ups and downs hide all but large "
            "effects: on Merseyside the WDD found an injected 20% fall in the areas only 1 time in 5 "
            "(benchmarks/RESULTS.md).</p>")
    disp += figure_html(_rings_chart(run), "rings before and after")
    sections.append(("Did crime move next door?", disp))
    if "harm" in run:
        h = run["harm"]
        sections.append(("Harm (Cambridge Crime Harm Index weights)",
                         f"<p>Harm in the areas changed by {_pct(h['change_pct'])} (95% interval {_pct(100 * (h['low'] - 1))} "
                         f"to {_pct(100 * (h['high'] - 1))}), weighting each crime by the days of custody its offence carries.</p>"))
    c = run["cost"]
    if "low" in c:
        sections.append(("What it is worth", f"<p>Cost of crime avoided: <b>{_money(c['low'])} to {_money(c['high'])}</b> "
                         f"({c['price_year']} prices, uplift ×{c['uplift']:g}; {escape(c['source'])}), from the interval of "
                         f"{c['events_avoided_low']:,.0f} to {c['events_avoided_high']:,.0f} events avoided. "
                         f"{100 * c['costed_share']:.0f}% of the events have a Home Office unit cost; not costed: "
                         f"{escape(', '.join(c['not_costed']) or 'none')}. "
                         + (f"Unit costs not yet checked against the report: {escape(', '.join(c['unverified']))} "
                            f"(see the table's SOURCE.txt). " if c.get("unverified") else "")
                         + "A range that includes zero or below means "
                         "no saving can be claimed.</p>"))
    pw = run["power"]
    sections.append(("Could this design see an effect?", f"<p>With these areas and periods the smallest reduction the "
                     f"design would detect 8 times in 10 is about {100 * pw['mde']:.0f}%.</p>"))
    for key, label in (("crossover", "Patrol days against control days (crossover)"), ("dose_response", "Dose and response"),
                       ("synthetic", "Synthetic control (one area)")):
        if key in run:
            sections.append((label, _extra(run, key)))
    if areas is not None:
        from saferhub.evaluate.displacement import rings as make_rings

        sections.append(("Map", figure_html(_map(run, areas, make_rings(areas, p["buffers"])), "map of areas")))
    sections.append(("What this cannot show", _limits()))
    sections.append(("Parameters (to reproduce this run)", params_html(_flat(p))))
    return page(title, sections, sub)


def _area_table(rows) -> pd.DataFrame:
    """One line per area, numbered as on the map, changes in plain percentages."""
    tbl = pd.DataFrame(rows)
    out = pd.DataFrame({"No.": np.arange(1, len(tbl) + 1), "Area": tbl.get("name", tbl.get("area_id")),
                        "Before": tbl["before"], "After": tbl["after"]})
    if "change_pct" in tbl:
        out["Change"] = [_pct(v) for v in tbl["change_pct"]]
    if {"rr_low", "rr_high"} <= set(tbl):
        out["95% interval"] = [f"{_pct(_change(lo))} to {_pct(_change(hi))}"
                               for lo, hi in zip(tbl["rr_low"], tbl["rr_high"])]
    if "result" in tbl:
        out["Result"] = tbl["result"]
    return out


def _num(v, fmt: str = "{:,.2f}") -> str:
    return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else fmt.format(v)


def _extra(run, key) -> str:
    r = run[key]
    sim = ""
    if key == "crossover" and (r.get("simulated") or run["params"].get("simulated")):
        sim = ("<p class='note'>SIMULATED: these patrol/control days (or incidents) are simulated demonstration data; "
               "the figures show the method, not an effect.</p>")
    if r.get("result") != "estimated":
        return sim + f"<p>{escape(r.get('result'))}</p>"
    if key == "crossover":
        return sim + (f"<p>{r['patrol_days']} patrol days and {r['control_days']} control days: incidents on patrol days were "
                f"{_pct(r['change_pct'])} against control days (randomisation p = {r['p']:.2g}, {r['permutations']} shuffles "
                f"within area and weekday).</p>")
    if key == "synthetic":
        return (f"<p>A weighted mix of {sum(w > 0.01 for w in r['weights'])} similar places, built to follow the area before "
                f"the start, predicts the after period; the area's events differed from it by {_pct(r['effect_pct'])} "
                f"(placebo p = {r['p']:.2g}: how often a comparison place shows a gap this large).</p>")
    m = r["mid"]
    chart = figure_html(_dose_chart(run), "dose-response")
    return (f"<p>Each extra hour of delivered patrol in an {escape(r['unit'])} went with {_pct(100 * (m['rate_ratio'] - 1))} events "
            f"(95% interval {_pct(100 * (m['low'] - 1))} to {_pct(100 * (m['high'] - 1))}).</p>" + chart)


def _limits() -> str:
    items = ["police.uk locations are snapped to anonymous map points and dated only by month: a street-level or "
             "day-level effect can be blurred or missed.",
             "Recorded crime depends on reporting and on police activity: more patrols can mean more crime recorded.",
             "Matched places are similar in their recent crime, not in everything (events, licensing, other projects).",
             "A significant change shows something changed beyond chance, not that the operation caused all of it.",
             "An interval that includes no change means we cannot tell; it does not show the operation failed.",
             "Money figures are society's costs of crime from the Home Office table, not cash the force saves."]
    return "<ul>" + "".join(f"<li>{escape(t)}</li>" for t in items) + "</ul>"


def _flat(p: dict) -> dict:
    out = {k: v for k, v in p.items() if k not in ("areas", "methods", "before", "after")}
    out["before"] = f"{p['before'][0]}:{p['before'][-1]}"
    out["after"] = f"{p['after'][0]}:{p['after'][-1]}"
    out["areas"] = ", ".join(f"{a['area_id']} ({a['name']})" for a in p["areas"])
    return out


def write(run: dict, path, areas=None) -> Path:
    """Write the HTML report; a .pdf path writes a PDF (weasyprint) instead."""
    path = Path(path)
    doc = render(run, areas)
    if path.suffix.lower() == ".pdf":
        from weasyprint import HTML

        from saferhub.fsutil import replacing

        with replacing(path) as tmp:
            HTML(string=doc).write_pdf(tmp)
        return path
    return write_atomic(path, doc)
