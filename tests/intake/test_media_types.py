"""Issue 12: a file sent as application/octet-stream (curl's ``-F file=@x.wav``) or with no
type at all is recorded with the type its content shows; the statement keeps what was sent
(``media_type_sent``) when that differs. Real WAV and PDF files over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from storage.db import Evidence, session
from tests.intake.files import form, pdf_bytes, statement_of, untyped_form, wav_bytes
from tests.support import LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]


def _submit(http: httpx.Client, **kw: object) -> dict:
    resp = http.post("/v1/evidence", **kw)  # type: ignore[arg-type]
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def test_octet_stream_uploads_get_the_type_of_their_content(server: LiveServer) -> None:
    http = server.admin()
    wav = _submit(http, files=form({"case_id": "MT-1", "kind": "call_recording"}, wav_bytes(),
                                   "call.wav", "application/octet-stream"))
    pdf = _submit(http, files=form({"case_id": "MT-1", "kind": "notice"}, pdf_bytes(),
                                   "notice.pdf", "application/octet-stream"))
    # The name says nothing true here: the content's signature decides.
    misnamed = _submit(http, files=form({"case_id": "MT-1", "kind": "other"}, pdf_bytes("x"),
                                        "scan.wav", "application/octet-stream"))
    for answer, derived in ((wav, "audio/wav"), (pdf, "application/pdf"),
                            (misnamed, "application/pdf")):
        statement = statement_of(answer)
        assert statement["media_type"] == derived
        assert statement["media_type_sent"] == "application/octet-stream"
        with session(server.service.engine) as s:
            row = s.get(Evidence, answer["id"])
            assert row is not None and row.media_type == derived
    # The content is served with the recorded type, as the certificate states it.
    content = http.get(f"/v1/evidence/{wav['id']}/content")
    assert content.headers["content-type"] == "audio/wav"


def test_no_type_sent_is_derived_without_media_type_sent(server: LiveServer) -> None:
    body, ctype = untyped_form({"case_id": "MT-2", "kind": "call_recording"}, wav_bytes(),
                               "rec.wav")
    answer = _submit(server.admin(), content=body, headers={"content-type": ctype})
    statement = statement_of(answer)
    assert statement["media_type"] == "audio/wav"
    assert "media_type_sent" not in statement  # nothing was sent


def test_a_sent_type_is_kept_and_unknown_content_stays_octet_stream(server: LiveServer) -> None:
    http = server.admin()
    kept = statement_of(_submit(http, files=form({"case_id": "MT-3", "kind": "notice"},
                                                 wav_bytes(), "a.wav", "audio/x-custom")))
    assert kept["media_type"] == "audio/x-custom" and "media_type_sent" not in kept
    unknown = statement_of(_submit(http, files=form({"case_id": "MT-3", "kind": "other"},
                                                    b"\x00\x01 no signature", "blob.dat",
                                                    "application/octet-stream")))
    assert unknown["media_type"] == "application/octet-stream"
    assert "media_type_sent" not in unknown
    by_name = statement_of(_submit(http, files=form({"case_id": "MT-3", "kind": "other"},
                                                    b"debtor,amount\nW,100\n", "list.csv",
                                                    "application/octet-stream")))
    assert by_name["media_type"] == "text/csv"
    assert by_name["media_type_sent"] == "application/octet-stream"
