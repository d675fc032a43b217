"""SEPP's E-step pass over the month-cells with crime, in plain Python that numba compiles.

It lives apart from sepp.py so that module's other code can be mutation-tested (mutmut wraps
every function it mutates in a Python trampoline numba cannot compile), and so this pass can be
tested uncompiled: scripts/mutation runs its mutants with NUMBA_DISABLE_JIT=1.
"""

from __future__ import annotations

import numpy as np


def estep(S, S1, t_i, nb, n_i, mu_i, K, theta_q):
    """One pass over the month-cells with crime: the triggering sums (lag-weighted too) over their
    (2r+1)^2 neighbouring parent cells (`nb`: active-cell index per offset, -1 off the grid), the
    intensity, and the expected number of offspring per offset."""
    m, noff = nb.shape
    lam = np.empty(m)
    trg = 0.0
    lsum = 0.0
    Wd = np.zeros(noff)
    vals = np.zeros(noff)
    for i in range(m):
        t = t_i[i]
        s0 = 0.0
        s1 = 0.0
        for o in range(noff):
            j = nb[i, o]
            if j < 0:
                vals[o] = 0.0
            else:
                v = K[o] * S[t, j]
                vals[o] = v
                s0 += v
                s1 += K[o] * S1[t, j]
        trig = theta_q * s0
        li = mu_i[i] + trig
        if li <= 0.0:
            li = 1e-300
        lam[i] = li
        w = n_i[i] / li
        trg += w * trig
        lsum += w * theta_q * s1
        wt = w * theta_q
        for o in range(noff):
            Wd[o] += wt * vals[o]
    return lam, trg, lsum, Wd
