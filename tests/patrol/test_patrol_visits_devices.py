"""A patrol's `devices` counts radios, not visits (issue 26, the planted-bug probe): one radio that
leaves and comes back while its partner stays is one radio, however many visits it made. Counted by
hand on spans that chain into one patrol visit."""

from __future__ import annotations

import pandas as pd

from saferhub.patrol.visits import patrol_visits


def _dv(rows):
    """rows: (device, area, start minute, end minute) from 10:00 UTC; the unseen time 2 min each side."""
    base = pd.Timestamp("2026-02-01 10:00", tz="UTC")
    m = lambda v: base + pd.Timedelta(minutes=v)  # noqa: E731
    return pd.DataFrame([{"device": d, "area_id": a, "start": m(s), "end": m(e), "earliest": m(s - 2),
                          "latest": m(e + 2), "simulated": False} for d, a, s, e in rows])


def test_a_radio_that_comes_back_is_one_device():
    # radio a: 0-20 and 30-50; radio b: 10-40 bridges them, so all three spans are one patrol visit
    pv = patrol_visits(_dv([("a", "A", 0, 20), ("a", "A", 30, 50), ("b", "A", 10, 40),
                            ("c", "B", 0, 10), ("c", "B", 5, 15), ("c", "B", 12, 30)]))
    assert pv["area_id"].tolist() == ["A", "B"]
    assert pv["devices"].tolist() == [2, 1]
    assert pv["minutes_min"].tolist() == [50.0, 30.0] and pv["minutes_max"].tolist() == [54.0, 34.0]
