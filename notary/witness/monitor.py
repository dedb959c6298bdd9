"""Opening a witness's key and watching for split views.

A monitor gathers the checkpoints a log has shown to different parties (each witness's latest
cosigned one, and any the user holds, e.g. from proof bundles), keeps those the log signed,
and reports two of the same size with different roots: the log showed two histories.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from notary.core.note import (
    COSIGNATURE,
    Checkpoint,
    Note,
    NoteError,
    Signer,
    Verifier,
)
from notary.keyfiles import load_or_create
from notary.witness_client import add_checkpoint

__all__ = ["add_checkpoint", "gather", "load_signer", "split_views", "witness_checkpoint"]

KEY_FILE = "witness.key"


def load_signer(directory: Path, name: str) -> Signer:
    """The witness's cosigning key in ``directory``, created (0600) on first use."""
    def make() -> bytes:
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())

    directory.mkdir(parents=True, exist_ok=True)
    key = serialization.load_pem_private_key(load_or_create(directory / KEY_FILE, make), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise NoteError("the witness key is not an Ed25519 key")
    return Signer(name, COSIGNATURE, key)


def witness_checkpoint(url: str, origin: str, timeout: float = 10.0) -> bytes | None:
    """The latest checkpoint the witness cosigned for ``origin``: None when it cosigned none
    (404); NoteError when it cannot be reached or answers anything else, since a witness
    that hides its view must not look like one that agrees."""
    origin_hash = hashlib.sha256(origin.encode()).hexdigest()
    try:
        resp = httpx.get(f"{url.rstrip('/')}/{origin_hash}/checkpoint", timeout=timeout)
    except httpx.HTTPError as exc:
        raise NoteError(f"{url}: unreachable ({exc})") from None
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        raise NoteError(f"{url}: answered {resp.status_code} for {origin}'s checkpoint")
    return resp.content


@dataclass(frozen=True)
class Sighting:
    """One checkpoint the log signed, and where it was seen."""

    source: str
    checkpoint: Checkpoint
    cosigned_by: tuple[str, ...]


@dataclass(frozen=True)
class SplitView:
    """Two sightings of one size with different roots."""

    first: Sighting
    second: Sighting


def gather(log: Sequence[Verifier], witnesses: Sequence[Verifier], notes: Iterable[
        tuple[str, bytes]]) -> tuple[list[Sighting], list[str]]:
    """The sightings among ``notes`` (source, bytes) signed by the log, and one problem line
    per note that is not."""
    sightings, problems = [], []
    for source, data in notes:
        try:
            note = Note.parse(data)
            note.verify(log)
            cosigners = note.verify([*log, *witnesses]) if witnesses else {}
            sightings.append(Sighting(source, Checkpoint.parse(note.text), tuple(
                v.name for v in cosigners if v.sig_type == COSIGNATURE)))
        except (NoteError, UnicodeDecodeError) as exc:
            problems.append(f"{source}: {exc}")
    return sightings, problems


def split_views(sightings: Sequence[Sighting]) -> list[SplitView]:
    """Every pair of sightings of the same origin and size with different roots."""
    out = []
    for i, a in enumerate(sightings):
        for b in sightings[i + 1:]:
            if (a.checkpoint.origin, a.checkpoint.size) == (b.checkpoint.origin,
                                                            b.checkpoint.size) \
                    and a.checkpoint.root != b.checkpoint.root:
                out.append(SplitView(a, b))
    return out
