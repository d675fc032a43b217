"""Perceptions survey files: the mapping (YAML), the import (validation and quarantine like every
import: each bad row goes to the quarantine with its line and reason), the kept responses, the
national figures table and the documented generator of SIMULATED responses.

Mapping format (docs/community.md):
    columns: {id: RespID, wave: Wave, area: Ward, weight: Weight}   # weight optional (1 if absent)
    questions:
      confidence:                       # our key; confidence, good_job, foot_patrol_weekly have CSEW figures
        column: Q3
        label: Have confidence in the local police     # optional for the known keys
        yes: [Strongly agree, Tend to agree]
        no: [Neither agree nor disagree, Tend to disagree, Strongly disagree]
        missing: ["Don't know", ""]     # not answered: left out of that question's base
    simulated: false                    # true for the generator's files: every figure then says so
Any other answer to a mapped question quarantines the row (a typo must not become a "no")."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from saferhub.errors import SaferhubError

NATIONAL = Path(__file__).resolve().parent / "national"
KNOWN = {"confidence": "Have confidence in the local police",
         "good_job": "Say the police do a good or excellent job",
         "foot_patrol_weekly": "See a foot patrol at least once a week",
         "support": "Say Merseyside Police has their support",
         "asb_good_job": "Say the police do a good or excellent job tackling anti-social behaviour"}
COLUMNS = ("id", "wave", "area", "weight")


@dataclass
class Question:
    key: str
    column: str
    label: str
    yes: set
    no: set
    missing: set = field(default_factory=lambda: {""})


@dataclass
class SurveyMapping:
    name: str
    columns: dict
    questions: list
    simulated: bool = False


def _fail(path, msg):
    raise SaferhubError(f"{path}: {msg}")


def load_mapping(path) -> SurveyMapping:
    from saferhub.data.incidents import read_yaml

    path = Path(path)
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("columns"), dict) or not isinstance(doc.get("questions"), dict):
        _fail(path, "a survey mapping needs 'columns:' (id, wave, area[, weight]) and 'questions:'")
    stray = set(doc) - {"columns", "questions", "simulated"}
    if stray:
        _fail(path, f"unknown setting(s) {', '.join(sorted(map(str, stray)))} (known: columns, questions, simulated)")
    cols = {str(k): str(v) for k, v in doc["columns"].items()}
    bad = set(cols) - set(COLUMNS)
    if bad or not {"id", "wave", "area"} <= set(cols):
        _fail(path, f"columns must map id, wave and area (and optionally weight); got {', '.join(sorted(cols))}")
    qs = []
    for key, spec in doc["questions"].items():
        if isinstance(spec, dict):  # YAML 1.1 reads the keys yes/no (and answers Yes/No) as booleans
            spec = {("yes" if k is True else "no" if k is False else k): v for k, v in spec.items()}
        if not isinstance(spec, dict) or "column" not in spec or "yes" not in spec or "no" not in spec:
            _fail(path, f"question {key!r} needs column, yes and no")
        label = spec.get("label") or KNOWN.get(str(key))
        if not label:
            _fail(path, f"question {key!r} needs a label (a plain-words description)")
        as_set = lambda v: {("Yes" if x is True else "No" if x is False else str(x)).strip()  # noqa: E731
                            for x in (v if isinstance(v, list) else [v])}
        q = Question(str(key), str(spec["column"]), str(label), as_set(spec["yes"]), as_set(spec["no"]),
                     as_set(spec.get("missing", [""])) | {""})
        if q.yes & q.no:
            _fail(path, f"question {key!r}: {sorted(q.yes & q.no)[0]!r} is both yes and no")
        qs.append(q)
    if not qs:
        _fail(path, "no questions mapped")
    sim = doc.get("simulated", False)
    if not isinstance(sim, bool):
        _fail(path, "simulated must be true or false")
    return SurveyMapping(str(path), cols, qs, sim)


def parse_responses(path, mapping: SurveyMapping, areas: dict[str, str]) -> tuple[pd.DataFrame, list[dict]]:
    """(kept rows, quarantined rows) from one CSV. `areas` maps a lower-case ward name or code to
    the ward code. A file that cannot be read at all is one error naming it."""
    from saferhub.data.csvread import decode_check, read_strings

    path = Path(path)
    if not path.is_file():
        raise SaferhubError(f"{path}: no such file")
    data = path.read_bytes()
    raw = read_strings(str(path), data, decode_check(str(path), data))
    need = [mapping.columns[c] for c in mapping.columns] + [q.column for q in mapping.questions]
    missing = [c for c in need if c not in raw.header]
    if missing:
        raise SaferhubError(f"{path}: no column(s) {', '.join(missing)} (the mapping {mapping.name} names them)")
    t = raw.table.to_pandas()
    quarantine = [{"file": str(path), "line": line, "reason": reason, "raw": text} for line, reason, text in raw.bad_rows]
    rows, seen = [], set()
    for i, rec in enumerate(t.to_dict("records")):
        line = int(raw.lines[i])
        reason = raw.row_flags[i]
        get = lambda c: str(rec[mapping.columns[c]]).strip()  # noqa: E731
        out = {"id": get("id"), "wave": get("wave"), "file": path.name, "line": line}
        if not reason and not out["id"]:
            reason = "no respondent id"
        if not reason and not out["wave"]:
            reason = "no wave"
        if not reason and (out["wave"], out["id"]) in seen:
            reason = f"respondent {out['id']} appears twice in wave {out['wave']}"
        if not reason:
            key = get("area").lower()
            area = areas.get(key)
            reason = None if area else (f"area {get('area')!r} is the name of more than one ward; add the district, "
                                        f"e.g. '{get('area')} (Sefton)'" if key in areas else
                                        f"area {get('area')!r} is not a ward we know")
            out["area"] = area
        if not reason:
            w = get("weight") if "weight" in mapping.columns else "1"
            try:
                out["weight"] = float(w)
                reason = None if np.isfinite(out["weight"]) and out["weight"] > 0 else f"weight {w!r} is not positive"
            except ValueError:
                reason = f"weight {w!r} is not a number"
        for q in mapping.questions:
            if reason:
                break
            ans = str(rec[q.column]).strip()
            if ans in q.yes:
                out[q.key] = 1.0
            elif ans in q.no:
                out[q.key] = 0.0
            elif ans in q.missing:
                out[q.key] = np.nan
            else:
                reason = f"answer {ans[:40]!r} to {q.column} is not in the mapping (yes, no or missing)"
        if reason:
            quarantine.append({"file": str(path), "line": line, "reason": reason,
                               "raw": ",".join(str(rec[c]) for c in raw.header)[:500]})
            continue
        seen.add((out["wave"], out["id"]))
        rows.append(out)
    kept = pd.DataFrame(rows, columns=["id", "wave", "area", "weight", "file", "line"] + [q.key for q in mapping.questions])
    kept["simulated"] = mapping.simulated
    return kept, quarantine


def area_lookup(wards: pd.DataFrame) -> dict[str, str]:
    """Lower-case ward code, "name (district)", and the bare name where it is unique -> ward code.
    A name two districts share (Park, Church) maps to None: the row must say which."""
    out = {}
    dup = set(wards.loc[wards["name"].str.lower().duplicated(keep=False), "name"].str.lower())
    for code, name, district in zip(wards["code"], wards["name"], wards["district"]):
        out[code.lower()] = code
        out[f"{name} ({district})".lower()] = code
        out[name.lower()] = None if name.lower() in dup else code
    return out


def ward_label(name: str, district: str, names: pd.Series) -> str:
    return f"{name} ({district})" if (names.str.lower() == name.lower()).sum() > 1 else name


def national_table(version: str = "csew-2025-03") -> pd.DataFrame:
    path = NATIONAL / f"{version}.csv"
    if not path.exists():
        known = ", ".join(p.stem for p in sorted(NATIONAL.glob("*.csv")))
        raise SaferhubError(f"no national figures table {version!r} (known: {known})")
    return pd.read_csv(path)


# ---------------------------------------------------------------- the SIMULATED generator

ANSWERS = ["Strongly agree", "Tend to agree", "Neither agree nor disagree", "Tend to disagree", "Strongly disagree"]
FREQ = ["Daily", "At least once a week", "At least once a month", "Less often", "Never"]


def simulate(wards: pd.DataFrame, waves=("2025-Q1", "2025-Q2"), n_per_wave: int = 2000, seed: int = 1) -> tuple[str, str]:
    """SIMULATED survey responses and the mapping that imports them: (csv text, mapping yaml).

    How: each wave samples respondents from the wards with probability proportional to
    population, but twice as often from the least populous district (a deliberate oversample, so
    the design weights matter). A respondent's chance of each "yes" is a logistic function of the
    national CSEW figure, their ward's deprivation (less confidence and more visible patrol in
    more deprived wards) and a small wave-to-wave shift; 4% answer "Don't know". Weights undo the
    oversample (population share / sample share by district) times a log-normal non-response
    factor (sd 0.3), scaled to mean 1. Column names follow a typical survey export."""
    rng = np.random.default_rng(seed)
    w = wards[wards["population"] > 0].reset_index(drop=True)
    pop = w["population"].to_numpy(float)
    by_district = w.groupby("district")["population"].sum()
    small = by_district.idxmin()
    boost = np.where(w["district"] == small, 2.0, 1.0)
    prob = pop * boost / (pop * boost).sum()
    dep = ((w["imd_rank"].fillna(16000).to_numpy(float) / 32844) - 0.3)  # > 0: less deprived than most
    base = {"confidence": 0.67, "good_job": 0.49, "foot_patrol_weekly": 0.11, "support": 0.86, "asb_good_job": 0.45}
    slope = {"confidence": 1.2, "good_job": 1.0, "foot_patrol_weekly": -1.0, "support": 0.8, "asb_good_job": 0.9}
    rows = []
    for k, wave in enumerate(waves):
        idx = rng.choice(len(w), size=n_per_wave, p=prob)
        share_pop = (w["district"].map(by_district / by_district.sum())).to_numpy()[idx]
        share_sample = pd.Series(w["district"].to_numpy()[idx]).map(
            pd.Series(w["district"].to_numpy()[idx]).value_counts(normalize=True)).to_numpy()
        weight = share_pop / share_sample * rng.lognormal(0, 0.3, n_per_wave)
        weight = weight / weight.mean()
        rec = {"RespID": [f"S{k + 1}-{i:05d}" for i in range(n_per_wave)], "Wave": wave,
               "Ward": np.array([ward_label(n, d, w["name"]) for n, d in zip(w["name"], w["district"])])[idx], "Weight": np.round(weight, 4)}
        for q, p0 in base.items():
            eta = np.log(p0 / (1 - p0)) + slope[q] * dep[idx] + 0.15 * k * (q == "foot_patrol_weekly")
            yes = rng.random(n_per_wave) < 1 / (1 + np.exp(-eta))
            dk = rng.random(n_per_wave) < 0.04
            if q == "foot_patrol_weekly":
                ans = np.where(yes, rng.choice(FREQ[:2], n_per_wave, p=[0.2, 0.8]), rng.choice(FREQ[2:], n_per_wave))
            else:
                ans = np.where(yes, rng.choice(ANSWERS[:2], n_per_wave), rng.choice(ANSWERS[2:], n_per_wave))
            rec[{"confidence": "Q1_Confidence", "good_job": "Q2_GoodJob", "foot_patrol_weekly": "Q3_FootPatrol",
                 "support": "Q4_Support", "asb_good_job": "Q5_ASB"}[q]] = np.where(dk, "Don't know", ans)
        rows.append(pd.DataFrame(rec))
    buf = io.StringIO()
    pd.concat(rows).to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    agree = {"yes": ANSWERS[:2], "no": ANSWERS[2:], "missing": ["Don't know"]}
    mapping = {"columns": {"id": "RespID", "wave": "Wave", "area": "Ward", "weight": "Weight"}, "simulated": True,
               "questions": {"confidence": {"column": "Q1_Confidence", **agree},
                             "good_job": {"column": "Q2_GoodJob", **agree},
                             "foot_patrol_weekly": {"column": "Q3_FootPatrol", "yes": FREQ[:2], "no": FREQ[2:],
                                                    "missing": ["Don't know"]},
                             "support": {"column": "Q4_Support", **agree},
                             "asb_good_job": {"column": "Q5_ASB", **agree}}}
    return buf.getvalue(), "# SIMULATED survey responses (saferhub survey simulate)\n" + yaml.safe_dump(mapping, sort_keys=False)
