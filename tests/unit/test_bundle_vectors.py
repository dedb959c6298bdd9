"""One whole proof bundle and its tampered copies (tests/vectors/bundle/) against the verifier
of ``notary verify``: the builders still write those bytes, and each check answers what
vectors.json says for each archive. The overall result is deliberately not asserted (without
a trust root it says only that the bundle is consistent with the keys it carries)."""

from __future__ import annotations

import importlib.util
import json
import sys
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from notary.bundles.check import verify_bundle_file
from notary.core.bundle import MANIFEST_MEDIA_TYPE
from notary.core.merkle import MerkleTree, from_hex32, statement_leaf, to_hex32, verify_proof
from notary.core.signing import verify_jws
from notary.core.statement import Statement

pytestmark = pytest.mark.unit

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
HERE = VECTORS / "bundle"
MANIFEST = json.loads((HERE / "vectors.json").read_text("utf-8"))
ARCHIVES: dict[str, Any] = MANIFEST["archives"]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("document_vectors",
                                                  VECTORS / "make_document_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


@pytest.fixture(scope="module")
def regenerated() -> tuple[dict[str, bytes], dict[str, Any]]:
    files: dict[str, bytes]
    files, vectors = GEN.bundle_vectors()
    return files, vectors


def test_every_file_is_described() -> None:
    on_disk = {p.name for p in HERE.iterdir()} - {"vectors.json"}
    assert on_disk == set(ARCHIVES) | {"valid.manifest.json", "valid.manifest.jws"}


def test_the_builders_still_write_the_committed_bundles(
        regenerated: tuple[dict[str, bytes], dict[str, Any]]) -> None:
    """The same facts give the same members, byte for byte, and the same archives with the
    zlib the vectors were made with, off Windows: deflate output may differ between zlib
    builds, and zipfile records the system that made an archive."""
    files, vectors = regenerated
    assert set(files) == set(ARCHIVES) | {"valid.manifest.json", "valid.manifest.jws"}
    assert json.dumps(vectors, ensure_ascii=False, indent=2) + "\n" == \
        (HERE / "vectors.json").read_text("utf-8")
    for name, data in files.items():
        committed = (HERE / name).read_bytes()
        if not name.endswith(".zip") or (zlib.ZLIB_RUNTIME_VERSION == MANIFEST["zlib"]
                                         and sys.platform != "win32"):
            assert data == committed, f"{name} differs from what the code writes today"
        else:
            assert GEN.read_members(data) == GEN.read_members(committed), name


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_archive(name: str) -> None:
    with (HERE / name).open("rb") as fp:
        result = verify_bundle_file(fp)
    got = {c.name: c.status.value for c in result.verdict.checks}
    expected = ARCHIVES[name]["checks"]
    reasons = {c.name: c.reason for c in result.verdict.checks}
    wrong = {check: (status, got.get(check), reasons.get(check))
             for check, status in expected.items() if got.get(check) != status}
    # Checks a later version adds (a trust root, say) are not asserted here.
    assert not wrong, wrong


def test_manifest_and_its_signature() -> None:
    members = dict(GEN.read_members((HERE / "valid.zip").read_bytes()))
    manifest = (HERE / "valid.manifest.json").read_bytes()
    signature = (HERE / "valid.manifest.jws").read_bytes()
    assert members["manifest.json"] == manifest and members["manifest.jws"] == signature
    order = list(members)
    assert order[0] == "mimetype" and order[-2:] == ["manifest.json", "manifest.jws"]
    header, payload = verify_jws(signature.decode(), {"keys": [
        MANIFEST["keys"]["notary"]["public_jwk"]]}, expected_typ=MANIFEST_MEDIA_TYPE)
    assert payload == manifest and header["kid"] == MANIFEST["keys"]["notary"]["public_jwk"]["kid"]
    doc = json.loads(manifest)
    assert GEN.canonical_json(doc) == manifest
    assert len(doc["files"]) == MANIFEST["manifest_files"]
    listed = {e["path"] for e in doc["files"]}
    assert listed == set(members) - {"manifest.json", "manifest.jws"}


def test_merkle_facts_are_those_of_the_items() -> None:
    members = dict(GEN.read_members((HERE / "valid.zip").read_bytes()))
    merkle = MANIFEST["merkle"]
    leaves = []
    for i, values in enumerate(merkle["leaf_values"]):
        d = f"items/{i + 1:03d}"
        statement = Statement.from_bytes(members[f"{d}/statement.json"])
        leaf = statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))
        assert values == [1, "0x" + statement.sha256, "0x" + statement.digest_hex()]
        assert to_hex32(leaf) == merkle["leaves"][i]
        proof = json.loads(members[f"{d}/proof.json"])
        assert proof["proof"] == merkle["proofs"][i] and proof["root"] == merkle["root"]
        verify_proof(from_hex32(merkle["root"]), leaf, [from_hex32(p) for p in proof["proof"]])
        leaves.append(leaf)
    assert to_hex32(MerkleTree.build(leaves).root) == merkle["root"]
