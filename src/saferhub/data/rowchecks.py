"""Checks of police.uk rows against their file: which force the rows belong to, and Crime IDs
published on more than one row.

Which force wins, and why: "Falls within" is the force in whose area the crime is (police.uk's
own definition), so it decides, not the file's name. A row that falls within another force is
quarantined, saying so. British Transport Police files are the exception: BTP reports crimes on
the railways of every force's area, so for them "Reported by" must be BTP and "Falls within" may
be anything. A file name naming no known force is refused (listing the known ones) unless its
rows agree on one known force, which then wins.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from saferhub.data.csvread import as_array
from saferhub.data.forces import FORCES, NATIONAL, force_id, force_name
from saferhub.errors import BadFileError


def _strings(col) -> pa.Array:
    col = as_array(col)
    if not isinstance(col, pa.Array):
        col = pa.array(np.asarray(col, dtype=object), pa.string())
    return pc.utf8_trim_whitespace(col)


def _row_forces(col: pa.Array) -> tuple[pa.Array, dict[str, str]]:
    """(the distinct non-empty names, name -> force id), each name resolved once."""
    names = [n for n in pc.unique(col).to_pylist() if n]
    return names, {n: force_id(n) for n in names}


def file_force(name: str, named: str | None, reported, falls) -> tuple[str, np.ndarray]:
    """(the file's force, per-row reason or None) from the file name's force (or None) and the
    rows' "Reported by" / "Falls within" columns."""
    reported, falls = _strings(reported), _strings(falls)
    named_id = force_id(named) if named else None
    if named_id is None:      # no police.uk name: the force most rows report
        names, ids = _row_forces(reported)
        if not names:
            raise BadFileError(name, "cannot tell which force this file is for: its 'Reported by' column is empty")
        counts = pc.value_counts(reported.filter(pc.not_equal(reported, ""))).to_pylist()
        force = ids[max(counts, key=lambda c: c["counts"])["values"]]
    elif named_id in FORCES:
        force = named_id
    else:
        agreed = {f for f in _row_forces(falls)[1].values()} or {f for f in _row_forces(reported)[1].values()}
        if len(agreed) == 1 and next(iter(agreed)) in FORCES:
            force = agreed.pop()
        else:
            raise BadFileError(name, f"{named!r} in the file name is not a police.uk force and the rows do not "
                                     f"agree on one; known forces: {', '.join(sorted(FORCES))}")
    col, what = (reported, "reported by") if force in NATIONAL else (falls, "falls within")
    reason = np.full(len(col), None, dtype=object)
    names, ids = _row_forces(col)
    other = [n for n in names if ids[n] != force]
    if other:
        mask = pc.is_in(col, value_set=pa.array(other, pa.string())).to_numpy(zero_copy_only=False)
        values = col.to_numpy(zero_copy_only=False)
        reason[mask] = [f"{what} another force ({v}, not {force_name(force)})" for v in values[mask]]
    return force, reason


def occurrence(codes: np.ndarray) -> np.ndarray:
    """For each element, how many equal elements came before it (0 for the first)."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    nth = np.empty(len(codes), dtype=np.int64)
    nth[order] = np.arange(len(codes)) - run_start
    return nth


def distinct_crime_ids(crime_id: pa.Array, good: np.ndarray, lines: np.ndarray):
    """Crime IDs made distinct among the stored rows: the second row with an id becomes '<id>#2',
    and so on in file order (stable across re-ingests). Returns (ids, [(row, reason)] warnings)."""
    rows = np.flatnonzero(good & pc.not_equal(crime_id, "").to_numpy(zero_copy_only=False))
    if rows.size < 2:
        return crime_id, []
    codes = pc.dictionary_encode(crime_id).indices.to_numpy(zero_copy_only=False)[rows]
    if np.bincount(codes).max() < 2:   # the usual case: every id once
        return crime_id, []
    nth = occurrence(codes)
    dup = np.flatnonzero(nth > 0)
    first_line = np.zeros(codes.max() + 1, dtype=np.int64)
    first_line[codes[nth == 0]] = lines[rows[nth == 0]]
    dup_rows = rows[dup]
    new = pc.binary_join_element_wise(crime_id.take(pa.array(dup_rows)),
                                      pa.array((nth[dup] + 1).astype(str), pa.string()), "#")
    mask = np.zeros(len(crime_id), bool)
    mask[dup_rows] = True
    ids = pc.replace_with_mask(crime_id, pa.array(mask), new)
    warnings = [(int(r), f"duplicate Crime ID (first on line {f}; stored as {i})")
                for r, f, i in zip(dup_rows.tolist(), first_line[codes[dup]].tolist(), new.to_pylist())]
    return ids, warnings
