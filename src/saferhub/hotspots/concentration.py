"""How concentrated crime is: Lorenz curve, Gini, generalized Gini, and the share of units that hold
a given share of crime (or harm).

The law of crime concentration (Weisburd 2015): ~50% of crime on 2-6% of street segments. With
sparse data (fewer events than units) the ordinary Gini overstates concentration because most
units must be empty; Bernasco & Steenbeek (2017, J. Quant. Criminol. 33:451-467) rescale it against
the most equal distribution possible for N events over n units:
    G' = G                                   when N >= n
    G' = (n / N) G - (n - N) / N             when N < n   (i.e. (G - G_min) / (1 - G_min))
where G is the ordinary Gini over all n units (empty ones included). N is the number of events, so
it is only defined for counts; for harm we report G. This is what the authors' R package
(wsteenbeek/lorenzgini, `gini(generalized=TRUE, unbiased=FALSE)`) computes; `unbiased=True` also
applies its small-sample factor min(n, N) / (min(n, N) - 1). Tests pin the package's examples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError


def _values(values) -> np.ndarray:
    v = np.asarray(values, dtype="float64").ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise SaferhubError("no units to measure concentration over")
    if (v < 0).any():
        raise SaferhubError("concentration needs non-negative values (counts or harm)")
    if v.sum() <= 0:
        raise SaferhubError("there are no events in the chosen units, months and categories")
    return v


def lorenz(values) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve points (share of units, share of total), units sorted from least to most,
    starting at (0, 0)."""
    v = np.sort(_values(values))
    n = v.size
    units = np.arange(n + 1) / n
    total = np.concatenate([[0.0], np.cumsum(v)]) / v.sum()
    return units, total


def gini(values) -> float:
    """Ordinary Gini over all units: sum_i (2i - n - 1) x_(i) / (n sum x), x sorted ascending."""
    v = np.sort(_values(values))
    n = v.size
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * v).sum() / (n * v.sum()))


def generalized_gini(counts, unbiased: bool = False) -> float:
    """Bernasco & Steenbeek's generalized Gini for N events over n units (see module doc)."""
    v = _values(counts)
    if not np.allclose(v, np.round(v)):
        raise SaferhubError("the generalized Gini is defined for event counts, not weighted values")
    n, N = v.size, float(v.sum())
    g = max(1.0, n / N) * (gini(v) - 1.0) + 1.0
    if unbiased:
        m = min(n, N)
        if m < 2:
            raise SaferhubError("the unbiased generalized Gini needs at least 2 events and 2 units")
        g *= m / (m - 1)
    return g


def share_of_units(values, share: float) -> tuple[int, float]:
    """The fewest units holding at least `share` (0-1) of the total: (how many, as a share of all)."""
    if not 0 < share <= 1:
        raise SaferhubError(f"share must be in (0, 1], got {share}")
    v = np.sort(_values(values))[::-1]
    cum = np.cumsum(v) / v.sum()
    k = int(np.searchsorted(cum, share - 1e-12) + 1)
    return k, k / v.size


@dataclass
class Concentration:
    n_units: int
    n_events: float
    gini: float
    generalized_gini: float | None
    units_25: int
    share_25: float
    units_50: int
    share_50: float

    def as_frame(self, label: str = "value") -> pd.DataFrame:
        rows = [("units", self.n_units), ("total", self.n_events), ("Gini", self.gini),
                ("generalized Gini", self.generalized_gini),
                ("units holding 25%", self.units_25), ("share of units holding 25%", self.share_25),
                ("units holding 50%", self.units_50), ("share of units holding 50%", self.share_50)]
        return pd.DataFrame(rows, columns=["measure", label])


def summarise(values, counts: bool = True) -> Concentration:
    """All concentration measures for one set of unit values (counts, or harm with counts=False)."""
    v = _values(values)
    k25, s25 = share_of_units(v, 0.25)
    k50, s50 = share_of_units(v, 0.50)
    gg = generalized_gini(v) if counts else None
    return Concentration(int(v.size), float(v.sum()), gini(v), gg, k25, s25, k50, s50)
