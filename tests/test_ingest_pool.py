"""The parsing threads live for the process: repeated ingests reuse them, an error leaves no worker
staging files, and a forked child (whose parent's threads did not come along) gets its own."""

from __future__ import annotations

import os
import signal
import threading

from ingest_helpers import street_row, write
from saferhub.data import ingest as ingest_mod
from saferhub.data.ingest import IngestError, ingest_paths


def _workers() -> set[int]:
    return {t.ident for t in threading.enumerate() if t.name.startswith("saferhub-ingest")}


def test_repeated_ingests_reuse_the_same_threads(tmp_path):
    files = [write(tmp_path / f"2018-0{m}-merseyside-street.csv", [street_row(month=f"2018-0{m}")]) for m in (1, 2, 3)]
    ingest_paths(files, store=tmp_path / "a")
    first = _workers()
    ingest_paths(files, store=tmp_path / "b")
    assert first and _workers() == first and len(first) <= 2


def test_a_bad_file_among_good_ones_leaves_only_the_old_store(tmp_path):
    good = [write(tmp_path / f"2018-0{m}-merseyside-street.csv", [street_row(month=f"2018-0{m}")]) for m in range(1, 8)]
    bad = write(tmp_path / "2018-09-merseyside-street.csv", [], header="not,a,police,file")
    try:
        ingest_paths([*good, bad], store=tmp_path / "s")
    except IngestError:
        pass
    else:
        raise AssertionError("the bad file was accepted")
    parts = list((tmp_path / "s").rglob("*.parquet"))
    assert parts == []   # every staged partition was removed, none written after the error


def test_a_forked_child_ingests_with_its_own_threads(tmp_path):
    ingest_paths([write(tmp_path / "2018-01-merseyside-street.csv", [street_row()])], store=tmp_path / "p")
    assert ingest_mod._POOL is not None
    child_file = write(tmp_path / "c" / "2018-02-merseyside-street.csv", [street_row(month="2018-02")])
    pid = os.fork()
    if pid == 0:   # the child: the parent's pool threads do not exist here
        signal.alarm(60)   # a child waiting on threads that do not exist would hang: die instead
        try:
            ok = ingest_mod._POOL is None and ingest_paths([child_file], store=tmp_path / "c_store").rows_after == 1
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
