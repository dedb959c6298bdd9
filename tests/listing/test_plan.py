"""The listing's queries use indexes, whatever the size: a few thousand items of ten tenants
inserted in bulk, then the database's own query plan of each query read (SQLite's EXPLAIN
QUERY PLAN, PostgreSQL's EXPLAIN after ANALYZE). A query that read every item of the table
(or sorted all of a tenant's) would be slow at 100,000 items; the plan says so at 5,000."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, text
from sqlmodel import Session

from notary.service.listing import Filters, Position, evidence_queries, list_cases, list_evidence
from storage.db import Case, Evidence, make_engine, session
from storage.migrate import upgrade

pytestmark = pytest.mark.integration

TENANTS, CASES, PER_CASE = 10, 50, 10  # 5,000 items
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path, database_url: str | None) -> Engine:
    engine = make_engine(database_url or f"sqlite:///{tmp_path / 'listing.db'}")
    upgrade(engine)
    cases, items = [], []
    n = 0
    for t in range(TENANTS):
        for c in range(CASES):
            # t1's first five cases were sold to t0: their items are t1's, the case t0's
            holder = "t0" if t == 1 and c < 5 else f"t{t}"
            uid = f"case_{t}_{c}"
            ref = f"T{t}-{c:03d}"
            cases.append({"uid": uid, "case_id": ref, "holder": holder,
                          "opened_by": f"t{t}", "created_at": T0})
            for seq in range(1, PER_CASE + 1):
                n += 1
                items.append({
                    "id": f"ev_{secrets.token_hex(16)}", "tenant": f"t{t}", "case_uid": uid,
                    "case_id": ref, "case_seq": seq, "kind": "call_recording",
                    "media_type": "audio/wav", "file_name": "c.wav", "size": 1,
                    "sha256": secrets.token_hex(32), "cid": "bafk", "statement_jws": "jws",
                    "statement_digest": secrets.token_hex(32),
                    # many items share a second: the id breaks the tie
                    "received_at": T0 + timedelta(seconds=n // 3),
                    "anchor_deadline": T0, "receipt_jws": "r", "submitter": f"apikey:{t:012x}",
                    "status": "anchored" if n % 4 else "pending"})
    with session(engine) as s:
        s.execute(insert(Case), cases)
        s.execute(insert(Evidence), items)
        s.commit()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return engine


def _plan(s: Session, query: object) -> str:
    sql = str(query.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]
    if s.get_bind().dialect.name == "sqlite":
        rows = s.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
        return "\n".join(str(r[-1]) for r in rows)
    return "\n".join(str(r[0]) for r in s.execute(text(f"EXPLAIN {sql}")).all())


def _full_scan(plan: str, table: str) -> bool:
    lines = plan.splitlines()
    return any(line.strip() in (f"SCAN {table}", f"SCAN TABLE {table}") for line in lines) or \
        any(f"Seq Scan on {table}" in line for line in lines)


def test_the_own_items_page_walks_the_tenant_index(engine: Engine) -> None:
    after = Position(T0 + timedelta(seconds=300), "ev_" + "8" * 32)
    with session(engine) as s:
        for position in (None, after):
            own, held = evidence_queries(s, "t0", Filters(), after=position, limit=101)
            plan = _plan(s, own)
            assert "ix_evidence_tenant_received" in plan, plan
            assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # no sort: ordered
            plan = _plan(s, held)
            assert "ix_evidence_case_uid" in plan or "ix_evidence_tenant_received" in plan, plan
            assert not _full_scan(plan, "evidence"), plan
        # a case of its own, one it bought, a reference it does not hold
        for filters in (Filters(case="T0-001"), Filters(case="T1-002"), Filters(case="T2-002"),
                        Filters(sha256="ab" * 32), Filters(status="pending")):
            for query in evidence_queries(s, "t0", filters, limit=101):
                plan = _plan(s, query)
                assert not _full_scan(plan, "evidence"), (filters, plan)


def test_the_cases_page_uses_the_holder_index(engine: Engine) -> None:
    from sqlmodel import col, select

    with session(engine) as s:
        plan = _plan(s, select(Case).where(Case.holder == "t3").order_by(col(Case.case_id))
                     .limit(101))
    assert not _full_scan(plan, "cases"), plan


def test_paging_the_bulk_reads_each_visible_item_once_in_order(engine: Engine) -> None:
    seen: list[Evidence] = []
    cursor = None
    while True:
        page = list_evidence(engine, "t0", Filters(), order="asc", cursor=cursor, limit=97)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    # t0's own 500 items and the 50 of the five cases it bought from t1
    assert len(seen) == len({e.id for e in seen}) == CASES * PER_CASE + 5 * PER_CASE
    keys = [(e.received_at, e.id) for e in seen]
    assert keys == sorted(keys)
    assert {e.tenant for e in seen} == {"t0", "t1"}
    cases = list_cases(engine, "t0", limit=1000).cases
    assert len(cases) == CASES + 5  # its own and the five bought
    assert sum(c.items for c in cases) == len(seen)
