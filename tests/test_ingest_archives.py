"""Archives and paths a user (or an attacker) may hand to ingest: every zip compression zipfile
reads, damaged or password-protected members, unsupported methods, huge member counts, and paths
that are not regular files. Each is one clear error naming the file, and the store is unchanged."""

from __future__ import annotations

import os
import zipfile

import pytest

from ingest_helpers import HEADER, real_lines, store_fingerprint, street_row, write
from saferhub.data import events
from saferhub.data.ingest import IngestError, ingest_paths
from saferhub.errors import SaferhubError

DATA = ("\n".join([HEADER, *real_lines("2018-02", 300)]) + "\n").encode()
MEMBER = "2018-02/2018-02-merseyside-street.csv"


@pytest.fixture
def store(tmp_path):
    s = tmp_path / "store"
    ingest_paths([write(tmp_path / "base" / "2018-01-merseyside-street.csv", [street_row()])], store=s)
    return s


def _zip(path, method, data=DATA, name=MEMBER):
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        zf.writestr(name, data)
    return path


def _patch_headers(path, offset_in_local: int, offset_in_central: int, value: bytes, mode: str = "set"):
    """Change a field of the member's local and central headers (as a hostile writer would)."""
    raw = bytearray(path.read_bytes())
    for sig, off in ((b"PK\x03\x04", offset_in_local), (b"PK\x01\x02", offset_in_central)):
        i = raw.find(sig) + off
        if mode == "or":
            raw[i] |= value[0]
        else:
            raw[i:i + len(value)] = value
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_every_zip_compression_ingests(tmp_path, method):
    report = ingest_paths([_zip(tmp_path / "a.zip", method)], store=tmp_path / "s")
    assert [(f.read, f.stored) for f in report.files] == [(300, 300)]
    assert events(tmp_path / "s").num_rows == 300


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_damaged_member_is_one_clear_error(store, tmp_path, method):
    path = _zip(tmp_path / "a.zip", method)
    raw = bytearray(path.read_bytes())
    start = raw.find(b"PK\x03\x04") + 30 + len(MEMBER)   # the member's compressed bytes
    for k in range(start + 40, start + 240):
        raw[k] ^= 0x5A
    path.write_bytes(bytes(raw))
    before = store_fingerprint(store)
    with pytest.raises(IngestError) as err:
        ingest_paths([path], store=store)
    message = str(err.value)
    assert message.startswith(f"{path}!{MEMBER}: ") and "\n" not in message
    assert any(w in message for w in ("corrupt zip", "cannot read the zip member", "truncated zip"))
    assert store_fingerprint(store) == before


def test_a_password_protected_member_is_refused(store, tmp_path):
    path = _zip(tmp_path / "a.zip", zipfile.ZIP_DEFLATED)
    _patch_headers(path, 6, 8, b"\x01", mode="or")   # general purpose flag bit 0: encrypted
    before = store_fingerprint(store)
    with pytest.raises(IngestError, match="encrypted \\(password-protected\\) zip member; extract it first"):
        ingest_paths([path], store=store)
    assert store_fingerprint(store) == before


def test_an_unsupported_compression_method_is_refused(store, tmp_path):
    path = _zip(tmp_path / "a.zip", zipfile.ZIP_DEFLATED)
    _patch_headers(path, 8, 10, (99).to_bytes(2, "little"))   # 99: WinZip AES, which zipfile cannot read
    before = store_fingerprint(store)
    with pytest.raises(IngestError, match="unsupported zip member .*; extract it first"):
        ingest_paths([path], store=store)
    assert store_fingerprint(store) == before


def test_an_archive_is_opened_once_however_many_members(tmp_path, monkeypatch):
    # Opening it per member re-read its directory each time: quadratic in the member count.
    path = tmp_path / "national.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(120):
            month = f"{2010 + i // 12}-{i % 12 + 1:02d}"
            zf.writestr(f"{month}/{month}-merseyside-street.csv", f"{HEADER}\n{street_row(month=month)}\n")
    opened = []
    real = zipfile.ZipFile

    class Counting(real):
        def __init__(self, *args, **kwargs):
            opened.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(zipfile, "ZipFile", Counting)
    report = ingest_paths([path], store=tmp_path / "s")
    assert len(report.files) == 120 and report.rows_after == 120
    assert len(opened) <= 2   # once to list the members, once to read them


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_path_that_is_not_a_regular_file_is_refused_at_once(tmp_path):
    fifo = tmp_path / "2018-01-merseyside-street.csv"
    os.mkfifo(fifo)   # reading it would wait for a writer for ever
    for path in (fifo, "/dev/zero"):
        with pytest.raises(SaferhubError, match="not a regular file or folder"):
            ingest_paths([path], store=tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_a_plain_file_over_the_cap_is_refused_without_reading_it_all(store, tmp_path):
    big = write(tmp_path / "in" / "2018-02-merseyside-street.csv", real_lines("2018-02") * 2)
    assert big.stat().st_size > 2**20
    before = store_fingerprint(store)
    with pytest.raises(IngestError, match="expands to more than 1 MB"):
        ingest_paths([big], store=store, max_expanded_mb=1)
    assert store_fingerprint(store) == before


def test_a_name_repeated_in_an_archive_reads_each_entry_once(tmp_path):
    # zipfile's getinfo(name) finds only the last entry of a repeated name: each member keeps its own
    import warnings

    path = tmp_path / "dup.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as zf:
        warnings.simplefilter("ignore")   # "Duplicate name"
        zf.writestr(MEMBER, f"{HEADER}\n{street_row(crime_id='a1', month='2018-02', ctype='Burglary')}\n")
        zf.writestr(MEMBER, f"{HEADER}\n" + "".join(street_row(crime_id=f"b{i}", month="2018-02", ctype="Burglary")
                                                    + "\n" for i in range(2)))
    report = ingest_paths([path], store=tmp_path / "s")
    assert sorted(f.read for f in report.files) == [1, 2]
