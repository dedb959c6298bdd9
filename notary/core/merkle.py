"""Merkle trees byte-for-byte compatible with OpenZeppelin ``StandardMerkleTree`` (v1).

The rules (from ``@openzeppelin/merkle-tree`` 1.0.8, ``dist/core.js``/``hashes.js``):

* leaf  = keccak256(keccak256(abi.encode(values)))  -- double hashing so that no leaf can
  be confused with an internal node (their preimages are 64 bytes; ours are 96);
* node  = keccak256(min(a, b) ‖ max(a, b))  -- sorted pair, so a proof needs no
  left/right flags and ``MerkleProof.verify`` of OpenZeppelin Contracts accepts it;
* layout: leaves sorted ascending (as unsigned 256-bit numbers, i.e. bytewise), stored at
  the end of a flat array of 2n-1 nodes in reverse: ``tree[2n-2-i] = sorted_leaf[i]``;
  ``tree[i] = node(tree[2i+1], tree[2i+2])`` for the rest; the root is ``tree[0]``;
* a proof is the list of siblings from the leaf up to (not including) the root.

A one-leaf tree's root is that leaf, with an empty proof. Duplicate leaves are allowed.

The notary leaf is ``abi.encode(uint8 leaf_type, bytes32 subject_sha256,
bytes32 record_digest)``: the leaf type (:class:`LeafType`), the SHA-256 of the evidence
file, and the SHA-256 of the canonical statement (or custody record) bytes; for a log
checkpoint, the SHA-256 of its text and its root.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Final

from eth_hash.auto import keccak

from .errors import InputError, ProofError, RootMismatchError

__all__ = [
    "LEAF_ENCODING",
    "MAX_PROOF_LENGTH",
    "LeafType",
    "MerkleTree",
    "abi_encode_static",
    "from_hex32",
    "hash_pair",
    "keccak256",
    "leaf_hash",
    "leaf_values",
    "root_from_proof",
    "statement_leaf",
    "to_hex32",
    "verify_proof",
]

LEAF_ENCODING: Final[tuple[str, str, str]] = ("uint8", "bytes32", "bytes32")

#: No sorted-pair tree of at most 2**256 leaves is deeper than this; a longer "proof" is
#: rejected before any hashing.
MAX_PROOF_LENGTH: Final = 256

_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_UINT = re.compile(r"uint(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160"
                   r"|168|176|184|192|200|208|216|224|232|240|248|256)")


class LeafType(IntEnum):
    """First word of a notary leaf: what the record digest is a digest of."""

    STATEMENT = 1
    CUSTODY_EVENT = 2
    #: a checkpoint of the deployment's transparency log: subject = SHA-256 of the checkpoint
    #: text (c2sp.org/tlog-checkpoint, without signatures), record = its RFC 9162 root
    LOG_CHECKPOINT = 3


def _backend() -> Callable[[bytes], bytes]:
    """eth-hash's Keccak-256 on the fastest backend it has.

    The pysha3 backend (safe-pysha3, a dependency) hashes a 64-byte node in under a
    microsecond, five times faster than the pycryptodome backend that ``eth_hash.auto`` picks
    first (a tree of a million leaves needs three million hashes); both are eth-hash's own
    backends, so no private interface of a library is used. Without pysha3, eth_hash.auto.
    """
    try:
        from eth_hash.backends.pysha3 import keccak256 as fast
    except ImportError:  # pragma: no cover - safe-pysha3 is a pinned dependency
        return lambda data: bytes(keccak(data))
    return fast


_keccak256: Final = _backend()


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's, not NIST SHA3-256)."""
    return _keccak256(bytes(data) if type(data) is not bytes else data)



def to_hex32(value: bytes) -> str:
    """32 bytes as ``0x`` + 64 lower-case hex. Raises :class:`InputError` otherwise."""
    if not isinstance(value, bytes) or len(value) != 32:
        raise InputError("Expected exactly 32 bytes.", code="hex32_invalid")
    return "0x" + value.hex()


def from_hex32(text: str) -> bytes:
    """Parse ``0x`` + exactly 64 hex digits into 32 bytes. Raises :class:`InputError`
    (``hex32_invalid``) for anything else: no prefix, wrong length, whitespace."""
    if not isinstance(text, str) or _HEX32.fullmatch(text) is None:
        raise InputError(
            "Expected a 32-byte value written as 0x followed by 64 hex digits.",
            code="hex32_invalid",
        )
    return bytes.fromhex(text[2:])


def _address_bytes(value: object) -> bytes:
    if isinstance(value, bytes) and len(value) == 20:
        return value
    if isinstance(value, str) and _ADDRESS.fullmatch(value):
        body = value[2:]
        if body != body.lower() and body != body.upper():
            digest = keccak256(body.lower().encode("ascii")).hex()
            expected = "".join(
                c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c.lower()
                for i, c in enumerate(body.lower())
            )
            if body != expected:
                raise InputError("The address has a wrong EIP-55 checksum.", code="abi_invalid")
        return bytes.fromhex(body)
    raise InputError("An address must be 20 bytes or 0x + 40 hex digits.", code="abi_invalid")


