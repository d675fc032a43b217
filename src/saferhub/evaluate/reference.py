"""Matched-set randomisation tests: the treated areas' change against the changes of reference sets
built from each area's matched group, the area itself included (DOMAIN.md, Proving impact).

Why the area itself is in its group: each treated area i has a group of k untreated places matched on
before-period level and trend. If "no effect" holds and the k + 1 members of a group are exchangeable,
the treated set is just one of the (k + 1)^n ways of picking one member per group, so ranking its
change among random picks is an exact randomisation test (Rosenbaum, Observational Studies, ch. 2).
Drawing the reference sets from the k matched places alone is not: a finite pool of k spreads
(k - 1)/k as much as the places it stands for, while the treated area differs from the pool's mean by
(k + 1)/k as much, so at k = 10 the test was too narrow (11-14% false alarms on Merseyside, where the
target is 2-9%; benchmarks/RESULTS.md).

The WDD (Wheeler & Ratcliffe 2018) asks whether events fell in the areas AND their rings together.
Its published standard error assumes Poisson counts and matched controls that drift like the rings;
on real data neither holds: rings around hot places rose 3.6% on average against places matched on
their own before level in placebo programmes starting in 2019 (places picked for a high observed level fall
back towards their type's mean; rings next to hot places are not picked that way) and fell against
them in 2020, when lockdown emptied busy centres. The referenced WDD compares
the areas-plus-rings change with the same change for each reference set and ITS OWN rings, so the
rings are compared with rings around matched places, sharing whatever drift that brings. A set's
rings are the union of its members' rings (as the WDD's buffer is), never holding a treated area.
"""

from __future__ import annotations

import numpy as np

from saferhub.evaluate import did, yoy

GROUP = 10  # matched untreated places per treated area


def matched_groups(pre: np.ndarray, treated: np.ndarray, eligible: np.ndarray, k: int = GROUP,
                   strata: np.ndarray | None = None) -> np.ndarray:
    """Per treated row of `pre` (places x before months), the group [itself, k nearest eligible places
    on standardised level and trend] (with replacement across groups, so busy areas get their truly
    nearest matches), within the treated place's stratum (e.g. IMD decile) when it holds k eligible
    places. treated x (k + 1) row indices."""
    treated = np.asarray(treated)
    near = did.nearest_pools(pre, treated, eligible, k=k)
    if strata is not None:
        for row, i in enumerate(treated):
            same = eligible & (strata == strata[i])
            if same.sum() >= k:
                near[row] = did.nearest_pools(pre, treated[row:row + 1], same, k=k)[0]
    return np.column_stack([treated, near])


def draw_sets(groups: np.ndarray, n: int, rng) -> np.ndarray:
    """n reference sets, each one member drawn at random from every group: n x treated indices."""
    return np.stack([rng.choice(row, size=n) for row in groups], axis=1)


def referenced_wdd(t0: float, t1: float, d0: float, ring_obs: tuple[float, float],
                   ref: tuple[np.ndarray, np.ndarray], ring_ref: tuple[np.ndarray, np.ndarray],
                   conf: float = 0.95) -> dict:
    """Referenced WDD in events (negative = events prevented in the areas and rings together).

    t0, t1: the areas' before/after counts; d0: the rings' before count (the WDD's buffer);
    ring_obs: (before, after) of the areas' own rings as the reference sets' rings are counted;
    ref, ring_ref: (before, after) arrays per reference set, of the set and of its rings.
    Each set's changes are scaled to the areas' levels, S = t0 * g_set + d0 * g_rings, so a set
    stands for "what the areas and their rings would have done"; S_obs = t1 + d0 * g_obs_rings.
    Estimate S_obs - median(S); interval S_obs minus the reference quantiles (a shift model);
    p-value: the two-sided rank of S_obs among the S (yoy.referenced_p)."""
    rb, ra = (np.asarray(v, float) for v in ref)
    gb, ga = (np.asarray(v, float) for v in ring_ref)
    ok = (rb > 0) & (gb > 0)
    if ok.sum() == 0 or ring_obs[0] <= 0 or t0 <= 0:
        return {"wdd": np.nan, "low": np.nan, "high": np.nan, "p": np.nan}
    s_ref = t0 * ra[ok] / rb[ok] + d0 * ga[ok] / gb[ok]
    s_obs = t1 + d0 * ring_obs[1] / ring_obs[0]
    a = (1 - conf) / 2
    hi_q, lo_q = np.quantile(s_ref, [1 - a, a])
    return {"wdd": float(s_obs - np.median(s_ref)), "low": float(s_obs - hi_q), "high": float(s_obs - lo_q),
            "p": yoy.referenced_p(s_obs, s_ref), "expected": float(np.median(s_ref)), "observed": float(s_obs)}
