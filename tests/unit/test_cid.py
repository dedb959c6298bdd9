"""notary.core.cid: the CID must be exactly the one `ipfs add --cid-version 1 --raw-leaves` gives.

The `node`-marked tests cross-check against `ipfs-unixfs-importer` (the JS IPFS importer) via
tests/node/unixfs_cid.mjs; the others are pure (pinned vectors, multiformats-only single blocks,
chunking invariance).
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from multiformats import CID, multihash

from notary.core.cid import (
    CHUNK_SIZE,
    MAX_LINKS_PER_NODE,
    CidBuilder,
    cid_of_bytes,
    validate_cid,
)

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
NODE_SCRIPT = REPO / "tests" / "node" / "unixfs_cid.mjs"

# Pinned vectors (computed by ipfs-unixfs-importer 17.1.1 and by this module; they must never
# change: they are printed on certificates).
EMPTY_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
ZEROS_1MIB_CID = "bafybeiggzq4ryi7hscq5hzvzcnk4urnxt3asp37dhgvnjilf7exskximla"

SIZES = [
    0,
    1,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    3 * CHUNK_SIZE + 7,
    MAX_LINKS_PER_NODE * CHUNK_SIZE,  # one full node, one level
    MAX_LINKS_PER_NODE * CHUNK_SIZE + 1,  # two levels; the last chunk alone in its node
]


def _data(size: int, seed: int = 0) -> bytes:
    return random.Random(f"cid-{seed}-{size}").randbytes(size)


def _js_cid(path: Path, chunk_size: int | None = None) -> str:
    node = shutil.which("node")
    assert node is not None, "node is required for the cross-check tests (marker: node)"
    args = [node, str(NODE_SCRIPT), str(path)]
    if chunk_size is not None:
        args.append(str(chunk_size))
    out = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _feed(data: bytes, piece: int, builder: CidBuilder | None = None) -> str:
    b = builder if builder is not None else CidBuilder()
    view = memoryview(data)
    for pos in range(0, len(data), piece):
        b.update(view[pos : pos + piece])
    return b.finish()


class _SmallChunks(CidBuilder):
    """Same algorithm with tiny chunks, to build deep trees from little data (tests only)."""

    _chunk_size = 1


# --- pure ---------------------------------------------------------------------------------


def test_pinned_vectors() -> None:
    assert cid_of_bytes(b"") == EMPTY_CID
    assert cid_of_bytes(bytes(1024 * 1024)) == ZEROS_1MIB_CID


@pytest.mark.parametrize("size", [0, 1, 1000, CHUNK_SIZE - 1, CHUNK_SIZE])
def test_single_block_is_raw_cid(size: int) -> None:
    data = _data(size)
    expected = str(CID("base32", 1, "raw", multihash.digest(data, "sha2-256")))
    assert cid_of_bytes(data) == expected
    assert expected.startswith("bafkrei")


def test_multi_block_is_dag_pb_base32() -> None:
    cid = cid_of_bytes(_data(CHUNK_SIZE + 1))
    parsed = CID.decode(cid)
    assert cid.startswith("bafybei")
    assert (parsed.version, parsed.codec.name, parsed.hashfun.name) == (1, "dag-pb", "sha2-256")


@pytest.mark.parametrize("size", [3 * CHUNK_SIZE + 7, MAX_LINKS_PER_NODE * CHUNK_SIZE + 1])
def test_chunking_of_input_does_not_matter(size: int) -> None:
    data = _data(size)
    expected = cid_of_bytes(data)
    pieces = [65536, 1024 * 1024, CHUNK_SIZE - 1, CHUNK_SIZE + 1]
    if size < 1024 * 1024:
        pieces += [1, 7]  # tiny updates cost ~0.5 s per MB: only on the small input
    for piece in pieces:
        assert _feed(data, piece) == expected, piece
    # irregular piece sizes, including empty updates
    b = CidBuilder()
    rng = random.Random(size)
    pos = 0
    while pos < size:
        n = rng.choice([0, 1, 3, 4096, 100_000, 300_000])
        b.update(data[pos : pos + n])
        pos += n
    assert b.finish() == expected
    assert b.size == size


def test_accepts_bytearray_and_memoryview() -> None:
    data = _data(CHUNK_SIZE * 2 + 5)
    assert cid_of_bytes(bytearray(data)) == cid_of_bytes(data) == cid_of_bytes(memoryview(data))


def test_finish_is_idempotent_and_final() -> None:
    b = CidBuilder()
    b.update(b"abc")
    first = b.finish()
    assert b.finish() == first
    with pytest.raises(ValueError):
        b.update(b"more")


def test_memory_is_per_chunk_digests_only() -> None:
    b = CidBuilder()
    chunk = bytes(CHUNK_SIZE)
    for _ in range(1000):  # 250 MiB
        b.update(chunk)
    assert len(b._digests) == 1000 * 32
    assert b.finish().startswith("bafybei")


def test_validate_cid() -> None:
    assert validate_cid(EMPTY_CID) == EMPTY_CID
    assert validate_cid(ZEROS_1MIB_CID) == ZEROS_1MIB_CID
    for bad in [
        "",
        "b",
        "../../etc/passwd",
        "bafy/../x",
        EMPTY_CID.upper(),  # base32upper: not canonical
        "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH",  # CIDv0
        "zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA",  # base58btc CIDv1
        EMPTY_CID[:-1],
        EMPTY_CID + "a",
        str(CID("base32", 1, "dag-cbor", multihash.digest(b"", "sha2-256"))),
        str(CID("base32", 1, "raw", multihash.digest(b"", "sha2-512"))),
    ]:
        with pytest.raises(ValueError):
            validate_cid(bad)


# --- cross-checks against ipfs-unixfs-importer --------------------------------------------


@pytest.mark.node
@pytest.mark.parametrize("size", SIZES)
def test_matches_js_importer(size: int, tmp_path: Path) -> None:
    data = _data(size)
    path = tmp_path / "blob"
    path.write_bytes(data)
    ours = cid_of_bytes(data)
    assert ours == _js_cid(path)
    assert _feed(data, 65536) == ours


@pytest.mark.node
def test_pinned_vectors_match_js_importer(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    zeros = tmp_path / "zeros"
    zeros.write_bytes(bytes(1024 * 1024))
    assert _js_cid(empty) == EMPTY_CID
    assert _js_cid(zeros) == ZEROS_1MIB_CID


@pytest.mark.node
@pytest.mark.parametrize(
    "size",
    [
        2,
        MAX_LINKS_PER_NODE,
        MAX_LINKS_PER_NODE + 1,
        MAX_LINKS_PER_NODE * MAX_LINKS_PER_NODE,  # exactly two full levels
        MAX_LINKS_PER_NODE * MAX_LINKS_PER_NODE + 1,  # three levels, lone chain on the right
        2 * MAX_LINKS_PER_NODE * MAX_LINKS_PER_NODE + 3 * MAX_LINKS_PER_NODE + 5,
    ],
)
def test_deep_trees_match_js_importer(size: int, tmp_path: Path) -> None:
    """Tree shape (balanced layout, lone nodes wrapped at every level) with 1-byte chunks."""
    data = _data(size, seed=1)
    path = tmp_path / "blob"
    path.write_bytes(data)
    ours = _feed(data, 1000, _SmallChunks())
    assert ours == _js_cid(path, chunk_size=1)
