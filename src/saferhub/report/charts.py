"""Charts for hotspot reports: Lorenz curves, the Knox table as a heat map, trend sparklines."""

from __future__ import annotations

import numpy as np

from saferhub.report import html  # noqa: F401  (Agg backend)


def lorenz_chart(curves: dict, title: str = "Lorenz curve: how concentrated is it?"):
    """curves: label -> (share of units, share of total) from hotspots.concentration.lorenz.
    Plotted from the most to the least affected unit, as crime-concentration studies read it."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, (u, s) in curves.items():
        # Flip to "top x% of units hold y% of crime".
        ax.plot(1 - u[::-1], 1 - s[::-1], lw=1.8, label=label)
    ax.plot([0, 1], [0, 1], color="#888", ls="--", lw=0.8, label="perfect equality")
    for q in (0.25, 0.5):
        ax.axhline(q, color="#ccc", lw=0.6)
    ax.set_xlabel("share of units (most affected first)")
    ax.set_ylabel("cumulative share")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8)
    return fig


def knox_chart(k, title: str = "Near repeat: Knox ratio (observed / expected)"):
    """Heat map of Knox ratios, * marking p <= 0.05 (the close space and time bands only)."""
    import matplotlib.pyplot as plt

    R = k.ratio[:-1, :-1]
    P = k.p[:-1, :-1]
    fig, ax = plt.subplots(figsize=(1.2 * R.shape[1] + 3, 0.6 * R.shape[0] + 2))
    # a ratio's scale starts at 0 (no pairs) and is centred on 1 (as many as chance) where it can be
    hi = max(2.0, float(np.nanmax(R))) if np.isfinite(R).any() else 2.0
    from matplotlib.colors import TwoSlopeNorm

    im = ax.imshow(R, cmap="RdBu_r", norm=TwoSlopeNorm(vcenter=1.0, vmin=0.0, vmax=hi))
    for (r, c), v in np.ndenumerate(R):
        star = "*" if P[r, c] <= 0.05 else ""
        dark = np.isfinite(v) and (v > 0.6 * hi + 0.4 or v < 0.35)  # white text on the darkest cells
        ax.text(c, r, f"{v:.2f}{star}" if np.isfinite(v) else "–", ha="center", va="center", fontsize=8,
                color="white" if dark else "black")
    ax.set_xticks(range(R.shape[1]), k.time_labels[:-1], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(R.shape[0]), k.space_labels[:-1], fontsize=8)
    ax.set_title(title + "\n* p <= 0.05", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8, label="Knox ratio (1 = as many pairs as chance)")
    return fig


def sparklines(series: dict, x_labels=None, title: str = "Mean count per unit by month"):
    """Small multiples: one line per category (e.g. emerging-hotspot class)."""
    import matplotlib.pyplot as plt

    n = max(len(series), 1)
    fig, axes = plt.subplots(n, 1, figsize=(6, 0.8 * n + 0.8), sharex=True, squeeze=False)
    for ax, (label, s) in zip(axes[:, 0], series.items()):
        ax.plot(np.arange(len(s)), s, lw=1.4, color="#b2182b" if "hot" in label else "#2166ac")
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    if x_labels is not None and len(x_labels):  # a tick for every month; labels thinned to fit
        step = max(1, int(np.ceil(len(x_labels) / 12)))
        axes[-1, 0].set_xticks(np.arange(len(x_labels)),
                               [str(v) if i % step == 0 else "" for i, v in enumerate(x_labels)], fontsize=7,
                               rotation=45, ha="right")
    fig.suptitle(title, fontsize=10)
    return fig


def histogram(values, title: str, xlabel: str):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    v = np.asarray(values, float)
    ax.hist(v[np.isfinite(v)], bins=50, color="#6a7fb5")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("units")
    return fig
