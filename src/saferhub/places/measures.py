"""The prevention fund's measures: what was bought, where, when, for how much, from which line.

A measures CSV has one row per measure:
  measure_id, kind, start (YYYY-MM-DD), cost (pounds), funding_line, and where it is: a place_id
  from the register, or lon/lat, or easting/northing; radius_m (default 100) makes the area
  evaluated around the point; name and notes are optional.
Bad rows are quarantined with file, line and reason, like every import. Each measure is then
evaluated by `saferhub.evaluate` (before/after against matched control places, displacement rings,
harm, cost of crime avoided); `fund_view` adds them up for the fund.

`simulate_town` is the documented generator of a SIMULATED town with one measure whose effect is
known (used to show the evaluation recovers it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from saferhub.data.csvread import decode_check, read_file, read_strings
from saferhub.data.policeuk import _quarantine_table, _set_reason
from saferhub.errors import BadFileError

KINDS = ("cctv", "city watch", "taxi marshals", "lighting", "alley gates", "hedge cut back",
         "community-led initiative", "target hardening", "other")
NEEDED = ("measure_id", "kind", "start", "cost", "funding_line")
DEFAULT_RADIUS = 100.0
COLUMNS = ["measure_id", "name", "kind", "start", "cost", "funding_line", "place_id", "x", "y", "radius_m",
           "notes", "simulated"]


def parse_measures(path, register: pd.DataFrame, data: bytes | None = None):
    """-> (measures in COLUMNS, quarantine table). `register` resolves place_id to its point."""
    from saferhub.data.incidents import _parse_bng
    from saferhub.data.validate import parse_coordinates, project_and_check

    name = str(path)
    data = read_file(path) if data is None else data
    raw = read_strings(name, data, decode_check(name, data))
    header = [h.strip().lower() for h in raw.header]
    missing = [c for c in NEEDED if c not in header]
    if missing:
        raise BadFileError(name, f"needs column(s) {', '.join(missing)} (have {', '.join(raw.header[:10])})")
    df = raw.table.to_pandas()
    df.columns = header
    col = lambda c: df[c].astype(str).str.strip() if c in df else pd.Series([""] * len(df))  # noqa: E731
    reason = raw.row_reasons()
    for c in NEEDED:
        _set_reason(reason, (col(c) == "").to_numpy(), f"missing {c}")
    kind = col("kind").str.lower()
    _set_reason(reason, ~kind.isin(KINDS).to_numpy(), lambda i: [f"unknown kind {k!r} (one of {', '.join(KINDS)})"
                                                                  for k in kind.to_numpy()[i]])
    start = pd.to_datetime(col("start"), format="%Y-%m-%d", errors="coerce")
    _set_reason(reason, start.isna().to_numpy(), lambda i: [f"start {s!r} is not a date (YYYY-MM-DD)"
                                                             for s in col("start").to_numpy()[i]])
    cost = pd.to_numeric(col("cost").str.replace(r"[£,]", "", regex=True), errors="coerce")
    _set_reason(reason, ~(cost >= 0).to_numpy(), lambda i: [f"cost {c!r} is not an amount in pounds"
                                                             for c in col("cost").to_numpy()[i]])
    radius = pd.to_numeric(col("radius_m").replace("", str(DEFAULT_RADIUS)), errors="coerce")
    _set_reason(reason, ~((radius > 0) & (radius <= 2000)).to_numpy(), "radius_m must be 1-2000 metres")
    x = np.full(len(df), np.nan)
    y = np.full(len(df), np.nan)
    pid = col("place_id")
    reg = register.set_index("place_id") if len(register) else None
    has_pid = (pid != "").to_numpy()
    if has_pid.any():
        known = pid.isin(register["place_id"]).to_numpy() if reg is not None else np.zeros(len(df), bool)
        _set_reason(reason, has_pid & ~known, lambda i: [f"no place {p!r} in the register" for p in pid.to_numpy()[i]])
        ok = has_pid & known
        if ok.any():
            x[ok] = reg.loc[pid[ok], "x"].to_numpy(float)
            y[ok] = reg.loc[pid[ok], "y"].to_numpy(float)
    if "lon" in df and "lat" in df:
        lon, lat, why = parse_coordinates(col("lon"), col("lat"))
        _set_reason(reason, ~pd.isnull(why), why)
        px, py = project_and_check(lon, lat, reason, False)
        use = ~has_pid & np.isfinite(px)
        x[use], y[use] = px[use], py[use]
    elif "easting" in df and "northing" in df:
        e, n, why = _parse_bng(col("easting"), col("northing"))
        _set_reason(reason, ~pd.isnull(why), why)
        use = ~has_pid & np.isfinite(e)
        x[use], y[use] = e[use], n[use]
    _set_reason(reason, ~np.isfinite(x), "no place: give a place_id, lon/lat or easting/northing")
    dup = col("measure_id").duplicated(keep="first").to_numpy() & pd.isnull(reason)
    _set_reason(reason, dup, "duplicate measure_id (an earlier row has it)")
    good = pd.isnull(reason)
    out = pd.DataFrame({"measure_id": col("measure_id"), "name": col("name").where(col("name") != "", col("measure_id")),
                        "kind": kind, "start": start.dt.date, "cost": cost, "funding_line": col("funding_line"),
                        "place_id": pid, "x": x, "y": y, "radius_m": radius, "notes": col("notes"),
                        "simulated": col("simulated").str.lower().isin(["true", "yes", "1"])})
    return out[good].reset_index(drop=True), _quarantine_table(name, raw, reason, good)


def fund_view(results: list[dict], allocated: float | None = None) -> dict:
    """Add the measures up: allocated, spent, crimes prevented (a range), cost per crime prevented.
    The range is the sum of each measure's interval ends: conservative (wider than a joint interval),
    never narrower. A measure with too few events to tell adds nothing to either end and is counted."""
    spent = float(sum(r["cost"] for r in results))
    lows = [r.get("events_avoided_low") for r in results]
    highs = [r.get("events_avoided_high") for r in results]
    told = [lo is not None and hi is not None for lo, hi in zip(lows, highs)]
    low = float(sum(lo for lo, ok in zip(lows, told) if ok))
    high = float(sum(hi for hi, ok in zip(highs, told) if ok))
    out = {"allocated": allocated, "spent": spent, "measures": len(results), "measures_estimated": int(sum(told)),
           "measures_too_few": len(results) - int(sum(told)), "crimes_prevented_low": low, "crimes_prevented_high": high,
           "cost_avoided_low": float(sum(r.get("cost_avoided_low") or 0 for r in results)),
           "cost_avoided_high": float(sum(r.get("cost_avoided_high") or 0 for r in results)),
           "significant": int(sum(bool(r.get("significant")) for r in results)),
           # harm (CCHI days) from each measure's before/after harm-ratio interval, summed the same way
           "harm_prevented_low": float(sum(r.get("harm_avoided_low") or 0 for r in results)),
           "harm_prevented_high": float(sum(r.get("harm_avoided_high") or 0 for r in results))}
    out["cost_per_crime_prevented"] = (
        "no crimes shown to be prevented" if high <= 0 else
        [spent / high, spent / low] if low > 0 else [spent / high, None])
    out["unspent"] = None if allocated is None else allocated - spent
    return out


def simulate_town(seed: int = 1, effect: float = 0.5, side: int = 20, cell: float = 200.0,
                  origin=(340_000.0, 390_000.0), months=("2019-01", "2020-12"), start="2020-01",
                  mean_rate: float = 6.0, treated_rate: float = 30.0,
                  force: str = "Merseyside Police"):
    """A SIMULATED town for testing the fund's evaluation: a side x side grid of snap points `cell`
    metres apart with monthly Poisson crime (rates drawn from a gamma with mean `mean_rate`; a
    tenth of the points as busy as the treated one so it has matches), and one measure at the
    centre point whose crime falls by `effect` (0.5 = halved) from `start`. Returns
    (rows in police.uk street CSV form per month, the measure row). Locations say "Simulated";
    `force` is the force the files claim (the ingest needs a real one)."""
    rng = np.random.default_rng(seed)
    from saferhub.geo.project import to_wgs84

    n = side * side
    ix, iy = np.divmod(np.arange(n), side)
    x, y = origin[0] + ix * cell + cell / 2, origin[1] + iy * cell + cell / 2
    lon, lat = to_wgs84(x, y)
    rate = rng.gamma(2.0, mean_rate / 2.0, n)
    busy = rng.choice(n, n // 10, replace=False)
    rate[busy] = rng.uniform(0.7, 1.3, busy.size) * treated_rate
    centre = (side // 2) * side + side // 2
    rate[centre] = treated_rate
    all_months = pd.period_range(months[0], months[1], freq="M").strftime("%Y-%m").tolist()
    files = {}
    for m in all_months:
        r = rate.copy()
        if m >= start:
            r[centre] *= (1 - effect)
        k = rng.poisson(r)
        rows = []
        for i in np.flatnonzero(k):
            for j in range(k[i]):
                asb = j % 3 == 2
                cid = "" if asb else f"SIM{seed}-{m}-{i}-{j}"
                ctype = "Anti-social behaviour" if asb else "Burglary"
                rows.append(f"{cid},{m},{force},{force},{lon[i]:.6f},{lat[i]:.6f},"
                            f"On or near Simulated Street {i},,,{ctype},,")
        files[m] = rows
    measure = {"measure_id": "SIM-M1", "name": "Simulated CCTV at Simulated Street", "kind": "cctv",
               "start": f"{start}-01", "cost": "20000", "funding_line": "Simulated prevention fund",
               "easting": f"{x[centre]:.0f}", "northing": f"{y[centre]:.0f}", "radius_m": "100", "simulated": "true"}
    return files, measure


STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context")
