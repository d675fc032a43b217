"""A polite, robust HTTP client for the data.police.uk API (https://data.police.uk/docs/).

Why a client of our own: the API allows about 15 requests/s (burst 30) and answers 429 beyond
that (docs: "API call limits"); it answers 503 when a custom area holds more than 10,000 crimes
(docs: "Street-level crimes"); and like any public service it has bad minutes. So every request
goes through one token bucket shared by all threads, 429s are honoured (Retry-After, else
exponential back-off with jitter, and the whole client pauses, not just the thread that was told),
timeouts / connection errors / 5xx are retried a bounded number of times, and what is still
failing becomes a one-line SaferhubError naming the URL.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import quote, urlencode

import httpx

from saferhub import __version__
from saferhub.config import DEFAULT_POLICE_API
from saferhub.errors import SaferhubError

DEFAULT_BASE_URL = DEFAULT_POLICE_API
# The documented limit is 15 requests/s; we stay under it with a margin because the server counts
# arrival times, and network and thread-scheduling jitter can bunch evenly spaced requests up.
DEFAULT_RATE = 12.0
# Longest URL we send as GET; longer polygons go as a POST form (the API accepts both, and
# documents ~4,094 characters as the GET limit).
MAX_GET_URL = 4000


class TooManyCrimes(Exception):
    """The API's 503 for a custom area holding over 10,000 crimes: split the area and ask again."""


class NotFound(SaferhubError):
    """404 from the API (an unknown force or neighbourhood id)."""

    def __init__(self, url: str):
        self.url = url
        super().__init__(f"the police.uk API has no such resource: {url} (404)")


class ApiUnavailable(SaferhubError):
    """The API kept failing after every retry."""


class Cancelled(SaferhubError):
    """The fetch was stopped (an error elsewhere, or Ctrl-C) while this request waited."""


@dataclass
class ClientStats:
    requests: int = 0        # HTTP requests sent (each attempt counts)
    retries: int = 0         # attempts repeated after a timeout, connection error or 5xx
    throttled: int = 0       # 429 answers
    waited_s: float = 0.0    # time spent in back-off and Retry-After pauses
    pauses: list = field(default_factory=list)   # each back-off / Retry-After pause chosen, seconds
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, pause: float | None = None, **kw) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)
            if pause is not None:
                self.waited_s += pause
                self.pauses.append(pause)


