"""Class comparison against independent oracles: statsmodels' BH, scipy/gammaln NB tail, numpy."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import gammaln
from statsmodels.stats.multitest import multipletests

from saferhub.places import risky


def _nb_tail_by_hand(k, m, a):
    r = 1 / a
    j = np.arange(0, int(k))
    logpmf = gammaln(j + r) - gammaln(r) - gammaln(j + 1) + r * np.log(r / (r + m)) + j * np.log(m / (r + m))
    return 1 - np.exp(logpmf).sum()


def test_nb_tail_matches_hand_sum_and_poisson():
    assert risky.nb_upper_tail(7, 3.0, 0.5)[()] == pytest.approx(_nb_tail_by_hand(7, 3.0, 0.5), rel=1e-9)
    assert risky.nb_upper_tail(7, 3.0, 0.0)[()] == pytest.approx(stats.poisson.sf(6, 3.0))
    assert risky.nb_upper_tail(0, 3.0, 0.2)[()] == 1.0


def test_class_comparison_known_values_and_bh():
    rng = np.random.default_rng(5)
    counts = np.concatenate([rng.negative_binomial(2, 0.4, 40), [40, 60], rng.poisson(8, 30), [1]])
    classes = ["pub"] * 42 + ["shop"] * 30 + ["lonely"]
    out = risky.class_comparison(counts, classes)
    # leave-one-out mean and variance for the pub with 60 crimes
    i = 41
    others = np.delete(counts[:42], i)
    m, v = others.mean(), others.var(ddof=1)
    a = max(0.0, (v - m) / m ** 2)
    assert out.loc[i, "class_mean"] == pytest.approx(m)
    assert out.loc[i, "dispersion"] == pytest.approx(a)
    assert out.loc[i, "ratio"] == pytest.approx(60 / m)
    assert out.loc[i, "p"] == pytest.approx(_nb_tail_by_hand(60, m, a), rel=1e-6)
    lo, hi = stats.chi2.ppf(0.025, 120) / 2, stats.chi2.ppf(0.975, 122) / 2
    assert out.loc[i, "ratio_low"] == pytest.approx(lo / m) and out.loc[i, "ratio_high"] == pytest.approx(hi / m)
    # a class of one is not compared
    assert np.isnan(out.loc[72, "p"]) and not out.loc[72, "flagged"]
    # BH over the tested places equals statsmodels
    ok = np.isfinite(out["p"])
    rej, padj, _, _ = multipletests(out["p"][ok], alpha=0.05, method="fdr_bh")
    assert np.allclose(out["p_adj"][ok], padj)
    assert (out["flagged"][ok].to_numpy() == rej).all()
    assert out.loc[41, "flagged"] and out["flagged"].sum() <= 3


def test_concentration_curve_j_shape():
    cur = risky.concentration_curve([0, 0, 0, 0, 0, 0, 0, 0, 2, 18])
    assert cur["share_of_crime"].iloc[0] == pytest.approx(0.9)
    assert risky.share_held([0, 0, 0, 0, 0, 0, 0, 0, 2, 18], 0.10) == pytest.approx(0.9)
    assert cur["share_of_crime"].iloc[-1] == pytest.approx(1.0)


def test_trend_words():
    t = risky.trend(np.array([[1, 1, 1, 9, 9, 9], [5, 5, 5, 5, 5, 5], [0, 1, 0, 0, 1, 0]]))
    assert t["trend"].tolist() == ["rising", "steady", "too few to tell"]
    assert t.loc[0, "trend_ratio"] == pytest.approx(9.0)
