"""Issue 13 #9 and #10: one rule for case references, at submission and on every case route.
Full-width letters and odd spaces fold to the plain spelling (the same case); slashes,
invisible characters (tags, variation selectors) and ASCII look-alikes (Cyrillic НХ, the
non-breaking hyphen) are refused with 422 ``case_id_invalid``. Over real HTTP."""

from __future__ import annotations

import pytest

from tests.intake.files import form, pdf_bytes, statement_of
from tests.support import LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]

FOLDED = [
    ("full-width", "ＨＸ-２０２６-1128", "HX-2026-1128"),
    ("nbsp", "HX\u00a02026 1128", "HX 2026 1128"),
    ("ideographic-space", "HX\u30002026 1128", "HX 2026 1128"),
    ("decomposed-accent", "Cafe\u0301-1128", "Caf\u00e9-1128"),
]
# Path-unsafe characters and look-alikes are new refusals (case_id_invalid); invisible
# characters were refused before, with metadata_invalid, and keep that code.
REFUSED = [
    ("slash", "HX/2026/1128", "'/'", "case_id_invalid"),
    ("backslash", "HX\\2026", "'\\\\'", "case_id_invalid"),
    ("cyrillic-en-ha", "\u041d\u0425-2026-1128", "looks like ASCII 'H'", "case_id_invalid"),
    ("non-breaking-hyphen", "HX\u20112026-1128", "looks like ASCII '-'", "case_id_invalid"),
    ("tag-letter-a", "HX-2026\U000e0041", "U+E0041", "metadata_invalid"),
    ("variation-selector-17", "HX-2026\U000e0100", "U+E0100", "metadata_invalid"),
    ("zero-width-space", "HX\u200b-2026", "U+200B", "metadata_invalid"),
]


@pytest.mark.parametrize(("name", "sent", "recorded"), FOLDED, ids=[f[0] for f in FOLDED])
def test_look_alike_spellings_fold_into_one_case(server: LiveServer, name: str, sent: str,
                                                 recorded: str) -> None:
    http = server.admin()
    plain = http.post("/v1/evidence", files=form({"case_id": recorded, "kind": "notice"},
                                                 pdf_bytes("first")))
    odd = http.post("/v1/evidence", files=form({"case_id": sent, "kind": "notice"},
                                               pdf_bytes("second")))
    assert plain.status_code == odd.status_code == 201, odd.text
    assert odd.json()["case_id"] == recorded and odd.json()["case_seq"] == 2
    assert statement_of(odd.json())["case_id"] == recorded


@pytest.mark.parametrize(("name", "sent", "words", "code"), REFUSED, ids=[r[0] for r in REFUSED])
def test_path_unsafe_invisible_and_confusable_case_ids_are_refused(
        server: LiveServer, name: str, sent: str, words: str, code: str) -> None:
    resp = server.admin().post("/v1/evidence", files=form({"case_id": sent, "kind": "notice"},
                                                          pdf_bytes()))
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == code and body["details"]["field"] == "case_id"
    assert words in body["message"], body["message"]


def test_every_case_route_takes_the_same_case_reference(server: LiveServer) -> None:
    http = server.admin()
    assert http.post("/v1/evidence", files=form({"case_id": "HX-9", "kind": "notice"},
                                                pdf_bytes())).status_code == 201
    # The full-width spelling reaches the same case on a case route...
    closed = http.post("/v1/cases/ＨＸ-９/close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["case_id"] == "HX-9"
    assert http.post("/v1/cases/HX-9/reopen").status_code == 200
    # ...a look-alike is refused as at submission, never silently "not found"...
    for route in ("/v1/cases/%D0%9D%D0%A5-9/close", "/v1/cases/HX-9%F3%A0%81%81/close"):
        resp = http.post(route)
        assert resp.status_code == 422 and resp.json()["code"] == "case_id_invalid", resp.text
    # ...and no case route reads a '/' into a case reference (one path segment each).
    for route in ("/v1/cases/A/B/bundle", "/v1/cases/A/B/certificate", "/v1/cases/A/B/close"):
        assert http.request("GET" if route.endswith(("bundle", "certificate")) else "POST",
                            route).status_code == 404
