"""Read one CSV's bytes into string columns, never losing a row, and knowing where each came from.

Every record (row) is located in the file's bytes: its first *physical* line (lines end at \\n,
\\r\\n or a lone \\r, as the CSV parser reads them; a vertical tab, form feed or U+2028 inside a
field ends nothing) and its own raw text, even when a quoted field spans lines. Rows with the
wrong number of fields, rows of commas only, and rows holding a NUL byte come back with a reason
for the quarantine; blank lines are not rows.
"""

from __future__ import annotations

import codecs
import functools
import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from saferhub.errors import BadFileError, SaferhubError

UTF8_CHUNK = 16 * 2**20   # UTF-8 is checked in slices, so a large file never has a second copy


@dataclass
class Records:
    """Where each record lies in the bytes: [starts[k], ends[k]) without its line break; record 0
    is the header. `line_ends` are the offsets just past every line break of the file."""

    data: bytes
    starts: np.ndarray
    ends: np.ndarray
    line_ends: np.ndarray

    def line_of(self, offsets) -> np.ndarray:
        """Physical line number (1-based) of byte offsets."""
        return np.searchsorted(self.line_ends, offsets, side="right") + 1

    def text(self, k: int) -> str:
        return self.data[self.starts[k]:self.ends[k]].decode("utf-8-sig" if k == 0 else "utf-8", errors="replace")


@dataclass
class RawTable:
    header: list[str]
    table: pa.Table          # all columns as strings, blank lines dropped
    lines: np.ndarray        # physical line on which each row of `table` starts (header is line 1)
    bad_rows: list[tuple[int, str, str]]   # (line, reason, raw text) of rows that are not rows
    data: bytes
    row_record: np.ndarray   # record number of each row of `table`
    row_flags: np.ndarray    # per row of `table`: a reason found while reading (NUL byte, only commas) or None

    @functools.cached_property
    def records(self) -> Records:
        """Where each record lies (found only when needed: bad rows, warnings)."""
        return find_records(self.data)

    def row_reasons(self) -> np.ndarray:
        """A fresh per-row reason array, pre-filled with the reasons found while reading."""
        return self.row_flags.copy()

    def raw_of_rows(self, rows) -> list[str]:
        """The raw text of the given rows of `table` (for the quarantine)."""
        return [self.records.text(int(self.row_record[i])) for i in rows]


def _line_breaks(arr: np.ndarray, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) offsets of every line break: \\n, \\r\\n (one break) or a lone \\r."""
    nl = np.flatnonzero(arr == 10)
    if b"\r" not in data:
        return nl, nl + 1
    cr = np.flatnonzero(arr == 13)
    crlf = (cr + 1 < len(arr)) & (arr[np.minimum(cr + 1, len(arr) - 1)] == 10)
    lone = cr[~crlf]
    nl_start = np.where((nl > 0) & (arr[np.maximum(nl - 1, 0)] == 13), nl - 1, nl)
    order = np.argsort(np.r_[nl, lone], kind="stable")
    return np.r_[nl_start, lone][order], np.r_[nl + 1, lone + 1][order]


def _quoted_records(arr: np.ndarray, brk_start: np.ndarray, brk_end: np.ndarray) -> np.ndarray:
    """Indices of the line breaks that end a record when fields may be quoted. The parser's rule:
    a quote opens a quoted field only at the start of a field; inside one, "" is a quote and a
    lone " closes it; elsewhere a quote is an ordinary character."""
    quotes = np.flatnonzero(arr == 34)
    events = np.r_[quotes, brk_start]
    kinds = np.r_[np.zeros(len(quotes), np.int8), np.ones(len(brk_start), np.int8)]
    order = np.argsort(events, kind="stable")
    ending, quoted, skip = [], False, -1
    record_start = 0
    data = arr
    for pos, kind, idx in zip(events[order].tolist(), kinds[order].tolist(), order.tolist()):
        if kind == 1:
            if not quoted:
                b = idx - len(quotes)
                ending.append(b)
                record_start = int(brk_end[b])
            continue
        if pos == skip:
            continue
        if quoted:
            if pos + 1 < len(data) and data[pos + 1] == 34:
                skip = pos + 1       # "" inside a quoted field
            else:
                quoted = False
        elif pos == record_start or data[pos - 1] == 44:
            quoted = True
    return np.asarray(ending, dtype=np.int64)


