"""What is in a store: forces, months, rows by category, unlocated rows, quarantine by reason."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np
import pyarrow.compute as pc

from saferhub.config import resolve_store
from saferhub.data.store import Catalog, events, quarantine, warnings


def reason_class(reason: str) -> str:
    """Group quarantine reasons by kind: drop the row-specific values (quoted text, numbers)."""
    text = re.sub(r"\([^)]*\)", "", reason)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "", text)
    text = re.sub(r"\b\d{4}-\d{2}\b", "YYYY-MM", text)
    text = re.sub(r"\b\d+(\.\d+)?\b", "N", text)
    return re.sub(r"\s+", " ", text).strip()


def _month_gaps(months: list[str]) -> list[str]:
    if not months:
        return []
    have = np.array(sorted(months), dtype="datetime64[M]")
    full = np.arange(have[0], have[-1] + 1)
    return [str(m) for m in np.setdiff1d(full, have)]


def store_status(store=None) -> dict:
    root = resolve_store(store)
    catalog = Catalog.load(root)
    months_by = defaultdict(lambda: defaultdict(list))
    rows_by = Counter()
    for key, rec in catalog.partitions.items():
        dataset, force, month = key.split("/")
        months_by[dataset][force].append(month)
        rows_by[dataset] += rec["rows"]
    forces = []
    for force, months in sorted(months_by["events"].items()):
        months = sorted(months)
        forces.append({"force": force, "first_month": months[0], "last_month": months[-1],
                       "months": len(months), "missing_months": _month_gaps(months)})
    table = events(root, harm_weights=None)
    by_cat = []
    if table.num_rows:
        grouped = table.group_by(["source", "category"]).aggregate([
            ("event_id", "count"), ("x", "count")])
        for row in sorted(grouped.to_pylist(), key=lambda r: (r["source"], -r["event_id_count"])):
            by_cat.append({"source": row["source"], "category": row["category"], "rows": row["event_id_count"],
                           "unlocated": row["event_id_count"] - row["x_count"]})
    q = quarantine(root)
    reasons = Counter(reason_class(r) for r in q["reason"].to_pylist())
    w = warnings(root)
    warned = Counter(reason_class(r) for r in w["reason"].to_pylist())
    return {
        "store": str(root),
        "files_ingested": len({key.split(":", 1)[0] for key in catalog.files}),  # per-agency parts count once
        "forces": forces,
        "rows": {"events": rows_by["events"], "outcomes": rows_by["outcomes"], "stop_search": rows_by["stop_search"]},
        "unlocated_events": int(table.num_rows - pc.count(table["x"]).as_py()) if table.num_rows else 0,
        "by_category": by_cat,
        "quarantined": q.num_rows,
        "quarantined_by_reason": dict(reasons.most_common()),
        "warnings": w.num_rows,          # rows stored, but worth a word (duplicate Crime IDs)
        "warnings_by_reason": dict(warned.most_common()),
        "other_datasets": {ds: sorted(f for f in fs) for ds, fs in months_by.items() if ds != "events"},
    }
