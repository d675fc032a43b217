"""Read events for an analysis from the event store, with harm weights and whole-month indexes.

Thin wrapper over `saferhub.data.events`: the analyses themselves never touch the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError

COLUMNS = ("event_id", "source", "month", "occurred_at", "category", "x", "y", "location", "lsoa")


def load_events(store=None, force=None, months=None, categories=None, weights: str | None = None,
                columns=COLUMNS) -> pd.DataFrame:
    """Located events as a DataFrame with x, y, month (datetime64[M]), month_index (whole months
    since 1970-01), category and harm (per-event weight from the chosen harm table)."""
    from saferhub.data import events
    table = events(store=store, force=force, months=months, categories=categories, located_only=True,
                   harm_weights=weights, columns=[*columns, "harm_weight"])
    df = table.to_pandas()
    if len(df) == 0:
        raise SaferhubError("no located events match those months and categories in the event store "
                            "(has `saferhub ingest` been run?)")
    if "month" in df:
        df["month"] = pd.to_datetime(df["month"]).to_numpy().astype("datetime64[M]")
        df["month_index"] = df["month"].to_numpy().astype("datetime64[M]").astype(np.int64)
    df["harm"] = df.pop("harm_weight").to_numpy()
    return df


def month_indexes(months: np.ndarray) -> tuple[np.ndarray, int]:
    """(first month index, number of months) of a parsed month array."""
    m = np.asarray(months, dtype="datetime64[M]").astype(np.int64)
    return m.min(), int(m.max() - m.min() + 1)


def event_labels(df: pd.DataFrame, only=None) -> np.ndarray:
    """Short labels naming events in messages ("<id> '<location>' <month>"); with a bool mask
    `only`, just those rows are labelled (the rest are empty), so naming strays stays cheap."""
    n = len(df)
    out = np.full(n, "", dtype=object)
    idx = np.arange(n) if only is None else np.flatnonzero(only)
    col = lambda c: df[c].to_numpy()[idx].astype(str) if c in df else np.full(idx.size, "")
    ids, loc, mon = col("event_id"), col("location"), col("month")
    out[idx] = [f"{i[:12]} '{lo}' {m[:7]}" for i, lo, m in zip(ids, loc, mon)]
    return out
