"""Tell, the verbs: `publish_neighbourhoods` (the public model, its charts, posts and a static
export) and the survey verbs (`survey_import`, `survey_simulate`, `survey_estimates`). The CLI,
the public web pages and the static export all go through here.

What is public is computed once, by the job, into the product `community-neighbourhoods` (JSON,
every count already through `disclosure`) and its charts under `<store>/products/community/`; the
public pages only read them, so no request computes, and nothing unprotected is ever on disk in
the public folder."""

from __future__ import annotations

import datetime as dt
import functools
import os
import secrets
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.community import disclosure as D
from saferhub.community import neighbourhoods as N
from saferhub.errors import SaferhubError

PRODUCT = "community-neighbourhoods"
REPORT_TEXT = ("How to report: call 101 or report online at merseyside.police.uk; in an emergency, or if a "
               "crime is happening now, call 999. To stay anonymous, call Crimestoppers on 0800 555 111.")
REPORT_LINKS = [("Report a crime online", "https://www.merseyside.police.uk/ro/report/"),
                ("Crimestoppers", "https://crimestoppers-uk.org/")]


def community_dir(store=None) -> Path:
    from saferhub.data.products import products_dir

    return products_dir(store) / "community"


def cell_key_secret(key_file=None) -> str:
    """The secret cell keys are made with: stable across runs (so the same records keep the same
    noise), private (0600), created on first use."""
    from saferhub.config import data_home

    path = Path(key_file) if key_file else data_home() / "cell-key.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def _force_and_last(store, force):
    from saferhub.data.status import store_status

    st = store_status(store)
    forces = [f for f in st["forces"] if not force or f["force"] == force]
    if not forces:
        raise SaferhubError(f"the store holds no police.uk data{' for ' + force if force else ''}: run saferhub ingest")
    top = max(forces, key=lambda f: (str(f["last_month"]), f["months"]))
    return top["force"], str(top["last_month"])[:7]


def _events(store, force, months, cell_key_secret_text, geo_dir):
    from saferhub.data import events

    cols = ["lsoa", "lsoa11", "month", "category", "x", "y"] + (["event_id"] if cell_key_secret_text else [])
    t = events(store, force=force, months=(months[0], months[-1]), sources="street", columns=cols).to_pandas()
    # a store ingested without the geo folder has no lsoa11: its codes are then the file's own
    # (2011 codes in every file before the 2021 switch); API rows have none: from their point
    t["lsoa11"] = t["lsoa11"].fillna(t["lsoa"])
    todo = t["lsoa11"].isna() & t["x"].notna()
    if todo.any():
        from saferhub.geo.lsoa import lsoa11_of_points

        t.loc[todo, "lsoa11"] = lsoa11_of_points(t.loc[todo, "x"].to_numpy(), t.loc[todo, "y"].to_numpy(),
                                                 geo_dir and str(geo_dir)).to_pandas().to_numpy()
    if cell_key_secret_text:
        t["key"] = D.record_keys(t["event_id"].to_numpy(), cell_key_secret_text)
    return t


def _public_plans(db) -> list[dict]:
    """Plans a coordinator marked public, as the hub service hands them out (title, what was done,
    outcome, areas); nothing else of a plan can come through. `db`: a URL or path; None is the
    default hub file, and a hub that does not exist has none."""
    from sqlalchemy.exc import SQLAlchemyError

    from saferhub.hub import services
    from saferhub.hub.db import make_engine, resolve_db_url, session_factory, sqlite_path

    url = resolve_db_url(db)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return []
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            return services.public_plans(s)
    except SQLAlchemyError:  # a hub not migrated to the public-plans revision yet has none to show
        return []
    finally:
        engine.dispose()


def _plans_for(ward, plans) -> list[dict]:
    keys = {ward["code"].lower(), ward["name"].lower(), ward["slug"]}
    return [p for p in plans if keys & {str(a).lower() for a in p.get("areas", [])}]


