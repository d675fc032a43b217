"""From areas and months to every figure of a run: reads the event store once, counts events into the
areas, their buffer rings and a grid of candidate control cells, then applies `methods.assess` (the
calibrated methods), the per-area year-on-year table, the event study and the harm view."""

from __future__ import annotations

import numpy as np
import pandas as pd

from saferhub.evaluate import did, displacement, methods, reference, yoy
from saferhub.geo.cube import build_sparse_cube

METHOD_NOTES = {
    "yoy": "exact Poisson (Clopper-Pearson conditional) rate-ratio intervals; C-test and E-test "
           "(Krishnamoorthy & Thomson 2004, unpooled variance X1/t1^2 + X0/t0^2) shown; significance "
           "decided by the referenced test: the areas' change ranked among 199 reference sets, each taking one "
           "place from every area's matched group (the area and its 10 nearest untreated places on level "
           "and trend), a matched-set randomisation test",
    "did": "quasi-Poisson GLM (statsmodels) with place and period effects, Pearson-scaled variance plus "
           "the shared-swing variance of the reference sets; controls: 3 matched untreated 200 m cells "
           "per area, outside the buffers, nearest on before-period level and trend",
    "wdd": "Wheeler & Ratcliffe (2018) WDD: the net change in the areas and their rings together. Decided "
           "by the referenced WDD: the same change for 199 reference sets (one place from each area's "
           "matched group, the area itself included) and their own rings, scaled to the areas' levels "
           "(a matched-set randomisation test). The published Poisson SE, with controls scaled to the "
           "before-period level, is shown but over-claims on real data",
    "wdq": "Bowers & Johnson (2003) WDQ and total net effect",
}
POOL = 10          # matched candidates per treated area (3 become DiD controls; reference groups: 10 + itself)
PER_TREATED = 3
N_REFERENCE = 199


def _load(store, force, months, categories):
    from saferhub.data import events

    table = events(store=store, force=force, months=(months[0], months[-1]), categories=categories,
                   columns=["x", "y", "month", "category", "harm_weight"], located_only=True)
    return table.to_pandas()


def _inside(polys, x, y) -> list[np.ndarray]:
    """For each polygon, the indices of the points inside it (shapely STRtree, vectorised)."""
    import shapely

    pts = shapely.points(x, y)
    tree = shapely.STRtree(pts)
    return [tree.query(p, predicate="contains") for p in polys]


def _matrix(idx_lists, col, n_months, weights=None) -> np.ndarray:
    out = np.zeros((len(idx_lists), n_months))
    for r, idx in enumerate(idx_lists):
        np.add.at(out[r], col[idx], 1.0 if weights is None else weights[idx])
    return out


