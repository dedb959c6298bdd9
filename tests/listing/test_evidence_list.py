"""GET /v1/evidence as a dialer's reconciliation uses it: every filter, pages that neither lose
nor repeat an item while new ones arrive, another tenant's items never listed, a sold case
moving to the buyer, and bad filters or cursors refused with a code."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from datetime import UTC, datetime

import pytest

from tests.listing.conftest import World, every, file_item
from tests.support import wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]


def _ids(items: list[dict]) -> list[str]:
    return [i["id"] for i in items]


def test_each_filter_narrows_to_exactly_the_matching_items(world: World) -> None:
    dialer, admin = world.http("lender-a", "collector"), world.http("lender-a")
    calls = [file_item(dialer, "HX-1") for _ in range(3)]
    notice_bytes = b"%PDF-1.4 notice " + os.urandom(8)
    notice = file_item(admin, "HX-2", "notice", notice_bytes)
    time.sleep(0.05)
    middle = datetime.now(UTC)
    time.sleep(0.05)
    late = file_item(dialer, "HX-2")
    everything = every(admin)
    assert _ids(everything) == [late["id"], notice["id"], *reversed(_ids(calls))]  # newest first
    assert set(everything[0]) >= {"id", "sha256", "case_id", "case_seq", "status", "received_at",
                                  "statement", "receipt", "check_code", "anchor", "legal_hold"}
    assert "statement_json" not in everything[0]  # the per-row JWS check is left to GET {id}

    assert _ids(every(admin, case="HX-1", order="asc")) == _ids(calls)
    assert _ids(every(admin, kind="notice")) == [notice["id"]]
    assert _ids(every(admin, sha256=hashlib.sha256(notice_bytes).hexdigest().upper())) == \
        [notice["id"]]
    assert _ids(every(admin, since=middle.isoformat())) == [late["id"]]
    assert late["id"] not in _ids(every(admin, until=middle.isoformat()))
    # the same instant in Beijing time
    beijing = middle.astimezone(datetime.fromisoformat("2026-01-01T00:00:00+08:00").tzinfo)
    assert _ids(every(admin, since=beijing.isoformat())) == [late["id"]]
    by_name = every(admin, submitter="dialer-7")
    assert set(_ids(by_name)) == {*_ids(calls), late["id"]}
    assert _ids(every(admin, submitter=world.key_ids[("lender-a", "collector")])) == \
        _ids(by_name)
    assert _ids(every(admin, submitter="nobody-by-this-name")) == []

    wait_until(lambda: all(i["status"] == "anchored" for i in every(admin)), timeout=60)
    anchored = every(admin, status="anchored")
    assert len(anchored) == 5 and all(i["anchor"]["tx_hash"].startswith("0x") for i in anchored)
    assert every(admin, status="pending") == []
    # the listed item is the single item's answer, less what is costly per row
    one = admin.get(f"/v1/evidence/{late['id']}").json()
    listed = every(admin, case="HX-2", kind="call_recording")[0]
    assert {k: one[k] for k in listed} == listed


def test_pages_neither_lose_nor_repeat_items_while_new_ones_arrive(world: World) -> None:
    dialer = world.http("lender-a", "collector")
    before = [file_item(dialer, f"C-{n % 3}") for n in range(7)]
    for order in ("desc", "asc"):
        seen: list[str] = []
        added: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2, "order": order} | ({"cursor": cursor} if cursor else {})
            page = dialer.get("/v1/evidence", params=params).json()
            seen += _ids(page["items"])
            added.append(file_item(dialer, "C-new")["id"])  # arrives between two pages
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)), f"{order}: an item was listed twice"
        assert set(_ids(before)) <= set(seen), f"{order}: an item was lost"
        if order == "asc":  # oldest first: what arrived while paging is read too
            assert set(added[:-1]) <= set(seen)
        else:  # newest first: what arrived after the first page is not mixed in
            assert not set(added) & set(seen)
        before = [{"id": i} for i in seen + added]


def test_a_link_header_and_the_limit(world: World) -> None:
    dialer = world.http("lender-a", "collector")
    for _ in range(3):
        file_item(dialer, "L-1")
    page = dialer.get("/v1/evidence", params={"limit": 2, "case": "L-1"})
    assert len(page.json()["items"]) == 2
    link = page.headers["Link"]
    assert link.startswith("</v1/evidence?") and link.endswith('>; rel="next"')
    following = dialer.get(link[1:link.index(">")]).json()
    assert len(following["items"]) == 1 and following["next_cursor"] is None
    assert "Link" not in dialer.get("/v1/evidence", params={"case": "L-1"}).headers


def test_another_tenants_items_are_never_listed(world: World) -> None:
    mine = [file_item(world.http("lender-a", "collector"), "SAME-REF") for _ in range(2)]
    theirs = [file_item(world.http("agency-b", "collector"), "SAME-REF") for _ in range(2)]
    for role in ("admin", "collector", "auditor"):
        assert set(_ids(every(world.http("lender-a", role)))) == set(_ids(mine))
        assert set(_ids(every(world.http("agency-b", role)))) == set(_ids(theirs))
    lender = world.http("lender-a")
    assert _ids(every(lender, case="SAME-REF", order="asc")) == _ids(mine)
    assert every(lender, sha256=theirs[0]["sha256"]) == []
    # a key id of the other tenant names nothing this tenant may see
    assert every(lender, submitter=world.key_ids[("agency-b", "collector")]) == []
    assert lender.get("/v1/evidence").json()["items"]  # and the caller's own are there
    assert world.server.client().get("/v1/evidence").status_code == 401


def test_a_transferred_case_moves_to_the_buyers_list(world: World) -> None:
    lender, agency = world.http("lender-a"), world.http("agency-b")
    sold = [file_item(world.http("lender-a", "collector"), "SOLD-1") for _ in range(2)]
    kept = file_item(world.http("lender-a", "collector"), "KEPT-1")
    assert every(agency) == []
    moved = lender.post("/v1/cases/SOLD-1/transfer", json={"to_tenant": "agency-b"})
    assert moved.status_code == 200, moved.text
    added = file_item(world.http("agency-b", "collector"), "SOLD-1")
    assert _ids(every(agency, order="asc")) == [*_ids(sold), added["id"]]
    assert _ids(every(agency, case="SOLD-1", order="asc")) == [*_ids(sold), added["id"]]
    # the seller still lists what it filed itself (tenancy's rule), never what the buyer adds
    assert set(_ids(every(lender))) == {*_ids(sold), kept["id"]}
    assert _ids(every(lender, case="SOLD-1", order="asc")) == _ids(sold)
    assert [c["case_id"] for c in agency.get("/v1/cases").json()["cases"]] == ["SOLD-1"]
    assert [c["case_id"] for c in lender.get("/v1/cases").json()["cases"]] == ["KEPT-1"]
    assert lender.get("/v1/cases/SOLD-1").status_code == 404
    assert agency.get("/v1/cases/SOLD-1").json()["counts"]["total"] == 3


def _cursor(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_bad_filters_and_cursors_are_refused_with_a_code(world: World) -> None:
    dialer = world.http("lender-a", "collector")
    for _ in range(3):
        file_item(dialer, "B-1")
    cursor = dialer.get("/v1/evidence", params={"limit": 1}).json()["next_cursor"]
    decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    refused = {
        (("sha256", "abc"),): (422, "sha256_invalid"),
        (("status", "lost"),): (422, "filter_invalid"),
        (("kind", "video"),): (422, "filter_invalid"),
        (("since", "2026-12-01"),): (422, "filter_invalid"),
        (("until", "yesterday"),): (422, "filter_invalid"),
        (("since", "0000-01-01T00:00:00Z"),): (422, "filter_invalid"),
        (("until", "9999-12-31T23:59:59-01:00"),): (422, "filter_invalid"),
        (("until", "2026-02-30T00:00:00Z"),): (422, "filter_invalid"),
        (("since", "2026-12-02T00:00:00Z"), ("until", "2026-12-01T00:00:00Z")):
            (422, "filter_invalid"),
        (("case", "HX/1"),): (422, "case_id_invalid"),
        (("submitter", "a\u200bb"),): (422, "filter_invalid"),
        (("order", "newest"),): (422, "filter_invalid"),
        (("limit", "0"),): (422, "filter_invalid"),
        (("limit", "1001"),): (422, "filter_invalid"),
        (("cases", "B-1"),): (422, "filter_invalid"),  # a misspelt filter is not ignored
        (("case", "B-1"), ("case", "B-2")): (422, "filter_invalid"),
        (("cursor", "not a cursor!"),): (400, "cursor_invalid"),
        (("cursor", "e30"),): (400, "cursor_invalid"),  # {}
        (("cursor", cursor[:-3]),): (400, "cursor_invalid"),
        (("cursor", _cursor({**decoded, "id": "ev_../../etc"})),): (400, "cursor_invalid"),
        (("cursor", _cursor({**decoded, "t": "yesterday"})),): (400, "cursor_invalid"),
        (("cursor", _cursor({**decoded, "extra": "1"})),): (400, "cursor_invalid"),
        # a cursor is bound to its query: other filters or another order are refused
        (("cursor", cursor), ("status", "pending")): (400, "cursor_invalid"),
        (("cursor", cursor), ("order", "asc")): (400, "cursor_invalid"),
        (("cursor", "A" * 600),): (400, "cursor_invalid"),
    }
    for params, (status, code) in refused.items():
        answer = dialer.get("/v1/evidence", params=list(params))
        assert (answer.status_code, answer.json().get("code")) == (status, code), \
            (params, answer.text)
    assert dialer.get("/v1/evidence", params={"cursor": cursor}).status_code == 200
    assert dialer.get("/v1/cases", params={"cursor": cursor}).json()["code"] == "cursor_invalid"
