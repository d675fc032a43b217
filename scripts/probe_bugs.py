#!/usr/bin/env python3
"""Planted-bug probe (issue 26): put back, one at a time, a *meaningful* bug a reviewer might
plant (one plausible quantity swapped for another: the wrong denominator, floor for round, a
window off by a month, an access check or an audit row dropped), run the tests that cover that
function, record whether they caught it, and restore the file.

A mutation tool swaps operators; this swaps meanings. The bugs are in scripts/probe_bugs.toml:
each names its file, the exact text it replaces (which must occur once), the new text, what the
bug means, and the test selection (a group) that covers it.

Usage:  scripts/probe_bugs.py                    # every bug
        scripts/probe_bugs.py --list             # the bugs and their groups
        scripts/probe_bugs.py metrics backtest   # only these groups (or bug ids, or id globs)
        scripts/probe_bugs.py --check            # only check every patch applies (no tests run)
        scripts/probe_bugs.py --json out.json    # also write each bug's result

A developer tool, not part of the suite: it takes minutes (each bug runs its group's tests with
`nice -n 10`, `-x`, SQLite only). The file is restored from the bytes read before patching (as
`git checkout` would, without losing uncommitted work). Exit status 1 when a bug is missed.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUGS = REPO / "scripts" / "probe_bugs.toml"
PYTEST = ["nice", "-n", "10", str(REPO / ".venv" / "bin" / "python"), "-m", "pytest", "-x", "-q",
          "-p", "no:cacheprovider", "-p", "no:randomly", "-W", "ignore", "-m", "not postgres"]


def load(path: Path = BUGS) -> tuple[dict, list[dict]]:
    doc = tomllib.loads(path.read_text())
    groups, bugs = doc["groups"], doc["bug"]
    seen = set()
    for b in bugs:
        missing = {"id", "group", "file", "old", "new", "means"} - set(b)
        if missing:
            sys.exit(f"{path}: bug {b.get('id', '?')} lacks {', '.join(sorted(missing))}")
        if b["id"] in seen:
            sys.exit(f"{path}: bug id {b['id']} twice")
        seen.add(b["id"])
        if b["group"] not in groups:
            sys.exit(f"{path}: bug {b['id']}: unknown group {b['group']}")
    return groups, bugs


def patched(b: dict) -> tuple[Path, bytes, str]:
    """(file, original bytes, patched text); exits when the old text is not there exactly once."""
    f = REPO / b["file"]
    original = f.read_bytes()
    text = original.decode()
    n = text.count(b["old"])
    if n != 1:
        sys.exit(f"bug {b['id']}: the old text occurs {n} times in {b['file']} (needs exactly 1); "
                 "the code moved on: update scripts/probe_bugs.toml")
    return f, original, text.replace(b["old"], b["new"])


def run_one(b: dict, tests: list[str], timeout: float) -> dict:
    f, original, new = patched(b)
    t0 = time.perf_counter()
    try:
        f.write_text(new)
        try:
            p = subprocess.run(PYTEST + tests, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                               env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
            rc, tail = p.returncode, (p.stdout + p.stderr).strip().splitlines()[-3:]
        except subprocess.TimeoutExpired:
            rc, tail = -1, ["timeout"]
    finally:
        f.write_bytes(original)
    # 1: a test failed; 2: collection error (e.g. an import broke); -1: timeout (counted as caught,
    # as mutmut does); 0: every test passed, the bug survived; 5: no tests ran (a bad selection)
    caught = rc in (1, 2, -1)
    first_fail = next((line for line in tail if line.startswith("FAILED")), tail[-1] if tail else "")
    return {"id": b["id"], "group": b["group"], "origin": b.get("origin", "probe"), "caught": caught,
            "rc": rc, "seconds": round(time.perf_counter() - t0, 1), "means": b["means"],
            "equivalent": b.get("equivalent"), "evidence": first_fail[:200]}


def select(bugs: list[dict], names: list[str]) -> list[dict]:
    if not names:
        return bugs
    return [b for b in bugs if any(b["group"] == n or fnmatch.fnmatch(b["id"], n) for n in names)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="groups, bug ids or id globs (default: all)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--check", action="store_true", help="check each patch applies; run nothing")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args(argv)
    groups, bugs = load()
    chosen = select(bugs, args.names)
    if args.list or args.check:
        for b in chosen:
            if args.check:
                patched(b)
            print(f"{b['id']:28} {b['group']:16} {b.get('origin', 'probe'):6} {b['means']}")
        print(f"{len(chosen)} bugs" + (", every patch applies" if args.check else ""))
        return 0
    results, t0 = [], time.perf_counter()
    for b in chosen:
        r = run_one(b, groups[b["group"]], args.timeout)
        results.append(r)
        mark = "caught" if r["caught"] else ("missed (equivalent)" if r["equivalent"] else "MISSED")
        print(f"{mark:20} {r['id']:28} {r['seconds']:6.1f}s  {r['means']}", flush=True)
    wall = time.perf_counter() - t0
    print("\ngroup             caught / planted")
    for g in dict.fromkeys(r["group"] for r in results):
        rs = [r for r in results if r["group"] == g]
        print(f"{g:17} {sum(r['caught'] for r in rs):3} / {len(rs)}")
    caught = sum(r["caught"] for r in results)
    equiv = sum(1 for r in results if not r["caught"] and r["equivalent"])
    print(f"{'all':17} {caught:3} / {len(results)}  ({equiv} missed ones marked equivalent)   "
          f"{wall:.0f} s, load {Path('/proc/loadavg').read_text().split()[:3]}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "seconds": round(wall), "caught": caught,
                                         "planted": len(results)}, indent=1))
    return 0 if all(r["caught"] or r["equivalent"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