def run_design(gdf, before_m, after_m, categories, buffers, store, force, min_events, cell_size,
               seed, harm=False, synthetic=False, imd=False, geo_dir=None) -> dict:
    months = np.arange(min(before_m.min(), after_m.min()), max(before_m.max(), after_m.max()) + 1)
    ev = _load(store, force, months, categories)
    m = ev["month"].to_numpy().astype("datetime64[M]")
    cube = build_sparse_cube(ev["x"], ev["y"], m, ev["harm_weight"], cell_size=cell_size, months=months)
    col = np.searchsorted(months, m)
    x, y, w = ev["x"].to_numpy(), ev["y"].to_numpy(), ev["harm_weight"].to_numpy()
    ring_gdf = displacement.rings(gdf, buffers)
    union = gdf.geometry.union_all()
    idx_areas = _inside(list(gdf.geometry), x, y)
    idx_union = _inside([union], x, y)[0]
    idx_rings = _inside(list(ring_gdf.geometry), x, y)
    T = _matrix(idx_areas, col, months.size)
    before = np.searchsorted(months, before_m)
    after = np.searchsorted(months, after_m)
    total = T[:, np.r_[before, after]].sum()
    mix = ev.iloc[idx_union]["category"].value_counts().to_dict()
    base = {"category_mix": mix, "months": [str(v) for v in months], "rings": ring_gdf["ring"].tolist()}
    if total < min_events:
        return {**base, "result": yoy.TOO_FEW, "events": float(total),
                "message": f"{int(total)} events in the areas over both periods, fewer than the minimum of "
                           f"{min_events}: too few events to tell."}
    rng = np.random.default_rng(seed)
    # Candidate controls: grid cells whose centre is beyond the outer buffer (plus half a diagonal).
    import shapely

    centres = shapely.points((cube.ix + 0.5) * cell_size, (cube.iy + 0.5) * cell_size)
    far = shapely.distance(centres, union) > buffers[-1] + 0.71 * cell_size
    in_ring = shapely.contains(ring_gdf.geometry.union_all(), centres)
    na = len(gdf)
    stack = np.vstack([T, cube.counts])
    eligible = np.r_[np.zeros(na, bool), far & (cube.counts[:, before].sum(axis=1) > 0)]
    strata = None
    if imd:  # match within IMD decile (areas: their centroid's; cells: their centre's)
        from saferhub.evaluate.imd import place_deciles

        cen = gdf.geometry.centroid
        strata = place_deciles(np.r_[cen.x.to_numpy(), (cube.ix + 0.5) * cell_size],
                               np.r_[cen.y.to_numpy(), (cube.iy + 0.5) * cell_size], geo_dir)
    pools = did.match_pools(stack[:, before], np.arange(na), eligible, per_treated=POOL, strata=strata)
    controls = pools[:, :PER_TREATED].ravel()
    controls = controls[controls >= 0]
    free = eligible.copy()
    free[controls] = False
    bcells = na + np.flatnonzero(in_ring & (cube.counts[:, before].sum(axis=1) > 0))
    bpools = did.nearest_pools(stack[:, before], bcells, free, k=POOL) if bcells.size else np.zeros((0, 1), int)
    groups = reference.matched_groups(stack[:, before], np.arange(na), eligible, k=POOL, strata=strata)
    draws = reference.draw_sets(groups, N_REFERENCE, rng)
    D = _matrix([np.concatenate(idx_rings)], col, months.size)[0] if idx_rings else np.zeros(months.size)
    CD = stack[bpools[:, 0]].sum(axis=0) if bcells.size else np.zeros(months.size)
    ring_ref = _ring_reference(gdf, union, buffers[-1], x, y, col, months.size, cube, draws, na,
                               max(1, int(round(buffers[-1] / cell_size))))
    did_cols = np.r_[before, after]
    res = methods.assess(T, stack[controls], D, CD, before, after, did_cols, stack[draws].sum(axis=1), D, ring_ref)
    out = {**base, "result": "estimated", "events": float(total)}
    out["yoy_areas"] = _yoy_areas(gdf, T, cube, idx_areas, col, w, before, after, min_events, harm)
    overall = yoy.yoy_table(pd.DataFrame({"area_id": ["all"], "before": [T[:, before].sum()],
                                          "after": [T[:, after].sum()]}), len(before), len(after),
                            min_events=min_events).iloc[0].to_dict()
    overall.update(p_referenced=res.get("yoy_p_ref"), reference_rate_ratio=res.get("yoy_ref_rr"))
    out["yoy_overall"] = overall
    c0, c1 = stack[controls][:, before].sum(), stack[controls][:, after].sum()
    out["did"] = {"rate_ratio": res["did_rate_ratio"], "low": res["did_low"], "high": res["did_high"],
                  "p": res["did_p"], "controls": len(controls), "shock_var": res.get("shock_var", 0.0),
                  "controls_ratio": c0 / max(T[:, before].sum(), 1), "control_before": c0, "control_after": c1,
                  "control_cells": [str(i) for i in cube.ids[controls - na]]}
    es = did.event_study(np.vstack([T, stack[controls]])[:, did_cols], np.r_[np.ones(na, bool), np.zeros(len(controls), bool)],
                         np.isin(did_cols, after), [str(v) for v in months[did_cols]])
    out["event_study"] = es.to_dict("records")
    out["displacement"] = _displacement(res, ring_gdf, idx_rings, col, months.size, before, after, stack, bpools, bcells)
    scale = T[:, before].sum() / max(c0, 1)
    out["series"] = {"months": [str(v) for v in months], "treated": T.sum(axis=0).tolist(),
                     "controls_scaled": (stack[controls].sum(axis=0) * scale).tolist(),
                     "before": [str(v) for v in months[before]], "after": [str(v) for v in months[after]]}
    if harm:
        out["harm"] = _harm(T, idx_areas, idx_union, col, w, months.size, before, after)
    if synthetic and na != 1:
        out["synthetic"] = {"result": f"a synthetic control needs exactly one area (this run has {na})"}
    elif synthetic:
        donors = stack[pools[0][pools[0] >= 0]][:, did_cols]
        sc = did.synthetic_control(T[0, did_cols], donors, n_pre=len(before))
        out["synthetic"] = {"result": "estimated", **{k: v for k, v in sc.items() if k != "weights"},
                            "weights": sc["weights"].tolist(), "months": [str(v) for v in months[did_cols]],
                            "target": T[0, did_cols].tolist()}
    return out


