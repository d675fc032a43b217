"""What the hub's security checks cost, each beside a named reference in the same run:

1. strict JSON check of a ~1 MiB body   vs  json.loads of the same body (what FastAPI does anyway)
2. sign-in throttle decision (SQLite, 10,000 recorded outcomes)  vs  one argon2id password check
3. keyed audit append (SQLite, row + MAC + head update, flushed)  vs  the HMAC alone

Run: .venv/bin/python benchmarks/bench_hub_security.py   (prints a Markdown table and `uptime`)"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import tempfile
import time


def best(fn, repeat: int = 5, number: int = 1) -> float:
    """Median seconds per call over `repeat` runs of `number` calls."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number)
    return statistics.median(runs)


def main() -> None:
    tmp = tempfile.mkdtemp()
    os.environ["SAFERHUB_AUDIT_KEY_FILE"] = os.path.join(tmp, "audit.key")
    from saferhub.api.hygiene import check_json
    from saferhub.hub import audit, auditkey, security
    from saferhub.hub.db import make_engine, session_factory, upgrade

    body = json.dumps({"rows": [{"title": f"Noise at {i} Lord Street – Zoë", "n": i * 1.5, "ok": True}
                                for i in range(16000)]}).encode()
    strict = best(lambda: check_json(body))
    plain = best(lambda: json.loads(body))

    url = f"sqlite:///{tmp}/hub.sqlite3"
    upgrade(url)
    engine = make_engine(url)
    s = session_factory(engine)()
    now = dt.datetime.now(dt.timezone.utc)
    for i in range(10000):
        security.record_login(s, f"user{i % 500}@x.invalid", f"198.51.{i % 200}.{i % 250}", i % 7 == 0,
                              now - dt.timedelta(seconds=i % 3000))
    s.commit()
    decide = best(lambda: security.login_allowed(s, "user7@x.invalid", "198.51.7.7", now), number=50)
    stored = security.hash_password("correct horse battery staple")
    argon = best(lambda: security.verify_password(stored, "correct horse battery staple"))

    auditkey.ensure()
    ring = auditkey.load()
    append = best(lambda: audit.append(s, user=None, action="read", entity="case", entity_ids=[1, 2],
                                       purpose="benchmark purpose"), number=200)
    s.commit()
    mac = best(lambda: ring.mac(ring.current, audit.mac_message(ring.current, "0" * 64)), number=2000)
    s.close()
    engine.dispose()

    print("| measure | figure | reference | figure / reference |")
    print("|---|---|---|---|")
    print(f"| strict JSON check, {len(body) / 2**20:.2f} MiB body | {strict * 1e3:.1f} ms | "
          f"json.loads {plain * 1e3:.1f} ms | {strict / plain:.2f} |")
    print(f"| throttle decision, 10,000 outcomes stored | {decide * 1e3:.2f} ms | "
          f"argon2id verify {argon * 1e3:.1f} ms | {decide / argon:.3f} |")
    print(f"| keyed audit append (flushed, not committed) | {append * 1e3:.2f} ms | "
          f"HMAC alone {mac * 1e6:.1f} µs | {append / mac:.0f} |")
    print()
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
