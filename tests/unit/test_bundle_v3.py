"""Bundle version 3 (docs/bundle-format.md): a case bundle written by the service's own
writer (``write_bundle``) with ONE case certificate listing the items and no per-item
certificates verifies; tampering with that certificate, an item's entry or an item's
documents fails; version 2 bundles still verify under version 2's rules and limits."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest

from bench.casebundle import synthetic_case
from notary.bundles.archive import read_archive
from notary.bundles.check import verify_bundle_file
from notary.bundles.guide import render_guide
from notary.core.bundle import (
    BUNDLE_V2_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    BundleFacts,
    open_bundle,
)
from notary.core.errors import UnsafeBundle
from notary.core.signing import SigningKey
from notary.core.statement import canonical_json
from notary.core.verdict import Verdict
from notary.service.bundles import _certificates, write_bundle
from tests.bundle.repack import member, names, rezip

pytestmark = pytest.mark.unit

KEY = SigningKey.from_seed(hashlib.sha256(b"bench case key (public)").digest())
STRANGER = SigningKey.from_seed(hashlib.sha256(b"somebody else (public)").digest())
V2_VECTOR = Path(__file__).resolve().parents[1] / "vectors" / "bundle" / "valid.zip"


class _Ticket:
    cancel = threading.Event()

    def check(self) -> None:
        pass


def _write(facts: BundleFacts, *, certificates: bool = True) -> bytes:
    certs = (_certificates(facts, "https://notary.test/verify", None, _Ticket())  # type: ignore[arg-type]
             if certificates else {})
    guide = render_guide(facts, local_chain=True)
    return b"".join(write_bundle(facts, guide, certs, KEY, lambda item, row: [],
                                 [None] * len(facts.items)))


@cache
def case_bundle() -> bytes:
    """A hashes-only case of 12 items, with its case certificate."""
    return _write(synthetic_case(12, key=KEY))


def _verdict(data: bytes) -> Verdict:
    return verify_bundle_file(io.BytesIO(data)).verdict


def _resigned_manifest(data: bytes, change: object, key: SigningKey = KEY) -> bytes:
    doc = json.loads(member(data, "manifest.json"))
    change(doc)  # type: ignore[operator]
    body = canonical_json(doc)
    return rezip(data, {"manifest.json": body,
                        "manifest.jws": key.sign(body, MANIFEST_MEDIA_TYPE).encode()})


def test_a_v3_case_bundle_verifies_with_one_case_certificate() -> None:
    data = case_bundle()
    assert member(data, "mimetype") == b"application/vnd.notary.bundle.v3+zip"
    manifest = json.loads(member(data, "manifest.json"))
    assert manifest["bundle_version"] == 3 and len(manifest["items"]) == 12
    assert not [n for n in names(data) if n.startswith("items/") and "certificate" in n]
    html = member(data, "certificate.html").decode()
    for item in manifest["items"]:  # the listing names every item and its SHA-256
        statement = json.loads(member(data, f"{item['path']}/statement.json"))
        assert statement["sha256"] in html and statement["file_name"] in html
    assert member(data, "certificate.pdf").startswith(b"%PDF-")
    verdict = _verdict(data)
    assert verdict.result == "valid", verdict.to_json()
    assert not verdict.failed


def test_a_large_case_manifest_is_signed_and_verified() -> None:
    """From about 100 items a manifest's signature is larger than the 96 KiB any other token
    may be (a v2 case bundle of that size could not verify): v3 reads it."""
    data = _write(synthetic_case(110, key=KEY), certificates=False)
    assert len(member(data, "manifest.jws")) > 96 * 1024
    verdict = _verdict(data)
    assert verdict.result == "valid", [c.reason for c in verdict.failed]


def test_a_changed_case_certificate_fails_the_manifest() -> None:
    data = case_bundle()
    html = member(data, "certificate.html").replace(b"call-7.wav", b"call-8.wav", 1)
    verdict = _verdict(rezip(data, {"certificate.html": html}))
    assert verdict.result == "invalid"
    assert verdict.check("manifest").status.value == "fail"
    assert "certificate.html" in verdict.check("manifest").reason


def test_a_changed_item_entry_fails() -> None:
    data = case_bundle()

    def other_id(doc: dict[str, list[dict[str, str]]]) -> None:
        doc["items"][4]["evidence_id"] = "ev_" + "f" * 32

    # The signature as made no longer covers the manifest.
    doc = json.loads(member(data, "manifest.json"))
    other_id(doc)
    verdict = _verdict(rezip(data, {"manifest.json": canonical_json(doc)}))
    assert verdict.check("manifest_signature").status.value == "fail"
    # Re-signed by the notary's own key (a forger cannot): the item's entry no longer names
    # its statement's evidence.
    verdict = _verdict(_resigned_manifest(data, other_id))
    assert verdict.result == "invalid"
    assert {c.name for c in verdict.failed} & {"case_sequence", "items[4].statement_signature",
                                              "items[4].receipt_signature"}, verdict.to_json()
    # Re-signed by a stranger: the signature fails.
    verdict = _verdict(_resigned_manifest(data, lambda d: None, STRANGER))
    assert verdict.check("manifest_signature").status.value == "fail"


def test_a_changed_item_document_fails() -> None:
    data = case_bundle()
    statement = member(data, "items/010/statement.json").replace(b"call-10", b"call-11", 1)
    verdict = _verdict(rezip(data, {"items/010/statement.json": statement}))
    assert verdict.result == "invalid"
    assert verdict.check("manifest").status.value == "fail"
    assert verdict.check("items[9].statement_signature").status.value == "fail"


def test_a_version_2_bundle_still_verifies() -> None:
    """The committed v2 vector, and a v2 bundle written now (per-version writer): valid."""
    vector = V2_VECTOR.read_bytes()
    assert member(vector, "mimetype") == BUNDLE_V2_MEDIA_TYPE.encode()
    assert not _verdict(vector).failed
    facts = replace(synthetic_case(3, key=KEY), version=2)
    data = _write(facts, certificates=False)
    assert member(data, "mimetype") == BUNDLE_V2_MEDIA_TYPE.encode()
    result = verify_bundle_file(io.BytesIO(data))
    assert result.verdict.result == "valid", result.verdict.to_json()
    assert result.facts["bundle_version"] == 2


def test_version_2_keeps_its_limits() -> None:
    """A v2 manifest of more than 1,000 items is refused unread, as before; v3 allows 10,000."""
    data = _write(replace(synthetic_case(2, key=KEY), version=2), certificates=False)
    doc = json.loads(member(data, "manifest.json"))
    doc["items"] = [dict(doc["items"][0], case_seq=i, path=f"items/{i:03d}")
                    for i in range(1, 1002)]
    body = canonical_json(doc)
    with pytest.raises(UnsafeBundle) as caught:
        open_bundle(read_archive(io.BytesIO(rezip(data, {"manifest.json": body}))))
    assert caught.value.reason == "manifest_too_large"
    # The same manifest as v3 is read (and then fails its checks, not the limits).
    doc.update(bundle_version=3, media_type="application/vnd.notary.bundle.v3+zip")
    body = canonical_json(doc)
    v3 = rezip(data, {"mimetype": b"application/vnd.notary.bundle.v3+zip",
                      "manifest.json": body})
    assert open_bundle(read_archive(io.BytesIO(v3))).version == 3
    # ... up to v3's own limit.
    doc["items"] = [dict(doc["items"][0], case_seq=i, path=f"items/{i:03d}")
                    for i in range(1, 10_002)]
    over = rezip(v3, {"manifest.json": canonical_json(doc)})
    with pytest.raises(UnsafeBundle) as caught:
        open_bundle(read_archive(io.BytesIO(over)))
    assert caught.value.reason == "manifest_too_large"