def build_model(store=None, force=None, geo_dir=None, *, rule=None, months_shown: int = 36, db=None,
                key_file=None, report_text: str = REPORT_TEXT, today: dt.date | None = None, areas=None,
                name_column: str | None = None, use_fetched: bool = True) -> dict:
    """Everything a public page shows, for every neighbourhood, after disclosure control: the
    user's `areas` file, else the police.uk neighbourhoods `saferhub fetch` stored (unless
    `use_fetched` is off), else the geo folder's wards."""
    from saferhub.config import settings
    from saferhub.data.products import read_product

    rule = rule or D.Rounding()
    geo_dir = geo_dir or settings().geo_dir
    force, last = _force_and_last(store, force)
    police_uk = {}   # public police.uk details (team, priorities, events) per fetched neighbourhood
    if areas is None and use_fetched:  # police.uk neighbourhoods, when `saferhub fetch` learnt them
        from saferhub.data.boundaries import neighbourhoods_path
        from saferhub.data.hooddetails import read_details

        fetched = neighbourhoods_path(settings(store=store).store_path, force)
        if fetched.exists():
            areas, name_column = fetched, "name"
            police_uk = read_details(settings(store=store).store_path, force)
    per = N.periods(last, months_shown)
    secret = cell_key_secret(key_file) if isinstance(rule, D.CellKey) else ""
    wards = N.ward_table(geo_dir, areas, name_column)
    lsoa_to_ward = {code: w for w, ls in zip(wards["code"], wards["lsoas"]) for code in ls}
    first = min(per["trend"][0], per["ytd_before"][0])
    ev = _events(store, force, [first, last], secret, geo_dir)
    counts = N.ward_counts(ev, lsoa_to_ward, "key" if secret else None)
    similar = N.similar_wards(wards)
    today = today or dt.date.today()
    dosage = read_product("patrol-dosage", store)
    areas = read_product("patrol-areas", store)
    patrol = N.patrol_by_ward(pd.DataFrame(dosage) if dosage else None, areas["features"] if areas else None,
                              wards, today, rule, secret)
    patrol_all = patrol.pop("_all", None)
    plans = _public_plans(db)
    query = f"saferhub.data.events(force={force!r}, sources='street') by ward (LSOA 2011 -> ward)"
    out_wards = []
    grouped = {k: g for k, g in counts.groupby(["ward", "group"])}
    for w in wards.itertuples():
        rec = {"code": w.code, "name": w.name, "district": w.district, "slug": w.slug,
               "population": int(w.population), "imd_rank": None if pd.isna(w.imd_rank) else int(w.imd_rank),
               "most_deprived_pct": None if pd.isna(w.most_deprived_pct) else int(w.most_deprived_pct),
               "lsoas": len(w.lsoas), "periods": per, "disclosure": rule.describe()}
        for group, label in (("crime", "crime (all police.uk categories except ASB)"), ("asb", N.ASB)):
            g = grouped.get((w.code, group))
            c = dict(zip(g["month"], g["count"])) if g is not None else {}
            k = dict(zip(g["month"], g["key"].astype(np.int64))) if g is not None else {}
            s = N.protected_series(c, k, per, rule)
            s["rate_per_1000"] = N.rate_per_1000(s["year"], rec["population"])
            shown = dict(zip(s["months"], s["monthly"]))
            phi = N.dispersion([shown.get(m) for m in per["ytd_before"]], [shown.get(m) for m in per["ytd"]])
            s["yoy"] = N.year_on_year(s["ytd"], s["ytd_before"], len(per["ytd"]), phi)
            s["label"] = label
            s["query"] = query + (f"; category = {N.ASB!r}" if group == "asb" else f"; category != {N.ASB!r}")
            rec[group] = s
        p = patrol.get(w.code)
        if p:
            p["query"] = ("saferhub.data.read_product('patrol-dosage') (visits per patrol area per day, "
                          "computed by saferhub patrol dosage) by ward of the patrol area")
        rec["patrol"] = p
        rec["priorities"] = _plans_for(rec, plans)
        rec["police_uk"] = police_uk.get(w.name)   # public police.uk data: no disclosure control needed
        out_wards.append(rec)
    by_code = {r["code"]: r for r in out_wards}
    for r in out_wards:
        r["similar"] = [{"code": c, "name": by_code[c]["name"], "slug": by_code[c]["slug"], "district": by_code[c]["district"],
                         "crime_rate": by_code[c]["crime"]["rate_per_1000"], "asb_rate": by_code[c]["asb"]["rate_per_1000"]}
                        for c in similar.get(r["code"], [])]
    from saferhub.community.posts import write_posts

    for r in out_wards:
        r["posts"] = write_posts(r, report_text)
    return {"generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "force": force,
            "today": today.isoformat(),
            "periods": per, "disclosure": {"method": rule.name, "text": rule.describe()},
            "similar_how": N.SIMILAR_HOW.format(k=N.SIMILAR_K), "report_text": report_text,
            "report_links": REPORT_LINKS, "patrol_all": patrol_all, "patrol_simulated": any((r["patrol"] or {}).get("simulated") for r in out_wards),
            "area_wide_priorities": [p for p in plans if not any(p in r["priorities"] for r in out_wards)],
            "wards": sorted(out_wards, key=lambda r: (r["district"], r["name"]))}


