"""Check codes and the public document check over real HTTP, a real anvil chain and a real
database: codes issued, supplied and refused when taken; what an anonymous caller learns by
code, by file or both (exactly the allowed fields, nothing about the case); forgiving reading
of typed codes; neutral 404s and clear 422s."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from notary.checkcode import new_check_code
from notary.cli import main as cli_main
from notary.service.actors import Actor
from notary.service.apikeys import create_key
from storage.db import Evidence, session
from tests.support import SAMPLES, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "HX-2026-1128-ZW"
PARTY = "Zhang Wei"
DESCRIPTION = "Second notice of arrears, loan 88-2041"
PRINTED = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
ANSWER_KEYS = {"notarised", "sha256", "received_at", "anchored", "anchored_at", "unaltered",
               "removed_at", "issuer"}
NOTICE = SAMPLES / "notice-2026-11-28.pdf"
AGREEMENT = SAMPLES / "agreement-2026-11-28.pdf"


def submit(http: httpx.Client, path: Path, kind: str, **extra: object) -> httpx.Response:
    meta = {"case_id": CASE, "kind": kind, "description": DESCRIPTION,
            "parties": [{"role": "debtor", "name": PARTY}], **extra}
    return http.post("/v1/evidence", files={
        "metadata": (None, json.dumps(meta), "application/json"),
        "file": (path.name, path.read_bytes(), "application/pdf")})


def anchored(http: httpx.Client, evidence_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v1/evidence/{evidence_id}").json()
        return body if body["status"] == "anchored" else None
    return wait_until(done)  # type: ignore[return-value]


def check(http: httpx.Client, *, code: str | None = None, data: bytes | None = None,
          sha256: str | None = None) -> httpx.Response:
    form: list[tuple[str, tuple[str | None, bytes | str, str]]] = []
    if code is not None:
        form.append(("code", (None, code, "text/plain")))
    if data is not None:
        form.append(("file", ("copy.pdf", data, "application/pdf")))
    if sha256 is not None:
        form.append(("sha256", (None, sha256, "text/plain")))
    return http.post("/v1/check", files=form)


def assert_reveals_nothing_of_the_case(resp: httpx.Response, evidence: dict[str, Any]) -> None:
    for secret in (CASE, PARTY, DESCRIPTION, evidence["id"], NOTICE.name, AGREEMENT.name,
                   "notice", "agreement", "debtor", "default", "apikey"):
        assert secret not in resp.text, f"{secret!r} leaked: {resp.text}"


def rfc3339(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def changed(data: bytes) -> bytes:
    return data[:100] + bytes([data[100] ^ 0x01]) + data[101:]


def test_codes_are_issued_supplied_refused_when_taken_and_answer_only_the_allowed_facts(
    server: LiveServer,
) -> None:
    engine = server.service.engine
    _c, collector_token = create_key(engine, "collector")
    _a, auditor_token = create_key(engine, "auditor")
    collector, public = server.client(collector_token), server.client()

    # An agency asks for a code to print (collectors and admins only), then notarises with it.
    issued = collector.post("/v1/check-codes")
    assert issued.status_code == 200 and PRINTED.fullmatch(issued.json()["check_code"]), issued.text
    assert server.client(auditor_token).post("/v1/check-codes").status_code == 403
    assert public.post("/v1/check-codes").status_code == 401
    printed = issued.json()["check_code"]
    supplied = submit(collector, AGREEMENT, "agreement", check_code=printed.lower())
    assert supplied.status_code == 201, supplied.text
    assert supplied.json()["check_code"] == printed  # stored in its printed form

    # Without a code in the metadata the service makes one; both reads return it.
    made = submit(collector, NOTICE, "notice")
    assert made.status_code == 201, made.text
    notice = made.json()
    assert PRINTED.fullmatch(notice["check_code"]) and notice["check_code"] != printed
    stored = collector.get(f"/v1/evidence/{notice['id']}").json()
    assert stored["check_code"] == notice["check_code"]
    assert "check_code" not in json.dumps(anchored(collector, notice["id"])["statement_json"])

    # A retry of the same request (same Idempotency-Key) replays, its code is not "taken".
    retry = {"Idempotency-Key": "notice-retry-1"}
    first = collector.post("/v1/evidence", headers=retry, files={
        "metadata": (None, json.dumps({"case_id": CASE, "kind": "notice",
                                       "check_code": "R3TR-Y000-0001"}), "application/json"),
        "file": ("retry.pdf", b"%PDF-1.4 retried notice", "application/pdf")})
    again = collector.post("/v1/evidence", headers=retry, files={
        "metadata": (None, json.dumps({"case_id": CASE, "kind": "notice",
                                       "check_code": "r3tr-yooo-ooo1"}), "application/json"),
        "file": ("retry.pdf", b"%PDF-1.4 retried notice", "application/pdf")})
    assert first.status_code == 201 and again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["check_code"] == "R3TR-Y000-0001"

    # A code another document has: 409, and nothing is recorded.
    with session(engine) as s:
        before = s.exec(select(func.count()).select_from(Evidence)).one()
    taken = submit(collector, NOTICE, "notice", check_code=printed)
    assert taken.status_code == 409 and taken.json()["code"] == "check_code_taken", taken.text
    bad = submit(collector, NOTICE, "notice", check_code="7K3M-9QXD-2HU")
    assert bad.status_code == 422 and bad.json()["code"] == "check_code_invalid", bad.text
    assert bad.json()["details"]["field"] == "check_code"
    with session(engine) as s:
        assert s.exec(select(func.count()).select_from(Evidence)).one() == before

    # By code alone: exactly the allowed facts, matching the evidence, nothing of the case.
    evidence = anchored(collector, notice["id"])
    resp = public.get(f"/v1/check/{notice['check_code']}")
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert set(answer) == ANSWER_KEYS
    assert {k: v for k, v in answer.items() if k != "issuer"} == {
        "notarised": True, "sha256": hashlib.sha256(NOTICE.read_bytes()).hexdigest(),
        "received_at": evidence["received_at"], "anchored": True,
        "anchored_at": rfc3339(evidence["anchor"]["block_timestamp"]),
        "unaltered": None, "removed_at": None}
    # The default tenant has no legal name and the key no name: the answer says so (null).
    assert answer["issuer"]["tenant_name"] is None and answer["issuer"]["submitter_name"] is None
    assert_reveals_nothing_of_the_case(resp, evidence)

    # Code and file: the file is compared with that code's document.
    data = NOTICE.read_bytes()
    same = check(public, code=notice["check_code"], data=data)
    assert same.status_code == 200 and same.json()["unaltered"] is True, same.text
    assert set(same.json()) == ANSWER_KEYS
    assert_reveals_nothing_of_the_case(same, evidence)
    altered = check(public, code=notice["check_code"], data=changed(data))
    assert altered.status_code == 200, altered.text
    assert altered.json()["unaltered"] is False and altered.json()["notarised"] is True
    assert altered.json()["sha256"] == answer["sha256"]  # the notarised one, to compare with
    other = check(public, code=printed, data=data)  # the agreement's code, the notice's file
    assert other.status_code == 200 and other.json()["unaltered"] is False
    by_hash = check(public, code=notice["check_code"], sha256=answer["sha256"].upper())
    assert by_hash.status_code == 200 and by_hash.json()["unaltered"] is True

    # File alone: looked up by its SHA-256; a changed copy is not found.
    alone = check(public, data=data)
    assert alone.status_code == 200 and alone.json() == {**answer, "unaltered": True}
    missing = check(public, data=changed(data))
    assert missing.status_code == 404 and missing.json()["code"] == "document_not_found"
    assert_reveals_nothing_of_the_case(missing, evidence)
    empty = public.post("/v1/check", content=b"--b--\r\n",
                        headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert empty.status_code == 422 and empty.json()["code"] == "check_input_missing", empty.text


def test_typed_codes_are_read_forgivingly_unknown_ones_get_one_neutral_404(
    server: LiveServer,
) -> None:
    admin, public = server.admin(), server.client()
    created = submit(admin, NOTICE, "notice", check_code="0011-ABCD-EFGH").json()
    assert created["check_code"] == "0011-ABCD-EFGH"
    for typed in ("0011-abcd-efgh", "OOIL ABCD EFGH", "oo1l-ab cd-efgh", "0011ABCDEFGH"):
        resp = public.get(f"/v1/check/{typed}")
        assert resp.status_code == 200, (typed, resp.text)
        assert resp.json()["sha256"] == created["sha256"]
    assert check(public, code="ooil-abcd-efgh").json()["sha256"] == created["sha256"]

    # Never issued, or issued to nobody in this form: the same neutral answer, no details.
    unknown = new_check_code()
    answers = [public.get(f"/v1/check/{form}") for form in (unknown, unknown.lower(),
                                                              unknown.replace("-", " "))]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1
    assert answers[0].json() == {"code": "document_not_found", "details": {},
                                 "message": answers[0].json()["message"]}
    assert "XXXX-XXXX-XXXX" in answers[0].json()["message"]

    # Text that cannot be a code: 422, saying what is wrong.
    for malformed, reason in (("0011-ABCD-EFG", "length"), ("0011-ABCD-EFGU", "symbol"),
                              ("x" * 80, "length")):
        resp = public.get(f"/v1/check/{malformed}")
        assert resp.status_code == 422, resp.text
        assert resp.json()["code"] == "check_code_invalid"
        assert resp.json()["details"]["reason"] == reason
    form = check(public, code="0011-ABCD-EFGU")
    assert form.status_code == 422 and form.json()["code"] == "check_code_invalid"
    bad_hash = check(public, code=created["check_code"], sha256="not-a-sha256")
    assert bad_hash.status_code == 422 and bad_hash.json()["code"] == "sha256_invalid"


def test_pending_and_shredded_documents_say_so(make_server: Any) -> None:
    server: LiveServer = make_server(anchor_worker=False)  # nothing gets anchored
    admin, public = server.admin(), server.client()
    created = submit(admin, NOTICE, "notice").json()
    pending = public.get(f"/v1/check/{created['check_code']}").json()
    assert pending["anchored"] is False and pending["anchored_at"] is None
    assert pending["removed_at"] is None

    server.service.shred(tenant="default", actor=Actor.operator("test"), evidence_id=created["id"],
                         reason="retention period over")
    removed = check(public, code=created["check_code"], data=NOTICE.read_bytes())
    assert removed.status_code == 200, removed.text
    body = removed.json()
    assert body["unaltered"] is True and body["notarised"] is True
    with session(server.service.engine) as s:
        row = s.get(Evidence, created["id"])
        assert row is not None and row.shredded_at is not None
        shredded_at = row.shredded_at.replace(tzinfo=UTC)
    assert body["removed_at"] == shredded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert set(body) == ANSWER_KEYS


def test_public_verify_reveals_no_case_facts_to_an_anonymous_caller(server: LiveServer) -> None:
    """POST /v1/verify (hash or file) answers checks and anchor facts, not the case."""
    admin, public = server.admin(), server.client()
    evidence = anchored(admin, submit(admin, NOTICE, "notice").json()["id"])
    for resp in (public.post("/v1/verify", json={"sha256": evidence["sha256"]}),
                 public.post("/v1/verify", files={"file": ("x.pdf", NOTICE.read_bytes())})):
        assert resp.status_code == 200 and resp.json()["result"] == "valid", resp.text
        assert_reveals_nothing_of_the_case(resp, evidence)


def test_cli_prints_fresh_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["check-code", "--count", "3"]) == 0
    lines = capsys.readouterr().out.split()
    assert len(lines) == 3 == len(set(lines)) and all(PRINTED.fullmatch(c) for c in lines)
    assert cli_main(["check-code", "--count", "0"]) == 2
