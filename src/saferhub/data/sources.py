"""Find the CSV members behind what a user names: files, .gz files, folders, .zip archives."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import lzma
import threading
from contextlib import contextmanager
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from isal.isal_zlib import _GzipReader
from isal.isal_zlib import error as IsalError

from saferhub.errors import BadFileError, SaferhubError, printable

# data.police.uk names: 2019-07-merseyside-street.csv (inside 2019-07/ in the monthly archive).
POLICE_NAME = re.compile(r"(?P<month>\d{4}-\d{2})-(?P<force>[a-z0-9-]+?)-(?P<kind>street|outcomes|stop-and-search)\.csv(\.gz)?$")


@dataclass(frozen=True)
class Member:
    """One CSV to read: a plain or gzipped file, or a member of a zip archive."""

    name: str            # what we call it in messages and the quarantine ("archive.zip!2019-07/x.csv")
    path: Path
    inner: str | None    # member name inside a zip archive
    stamp: str           # when this copy was made (file mtime or zip entry time), ISO 8601
    archive: "Archive | None" = field(default=None, compare=False, repr=False)   # shared by a zip's members
    entry: "zipfile.ZipInfo | None" = field(default=None, compare=False, repr=False)   # (names can repeat)

    @property
    def basename(self) -> str:
        return (self.inner or self.path.name).rsplit("/", 1)[-1]

    def police_name(self) -> dict | None:
        m = POLICE_NAME.search(self.basename)
        return m.groupdict() if m else None

    def read_bytes(self, limits: "Limits | None" = None) -> bytes:
        """The CSV's bytes, decompressed; a truncated or corrupt archive is a BadFileError."""
        return self.read(limits)[0]

    def read(self, limits: "Limits | None" = None) -> tuple[bytes, str]:
        """(the CSV's bytes decompressed, sha256 of the bytes as stored): the hash identifies this
        copy for idempotent re-ingest, and hashing the smaller stored form is cheaper.

        Decompression streams in chunks and stops as soon as the expanded size passes
        `limits` (a decompression bomb never gets more than one chunk past the cap)."""
        limits = limits or Limits.from_settings()
        if self.inner is not None:
            return self._read_zip_member(limits)
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(2)
            if self.basename.endswith(".gz") or head == b"\x1f\x8b":
                return self._read_gzip(limits)
            # A plain file is refused by its size, and read up to the cap and no further: its
            # stated size can be wrong (a file still being written).
            size = self.path.stat().st_size
            limits.check(self.name, size, size)
            with open(self.path, "rb") as fh:
                data = fh.read(limits.max_bytes + 1)
            limits.check(self.name, len(data), len(data))
            return data, hashlib.sha256(data).hexdigest()
        except OSError as exc:
            raise BadFileError(self.name, f"cannot read ({exc.strerror or exc})") from None

    def _read_gzip(self, limits: "Limits") -> tuple[bytes, str]:
        stored = self.path.stat().st_size
        if stored > limits.max_bytes:   # it cannot expand to less than about its own size
            limits.check(self.name, stored, stored)
        data = self.path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        # ISA-L's gunzip (the same format as zlib's, about 1.7x faster), read straight from the
        # bytes; a gzip trailer states the expanded size (mod 2**32) of its member.
        claimed = int.from_bytes(data[-4:], "little") if len(data) >= 18 else 0
        gz = _GzipReader(data)
        try:
            return _read_capped(self.name, gz, len(data), limits, claimed), sha
        except EOFError:
            raise BadFileError(self.name, "truncated gzip data (the file ends early)") from None
        except (gzip.BadGzipFile, zlib.error, IsalError, OSError) as exc:
            raise BadFileError(self.name, f"corrupt gzip data ({exc})") from None
        finally:
            gz.close()

    def _read_zip_member(self, limits: "Limits") -> tuple[bytes, str]:
        try:
            zf = (self.archive or Archive(self.path)).zipfile()
            info = self.entry or zf.getinfo(self.inner)
            # The sizes in the archive's directory can lie, so they are only a first check; the
            # stream is counted as it expands.
            limits.check(self.name, info.file_size, max(info.compress_size, 1))
            with zf.open(info) as fh:
                data = _read_capped(self.name, fh, max(info.compress_size, 1), limits)
        except NotImplementedError as exc:   # (a RuntimeError too, so caught first)
            raise BadFileError(self.name, f"unsupported zip member ({exc}); extract it first") from None
        except RuntimeError:   # zipfile's word for a password-protected member
            raise BadFileError(self.name, "encrypted (password-protected) zip member; extract it first") from None
        except EOFError:
            raise BadFileError(self.name, "truncated zip archive (the member ends early)") from None
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, KeyError, ValueError) as exc:
            raise BadFileError(self.name, f"corrupt zip archive ({exc})") from None
        except OSError as exc:   # bz2 reports corrupt data as an OSError too
            raise BadFileError(self.name, f"cannot read the zip member ({exc.strerror or exc})") from None
        return data, hashlib.sha256(data).hexdigest()


