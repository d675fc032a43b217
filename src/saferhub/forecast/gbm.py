"""Gradient boosting on lagged cell features (the "machine learning" forecaster).

Each (cell, target month) is one row. Features use only months before the target: counts at
lags 1-3, window sums (3, 6, 12, 24 months), an exponentially decayed sum, neighbourhood sums of
the recent counts (3x3 and 5x5 rings), a Gaussian-smoothed year, harm in the last year, month of
year (seasonality) and, when known, the cell's IMD 2019 decile / rank and LSOA population. The
model (scikit-learn's HistGradientBoostingRegressor, Poisson loss, fixed seed) is trained on the
`train_months` most recent target months before the forecast month.
"""

from __future__ import annotations

import numpy as np

from saferhub.geo.cube import Cube
from saferhub.forecast.kernels import gaussian_kernel, smooth
from saferhub.forecast.models import Model, decay_weights
from saferhub.forecast.threads import thread_limit

COVARIATES = ("imd_decile", "imd_rank", "population")


def _window(cs: np.ndarray, m: int, w: int) -> np.ndarray:
    """Sum of months [m - w, m) from a cumulative sum with a leading zero month."""
    return cs[m] - cs[max(0, m - w)]


def feature_names(cube: Cube, use_covariates: bool = True, use_layers: bool = True) -> list[str]:
    names = ["lag1", "lag2", "lag3", "sum3", "sum6", "sum12", "sum24", "decay6",
             "ring1_3", "ring1_12", "ring2_12", "kde12", "harm12", "moy_sin", "moy_cos"]
    if use_covariates:
        names += [c for c in COVARIATES if c in cube.covariates]
    for layer in (cube.layers if use_layers else {}):
        names += [f"{layer}_sum3", f"{layer}_sum12", f"{layer}_ring1_12"]
    return names


def features(cube: Cube, values: np.ndarray, m: int, area: np.ndarray, cs: np.ndarray,
             harm_cs: np.ndarray | None, use_covariates: bool = True, layer_cs: dict | None = None) -> np.ndarray:
    """(cells in area, features) for target month index m, from months before m only."""
    cols = []
    for lag in (1, 2, 3):
        cols.append(values[m - lag] if m - lag >= 0 else np.zeros(values.shape[1:]))
    sums = {w: _window(cs, m, w) for w in (3, 6, 12, 24)}
    cols += [sums[3], sums[6], sums[12], sums[24]]
    recent = values[max(0, m - 36):m][::-1]
    cols.append(np.tensordot(decay_weights(len(recent), 6.0), recent, axes=1))
    ring1 = np.ones((3, 3)); ring1[1, 1] = 0
    ring2 = np.ones((5, 5)); ring2[1:4, 1:4] = 0
    cols += [smooth(sums[3], ring1), smooth(sums[12], ring1), smooth(sums[12], ring2),
             smooth(sums[12], gaussian_kernel(2.0))]
    cols.append(_window(harm_cs, m, 12) if harm_cs is not None else sums[12])
    month_of_year = (cube.months[0] + m).astype("datetime64[M]").astype(int) % 12
    ang = 2 * np.pi * month_of_year / 12
    cols += [np.full(values.shape[1:], np.sin(ang)), np.full(values.shape[1:], np.cos(ang))]
    if use_covariates:
        cols += [cube.covariates[c] for c in COVARIATES if c in cube.covariates]
    for layer in layer_cs or {}:
        lcs = layer_cs[layer]
        s12 = _window(lcs, m, 12)
        cols += [_window(lcs, m, 3), s12, smooth(s12, ring1)]
    return np.stack([c[area] for c in cols], axis=1)


