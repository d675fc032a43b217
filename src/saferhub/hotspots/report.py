"""Reports and maps built from a verb's result (a GeoDataFrame with attrs["params"]): every stated
parameter comes from what was computed, places are named, numbers are in plain words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from saferhub.hotspots import words as W

HOW_TO_READ = {
    "gistar": ("Getis-Ord Gi* compares the crime in each cell and its neighbours with the whole area. "
               "A hot spot at 99% confidence is very unlikely to be chance, after correcting for testing "
               "every cell at once. Gi* counts a cell together with its neighbours, so a cell with no crime "
               "of its own can be significant because the cells round it are busy: those are listed apart "
               "as 'beside a hot spot'."),
    "emerging": ("Each cell's monthly Gi* z-scores are classed as ArcGIS's emerging hot spot analysis does "
                 "(new, consecutive, intensifying, persistent, diminishing, sporadic, oscillating, historical); "
                 "the trend is a Mann-Kendall test."),
    "change": ("Each cell's crime after is compared with before, scaled by the periods' lengths; a "
               "significant rise or fall is unlikely to be chance after correcting for testing every cell."),
    "kde": "Kernel density spreads each crime over the cells round it: a smooth picture of where crime concentrates.",
    "count": "Crimes recorded in each unit.",
}


def units_of(gdf):
    """The result's units for drawing: grid cells as a raster (fast), other units as shapes."""
    from saferhub.geo.grid import Grid
    from saferhub.geo.units import Units, grid_units

    p = gdf.attrs.get("params", {})
    if p.get("units") == "grid" and {"x", "y"} <= set(gdf.columns):
        cs = int(p["cell_size"])
        x, y = gdf["x"].to_numpy(), gdf["y"].to_numpy()
        grid = Grid.from_bounds(x.min(), y.min(), x.max(), y.max(), cs)
        mask = np.zeros(grid.shape, bool)
        row, col = grid.locate(x + cs / 2, y + cs / 2)
        mask[row, col] = True
        U = grid_units(grid, mask=mask)
        if not (U.gdf["unit_id"].to_numpy() == gdf["unit_id"].to_numpy()).all():
            U = Units("polygon", gdf[["unit_id", "geometry"]])
        return U
    kind = {"hex": "hex", "segments": "segment"}.get(p.get("units"), "polygon")
    return Units(kind if kind != "hex" else "polygon", gdf[["unit_id", "geometry"]])


def map_figure(gdf):
    """The result's map: classes for Gi* / emerging / change, a colour scale for the rest."""
    from saferhub.report import maps

    p = gdf.attrs["params"]
    U, area, method = units_of(gdf), gdf.attrs.get("area"), p["method"]
    t = W.title(p)
    if method == "gistar":
        fig = maps.categorical_map(U, gdf["gi_bin"].astype(int).tolist(), maps.GI_COLOURS, W.HOT_LABELS, t, area)
        return _mark_empty_hot(fig, gdf)
    if method == "emerging":
        return maps.categorical_map(U, gdf["category"].to_numpy(), maps.EMERGING_COLOURS, {}, t, area)
    if method == "change":
        return maps.categorical_map(U, gdf["direction"].astype(int).tolist(), maps.CHANGE_COLOURS,
                                    {-1: "significant fall", 0: "no significant change", 1: "significant rise"}, t, area)
    if "difference_km2" in gdf:
        return maps.diverging_map(U, gdf["difference_km2"].to_numpy(), t, "difference in crimes per km²", area)
    if method == "kde":
        unit = "harm per km²" if p["measure"] == "harm" else "crimes per km²"
        return maps.continuous_map(U, gdf["density_km2"].to_numpy(), t, unit, area)
    col = "harm" if p["measure"] == "harm" else "count"
    label = f"harm ({W.HARM_UNIT})" if col == "harm" else "crimes"
    return maps.continuous_map(U, gdf[col].to_numpy(), t, label + " per unit", area)


