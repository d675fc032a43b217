""""What your local team did this week": a post ready to paste, one version within 280 characters
and one longer, written from a ward's published (already disclosure-controlled) figures. Every
number in a post is listed in a sidecar with the query it came from, so a press officer can answer
"where does that 35 come from?". Simulated figures say SIMULATED in the post itself."""

from __future__ import annotations

SHORT_LIMIT = 280


def _n(v) -> str:
    return f"{int(v):,}"


def _week_label(week: str) -> str:
    import datetime as dt

    d = dt.date.fromisoformat(week)
    return f"{d:%-d %b}"


def _month(m: str) -> str:
    import datetime as dt

    return dt.date.fromisoformat(m + "-01").strftime("%B %Y")


def _facts(ward: dict) -> list[dict]:
    """The numbers a post may use, each with its text and its source (value, query, disclosure)."""
    facts = []
    p = ward.get("patrol") or {}
    if p.get("weeks"):
        i = p.get("post_week", len(p["weeks"]) - 1)
        w, v, h = p["weeks"][i], p["visits"][i], p["hours"][i]
        if v is not None:
            facts.append({"id": "visits_week", "value": v, "text": f"{_n(v)} foot patrol visits",
                          "query": p["query"] + f"; week starting {w}; sum of visits"})
            if h:
                facts.append({"id": "hours_week", "value": h, "text": f"about {_n(h)} hours",
                              "query": p["query"] + f"; week starting {w}; sum of minutes (lower bound) / 60"})
        if p.get("total_visits") is not None:
            facts.append({"id": "visits_since", "value": p["total_visits"],
                          "text": f"{_n(p['total_visits'])} visits since {_week_label(p['since'])}",
                          "query": p["query"] + f"; {p['since']} to the end of the week; sum of visits"})
    c = ward["crime"]
    if c.get("year") is not None:
        facts.append({"id": "crime_year", "value": c["year"], "text": f"{_n(c['year'])} crimes recorded",
                      "query": c["query"] + f"; months {ward['periods']['year'][0]}..{ward['periods']['last']}"})
    y = c.get("yoy") or {}
    if y.get("result") in ("up", "down"):
        facts.append({"id": "crime_change", "value": y["change_pct"],
                      "text": f"crime {y['result']} {abs(y['change_pct'])}% on the same months last year",
                      "query": c["query"] + "; this year to date against the same months a year earlier; "
                               "exact conditional test (saferhub.evaluate.yoy), p < 0.05"})
    a = ward["asb"]
    if a.get("year") is not None:
        facts.append({"id": "asb_year", "value": a["year"], "text": f"{_n(a['year'])} anti-social behaviour reports",
                      "query": a["query"] + f"; months {ward['periods']['year'][0]}..{ward['periods']['last']}"})
    return facts


def write_posts(ward: dict, report_text: str) -> dict:
    """{"short": <=280 chars, "long": text, "sidecar": {...}} for one ward."""
    facts = {f["id"]: f for f in _facts(ward)}
    sim = (ward.get("patrol") or {}).get("simulated")
    tag = "SIMULATED patrol figures. " if sim and ("visits_week" in facts or "visits_since" in facts) else ""
    name = ward["name"]
    did = []
    if "visits_week" in facts:
        did.append(facts["visits_week"]["text"] + (f" ({facts['hours_week']['text']})" if "hours_week" in facts else ""))
    if did:
        first = f"{tag}This past week in {name}: {did[0]} in local hotspots."
    elif "crime_year" in facts:  # no patrol figures: say what is known, claim nothing else
        first = f"{name}: {facts['crime_year']['text']} in the 12 months to {_month(ward['periods']['last'])}."
    else:
        first = f"{name}: see the local figures on our neighbourhood pages."
    short_parts = [first]
    if "crime_change" in facts:
        short_parts.append(facts["crime_change"]["text"].capitalize() + ".")
    short_parts.append("Report: 101, or 999 in an emergency; anonymously 0800 555 111.")
    short = " ".join(short_parts)
    if len(short) > SHORT_LIMIT:  # drop the optional sentence, never the how-to-report one
        short = " ".join([short_parts[0], short_parts[-1]])
    used_short = [k for k in ("visits_week", "hours_week", "crime_year", "crime_change") if k in facts
                  and facts[k]["text"] in short]

    long_lines = [f"{tag}What your local team did this week in {name} ({ward['district']})."]
    if did:
        long_lines.append(f"Officers made {did[0]} in the ward's hotspot areas"
                          + (f"; {facts['visits_since']['text']}." if "visits_since" in facts else "."))
    if "crime_year" in facts:
        long_lines.append(f"In the last 12 months {facts['crime_year']['text']}"
                          + (f" and {facts['asb_year']['text']}" if "asb_year" in facts else "") + ".")
    if "crime_change" in facts:
        long_lines.append(facts["crime_change"]["text"].capitalize() + " (a real change, not chance).")
    elif (ward["crime"].get("yoy") or {}).get("result") == "no clear change":
        long_lines.append("Crime this year is about where it was in the same months last year.")
    long_lines.append(report_text)
    long = "\n".join(long_lines)
    used_long = [k for k, f in facts.items() if f["text"] in long]
    sidecar = {"ward": ward["code"], "name": name, "disclosure": ward["disclosure"], "simulated": bool(sim),
               "numbers": [{"id": k, "value": facts[k]["value"], "text": facts[k]["text"], "query": facts[k]["query"],
                            "in": [v for v, used in (("short", used_short), ("long", used_long)) if k in used]}
                           for k in facts if k in used_short or k in used_long]}
    return {"short": short, "long": long, "sidecar": sidecar}
