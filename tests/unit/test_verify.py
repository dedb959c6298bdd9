"""notary.core.verify and notary.core.verdict: the valid path, each failure named by its
check, skips and what they do to the result. Bad evidence never raises."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest

from notary.core.digest import FileDigest, digest_bytes
from notary.core.errors import InputError
from notary.core.merkle import LeafType, MerkleTree, statement_leaf
from notary.core.signing import SigningKey, jwks, sign_receipt, sign_statement
from notary.core.statement import STATEMENT_MEDIA_TYPE, Statement
from notary.core.verdict import AnchorFacts, Check, CheckStatus, Verdict
from notary.core.verify import verify_evidence

pytestmark = pytest.mark.unit

CHECK_NAMES = ["statement_signature", "file_hash", "merkle_proof", "anchor_root", "chain_anchor"]
FILE = b"RIFF....WAVEfmt synthetic call recording"


@dataclasses.dataclass
class World:
    key: SigningKey
    key_set: dict[str, Any]
    statement: Statement
    token: str
    file: FileDigest
    tree: MerkleTree
    proof: list[bytes]
    anchor: AnchorFacts

    def verify(self, **changes: Any) -> Verdict:
        args: dict[str, Any] = {
            "statement_jws": self.token,
            "jwks": self.key_set,
            "file_digest": self.file,
            "proof": self.proof,
            "root": self.tree.root,
            "claimed_anchor": self.anchor,
            "observed_anchor": self.anchor,
        }
        args.update(changes)
        return verify_evidence(**args)


@pytest.fixture(scope="module")
def world() -> World:
    key = SigningKey.generate()
    file = digest_bytes(FILE)
    statement = Statement(
        evidence_id="ev-1", case_id="HX-2026-1128-ZW", case_seq=1, kind="call_recording",
        media_type="audio/wav", size=file.size, sha256=file.hex,
        file_name="call-2026-11-28-0930.wav", received_at="2026-11-29T12:00:00.123456Z",
        submitter="collector:agent-17",
    )
    others = [hashlib.sha256(bytes([i])).digest() for i in range(6)]
    leaf = statement_leaf(statement.digest(), file.sha256)
    tree = MerkleTree.build(
        [leaf, statement_leaf(statement.digest(), file.sha256, LeafType.CUSTODY_EVENT)]
        + [statement_leaf(o, o) for o in others]
    )
    anchor = AnchorFacts(
        chain_id=31337, contract="0x5FbDB2315678afecb367f032d93F642f64180aa3", batch_id=4,
        root=tree.root, block_number=12, block_hash="0x" + "ab" * 32,
        block_timestamp=1796040000, tx_hash="0x" + "cd" * 32,
    )
    return World(key, jwks([key.public_jwk()]), statement, sign_statement(statement, key), file,
                 tree, tree.proof_for(leaf), anchor)


def _status(verdict: Verdict) -> dict[str, str]:
    return {c.name: c.status.value for c in verdict.checks}


def test_valid_path(world: World) -> None:
    verdict = world.verify()
    assert [c.name for c in verdict.checks] == CHECK_NAMES
    assert all(c.status is CheckStatus.PASS for c in verdict.checks)
    assert verdict.result == "valid" and not verdict.qualified and verdict.skipped == []
    assert world.key.kid in verdict.check("statement_signature").reason
    assert verdict.to_json() == {
        "result": "valid",
        "qualified": False,
        "checks": [{"name": c.name, "status": "pass", "reason": c.reason} for c in verdict.checks],
    }
    for check in verdict.checks:
        assert check.reason[0].isupper() and check.reason.endswith(".")


def test_offline_is_valid_but_qualified(world: World) -> None:
    verdict = world.verify(observed_anchor=None)
    chain = verdict.check("chain_anchor")
    assert chain.status is CheckStatus.SKIP
    assert "not checked against a chain node (offline)" in chain.reason
    assert verdict.result == "valid" and verdict.qualified
    assert verdict.skipped == [chain]
    assert verdict.to_json()["qualified"] is True


def test_no_file_is_unknown(world: World) -> None:
    verdict = world.verify(file_digest=None)
    assert verdict.check("file_hash").status is CheckStatus.SKIP
    assert "No file was supplied" in verdict.check("file_hash").reason
    assert verdict.result == "unknown" and not verdict.qualified


def test_other_file_fails_file_hash(world: World) -> None:
    verdict = world.verify(file_digest=digest_bytes(FILE + b"!"))
    check = verdict.check("file_hash")
    assert check.status is CheckStatus.FAIL and "not the file that was notarised" in check.reason
    assert verdict.result == "invalid"
    assert verdict.failed == [check]


def test_same_hash_other_size_fails_file_hash(world: World) -> None:
    verdict = world.verify(file_digest=FileDigest(world.file.sha256, world.file.size + 1))
    assert verdict.check("file_hash").status is CheckStatus.FAIL
    assert "size" in verdict.check("file_hash").reason
    assert verdict.result == "invalid"


def test_proof_of_another_leaf_fails_merkle_proof(world: World) -> None:
    leaf = statement_leaf(world.statement.digest(), world.file.sha256)
    neighbour = (world.tree.index_of(leaf) + 1) % len(world.tree)
    verdict = world.verify(proof=world.tree.proof_at(neighbour))
    check = verdict.check("merkle_proof")
    assert check.status is CheckStatus.FAIL and "does not lead" in check.reason
    assert _status(verdict) == {**dict.fromkeys(CHECK_NAMES, "pass"), "merkle_proof": "fail"}
    assert verdict.result == "invalid"


def test_wrong_leaf_type_fails_merkle_proof(world: World) -> None:
    verdict = world.verify(leaf_type=LeafType.CUSTODY_EVENT)
    assert verdict.check("merkle_proof").status is CheckStatus.FAIL
    assert verdict.result == "invalid"


def test_malformed_proof_fails_without_raising(world: World) -> None:
    verdict = world.verify(proof=[*world.proof[:-1], b"short"])
    check = verdict.check("merkle_proof")
    assert check.status is CheckStatus.FAIL and "malformed" in check.reason


def test_no_proof_skips_inclusion(world: World) -> None:
    verdict = world.verify(proof=None)
    assert verdict.check("merkle_proof").status is CheckStatus.SKIP
    assert verdict.result == "valid" and verdict.qualified


def test_no_root_skips_proof_and_anchor_root(world: World) -> None:
    verdict = world.verify(root=None)
    assert _status(verdict)["merkle_proof"] == "skip"
    assert _status(verdict)["anchor_root"] == "skip"
    assert verdict.qualified


def test_claimed_anchor_for_another_root_fails_anchor_root(world: World) -> None:
    other = dataclasses.replace(world.anchor, root=bytes(32))
    verdict = world.verify(claimed_anchor=other, observed_anchor=other)
    check = verdict.check("anchor_root")
    assert check.status is CheckStatus.FAIL and "0x" + "00" * 32 in check.reason
    assert _status(verdict)["chain_anchor"] == "pass"
    assert verdict.result == "invalid"


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("chain_id", 1, "chain id"),
        ("contract", "0x" + "11" * 20, "contract address"),
        ("batch_id", 5, "batch id"),
        ("root", b"\x01" * 32, "Merkle root"),
        ("block_number", 13, "block number"),
        ("block_hash", "0x" + "ef" * 32, "block hash"),
        ("block_timestamp", 1796040001, "block timestamp"),
        ("tx_hash", "0x" + "01" * 32, "transaction hash"),
    ],
)
def test_chain_disagreeing_fails_chain_anchor(
    world: World, field: str, value: object, label: str
) -> None:
    observed = dataclasses.replace(world.anchor, **{field: value})
    verdict = world.verify(observed_anchor=observed)
    check = verdict.check("chain_anchor")
    assert check.status is CheckStatus.FAIL
    assert check.reason.count("claimed") == 1 and label in check.reason
    assert verdict.result == "invalid"


def test_hex_case_does_not_matter_on_chain(world: World) -> None:
    observed = dataclasses.replace(
        world.anchor, contract=world.anchor.contract.lower(),
        block_hash=world.anchor.block_hash.upper().replace("0X", "0x"),
    )
    assert world.verify(observed_anchor=observed).check("chain_anchor").status is CheckStatus.PASS


def test_no_claimed_anchor(world: World) -> None:
    verdict = world.verify(claimed_anchor=None)
    assert _status(verdict)["anchor_root"] == "skip"
    assert _status(verdict)["chain_anchor"] == "skip"
    assert verdict.result == "valid" and verdict.qualified


def test_unknown_key_fails_signature_and_skips_what_depends_on_it(world: World) -> None:
    verdict = world.verify(jwks=jwks([SigningKey.generate().public_jwk()]))
    assert _status(verdict) == {
        "statement_signature": "fail", "file_hash": "skip", "merkle_proof": "skip",
        "anchor_root": "pass", "chain_anchor": "pass",
    }
    assert "No Ed25519 key" in verdict.check("statement_signature").reason
    assert verdict.result == "invalid"


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."],
    ids=["empty", "garbage", "junk-parts", "alg-none"],
)
def test_garbage_tokens_fail_without_raising(world: World, token: str) -> None:
    verdict = world.verify(statement_jws=token)
    assert verdict.check("statement_signature").status is CheckStatus.FAIL
    assert verdict.result == "invalid"


def test_receipt_is_not_a_statement(world: World) -> None:
    receipt = sign_receipt(world.statement.digest_hex(), "ev-1", "2026-11-30T12:00:00Z",
                           "2026-11-29T12:00:00Z", world.key)
    check = world.verify(statement_jws=receipt).check("statement_signature")
    assert check.status is CheckStatus.FAIL and "type" in check.reason


def test_signed_but_malformed_statement(world: World) -> None:
    token = world.key.sign(b'{"schema":"notary.statement/v1"}', STATEMENT_MEDIA_TYPE)
    check = world.verify(statement_jws=token).check("statement_signature")
    assert check.status is CheckStatus.FAIL
    assert "not a well-formed notary statement" in check.reason


# --- Verdict on its own ----------------------------------------------------------------


def _check(name: str, status: CheckStatus) -> Check:
    return Check(name, status, "Because.")


def test_verdict_rules() -> None:
    p, f, s = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP
    assert Verdict([]).result == "unknown"
    assert Verdict([_check("statement_signature", p), _check("file_hash", p)]).result == "valid"
    assert Verdict([_check("statement_signature", p), _check("file_hash", s)]).result == "unknown"
    assert Verdict([_check("statement_signature", p)]).result == "unknown"
    mixed = Verdict([_check("statement_signature", s), _check("file_hash", f)])
    assert mixed.result == "invalid" and not mixed.qualified
    custom = Verdict([_check("x", p), _check("y", s)], decisive=frozenset({"x"}))
    assert custom.result == "valid" and custom.qualified
    with pytest.raises(KeyError):
        custom.check("z")


def test_anchor_facts_validate(world: World) -> None:
    for field, value in [("root", bytes(31)), ("contract", "0x1234"), ("block_hash", "ab" * 32),
                         ("chain_id", -1), ("batch_id", True), ("tx_hash", None)]:
        with pytest.raises(InputError) as err:
            dataclasses.replace(world.anchor, **{field: value})
        assert err.value.details["field"] == field


def test_sm3_recorded_in_the_statement_is_checked_when_computed(world: World) -> None:
    """A statement of an NOTARY_SM3 deployment records the file's SM3 too: a verifier that
    computed it compares it (a file with the statement's SHA-256 but another SM3 cannot
    exist in practice, but the check must not take one for the other); one whose OpenSSL
    has no SM3 passes on SHA-256 and says SM3 was not checked."""
    sm3 = hashlib.new("sm3", FILE).digest()
    statement = dataclasses.replace(world.statement, sm3=sm3.hex())
    assert Statement.from_bytes(statement.canonical_bytes()) == statement
    token = sign_statement(statement, world.key)
    leaf = statement_leaf(statement.digest(), world.file.sha256)
    tree = MerkleTree.build([leaf, statement_leaf(b"\x01" * 32, b"\x02" * 32)])
    anchor = dataclasses.replace(world.anchor, root=tree.root)
    args: dict[str, Any] = {"statement_jws": token, "proof": tree.proof_for(leaf),
                            "root": tree.root, "claimed_anchor": anchor, "observed_anchor": anchor}

    same = world.verify(file_digest=FileDigest(world.file.sha256, world.file.size, sm3), **args)
    assert same.result == "valid" and "SM3" in same.check("file_hash").reason
    other = FileDigest(world.file.sha256, world.file.size, hashlib.new("sm3", b"x").digest())
    check = world.verify(file_digest=other, **args).check("file_hash")
    assert check.status is CheckStatus.FAIL and "SM3" in check.reason
    uncomputed = world.verify(file_digest=world.file, **args).check("file_hash")
    assert uncomputed.status is CheckStatus.PASS and "not computed" in uncomputed.reason


@pytest.mark.parametrize("changes, field", [
    ({"sm3": "AB" * 32}, "sm3"),
    ({"sm3": "ab" * 31}, "sm3"),
    ({"sm3": "ab" * 32, "deposit": "hash_only", "content_address": None}, "sm3"),
])
def test_a_malformed_or_misplaced_sm3_is_refused(world: World, changes: dict[str, Any],
                                                 field: str) -> None:
    with pytest.raises(InputError) as err:
        dataclasses.replace(world.statement, **changes)
    assert err.value.details.get("field") == field
