"""policeapi.py's limits, fast: an in-process httpx.MockTransport answers from a script, every sleep
is recorded (never slept) and the token bucket runs on a fake clock (issue 14, second pass).

Expected values come from docs/fetch.md and the module docstring's stated policy, worked by hand:
at most 10 answers of 429 (the 11th gives up), Retry-After honoured and capped at 300 s, else
"equal jitter" back-off d / 2 + U(0, d / 2) with d = min(60, 1 * 2^k); timeouts, connection
errors, bad JSON and 5xx retried 5 times (6 attempts), then a one-line error; a 503 for a custom
area asks the caller to split it; GET up to 4,000 characters of URL, POST beyond; 12 requests/s."""

from __future__ import annotations

import email.utils
import json
import time
from urllib.parse import parse_qs

import httpx
import pytest

from saferhub import __version__
from saferhub.data import policeapi
from saferhub.data.policeapi import (ApiUnavailable, Cancelled, ClientStats, NotFound, PoliceAPI, TokenBucket,
                                     TooManyCrimes, describe, retry_after_seconds)
from saferhub.errors import SaferhubError

BASE = "http://api.test/api"


class Script:
    """Answers requests in order from `steps`: a (status, body, headers) tuple or an exception."""

    def __init__(self, *steps):
        self.steps = list(steps)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        status, body, headers = (step + ({},))[:3] if isinstance(step, tuple) else (200, step, {})
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return httpx.Response(status, content=content, headers=headers)


def _api(script, slept=None, **kw):
    kw.setdefault("rate", 1e9)
    return PoliceAPI(BASE + "/", transport=httpx.MockTransport(script),
                     sleep=(slept.append if slept is not None else (lambda s: None)), **kw)


@pytest.fixture
def jitter(monkeypatch):
    """Fix the random half of the back-off: 'low' -> d / 2, 'high' -> d."""
    def set_(which):
        monkeypatch.setattr(policeapi.random, "uniform", (lambda a, b: a) if which == "low" else (lambda a, b: b))
    return set_


def test_defaults_are_the_documented_limits():
    api = PoliceAPI()
    assert api.base_url == policeapi.DEFAULT_BASE_URL.rstrip("/")
    assert (api.max_retries, api.max_throttled) == (5, 10)
    assert (api.backoff, api.max_backoff, api.max_retry_after) == (1.0, 60.0, 300.0)
    assert (api.bucket.rate, api.bucket.burst) == (12.0, 1.0) and policeapi.DEFAULT_RATE == 12.0 < 15
    assert api._client.timeout == httpx.Timeout(30.0)
    assert api._client.headers["User-Agent"] == f"saferhub/{__version__} (saferhub fetch)"
    assert api._client.follow_redirects is True
    assert policeapi.MAX_GET_URL == 4000
    # the default sleep wakes up on cancel(): a 1000 s back-off ends at once
    api.cancel()
    t0 = time.monotonic()
    api._sleep(1000)
    api.bucket._sleep(1000)
    assert time.monotonic() - t0 < 1
    api.close()


def test_ok_answer_and_what_was_sent():
    s = Script((200, [{"date": "2024-01"}, "junk", {"date": "2023-12"}, {"x": 1}]))
    with _api(s) as api:
        assert api.available_months() == ["2024-01", "2023-12", "None"]
        assert api.stats.requests == 1 and api.stats.retries == 0 and api.stats.pauses == []
    (req,) = s.seen
    assert (req.method, str(req.url)) == ("GET", f"{BASE}/crimes-street-dates")
    assert api._client.is_closed  # __exit__ closed it
    # one slash between base and path, however either is written
    s = Script((200, []))
    with _api(s) as api:
        api.list_of("/crimes-no-location")
    assert str(s.seen[0].url) == f"{BASE}/crimes-no-location"
    for base, want in (("http://h.test/X", "http://h.test/X"), ("http://h.test/a///", "http://h.test/a")):
        assert PoliceAPI(base).base_url == want


def test_redirects_are_followed():
    s = Script((302, "", {"Location": f"{BASE}/moved"}), (200, [1]))
    with _api(s) as api:
        assert api.list_of("crimes-street-dates") == [1]
    assert [str(r.url) for r in s.seen] == [f"{BASE}/crimes-street-dates", f"{BASE}/moved"]