class Archive:
    """A zip archive opened once for all its members (threads may read members at once: zipfile
    serialises the reads of the shared file). Opening per member re-read the archive's directory
    every time: a national archive of ~4,600 members spent over a minute on that alone."""

    def __init__(self, path: Path):
        self.path = path
        self._zf: zipfile.ZipFile | None = None
        self._lock = threading.Lock()

    def zipfile(self) -> zipfile.ZipFile:
        with self._lock:
            if self._zf is None:
                self._zf = zipfile.ZipFile(self.path)
            return self._zf

    def close(self) -> None:
        with self._lock:
            if self._zf is not None:
                self._zf.close()
                self._zf = None


def close_archives(members) -> None:
    """Close the zip archives the members were read from (they reopen if read again)."""
    for archive in {id(m.archive): m.archive for m in members if m.archive is not None}.values():
        archive.close()


@dataclass(frozen=True)
class Limits:
    """How far one file may expand: a cap on the expanded size, and on expanded / stored size
    once past RATIO_FLOOR (small files may compress very well; a bomb cannot hide under it)."""

    max_bytes: int
    max_ratio: float

    @classmethod
    def from_settings(cls, max_expanded_mb: float | None = None, max_expansion_ratio: float | None = None) -> "Limits":
        from saferhub.config import settings

        cfg = settings(max_expanded_mb=max_expanded_mb, max_expansion_ratio=max_expansion_ratio)
        return cls(int(cfg.max_expanded_mb * 2**20), float(cfg.max_expansion_ratio))

    def allowed(self, stored: int) -> int:
        """The most bytes a file of `stored` bytes may expand to."""
        return min(self.max_bytes, max(RATIO_FLOOR, int(self.max_ratio * stored)))

    def check(self, name: str, expanded: int, stored: int) -> None:
        if expanded > self.max_bytes:
            raise BadFileError(name, f"expands to more than {_mb(self.max_bytes)} (the cap on one file, "
                                     "--max-expanded-mb); refused as a possible decompression bomb")
        if expanded > RATIO_FLOOR and expanded > self.max_ratio * stored:
            raise BadFileError(name, f"expands more than {self.max_ratio:g} times its stored size "
                                     f"({_mb(stored)} to over {_mb(expanded)}; --max-expansion-ratio); "
                                     "refused as a possible decompression bomb")


RATIO_FLOOR = 16 * 2**20
CHUNK = 4 * 2**20
# Parsing takes about 6-7x a file's expanded size in memory (11x when every row needs a warning),
# so files over a quarter of the cap are parsed one at a time (small ones still run beside them):
# peak memory stays near one big file's, whatever the archive holds.
_BIG_FILE = threading.Lock()


@contextmanager
def parsing(data: bytes, limits: "Limits"):
    """Hold while parsing `data`: serialises big files (see _BIG_FILE)."""
    if len(data) * 4 <= limits.max_bytes:
        yield
        return
    with _BIG_FILE:
        yield


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n / 1024:,.0f} KB"


def _read_capped(name: str, stream, stored: int, limits: Limits, claimed: int = 0) -> bytes:
    """Read a decompressing stream in chunks, refusing it the moment it passes the limits.

    `claimed`: the expanded size the file states (0: none). An honest claim is read in one piece
    (no chunks to join); a false one only changes the first chunk's size, which never exceeds
    what the limits allow plus one byte, so memory stays bounded whatever the file says."""
    size = min(claimed, limits.allowed(stored)) + 1 if claimed else CHUNK
    chunks, total = [], 0
    while chunk := stream.read(size):
        total += len(chunk)
        limits.check(name, total, stored)
        chunks.append(chunk)
        size = CHUNK
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _stamp_of_file(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds")


def _is_csv_name(name: str) -> bool:
    return name.lower().endswith((".csv", ".csv.gz"))


def _zip_members(path: Path) -> list[Member]:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir() and _is_csv_name(i.filename)]
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise BadFileError(path, "not a readable zip archive") from None
    except OSError as exc:
        raise BadFileError(path, f"cannot read ({exc.strerror or exc})") from None
    out = []
    archive = Archive(path)
    for info in sorted(infos, key=lambda i: i.filename):
        stamp = dt.datetime(*info.date_time, tzinfo=dt.timezone.utc).isoformat(timespec="seconds")
        out.append(Member(printable(f"{path}!{info.filename}"), path, info.filename, stamp, archive, info))
    return out


def discover(paths) -> list[Member]:
    """Every CSV member under the given paths, in a stable order. Missing paths are an error."""
    members: list[Member] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise SaferhubError(f"{path}: no such file or folder")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and (_is_csv_name(p.name) or p.suffix.lower() == ".zip"))
            for p in found:
                members.extend(_zip_members(p) if p.suffix.lower() == ".zip" else [Member(printable(p), p, None, _stamp_of_file(p))])
        elif not path.is_file():   # a FIFO or a device would block or never end
            raise SaferhubError(f"{path}: not a regular file or folder")
        elif path.suffix.lower() == ".zip":
            members.extend(_zip_members(path))
        else:
            members.append(Member(printable(path), path, None, _stamp_of_file(path)))
    return members
