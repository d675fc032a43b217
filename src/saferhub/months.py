"""Months are the unit of time in police.uk data. Parse users' month ranges into numpy datetime64[M]."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

from saferhub.errors import SaferhubError

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


def parse_month(text) -> np.datetime64:
    """'2020-01' (or a date/datetime64) -> numpy.datetime64('2020-01')."""
    if isinstance(text, np.datetime64):
        return text.astype("datetime64[M]")
    if isinstance(text, (dt.date, dt.datetime)):
        return np.datetime64(f"{text.year:04d}-{text.month:02d}", "M")
    m = _MONTH.match(str(text))
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise SaferhubError(f"not a month: {text!r} (expected YYYY-MM)")
    return np.datetime64(f"{int(m.group(1)):04d}-{int(m.group(2)):02d}", "M")


def parse_months(spec) -> np.ndarray | None:
    """A user's month choice -> sorted unique datetime64[M] array, or None for "all months".

    Accepts "2020-01:2020-12" (inclusive), "2020-03", "2020-01,2020-05", a (start, end) tuple,
    or a list of months.
    """
    if spec is None or (isinstance(spec, str) and spec.strip() in ("", "all")):
        return None
    if isinstance(spec, tuple) and len(spec) == 2:
        return month_range(parse_month(spec[0]), parse_month(spec[1]))
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[np.datetime64] = []
    for part in parts:
        if isinstance(part, str) and ":" in part:
            a, b = part.split(":", 1)
            out.extend(month_range(parse_month(a), parse_month(b)))
        else:
            out.append(parse_month(part))
    return np.unique(np.array(out, dtype="datetime64[M]"))


def month_range(start: np.datetime64, end: np.datetime64) -> np.ndarray:
    if end < start:
        raise SaferhubError(f"month range ends before it starts: {start}..{end}")
    return np.arange(start, end + 1, dtype="datetime64[M]")


def month_str(m) -> str:
    return str(np.datetime64(m, "M"))


def runs_text(months) -> str:
    """'2023-05..2023-12, 2024-03' — months as runs of consecutive months."""
    ms = sorted({parse_month(m) for m in months})
    runs: list[list[np.datetime64]] = []
    for m in ms:
        if runs and m == runs[-1][-1] + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in runs)
