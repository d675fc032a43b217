"""Thread pools sized to the CPUs this process can actually use.

threadpoolctl limits only the libraries loaded when the limit is set, so code that imports an
OpenMP library lazily (scikit-learn in gbm.py) sets its limit after that import.
"""

from __future__ import annotations


def available_cores() -> int:
    """CPUs this process may run on (its affinity, not the machine's count) that are not already
    busy (less the 1-minute load average), at least 1. On a shared machine an OpenMP thread that
    waits for a busy core spins: HistGradientBoosting then runs 3-10 times slower on 2 threads
    than on 1, with identical output (benchmarks/RESULTS.md)."""
    import os

    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        busy = 0.0
    return max(1, min(n, int(n - busy + 0.5)))


def thread_limit():
    """A context in which numerical thread pools (OpenMP, BLAS) use `available_cores()` threads."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=available_cores())
