"""Issue 12: the same file sent twice to a case is answered with the item the case already
holds (200, ``duplicate_of``), records nothing and leaves no blob behind; ``"distinct":
true`` files a second copy; another tenant's items are never revealed; idempotency keys
behave as before. Over real HTTP against a live service."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from notary.service.apikeys import create_key
from storage.db import Evidence, session
from tests.intake.files import form, pdf_bytes
from tests.support import LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]


def _rows(server: LiveServer) -> list[Evidence]:
    with session(server.service.engine) as s:
        return list(s.exec(select(Evidence)).all())


def _blobs(server: LiveServer) -> list[Path]:
    root = server.settings.blobs_dir
    return [p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts]


def test_the_same_file_twice_is_one_entry_with_no_second_blob(server: LiveServer) -> None:
    http = server.admin()
    notice = pdf_bytes("Notice of 28 November")
    first = http.post("/v1/evidence", files=form({"case_id": "DUP-1", "kind": "notice"}, notice))
    assert first.status_code == 201, first.text
    blobs = _blobs(server)
    # Same bytes, other name and metadata: still the same evidence.
    again = http.post("/v1/evidence", files=form({"case_id": "DUP-1", "kind": "other",
                                                 "description": "resent"}, notice, "copy.pdf"))
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["duplicate_of"] == first.json()["id"] == body["id"]
    assert body["case_seq"] == 1 and body["statement"] == first.json()["statement"]
    assert len(_rows(server)) == 1
    assert _blobs(server) == blobs  # the duplicate's ciphertext was not kept
    assert not list(server.settings.spool_dir.iterdir())
    assert first.json()["duplicate_of"] is None


def test_distinct_copy_is_filed_and_other_cases_are_separate(server: LiveServer) -> None:
    http = server.admin()
    notice = pdf_bytes("Second notice")
    meta = {"case_id": "DUP-2", "kind": "notice"}
    first = http.post("/v1/evidence", files=form(meta, notice))
    second = http.post("/v1/evidence", files=form({**meta, "distinct": True}, notice))
    other_case = http.post("/v1/evidence", files=form({**meta, "case_id": "DUP-3"}, notice))
    assert [r.status_code for r in (first, second, other_case)] == [201, 201, 201]
    assert second.json()["case_seq"] == 2 and second.json()["duplicate_of"] is None
    assert len(_rows(server)) == 3
    bad = http.post("/v1/evidence", files=form({**meta, "distinct": "yes"}, notice))
    assert bad.status_code == 422 and bad.json()["details"]["field"] == "distinct"


def test_another_tenants_copy_is_not_revealed(server: LiveServer) -> None:
    notice = pdf_bytes("Shared template")
    meta = {"case_id": "DUP-4", "kind": "notice"}
    mine = server.admin().post("/v1/evidence", files=form(meta, notice))
    assert mine.status_code == 201
    _, token = create_key(server.service.engine, "collector", tenant="other-agency")
    theirs = server.client(token).post("/v1/evidence", files=form(meta, notice))
    assert theirs.status_code == 201, theirs.text  # their own case, their own entry
    assert theirs.json()["id"] != mine.json()["id"] and theirs.json()["duplicate_of"] is None


def test_idempotency_keys_replay_as_before(server: LiveServer) -> None:
    http = server.admin()
    notice = pdf_bytes("Idempotent")
    meta = {"case_id": "DUP-5", "kind": "notice"}
    first = http.post("/v1/evidence", files=form(meta, notice), headers={"Idempotency-Key": "k1"})
    replay = http.post("/v1/evidence", files=form(meta, notice), headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201 and replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"] and replay.json()["duplicate_of"] is None
    conflict = http.post("/v1/evidence", files=form(meta, pdf_bytes("other")),
                         headers={"Idempotency-Key": "k1"})
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"
    # A new key for the same bytes: the case already holds them.
    dup = http.post("/v1/evidence", files=form(meta, notice), headers={"Idempotency-Key": "k2"})
    assert dup.status_code == 200 and dup.json()["duplicate_of"] == first.json()["id"]
    assert len(_rows(server)) == 1


def test_a_copy_with_its_own_check_code_is_its_own_record(server: LiveServer) -> None:
    """A check code printed on another paper copy, or a signature made at capture, belongs
    to a record of its own: such a submission is never folded into the held item."""
    http = server.admin()
    notice = pdf_bytes("Printed twice")
    meta = {"case_id": "DUP-6", "kind": "notice"}
    first = http.post("/v1/evidence", files=form(meta, notice)).json()
    same_code = http.post("/v1/evidence", files=form({**meta, "check_code": first["check_code"]},
                                                     notice))
    assert same_code.status_code == 200 and same_code.json()["duplicate_of"] == first["id"]
    code = http.post("/v1/check-codes").json()["check_code"]
    own = http.post("/v1/evidence", files=form({**meta, "check_code": code}, notice))
    assert own.status_code == 201, own.text
    assert own.json()["check_code"] == code and own.json()["case_seq"] == 2
