"""Hypothesis: hostile rows (and mixtures of them) written into otherwise valid real monthly
files. The generator tracks, independently of the reader, the physical line each record starts on
and its exact text, and what must become of it. Always: read = stored + quarantined; quarantine
lines and raw text exact; duplicated Crime IDs stored and warned; no traceback on any stream; a
rejected file leaves the store exactly as it was."""

from __future__ import annotations

import gzip
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import GEO
from ingest_helpers import HEADER, real_lines, store_fingerprint, street_row
from saferhub.data import events
from saferhub.data.ingest import IngestError, ingest_paths
from saferhub.data.store import quarantine, warnings

REAL = real_lines("2018-01", 400)
# Characters that end a line for Python's str.splitlines() but not for a CSV reader, and real breaks.
SEPARATORS = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\u2028", "\u2029", "\x85", "\x1c"]
DUP_ID = "d" * 64


def _quoted(sep: str) -> str:
    return f'"On or near{sep}Bold, Street"'


# (record text, fate, crime id) with fate in stored | quarantined | blank | bad-utf8
CASES = {
    "real": st.sampled_from(REAL).map(lambda ln: (ln, "stored", ln.split(",")[0])),
    "good_multiline": st.sampled_from(SEPARATORS).map(
        lambda s: (street_row().replace("On or near Bold Street", _quoted(s)), "stored", "")),
    "bad_multiline": st.sampled_from(SEPARATORS).map(
        lambda s: (street_row(ctype="Nonsense").replace("On or near Bold Street", _quoted(s)), "quarantined", "")),
    "context_newline": st.sampled_from(SEPARATORS).map(
        lambda s: (street_row() + f'"seen{s}twice ""here"""', "stored", "")),
    "mid_field_quote": st.sampled_from(['On or near "Bold" Street', 'On or near Bold" Street', 'x""y']).map(
        lambda loc: (street_row(location=loc), "stored", "")),
    "commas": st.sampled_from([",,,,,,,,,,,"]).map(lambda t: (t, "quarantined", "")),
    "blank": st.just(("", "blank", "")),
    "spaces": st.just(("   ", "quarantined", "")),
    "wrong_columns": st.sampled_from(["x,y", '"a\nb",c', ",,,"]).map(lambda t: (t, "quarantined", "")),
    "nul": st.just((street_row(location="On or\x00near Bold Street"), "quarantined", "")),
    "other_force": st.just((street_row(force="Cheshire Constabulary"), "quarantined", "")),
    "far_away": st.just((street_row(lon="-0.127600", lat="51.507200"), "quarantined", "")),
    "duplicate_id": st.sampled_from(["Hope", "Duke"]).map(
        lambda s: (street_row(crime_id=DUP_ID, ctype="Burglary", location=f"On or near {s} Street"), "stored", DUP_ID)),
}
record = st.one_of(*CASES.values())


def _build(records, newline: str, final_newline: bool) -> tuple[bytes, list[tuple[int, str, str, str]]]:
    """The file's bytes and, per record, (first physical line, text, fate, crime id)."""
    out, line = [], 2
    for text, fate, cid in records:
        out.append((line, text, fate, cid))
        line += 1 + len(re.findall(r"\r\n|\r|\n", text))
    body = newline.join([HEADER, *(t for _, t, _, _ in out)]) + (newline if final_newline else "")
    return body.encode("utf-8", errors="surrogateescape"), out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(record, min_size=1, max_size=30), newline=st.sampled_from(["\n", "\r\n", "\r"]),
       final_newline=st.booleans(), bad_utf8_at=st.one_of(st.none(), st.integers(0, 29)), gz=st.booleans())
def test_hostile_rows_in_real_files(records, newline, final_newline, bad_utf8_at, gz, capfd, monkeypatch):
    records = [*records, *((ln, "stored", ln.split(",")[0]) for ln in REAL[:20])]   # real rows around them
    bad_line = None
    if bad_utf8_at is not None and bad_utf8_at < len(records):   # a byte that is not UTF-8
        text, fate, cid = records[bad_utf8_at]
        records[bad_utf8_at] = (text[:1] + "\udcff" + text[1:], fate, cid)
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    data, located = _build(records, newline, final_newline)
    if bad_utf8_at is not None and bad_utf8_at < len(records):
        bad_line = located[bad_utf8_at][0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = tmp / "s"
        seed = tmp / "seed" / "2018-02-merseyside-street.csv"
        seed.parent.mkdir()
        seed.write_text(HEADER + "\n" + street_row(month="2018-02") + "\n")
        ingest_paths([seed], store=store)
        before = store_fingerprint(store)
        path = tmp / ("2018-01-merseyside-street.csv" + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(data) if gz else data)
        try:
            report = ingest_paths([path], store=store, geo_dir=GEO)
        except IngestError as exc:
            assert bad_line is not None, str(exc)
            assert str(exc) == (f"{path}: not UTF-8 text (first bad byte on line {bad_line}); re-save it as UTF-8; "
                                "nothing was stored (the store is unchanged)")
            assert store_fingerprint(store) == before
            _no_traceback(capfd, unraisable)
            return
        assert bad_line is None
        stored = [r for r in located if r[2] == "stored"]
        bad = sorted((line, text) for line, text, fate, _ in located if fate == "quarantined")
        (f,) = report.files
        assert f.read == f.stored + f.quarantined == len(stored) + len(bad)
        assert f.stored == len(stored)
        q = quarantine(store)
        assert sorted(zip(q["line"].to_pylist(), q["raw"].to_pylist())) == bad
        reasons = dict(zip(q["line"].to_pylist(), q["reason"].to_pylist()))
        for line, text, fate, _ in located:
            if text == ",,,,,,,,,,,":
                assert reasons[line] == "no values (the row holds only commas)"
            elif "\x00" in text:
                assert reasons[line] == "contains a NUL byte (binary data)"
        ids = Counter(cid for _, _, _, cid in stored if cid)
        assert f.warnings == sum(n - 1 for n in ids.values()) == warnings(store).num_rows
        t = events(store, months="2018-01", columns=["event_id"])
        assert t.num_rows == len(stored) and len(set(t["event_id"].to_pylist())) == len(stored)
        assert events(store, months="2018-02").num_rows == 1
        _no_traceback(capfd, unraisable)


def _no_traceback(capfd, unraisable) -> None:
    out, err = capfd.readouterr()
    assert not unraisable
    assert "Traceback" not in out + err and "Exception ignored" not in out + err
