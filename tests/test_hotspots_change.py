"""Change between periods: the conditional Poisson (binomial) test against scipy.stats.binomtest."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from saferhub.hotspots.change import poisson_change


@pytest.mark.parametrize("ratio", [1.0, 0.5, 2.0])
def test_p_values_equal_scipy_binomtest(ratio):
    rng = np.random.default_rng(1)
    a = rng.poisson(6, 60)
    b = rng.poisson(6 * ratio * 1.3, 60)
    res = poisson_change(a, b, length_ratio=ratio, correction="none")
    for ai, bi, p in zip(a, b, res.p):
        if ai + bi == 0:
            assert p == 1.0
            continue
        # Doubled one-sided exact p (the 'central' two-sided binomial p-value).
        lo = stats.binomtest(int(bi), int(ai + bi), ratio / (1 + ratio), alternative="less").pvalue
        hi = stats.binomtest(int(bi), int(ai + bi), ratio / (1 + ratio), alternative="greater").pvalue
        ref = min(1.0, 2 * min(lo, hi))
        assert p == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_significant_rise_and_fall_are_flagged():
    res = poisson_change([10, 40, 20, 0], [40, 10, 21, 0], correction="holm")
    assert res.direction.tolist() == [1, -1, 0, 0]
    assert res.difference.tolist() == [30, -30, 1, 0]
    assert res.ratio[0] == pytest.approx(4.0)
    assert np.isnan(res.ratio[3])
    assert res.p_adjusted[0] <= 0.05 and res.p_adjusted[2] > 0.5


def test_compound_poisson_change_by_hand():
    """Harm change: z = (b - r a) / sqrt(b2 + r^2 a2), two-sided normal p (hand computation)."""
    from saferhub.hotspots.change import compound_poisson_change

    a, b = np.array([5.0, 0.0, 30.0]), np.array([60.0, 0.0, 15.0])  # summed weights before / after
    a2, b2 = np.array([25.0, 0.0, 300.0]), np.array([400.0, 0.0, 75.0])  # summed squared weights
    c = compound_poisson_change(a, b, a2, b2, length_ratio=2.0, correction="none")
    z0 = (60 - 10) / np.sqrt(400 + 4 * 25)  # 2.236: p = 0.025
    z2 = (15 - 60) / np.sqrt(75 + 4 * 300)  # -1.260: p = 0.21
    assert c.z == pytest.approx([z0, 0.0, z2])
    assert c.p == pytest.approx([2 * stats.norm.sf(abs(z0)), 1.0, 2 * stats.norm.sf(abs(z2))])
    assert c.direction.tolist() == [1, 0, 0]
    assert c.ratio[0] == pytest.approx(60 / (5 * 2))
