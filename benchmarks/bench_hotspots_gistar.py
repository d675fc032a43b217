"""Gi* on a 1000 x 1000 grid: saferhub's convolution vs esda G_Local(star=True, transform='B').

esda needs a libpysal weights object; building one for 1M cells takes minutes and GBs, so esda is
timed on smaller square grids (weights build and G_Local separately) and extrapolated linearly to
1M cells (both steps are O(cells) for a fixed neighbourhood). z-scores are checked identical on the
largest grid esda runs on. Run: nice python benchmarks/bench_hotspots_gistar.py
"""

from __future__ import annotations

import time

import numpy as np

from saferhub.hotspots.gistar import gistar_grid, grid_kernel


def best(fn, repeat=3):
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t.append(time.perf_counter() - t0)
    return min(t), out


def main():
    import esda
    import libpysal

    rng = np.random.default_rng(0)
    kern = grid_kernel(100, rings=1)  # queen neighbours + the focal cell
    big = rng.poisson(0.8, size=(1000, 1000)).astype(float)
    t_ours, _ = best(lambda: gistar_grid(big, kern))
    print(f"saferhub Gi* 1000x1000 (1,000,000 cells, queen): {t_ours:.3f} s")

    per_cell_build, per_cell_glocal = [], []
    for side in (150, 300):
        vals = rng.poisson(0.8, size=(side, side)).astype(float)
        t0 = time.perf_counter()
        w = libpysal.weights.lat2W(side, side, rook=False)
        t_build = time.perf_counter() - t0
        t_g, g = best(lambda v=vals, w=w: esda.G_Local(v.ravel(), w, transform="B", star=True, permutations=0),
                      repeat=2)
        ours = gistar_grid(vals, kern).z.ravel()
        err = np.abs(ours - g.Zs).max()
        n = side * side
        per_cell_build.append(t_build / n)
        per_cell_glocal.append(t_g / n)
        print(f"esda {side}x{side} ({n:,} cells): weights {t_build:.3f} s + G_Local {t_g:.3f} s; "
              f"max |z diff| vs saferhub {err:.1e}")
    est_build = per_cell_build[-1] * 1e6
    est_g = per_cell_glocal[-1] * 1e6
    print(f"esda extrapolated to 1,000,000 cells: weights {est_build:.1f} s + G_Local {est_g:.2f} s "
          f"= {est_build + est_g:.1f} s")
    print(f"ratio (esda weights+G_Local) / saferhub: {(est_build + est_g) / t_ours:,.0f}x; "
          f"G_Local alone / saferhub: {est_g / t_ours:,.1f}x  (target >= 20x)")


if __name__ == "__main__":
    main()