def publish_neighbourhoods(store=None, force=None, geo_dir=None, *, out=None, method: str = "10-5",
                           threshold: int = 10, base: int = 5, months_shown: int = 36, db=None, key_file=None,
                           report_text: str = REPORT_TEXT, today: dt.date | None = None, areas=None,
                           name_column: str | None = None, use_fetched: bool = True) -> dict:
    """`saferhub publish neighbourhoods`: build the public model, publish it (product + charts) for
    the web's /public/ pages, and with `out` write the static site there. Returns a summary.
    `areas`: a boundary file of the user's own neighbourhoods instead of the geo folder's wards."""
    from saferhub.community import render
    from saferhub.data.products import write_product

    rule = D.method(method, threshold=threshold, base=base)
    model = build_model(store, force, geo_dir, rule=rule, months_shown=months_shown, db=db, key_file=key_file,
                        report_text=report_text, today=today, areas=areas, name_column=name_column,
                        use_fetched=use_fetched)
    charts = community_dir(store) / "charts"
    fresh, old = charts.with_name(".charts.new"), charts.with_name(".charts.old")
    shutil.rmtree(fresh, ignore_errors=True)
    render.write_charts(model, fresh)  # built aside, then swapped: no ward's old chart outlives it
    shutil.rmtree(old, ignore_errors=True)
    if charts.exists():
        charts.rename(old)
    fresh.rename(charts)
    shutil.rmtree(old, ignore_errors=True)
    write_product(PRODUCT, model, store)
    summary = {"wards": len(model["wards"]), "force": model["force"], "last_month": model["periods"]["last"],
               "disclosure": model["disclosure"]["text"], "charts": str(charts)}
    if out:
        summary["out"] = str(render.export_site(model, charts, Path(out), survey=read_survey_product(store)))
    return summary


def public_model(store=None) -> dict | None:
    """The published model (None before the first publish), parsed once per version of the file
    so a public page costs a template render, not a JSON parse of every ward."""
    from saferhub.data.products import product_path

    path = product_path(PRODUCT, store)
    if path is None:
        return None
    st = path.stat()
    return _parsed(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=4)
def _parsed(path: str, _mtime: int, _size: int) -> dict:
    import json

    return json.loads(Path(path).read_text(encoding="utf-8"))


def ward_page_data(model: dict, slug: str, db=None) -> dict | None:
    """One ward of the model, with its "you said, we did" priorities read live from the hub
    (only approved public summaries; a plan withdrawn a minute ago is gone)."""
    ward = next((w for w in model["wards"] if w["slug"] == slug), None)
    if ward is None:
        return None
    if db is not None:
        from sqlalchemy.exc import SQLAlchemyError

        from saferhub.hub import services

        try:
            ward = ward | {"priorities": _plans_for(ward, services.public_plans(db))}
        except SQLAlchemyError:  # no hub (or not migrated yet): the summaries published with the pages
            db.rollback()
    return ward