def abi_encode_static(types: Sequence[str], values: Sequence[object]) -> bytes:
    """Solidity ``abi.encode`` for static types only: ``uint8`` ... ``uint256``,
    ``bytes32`` and ``address``; each value becomes one 32-byte word (numbers and
    addresses left-padded, ``bytes32`` as is).

    Values: ints (not bools) in range for uintN; exactly 32 ``bytes`` for bytes32; 20
    ``bytes`` or an 0x-hex string (EIP-55 checksum checked if mixed case) for address.
    Raises :class:`InputError` (``abi_invalid``) for a count mismatch, an unsupported
    type or an out-of-range value.
    """
    if len(types) != len(values):
        raise InputError(
            f"{len(values)} values for {len(types)} types.", code="abi_invalid"
        )
    words = []
    for i, (typ, value) in enumerate(zip(types, values, strict=True)):
        m = _UINT.fullmatch(typ)
        if m is not None:
            bits = int(m.group(1))
            if isinstance(value, bool) or not isinstance(value, int) or not (
                0 <= value < (1 << bits)
            ):
                raise InputError(
                    f"Value {i} must be an integer from 0 to 2**{bits}-1 for {typ}.",
                    code="abi_invalid",
                    index=i,
                )
            words.append(int(value).to_bytes(32, "big"))
        elif typ == "bytes32":
            if not isinstance(value, bytes) or len(value) != 32:
                raise InputError(
                    f"Value {i} must be exactly 32 bytes for bytes32.", code="abi_invalid", index=i
                )
            words.append(value)
        elif typ == "address":
            words.append(bytes(12) + _address_bytes(value))
        else:
            raise InputError(
                f"ABI type {typ!r} is not supported (static uintN, bytes32, address only).",
                code="abi_invalid",
                index=i,
            )
    return b"".join(words)


def leaf_hash(values: Sequence[object], types: Sequence[str]) -> bytes:
    """OpenZeppelin standard leaf: ``keccak256(keccak256(abi.encode(values)))``."""
    return keccak256(keccak256(abi_encode_static(types, values)))


_LEAF_TYPE_WORDS: Final = {int(t): int(t).to_bytes(32, "big") for t in LeafType}


def statement_leaf(
    statement_digest: bytes,
    evidence_sha256: bytes,
    leaf_type: LeafType = LeafType.STATEMENT,
) -> bytes:
    """The notary leaf for one record: values ``(leaf_type, evidence_sha256,
    statement_digest)`` under :data:`LEAF_ENCODING`. Note the order: the file's hash
    comes before the record's digest in the encoding."""
    word = _LEAF_TYPE_WORDS.get(leaf_type) if type(leaf_type) in (int, LeafType) else None
    if (
        word is None
        or type(evidence_sha256) is not bytes
        or type(statement_digest) is not bytes
        or len(evidence_sha256) != 32
        or len(statement_digest) != 32
    ):
        # The general path, which also raises the errors for bad input.
        return leaf_hash(
            (int(LeafType(leaf_type)), evidence_sha256, statement_digest), LEAF_ENCODING
        )
    # abi.encode(uint8, bytes32, bytes32) of valid values, without the general encoder.
    k = _keccak256
    return k(k(word + evidence_sha256 + statement_digest))


def leaf_values(
    statement_digest: bytes,
    evidence_sha256: bytes,
    leaf_type: LeafType = LeafType.STATEMENT,
) -> list[int | str]:
    """The values :func:`statement_leaf` hashes, as a proof states them (``leaf_values`` of
    ``proof.json`` and of the API's proofs): the leaf type, then the two digests as ``0x``
    hex, in the order of the encoding. Raises :class:`InputError` unless both are 32 bytes."""
    return [int(leaf_type), to_hex32(evidence_sha256), to_hex32(statement_digest)]


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Internal node: keccak256 of the two 32-byte children, smaller first."""
    return keccak256(a + b if a <= b else b + a)


def _check_node(value: object, what: str, reason: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ProofError(f"The {what} is not exactly 32 bytes.", reason=reason)
    return value


def root_from_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from ``leaf`` (no comparison; see
    :func:`verify_proof`). Inputs are checked before hashing: the leaf and every proof
    element must be 32 bytes and the proof at most :data:`MAX_PROOF_LENGTH` long, else
    :class:`ProofError` (``leaf_invalid``, ``proof_element_invalid``, ``proof_too_long``)."""
    _check_node(leaf, "leaf", "leaf_invalid")
    if isinstance(proof, (bytes, str)) or not isinstance(proof, Sequence):
        raise ProofError("The proof must be a list of 32-byte values.", reason="proof_invalid")
    if len(proof) > MAX_PROOF_LENGTH:
        raise ProofError(
            f"The proof has {len(proof)} elements; at most {MAX_PROOF_LENGTH} are possible.",
            reason="proof_too_long",
        )
    for i, element in enumerate(proof):
        if not isinstance(element, bytes) or len(element) != 32:
            raise ProofError(
                f"Proof element {i} is not exactly 32 bytes.",
                reason="proof_element_invalid",
                index=i,
            )
    node = leaf
    k = _keccak256
    for sibling in proof:
        node = k(node + sibling if node <= sibling else sibling + node)
    return node


