"""GET /v1/cases and /v1/cases/{id}: the cases a tenant holds, with counts by status, the
statement chain's head, legal holds and the holder; another tenant's case is 404."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.db import Evidence, session
from tests.listing.conftest import World, every, file_item
from tests.support import wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]


def test_a_case_shows_its_counts_head_holds_and_items(world: World) -> None:
    dialer, admin = world.http("lender-a", "collector"), world.http("lender-a")
    items = [file_item(dialer, "HX-2026-77", kind) for kind in ("call_recording", "notice",
                                                                "agreement")]
    wait_until(lambda: all(i["status"] == "anchored" for i in every(admin)), timeout=60)
    held = admin.post(f"/v1/evidence/{items[1]['id']}/legal-hold", json={"reason": "court order"})
    assert held.status_code == 200, held.text
    pending = file_item(dialer, "HX-2026-77")

    case = admin.get("/v1/cases/HX-2026-77")
    assert case.status_code == 200, case.text
    body = case.json()
    assert body["case_id"] == "HX-2026-77" and body["holder"] == "lender-a"
    assert body["opened_by"] == "lender-a" and body["closed_at"] is None
    total = body["counts"]
    assert total["total"] == 4 and total["held"] == 1 and total["shredded"] == 0
    assert total["anchored"] + total["pending"] == 4 and total["anchored"] >= 3
    with session(world.server.service.engine) as s:
        last = s.exec(select(Evidence).where(Evidence.id == pending["id"])).one()
    assert body["head"] == {"case_seq": 4, "statement_digest": last.statement_digest,
                            "evidence_id": pending["id"]}
    assert body["holds"] == [{"evidence_id": items[1]["id"], "case_seq": 2,
                              "reason": "court order"}]
    assert [i["id"] for i in body["items"]] == [*(i["id"] for i in items), pending["id"]]
    assert body["items"][1]["legal_hold"] == "court order"
    assert body["items_next_cursor"] is None
    assert body["items_url"].startswith("/v1/evidence?case=HX-2026-77")

    # the first page, then the list goes on from the cursor the case answered
    small = admin.get("/v1/cases/HX-2026-77", params={"limit": 3}).json()
    rest = admin.get("/v1/evidence", params={"case": "HX-2026-77", "order": "asc", "limit": 3,
                                             "cursor": small["items_next_cursor"]}).json()
    assert [i["id"] for i in small["items"] + rest["items"]] == [i["id"] for i in body["items"]]

    # full-width letters name the same case, as at submission
    assert admin.get("/v1/cases/ＨＸ-2026-77").json()["case_id"] == "HX-2026-77"


def test_cases_of_the_tenant_only_by_reference_in_pages(world: World) -> None:
    dialer = world.http("lender-a", "collector")
    for ref in ("C-3", "C-1", "C-2", "C-1"):
        file_item(dialer, ref)
    file_item(world.http("agency-b", "collector"), "C-0")
    seen, cursor = [], None
    while True:
        page = dialer.get("/v1/cases", params={"limit": 2} | ({"cursor": cursor} if cursor
                                                              else {})).json()
        seen += page["cases"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [c["case_id"] for c in seen] == ["C-1", "C-2", "C-3"]
    assert [c["counts"]["total"] for c in seen] == [2, 1, 1]
    assert all(c["holder"] == "lender-a" and c["head"]["case_seq"] == c["counts"]["total"]
               for c in seen)
    other = world.http("agency-b")
    assert [c["case_id"] for c in other.get("/v1/cases").json()["cases"]] == ["C-0"]
    for path in ("/v1/cases/C-1", "/v1/cases/NO-SUCH-CASE"):  # not theirs, or none: alike
        answer = other.get(path)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    assert dialer.get("/v1/cases/HX%2F1").status_code in (404, 422)
    assert dialer.get("/v1/cases", params={"limit": 0}).json()["code"] == "filter_invalid"
    assert dialer.get("/v1/cases", params={"case": "C-1"}).json()["code"] == "filter_invalid"
