"""The stored tables' columns: one pyarrow schema per dataset (events, outcomes, stop_search), the
quarantine's, the tag that tells a partition written before a column change, and the columns
written without a Parquet dictionary. data/store.py writes and reads them."""

from __future__ import annotations

import pyarrow as pa

EVENT_SCHEMA = pa.schema([
    ("event_id", pa.string()),
    ("source", pa.string()),          # 'street' (police.uk) | 'incident' (partner records)
    ("force", pa.string()),
    ("month", pa.date32()),
    ("occurred_at", pa.timestamp("us", tz="UTC")),
    ("category", pa.string()),
    ("category_slug", pa.string()),
    ("lon", pa.float64()),
    ("lat", pa.float64()),
    ("x", pa.float64()),
    ("y", pa.float64()),
    ("lsoa", pa.string()),
    ("lsoa_name", pa.string()),
    ("location", pa.string()),
    ("outcome", pa.string()),
    ("agency", pa.string()),
    ("raw_category", pa.string()),
    ("text", pa.string()),
    ("lsoa_edition", pa.int16()),     # 2011 | 2021: which LSOA edition `lsoa` is (null: unknown)
    ("lsoa11", pa.string()),          # the 2011 LSOA the row falls in (geo.lsoa), for 2011-based joins
])

OUTCOME_SCHEMA = pa.schema([
    ("crime_id", pa.string()), ("force", pa.string()), ("month", pa.date32()),
    ("lon", pa.float64()), ("lat", pa.float64()), ("x", pa.float64()), ("y", pa.float64()),
    ("location", pa.string()), ("lsoa", pa.string()), ("lsoa_name", pa.string()),
    ("outcome_type", pa.string()),
    ("lsoa_edition", pa.int16()), ("lsoa11", pa.string()),   # as for events
])

STOP_SEARCH_SCHEMA = pa.schema([
    ("force", pa.string()), ("month", pa.date32()), ("occurred_at", pa.timestamp("us", tz="UTC")),
    ("type", pa.string()), ("part_of_operation", pa.string()), ("operation", pa.string()),
    ("lon", pa.float64()), ("lat", pa.float64()), ("x", pa.float64()), ("y", pa.float64()),
    ("gender", pa.string()), ("age_range", pa.string()), ("self_defined_ethnicity", pa.string()),
    ("officer_defined_ethnicity", pa.string()), ("legislation", pa.string()),
    ("object_of_search", pa.string()), ("outcome", pa.string()),
    ("outcome_linked_to_object", pa.string()), ("removal_of_outer_clothing", pa.string()),
    ("lsoa11", pa.string()),   # the 2011 LSOA holding the point (the files give no LSOA code)
])

QUARANTINE_SCHEMA = pa.schema([
    ("file", pa.string()), ("line", pa.int64()), ("reason", pa.string()), ("raw", pa.string()),
])

SCHEMAS = {"events": EVENT_SCHEMA, "outcomes": OUTCOME_SCHEMA, "stop_search": STOP_SEARCH_SCHEMA}


def schema_tag(dataset: str) -> str:
    """A short fingerprint of a dataset's columns, kept in each partition's record: a partition
    written before a column was added has another tag (or none), so re-ingesting the same file
    rewrites it with the new column instead of calling it unchanged."""
    import hashlib

    columns = ";".join(f"{f.name}:{f.type}" for f in SCHEMAS[dataset])
    if {"x", "y"} <= set(SCHEMAS[dataset].names):   # the file layout too: written before GeoParquet, rewritten once
        from saferhub.data.geoparquet import LAYOUT

        columns += ";" + LAYOUT
    return hashlib.sha256(columns.encode()).hexdigest()[:12]


# Columns written without a dictionary: ids, coordinates and free text (nearly all distinct), and
# LSOA columns (police.uk rows come grouped by LSOA, so plain runs compress to half a dictionary's
# size, and write faster).
_NO_DICTIONARY = {"event_id", "crime_id", "lon", "lat", "x", "y", "occurred_at", "raw", "text",
                  "lsoa", "lsoa_name", "lsoa11", "lsoa_edition"}
