"""notary.core.bundle and the archive adapter without a chain: a bundle built in memory from
a synthetic two-entry case, the strict document rules, key periods, and the key history
file kept by the service."""

from __future__ import annotations

import io
import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from notary.bundles.archive import BundleWriter, read_archive
from notary.bundles.guide import batch_of_calldata, render_guide, verify_inclusion_calldata
from notary.core.bundle import (
    BATCH_ANCHORED_TOPIC,
    BUNDLE_MEDIA_TYPE,
    AnchorQuery,
    BundleFacts,
    BundleItem,
    ChainObservation,
    KeyPeriod,
    anchor_queries,
    build_manifest,
    is_safe_original,
    key_history,
    member_path_problem,
    open_bundle,
    original_name,
    parse_key_history,
    verify_bundle,
)
from notary.core.custody import CustodyAct, CustodyEvent, sign_event
from notary.core.digest import digest_bytes
from notary.core.errors import KeyMaterialError, NotaryError, UnreadableBundle
from notary.core.merkle import MerkleTree, statement_leaf, to_hex32
from notary.core.signing import SigningKey, jwk_thumbprint, sign_receipt, sign_statement
from notary.core.statement import Statement, canonical_json
from notary.core.verdict import AnchorFacts
from notary.keyfiles import KEY_HISTORY_FILE, load_signing_key, record_key_history

pytestmark = pytest.mark.unit

KEY = SigningKey.from_seed(bytes(range(32)))
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
FILES = [b"RIFF....WAVE synthetic call", b"%PDF-1.7 synthetic notice"]
CREATED = datetime(2026, 11, 29, 12, 0, 5, tzinfo=UTC)
HISTORY = key_history([(KEY.public_jwk(), KeyPeriod(KEY.kid, "2026-11-29T00:00:00.000000Z"))])


def _statements() -> list[Statement]:
    out: list[Statement] = []
    for i, data in enumerate(FILES, start=1):
        out.append(Statement(
            evidence_id=f"ev-{i}", case_id="HX-2026-1128-ZW", case_seq=i,
            prev_statement=out[-1].digest_hex() if out else None,
            kind="call_recording" if i == 1 else "notice",
            media_type="application/octet-stream", size=len(data),
            sha256=digest_bytes(data).hex, file_name=f"file-{i}.bin",
            received_at=f"2026-11-29T12:00:0{i}.000000Z", submitter="apikey:test"))
    return out


def _receipt(anchor: AnchorFacts) -> dict[str, Any]:
    """A receipt shaped like anvil's eth_getTransactionReceipt result."""
    return {
        "transactionHash": anchor.tx_hash, "blockHash": anchor.block_hash,
        "blockNumber": hex(anchor.block_number), "blockTimestamp": anchor.block_timestamp,
        "status": "0x1", "to": anchor.contract.lower(), "contractAddress": None,
        "logs": [{"address": anchor.contract.lower(), "data": "0x" + "00" * 64,
                  "topics": [BATCH_ANCHORED_TOPIC, "0x" + anchor.batch_id.to_bytes(32, "big").hex(),
                             to_hex32(anchor.root)], "removed": False}],
    }


def _custody(statement: Statement) -> tuple[str, ...]:
    """A one-event custody log: the item's registration."""
    event = CustodyEvent(evidence_id=statement.evidence_id, seq=1, act=CustodyAct.REGISTERED,
                         actor="apikey:test (collector@default)", tenant="default",
                         at=statement.received_at,
                         detail={"statement_sha256": statement.digest_hex()})
    return (sign_event(event, KEY),)


def _facts(hashes_only: bool = False) -> BundleFacts:
    statements = _statements()
    leaves = [statement_leaf(s.digest(), bytes.fromhex(s.sha256)) for s in statements]
    tree = MerkleTree.build(leaves)
    anchor = AnchorFacts(chain_id=31337, contract=CONTRACT, batch_id=7, root=tree.root,
                         block_number=12, block_hash="0x" + "ab" * 32,
                         block_timestamp=1796040003, tx_hash="0x" + "cd" * 32)
    items = tuple(
        BundleItem(evidence_id=s.evidence_id, case_seq=s.case_seq, file_name=s.file_name,
                   statement_jws=sign_statement(s, KEY),
                   receipt_jws=sign_receipt(s.digest_hex(), s.evidence_id,
                                            "2026-11-29T12:05:00.000000Z", s.received_at, KEY),
                   proof=tuple(tree.proof_for(leaf)), anchor=anchor, raw_receipt=_receipt(anchor),
                   custody=_custody(s))
        for s, leaf in zip(statements, leaves, strict=True))
    return BundleFacts(scope="case", case_id="HX-2026-1128-ZW", created_at=CREATED,
                       hashes_only=hashes_only, items=items, keys=HISTORY)


