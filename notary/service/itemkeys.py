"""Encryption at rest: one age identity per evidence item, wrapped under the service master key.

Each item's content is encrypted with age (``pyrage``) to an X25519 identity of its own, so one
item can later be made unreadable by destroying that identity alone (crypto-shredding), and the
standard ``age`` CLI decrypts the stored blob given that identity. The item identities are kept
in the database encrypted (age, armored) to the master identity in ``NOTARY_HOME/keys/master.age``;
with ``NOTARY_KEY_PASSPHRASE`` the master file is itself passphrase-encrypted (age scrypt).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pyrage
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from notary.core import age
from notary.core.errors import KeyMaterialError
from notary.keyfiles import load_or_create


class MasterKey:
    """The service master identity; it only ever wraps and unwraps item identities."""

    def __init__(self, identity: pyrage.x25519.Identity) -> None:
        self._identity = identity
        self._recipient = identity.to_public()

    @classmethod
    def load(cls, keys_dir: Path, passphrase: str | None) -> MasterKey:
        """Load the master identity, creating it on first start (0600)."""

        def make() -> bytes:
            text = str(pyrage.x25519.Identity.generate()).encode()
            return pyrage.passphrase.encrypt(text, passphrase, armored=True) if passphrase else text

        raw = load_or_create(keys_dir / "master.age", make)
        try:
            if raw.startswith(b"-----BEGIN AGE"):
                if not passphrase:
                    raise KeyMaterialError(
                        "the master key is passphrase-protected: set NOTARY_KEY_PASSPHRASE",
                        code="key_passphrase_required",
                    )
                raw = pyrage.passphrase.decrypt(raw, passphrase)
            return cls(pyrage.x25519.Identity.from_str(raw.decode().strip()))
        except (pyrage.DecryptError, pyrage.IdentityError, UnicodeDecodeError) as exc:
            raise KeyMaterialError(
                "cannot open the master key: wrong NOTARY_KEY_PASSPHRASE or damaged file",
                code="key_unreadable",
            ) from exc

    def salt_box(self) -> SecretBox:
        """The box that seals call salts in the database (notary.service.calls)."""
        return self._box(b"notary.call-salts/v1")

    def webhook_box(self) -> SecretBox:
        """The box that seals webhook endpoints' signing secrets in the database
        (notary.service.webhooks): a copy of the database alone cannot forge deliveries."""
        return self._box(b"notary.webhook-secrets/v1", webhook=True)

    def _box(self, info: bytes, *, webhook: bool = False) -> SecretBox:
        """A box under its own key, derived from the master identity for one use (``info``)."""
        return SecretBox(HKDF(algorithm=hashes.SHA256(), length=32, salt=b"",
                              info=info).derive(age.identity_key(str(self._identity))),
                         webhook=webhook)

    def new_item_identity(self) -> tuple[pyrage.x25519.Identity, str]:
        """A fresh item identity and its wrapped (encrypted, armored) form for the database."""
        identity = pyrage.x25519.Identity.generate()
        wrapped = pyrage.encrypt(str(identity).encode(), [self._recipient], armored=True)
        return identity, wrapped.decode()

    def unwrap(self, wrapped: str) -> pyrage.x25519.Identity:
        """The item identity from its wrapped form; KeyMaterialError if it was not ours."""
        try:
            text = pyrage.decrypt(wrapped.encode(), [self._identity]).decode()
            return pyrage.x25519.Identity.from_str(text)
        except (pyrage.DecryptError, pyrage.IdentityError, UnicodeDecodeError) as exc:
            raise KeyMaterialError("an item key cannot be unwrapped",
                                   code="item_key_unreadable") from exc


class SecretBox:
    """Small secrets kept in database rows (the salts that open phone-number commitments,
    webhook signing secrets), sealed with ChaCha20-Poly1305 under a key derived from the
    master identity, bound to the row they belong to (``context``): a copy of the database
    alone opens none of them, and a sealed value moved to another row does not open there.
    A value that does not open is ``salt_unreadable``, or ``webhook_secret_unreadable`` in
    the box of webhook secrets (``webhook``)."""

    PREFIX = "v1."

    def __init__(self, key: bytes, *, webhook: bool = False) -> None:
        self._aead = ChaCha20Poly1305(key)
        self._webhook = webhook

    def seal(self, secret: bytes, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret, context.encode())
        return self.PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, text: str, context: str) -> bytes:
        """The secret; a value written before secrets were sealed (hex) is read as it is."""
        if not text.startswith(self.PREFIX):
            return bytes.fromhex(text)
        try:
            raw = base64.b64decode(text[len(self.PREFIX):], validate=True)
            return self._aead.decrypt(raw[:12], raw[12:], context.encode())
        except (InvalidTag, ValueError) as exc:
            if self._webhook:
                raise KeyMaterialError("a webhook secret cannot be opened with this master key",
                                       code="webhook_secret_unreadable") from exc
            raise KeyMaterialError("a sealed salt cannot be opened with this master key",
                                   code="salt_unreadable") from exc