@pytest.mark.parametrize("which,share", [("low", 0.5), ("high", 1.0)])
def test_failures_are_retried_five_times_with_equal_jitter_back_off(jitter, which, share):
    jitter(which)
    s = Script((500, "x"), (502, "x"), httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), (200, "not json"),
               (200, {"date": "2024-02-29T10:00:00"}))
    slept = []
    with _api(s, slept) as api:
        assert api.last_updated() == "2024-02-29"
        assert {r.url.path for r in s.seen} == {"/api/crime-last-updated"}
        assert api.stats.requests == 6 and api.stats.retries == 5 and api.stats.throttled == 0
        want = [share * d for d in (1, 2, 4, 8, 16)]
        assert api.stats.pauses == pytest.approx(want) and slept == pytest.approx(want)
        assert api.stats.waited_s == pytest.approx(sum(want))


@pytest.mark.parametrize("problem,step", [
    ("HTTP 500", (500, "boom")), ("HTTP 503", (503, "")), ("HTTP 599", (599, "")), ("timed out", httpx.ConnectTimeout("t")),
    ("connection failed (ConnectError: refused)", httpx.ConnectError("refused")),
    ("the answer was not valid JSON", (200, "<html>")),
])
def test_the_sixth_failure_is_a_one_line_error(problem, step, jitter):
    jitter("high")
    s = Script(step)
    with _api(s) as api:
        with pytest.raises(ApiUnavailable) as e:
            api.list_of("crimes-street-dates")
        assert str(e.value) == (f"the police.uk API is unavailable: {BASE}/crimes-street-dates {problem} "
                                "(6 attempts); try again later")
        assert len(s.seen) == 6 and api.stats.retries == 5
        assert api.stats.pauses == [1, 2, 4, 8, 16]


def test_back_off_doubles_to_its_cap(jitter):
    jitter("high")
    with _api(Script((500, "")), max_retries=9, backoff=0.5, max_backoff=10.0) as api:
        with pytest.raises(ApiUnavailable, match=r"\(10 attempts\)"):
            api.list_of("x")
        assert api.stats.pauses == [0.5, 1, 2, 4, 8, 10, 10, 10, 10]
    assert [PoliceAPI._backoff_delay(api, k) for k in (0, 4, 5, 30)] == [0.5, 8, 10, 10]
    with _api(Script((500, "")), max_retries=0) as api:
        with pytest.raises(ApiUnavailable, match=r"\(1 attempts\)"):
            api.list_of("x")


def test_back_off_jitter_is_drawn_from_the_upper_half(monkeypatch):
    asked = []
    monkeypatch.setattr(policeapi.random, "uniform", lambda a, b: asked.append((a, b)) or (a + b) / 2)
    api = _api(Script((200, [])), backoff=2.0, max_backoff=100.0)
    assert api._backoff_delay(3) == 16 / 2 + 4 and asked == [(0, 8.0)]


def test_429_is_honoured_up_to_ten_times_and_not_counted_as_failures():
    s = Script(*[(429, "", {"Retry-After": "2"})] * 10, (200, []))
    slept = []
    with _api(s, slept, max_retries=0) as api:
        assert api.list_of("x") == []
        assert api.stats.throttled == 10 and api.stats.retries == 0 and api.stats.requests == 11
        assert api.stats.pauses == [2.0] * 10 and api.stats.waited_s == 20.0
    assert len(slept) == 10 and all(1.9 < x <= 2.0 for x in slept)  # the bucket's hold, slept before each retry
    s = Script((429, "", {"Retry-After": "0"}))
    with _api(s) as api:
        with pytest.raises(ApiUnavailable) as e:
            api.list_of("crimes-street-dates", {"date": "2024-01"})
        assert str(e.value) == (f"the police.uk API kept answering 429 (too many requests) for "
                                f"{BASE}/crimes-street-dates?date=2024-01; try again later")
        assert len(s.seen) == 11 and api.stats.throttled == 11


def test_retry_after_is_capped_and_missing_retry_after_backs_off(jitter):
    jitter("high")
    s = Script((429, "", {"Retry-After": "301"}), (429, "", {"Retry-After": "300"}), (429, ""), (429, "", {"Retry-After": "x"}),
               (200, []))
    with _api(s) as api:
        api.list_of("x")
        # no usable header for the 3rd and 4th 429: the back-off of the 3rd and 4th throttling, 2^2 and 2^3 s
        assert api.stats.pauses == [300.0, 300.0, 4.0, 8.0]
    s = Script((429, ""), (429, ""), (200, []))
    with _api(s, max_retry_after=1.5) as api:
        api.list_of("x")
        assert api.stats.pauses == [1.0, 1.5]
    with _api(Script((429, ""), (200, [])), max_throttled=0) as api:
        with pytest.raises(ApiUnavailable):
            api.list_of("x")


