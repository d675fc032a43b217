"""The audit keyring: the secret HMAC keys that authenticate audit rows and checkpoints.

The keys live in a file (settings `audit_key_file`, default `<data dir>/saferhub/audit.key`), never
in the database, so someone who can write to the database but cannot read this file cannot forge
an audit row. The file is JSON `{"current": id, "keys": {id: hex}}`, created mode 0600 and refused
when group or others may read it (as ssh does with private keys). Rotation adds a key and makes it
current; old keys stay so rows written under them still verify (each row names its `key_id`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from saferhub.hub.errors import HubError


class AuditKeyError(HubError):
    """The audit key file is missing, unreadable, too open or malformed (the hub cannot log)."""

    status = 503


@dataclass(frozen=True)
class Keyring:
    path: Path
    current: str
    keys: dict[str, bytes]

    def mac(self, key_id: str, message: str) -> str:
        """HMAC-SHA256 under key `key_id` (AuditKeyError if the file does not hold it)."""
        key = self.keys.get(key_id)
        if key is None:
            raise AuditKeyError(f"the audit key file {self.path} has no key {key_id!r}")
        return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def check(self, key_id: str | None, message: str, mac: str | None) -> bool:
        """Constant-time comparison; False for unknown keys or missing MACs (fails closed)."""
        if not key_id or not mac or key_id not in self.keys:
            return False
        return hmac.compare_digest(self.mac(key_id, message), mac)


def key_path(path: str | os.PathLike | None = None) -> Path:
    """`path`, else the settings' key file. Asked several times per audited read (issue 22), so the
    answer is kept per value of what it depends on: the key file setting and the data folder's
    variables (`data_home`), three look-ups instead of building the settings' environment key."""
    if path:
        return Path(path).expanduser()
    env = tuple(os.environ.get(name) for name in _PATH_FROM)
    hit = _paths.get(env)
    if hit is None:
        from saferhub.config import settings

        _paths.clear()
        hit = _paths[env] = settings().audit_key_path
    return hit


_PATH_FROM = ("SAFERHUB_AUDIT_KEY_FILE", "XDG_DATA_HOME", "HOME")
_paths: dict[tuple, Path] = {}


_cache: dict[Path, tuple[tuple, Keyring]] = {}


def load(path: str | os.PathLike | None = None) -> Keyring:
    """The keyring from its file (cached until the file changes)."""
    path = key_path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AuditKeyError(f"no audit key file at {path}: run `saferhub hub init` to create one, or restore "
                            "it from your backup (without it new audit rows cannot be written)") from None
    if st.st_mode & 0o077:
        raise AuditKeyError(f"the audit key file {path} may be read by other users "
                            f"(mode {stat.filemode(st.st_mode)}); run: chmod 600 {path}")
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    hit = _cache.get(path)
    if hit and hit[0] == stamp:
        return hit[1]
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        ring = Keyring(path, raw["current"], {k: bytes.fromhex(v) for k, v in raw["keys"].items()})
        if ring.current not in ring.keys or any(len(v) < 32 for v in ring.keys.values()):
            raise ValueError("the current key is missing or a key is shorter than 32 bytes")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AuditKeyError(f"the audit key file {path} is unreadable: {exc}") from None
    _cache[path] = (stamp, ring)
    return ring


def _new_id() -> str:
    return f"k{dt.datetime.now(dt.timezone.utc):%Y%m%d}-{secrets.token_hex(3)}"


def _write(path: Path, current: str, keys: dict[str, bytes]) -> None:
    """Atomically (temp file + rename) and 0600 from the first byte, whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"current": current, "keys": {k: v.hex() for k, v in keys.items()}}, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def create(path: str | os.PathLike | None = None) -> Keyring:
    """A new keyring with one random 256-bit key; refuses to overwrite an existing file."""
    path = key_path(path)
    if path.exists():
        raise AuditKeyError(f"{path} exists already; rotate its key instead of replacing the file")
    kid = _new_id()
    _write(path, kid, {kid: secrets.token_bytes(32)})
    return load(path)


def ensure(path: str | os.PathLike | None = None) -> tuple[Keyring, bool]:
    """(keyring, created?): the existing keyring, or a new one when there is no file yet."""
    path = key_path(path)
    if path.exists():
        return load(path), False
    return create(path), True


def rotate(path: str | os.PathLike | None = None) -> Keyring:
    """Add a fresh key and make it current; earlier keys stay for verifying older rows."""
    ring = load(path)
    kid = _new_id()
    while kid in ring.keys:
        kid = _new_id()
    _write(ring.path, kid, ring.keys | {kid: secrets.token_bytes(32)})
    return load(ring.path)
