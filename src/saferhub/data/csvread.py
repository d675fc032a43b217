"""Read one CSV's bytes into string columns with each row's line number, never losing a row.

Rows with the wrong number of fields come back separately (line, raw text) for quarantine.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from saferhub.errors import BadFileError


@dataclass
class RawTable:
    header: list[str]
    table: pa.Table          # all columns as strings, blank lines dropped
    lines: np.ndarray        # line number of each row of `table` (header is line 1)
    bad_rows: list[tuple[int, str, str]]   # (line, reason, raw text) for wrong field counts
    raw_bytes: bytes

    def raw_lines(self, line_numbers) -> list[str]:
        """The original text of the given lines (for the quarantine)."""
        text = self.raw_bytes.decode("utf-8-sig", errors="replace").splitlines()
        return [text[n - 1] if 0 < n <= len(text) else "" for n in line_numbers]


def _not_utf8(name: str, data: bytes) -> BadFileError | None:
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return BadFileError(name, f"not UTF-8 text (first bad byte on line {line}); re-save it as UTF-8")
    return None


def decode_check(name: str, data: bytes) -> str:
    """The header line, after checking the file is non-empty text with a UTF-8 first line.
    (The rest is checked as UTF-8 by the CSV reader, which reports it through `_not_utf8`.)"""
    if not data or data.isspace():
        raise BadFileError(name, "empty file")
    head = data[:65536]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):   # Excel's "Unicode text" export
        raise BadFileError(name, "UTF-16 text, not UTF-8; re-save it as CSV UTF-8")
    if b"\x00" in head:
        raise BadFileError(name, "not a CSV file (binary data)")
    first = re.split(rb"\r\n|\r|\n", head, maxsplit=1)[0]   # \r\n, \n or a lone \r end a line
    try:
        return first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _not_utf8(name, data) from None


def read_strings(name: str, data: bytes, header_line: str) -> RawTable:
    try:
        header = next(csv.reader([header_line]))
    except (csv.Error, StopIteration) as exc:
        raise BadFileError(name, f"unreadable header line ({exc})") from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise BadFileError(name, "the header repeats a column name")
    bad: list[tuple[int | None, str, int]] = []

    def on_invalid(row):
        bad.append((row.number, row.text, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1,
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, ignore_empty_lines=False,
                                             newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise (_not_utf8(name, data) or BadFileError(name, f"not a readable CSV ({str(exc).splitlines()[0]})")) from None
    # Record numbers: the header is 1, then every record in order; pyarrow's invalid-row numbers
    # count the skipped header too, so they are already line numbers.
    n_total = table.num_rows + len(bad)
    bad_lines = np.array([b[0] for b in bad], dtype=np.int64) if bad else np.empty(0, np.int64)
    all_lines = np.arange(2, n_total + 2, dtype=np.int64)
    lines = np.setdiff1d(all_lines, bad_lines, assume_unique=True) if bad else all_lines
    bad_rows = [(int(line), f"wrong column count (got {got}, expected {len(header)})", text)
                for line, (_, text, got) in zip(bad_lines, bad)]
    # Blank lines come back as all-empty rows: they are not records, so drop them.
    if table.num_rows and table.num_columns:
        import pyarrow.compute as pc

        blank = None
        for col in table.columns:   # stops at the first column with no empty value
            empty = pc.equal(col, "")
            blank = empty if blank is None else pc.and_(blank, empty)
            if not pc.any(blank).as_py():
                break
        else:
            blank_np = blank.to_numpy(zero_copy_only=False)
            table = table.filter(pa.array(~blank_np))
            lines = lines[~blank_np]
    return RawTable(header, table, lines, bad_rows, data)