def _ring_reference(gdf, union, outer, x, y, col, n_months, cube, draws, na, radius) -> np.ndarray:
    """Monthly events in each reference set's rings (sets x months): for the areas a set holds, the
    union of their own rings (each area buffered by `outer`, less all areas: together exactly the
    WDD's buffer); for its cells, the cells within `radius` of them (cube.ring_sums). Cells lie beyond
    the buffers, so their rings hardly meet the areas' (a cell ring can graze the outer ring)."""
    idx = _inside([g.buffer(outer).difference(union) for g in gdf.geometry], x, y)
    ev = np.unique(np.concatenate(idx)) if idx else np.zeros(0, dtype=int)
    member = np.zeros((ev.size, na), dtype=bool)
    for i, ids in enumerate(idx):
        member[np.searchsorted(ev, ids), i] = True
    cols = col[ev]
    out = np.zeros((len(draws), n_months))
    for r, row in enumerate(draws):
        areas, cells = np.unique(row[row < na]), np.unique(row[row >= na]) - na
        if areas.size:
            out[r] += np.bincount(cols[member[:, areas].any(axis=1)], minlength=n_months)
        if cells.size:
            out[r] += cube.ring_sums(cells[None, :], radius)[0]
    return out


def _yoy_areas(gdf, T, cube, idx_areas, col, w, before, after, min_events, harm):
    frame = pd.DataFrame({"area_id": gdf["area_id"], "before": T[:, before].sum(axis=1), "after": T[:, after].sum(axis=1)})
    if harm:
        H = _matrix(idx_areas, col, T.shape[1], w)
        H2 = _matrix(idx_areas, col, T.shape[1], w * w)
        frame["harm_before"], frame["harm_after"] = H[:, before].sum(axis=1), H[:, after].sum(axis=1)
        frame["harm_sq_before"], frame["harm_sq_after"] = H2[:, before].sum(axis=1), H2[:, after].sum(axis=1)
    table = yoy.yoy_table(frame, len(before), len(after), min_events=min_events)
    table = table[table["area_id"] != "All areas"].merge(gdf[["area_id", "name"]], on="area_id", how="left")
    return table.to_dict("records")


def _displacement(res, ring_gdf, idx_rings, col, n_months, before, after, stack, bpools, bcells) -> dict:
    rings = []
    for name, idx in zip(ring_gdf["ring"], idx_rings):
        row = _matrix([idx], col, n_months)[0]
        rings.append({"ring": name, "before": row[before].sum(), "after": row[after].sum()})
    wdd = {k.replace("wdd_", ""): res.get(k, np.nan) for k in ("wdd_low", "wdd_high", "wdd_p", "wdd_published",
                                                               "wdd_se_poisson", "wdd_p_poisson")}
    wdd["wdd"] = res.get("wdd", np.nan)
    return {"rings": rings, "wdd": wdd, "wdq": res.get("wdq"), "total_net_effect": res.get("total_net_effect"),
            "buffer_control_before": stack[bpools[:, 0]][:, before].sum() if bcells.size else 0.0,
            "buffer_control_after": stack[bpools[:, 0]][:, after].sum() if bcells.size else 0.0}


