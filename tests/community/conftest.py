"""Community fixtures: the real geo folder (wards, IMD, population), read in place."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GEO = REPO.parent / "shared" / "data" / "geo"