def verify_proof(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> None:
    """Check that ``proof`` proves ``leaf`` under ``root``; return ``None`` or raise.

    Raises :class:`ProofError` for malformed input (see :func:`root_from_proof`; a root
    that is not 32 bytes has reason ``root_invalid``) and :class:`RootMismatchError`
    (carrying both roots) when the computed root differs.
    """
    _check_node(root, "root", "root_invalid")
    computed = root_from_proof(leaf, proof)
    if computed != root:
        raise RootMismatchError(
            "The Merkle proof leads to a different root than expected.",
            expected_root=root,
            computed_root=computed,
        )


class MerkleTree:
    """An OpenZeppelin-standard tree over 32-byte leaf hashes.

    Stored as one flat list of ``2n-1`` ``bytes`` (OpenZeppelin's layout), so a million
    leaves cost two million small bytes objects and no per-node Python objects.
    Build with :meth:`build`.
    """

    __slots__ = ("_index", "_n", "_tree")

    def __init__(self, tree: list[bytes], n: int) -> None:
        """Internal; use :meth:`build`."""
        self._tree = tree
        self._n = n
        self._index: dict[bytes, int] | None = None

    @classmethod
    def build(cls, leaves: Sequence[bytes]) -> MerkleTree:
        """Build from leaf hashes (any order; they are sorted as OpenZeppelin does).

        Raises :class:`InputError` (``leaves_invalid``) for no leaves or a leaf that is
        not 32 bytes.
        """
        n = len(leaves)
        if n == 0:
            raise InputError("A Merkle tree needs at least one leaf.", code="leaves_invalid")
        for i, leaf in enumerate(leaves):
            if not isinstance(leaf, bytes) or len(leaf) != 32:
                raise InputError(
                    f"Leaf {i} is not exactly 32 bytes.", code="leaves_invalid", index=i
                )
        ordered = sorted(leaves)
        ordered.reverse()
        # tree = [internal nodes (n-1)] + [leaves, largest first]; tree[2n-2-i] = ordered[i]
        tree: list[bytes] = [b""] * (n - 1) + ordered
        k = _keccak256
        for i in range(n - 2, -1, -1):
            a = tree[2 * i + 1]
            b = tree[2 * i + 2]
            tree[i] = k(a + b if a <= b else b + a)
        return cls(tree, n)

    @property
    def root(self) -> bytes:
        """The root (``tree[0]``); for one leaf, the leaf itself."""
        return self._tree[0]

    def __len__(self) -> int:
        return self._n

    @property
    def leaves(self) -> list[bytes]:
        """The leaves in ascending (sorted) order; ``proof_at(i)`` proves ``leaves[i]``."""
        out = self._tree[self._n - 1 :]
        out.reverse()
        return out

    def leaf_at(self, sorted_index: int) -> bytes:
        """The leaf at a position in sorted order."""
        return self._tree[self._tree_index(sorted_index)]

    def _tree_index(self, sorted_index: int) -> int:
        if isinstance(sorted_index, bool) or not 0 <= sorted_index < self._n:
            raise InputError(
                f"Leaf index {sorted_index} is out of range (0..{self._n - 1}).",
                code="leaf_index_invalid",
            )
        return len(self._tree) - 1 - sorted_index

    def proof_at(self, sorted_index: int) -> list[bytes]:
        """The proof for the leaf at ``sorted_index`` (sorted order): siblings from the
        leaf upward, exactly OpenZeppelin's ``getProof``."""
        i = self._tree_index(sorted_index)
        tree = self._tree
        proof = []
        while i > 0:
            proof.append(tree[i - 1 if i % 2 == 0 else i + 1])
            i = (i - 1) // 2
        return proof

    def index_of(self, leaf: bytes) -> int:
        """Sorted index of ``leaf``. For a duplicated leaf, the last one in sorted order,
        which is the one OpenZeppelin's ``getProof(value)`` proves. Raises
        :class:`InputError` (``leaf_not_in_tree``)."""
        if self._index is None:
            tree, last = self._tree, len(self._tree) - 1
            self._index = {tree[last - j]: j for j in range(self._n)}
        found = self._index.get(leaf) if isinstance(leaf, bytes) else None
        if found is None:
            raise InputError("The leaf is not in the tree.", code="leaf_not_in_tree")
        return found

    def proof_for(self, leaf: bytes) -> list[bytes]:
        """The proof for a leaf hash (see :meth:`index_of` for duplicates)."""
        return self.proof_at(self.index_of(leaf))