def chart_file(name: str, store=None) -> Path | None:
    """A published chart by file name (letters, digits, '-', '.png' only), or None."""
    import re

    if not re.fullmatch(r"(survey/)?[a-z0-9-]{1,120}\.png", name):
        return None
    path = community_dir(store) / "charts" / name
    if name.startswith("survey/"):
        path = community_dir(store) / name
    return path if path.is_file() else None


def read_survey_product(store=None) -> dict | None:
    from saferhub.data.products import read_product

    return read_product("community-survey", store)


# ---------------------------------------------------------------- the perceptions survey

SURVEY_PRODUCT = "community-survey"


def survey_dir(store=None) -> Path:
    from saferhub.config import resolve_store

    return resolve_store(store) / "survey"


def survey_import(paths, mapping, store=None, geo_dir=None) -> list[dict]:
    """`saferhub survey import`: each file's rows checked against the mapping; good rows kept
    (a respondent already kept for the wave is replaced, so re-importing is idempotent), bad rows
    quarantined with file, line and reason. Returns per file: read, kept, quarantined."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from saferhub.community import surveyio as SIO
    from saferhub.config import settings
    from saferhub.fsutil import write_atomic

    spec = SIO.load_mapping(mapping)
    wards = N.ward_table(geo_dir or settings().geo_dir)
    areas = SIO.area_lookup(wards)
    parsed = [(Path(p), *SIO.parse_responses(p, spec, areas)) for p in paths]  # every file checked before any write
    folder = survey_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    kept_path, q_path = folder / "responses.parquet", folder / "quarantine.csv"
    old = pq.read_table(kept_path).to_pandas() if kept_path.exists() else pd.DataFrame()
    new = pd.concat([k for _, k, _ in parsed], ignore_index=True)
    if len(old):
        old = old[~old.set_index(["wave", "id"]).index.isin(new.set_index(["wave", "id"]).index)]
    merged = pd.concat([old, new], ignore_index=True) if len(old) else new
    tmp = kept_path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pandas(merged, preserve_index=False), tmp)
    tmp.replace(kept_path)
    oldq = pd.read_csv(q_path, dtype=str, keep_default_na=False) if q_path.exists() else pd.DataFrame(columns=["file"])
    names = {str(p) for p, _, _ in parsed}
    q = pd.concat([oldq[~oldq["file"].isin(names)], pd.DataFrame([r for _, _, rows in parsed for r in rows],
                                                                  columns=["file", "line", "reason", "raw"])])
    write_atomic(q_path, q.to_csv(index=False))
    return [{"file": str(p), "read": len(k) + len(rows), "kept": len(k), "quarantined": len(rows),
             "reasons": pd.Series([r["reason"].split(" ")[0] for r in rows]).value_counts().to_dict() if rows else {}}
            for p, k, rows in parsed]


def survey_simulate(out, geo_dir=None, *, waves=("2025-Q1", "2025-Q2"), n_per_wave: int = 2000, seed: int = 1) -> dict:
    """`saferhub survey simulate`: SIMULATED responses and their mapping, written to `out`."""
    from saferhub.community import surveyio as SIO
    from saferhub.config import settings
    from saferhub.fsutil import write_atomic

    wards = N.ward_table(geo_dir or settings().geo_dir)
    text, mapping = SIO.simulate(wards, waves, n_per_wave, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "simulated-survey.csv", text)
    write_atomic(out / "simulated-survey-mapping.yaml", mapping)
    return {"csv": str(out / "simulated-survey.csv"), "mapping": str(out / "simulated-survey-mapping.yaml"),
            "rows": text.count("\n") - 1}


def survey_results(store=None, geo_dir=None, *, method: str = "beta", min_base: int = 50,
                   national: str = "csew-2025-03") -> dict:
    """`saferhub survey results`: weighted estimates per wave, overall and by district and ward,
    cells under `min_base` withheld, the latest wave against the one before, the national figure
    beside each; published (product + charts) for /public/survey and the static export."""
    import pyarrow.parquet as pq

    from saferhub.community import survey as S
    from saferhub.community import surveyio as SIO
    from saferhub.community.render import write_survey_charts
    from saferhub.config import settings
    from saferhub.data.products import write_product

    path = survey_dir(store) / "responses.parquet"
    if not path.exists():
        raise SaferhubError("no survey responses imported yet: saferhub survey import --mapping M.yaml FILE.csv")
    df = pq.read_table(path).to_pandas()
    wards = N.ward_table(geo_dir or settings().geo_dir).set_index("code")
    df["district"] = df["area"].map(wards["district"])
    df["ward"] = df["area"].map(wards["name"])
    skip = {"id", "wave", "area", "weight", "file", "line", "simulated", "district", "ward"}
    questions = [c for c in df.columns if c not in skip and df[c].notna().any()]
    nat = SIO.national_table(national).set_index("question")
    waves = sorted(df["wave"].unique())
    latest, previous = waves[-1], (waves[-2] if len(waves) > 1 else None)
    rows = []
    for wave in waves:
        g = df[df["wave"] == wave]
        for by, level in ((None, "overall"), ("district", "district"), ("ward", "ward")):
            for r in S.estimate_table(g, questions, by=by, method=method, min_base=min_base):
                rows.append(r | {"wave": wave, "level": level})
    est = {(r["wave"], r["level"], r["area"], r["question"]): r for r in rows}
    for r in rows:
        if r["wave"] == latest and previous and not r["withheld"]:
            before = est.get((previous, r["level"], r["area"], r["question"]))
            if before and not before["withheld"]:
                a = S.Estimate(before["p"], before["low"], before["high"], before["n"], before["n_eff"], before["se"] ** 2, "")
                b = S.Estimate(r["p"], r["low"], r["high"], r["n"], r["n_eff"], r["se"] ** 2, "")
                r["change"] = S.change(a, b)
    labels = {q: SIO.KNOWN.get(q, q) for q in questions}
    national_rows = {q: {"percent": float(nat.loc[q, "percent"]), "source": nat.loc[q, "source"],
                         "period": nat.loc[q, "period"], "label": nat.loc[q, "label"]} for q in questions if q in nat.index}
    model = {"generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
             "simulated": bool(df["simulated"].any()), "waves": waves, "latest": latest, "previous": previous,
             "questions": questions, "labels": labels, "national": national_rows, "national_version": national,
             "method": S.interval(np.array([1.0, 0.0]), None, method).method, "min_base": min_base,
             "respondents": {w: int((df["wave"] == w).sum()) for w in waves}, "rows": rows}
    model["csv"] = _survey_csv(model)
    write_survey_charts(model, community_dir(store) / "survey")
    write_product(SURVEY_PRODUCT, model, store)
    return {"waves": waves, "respondents": model["respondents"], "questions": questions,
            "withheld": sum(r["withheld"] for r in rows), "simulated": model["simulated"]}


def _survey_csv(model: dict) -> str:
    import csv
    import io

    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\r\n")
    wr.writerow(["wave", "level", "area", "question", "percent", "low_95", "high_95", "interval_method",
                 "unweighted_base", "effective_base", "change_on_previous_wave", "national_percent",
                 "national_source", "simulated"])
    for r in model["rows"]:
        nat = model["national"].get(r["question"], {})
        pct = lambda v: "" if r["withheld"] else round(100 * v, 1)  # noqa: E731
        wr.writerow([r["wave"], r["level"], r["area"], model["labels"][r["question"]], pct(r.get("p")),
                     pct(r.get("low")), pct(r.get("high")), "" if r["withheld"] else r["method"], r["n"],
                     "" if r["withheld"] else round(r["n_eff"], 1),
                     (r.get("change") or {}).get("result", ""), nat.get("percent", ""),
                     f"{nat['source']}, {nat['period']}" if nat else "", "yes" if model["simulated"] else "no"])
    return buf.getvalue()
