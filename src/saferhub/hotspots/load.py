"""Events for an analysis: read from the event store, or taken as given (a pyarrow Table, a
DataFrame or a GeoDataFrame as `saferhub.data.events` returns), as one DataFrame with x, y,
month (datetime64[M]), month_index (whole months since 1970-01), category and harm.

The analyses themselves never touch the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError

COLUMNS = ("event_id", "source", "force", "month", "occurred_at", "category", "x", "y", "location",
           "lsoa", "lsoa_name")


def store_coverage(store=None) -> str:
    """'forces merseyside; months 2018-01..2020-12' — what the store holds, for error messages."""
    from saferhub.config import resolve_store
    from saferhub.data.store import Catalog

    root = resolve_store(store)
    keys = [k.split("/") for k in Catalog.load(root).partitions if k.startswith("events/")]
    if not keys:
        return f"the event store {root} is empty (run `saferhub ingest PATH` first)"
    forces = sorted({f for _, f, _ in keys})
    months = sorted({m for _, _, m in keys})
    return f"the event store {root} holds forces {', '.join(forces)}; months {months[0]}..{months[-1]}"


def load_events(store=None, force=None, months=None, categories=None, weights: str | None = None,
                columns=COLUMNS, *, query=None) -> pd.DataFrame:
    """Located events of the store matching the filters, or `query` (an EventQuery, which
    replaces them); a clear error, stating the store's coverage, when none match."""
    from saferhub.query import EventQuery

    q = query or EventQuery(store, force, months, categories, weights)
    table = q.read(located_only=True, columns=[*columns, "harm_weight"])
    if table.num_rows == 0:
        raise SaferhubError(f"no located events match force {', '.join(q.forces) or 'any'}, months {q.months_text} "
                            f"and categories {q.categories_text}: {store_coverage(q.store)}")
    return as_frame(table)


def as_frame(events, weights: str | None = None) -> pd.DataFrame:
    """The events as a DataFrame with the columns the analyses use; unlocated rows dropped.
    `harm` comes from a `harm_weight` column, else from the harm table `weights` by category."""
    if hasattr(events, "to_pandas") and not isinstance(events, pd.DataFrame):
        df = events.to_pandas()
    elif isinstance(events, pd.DataFrame):
        df = pd.DataFrame(events.drop(columns="geometry", errors="ignore"))
    else:
        raise SaferhubError(f"events must be a pyarrow Table or a DataFrame, not {type(events).__name__}")
    missing = {"x", "y", "month", "category"} - set(df.columns)
    if missing:
        raise SaferhubError(f"the events have no column(s) {', '.join(sorted(missing))} "
                            "(use saferhub.data.events(...))")
    df = df[np.isfinite(df["x"].to_numpy(float)) & np.isfinite(df["y"].to_numpy(float))].reset_index(drop=True)
    if len(df) == 0:
        raise SaferhubError("none of the events given has coordinates")
    df["month"] = pd.to_datetime(df["month"]).to_numpy().astype("datetime64[M]")
    df["month_index"] = df["month"].to_numpy().astype("datetime64[M]").astype(np.int64)
    if "harm_weight" in df and weights is None:
        df["harm"] = df.pop("harm_weight").to_numpy(float)
    else:
        from saferhub.harm import load_weights, weights_for

        df["harm"] = np.asarray(weights_for(df["category"].to_numpy(), load_weights(weights)), float)
    return df


def select(df: pd.DataFrame, months=None, categories=None) -> pd.DataFrame:
    """Rows of `df` in these months and categories (filters on events already read)."""
    from saferhub.categories import parse_categories
    from saferhub.months import parse_months

    keep = np.ones(len(df), bool)
    mon = parse_months(months)
    if mon is not None:
        keep &= np.isin(df["month"].to_numpy(), np.asarray(mon, dtype="datetime64[M]"))
    cats = parse_categories(categories)
    if cats is not None:
        keep &= df["category"].isin(cats).to_numpy()
    return df[keep].reset_index(drop=True)


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
