"""A closed loop driven by wrk (Debian's `wrk`), for bench_hub.py: the Python client costs the
machine ~1-2 ms of CPU a request, as much as the hub itself, so on 2 cores it hides the server's
saturation; wrk's C client costs a few microseconds. Each request carries the next of the given
tokens (round robin) and an X-Purpose header, like the Python clients'."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

SCRIPT = """
local tokens = {%(tokens)s}
local i = 0
request = function()
  i = i + 1
  local h = {["X-Purpose"] = "benchmark"}
  if #tokens > 0 then h["Authorization"] = "Bearer " .. tokens[(i %% #tokens) + 1] end
  return wrk.format("GET", "%(path)s", h)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %%d %%d %%d %%d %%.3f %%.3f\\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def closed_loop(base: str, path: str, tokens: list[str], connections: int, seconds: float) -> dict:
    """{"rps", "p50", "p95" (ms), "n", "bad" (non-2xx or socket errors)} of `seconds` of wrk."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
        f.write(SCRIPT % {"tokens": ", ".join(f'"{t}"' for t in tokens), "path": path})
        f.flush()
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "60s",
                              "-s", f.name, base], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    n, micros, status, sock, p50, p95 = line.split()[1:]
    return {"n": int(n), "rps": int(n) / (int(micros) / 1e6), "p50": float(p50), "p95": float(p95),
            "bad": int(status) + int(sock)}