def _write(facts: BundleFacts, *, manifest: bytes | None = None,
           extra: dict[str, bytes] | None = None) -> bytes:
    writer = BundleWriter(facts.created_at, facts.version)
    out = writer.take()
    for item, data in zip(facts.items, FILES, strict=True):
        for path, doc in item.documents().items():
            out += writer.add(path, doc)
        if not facts.hashes_only:
            out += b"".join(writer.add_stream(item.original_path, iter([data]), len(data)))
    out += writer.add("keys/jwks.json", facts.keys)
    for path, data in (extra or {}).items():
        out += writer.add(path, data)
    body = manifest if manifest is not None else build_manifest(facts, writer.digests)
    out += writer.add("manifest.json", body)
    out += writer.add("manifest.jws",
                      KEY.sign(body, "application/vnd.notary.bundle-manifest.v1+json").encode())
    return out + writer.finish()


def _verify(data: bytes, observations: dict[AnchorQuery, ChainObservation] | None = None):
    bundle = open_bundle(read_archive(io.BytesIO(data)))
    return verify_bundle(bundle, observations=observations).verdict


def _observed(facts: BundleFacts, **change: Any) -> dict[AnchorQuery, ChainObservation]:
    anchor = facts.items[0].anchor
    query = AnchorQuery(anchor.chain_id, anchor.contract.lower(), anchor.root)
    fields: dict[str, Any] = {"node": "http://node", "chain_id": 31337, "registry_found": True,
                              "anchor": anchor}
    fields.update(change)
    return {query: ChainObservation(**fields)}


def test_round_trip_valid_offline_and_online() -> None:
    facts = _facts()
    data = _write(facts)
    offline = _verify(data)
    assert offline.result == "valid" and offline.qualified
    assert [c.name for c in offline.skipped] == ["items[0].chain_anchor", "items[1].chain_anchor"]
    bundle = open_bundle(read_archive(io.BytesIO(data)))
    assert anchor_queries(bundle) == list(_observed(facts))
    online = _verify(data, _observed(facts))
    assert online.result == "valid" and not online.qualified, online.to_json()


def test_hashes_only_is_valid_but_qualified() -> None:
    verdict = _verify(_write(_facts(hashes_only=True)))
    assert verdict.result == "valid" and verdict.qualified
    assert {c.name for c in verdict.skipped} >= {"items[0].file_hash", "items[1].file_hash"}


@pytest.mark.parametrize(("change", "status", "words"), [
    ({"error": "connection refused"}, "skip", "could not be asked about this anchor"),
    ({"chain_id": 1}, "fail", "is on chain id 1"),
    ({"registry_found": False}, "fail", "no EvidenceRegistry"),
    ({"anchor": None}, "fail", "has no anchor of the Merkle root"),
])
def test_chain_observations(change: dict[str, Any], status: str, words: str) -> None:
    facts = _facts()
    verdict = _verify(_write(facts), _observed(facts, **change))
    check = verdict.check("items[1].chain_anchor")
    assert check.status.value == status and words in check.reason


def test_chain_observation_of_another_block() -> None:
    facts = _facts()
    other = replace(facts.items[0].anchor, block_number=13, block_hash="0x" + "ef" * 32)
    check = _verify(_write(facts), _observed(facts, anchor=other)).check("items[0].chain_anchor")
    assert check.status.value == "fail"
    assert "block number (claimed 12, on chain 13)" in check.reason


def test_unknown_manifest_field_and_non_canonical_manifest_fail_the_manifest() -> None:
    facts = _facts()
    good = json.loads(read_archive(io.BytesIO(_write(facts))).documents["manifest.json"])
    extra = canonical_json({**good, "comment": "x"})
    check = _verify(_write(facts, manifest=extra)).check("manifest")
    assert check.status.value == "fail" and "unknown field(s): comment" in check.reason
    pretty = json.dumps(good, indent=1).encode()
    check = _verify(_write(facts, manifest=pretty)).check("manifest")
    assert check.status.value == "fail" and "canonical" in check.reason


def test_unknown_bundle_version_is_refused_unread() -> None:
    facts = _facts()
    manifest = canonical_json({"bundle_version": 4, "media_type": BUNDLE_MEDIA_TYPE})
    with pytest.raises(UnreadableBundle) as caught:
        _verify(_write(facts, manifest=manifest))
    assert caught.value.reason == "version_unsupported"


