"""The per-ingest point memo: answers exactly what its function would, computes each point once,
and stays consistent when two parsing threads fill it at once."""

from __future__ import annotations

import threading

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from saferhub.geo import pointmemo
from saferhub.geo.pointmemo import Memos, PointMemo, distinct_points


class Counting:
    """x, y -> (x * 2 + y, a label): computed directly, counting the points asked for."""

    def __init__(self):
        self.asked = []

    def __call__(self, points):
        self.asked.extend(points.tolist())
        return points.real * 2 + points.imag, np.array([f"{p.real:g}/{p.imag:g}" for p in points], dtype=object)


def _batch(draw_ints):
    lon = np.array([i % 7 for i in draw_ints], float)
    lat = np.array([i // 7 for i in draw_ints], float)
    return distinct_points(lon, lat)[1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 40), max_size=30), min_size=1, max_size=6))
def test_memo_answers_as_the_function_and_computes_each_point_once(batches):
    fn = Counting()
    memo = PointMemo(fn, (np.float64, object))
    for ints in batches:
        points = _batch(ints)
        value, label = memo(points)
        assert value.tolist() == (points.real * 2 + points.imag).tolist()
        assert label.tolist() == [f"{p.real:g}/{p.imag:g}" for p in points]
    everything = {complex(p) for ints in batches for p in _batch(ints)}
    assert sorted(fn.asked, key=lambda c: (c.real, c.imag)) == sorted(everything, key=lambda c: (c.real, c.imag))
    assert len(memo) == len(everything)


def test_distinct_points_skip_unlocated_rows_and_map_every_row_back():
    lon = np.array([1.0, np.nan, 1.0, 2.0, 2.0, -1.0])
    lat = np.array([5.0, 5.0, 5.0, 3.0, np.inf, 9.0])
    rows, points, inverse = distinct_points(lon, lat)
    assert rows.tolist() == [0, 2, 3, 5]
    assert points.tolist() == [-1 + 9j, 1 + 5j, 2 + 3j]          # sorted by x, then y
    assert (points[inverse] == lon[rows] + 1j * lat[rows]).all()


def test_two_threads_filling_one_memo_agree_and_keep_it_sorted():
    memo = PointMemo(lambda p: (p.real - p.imag,), (np.float64,))
    rng = np.random.default_rng(3)
    errors = []

    def work(seed):
        local = np.random.default_rng(seed)
        for _ in range(200):
            points = np.unique(local.integers(0, 500, 40) + 1j * local.integers(0, 3, 40))
            (got,) = memo(points)
            if not np.array_equal(got, points.real - points.imag):
                errors.append(seed)

    threads = [threading.Thread(target=work, args=(int(s),)) for s in rng.integers(0, 10**6, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = memo._state[0]
    assert not errors
    assert (np.diff(keys.real) >= 0).all() and len(np.unique(keys)) == len(keys)


def test_memo_stops_growing_at_its_cap_but_still_answers(monkeypatch):
    monkeypatch.setattr(pointmemo, "MAX_POINTS", 5)
    memo = PointMemo(lambda p: (p.real,), (np.float64,))
    memo(np.arange(8) + 0j)
    assert len(memo) == 8           # the first batch is kept whole; the cap stops the next ones
    (got,) = memo(np.arange(20, 30) + 0j)
    assert got.tolist() == list(range(20, 30)) and len(memo) == 8


def test_memos_make_each_memo_once_per_key():
    memos = Memos()
    made = []

    def make():
        made.append(1)
        return PointMemo(lambda p: (p.real,), (np.float64,))

    assert memos.get(("a", 1), make) is memos.get(("a", 1), make)
    assert memos.get(("a", 2), make) is not memos.get(("a", 1), make)
    assert len(made) == 2


def test_files_ingested_together_store_what_each_stores_alone(tmp_path):
    """Two months sharing most map points, with a far-away pile of points and 2021 LSOA codes:
    ingested in one run (the second file's points come from the memo) or each alone (every point
    computed afresh), the stored rows are the same."""
    import pyarrow.compute as pc

    from conftest import GEO
    from ingest_helpers import real_lines, write
    from saferhub.data.ingest import ingest_paths
    from saferhub.data.store import events, quarantine

    files = []
    for month in ("2018-01", "2018-02"):
        lines = real_lines(month, 400)
        lines += [",".join([f"far{month}{i}", month, "Merseyside Police", "Merseyside Police", "-0.1276",
                            "51.5072", "On or near X", "E01004736", "Westminster 018", "Burglary", "", ""])
                  for i in range(5)]
        lines[3] = lines[3].replace(lines[3].split(",")[7], "E01035320")   # a 2021-only Liverpool code
        files.append(write(tmp_path / f"{month}-merseyside-street.csv", lines))
    together = ingest_paths(files, store=tmp_path / "both", geo_dir=GEO)
    alone = [ingest_paths([f], store=tmp_path / f.stem, geo_dir=GEO) for f in files]
    both = events(tmp_path / "both").sort_by("event_id")
    each = [events(tmp_path / f.stem) for f in files]
    import pyarrow as pa

    assert both.equals(pa.concat_tables(each).sort_by("event_id"))
    assert both.num_rows == sum(r.rows_after for r in alone) == together.rows_after == 800
    assert pc.sum(pc.equal(both["lsoa_edition"], 2021)).as_py() == 2
    assert quarantine(tmp_path / "both").num_rows == 10
