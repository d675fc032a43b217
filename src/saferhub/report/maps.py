"""Static maps of unit results (matplotlib, no tiles: reports must open offline).

Square grids are drawn as one raster image (fast for a million cells); other units as polygons or
lines. Every map gets a legend and a scale note in metres (British National Grid).
"""

from __future__ import annotations

import numpy as np

from saferhub.report import html  # noqa: F401  (sets the Agg backend before pyplot loads)

# ArcGIS's Gi_Bin colours, cold 99% .. hot 99%.
GI_COLOURS = {-3: "#4575b5", -2: "#849eba", -1: "#c0ccbe", 0: "#eeeeee", 1: "#fab984", 2: "#ed7551", 3: "#d62f27"}
EMERGING_COLOURS = {
    "no pattern": "#eeeeee",
    "new hot spot": "#f4a582", "consecutive hot spot": "#fdae61", "intensifying hot spot": "#b2182b",
    "persistent hot spot": "#d6604d", "diminishing hot spot": "#fddbc7", "sporadic hot spot": "#fee090",
    "oscillating hot spot": "#e08214", "historical hot spot": "#bf812d",
    "new cold spot": "#92c5de", "consecutive cold spot": "#74add1", "intensifying cold spot": "#2166ac",
    "persistent cold spot": "#4393c3", "diminishing cold spot": "#d1e5f0", "sporadic cold spot": "#abd9e9",
    "oscillating cold spot": "#5e3c99", "historical cold spot": "#8073ac",
}
CHANGE_COLOURS = {-1: "#2166ac", 0: "#eeeeee", 1: "#b2182b"}


def _axes(title: str, size=(8.5, 8.5)):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size)
    ax.set_title(title, fontsize=11)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)
    ax.set_xlabel("Easting (m, BNG)", fontsize=8)
    ax.set_ylabel("Northing (m, BNG)", fontsize=8)
    return fig, ax


def _outline(ax, area):
    if area is None:
        return
    import shapely

    for poly in getattr(area, "geoms", [area]):
        if shapely.get_type_id(poly) != 3:
            continue
        xs, ys = poly.exterior.xy
        ax.plot(xs, ys, color="#444", lw=0.6)


def continuous_map(units, values, title: str, label: str, area=None, cmap: str = "YlOrRd"):
    """A map of a continuous value per unit (counts, harm, density) with a colour bar."""
    import matplotlib.pyplot as plt

    fig, ax = _axes(title)
    v = np.asarray(values, float)
    vmax = np.nanpercentile(v, 99.5) if np.isfinite(v).any() else 1.0
    vmax = vmax if vmax > 0 else (np.nanmax(v) if np.isfinite(v).any() and np.nanmax(v) > 0 else 1.0)
    if units.kind == "grid":
        g = units.grid
        arr = units.to_grid(v)
        im = ax.imshow(np.ma.masked_invalid(arr), origin="lower", cmap=cmap, vmin=0, vmax=vmax,
                       extent=(g.x0, g.x0 + g.nx * g.cell_size, g.y0, g.y0 + g.ny * g.cell_size),
                       interpolation="nearest")
    else:
        gdf = units.gdf.assign(_v=v)
        gdf.plot(column="_v", ax=ax, cmap=cmap, vmin=0, vmax=vmax, linewidth=0.1 if units.kind != "segment" else 1.2)
        im = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, vmax))
    _outline(ax, area)
    cb = fig.colorbar(im, ax=ax, shrink=0.7)
    cb.set_label(label + ("" if vmax >= np.nanmax(v) else " (colour capped at the 99.5th percentile)"), fontsize=8)
    return fig


def diverging_map(units, values, title: str, label: str, area=None, cmap: str = "RdBu_r"):
    """A map of a signed value (e.g. a dual-KDE difference) centred on zero (grid units)."""
    fig, ax = _axes(title)
    v = np.asarray(values, float)
    lim = np.nanpercentile(np.abs(v), 99.5) if np.isfinite(v).any() else 1.0
    lim = lim if lim > 0 else 1.0
    g = units.grid
    im = ax.imshow(np.ma.masked_invalid(units.to_grid(v)), origin="lower", cmap=cmap, vmin=-lim, vmax=lim,
                   extent=(g.x0, g.x0 + g.nx * g.cell_size, g.y0, g.y0 + g.ny * g.cell_size),
                   interpolation="nearest")
    _outline(ax, area)
    cb = fig.colorbar(im, ax=ax, shrink=0.7)
    cb.set_label(label + " (red: more, blue: less)", fontsize=8)
    return fig


def categorical_map(units, codes, colours: dict, labels: dict, title: str, area=None):
    """A map of categories per unit (Gi* bins, emerging categories) with a legend of those present."""
    import matplotlib.colors as mcolors
    from matplotlib.patches import Patch

    fig, ax = _axes(title)
    codes = np.asarray(codes, dtype=object)
    keys = list(colours)
    index = {k: i for i, k in enumerate(keys)}
    idx = np.array([index.get(c, -1) for c in codes], dtype=float)
    idx[idx < 0] = np.nan
    cmap = mcolors.ListedColormap([colours[k] for k in keys])
    if units.kind == "grid":
        g = units.grid
        ax.imshow(np.ma.masked_invalid(units.to_grid(idx)), origin="lower", cmap=cmap, vmin=-0.5,
                  vmax=len(keys) - 0.5, interpolation="nearest",
                  extent=(g.x0, g.x0 + g.nx * g.cell_size, g.y0, g.y0 + g.ny * g.cell_size))
    else:
        cols = np.array([colours.get(c, "#ffffff") for c in codes], dtype=object)
        units.gdf.plot(ax=ax, color=list(cols), linewidth=0.1 if units.kind != "segment" else 1.2,
                       edgecolor="#bbbbbb" if units.kind != "segment" else None)
    _outline(ax, area)
    present = [k for k in keys if (codes == k).any()]
    counts = {k: int((codes == k).sum()) for k in present}
    ax.legend(handles=[Patch(facecolor=colours[k], edgecolor="#999", label=f"{labels.get(k, k)} ({counts[k]:,})")
                       for k in present], loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    return fig


def save_png(fig, path) -> None:
    """Write a figure as a PNG file (atomic) and close it."""
    import io

    import matplotlib.pyplot as plt

    from saferhub.fsutil import write_atomic

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    plt.close(fig)
    write_atomic(path, buf.getvalue())
