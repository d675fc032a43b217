"""Sign-in cost: argon2id verifications per second at the hub's parameters (saferhub.hub.security:
m=19 MiB, t=2, p=1, the OWASP minimum), on one core and on every core (one process each), and
what that means for a partnership's morning.

    python benchmarks/bench_signin.py [--seconds 5] [--users 2000] [--window-minutes 10]

Every sign-in costs one verification (a refused guess beyond the throttle costs none); a token
then lasts 12 hours, so a user signs in about once a day.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _count(seconds: float) -> int:
    from saferhub.hub.security import hash_password, verify_password

    stored = hash_password("a long benchmark password")
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        assert verify_password(stored, "a long benchmark password")
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--window-minutes", type=float, default=10)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    print(f"load average {os.getloadavg()[0]:.1f} on {cores} cores")
    one = _count(args.seconds) / args.seconds
    with mp.Pool(cores) as pool:
        every = sum(pool.map(_count, [args.seconds] * cores)) / args.seconds
    need = args.users / (args.window_minutes * 60)
    print(f"argon2id verify: {one:.1f}/s on one core ({1000 / one:.0f} ms each), {every:.1f}/s on {cores} cores")
    print(f"{args.users:,} users all signing in within {args.window_minutes:.0f} minutes need {need:.1f}/s: "
          f"{100 * need / every:.0f}% of the machine's {every:.1f}/s; all {args.users:,} at once queue for "
          f"{args.users / every:.0f} s")


if __name__ == "__main__":
    main()
