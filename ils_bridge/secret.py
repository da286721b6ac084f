"""The hub's secret key, used for keyed hashes of identity-document numbers (PIPL).

Resolution order: ``ILS_BRIDGE_SECRET`` (the key itself), ``ILS_BRIDGE_SECRET_FILE`` (a file
holding it), else ``secret.key`` in the user data directory, created on first use with mode
0600. Every hub process that shares a database must use the same key; the database keeps a
fingerprint of it so a process with another key is refused instead of silently failing to
find duplicates.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from .errors import HubError
from .store.engine import data_dir


def secret_path() -> Path:
    env = os.environ.get("ILS_BRIDGE_SECRET_FILE")
    return Path(env) if env else data_dir() / "secret.key"


def load_secret(*, create: bool = True) -> bytes:
    env = os.environ.get("ILS_BRIDGE_SECRET")
    if env:
        return env.encode("utf-8")
    path = secret_path()
    if path.exists():
        key = path.read_bytes().strip()
        if len(key) < 16:
            raise HubError(f"the secret key in {path} is too short (need at least 16 bytes)")
        return key
    if not create:
        raise HubError(f"no secret key at {path}; run `ils-bridge init` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


def fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"ils-bridge key fingerprint\x00" + key).hexdigest()[:16]
