"""Shared fixtures. Real data is read from ../shared/data beside the repo, never copied in."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
MERSEYSIDE = SHARED / "police-uk" / "merseyside"
GEO = SHARED / "geo"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED.is_dir(), f"the shared data folder is missing: {SHARED}"
    return SHARED
