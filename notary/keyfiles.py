"""Secret files under ``NOTARY_HOME/keys``: created once, mode 0600, never logged.

Creation uses ``O_EXCL`` so that two processes starting at once cannot each make a different
key: the loser reads the winner's file. Content is written to a temporary file first and
linked into place, so a crash never leaves a half-written key behind.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from notary.core.bundle import KeyPeriod, key_history, parse_key_history
from notary.core.errors import KeyMaterialError
from notary.core.signing import SigningKey
from notary.core.validate import format_rfc3339_utc

SECRET_MODE = 0o600
#: The public history of the statement-signing keys: each key with its validity period.
KEY_HISTORY_FILE = "signing-keys.json"
#: The transparency log's checkpoint key (notary.service.translog).
LOG_KEY_FILE = "log-key.pem"


def _write_temporary(path: Path, content: bytes) -> Path:
    """``content`` in a fresh 0600 file beside ``path``, flushed to disk; the caller links or
    renames it into place (and removes it on failure)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_secret_once(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` with mode 0600 unless it exists; True when we created it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = _write_temporary(path, content)
    try:
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
    key = SigningKey.from_pem(pem, secret)
    record_key_history(keys_dir, key)
    return key


def load_log_key(keys_dir: Path, passphrase: str | None) -> SigningKey:
    """The key that signs the transparency log's checkpoints (issue 19), created on first
    start. A key of its own, not the statement key: statement keys rotate, while witnesses
    and verifiers follow a log by one long-lived verifier key. Encrypted like the statement
    key when a passphrase is set."""
    secret = passphrase.encode() if passphrase else None
    pem = load_or_create(keys_dir / LOG_KEY_FILE, lambda: SigningKey.generate().to_pem(secret))
    return SigningKey.from_pem(pem, secret)


def record_key_history(keys_dir: Path, key: SigningKey) -> bytes:
    """Make sure the public key history lists ``key`` as the key in use; return the history.

    The history (``keys/signing-keys.json``, a JWK Set whose keys carry ``valid_from`` and,
    once retired, ``valid_until``; public content, but kept with the keys it describes, mode
    0600 like everything in that folder) is what proof bundles export, so a verifier can check
    that each signature was made while its key was valid. A key is valid from its key file's
    modification time (the file is written once, when the key is made). A new key (the key
    file was replaced) retires the previous one at that moment. Raises KeyMaterialError when
    the history is damaged, or when a retired key is in use again.
    """
    path = keys_dir / KEY_HISTORY_FILE
    pem = keys_dir / "signing-key.pem"
    since = format_rfc3339_utc(datetime.fromtimestamp(pem.stat().st_mtime, UTC))
    entries: list[tuple[dict[str, str], KeyPeriod]] = []
    if path.exists():
        data = path.read_bytes()
        try:
            key_set, periods = parse_key_history(data)
        except Exception as exc:
            raise KeyMaterialError(f"{path} is not a valid key history: {exc}",
                                   reason="history_invalid") from exc
        current = periods.get(key.kid)
        if current is not None and current.valid_until is None:
            return data
        if current is not None:
            raise KeyMaterialError(
                f"The signing key {key.kid} was retired at {current.valid_until} ({path}); a "
                "retired key is never used again.", reason="key_retired")
        for jwk in key_set["keys"]:
            period = periods[jwk["kid"]]
            if period.valid_until is None:
                period = KeyPeriod(period.kid, period.valid_from, since)
            entries.append((jwk, period))
    entries.append((key.public_jwk(), KeyPeriod(key.kid, since)))
    data = key_history(entries)
    tmp = _write_temporary(path, data)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return data


def load_key_history(keys_dir: Path) -> bytes:
    """The key history as written by :func:`record_key_history` (canonical JSON bytes).
    Raises KeyMaterialError if there is none yet (no signing key was ever loaded)."""
    path = keys_dir / KEY_HISTORY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyMaterialError(f"{path} does not exist yet.", reason="history_missing") from None
