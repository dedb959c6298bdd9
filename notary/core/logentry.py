"""The entries of a deployment's transparency log (issue 19): what one leaf commits to.

Every statement, when it is accepted, and every custody event is appended to one RFC 9162
tree per deployment (notary.core.tlog). An entry is 47 bytes::

    "notary-log-v1" || 0x00 || type || SHA-256(signed bytes)

``type`` is 0x01 for a statement and 0x02 for a custody event; the signed bytes are the JWS
compact serialisation exactly as issued (ASCII), so the entry commits to the signature and the
signing key too. The leaf hash is RFC 9162's ``SHA-256(0x00 || entry)``. Why hashes only: the
log is public (anyone may fetch checkpoints and proofs), the statements are not; a hash of a
signed JWS, which holds random identifiers and a signature, cannot be guessed back.
"""

from __future__ import annotations

import hashlib
from enum import IntEnum

from .merkle import LeafType, statement_leaf
from .note import Checkpoint
from .tlog import leaf_hash

DOMAIN = b"notary-log-v1\x00"


class EntryType(IntEnum):
    STATEMENT = 1
    CUSTODY_EVENT = 2


def entry_bytes(kind: EntryType, signed_sha256: bytes) -> bytes:
    """The entry for a signed object whose SHA-256 is ``signed_sha256``."""
    if len(signed_sha256) != 32:
        raise ValueError("an entry holds a 32-byte SHA-256")
    return DOMAIN + bytes([kind]) + signed_sha256


def signed_sha256(jws: str) -> bytes:
    """SHA-256 of a JWS compact serialisation, as issued."""
    return hashlib.sha256(jws.encode("ascii")).digest()


def entry_leaf(kind: EntryType, jws: str) -> bytes:
    """The leaf hash of the entry of ``jws``: what an inclusion proof starts from."""
    return leaf_hash(entry_bytes(kind, signed_sha256(jws)))


def checkpoint_leaf(text: bytes) -> bytes:
    """The anchoring batch's leaf for a log checkpoint: the notary leaf
    ``(3, SHA-256(text), root)`` (notary.core.merkle, LeafType.LOG_CHECKPOINT) of the
    checkpoint ``text`` (origin, size, root: the note's text without its signatures). So a
    checkpoint's root is anchored on chain like a statement, and the signatures and
    cosignatures on it, which may be added later, do not change its leaf. Raises NoteError
    unless ``text`` is a canonical checkpoint."""
    checkpoint = Checkpoint.parse(text)
    return statement_leaf(checkpoint.root, hashlib.sha256(text).digest(), LeafType.LOG_CHECKPOINT)