class GradientBoosting(Model):
    """Poisson gradient boosting on lagged counts, neighbourhood sums, seasonality and covariates."""

    def __init__(self, train_months: int = 4, min_history: int = 12, max_iter: int = 60,
                 learning_rate: float = 0.1, max_leaf_nodes: int = 15, use_covariates: bool = True,
                 quiet_keep: int = 20, use_layers: bool = False,
                 target: str = "count", random_state: int = 0):
        self.train_months, self.min_history = train_months, min_history
        self.max_iter, self.learning_rate, self.max_leaf_nodes = max_iter, learning_rate, max_leaf_nodes
        self.use_covariates, self.quiet_keep, self.use_layers = use_covariates, quiet_keep, use_layers
        self.target, self.random_state = target, random_state

    def _check(self):
        from saferhub.forecast.models import _need

        super()._check()
        for name in ("train_months", "min_history", "quiet_keep", "max_iter"):
            v = getattr(self, name)
            _need(self, int(v) == v and v >= 1, f"{name} must be a whole number >= 1")
        _need(self, self.learning_rate > 0, "learning_rate must be > 0")
        _need(self, int(self.max_leaf_nodes) == self.max_leaf_nodes and self.max_leaf_nodes >= 2,
              "max_leaf_nodes must be a whole number >= 2")

    def _risk(self, history, cube):
        from sklearn.ensemble import HistGradientBoostingRegressor

        area = cube.area
        T = history.shape[0]  # forecast month index is T
        cs = np.concatenate([np.zeros((1,) + history.shape[1:]), np.cumsum(history, axis=0)])
        harm_cs = None
        if cube.harm is not None:
            h = cube.harm[:T]
            harm_cs = np.concatenate([np.zeros((1,) + h.shape[1:]), np.cumsum(h, axis=0)])
        first = max(int(self.min_history), T - int(self.train_months))
        targets = list(range(first, T))
        if not targets:  # too little history to learn from: fall back to the most recent rows
            targets = [max(1, T - 1)] if T > 1 else []
        self.used_covariates_ = self.use_covariates and any(c in cube.covariates for c in COVARIATES)
        layer_cs = {}
        if self.use_layers:
            for name, arr in cube.layers.items():
                a = arr[:T].astype("float64")
                layer_cs[name] = np.concatenate([np.zeros((1,) + a.shape[1:]), np.cumsum(a, axis=0)])
        Xs = [features(cube, history, m, area, cs, harm_cs, self.use_covariates, layer_cs) for m in targets]
        ys = [history[m][area] for m in targets]
        X_next = features(cube, history, T, area, cs, harm_cs, self.use_covariates, layer_cs)
        out = np.zeros(history.shape[1:])
        if not Xs:
            out[area] = X_next[:, 5]  # sum12: the naive count
            return out
        model = HistGradientBoostingRegressor(
            loss="poisson", max_iter=self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, early_stopping=False, random_state=self.random_state)
        X, y = np.concatenate(Xs), np.concatenate(ys)
        # Quiet rows (nothing in the cell for 24 months, nor in its 8 neighbours for 12) are most
        # of the area and nearly all zero: train on a random 1 in `quiet_keep` of them (cuts the
        # training time several-fold), then rescale the quiet cells' predictions so that their
        # mean matches the mean of ALL quiet training rows (sample weights would do the same but
        # make scikit-learn's binning an order of magnitude slower).
        quiet = (X[:, 6] == 0) & (X[:, 9] == 0)
        rng = np.random.default_rng(self.random_state)
        keep = ~quiet | (rng.random(len(y)) < 1.0 / int(self.quiet_keep))
        # the limit is set here, after scikit-learn's OpenMP runtime is loaded, so that it takes
        with thread_limit():
            model.fit(X[keep], y[keep])
            quiet_scale = 1.0
            if quiet.any():
                pred_q = model.predict(X[quiet & keep]).mean()
                quiet_scale = y[quiet].mean() / pred_q if pred_q > 0 else 1.0
            pred = model.predict(X_next)
        self.feature_names_ = feature_names(cube, self.use_covariates, self.use_layers)
        next_quiet = (X_next[:, 6] == 0) & (X_next[:, 9] == 0)
        pred[next_quiet] *= quiet_scale
        out[area] = pred
        return out
