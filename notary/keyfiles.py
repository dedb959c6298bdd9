"""Secret files under ``NOTARY_HOME/keys``: created once, mode 0600, never logged.

Creation uses ``O_EXCL`` so that two processes starting at once cannot each make a different
key: the loser reads the winner's file. Content is written to a temporary file first and
linked into place, so a crash never leaves a half-written key behind.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from notary.core.errors import KeyMaterialError
from notary.core.signing import SigningKey

SECRET_MODE = 0o600


def write_secret_once(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` with mode 0600 unless it exists; True when we created it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic, fails if another process got there first
        except FileExistsError:
            return False
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def read_secret(path: Path) -> bytes:
    """Read a secret file, refusing one that other users can read (it may have leaked)."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyMaterialError(
            f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}",
            code="key_permissions",
        )
    return path.read_bytes()


def load_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """Return the secret at ``path``, creating it with ``make()`` on first use."""
    if not path.exists():
        write_secret_once(path, make())
    return read_secret(path)


def load_signing_key(keys_dir: Path, passphrase: str | None) -> SigningKey:
    """The service's statement-signing key, created on first start.

    With ``passphrase`` the PEM is encrypted (PKCS#8, best available encryption); a wrong or
    missing passphrase raises KeyMaterialError rather than silently making a new key.
    """
    secret = passphrase.encode() if passphrase else None
    pem = load_or_create(keys_dir / "signing-key.pem", lambda: SigningKey.generate().to_pem(secret))
    return SigningKey.from_pem(pem, secret)
