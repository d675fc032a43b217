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


def _events(store, force, months, cell_key_secret_text):
    from saferhub.data import events

    cols = ["lsoa", "lsoa11", "month", "category"] + (["event_id"] if cell_key_secret_text else [])
    t = events(store, force=force, months=(months[0], months[-1]), sources="street", columns=cols).to_pandas()
    # a store ingested without the geo folder has no lsoa11: its codes are then the file's own
    # (2011 codes in every file before the 2021 switch)
    t["lsoa11"] = t["lsoa11"].fillna(t["lsoa"])
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
                key_file=None, report_text: str = REPORT_TEXT, today: dt.date | None = None) -> dict:
    """Everything a public page shows, for every ward, after disclosure control."""
    from saferhub.config import settings
    from saferhub.data.products import read_product

    rule = rule or D.Rounding()
    geo_dir = geo_dir or settings().geo_dir
    store_path = settings(store=store).store_path
    force, last = _force_and_last(store, force)
    per = N.periods(last, months_shown)
    secret = cell_key_secret(key_file) if isinstance(rule, D.CellKey) else ""
    wards = N.ward_table(geo_dir)
    lsoa_to_ward = {code: w for w, ls in zip(wards["code"], wards["lsoas"]) for code in ls}
    first = min(per["trend"][0], per["ytd_before"][0])
    ev = _events(store, force, [first, last], secret)
    counts = N.ward_counts(ev, lsoa_to_ward, "key" if secret else None)
    similar = N.similar_wards(wards)
    today = today or dt.date.today()
    dosage = read_product("patrol-dosage", store)
    areas = read_product("patrol-areas", store)
    patrol = N.patrol_by_ward(pd.DataFrame(dosage) if dosage else None, areas["features"] if areas else None,
                              wards, today, rule, secret)
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
            s["yoy"] = N.year_on_year(s["ytd"], s["ytd_before"], len(per["ytd"]))
            s["label"] = label
            s["query"] = query + (f"; category = {N.ASB!r}" if group == "asb" else f"; category != {N.ASB!r}")
            rec[group] = s
        p = patrol.get(w.code)
        if p:
            p["query"] = ("saferhub.data.read_product('patrol-dosage') (visits per patrol area per day, "
                          "computed by saferhub patrol dosage) by ward of the patrol area")
        rec["patrol"] = p
        rec["priorities"] = _plans_for(rec, plans)
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
            "periods": per, "disclosure": {"method": rule.name, "text": rule.describe()},
            "similar_how": N.SIMILAR_HOW.format(k=N.SIMILAR_K), "report_text": report_text,
            "report_links": REPORT_LINKS, "patrol_simulated": any((r["patrol"] or {}).get("simulated") for r in out_wards),
            "area_wide_priorities": [p for p in plans if not any(p in r["priorities"] for r in out_wards)],
            "wards": sorted(out_wards, key=lambda r: (r["district"], r["name"]))}


def publish_neighbourhoods(store=None, force=None, geo_dir=None, *, out=None, method: str = "10-5",
                           threshold: int = 10, base: int = 5, months_shown: int = 36, db=None, key_file=None,
                           report_text: str = REPORT_TEXT, today: dt.date | None = None) -> dict:
    """`saferhub publish neighbourhoods`: build the public model, publish it (product + charts) for
    the web's /public/ pages, and with `out` write the static site there. Returns a summary."""
    from saferhub.community import render
    from saferhub.data.products import write_product

    rule = D.method(method, threshold=threshold, base=base)
    model = build_model(store, force, geo_dir, rule=rule, months_shown=months_shown, db=db, key_file=key_file,
                        report_text=report_text, today=today)
    charts = community_dir(store) / "charts"
    render.write_charts(model, charts)
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
