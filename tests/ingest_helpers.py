"""Small police.uk-shaped files for ingest tests (real rows from the Merseyside data as a base)."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from conftest import MERSEYSIDE

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
          "Crime type,Last outcome category,Context")


def real_lines(month: str = "2018-01", n: int | None = None) -> list[str]:
    """The data lines of a real Merseyside street file (without the header)."""
    with gzip.open(MERSEYSIDE / f"{month}-merseyside-street.csv.gz", "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()[1:]
    return lines if n is None else lines[:n]


def street_row(crime_id="", month="2018-01", lon="-2.98", lat="53.40", ctype="Anti-social behaviour",
               outcome="", location="On or near Bold Street", lsoa="E01006512", force="Merseyside Police") -> str:
    return f"{crime_id},{month},{force},{force},{lon},{lat},{location},{lsoa},Liverpool 060A,{ctype},{outcome},"


def write(path: Path, lines: list[str], header: str = HEADER, gz: bool = False, mtime: float | None = None) -> Path:
    text = "\n".join([header, *lines]) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def store_fingerprint(store: Path) -> dict:
    """Every file in a store and its hash: equal fingerprints = the store is exactly as it was."""
    if not store.exists():
        return {}
    return {str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(store.rglob("*")) if p.is_file() and p.name != ".lock"}