def test_429_pauses_every_thread_through_the_bucket():
    now = [100.0]
    s = Script((429, "", {"Retry-After": "30"}), (200, []))
    api = _api(s)
    api.bucket = TokenBucket(rate=1e9, clock=lambda: now[0], sleep=lambda x: now.__setitem__(0, now[0] + x))
    api.list_of("x")
    assert now[0] == pytest.approx(130.0)


@pytest.mark.parametrize("status,body,message", [
    (400, "bad  poly\nhere", "the police.uk API refused {url}: HTTP 400 (bad  poly here)"),
    (403, "", "the police.uk API refused {url}: HTTP 403"),
    (499, "x" * 300, "the police.uk API refused {url}: HTTP 499 (" + "x" * 200 + ")"),
    (418, "  \n ", "the police.uk API refused {url}: HTTP 418"),
])
def test_client_errors_are_not_retried(status, body, message):
    s = Script((status, body))
    with _api(s) as api:
        with pytest.raises(SaferhubError) as e:
            api.list_of("x")
        assert str(e.value) == message.format(url=f"{BASE}/x") and len(s.seen) == 1
        assert type(e.value) is SaferhubError


def test_404_and_503_for_an_area():
    with _api(Script((404, "no"))) as api:
        with pytest.raises(NotFound) as e:
            api.list_of("leics/xyz")
        assert e.value.url == f"{BASE}/leics/xyz"
        assert str(e.value) == f"the police.uk API has no such resource: {BASE}/leics/xyz (404)"
    s = Script((503, ""))
    with _api(s) as api:
        with pytest.raises(TooManyCrimes) as e:
            api.street_crimes("1,2:3,4:5,6", "2024-01")
        assert str(e.value) == f"{BASE}/crimes-street/all-crime?poly=<3 points>&date=2024-01" and len(s.seen) == 1
    assert not issubclass(TooManyCrimes, SaferhubError)


def test_endpoints_send_the_documented_parameters():
    s = Script((200, [{"id": "A1", "name": "a"}, {"name": "no id"}, "junk"]), (200, [{"latitude": "53.4", "longitude": -3}]),
               (200, [{"c": 1}]), (200, [{"c": 2}]))
    with _api(s) as api:
        assert api.neighbourhoods("merseyside") == [{"id": "A1", "name": "a"}]
        assert api.boundary("merseyside", "A1") == [(53.4, -3.0)]
        assert api.street_crimes("53.1,-3.1:53.2,-3.0:53.1,-2.9", "2024-01") == [{"c": 1}]
        assert api.crimes_no_location("merseyside", "2024-01") == [{"c": 2}]
    urls = [(r.method, r.url.path, parse_qs(r.url.query.decode())) for r in s.seen]
    assert urls == [
        ("GET", "/api/merseyside/neighbourhoods", {}),
        ("GET", "/api/merseyside/A1/boundary", {}),
        ("GET", "/api/crimes-street/all-crime", {"poly": ["53.1,-3.1:53.2,-3.0:53.1,-2.9"], "date": ["2024-01"]}),
        ("GET", "/api/crimes-no-location", {"category": ["all-crime"], "force": ["merseyside"], "date": ["2024-01"]}),
    ]


def test_unknown_force_and_unreadable_answers_are_one_line_errors():
    with _api(Script((404, ""))) as api:
        with pytest.raises(SaferhubError) as e:
            api.neighbourhoods("atlantis")
        assert str(e.value) == (f"unknown police force 'atlantis': {BASE}/atlantis/neighbourhoods answered 404 "
                                "(force ids are like 'merseyside', 'metropolitan', 'west-midlands')")
    for body in ([{"latitude": "x", "longitude": 1}], [{"lat": 1}], [5]):
        with _api(Script((200, body))) as api:
            with pytest.raises(SaferhubError) as e:
                api.boundary("merseyside", "A1")
            assert str(e.value) == f"the police.uk API gave an unreadable boundary for {BASE}/merseyside/A1/boundary"
    with _api(Script((200, {"a": 1}))) as api:
        with pytest.raises(SaferhubError) as e:
            api.list_of("crimes-street/all-crime", {"poly": "1,2:3,4", "date": "2024-01"})
        assert str(e.value) == (f"unexpected answer from the police.uk API for {BASE}/crimes-street/all-crime"
                                "?poly=<2 points>&date=2024-01: expected a list, got dict")


def _poly_of_length(n: int) -> str:
    """A poly string whose request URL (base + path + '?' + encoded params) is n characters long."""
    url = f"{BASE}/crimes-street/all-crime"
    fixed = len(url) + 1 + len("poly=") + len("&date=2024-01")
    digits = n - fixed
    return "1" * digits


