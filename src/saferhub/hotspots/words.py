"""Plain words for results: titles, month ranges, percentages, p-values and parameter names, so a
report reads "Hot spots of violence, robbery, weapons and ASB, Jan–Dec 2020", not a dump."""

from __future__ import annotations

import numpy as np

SHORT = {"Violence and sexual offences": "violence", "Anti-social behaviour": "ASB",
         "Possession of weapons": "weapons", "Criminal damage and arson": "criminal damage and arson",
         "Other theft": "other theft", "Theft from the person": "theft from the person",
         "Vehicle crime": "vehicle crime", "Bicycle theft": "bicycle theft", "Other crime": "other crime",
         "Public order": "public order", "Drugs": "drugs", "Shoplifting": "shoplifting",
         "Burglary": "burglary", "Robbery": "robbery"}
METHOD_TITLES = {"count": "Crime per place", "kde": "Crime density", "gistar": "Hot spots",
                 "emerging": "Emerging hot spots", "change": "Change", "concentration": "Crime concentration"}
HOT_LABELS = {3: "Hot spot, 99% confidence", 2: "Hot spot, 95% confidence", 1: "Hot spot, 90% confidence",
              0: "Not significant", -1: "Cold spot, 90% confidence", -2: "Cold spot, 95% confidence",
              -3: "Cold spot, 99% confidence"}
HARM_UNIT = "days of custody (Cambridge Crime Harm Index)"
PARAM_NAMES = {"method": "method", "categories": "crime types", "months": "months", "force": "force",
               "measure": "measure", "events": "crimes analysed", "units": "units", "n_units": "number of units",
               "cell_size": "cell size (m)", "study_area": "study area",
               "events_outside_area": "crimes outside the study area (left out)", "harm_weights": "harm weights",
               "neighbours": "neighbours", "correction": "multiple-testing correction", "kernel": "kernel",
               "bandwidth_m": "bandwidth (m)", "adaptive_k": "adaptive bandwidth (k-th nearest crime)",
               "before": "before period", "before_events": "crimes in the before period",
               "before_scale": "before period scaled by", "versus": "compared with", "time_lags": "time lags (months)",
               "length_ratio": "period lengths (after/before)", "permutations": "permutations", "seed": "random seed",
               "hull": "hull", "drop_strays": "stray points left out"}
CORRECTIONS = {"fdr": "false discovery rate (Benjamini-Hochberg)", "holm": "Holm", "none": "none"}


def crime_words(categories) -> str:
    """'violence, robbery, weapons and ASB'; 'all crime' for every police.uk category."""
    from saferhub.categories import CATEGORIES

    cats = list(categories)
    if len(cats) >= len(CATEGORIES):
        return "all crime"
    words = [SHORT.get(c, c.lower()) for c in cats]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def month_words(months: str) -> str:
    """'2020-01..2020-12' -> 'Jan–Dec 2020'; '2019-11..2020-02' -> 'Nov 2019–Feb 2020'."""
    parts = months.split("..")
    a = np.datetime64(parts[0], "M")
    b = np.datetime64(parts[-1], "M")

    def name(m, year=True):
        d = m.astype("datetime64[D]").item()
        return d.strftime("%b %Y" if year else "%b")

    if a == b:
        return name(a)
    if a.astype("datetime64[Y]") == b.astype("datetime64[Y]"):
        return f"{name(a, False)}–{name(b)}"
    return f"{name(a)}–{name(b)}"


def title(params: dict) -> str:
    what = METHOD_TITLES.get(params["method"], params["method"])
    harm = " (harm-weighted)" if params.get("measure") == "harm" and params["method"] != "concentration" else ""
    return f"{what}{harm} of {crime_words(params['categories'])}, {month_words(params['months'])}"


def pct(share: float, places: int = 1) -> str:
    if not np.isfinite(share):
        return "–"
    return f"{100 * share:.{places}f}%"


def p_text(p: float) -> str:
    """A p-value people can read: '< 0.0001' rather than 3.8e-305."""
    if not np.isfinite(p):
        return "–"
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def number(v: float, places: int = 0) -> str:
    return "–" if not np.isfinite(v) else f"{v:,.{places}f}"


def params_rows(params: dict) -> dict:
    """The parameters actually used, with human names and values, for the report's table."""
    out = {}
    for k, v in params.items():
        if v is None or k in ("notes", "trends", "first_month", "categories_asked") or v == []:
            continue
        if k == "categories":
            v = ", ".join(v)
        elif k == "correction":
            v = CORRECTIONS.get(v, v)
        elif k == "measure":
            v = f"harm, in {HARM_UNIT}" if v == "harm" else "count of crimes"
        elif isinstance(v, bool):
            v = "yes" if v else "no"
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            v = f"{v:,}"
        out[PARAM_NAMES.get(k, k.replace("_", " "))] = v
    return out


def place_label(row) -> str:
    """'On or near Lord Street (Central ward, Liverpool 060A)' from a result row; the cell id when
    nothing else is known."""
    street = str(row.get("street") or "")
    where = [w for w in (f"{row.get('ward')} ward" if row.get("ward") else "", str(row.get("lsoa_name") or ""))
             if w]
    if not street and row.get("nearby"):
        street = f"beside {str(row.get('nearby')).removeprefix('On or near ')}"
    if not street and not where:
        return str(row.get("unit_id", ""))
    return (street or "no crime recorded in the cell") + (f" ({', '.join(where)})" if where else "")
