"""Read events for an analysis from the event store, with harm weights and whole-month indexes.

Thin wrapper over `saferhub.data.events`: the analyses themselves never touch the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError

COLUMNS = ("event_id", "source", "month", "occurred_at", "category", "x", "y", "location", "lsoa")


def load_events(store=None, force=None, months=None, categories=None, weights: str | None = None) -> pd.DataFrame:
    """Located events as a DataFrame with x, y, month (datetime64[M]), month_index (whole months
    since 1970-01), category and harm (per-event weight from the chosen harm table)."""
    from saferhub.data import events
    table = events(store=store, force=force, months=months, categories=categories, located_only=True,
                   harm_weights=weights)
    cols = [c for c in COLUMNS if c in table.column_names]
    df = table.select(cols).to_pandas()
    if len(df) == 0:
        raise SaferhubError("no located events match those months and categories in the event store "
                            "(has `saferhub ingest` been run?)")
    df["month"] = pd.to_datetime(df["month"]).to_numpy().astype("datetime64[M]")
    df["month_index"] = df["month"].to_numpy().astype("datetime64[M]").astype(np.int64)
    df["harm"] = table["harm_weight"].to_numpy()
    return df


def month_indexes(months: np.ndarray) -> tuple[np.ndarray, int]:
    """(first month index, number of months) of a parsed month array."""
    m = np.asarray(months, dtype="datetime64[M]").astype(np.int64)
    return m.min(), int(m.max() - m.min() + 1)


def event_labels(df: pd.DataFrame) -> np.ndarray:
    """Short labels naming events in messages: 'ID abc123… "On or near X" 2020-03'."""
    ids = df["event_id"].astype(str).str.slice(0, 12) if "event_id" in df else pd.Series([""] * len(df))
    loc = df["location"].astype(str) if "location" in df else pd.Series([""] * len(df))
    mon = df["month"].astype(str).str.slice(0, 7)
    return (ids + " '" + loc + "' " + mon).to_numpy(dtype=object)