@pytest.mark.parametrize("length,method", [(3999, "GET"), (4000, "GET"), (4001, "POST")])
def test_long_polygons_go_as_a_post_form(length, method):
    s = Script((200, []))
    poly = _poly_of_length(length)
    with _api(s) as api:
        api.street_crimes(poly, "2024-01")
    (req,) = s.seen
    assert req.method == method
    if method == "GET":
        assert len(str(req.url)) == length
    else:
        assert req.url.query == b"" and parse_qs(req.content.decode()) == {"poly": [poly], "date": ["2024-01"]}


def test_cancel_stops_before_sending_and_uncancel_resumes():
    s = Script((200, []))
    api = _api(s)
    api.cancel()
    with pytest.raises(Cancelled) as e:
        api.list_of("crimes-street/all-crime", {"poly": "1,2:3,4:5,6", "date": "2024-01"})
    assert str(e.value) == f"cancelled before {BASE}/crimes-street/all-crime?poly=<3 points>&date=2024-01"
    assert s.seen == [] and api.stats.requests == 0
    api.uncancel()
    assert api.list_of("x") == [] and len(s.seen) == 1
    api.close()


def test_cancel_during_retries_stops_the_next_attempt():
    s = Script((500, ""))
    api = _api(s)
    api._sleep = lambda seconds: api.cancel()  # Ctrl-C arrives during the first back-off
    api.bucket._sleep = api._sleep
    with pytest.raises(Cancelled):
        api.list_of("x")
    assert len(s.seen) == 1


def test_describe():
    assert describe(f"{BASE}/x", None) == f"{BASE}/x" and describe(f"{BASE}/x", {}) == f"{BASE}/x"
    assert describe(f"{BASE}/x", {"poly": "1,2", "date": "2024-01"}) == f"{BASE}/x?poly=<1 points>&date=2024-01"
    assert describe(f"{BASE}/x", {"force": "a b/c"}) == f"{BASE}/x?force=a b%2Fc"


def test_token_bucket_on_a_fake_clock():
    now, slept = [0.0], []

    def sleep(x):
        slept.append(x)
        now[0] += x

    b = TokenBucket(rate=10, burst=3, clock=lambda: now[0], sleep=sleep)
    assert [b.acquire() for _ in range(5)] == pytest.approx([0, 0, 0, 0.1, 0.1])
    assert now[0] == pytest.approx(0.2)
    now[0] += 10  # idle: the bucket refills to its burst, not beyond
    assert [b.acquire() for _ in range(4)] == pytest.approx([0, 0, 0, 0.1])
    b.hold(5.0)
    b.hold(1.0)  # a shorter hold does not shorten the longer one
    assert b.acquire() == pytest.approx(5.0)  # and the bucket refilled meanwhile: a burst follows
    assert [b.acquire() for _ in range(3)] == pytest.approx([0, 0, 0.1])
    assert slept == pytest.approx([0.1, 0.1, 0.1, 5.0, 0.1])
    fresh = TokenBucket(rate=10, burst=3, clock=lambda: now[0], sleep=sleep)
    assert fresh.acquire() == 0  # two tokens left ...
    fresh.hold(0.05)  # ... which a hold takes away: 0.05 s on hold, then half a token short
    assert fresh.acquire() == pytest.approx(0.1)
    with pytest.raises(ValueError, match="^rate must be positive$"):
        TokenBucket(rate=0)
    assert TokenBucket(rate=1e-9).rate == 1e-9
    default = TokenBucket()
    assert (default.rate, default.burst, default._clock, default._sleep) == (12.0, 1.0, time.monotonic, time.sleep)


def test_token_bucket_interleaved_callers_are_evenly_spaced():
    now = [50.0]
    b = TokenBucket(rate=4, burst=1, clock=lambda: now[0], sleep=lambda x: None)  # nobody actually waits
    waits = [b.acquire() for _ in range(4)]  # four threads arrive together
    assert waits == pytest.approx([0, 0.25, 0.5, 0.75])


def test_retry_after_values():
    assert retry_after_seconds(None) is None and retry_after_seconds("") is None
    assert retry_after_seconds(" 12 ") == 12.0 and retry_after_seconds("1.5") == 1.5
    assert retry_after_seconds("-5") == 0.0 and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 30) == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 + 30) == 0.0
    soon = email.utils.formatdate(time.time() + 100, usegmt=True)
    assert 98 <= retry_after_seconds(soon) <= 100
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00") is not None  # no zone: read as UTC


def test_client_stats_add():
    st = ClientStats()
    st.add(requests=2, retries=1)
    st.add(pause=1.5, throttled=1)
    st.add(pause=0.0)
    assert (st.requests, st.retries, st.throttled, st.waited_s, st.pauses) == (2, 1, 1, 1.5, [1.5, 0.0])
