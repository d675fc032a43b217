"""HTML reports for the prevent verbs: the problem-premises ranking (map, J-curves, ranked list in
plain words) and the prevention fund. Self-contained, offline (matplotlib figures as data URIs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from saferhub.report import html
from saferhub.report.maps import _axes


def _map(ranked: pd.DataFrame, top: int):
    fig, ax = _axes("Places: flagged (red) and the rest (grey), sized by crime and ASB")
    rest = ranked[~ranked["flagged"]]
    ax.scatter(rest["x"], rest["y"], s=2 + 30 * np.sqrt(rest["events"] / max(ranked["events"].max(), 1)),
               c="#999", alpha=0.5, lw=0)
    hot = ranked[ranked["flagged"]]
    ax.scatter(hot["x"], hot["y"], s=6 + 120 * np.sqrt(hot["events"] / max(ranked["events"].max(), 1)),
               c="#d62f27", edgecolors="#000", lw=0.4)
    for r in hot.head(min(top, 12)).itertuples():
        ax.annotate(str(r.rank), (r.x, r.y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    return fig


def _curves(classes: dict):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for t, c in sorted(classes.items(), key=lambda kv: -kv[1]["events"]):
        if c["places"] >= 5:
            cur = c["curve"]
            ax.plot(100 * cur["share_of_places"], 100 * cur["share_of_crime"], lw=1.2, label=t)
    ax.plot([0, 100], [0, 100], color="#888", lw=0.6, ls="--")
    ax.set_xlabel("% of places in the class (busiest first)")
    ax.set_ylabel("% of the class's crime and ASB")
    ax.set_title("Concentration within each class of place (the J-curve)")
    ax.legend(fontsize=6, ncol=2)
    return fig


def rank_html(ranked: pd.DataFrame, top: int = 30) -> str:
    p = ranked.attrs["params"]
    simulated = bool(ranked["simulated"].astype(bool).any())
    intro = (f"<p>{int(ranked['flagged'].sum())} of {len(ranked):,} places are significantly above the other "
             f"places of their own class (Benjamini–Hochberg FDR {p['fdr']:.0%}), for {html.escape(p['months'])}. "
             f"{p['events_attributed']:,} of {p['events_total']:,} located events were attributed to a place "
             f"(radius {p['radius_m']:g} m; each event to the nearest place only).</p>"
             "<p>police.uk facility points are anonymised map points, not addresses: one point stands for the "
             "premises of that type around it.</p>")
    if simulated:
        intro += "<p><strong>Includes a SIMULATED register: a demonstration, not real premises.</strong></p>"
    cls = pd.DataFrame([{"class": t, "places": c["places"], "crime and ASB": c["events"],
                         "share held by the busiest 10%": f"{100 * c['top10_share']:.0f}%" if np.isfinite(c["top10_share"]) else "–",
                         "flagged": c["flagged"]} for t, c in sorted(ranked.attrs["classes"].items(),
                                                                     key=lambda kv: -kv[1]["events"])])
    head = ranked.head(top)
    listing = "<ol>" + "".join(f"<li>{html.escape(w)}</li>" for w in head["words"]) + "</ol>"
    table = head[["rank", "place_id", "type", "street", "ward", "crimes", "asb", "harm", "ratio", "ratio_low",
                  "ratio_high", "p_adj", "trend"]].rename(columns={"ratio": "x class average", "p_adj": "adjusted p"})
    sections = [("Summary", intro), ("Ranked list", listing), ("Map", html.figure_html(_map(ranked, top), "map")),
                ("Each class of place: the J-curve", html.table_html(cls) + html.figure_html(_curves(ranked.attrs["classes"]),
                                                                                "concentration curves")),
                ("Figures", html.table_html(table, "{:,.2f}")),
                ("Method", html.params_html({k: v for k, v in p.items() if k != "months_list"}))]
    return html.page("Problem premises: places against their own class", sections,
                     subtitle=("SIMULATED register included · " if simulated else "") + p["months"])


def fund_html(view: dict) -> str:
    """The prevention fund: what was allocated and spent, and what each measure did (with intervals)."""
    f = view["fund"]
    sim = "<p><strong>SIMULATED measures included: a demonstration.</strong></p>" if f.get("simulated") else ""
    money = lambda v: "–" if v is None else f"£{v:,.0f}"  # noqa: E731
    cpc = f["cost_per_crime_prevented"]
    cpc_text = cpc if isinstance(cpc, str) else (f"{money(cpc[0])} to {money(cpc[1]) if cpc[1] else 'no upper bound'}")
    intro = (f"{sim}<p>Allocated {money(f['allocated'])}; spent {money(f['spent'])} on {f['measures']} measures "
             f"({f['measures_estimated']} could be evaluated, {f['measures_too_few']} had too few events or months "
             f"to tell). Crimes and ASB incidents prevented: {f['crimes_prevented_low']:,.0f} to "
             f"{f['crimes_prevented_high']:,.0f} (the sum of each measure's 95% interval ends: a conservative "
             f"range). Harm prevented: {f['harm_prevented_low']:,.0f} to {f['harm_prevented_high']:,.0f} days "
             f"of custody (Cambridge Crime Harm Index; before/after at the measures' places). Cost per crime "
             f"prevented: {html.escape(cpc_text)}. {f['significant']} measure(s) showed a "
             f"significant fall against matched control places.</p>")
    rows = pd.DataFrame([{"measure": m["name"], "kind": m["kind"], "start": m["start"], "cost": m["cost"],
                          "funding line": m["funding_line"], "before": m.get("events_before"),
                          "after": m.get("events_after"), "change %": m.get("change_pct"),
                          "low %": m.get("change_low_pct"), "high %": m.get("change_high_pct"),
                          "result": m.get("headline") or m.get("message") or m.get("result")}
                         for m in view["measures"]])
    return html.page("Prevention fund: what was spent and what it prevented",
                     [("Summary", intro), ("Measures", html.table_html(rows, "{:,.1f}"))],
                     subtitle="SIMULATED measures included" if f.get("simulated") else "")


def asb_html(res: dict) -> str:
    """How two agencies record the same ASB incidents."""
    a, b = res["agencies"]
    kt, kp = res["kappa_type"], res["kappa_police_uk"]

    def k_text(k):
        if not np.isfinite(k.get("kappa", np.nan)):
            return "not defined (every matched incident in one category on both sides)"
        return (f"{k['kappa']:.2f} (95% interval {k['low']:.2f} to {k['high']:.2f}); observed agreement "
                f"{100 * k['observed']:.0f}%, {100 * k['chance']:.0f}% expected by chance")

    tol = res["tolerance"]
    intro = (f"<p>{html.escape(a['agency'])} (mapping version {html.escape(a['mapping_version'])}, "
             f"{a['records']:,} records) and {html.escape(b['agency'])} (version {html.escape(b['mapping_version'])}, "
             f"{b['records']:,} records): {res['matched']:,} incidents recorded by both (within {tol['minutes']:g} "
             f"minutes and {tol['metres']:g} m, each record matched once).</p>"
             f"<p>Agreement on the Home Office type (personal, nuisance, environmental): Cohen's kappa "
             f"{html.escape(k_text(kt))}.</p><p>Agreement on the police.uk category: {html.escape(k_text(kp))}.</p>")
    unm = "".join(f"<p>{html.escape(c['agency'])}: categories not in its mapping: "
                  f"{html.escape(', '.join(c['unmapped_categories']) or 'none')}.</p>" for c in res["agencies"])
    table = kt["table"].copy()
    table.index.name, table.columns.name = a["agency"], b["agency"]
    return html.page("ASB recorded the same way? Agreement between agencies",
                     [("Summary", intro + unm), ("Home Office type: the same incidents, side by side",
                                                 html.table_html(table, index=True)),
                      ("Categories that disagree most", html.table_html(res["disagreements"]))])
