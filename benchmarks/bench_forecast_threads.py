"""Thread pools for the forecast: gradient boosting (`--model gbm`) with the threads the service
chooses (`available_cores()`: the CPUs this process may use that are not already busy) against
OpenMP's default (one thread per CPU in the affinity mask), paired run by run, same output.

    PYTHONPATH=src nice python benchmarks/bench_forecast_threads.py --store STORE [--rounds 3]

Prints, per round, the seconds (wall and CPU) of each side, the ratio chosen/default, and
whether the two risk surfaces are identical. Record the load (`uptime`) with the figures.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def main() -> None:
    from threadpoolctl import threadpool_limits

    from saferhub.forecast import gbm
    from saferhub.forecast.registry import make_model
    from saferhub.forecast.service import load_cube
    from saferhub.forecast.threads import available_cores

    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cube = load_cube(args.store, "grip", 150)
    default = len(os.sched_getaffinity(0))
    print(f"load average {os.getloadavg()[0]:.1f}; affinity {default} CPUs; service chooses {available_cores()}")
    ratios = []
    service_limit = gbm.thread_limit
    for r in range(args.rounds):
        chosen = available_cores()
        wa, ca, ra = timed(lambda: make_model("gbm").fit(cube, "2020-12").predict())
        gbm.thread_limit = lambda: threadpool_limits(limits=default)  # what OpenMP does unasked
        try:
            wb, cb, rb = timed(lambda: make_model("gbm").fit(cube, "2020-12").predict())
        finally:
            gbm.thread_limit = service_limit
        ratios.append(wa / wb)
        print(f"round {r + 1}: chosen {chosen} thread(s) {wa:.2f} s wall ({ca:.2f} s CPU) | default {default} "
              f"threads {wb:.2f} s wall ({cb:.2f} s CPU) | ratio {wa / wb:.2f} | identical {np.array_equal(ra, rb)}")
    print(f"median ratio chosen/default: {np.median(ratios):.2f}")


if __name__ == "__main__":
    main()