def _mark_empty_hot(fig, gdf):
    """Dot the hot cells that hold no crime themselves, and say so in the legend."""
    import shapely

    empty = gdf[(gdf["gi_bin"] > 0) & (gdf["count"] == 0)]
    if len(empty) == 0:
        return fig
    ax = fig.axes[0]
    c = shapely.centroid(empty.geometry.values)
    ax.scatter(shapely.get_x(c), shapely.get_y(c), s=2, c="#222222", marker=".", linewidths=0)
    handles = list(ax.get_legend().legend_handles)
    from matplotlib.lines import Line2D

    handles.append(Line2D([], [], ls="", marker=".", color="#222222",
                          label=f"dot: no crime in the cell itself ({len(empty):,})"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    return fig


def _places(top: pd.DataFrame) -> list[str]:
    return [W.place_label(r) for _, r in top.iterrows()]


def _top_table(top: pd.DataFrame, measure: str, extra: dict | None = None) -> pd.DataFrame:
    t = pd.DataFrame({"place": _places(top), "cell": top["unit_id"].to_numpy(),
                      "crimes": [W.number(v) for v in top["count"]],
                      "share of crime": [W.pct(v, 2) for v in top["share_of_crime"]]})
    if measure == "harm":
        t["harm (days)"] = [W.number(v) for v in top["harm"]]
    for name, vals in (extra or {}).items():
        t[name] = list(vals)
    return t


def _html_table(df: pd.DataFrame) -> str:
    from saferhub.report.html import table_html

    return table_html(df)


def sections(gdf) -> list[tuple[str, str]]:
    """The report's sections for one result."""
    from saferhub.report.html import escape

    p, method = gdf.attrs["params"], gdf.attrs["params"]["method"]
    out = []
    if method == "gistar":
        hot = gdf[gdf["gi_bin"] > 0]
        hot_full, hot_empty = hot[hot["count"] > 0], hot[hot["count"] == 0]
        share = hot["count"].sum() / max(gdf["count"].sum(), 1)
        area_share = len(hot) / max(len(gdf), 1)
        out.append(("Summary", f"<p>{len(hot):,} of {len(gdf):,} cells are hot spots ({W.pct(area_share)} of the "
                    f"area); they hold {W.pct(share)} of the {p['events']:,} crimes. {len(hot_empty):,} of the hot "
                    f"cells ({W.pct(len(hot_empty) / max(len(hot), 1))}) hold no crime themselves: they are "
                    "significant because of their neighbours, and are shown apart below.</p>"))
        classes = gdf["gi_bin"].map(W.HOT_LABELS).value_counts()
        out.append(("Cells by class", _html_table(pd.DataFrame({
            "class": classes.index, "cells": [f"{v:,}" for v in classes],
            "share of cells": [W.pct(v / len(gdf)) for v in classes]}))))
        top = hot_full.sort_values("z", ascending=False).head(15)
        out.append(("Strongest hot spots", _html_table(_top_table(top, p["measure"], {
            "z-score": [f"{v:.1f}" for v in top["z"]], "p (corrected)": [W.p_text(v) for v in top["p_adj"]]}))))
        if len(hot_empty):
            e = hot_empty.sort_values("z", ascending=False).head(10)
            out.append(("Beside a hot spot (no crime in the cell itself)", _html_table(pd.DataFrame({
                "place": _places(e), "cell": e["unit_id"].to_numpy(),
                "z-score": [f"{v:.1f}" for v in e["z"]]}))))
    elif method == "emerging":
        cats = gdf["category"].value_counts()
        out.append(("Cells by pattern", _html_table(pd.DataFrame({
            "pattern": cats.index, "cells": [f"{v:,}" for v in cats], "share of cells": [W.pct(v / len(gdf)) for v in cats]}))))
        hot = gdf[gdf["category"].astype(str).str.contains("hot spot")].sort_values("count", ascending=False).head(15)
        out.append(("Busiest cells with a hot-spot pattern", _html_table(_top_table(hot, p["measure"], {"pattern": hot["category"]}))))
    elif method == "change":
        d = gdf["direction"].map({-1: "significant fall", 0: "no significant change", 1: "significant rise"}).value_counts()
        out.append(("Cells by change", _html_table(pd.DataFrame({"change": d.index, "cells": [f"{v:,}" for v in d]}))))
        unit = "harm (days)" if p["measure"] == "harm" else "crimes"
        for lab, asc in (("Largest significant rises", False), ("Largest significant falls", True)):
            sig = gdf[gdf["direction"] == (1 if not asc else -1)].sort_values("difference", ascending=asc).head(10)
            if len(sig):
                out.append((lab, _html_table(pd.DataFrame({
                    "place": _places(sig), "cell": sig["unit_id"].to_numpy(),
                    f"{unit} before": [W.number(v) for v in sig["before"]], f"{unit} after": [W.number(v) for v in sig["after"]],
                    "p (corrected)": [W.p_text(v) for v in sig["change_p_adj"]]}))))
        out.append(("Totals", f"<p>{unit} before ({escape(p['before'])}): {W.number(gdf['before'].sum())}; after "
                    f"({escape(p['months'])}): {W.number(gdf['after'].sum())}.</p>"))
    elif method == "kde" and "difference_km2" in gdf:
        for lab, asc in (("Largest rises", False), ("Largest falls", True)):
            top = gdf.sort_values("difference_km2", ascending=asc).head(10)
            out.append((lab, _html_table(_top_table(top, "count", {
                "difference per km²": [f"{v:,.1f}" for v in top["difference_km2"]]}))))
    else:
        col = "density_km2" if method == "kde" else ("harm" if p["measure"] == "harm" else "count")
        top = gdf.sort_values(col, ascending=False).head(15)
        extra = {"crimes per km²": [f"{v:,.1f}" for v in top[col]]} if method == "kde" else None
        out.append(("Top places", _html_table(_top_table(top, p["measure"], extra))))
    return out


def html_report(gdf, fig_map=None) -> str:
    """The complete self-contained HTML report of a hotspot result."""
    from saferhub.report import charts
    from saferhub.report.html import escape, figure_html, page, params_html

    p = gdf.attrs["params"]
    fig_map = fig_map if fig_map is not None else map_figure(gdf)
    body = [("Map", figure_html(fig_map, "map of the result") +
             "<p class='meta'>Coordinates are British National Grid metres; the outline is the study area.</p>")]
    body += sections(gdf)
    if p["method"] == "emerging" and p.get("trends"):
        first = np.datetime64(p["first_month"], "M")
        trends = {k: np.asarray(v) for k, v in p["trends"].items() if k != "no pattern"}
        if trends:
            n = len(next(iter(trends.values())))
            labels = np.arange(first, first + n).astype("datetime64[M]")
            what = "harm" if p["measure"] == "harm" else "crimes"
            body.append(("Trends", figure_html(charts.sparklines(trends, labels, f"Mean {what} per cell by month"),
                                               "trend sparklines")))
    body.append(("How to read this", f"<p>{escape(HOW_TO_READ.get(p['method'], ''))}</p>"))
    if p.get("notes"):
        body.append(("Choices made for you", "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in p["notes"]) + "</ul>"))
    body.append(("Parameters used", params_html(W.params_rows(p))))
    return page(W.title(p), body, subtitle=f"{p['events']:,} crimes · {p['force']}")


def concentration_html(gdf) -> str:
    """Report of `concentration()`: the measures in words and the Lorenz curves."""
    from saferhub.report import charts
    from saferhub.report.html import figure_html, page, params_html

    p, s = gdf.attrs["params"], gdf.attrs["summary"].set_index("measure")
    rows = []
    for m in s.index:
        c, h = s.loc[m, "crime"], s.loc[m, "harm"]
        share = m.startswith("share")
        f = (lambda v: W.pct(v)) if share else (lambda v: W.number(v, 3) if m.endswith("Gini") else W.number(v))
        rows.append({"measure": m, "crime": f(c), "harm (days)": f(h) if np.isfinite(h) else "n/a (counts only)"})
    lorenz = {k: tuple(np.asarray(a) for a in v) for k, v in gdf.attrs["lorenz"].items()}
    top = gdf.sort_values("count", ascending=False).head(15)
    body = [("Measures", _html_table(pd.DataFrame(rows))),
            ("Lorenz curve", figure_html(charts.lorenz_chart(lorenz), "Lorenz curves of crime and harm")),
            ("Places with the most crime", _html_table(_top_table(top, "harm"))),
            ("How to read this", "<p>The share of places holding 50% of crime is the law-of-concentration figure "
             "(Weisburd 2015: 2–6% of street segments). The generalized Gini (Bernasco &amp; Steenbeek 2017) "
             "corrects the Gini when there are fewer crimes than places.</p>"),
            ("Parameters used", params_html(W.params_rows(p)))]
    return page(W.title(p), body, subtitle=f"{p['events']:,} crimes over {p['n_units']:,} {p['units']} units")


def near_repeat_html(table) -> str:
    """Report of `near_repeat()`: the Knox heat map and table in plain numbers."""
    from saferhub.report import charts
    from saferhub.report.html import figure_html, page, params_html

    p, k = table.attrs["params"], table.attrs["knox"]
    t = pd.DataFrame({"distance": table["space"], "time apart": table["time"],
                      "pairs observed": [f"{v:,}" for v in table["observed"]],
                      "pairs expected": [f"{v:,.1f}" for v in table["expected"]],
                      "Knox ratio": [f"{v:.2f}" for v in table["knox_ratio"]], "p": [W.p_text(v) for v in table["p"]]})
    body = [("Knox ratios", figure_html(charts.knox_chart(k), "Knox ratio heat map")),
            ("Knox table", _html_table(t)),
            ("How to read this", "<p>Observed: pairs of crimes this close in space and time. Expected: the mean over "
             "random re-assignments of the times (Monte Carlo). A Knox ratio above 1 with a small p means more near "
             "repeats than chance (Ratcliffe's Near Repeat Calculator). Police.uk locations are snap points, so "
             "'same place' means the same snap point.</p>"),
            ("Parameters used", params_html(W.params_rows(p)))]
    return page(f"Near repeats of {W.crime_words(p['categories'])}, {W.month_words(p['months'])}", body,
                subtitle=f"{k.n_events:,} crimes, {k.n_close_pairs:,} close pairs, {k.permutations} permutations")
