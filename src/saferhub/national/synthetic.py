"""A SYNTHETIC national store for tests and benchmarks: the real events of a source store (e.g.
Merseyside) replayed as many forces.

Force k (k = 0, 1, ...) is named `synthetic-NN` (the word is in every id, so every table, map and
report that names a force says it is synthetic; its rows' `text` says "synthetic replay of
<source force> <month>"), and is
- moved in space: every point shifted by ((k mod 7) - 3) x STEP_M east and -(k div 7) x STEP_M
  north (60 km steps: neighbours do not overlap a ~30 km force), lon/lat recomputed;
- moved in time: every month shifted back by 12 x (k mod 3) months (whole years keep seasons);
- thinned: each row kept with probability `fraction`, drawn from `seed` and k (same seed, same
  store, byte for byte in content), so forces differ and tests can stay small.
LSOA columns are cleared (moved points are in no real LSOA). Partitions are written the way the
ingest writes them (one per force-month, one atomic catalog swap).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from saferhub.errors import SaferhubError

STEP_M = 60_000.0
PREFIX = "synthetic"


def offset(k: int) -> tuple[float, float, int]:
    """(dx, dy metres, months shifted back) of synthetic force k."""
    return ((k % 7) - 3) * STEP_M, -(k // 7) * STEP_M, 12 * (k % 3)


def synthesize(source_store, out_store, *, forces: int = 44, months=None, fraction: float = 1.0,
               seed: int = 0, progress=None) -> dict:
    """Write `forces` synthetic forces into `out_store` (see the module doc); returns a summary."""
    from saferhub.data.schemas import EVENT_SCHEMA, schema_tag
    from saferhub.data.store import StoreWriter, events
    from saferhub.geo.project import to_wgs84

    if forces < 1:
        raise SaferhubError("--forces must be at least 1")
    if not 0 < fraction <= 1:
        raise SaferhubError("--fraction must be in (0, 1]")
    src = events(source_store, months=months, columns=EVENT_SCHEMA.names)
    src = src.select(EVENT_SCHEMA.names)
    if src.num_rows == 0:
        raise SaferhubError("the source store holds no events to replay")
    source_forces = ", ".join(sorted(set(src["force"].to_pylist())))
    month = src["month"].to_numpy().astype("datetime64[M]")
    rows = 0
    with StoreWriter(out_store) as w:
        for k in range(forces):
            fid = f"{PREFIX}-{k + 1:02d}"
            dx, dy, back = offset(k)
            keep = np.random.default_rng([seed, k]).random(src.num_rows) < fraction
            t = src.filter(pa.array(keep))
            m = month[keep] - back
            x = t["x"].to_numpy(zero_copy_only=False) + dx
            y = t["y"].to_numpy(zero_copy_only=False) + dy
            lon, lat = to_wgs84(np.nan_to_num(x, nan=0.0), np.nan_to_num(y, nan=0.0))
            located = np.isfinite(x)
            text = pa.array([f"synthetic replay of {f} {str(o)[:7]}" for f, o in
                             zip(t["force"].to_pylist(), month[keep])], pa.string())
            cols = {
                "event_id": pc.binary_join_element_wise(pa.scalar(fid), t["event_id"], ":"),
                "force": pa.array(np.full(t.num_rows, fid), pa.string()),
                "month": pa.array(m.astype("datetime64[D]"), pa.date32()),
                "x": pa.array(x, pa.float64(), mask=~located), "y": pa.array(y, pa.float64(), mask=~located),
                "lon": pa.array(lon, pa.float64(), mask=~located), "lat": pa.array(lat, pa.float64(), mask=~located),
                "occurred_at": pa.nulls(t.num_rows, EVENT_SCHEMA.field("occurred_at").type),
                "text": text,
            }
            for name in ("lsoa", "lsoa_name", "lsoa11"):
                cols[name] = pa.nulls(t.num_rows, pa.string())
            cols["lsoa_edition"] = pa.nulls(t.num_rows, pa.int16())
            out = pa.table({n: cols.get(n, t[n]) for n in EVENT_SCHEMA.names}, schema=EVENT_SCHEMA)
            for mm in np.unique(m):
                part = out.filter(pa.array(m == mm))
                key_month = str(mm)
                rel = w.stage_partition("events", fid, key_month, part)
                stamp = f"{PREFIX}:{seed}:{fraction}:{k}:{key_month}:{part.num_rows}"
                content = hashlib.sha256(stamp.encode()).hexdigest()
                w.catalog.partitions[f"events/{fid}/{key_month}"] = {
                    "file": rel, "rows": part.num_rows, "content": content, "sha256": content, "sources": [content],
                    "stamp": 0, "source_file": f"synthetic replay of {source_forces}", "schema": schema_tag("events"),
                    "synthetic": True}
                rows += part.num_rows
            if progress:
                progress()
        w.commit()
    return {"forces": forces, "rows": rows, "source": source_forces, "fraction": fraction, "seed": seed}
