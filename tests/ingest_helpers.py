"""Small police.uk-shaped files for ingest tests (real rows from the Merseyside data as a base)."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from conftest import MERSEYSIDE

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
          "Crime type,Last outcome category,Context")


def real_lines(month: str = "2018-01", n: int | None = None) -> list[str]:
    """The data lines of a real Merseyside street file (without the header)."""
    with gzip.open(MERSEYSIDE / f"{month}-merseyside-street.csv.gz", "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()[1:]
    return lines if n is None else lines[:n]


def street_row(crime_id="", month="2018-01", lon="-2.98", lat="53.40", ctype="Anti-social behaviour",
               outcome="", location="On or near Bold Street", lsoa="E01006512", force="Merseyside Police") -> str:
    return f"{crime_id},{month},{force},{force},{lon},{lat},{location},{lsoa},Liverpool 060A,{ctype},{outcome},"


def write(path: Path, lines: list[str], header: str = HEADER, gz: bool = False, mtime: float | None = None) -> Path:
    text = "\n".join([header, *lines]) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def store_fingerprint(store: Path) -> dict:
    """Every file in a store and its hash: equal fingerprints = the store is exactly as it was."""
    if not store.exists():
        return {}
    return {str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(store.rglob("*")) if p.is_file() and p.name != ".lock"}


def deflate_repeated(head: bytes, chunk: bytes, times: int) -> tuple[bytes, int, int]:
    """A raw deflate stream of `head` + `chunk` x `times`, made without compressing the whole:
    after a full flush the compressor starts afresh, so every copy of `chunk` compresses to the
    same bytes, which are repeated. Returns (stream, crc32, expanded size) of the expanded text."""
    import zlib

    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    one = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    return first + one * times + comp.flush(), crc, len(head) + len(chunk) * times


def write_bomb(path: Path, expanded_mb: int) -> Path:
    """A decompression bomb (simulated): a valid police.uk street file of `expanded_mb` MB of one
    repeated row, as .gz or .zip (by the name's suffix), stored in a few hundred KB."""
    import struct
    import zlib

    row = (street_row() + "\n").encode()
    chunk = row * (2**20 // len(row))
    stream, crc, size = deflate_repeated((HEADER + "\n").encode(), chunk, expanded_mb * 2**20 // len(chunk))
    if path.suffix == ".gz":
        path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + stream + struct.pack("<II", crc, size & 0xFFFFFFFF))
        return path
    inner = b"2018-01/2018-01-merseyside-street.csv"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, zlib.DEFLATED, 0, 0x21, crc, len(stream), size,
                        len(inner), 0) + inner
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, zlib.DEFLATED, 0, 0x21, crc,
                          len(stream), size, len(inner), 0, 0, 0, 0, 0, 0) + inner
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(stream), 0)
    path.write_bytes(local + stream + central + end)
    return path
