"""Near repeat: the Knox test over space x time bands with Monte Carlo permutations, reported like
Ratcliffe's Near Repeat Calculator (observed pairs, expected pairs = mean over permutations, Knox
ratio = observed / expected, and a pseudo p-value per band).

Bands are given as inclusive upper bounds: space "0,100,200" means same location (0 m), (0, 100] m,
(100, 200] m, and "beyond 200 m"; time "0,1,2" in months means same month, 1 month apart,
2 months apart, and beyond. Times are whole units (months for police.uk, days or hours for
timestamped partner data).

Speed: the pairs within the largest space band are found once with a KD-tree; a permutation shuffles
the times among events (Knox 1964; Johnson et al. 2007) and re-bins every close pair in one
vectorised pass. The "beyond" space row needs no pair list: shuffling times never changes the
multiset of times, so the all-pairs time-lag histogram is fixed and the beyond row is it minus the
close pairs' columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import signal
from scipy.spatial import cKDTree

from saferhub.errors import SaferhubError

# Above this many close pairs the permutation arrays get large; say so rather than thrash memory.
MAX_PAIRS = 60_000_000


def parse_bands(spec, what: str) -> np.ndarray:
    """'0,100,200' -> array of strictly increasing non-negative upper bounds."""
    if isinstance(spec, str):
        try:
            vals = [float(s) for s in spec.split(",") if s.strip()]
        except ValueError:
            raise SaferhubError(f"{what} bands must be comma-separated numbers, got {spec!r}") from None
    else:
        vals = [float(v) for v in spec]
    arr = np.asarray(vals, float)
    if arr.size == 0 or (arr < 0).any() or (np.diff(arr) <= 0).any():
        raise SaferhubError(f"{what} bands must be increasing numbers >= 0, got {spec!r}")
    return arr


def band_labels(edges: np.ndarray, unit: str, whole: bool = False) -> list[str]:
    """Readable band names; `whole` units (months, days) read (1, 3] as "2 to 3"."""
    labs = []
    prev = None
    for e in edges:
        e_s = f"{e:g}"
        if prev is None:
            labs.append(f"same ({e_s} {unit})" if e == 0 else f"0 to {e_s} {unit}")
        elif whole and prev + 1 == e:
            labs.append(f"{e_s} {unit}")
        elif whole:
            labs.append(f"{prev + 1:g} to {e_s} {unit}")
        else:
            labs.append(f"{prev:g} to {e_s} {unit}")
        prev = e
    labs.append(f"beyond {edges[-1]:g} {unit}")
    return labs


@dataclass
class Knox:
    observed: np.ndarray  # (space bands + 1, time bands + 1)
    expected: np.ndarray
    ratio: np.ndarray
    p: np.ndarray
    space_labels: list[str]
    time_labels: list[str]
    permutations: int
    n_events: int
    n_close_pairs: int

    def table(self) -> pd.DataFrame:
        """Long table like Ratcliffe's calculator: one row per space x time band."""
        S, T = self.observed.shape
        return pd.DataFrame({
            "space": np.repeat(self.space_labels, T),
            "time": np.tile(self.time_labels, S),
            "observed": self.observed.ravel().astype(np.int64),
            "expected": self.expected.ravel(),
            "knox_ratio": self.ratio.ravel(),
            "p": self.p.ravel(),
        })


def _lag_histogram(t: np.ndarray) -> np.ndarray:
    """Number of unordered event pairs at each whole time lag 0..range, over all pairs."""
    c = np.bincount(t - t.min()).astype("float64")
    full = signal.fftconvolve(c, c[::-1]) if c.size > 256 else np.correlate(c, c, mode="full")
    lags = np.round(full[c.size - 1:]).astype(np.int64)  # lag 0.. ; lag 0 counts ordered self-pairs
    lags[0] = int((c * (c - 1) / 2).sum())
    return lags


def knox(x, y, t, space_bands, time_bands, permutations: int = 99, seed: int | None = None,
         space_unit: str = "m", time_unit: str = "months") -> Knox:
    """Knox test. x, y in metres (BNG), t whole time units (ints). See the module doc for bands."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    t = np.asarray(t)
    if not (x.shape == y.shape == t.shape):
        raise SaferhubError("x, y and t must have the same length")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, t = x[ok], y[ok], t[ok]
    if x.size < 3:
        raise SaferhubError(f"the Knox test needs at least 3 located events, got {x.size}")
    if not np.issubdtype(t.dtype, np.integer):
        if not np.all(np.isfinite(t)) or not np.allclose(t, np.round(t)):
            raise SaferhubError("times must be whole units (months, days or hours)")
        t = np.round(t).astype(np.int64)
    t = t.astype(np.int64)
    s_edges = parse_bands(space_bands, "space")
    t_edges = parse_bands(time_bands, "time")
    nS, nT = s_edges.size, t_edges.size
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(r=s_edges[-1], output_type="ndarray")
    if len(pairs) > MAX_PAIRS:
        raise SaferhubError(f"{len(pairs):,} event pairs lie within {s_edges[-1]:g} m; use fewer events "
                            "or a smaller largest space band")
    i, j = pairs[:, 0], pairs[:, 1]
    d = np.hypot(x[i] - x[j], y[i] - y[j])
    sbin = np.searchsorted(s_edges, d, side="left").astype(np.int64)
    # query_pairs uses <= r with float round-off; drop anything that binned beyond the last band.
    keep = sbin < nS
    i, j, sbin = i[keep], j[keep], sbin[keep]
    span = int(t.max() - t.min())
    lut = np.searchsorted(t_edges, np.arange(span + 1), side="left").astype(np.int64)  # lag -> band
    base = sbin * (nT + 1)
    size = nS * (nT + 1)

    def close_table(tt: np.ndarray) -> np.ndarray:
        return np.bincount(base + lut[np.abs(tt[i] - tt[j])], minlength=size).reshape(nS, nT + 1)

    all_lags = _lag_histogram(t)
    all_cols = np.bincount(lut[: all_lags.size], weights=all_lags, minlength=nT + 1)

    def full(close: np.ndarray) -> np.ndarray:
        return np.vstack([close, all_cols - close.sum(axis=0)])

    obs = full(close_table(t))
    rng = np.random.default_rng(seed)
    sims = np.empty((int(permutations),) + obs.shape)
    for k in range(int(permutations)):  # each permutation re-bins all close pairs at once
        sims[k] = full(close_table(t[rng.permutation(t.size)]))
    if permutations:
        expected = sims.mean(axis=0)
        p = (1.0 + (sims >= obs[None] - 1e-9).sum(axis=0)) / (permutations + 1.0)
    else:
        expected = np.full(obs.shape, np.nan)
        p = np.full(obs.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(expected > 0, obs / expected, np.nan)
    return Knox(obs, expected, ratio, p, band_labels(s_edges, space_unit),
                band_labels(t_edges, time_unit, whole=True), int(permutations), int(x.size), len(i))
