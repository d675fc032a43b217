"""Designing out crime: environmental problems noted on patrol (patrol notes, imported as
incidents of agency "police-patrol", category "Patrol note: environmental issue") and reported by
partners (a council's fly-tipping or street-lighting reports) sorted into kinds of problem, each
with the kind of agency that usually fixes it.

A record is a problem of a kind when its category or text matches the kind's pattern (plain
words officers and call handlers use); a record matching none is not a designing-out problem.
Which agency is responsible is the partnership's choice (`--responsible kind=agency-code`); the
defaults below name the agency kind that usually is."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# kind -> (pattern over category + text, the agency kind usually responsible, what to do)
PROBLEMS = {
    "fly-tipping": (r"fly[- ]?tip|dumped (rubbish|waste|items|mattress)|illegal(ly)? dump", "council",
                    "Clear the fly-tipping and consider a deterrent (signs, camera, gating)"),
    "broken lighting": (r"(street ?light|lamp ?post|lighting|light).{0,30}(broken|out|fault|not working|dark)|"
                        r"(broken|faulty|no) (street ?)?light", "council",
                        "Repair the street lighting"),
    "overgrown shrubbery": (r"overgrown|shrub|hedge|bushes|vegetation|foliage", "council",
                            "Cut back the overgrown shrubbery to open sight lines"),
    "damaged fencing": (r"fenc(e|ing).{0,30}(broken|damaged|down|gap|missing)|(broken|damaged) (fence|gate|wall)",
                        "housing", "Repair the damaged fencing or gate"),
    "graffiti": (r"graffiti|tagging", "council", "Remove the graffiti"),
}
_COMPILED = {k: re.compile(v[0], re.I) for k, v in PROBLEMS.items()}


def classify(category, text) -> np.ndarray:
    """The problem kind of each record ("" when none): the first kind in PROBLEMS whose pattern
    matches its category or text."""
    words = (pd.Series(category, dtype=object).fillna("").astype(str) + " | "
             + pd.Series(text, dtype=object).fillna("").astype(str)).to_numpy(dtype=object)
    out = np.full(words.size, "", dtype=object)
    for kind, rx in _COMPILED.items():
        todo = out == ""
        if todo.any():
            hit = np.array([bool(rx.search(w)) for w in words[todo]])
            idx = np.flatnonzero(todo)[hit]
            out[idx] = kind
    return out


def key(kind: str, place_id: str) -> str:
    """The tag an action carries in its title, so raising actions again finds it (idempotent)."""
    return f"[DOC {kind} @ {place_id}]"
