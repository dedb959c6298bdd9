"""Contention is "try again", never 500 (issue 15 #3): concurrent custody appends on one item
(content reads recording ``viewed`` racing legal holds set and lifted) and concurrent
submissions to one case, over real HTTP. Meant for PostgreSQL, where the races are real
(``NOTARY_TEST_POSTGRES=postgresql://root@127.0.0.1:5432/test``); on SQLite writers serialise
and the same requests must simply all succeed.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from sqlmodel import select

from notary.service import ingest
from storage.db import CustodyRecord, Evidence, session
from tests.support import LiveServer

pytestmark = [pytest.mark.chain, pytest.mark.faults]


def _run(threads: int, work: Callable[[int], None]) -> None:
    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)


def _check(resp: httpx.Response, code: str, ok: set[int]) -> None:
    assert resp.status_code != 500, resp.text
    if resp.status_code == 503:
        assert resp.json()["code"] == code, resp.text
        assert int(resp.headers["Retry-After"]) >= 1
    else:
        assert resp.status_code in ok, resp.text


def test_custody_appends_racing_on_one_item_never_answer_500(server: LiveServer) -> None:
    http = server.admin()
    item = http.post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": "RACE-1", "kind": "notice"})),
        "file": ("n.txt", os.urandom(500))}).json()["id"]
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def work(i: int) -> None:
        with server.admin() as c:
            for n in range(8):
                if i % 2:
                    resp = c.get(f"/v1/evidence/{item}/content")
                    _check(resp, "custody_contention", {200})
                else:
                    path = "legal-hold" if n % 2 == 0 else "legal-hold/lift"
                    resp = c.post(f"/v1/evidence/{item}/{path}", json={"reason": f"r{i}-{n}"})
                    _check(resp, "custody_contention", {200, 409})
                with lock:
                    statuses[resp.status_code] += 1

    _run(8, work)
    print(dict(statuses))
    with session(server.service.engine) as s:
        seqs = [r.seq for r in s.exec(select(CustodyRecord)
                                      .where(CustodyRecord.evidence_id == item))]
    assert sorted(seqs) == list(range(1, len(seqs) + 1))  # one chain, no gap, no duplicate
    assert statuses[200] >= 32  # at least every read got through
    custody = http.get(f"/v1/evidence/{item}/custody")
    assert custody.status_code == 200, custody.text


def test_submissions_racing_on_one_case_answer_503_not_500(
        server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The service retries a taken case sequence number 20 times; one try here makes the
    # (real) contention reach the client, whose answer is what this test checks.
    monkeypatch.setattr(ingest, "CASE_ATTEMPTS", 1)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def work(i: int) -> None:
        with server.admin() as c:
            for n in range(5):
                resp = c.post("/v1/evidence", files={
                    "metadata": (None, json.dumps({"case_id": "RACE-2", "kind": "notice"})),
                    "file": (f"n{i}-{n}.txt", os.urandom(300))})
                _check(resp, "case_contention", {201})
                with lock:
                    statuses[resp.status_code] += 1

    _run(8, work)
    print(dict(statuses))
    assert statuses[201] >= 1
    assert sum(statuses.values()) == 40
    with session(server.service.engine) as s:  # nothing recorded for a refused submission
        seqs = [e.case_seq for e in s.exec(select(Evidence).where(Evidence.case_id == "RACE-2"))]
    assert sorted(seqs) == list(range(1, statuses[201] + 1))


def test_an_event_is_never_dated_before_the_one_it_follows(server: LiveServer) -> None:
    """A clock that stepped back (simulated by dating the last stored event a day ahead: the
    only fault here that cannot be caused for real) does not date the next event earlier."""
    from datetime import UTC, datetime, timedelta

    from notary.core.custody import CustodyEvent
    from notary.core.signing import jws_payload
    from storage.db import utc

    http = server.admin()
    item = http.post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": "CLOCK-1", "kind": "notice"})),
        "file": ("n.txt", os.urandom(300))}).json()["id"]
    ahead = datetime.now(UTC) + timedelta(days=1)
    with session(server.service.engine) as s:
        last = s.exec(select(CustodyRecord).where(CustodyRecord.evidence_id == item)
                      .order_by(CustodyRecord.seq.desc())).first()  # type: ignore[attr-defined]
        assert last is not None
        last.at = ahead
        s.add(last)
        s.commit()
    assert http.post(f"/v1/evidence/{item}/legal-hold", json={"reason": "clock"}).status_code == 200
    with session(server.service.engine) as s:
        newest = s.exec(select(CustodyRecord).where(CustodyRecord.evidence_id == item)
                        .order_by(CustodyRecord.seq.desc())).first()  # type: ignore[attr-defined]
    assert newest is not None and utc(newest.at) >= ahead
    event = CustodyEvent.from_bytes(jws_payload(newest.jws))
    assert datetime.fromisoformat(event.at) >= ahead