class TokenBucket:
    """At most `rate` requests per second on average, at most `burst` at once; thread-safe.

    A caller that finds the bucket empty reserves the next token (the count goes negative) and
    sleeps outside the lock until it is due, so concurrent callers queue up evenly spaced.
    `hold(seconds)` pauses everyone, which is what a 429's Retry-After asks of a client.
    """

    def __init__(self, rate: float = DEFAULT_RATE, burst: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._last = clock()
        self._not_before = self._last

    def acquire(self) -> float:
        """Take one token, sleeping as needed; returns the time slept."""
        with self._lock:
            now = self._clock()
            start = max(now, self._not_before, self._last)
            self._tokens = min(self.burst, self._tokens + (start - self._last) * self.rate)
            self._last = start
            self._tokens -= 1.0
            wait = (start - now) + max(0.0, -self._tokens) / self.rate
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def hold(self, seconds: float) -> None:
        """Let no request start for `seconds` from now."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + seconds)
            self._tokens = min(self._tokens, 0.0)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 10.2.3); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def describe(url: str, params: dict | None) -> str:
    """The URL for messages, with a polygon shortened to its point count."""
    if not params:
        return url
    shown = {k: (f"<{v.count(':') + 1} points>" if k == "poly" else v) for k, v in params.items()}
    # quote, not urlencode's default quote_plus, which turns the spaces `safe` keeps into '+'
    return f"{url}?{urlencode(shown, safe='<>:, ', quote_via=quote)}"


class PoliceAPI:
    """data.police.uk endpoints the fetcher needs. Thread-safe (one httpx.Client, one bucket).

    sleep: used for back-off, Retry-After and rate pauses (tests inject a fast one).
    """

    def __init__(self, base_url: str = DEFAULT_BASE_URL, *, rate: float = DEFAULT_RATE,
                 timeout: float = 30.0, max_retries: int = 5, max_throttled: int = 10,
                 backoff: float = 1.0, max_backoff: float = 60.0, max_retry_after: float = 300.0,
                 sleep: Callable[[float], None] = time.sleep, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.max_throttled = max_throttled
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self._stop = threading.Event()
        # The default sleep wakes up on cancel(), so Ctrl-C does not wait out a long back-off.
        self._sleep = self._stop.wait if sleep is time.sleep else sleep
        self.bucket = TokenBucket(rate, sleep=self._sleep)
        self.stats = ClientStats()
        self._client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=True,
                                    headers={"User-Agent": f"saferhub/{__version__} (saferhub fetch)"})

    def close(self) -> None:
        self._client.close()

    def cancel(self) -> None:
        """Make every waiting or retrying request stop with `Cancelled` (other threads included)."""
        self._stop.set()

    def uncancel(self) -> None:
        self._stop.clear()

    def __enter__(self) -> "PoliceAPI":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def _backoff_delay(self, attempt: int) -> float:
        """Exponential back-off with 'equal jitter': half fixed, half random (AWS architecture blog)."""
        d = min(self.max_backoff, self.backoff * 2 ** attempt)
        return d / 2 + random.uniform(0, d / 2)

    def _pause(self, seconds: float) -> None:
        self.stats.add(pause=seconds)
        self._sleep(seconds)

    def request(self, path: str, params: dict | None = None, *, split_on_503: bool = False):
        """GET (or POST for a long polygon) `path` and return the decoded JSON."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        shown = describe(url, params)
        use_post = bool(params) and len(url) + len(urlencode(params)) + 1 > MAX_GET_URL
        failures = throttled = 0
        while True:
            self.bucket.acquire()
            if self._stop.is_set():
                raise Cancelled(f"cancelled before {shown}")
            self.stats.add(requests=1)
            problem = None
            try:
                if use_post:
                    resp = self._client.post(url, data=params)
                else:
                    resp = self._client.get(url, params=params)
            except httpx.TimeoutException:
                problem = "timed out"
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__}: {exc})"
            else:
                status = resp.status_code
                if status == 200:
                    try:
                        return resp.json()
                    except ValueError:
                        problem = "the answer was not valid JSON"
                elif status == 429:
                    throttled += 1
                    self.stats.add(throttled=1)
                    if throttled > self.max_throttled:
                        raise ApiUnavailable(f"the police.uk API kept answering 429 (too many requests) "
                                             f"for {shown}; try again later")
                    delay = retry_after_seconds(resp.headers.get("Retry-After"))
                    if delay is None:
                        delay = self._backoff_delay(throttled - 1)
                    delay = min(delay, self.max_retry_after)
                    self.stats.add(pause=delay)
                    self.bucket.hold(delay)   # everyone waits, not just this thread
                    continue
                elif status == 503 and split_on_503:
                    raise TooManyCrimes(shown)
                elif status == 404:
                    raise NotFound(shown)
                elif status >= 500:
                    problem = f"HTTP {status}"
                else:
                    body = resp.text.strip().replace("\n", " ")[:200]
                    raise SaferhubError(f"the police.uk API refused {shown}: HTTP {status}"
                                        + (f" ({body})" if body else ""))
            failures += 1
            if failures > self.max_retries:
                raise ApiUnavailable(f"the police.uk API is unavailable: {shown} {problem} "
                                     f"({failures} attempts); try again later")
            self.stats.add(retries=1)
            self._pause(self._backoff_delay(failures - 1))

    # -- endpoints ---------------------------------------------------------------------------

    def list_of(self, path: str, params: dict | None = None, **kw) -> list:
        """`request` for endpoints that answer a JSON list; anything else is a clear error."""
        out = self.request(path, params, **kw)
        if not isinstance(out, list):
            raise SaferhubError(f"unexpected answer from the police.uk API for "
                                f"{describe(self.base_url + '/' + path, params)}: expected a list, got {type(out).__name__}")
        return out

    def available_months(self) -> list[str]:
        """Months the API serves street crimes for ('YYYY-MM', newest first as the API lists them)."""
        return [str(d.get("date")) for d in self.list_of("crimes-street-dates") if isinstance(d, dict)]

    def last_updated(self) -> str:
        """The date the API's crime data was last updated ('YYYY-MM-DD')."""
        return str(self.request("crime-last-updated")["date"])[:10]

    def neighbourhoods(self, force: str) -> list[dict]:
        try:
            return [h for h in self.list_of(f"{force}/neighbourhoods") if isinstance(h, dict) and "id" in h]
        except NotFound as exc:
            raise SaferhubError(f"unknown police force {force!r}: {exc.url} answered 404 "
                                "(force ids are like 'merseyside', 'metropolitan', 'west-midlands')") from None

    def boundary(self, force: str, hood: str) -> list[tuple[float, float]]:
        """A neighbourhood's boundary as (lat, lon) pairs."""
        try:
            return [(float(p["latitude"]), float(p["longitude"])) for p in self.list_of(f"{force}/{hood}/boundary")]
        except (TypeError, KeyError, ValueError):
            raise SaferhubError(f"the police.uk API gave an unreadable boundary for {self.base_url}/{force}/{hood}/boundary") from None

    def street_crimes(self, poly: str, month: str) -> list[dict]:
        """All street crimes in a polygon ('lat,lng:lat,lng:...') in a month; TooManyCrimes on 503."""
        return self.list_of("crimes-street/all-crime", {"poly": poly, "date": month}, split_on_503=True)

    def crimes_no_location(self, force: str, month: str) -> list[dict]:
        return self.list_of("crimes-no-location", {"category": "all-crime", "force": force, "date": month})