def test_a_key_retired_before_signing_fails_key_validity() -> None:
    history = key_history([(KEY.public_jwk(), KeyPeriod(KEY.kid, "2026-11-29T00:00:00Z",
                                                          "2026-11-29T12:00:02Z"))])
    verdict = _verify(_write(replace(_facts(), keys=history)))
    assert verdict.check("items[0].key_validity").status.value == "pass"
    second = verdict.check("items[1].key_validity")
    assert second.status.value == "fail" and "until 2026-11-29T12:00:02Z" in second.reason
    assert verdict.check("manifest_signature").status.value == "fail"


def test_key_period_bounds() -> None:
    period = KeyPeriod("k", "2026-11-29T12:00:00.000000Z", "2026-11-29T13:00:00Z")
    assert period.covers("2026-11-29T12:00:00Z")
    assert period.covers("2026-11-29T12:59:60.5Z")  # a leap second
    assert not period.covers("2026-11-29T11:59:59.999999Z")
    assert not period.covers("2026-11-29T13:00:00.000000001Z")


@pytest.mark.parametrize(("name", "change", "words"), [
    ("unknown-member", {"x5c": ["..."]}, "unknown member"),
    ("wrong-kid", {"kid": "abc"}, "thumbprint"),
    ("no-valid-from", {"valid_from": None}, "validity period"),
    ("local-time", {"valid_from": "2026-11-29T08:00:00+08:00"}, "validity period"),
    ("ends-before-it-starts", {"valid_until": "2026-01-01T00:00:00Z"}, "before it is valid"),
    ("private-key", {"d": "AAAA"}, "unknown member"),
])
def test_key_history_rejects(name: str, change: dict[str, Any], words: str) -> None:
    jwk = {**KEY.public_jwk(), "valid_from": "2026-11-29T00:00:00Z", **change}
    jwk = {k: v for k, v in jwk.items() if v is not None}
    with pytest.raises(NotaryError) as caught:
        parse_key_history(json.dumps({"keys": [jwk]}).encode())
    assert words in caught.value.message


def test_key_history_rejects_duplicates_and_extra_members() -> None:
    jwk = {**KEY.public_jwk(), "valid_from": "2026-11-29T00:00:00Z"}
    with pytest.raises(NotaryError, match="listed twice"):
        parse_key_history(json.dumps({"keys": [jwk, jwk]}).encode())
    with pytest.raises(NotaryError, match="only a 'keys' member"):
        parse_key_history(json.dumps({"keys": [jwk], "issuer": "x"}).encode())


@pytest.mark.parametrize(("path", "problem"), [
    ("items/001/statement.jws", None),
    ("items/001/original/录音 2026.wav", None),
    ("../evil", "segment"),
    ("items/./x", "segment"),
    ("a//b", "segment"),
    ("/etc/passwd", "absolute"),
    ("a\\b", "backslash"),
    ("C:/x", "':'"),
    ("a\u0001b", "control"),
    ("items/", "directory"),
    ("x" * 401, "longer"),
])
def test_member_paths(path: str, problem: str | None) -> None:
    found = member_path_problem(path)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(("name", "stored"), [
    ("call-2026-11-28-0930.wav", "call-2026-11-28-0930.wav"),
    ("notice.v2.PDF", "notice.v2.PDF"),
    ("催收通知 2026-11-28.pdf", "original.pdf"),
    ("CON.pdf", "original.pdf"),
    ("a:b.pdf", "original.pdf"),
    ("what?.wav", "original.wav"),
    ("trailing.", "original.bin"),
    ("-rf.wav", "original.wav"),
    ("run.sh", "original.bin"),
    ("rec'; touch PWNED_x; echo '.wav", "original.wav"),
    ("x" * 250 + ".tar.gz", "original.gz"),
])
def test_original_names_are_safe_in_a_shell_and_a_url(name: str, stored: str) -> None:
    assert original_name(name) == stored
    assert is_safe_original(stored)


def test_registry_constants_match_the_contract_docs() -> None:
    assert BATCH_ANCHORED_TOPIC == (
        "0x3f0eb76a3719f49e79442361ee950b3d4af49e7a1bc99688270d2cbec3c6328a")
    root, leaf, step = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    data = verify_inclusion_calldata(root, [step], leaf)
    assert data == ("0x56b504ed" + root.hex() + (0x60).to_bytes(32, "big").hex() + leaf.hex()
                    + (1).to_bytes(32, "big").hex() + step.hex())
    assert batch_of_calldata(root) == "0xaee05732" + root.hex()


