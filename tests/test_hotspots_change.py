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