def find_records(data: bytes) -> Records:
    arr = np.frombuffer(data, dtype=np.uint8)
    brk_start, brk_end = _line_breaks(arr, data)
    ending = _quoted_records(arr, brk_start, brk_end) if b'"' in data else np.arange(len(brk_start))
    starts = np.r_[0, brk_end[ending]]
    ends = np.r_[brk_start[ending], len(data)]
    if starts[-1] >= len(data):   # the file ends with a line break: no record after it
        starts, ends = starts[:-1], ends[:-1]
    return Records(data, starts.astype(np.int64), ends.astype(np.int64), brk_end)


def _check_utf8(name: str, data: bytes, raw: RawTable) -> None:
    """Reject text that is not UTF-8, naming the physical line of the first bad byte. Checked
    before parsing, so the CSV reader never meets undecodable text."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for offset in range(0, len(data), UTF8_CHUNK):
        pending = len(decoder.getstate()[0])   # bytes of a character cut by the previous slice
        try:
            decoder.decode(data[offset:offset + UTF8_CHUNK], final=offset + UTF8_CHUNK >= len(data))
        except UnicodeDecodeError as exc:
            bad = offset - pending + exc.start
            raise BadFileError(name, f"not UTF-8 text (first bad byte on line {int(raw.records.line_of(bad))}); "
                                     "re-save it as UTF-8") from None


def decode_check(name: str, data: bytes) -> str:
    """The header line, after checking the file is non-empty text with a UTF-8 first line."""
    if not data or data.isspace():
        raise BadFileError(name, "empty file")
    head = data[:65536]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):   # Excel's "Unicode text" export
        raise BadFileError(name, "UTF-16 text, not UTF-8; re-save it as CSV UTF-8")
    first = re.split(rb"\r\n|\r|\n", head, maxsplit=1)[0]   # \r\n, \n or a lone \r end a line
    if b"\x00" in first:
        raise BadFileError(name, "not a CSV file (binary data)")
    try:
        return first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadFileError(name, "not UTF-8 text (first bad byte on line 1); re-save it as UTF-8") from None


def read_strings(name: str, data: bytes, header_line: str) -> RawTable:
    try:
        header = next(csv.reader([header_line]))
    except (csv.Error, StopIteration) as exc:
        raise BadFileError(name, f"unreadable header line ({exc})") from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise BadFileError(name, "the header repeats a column name")
    # One record per line unless a quote or a lone \r is present: then records are found by
    # scanning, now (the usual file skips this and only finds a record when it needs one).
    arr = np.frombuffer(data, dtype=np.uint8)
    quoted = b'"' in data
    raw = RawTable(header, None, None, [], data, None, None)
    if not data.isascii():
        _check_utf8(name, data, raw)
    # Without quotes, a record is a line unless some \r stands alone (the parser ends a record
    # there too, so it then reads more records than there are \n): counting first and checking
    # after costs one scan, where looking for a lone \r first cost three.
    simple = not quoted
    n_records = int(np.count_nonzero(arr == 10)) + (not data.endswith(b"\n")) - 1 if simple \
        else len(raw.records.starts) - 1
    bad: list[tuple[int, int]] = []

    def on_invalid(row):
        bad.append((row.number, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),   # zero-copy, and read without the GIL
            read_options=pacsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1,
                                           block_size=1 << 24),
            # Without a quote no value can hold a line break: the faster parser then gives the same rows.
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, ignore_empty_lines=False,
                                             newlines_in_values=quoted),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False,
                                                 check_utf8=False),   # checked above
        )
    except pa.ArrowInvalid as exc:
        raise BadFileError(name, f"not a readable CSV ({str(exc).splitlines()[0]})") from None
    if simple and table.num_rows + len(bad) != n_records:   # a lone \r: find records by scanning
        simple = False
        n_records = len(raw.records.starts) - 1
    if table.num_rows + len(bad) != n_records:
        raise BadFileError(name, f"its rows cannot be told apart ({n_records:,} records by line breaks and "
                                 f"quotes, {table.num_rows + len(bad):,} by the CSV reader); check its quotes")
    # The reader numbers records from 1 = the header, so its numbers are record numbers.
    bad_rec = np.array([b[0] - 1 for b in bad], dtype=np.int64)
    row_record = np.setdiff1d(np.arange(1, n_records + 1), bad_rec, assume_unique=True) if bad else \
        np.arange(1, n_records + 1)

    def line_of(rec):
        return rec + 1 if simple else raw.records.line_of(raw.records.starts[rec])

    raw.bad_rows = [(int(line_of(r)), f"wrong column count (got {got}, expected {len(header)})",
                     raw.records.text(int(r))) for r, (_, got) in zip(bad_rec, bad)]
    flags = np.full(table.num_rows, None, dtype=object)
    if b"\x00" in data:
        nul = np.flatnonzero(np.frombuffer(data, np.uint8) == 0)
        nul_rec = np.searchsorted(raw.records.starts, nul, side="right") - 1
        flags[np.isin(row_record, nul_rec)] = "contains a NUL byte (binary data)"
    # Rows whose every field is empty: a blank line is not a row; a row of commas is a bad row.
    empty = _all_empty(table)
    if empty is not None:
        blank = empty & (raw.records.ends[row_record] == raw.records.starts[row_record])
        flags[empty & ~blank] = "no values (the row holds only commas)"
        if blank.any():
            table = table.filter(pa.array(~blank))
            row_record, flags = row_record[~blank], flags[~blank]
    raw.table, raw.lines, raw.row_record, raw.row_flags = table, line_of(row_record), row_record, flags
    return raw


def as_array(col) -> pa.Array:
    """One Arrow array from a column, without copying when it is one chunk (combine_chunks
    always copies)."""
    if isinstance(col, pa.ChunkedArray):
        return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    return col


def _all_empty(table: pa.Table) -> np.ndarray | None:
    """Bool per row: every field empty; None when no row is (the usual case, checked cheaply)."""
    if not (table.num_rows and table.num_columns):
        return None
    blank = None
    for col in table.columns:   # stops at the first column with no empty value
        empty = pc.equal(col, "")
        blank = empty if blank is None else pc.and_(blank, empty)
        if not pc.any(blank).as_py():
            return None
    return blank.to_numpy(zero_copy_only=False)


def read_file(path) -> bytes:
    """A file named by a user, read like every ingested file: regular files only, up to the cap on
    one file, a .gz expanded under the caps."""
    from saferhub.data.sources import Limits, Member

    path = Path(path)
    if not path.is_file():
        raise SaferhubError(f"{path}: " + ("no such file" if not path.exists() else "not a regular file"))
    return Member(str(path), path, None, "").read(Limits.from_settings())[0]


def read_small_table(path, data: bytes | None = None):
    """A user's small CSV (patrol notes, visit logs) as (DataFrame of text, physical line of each
    row). These imports stop at the first bad row, so a row the reader cannot take is a
    BadFileError naming its physical line. data: the file's bytes, if already read."""
    import pandas as pd

    data = read_file(path) if data is None else data
    raw = read_strings(str(path), data, decode_check(str(path), data))
    problems = [(line, reason) for line, reason, _ in raw.bad_rows]
    problems += [(int(line), flag) for line, flag in zip(raw.lines, raw.row_flags) if flag is not None]
    if problems:
        line, reason = min(problems)
        raise BadFileError(path, f"line {line}: {reason}")
    frame = pd.DataFrame({h: raw.table[h].to_numpy(zero_copy_only=False) for h in raw.header}, dtype=object)
    return frame, np.asarray(raw.lines, dtype=np.int64)
