"""Receipts, custody events and logs, deletion certificates and court certifications against
their golden vectors (tests/vectors/{receipt,custody,deletion,certification}.json): the code
still writes those bytes, and refuses each tampered document for the reason it is named for."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from notary.core.custody import CustodyEvent, check_custody, event_leaf, verify_event
from notary.core.declaration import (
    CERTIFICATION_PATH,
    CERTIFICATION_PDF_PATH,
    CERTIFICATION_SIGNATURE_PATH,
)
from notary.core.declaration_verify import check_declaration
from notary.core.deletion import check_deletion, verify_deletion
from notary.core.errors import NotaryError
from notary.core.signing import SigningKey, verify_receipt
from notary.core.statement import Statement

pytestmark = pytest.mark.unit

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def _load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text("utf-8"))


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("document_vectors",
                                                  VECTORS / "make_document_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
RECEIPTS, CUSTODY = _load("receipt.json"), _load("custody.json")
DELETION, CERTIFICATION = _load("deletion.json"), _load("certification.json")


def _outcome(verify: Any, *args: Any) -> dict[str, Any] | str:
    """"valid", or the error as the vectors state it: its code, and its reason or field."""
    try:
        verify(*args)
    except NotaryError as exc:
        out: dict[str, Any] = {"code": exc.code}
        for name in ("reason", "field"):
            if name in exc.details:
                out[name] = exc.details[name]
        return out
    return "valid"


def _expected(expect: Any) -> Any:
    """An expectation with only the members _outcome reports."""
    return expect if isinstance(expect, str) else {
        k: v for k, v in expect.items() if k in ("code", "reason", "field")}


# -- frozen bytes --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "make"), [
    ("receipt.json", "receipt_vectors"), ("custody.json", "custody_vectors"),
    ("deletion.json", "deletion_vectors"), ("certification.json", "certification_vectors"),
])
def test_the_code_still_writes_the_committed_bytes(name: str, make: str) -> None:
    """Format v1 is frozen: the same facts and keys give the same documents and signatures
    (Ed25519 is deterministic), so regenerating reproduces each file byte for byte."""
    text = json.dumps(getattr(GEN, make)(), ensure_ascii=False, indent=2) + "\n"
    assert text == (VECTORS / name).read_text("utf-8"), (
        f"tests/vectors/{name} differs from what the code writes today: a format changed")


def test_the_keys_are_the_public_labels() -> None:
    for vectors in (RECEIPTS, CUSTODY, DELETION, CERTIFICATION):
        for entry in vectors["keys"].values():
            label = entry["seed"].removeprefix("SHA-256 of the ASCII string ")[1:-1]
            key = SigningKey.from_seed(hashlib.sha256(label.encode("ascii")).digest())
            assert key.public_jwk() == entry["public_jwk"]
    assert RECEIPTS["keys"]["notary"]["public_jwk"] == _load("statement.json")["key"]["public_jwk"]


def _no_duplicate_names(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), names
    return cases


# -- receipts ------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", RECEIPTS["valid"], ids=lambda v: v["name"])
def test_valid_receipt(vector: dict[str, Any]) -> None:
    payload = verify_receipt(vector["jws"], RECEIPTS["jwks"])
    assert payload == vector["json"]
    assert vector["canonical_text"].encode() == GEN.canonical_json(payload)
    assert hashlib.sha256(vector["canonical_text"].encode()).hexdigest() == vector["sha256"]
    statement = RECEIPTS["statements"][payload["evidence_id"]]
    assert payload["statement_sha256"] == statement["sha256"] == hashlib.sha256(
        statement["canonical_text"].encode()).hexdigest()


@pytest.mark.parametrize("vector", _no_duplicate_names(RECEIPTS["rejects"]),
                         ids=lambda v: v["name"])
def test_rejected_receipt(vector: dict[str, Any]) -> None:
    assert _outcome(verify_receipt, vector["jws"], RECEIPTS["jwks"]) == vector["expect"]


# -- custody -------------------------------------------------------------------------------


def test_valid_custody_events() -> None:
    for evidence_id, events in CUSTODY["events"].items():
        file_sha256 = bytes.fromhex(CUSTODY["statements"][evidence_id]["file_sha256"])
        previous = None
        for seq, vector in enumerate(events, start=1):
            event = verify_event(vector["jws"], CUSTODY["jwks"])
            assert event.to_json() == vector["json"] and event.seq == seq
            assert event.canonical_bytes() == vector["canonical_text"].encode()
            assert event.digest().hex() == vector["sha256"]
            assert CustodyEvent.from_bytes(vector["canonical_text"].encode()) == event
            assert "0x" + event_leaf(event, file_sha256).hex() == vector["leaf"]
            assert event.prev_event == previous
            previous = vector["sha256"]


@pytest.mark.parametrize("vector", _no_duplicate_names(CUSTODY["event_rejects"]),
                         ids=lambda v: v["name"])
def test_rejected_custody_event(vector: dict[str, Any]) -> None:
    assert _outcome(verify_event, vector["jws"], CUSTODY["jwks"]) == _expected(vector["expect"])


#: How check_custody says why a log broke (the vectors name the reason in a word).
_BECAUSE = {"signature": "does not verify", "seq": "carries number", "prev_event":
            "does not link", "evidence_id": "is about", "registration": "does not register",
            "empty": "is empty"}


@pytest.mark.parametrize("vector", _no_duplicate_names(CUSTODY["logs"]), ids=lambda v: v["name"])
def test_custody_log(vector: dict[str, Any]) -> None:
    check, events = check_custody(vector["log"], CUSTODY["jwks"],
                                  evidence_id=vector["evidence_id"],
                                  statement_digest=bytes.fromhex(vector["statement_sha256"]))
    expect = vector["expect"]
    assert check.status.value == expect["status"], check.reason
    if expect["status"] == "pass":
        assert len(events) == expect["events"]
        return
    assert _BECAUSE[expect["because"]] in check.reason, check.reason
    at = expect["event"]
    assert len(events) == max(at - 1, 0)
    if at > 1:
        assert check.reason.startswith(f"Custody event {at} "), check.reason


# -- deletion certificates -----------------------------------------------------------------


def _deletion_context() -> tuple[Statement, list[CustodyEvent]]:
    statement = Statement.from_bytes(DELETION["statement"]["canonical_text"].encode())
    check, events = check_custody(DELETION["custody_log"], DELETION["jwks"],
                                  evidence_id=statement.evidence_id,
                                  statement_digest=statement.digest())
    assert check.status.value == "pass", check.reason
    return statement, events


def test_valid_deletion_certificate() -> None:
    statement, events = _deletion_context()
    (vector,) = DELETION["valid"]
    cert = verify_deletion(vector["jws"], DELETION["jwks"])
    assert cert.to_json() == vector["json"]
    assert cert.canonical_bytes() == vector["canonical_text"].encode()
    assert statement.digest_hex() == DELETION["statement"]["sha256"] == cert.statement_sha256
    check, _ = check_deletion(vector["jws"], DELETION["jwks"], statement=statement,
                              custody=events)
    assert check.status.value == "pass", check.reason
    shredded = events[cert.custody_event_seq - 1]
    assert shredded.act.value == "shredded" and shredded.at == cert.shredded_at


_DELETION_BECAUSE = {"statement": "about another evidence item",
                     "custody": "custody log has no 'shredded' event",
                     "time": "but its custody event",
                     "restated": "restates the statement wrongly"}


@pytest.mark.parametrize("vector", _no_duplicate_names(DELETION["rejects"]),
                         ids=lambda v: v["name"])
def test_tampered_deletion_certificate(vector: dict[str, Any]) -> None:
    statement, events = _deletion_context()
    expect = vector["expect"]
    assert _outcome(verify_deletion, vector["jws"], DELETION["jwks"]) == expect["verify"]
    check, _ = check_deletion(vector["jws"], DELETION["jwks"], statement=statement,
                              custody=events)
    assert check.status.value == expect["check"], check.reason
    if "because" in expect:
        assert _DELETION_BECAUSE[expect["because"]] in check.reason, check.reason


# -- certification -------------------------------------------------------------------------


def _certification_checks(vector: dict[str, Any] | None) -> dict[str, str]:
    vector = vector or {}
    documents = {path: text.encode("utf-8") for path, text in CERTIFICATION["files"].items()}
    if "certification_json" in vector:
        documents[CERTIFICATION_PATH] = vector["certification_json"].encode("utf-8")
    documents.update({p: t.encode("utf-8") for p, t in vector.get("files", {}).items()})
    token = vector.get("jws", CERTIFICATION["jws"])
    if token is not None:
        documents[CERTIFICATION_SIGNATURE_PATH] = token.encode("ascii")
    certification = GEN.facts().certification(GEN.PERSON_DOC)
    checks = check_declaration(documents, {*documents, CERTIFICATION_PDF_PATH},
                               items=certification.items, bundle=certification.bundle)
    return {c.name: c.status.value for c in checks}


def test_valid_certification() -> None:
    data = CERTIFICATION["files"][CERTIFICATION_PATH].encode("utf-8")
    assert hashlib.sha256(data).hexdigest() == CERTIFICATION["document_sha256"]
    person = json.loads(data)["qualified_person"]
    assert person == CERTIFICATION["qualified_person"]
    person_key = CERTIFICATION["keys"]["qualified_person"]["public_jwk"]
    assert person["key_thumbprint"] == person_key["kid"]
    assert CERTIFICATION["jws"].split(".")[1] == ""  # detached (RFC 7515 Appendix F)
    assert _certification_checks(None) == {"certification": "pass",
                                           "certification_signature": "pass"}


@pytest.mark.parametrize("vector", _no_duplicate_names(CERTIFICATION["rejects"]),
                         ids=lambda v: v["name"])
def test_tampered_certification(vector: dict[str, Any]) -> None:
    assert _certification_checks(vector) == vector["expect"]
