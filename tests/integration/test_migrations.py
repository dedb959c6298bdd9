"""Migrations move real data: a database written by an earlier version upgrades in place."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from storage.db import Case, CaseHead, Evidence, Tenant, make_engine, session
from storage.migrate import current_revision, head_revision, upgrade

pytestmark = pytest.mark.integration


def test_0004_moves_cases_into_tenants_and_case_uids(tmp_path: Path,
                                                      database_url: str | None) -> None:
    engine = make_engine(database_url or f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0003")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for seq, (case, digest) in enumerate([("C-1", "a" * 64), ("C-1", "b" * 64),
                                              ("C-2", "c" * 64)], start=1):
            conn.execute(text(
                "INSERT INTO evidence (id, tenant, case_id, case_seq, kind, media_type, file_name,"
                " size, sha256, cid, statement_jws, statement_digest, received_at, anchor_deadline,"
                " receipt_jws, submitter, wrapped_key, status) VALUES (:id, 'default', :case,"
                " :seq, 'notice', 'application/pdf', 'n.pdf', 1, :sha, 'bafk', 'jws', :digest,"
                " :now, :now, 'r', 'apikey:x', 'w', 'pending')"),
                {"id": f"ev_{seq}", "case": case, "seq": 1 if case == "C-2" else seq,
                 "sha": str(seq) * 64, "digest": digest, "now": now})
        conn.execute(text("INSERT INTO case_heads (case_id, last_seq, last_statement_digest) "
                          "VALUES ('C-1', 2, :b), ('C-2', 1, :c)"), {"b": "b" * 64, "c": "c" * 64})
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with session(engine) as s:
        assert [t.id for t in s.exec(select(Tenant))] == ["default"]
        cases = {c.case_id: c for c in s.exec(select(Case))}
        assert set(cases) == {"C-1", "C-2"} and cases["C-1"].holder == "default"
        items = list(s.exec(select(Evidence)))
        assert {e.case_uid for e in items if e.case_id == "C-1"} == {cases["C-1"].uid}
        heads = {h.case_uid: h for h in s.exec(select(CaseHead))}
        assert heads[cases["C-1"].uid].last_seq == 2
        assert heads[cases["C-1"].uid].last_statement_digest == "b" * 64
        assert heads[cases["C-2"].uid].last_statement_digest == "c" * 64
    engine.dispose()


def test_0006_revokes_links_of_transferred_cases_and_caps_their_life(
        tmp_path: Path, database_url: str | None) -> None:
    from datetime import timedelta

    from storage.db import ShareLink

    engine = make_engine(database_url or f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0005")
    now = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tenants (id, name, created_at) VALUES ('lender-a', "
                          "'lender-a', :n), ('agency-b', 'agency-b', :n)"), {"n": now})
        conn.execute(text("INSERT INTO cases (uid, case_id, holder, opened_by, created_at) "
                          "VALUES ('case_x', 'C-1', 'agency-b', 'lender-a', :n)"), {"n": now})
        for link, tenant, days in [("a" * 16, "lender-a", 30), ("b" * 16, "agency-b", 365),
                                   ("c" * 16, "agency-b", 7)]:
            conn.execute(text(
                "INSERT INTO share_links (id, token_hash, case_uid, tenant, created_by, "
                "created_at, expires_at) VALUES (:i, :h, 'case_x', :t, 'apikey:k', :n, :e)"),
                {"i": link, "h": link * 4, "t": tenant, "n": now,
                 "e": now + timedelta(days=days)})
    upgrade(engine)
    with session(engine) as s:
        links = {r.id[0]: r for r in s.exec(select(ShareLink))}
    assert links["a"].revoked_at is not None and links["a"].revoked_reason == "case transferred"
    assert links["b"].revoked_at is None and links["c"].revoked_at is None
    def life(r: ShareLink) -> timedelta:
        return r.expires_at.replace(tzinfo=None) - r.created_at.replace(tzinfo=None)
    assert life(links["b"]) == timedelta(days=90) and life(links["c"]) == timedelta(days=7)
    engine.dispose()


def test_0007_adds_key_names_and_keeps_existing_keys(tmp_path: Path,
                                                     database_url: str | None) -> None:
    from notary.service.apikeys import authenticate, create_key, list_keys
    from storage.db import ApiKey

    engine = make_engine(database_url or f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0006")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO api_keys (id, key_hash, role, tenant, label, created_at) "
                          "VALUES ('0123456789ab', :h, 'collector', 'default', 'old', :n)"),
                     {"h": "f" * 64, "n": now})
    upgrade(engine)
    with session(engine) as s:
        old = s.get(ApiKey, "0123456789ab")
    assert old is not None and old.name is None and old.label == "old"
    named = "外呼系统 7号 · 工号 1024 " + "长" * 82
    assert len(named) == 100  # 100 characters, any script
    row, token = create_key(engine, "collector", name=named)
    assert authenticate(engine, token).name == named
    assert {k.id: k.name for k in list_keys(engine)}[row.id] == named
    engine.dispose()


def test_server_migrates_in_a_child_and_never_holds_alembic(tmp_path: Path) -> None:
    """``notary run`` opens its database with ``isolated=True``: a fresh database is migrated
    by a child process, the server process never imports Alembic, and an older database is
    recognised as not current (only the newest revision skips the migration)."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    probe = ("import sys; from storage.migrate import open_database, schema_is_current; "
             f"e = open_database({url!r}, isolated=True); "
             "print(schema_is_current(e), 'alembic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.split() == ["True", "False"], done.stderr
    engine = make_engine(url)
    assert current_revision(engine) == head_revision()

    from storage.migrate import open_database, schema_is_current

    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(old, "0013")
    assert not schema_is_current(old)
    upgraded = open_database(f"sqlite:///{tmp_path / 'old.db'}", isolated=True)
    assert schema_is_current(upgraded) and current_revision(upgraded) == head_revision()
