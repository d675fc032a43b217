"""Patrol intelligence notes -> partner incidents for the hub.

Officers on hotspot patrol note problem-solving opportunities, suspicious activity and
environmental issues (overgrown shrubbery, broken lighting, a CCTV fault). A notes CSV
(note_id, time with zone, area_id, kind, detail) becomes incidents of agency "police-patrol",
placed at the area's centre and naming the area id, through the ordinary partner-incident
ingest (keyed by note id, so re-importing is idempotent). Officer names or callsigns in the
file are never carried over.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import shapely

from saferhub.data.csvread import read_small_table
from saferhub.errors import BadFileError

AGENCY = "police-patrol"
KINDS = {"problem-solving opportunity": "Patrol note: problem-solving opportunity",
         "suspicious activity": "Patrol note: suspicious activity",
         "environmental issue": "Patrol note: environmental issue"}
MAPPING = f"""agency: {AGENCY}
columns: {{id: id, datetime: datetime, category: category, easting: easting, northing: northing,
          text: text, location: location}}
dayfirst: false
"""


def notes_to_incidents(path, areas) -> pd.DataFrame:
    """The notes as partner-incident rows; a bad row stops the import with its line and reason."""
    notes, lines = read_small_table(path)
    notes.columns = [c.strip().lower() for c in notes.columns]
    missing = {"time", "area_id", "kind", "detail"} - set(notes.columns)
    if missing:
        raise BadFileError(path, f"need columns time, area_id, kind, detail (missing {', '.join(sorted(missing))})")
    by_id = areas.set_index("area_id")
    cen = dict(zip(areas["area_id"], shapely.centroid(list(areas.geometry.values))))
    rows = []
    for line, r in zip(lines.tolist(), notes.to_dict("records")):
        kind = r["kind"].strip().lower()
        if kind not in KINDS:
            raise BadFileError(path, f"line {line}: kind {r['kind']!r} is not one of {', '.join(KINDS)}")
        if r["area_id"] not in cen:
            raise BadFileError(path, f"line {line}: no patrol area {r['area_id']!r} in the areas given")
        note_id = r.get("note_id") or hashlib.sha256(
            f"{r['time']}|{r['area_id']}|{kind}|{r['detail']}".encode()).hexdigest()[:12]
        c = cen[r["area_id"]]
        rows.append({"id": f"PN-{note_id}", "datetime": r["time"], "category": KINDS[kind],
                     "easting": f"{c.x:.0f}", "northing": f"{c.y:.0f}",
                     "text": f"[{r['area_id']}] {r['detail'].strip()}",
                     "location": f"{by_id.loc[r['area_id'], 'name']} ({r['area_id']})"})
    return pd.DataFrame(rows, columns=["id", "datetime", "category", "easting", "northing", "text", "location"])


def import_notes(path, areas, store=None):
    """Write the converted notes beside the store and ingest them as partner incidents."""
    from saferhub.config import resolve_store
    from saferhub.data.ingest import ingest_paths
    from saferhub.fsutil import write_atomic

    rows = notes_to_incidents(path, areas)
    folder = resolve_store(store) / "patrol" / "notes"
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    csv = write_atomic(folder / f"patrol-notes-{digest}.csv", rows.to_csv(index=False))
    mapping = write_atomic(folder / "mapping.yaml", MAPPING)
    return ingest_paths([csv], store=store, kind="incidents", mapping=mapping)
