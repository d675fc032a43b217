"""The police.uk client's limits against tests/fake_police_api.py: how many 429s and 5xx answers
it tolerates before giving up (exactly), the cap on a server's Retry-After, and the exponential
back-off's bounds (pinned exactly by fixing the jitter at its two extremes)."""

from __future__ import annotations

import pytest
from fake_police_api import FakePoliceAPI, world

from saferhub.data import policeapi
from saferhub.data.policeapi import ApiUnavailable, PoliceAPI


@pytest.fixture(scope="module")
def synthetic():
    return world(("2023-01",))


def _server(synthetic, **kw):
    hoods, crimes, _ = synthetic
    return FakePoliceAPI(hoods, crimes, rate_limit=None, **kw)


def _api(base, asked, **kw):
    kw.setdefault("rate", 1000.0)
    return PoliceAPI(base, sleep=asked.append, **kw)  # pauses are recorded, never slept


@pytest.mark.parametrize("throttled,ok", [(10, True), (11, False)])
def test_default_tolerates_exactly_ten_429s(synthetic, throttled, ok):
    server = _server(synthetic, throttle_first=throttled, retry_after="0")
    asked: list = []
    with server as base, _api(base, asked) as api:
        if ok:
            assert api.available_months() == ["2023-01"]
            assert api.stats.throttled == 10
        else:
            with pytest.raises(ApiUnavailable, match=r"kept answering 429 \(too many requests\) for "
                                                     r"http://.*/crimes-street-dates; try again later"):
                api.available_months()
    assert len(server.log) == 11  # ten 429s then the answer, or eleven 429s and give up


def test_max_throttled_is_honoured(synthetic):
    server = _server(synthetic, throttle_first=50, retry_after="0")
    with server as base, _api(base, [], max_throttled=3) as api:
        with pytest.raises(ApiUnavailable):
            api.available_months()
        assert api.stats.throttled == 4
    assert len(server.log) == 4


@pytest.mark.parametrize("cap,want", [(None, 300.0), (7.5, 7.5)])
def test_a_long_retry_after_is_capped(synthetic, cap, want):
    kw = {} if cap is None else {"max_retry_after": cap}
    with _server(synthetic, throttle_first=2, retry_after="3600") as base, _api(base, [], **kw) as api:
        assert api.available_months() == ["2023-01"]
        assert api.stats.pauses == [want, want]
        assert api.stats.waited_s == pytest.approx(2 * want)


def test_a_short_retry_after_is_used_as_given(synthetic):
    with _server(synthetic, throttle_first=1, retry_after="2") as base, _api(base, []) as api:
        api.available_months()
        assert api.stats.pauses == [2.0]


@pytest.mark.parametrize("jitter,share", [("low", 0.5), ("high", 1.0)])
def test_429_back_off_doubles_up_to_the_cap(synthetic, monkeypatch, jitter, share):
    # equal jitter: d / 2 + uniform(0, d / 2), d = min(max_backoff, backoff * 2^k)
    monkeypatch.setattr(policeapi.random, "uniform", (lambda a, b: a) if jitter == "low" else (lambda a, b: b))
    with _server(synthetic, throttle_first=6, retry_after=None) as base, \
            _api(base, [], backoff=0.5, max_backoff=3.0) as api:
        api.available_months()
        assert api.stats.pauses == pytest.approx([share * d for d in (0.5, 1.0, 2.0, 3.0, 3.0, 3.0)])


@pytest.mark.parametrize("retries", [None, 2])
def test_server_errors_are_retried_exactly_max_retries_times(synthetic, monkeypatch, retries):
    monkeypatch.setattr(policeapi.random, "uniform", lambda a, b: b)
    kw = {} if retries is None else {"max_retries": retries}
    n = 5 if retries is None else retries  # the default is 5 retries
    asked: list = []
    server = _server(synthetic, down=503)
    with server as base, _api(base, asked, backoff=1.0, max_backoff=8.0, **kw) as api:
        with pytest.raises(ApiUnavailable, match=rf"HTTP 503 \({n + 1} attempts\); try again later$"):
            api.available_months()
        assert api.stats.retries == n
        assert api.stats.pauses == pytest.approx([min(8.0, 2.0**k) for k in range(n)])
    assert len(server.log) == n + 1
    assert [s for s in asked if s >= 0.5] == pytest.approx([min(8.0, 2.0**k) for k in range(n)])  # waited
