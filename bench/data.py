"""Inputs for the benchmarks: incompressible files and synthetic Merkle leaves, reproducible
from a seed (AES-CTR keystream), so every run measures the same bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_BLOCK = 8 << 20


def keystream(seed: str) -> object:
    key = hashlib.sha256(seed.encode()).digest()
    return Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()


def write_random_file(path: Path, size: int, seed: str = "notary-bench") -> Path:
    """``size`` pseudo-random bytes at ``path`` (about 2 GB/s), fsynced."""
    enc = keystream(seed)
    zeros = bytes(_BLOCK)
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            n = min(left, _BLOCK)
            fh.write(enc.update(zeros[:n]))  # type: ignore[attr-defined]
            left -= n
        fh.flush()
        os.fsync(fh.fileno())
    return path


def random_bytes(n: int, seed: str) -> bytes:
    return keystream(seed).update(bytes(n))  # type: ignore[attr-defined, no-any-return]


def leaf_values(n: int, seed: str = "notary-bench-leaves") -> list[tuple[int, bytes, bytes]]:
    """``n`` notary leaf values ``(1, file sha256, statement digest)``: 64 random bytes each."""
    raw = random_bytes(64 * n, seed)
    return [(1, raw[64 * i: 64 * i + 32], raw[64 * i + 32: 64 * i + 64]) for i in range(n)]