def test_signing_key_history_is_kept_across_restarts_and_rotation(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    first = load_signing_key(keys, None)
    history = (keys / KEY_HISTORY_FILE).read_bytes()
    _, periods = parse_key_history(history)
    assert list(periods) == [first.kid] and periods[first.kid].valid_until is None
    assert load_signing_key(keys, None).kid == first.kid
    assert (keys / KEY_HISTORY_FILE).read_bytes() == history  # unchanged on restart
    assert oct(os.stat(keys / KEY_HISTORY_FILE).st_mode & 0o777) == "0o600"  # as all of keys/
    # Rotation: a new key file retires the old key at the new key's creation.
    (keys / "signing-key.pem").unlink()
    second = load_signing_key(keys, None)
    jwks, periods = parse_key_history((keys / KEY_HISTORY_FILE).read_bytes())
    assert [jwk_thumbprint(k) for k in jwks["keys"]] == [first.kid, second.kid]
    assert periods[first.kid].valid_until == periods[second.kid].valid_from
    assert periods[second.kid].valid_until is None
    # A retired key is never used again.
    (keys / "signing-key.pem").write_bytes(first.to_pem())
    os.chmod(keys / "signing-key.pem", 0o600)
    with pytest.raises(KeyMaterialError) as caught:
        record_key_history(keys, first)
    assert caught.value.reason == "key_retired"


_ODD_VALUES: list[Any] = [None, -1, 0, 2**64, 10**400, "x", "", [], {}, True, 1.5, "0x" + "0" * 64,
                          "0x" + "f" * 40, "0000-01-01T00:00:00Z", "\ud800", [[[[[]]]]], {"a": 1}]


def _odd_json(doc: Any, rng: Any) -> Any:
    """``doc`` with one value somewhere replaced by something a forger might try."""
    if isinstance(doc, dict) and doc:
        key = rng.choice(sorted(doc))
        if rng.random() < 0.5 and isinstance(doc[key], (dict, list)) and doc[key]:
            return {**doc, key: _odd_json(doc[key], rng)}
        return {**doc, key: rng.choice(_ODD_VALUES)}
    if isinstance(doc, list) and doc:
        i = rng.randrange(len(doc))
        out = list(doc)
        out[i] = _odd_json(doc[i], rng) if rng.random() < 0.5 else rng.choice(_ODD_VALUES)
        return out
    return rng.choice(_ODD_VALUES)


def test_mangled_documents_never_raise_and_never_verify() -> None:
    """Hundreds of random corruptions of the documents (bytes flipped, values swapped for
    odd ones): every one gives a verdict that is not valid, or is refused unread; nothing
    else ever escapes the verifier."""
    import random

    from tests.bundle.repack import rezip

    rng = random.Random(20261129)
    facts = _facts()
    data = _write(facts)
    docs = read_archive(io.BytesIO(data)).documents
    paths = sorted(p for p in docs if p != "mimetype")
    observed = _observed(facts)
    for _ in range(300):
        path = rng.choice(paths)
        original = docs[path]
        if path.endswith(".json") and rng.random() < 0.6:
            mangled = json.dumps(_odd_json(json.loads(original), rng),
                                 ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
        else:
            buf = bytearray(original)
            buf[rng.randrange(len(buf))] = rng.randrange(256)
            mangled = bytes(buf)
        if mangled == original:
            continue
        try:
            verdict = _verify(rezip(data, {path: mangled}), observed)
        except UnreadableBundle:
            continue
        assert verdict.result != "valid", (path, mangled[:200])


def test_a_version_1_bundle_is_still_read() -> None:
    """Bundles handed out before version 2 keep verifying: one is written here as the v1
    writer did (the layout is the same)."""
    v1 = "application/vnd.notary.bundle.v1+zip"
    data = _write(replace(_facts(), version=1))
    assert read_archive(io.BytesIO(data)).documents["mimetype"] == v1.encode()
    result = verify_bundle(open_bundle(read_archive(io.BytesIO(data))))
    assert result.verdict.result == "valid", result.verdict.to_json()
    assert result.facts["bundle_version"] == 1 and result.facts["media_type"] == v1


def test_verify_md_without_a_trust_root_says_the_issuer_cannot_be_established() -> None:
    """A service without a chain exports no trust root: VERIFY.md says so in its first lines
    (and, on a development chain, first that nobody else can query it)."""
    head = render_guide(_facts(), local_chain=True).decode().splitlines()[:10]
    assert head[0] == "# 如何核验本证据包 / How to verify this proof bundle"
    assert "本地开发链" in head[2] and "nobody" in head[4]
    plain = "\n".join(head)
    assert "本证据包不含信任根" in plain and "the issuer cannot be established by it" in plain
    assert "本地开发链" not in render_guide(_facts()).decode()