def _harm(T, idx_areas, idx_union, col, w, n_months, before, after) -> dict:
    H = _matrix([idx_union], col, n_months, w)[0]
    H2 = _matrix([idx_union], col, n_months, w * w)[0]
    hr, lo, hi = yoy.harm_ratio(H[after].sum(), H[before].sum(), H2[after].sum(), H2[before].sum(),
                                len(after), len(before))
    return {"before": H[before].sum(), "after": H[after].sum(), "ratio": hr, "low": lo, "high": hi,
            "change_pct": 100 * (hr - 1) if np.isfinite(hr) else None}


def crossover_result(gdf, assignment, store, force, min_events, seed) -> dict:
    """Patrol vs control days from the plan's crossover assignment and timestamped incidents."""
    from saferhub.data import events
    from saferhub.evaluate import crossover

    dates = pd.to_datetime(assignment["date"])
    months = (dates.min().strftime("%Y-%m"), dates.max().strftime("%Y-%m"))
    try:
        inc = events(store=store, force=force, months=months, sources="incident",
                     columns=["x", "y", "occurred_at"], located_only=True).to_pandas()
    except Exception:  # no incidents dataset in this store
        inc = pd.DataFrame(columns=["x", "y", "occurred_at"])
    if inc.empty:
        return {"result": "no timestamped incidents in the store for the plan's dates"}
    when = pd.to_datetime(inc["occurred_at"], utc=True).dt.tz_convert("Europe/London").dt.tz_localize(None)
    rows = [pd.DataFrame({"area_id": aid, "date": when.iloc[idx].dt.normalize()})
            for aid, idx in zip(gdf["area_id"], _inside(list(gdf.geometry), inc["x"].to_numpy(), inc["y"].to_numpy()))]
    days = crossover.daily_counts(assignment, pd.concat(rows, ignore_index=True))
    return crossover.crossover_test(days, seed=seed, min_events=min_events)


def dose_result(gdf, dosage, store, force, categories, min_events) -> dict:
    """Dose-response per area-month against police.uk counts (months are police.uk's only time)."""
    from saferhub.evaluate import response

    d = dosage[dosage["area_id"].astype(str).isin(set(gdf["area_id"]))].copy()
    if d.empty:
        return {"result": "no dosage rows for these areas"}
    d["month"] = pd.to_datetime(d["date"]).dt.to_period("M")
    per = d.groupby(["area_id", "month"], as_index=False)[["minutes_min", "minutes_max"]].sum()
    months = np.array(sorted({str(p) for p in per["month"]}), dtype="datetime64[M]")
    ev = _load(store, force, months, categories)
    m = ev["month"].to_numpy().astype("datetime64[M]")
    rows = []
    for aid, idx in zip(gdf["area_id"], _inside(list(gdf.geometry), ev["x"].to_numpy(), ev["y"].to_numpy())):
        for mon, n in pd.Series(m[idx]).value_counts().items():
            rows.append({"area_id": aid, "month": pd.Period(str(mon)[:7], "M"), "y": float(n)})
    y = pd.DataFrame(rows, columns=["area_id", "month", "y"])
    weeks = per.merge(y, on=["area_id", "month"], how="left").fillna({"y": 0.0}).rename(columns={"month": "week"})
    out = response.dose_response(weeks, min_events=min_events)
    out["unit"] = "area-month (police.uk months)"
    out["points"] = weeks.assign(week=weeks["week"].astype(str)).to_dict("records")
    return out


def headline(run: dict) -> str:
    d = run["did"]
    lo, hi = 100 * (d["low"] - 1), 100 * (d["high"] - 1)
    verdict = ("a change this size is unlikely to be chance (p = %.3f)" % d["p"] if d["p"] < 0.05
               else "the change could be chance (p = %.2f)" % d["p"])
    return (f"Compared with matched places, events in the areas changed by {100 * (d['rate_ratio'] - 1):+.0f}% "
            f"(95% interval {lo:+.0f}% to {hi:+.0f}%): {verdict}.")
