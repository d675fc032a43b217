"""Per-point results remembered across the files of one ingest.

police.uk snaps every crime to one of a fixed set of anonymised map points, so month after month
the same points recur: each needs projecting, checking against the force boundary and placing in
an LSOA only once per ingest, not once per file. A memo is keyed by the point as a complex number
(x + iy, exact floats) and is safe to share between the parsing threads.
"""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np
import pandas as pd

# A hostile ingest may hold millions of distinct points; past this many the memo stops growing
# (lookups still work, new points are simply computed each time).
MAX_POINTS = 2_000_000


def distinct_points(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows where both are finite, their distinct points as sorted complex a + ib, the index of
    each such row's point)."""
    ok = np.flatnonzero(np.isfinite(a) & np.isfinite(b))
    inverse, points = pd.factorize(a[ok] + 1j * b[ok], sort=True)   # hashing: ~2x np.unique's speed
    return ok, points, inverse


class PointMemo:
    """`memo(points)` = `fn(points)` for sorted distinct complex points, computing only the points
    not seen before. `fn` returns a tuple of per-point arrays."""

    def __init__(self, fn: Callable[[np.ndarray], tuple], dtypes: tuple):
        self._fn = fn
        self._dtypes = dtypes
        # (sorted keys, per-key values): replaced whole, so a reader always sees one consistent pair
        self._state = (np.empty(0, np.complex128), tuple(np.empty(0, d) for d in dtypes))
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._state[0])

    def __call__(self, points: np.ndarray) -> tuple:
        keys, vals = self._state
        pos, found = _find(keys, points)
        miss = np.flatnonzero(~found)
        new = self._fn(points[miss]) if miss.size else None
        out = []
        for k, dtype in enumerate(self._dtypes):
            col = np.empty(len(points), dtype)
            col[found] = vals[k][pos[found]]
            if miss.size:
                col[miss] = new[k]
            out.append(col)
        if miss.size and len(keys) < MAX_POINTS:
            self._add(points[miss], new)
        return tuple(out)

    def _add(self, points: np.ndarray, new: tuple) -> None:
        with self._lock:   # another thread may have added some of the same points meanwhile
            keys, vals = self._state
            pos, found = _find(keys, points)
            fresh = ~found   # `points` are sorted, so equal positions get them in order
            self._state = (np.insert(keys, pos[fresh], points[fresh]),
                           tuple(np.insert(v, pos[fresh], np.asarray(n)[fresh]) for v, n in zip(vals, new)))


def _find(keys: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(insertion position of each point in `keys`, whether it is there)."""
    pos = np.searchsorted(keys, points)
    found = pos < len(keys)
    found[found] = keys[pos[found]] == points[found]
    return pos, found


class Memos:
    """The memos of one ingest, by what they compute: `memos.get(key, make)` makes each once.
    Keys name the computation and its inputs (a memo's function keeps those inputs alive)."""

    def __init__(self):
        self._memos: dict = {}
        self._lock = threading.Lock()

    def get(self, key, make: Callable[[], PointMemo]) -> PointMemo:
        with self._lock:
            if key not in self._memos:
                self._memos[key] = make()
            return self._memos[key]
