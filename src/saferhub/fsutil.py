"""Files written so a reader (or a crash) never sees half of one."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


@contextlib.contextmanager
def replacing(path: str | os.PathLike):
    """Yield a fresh temp path beside `path` for any writer (a GIS driver, pandas, our bytes);
    on success it is fsynced and renamed over `path`, on failure removed. The temp path does not
    exist yet, since some drivers refuse to overwrite a file."""
    from saferhub.errors import SaferhubError

    path = Path(path)
    if path.is_dir():
        raise SaferhubError(f"{path}: is a folder; give a file name to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SaferhubError(f"cannot create the folder {path.parent}: {exc.strerror or exc}") from None
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}{path.suffix}")
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dirfd = os.open(path.parent, os.O_RDONLY)   # so the rename itself survives a power cut
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    except OSError as exc:   # no permission, a read-only or full disk, a place files cannot go
        if exc.strerror is None:
            raise
        raise SaferhubError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write bytes or text so a reader never sees half of the file."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with replacing(path) as tmp:
        tmp.write_bytes(payload)   # a normal create: the usual mode (0666 less umask)
    return Path(path)
