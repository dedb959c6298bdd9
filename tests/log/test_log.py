"""The service's transparency log (issue 19) over real HTTP, a real chain and database:
statements (uploads and hash deposits) and custody events are appended as they commit,
numbered without gaps even when threads of two processes append at once; the signed
checkpoint verifies with the log's key; an item's inclusion proof verifies against it with
notary.core.tlog; a consistency proof between two checkpoints verifies, and no longer does
once an entry is removed; two real ``notary witness serve`` processes cosign the service's
checkpoints as the log grows, while a third that is down stops nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from notary.core import note, tlog
from notary.core.logentry import EntryType, checkpoint_leaf, entry_leaf
from notary.core.merkle import LeafType, MerkleTree, from_hex32, statement_leaf, verify_proof
from notary.keyfiles import load_log_key
from notary.service.custody import batch_leaves
from notary.service.translog import log_signer, stage
from storage.db import Batch, CustodyRecord, Evidence, session
from storage.translog import LogEntry, LogWitness
from tests.support import REPO, LiveServer, free_port, wait_until
from tests.witness.test_witness import WitnessProcess

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "LOG-2026-12"


def upload(http: httpx.Client, n: int) -> str:
    meta = {"case_id": CASE, "kind": "notice"}
    resp = http.post("/v1/evidence", files={
        "metadata": (None, json.dumps(meta), "application/json"),
        "file": (f"n{n}.txt", f"notice {n}".encode(), "text/plain")})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def deposit(http: httpx.Client, n: int) -> str:
    body = f"ledger {n}".encode()
    resp = http.post("/v1/evidence/hashes", json={
        "case_id": CASE, "kind": "other", "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body), "file_name": f"l{n}.pdf"})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def log_verifier(server: LiveServer) -> note.Verifier:
    return note.Verifier.from_vkey(server.client().get("/v1/log/vkey").text)


def checkpoint(server: LiveServer, keys: list[note.Verifier]) -> tuple[note.Checkpoint,
                                                                      note.Note]:
    resp = server.client().get("/v1/log/checkpoint")
    assert resp.status_code == 200, resp.text
    signed = note.Note.parse(resp.content)
    signed.verify(keys)
    return note.Checkpoint.parse(signed.text), signed


def covering(server: LiveServer, size: int) -> Callable[[], note.Checkpoint | None]:
    """A predicate: the latest checkpoint, once it holds at least ``size`` entries."""
    key = log_verifier(server)

    def check() -> note.Checkpoint | None:
        resp = server.client().get("/v1/log/checkpoint")
        if resp.status_code != 200:
            return None
        cp, _ = checkpoint(server, [key])
        return cp if cp.size >= size else None
    return check


def entries(server: LiveServer) -> list[LogEntry]:
    with session(server.service.engine) as s:
        return list(s.exec(select(LogEntry).order_by(col(LogEntry.idx))))


def test_statements_and_events_are_logged_and_their_proofs_verify(
        server: LiveServer) -> None:
    http = server.admin()
    ids = [upload(http, 1), deposit(http, 2), upload(http, 3)]
    # every statement and custody event has its leaf, numbered 0..n-1 in commit order (the
    # worker adds `anchored` events meanwhile: what was read between two reads of the log)
    before = {e.leaf_hash for e in entries(server)}
    with session(server.service.engine) as s:
        statements = {e.id: e.statement_jws for e in s.exec(select(Evidence))}
        events = {(r.evidence_id, r.seq): r.jws for r in s.exec(select(CustodyRecord))}
    logged = entries(server)
    assert [e.idx for e in logged] == list(range(len(logged)))
    expected = {entry_leaf(EntryType.STATEMENT, jws).hex() for jws in statements.values()}
    expected |= {entry_leaf(EntryType.CUSTODY_EVENT, jws).hex() for jws in events.values()}
    assert before <= expected <= {e.leaf_hash for e in logged}
    assert len({e.leaf_hash for e in logged}) == len(logged)
    # registered for each, stored for the two uploads (anchored ones only if the worker was quick)
    assert set(statements) == set(ids) and len(events) >= 5

    key = log_verifier(server)
    first = wait_until(covering(server, len(logged)))
    assert isinstance(first, note.Checkpoint) and first.origin == key.name

    # an upload's statement: its proof leads to the published root
    proof = server.client().get("/v1/log/proof/inclusion",
                                params={"evidence_id": ids[0]}).json()
    leaf = entry_leaf(EntryType.STATEMENT, statements[ids[0]])
    assert base64.b64decode(proof["leaf_hash"]) == leaf
    signed = note.Note.parse(proof["checkpoint"].encode())
    signed.verify([key])
    cp = note.Checkpoint.parse(signed.text)
    assert cp.size == proof["tree_size"]
    path = [base64.b64decode(p) for p in proof["proof"]]
    tlog.verify_inclusion(leaf, proof["index"], cp.size, path, cp.root)
    with pytest.raises(tlog.ProofError):  # another leaf does not lead there
        tlog.verify_inclusion(entry_leaf(EntryType.STATEMENT, statements[ids[1]]),
                              proof["index"], cp.size, path, cp.root)

    # the deposit's registered event, by evidence id and sequence number. Its proof leads to
    # the checkpoint it comes with: the worker may have published a newer one since `cp`.
    ev = server.client().get("/v1/log/proof/inclusion",
                             params={"evidence_id": ids[1], "custody_seq": 1}).json()
    ev_signed = note.Note.parse(ev["checkpoint"].encode())
    ev_signed.verify([key])
    ev_cp = note.Checkpoint.parse(ev_signed.text)
    assert ev_cp.size == ev["tree_size"] >= cp.size
    tlog.verify_inclusion(entry_leaf(EntryType.CUSTODY_EVENT, events[(ids[1], 1)]),
                          ev["index"], ev_cp.size,
                          [base64.b64decode(p) for p in ev["proof"]], ev_cp.root)

    # the log grows (anchoring adds `anchored` events, a new upload adds more)
    upload(http, 4)
    grown = len(entries(server))
    second = wait_until(covering(server, grown))
    assert isinstance(second, note.Checkpoint) and second.size > cp.size
    resp = server.client().get("/v1/log/proof/consistency",
                               params={"from": cp.size, "to": second.size})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    consistency = [base64.b64decode(p) for p in body["proof"]]
    tlog.verify_consistency(cp.size, second.size, cp.root, second.root, consistency)

    # an entry removed from the history: no proof from the published old root holds
    leaves = [bytes.fromhex(e.leaf_hash) for e in entries(server)][:second.size]
    removed = leaves[:1] + leaves[2:]
    forged_root = tlog.root(removed)
    forged = tlog.consistency_proof(cp.size, removed)
    with pytest.raises(tlog.ProofError):
        tlog.verify_consistency(cp.size, len(removed), cp.root, forged_root, forged)
    with pytest.raises(tlog.ProofError):  # nor does the honest proof lead to another root
        tlog.verify_consistency(cp.size, second.size, cp.root, forged_root, consistency)

    # the log's root is anchored too: the newest checkpoint rides in the next anchoring batch
    # as a leaf (3, SHA-256(text), root); once the worker is idle, the newest is anchored
    def anchored_newest() -> dict[str, Any] | None:
        resp = server.client().get("/v1/log/anchor")
        latest = server.client().get("/v1/log/checkpoint")
        if resp.status_code != 200 or server.service.worker.pending_count():
            return None
        body: dict[str, Any] = resp.json()
        return body if body["checkpoint"] == latest.text else None
    anchored = wait_until(anchored_newest)
    assert isinstance(anchored, dict)
    signed = note.Note.parse(anchored["checkpoint"].encode())
    signed.verify([key])
    on_chain = note.Checkpoint.parse(signed.text)
    assert on_chain.size >= second.size and on_chain.size == anchored["tree_size"]
    leaf = statement_leaf(on_chain.root, hashlib.sha256(signed.text).digest(),
                          LeafType.LOG_CHECKPOINT)
    assert leaf == checkpoint_leaf(signed.text) == from_hex32(anchored["leaf"])
    assert anchored["leaf_values"] == [3, "0x" + hashlib.sha256(signed.text).hexdigest(),
                                       "0x" + on_chain.root.hex()]
    batch_root = from_hex32(anchored["anchor"]["root"])
    verify_proof(batch_root, leaf, [from_hex32(p) for p in anchored["proof"]])
    registry = server.service.chain.registry  # type: ignore[union-attr]
    onchain_batch, block, _ts, _count = registry.batch_of(batch_root)
    assert (onchain_batch, block) == (anchored["anchor"]["batch_id"],
                                      anchored["anchor"]["block_number"])
    # ...and that anchored root holds the first upload's statement
    held = server.client().get("/v1/log/proof/inclusion", params={
        "evidence_id": ids[0], "tree_size": on_chain.size}).json()
    tlog.verify_inclusion(entry_leaf(EntryType.STATEMENT, statements[ids[0]]), held["index"],
                          on_chain.size, [base64.b64decode(p) for p in held["proof"]],
                          on_chain.root)
    # that batch still adds up when recomputed from its rows, the checkpoint's included (the
    # check custody_anchored runs on this)
    with session(server.service.engine) as s:
        batch = s.exec(select(Batch).where(Batch.root == anchored["anchor"]["root"])).one()
        assert batch.id is not None
        assert MerkleTree.build(batch_leaves(s, batch.id)).root == batch_root

    # what the routes refuse, without a 500
    bad = server.client()
    assert bad.get("/v1/log/anchor", params={"tree_size": 1}
                   ).json()["code"] == "log_checkpoint_not_anchored"
    assert bad.get("/v1/log/proof/inclusion", params={"evidence_id": "ev_none"}
                   ).json()["code"] == "log_entry_not_found"
    assert bad.get("/v1/log/proof/inclusion").json()["code"] == "log_entry_unspecified"
    assert bad.get("/v1/log/proof/consistency", params={"from": 0, "to": 1}
                   ).json()["code"] == "log_size_invalid"
    assert bad.get("/v1/log/proof/consistency", params={"from": 1, "to": 10**9}
                   ).json()["code"] == "log_checkpoint_not_found"


_APPENDER = """
import sys, threading
from notary.core.logentry import EntryType
from notary.service.translog import stage
from storage.db import session
from storage.migrate import open_database
engine = open_database(sys.argv[1])
tag = sys.argv[2]
def run(t):
    for i in range(15):
        with session(engine) as s:
            stage(s, EntryType.STATEMENT, f"{tag}-{t}-{i}-a", "ev_x")
            stage(s, EntryType.CUSTODY_EVENT, f"{tag}-{t}-{i}-b", "ev_x", i)
            s.commit()
threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_appends_from_threads_of_two_processes_are_numbered_without_gaps(
        tmp_path: Path, database_url: str | None) -> None:
    from storage.migrate import open_database

    url = database_url or f"sqlite:///{tmp_path / 'log.db'}"
    engine = open_database(url)
    procs = [subprocess.Popen([sys.executable, "-c", _APPENDER, url, tag], cwd=REPO,
                              stderr=subprocess.PIPE) for tag in ("p1", "p2")]
    for p in procs:
        assert p.wait(120) == 0, p.stderr.read() if p.stderr else ""
    with session(engine) as s:
        rows = list(s.exec(select(LogEntry).order_by(col(LogEntry.idx))))
        from storage.translog import LogHead
        head = s.get(LogHead, 1)
    assert [r.idx for r in rows] == list(range(2 * 4 * 15 * 2))
    assert head is not None and head.size == len(rows)
    # each transaction's two entries are adjacent: numbered together as it committed
    by_idx = {r.idx: r for r in rows}
    for r in rows:
        if r.kind == EntryType.STATEMENT:
            assert by_idx[r.idx + 1].custody_seq is not None
    engine.dispose()


@pytest.fixture
def witnessed(tmp_path: Path, make_server: Callable[..., LiveServer], settings: Any,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Witnessed]:
    # the log key exists before the service starts, so the witnesses can follow it
    key = load_log_key(settings.keys_dir, None)
    vkey = log_signer(key, "notary.test/log").verifier.vkey
    witnesses = [WitnessProcess(tmp_path / f"w{i}", f"court{i}.test/witness", vkey)
                 for i in (1, 2)]
    # a third witness, configured but down when the service starts
    late_dir, late_port = tmp_path / "w3", free_port()
    out = subprocess.run([sys.executable, "-m", "notary.cli", "witness", "init", str(late_dir),
                          "--name", "late.test/witness"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    late_vkey = out.strip().rsplit(" ", 1)[1]
    configured = tuple(f"{w.url}={w.vkey}" for w in witnesses)
    configured += (f"http://127.0.0.1:{late_port}={late_vkey}",)
    monkeypatch.setattr("notary.service.cosigning.RETRY_AFTER", timedelta(seconds=0.5))
    server = make_server(log_origin="notary.test/log", log_witnesses=configured,
                         log_witness_timeout=2.0)
    started = list(witnesses)

    def start_late() -> WitnessProcess:
        late = WitnessProcess(late_dir, "late.test/witness", vkey, port=late_port)
        started.append(late)
        return late

    yield Witnessed(server, witnesses, start_late)
    for w in started:
        w.stop()


@dataclass
class Witnessed:
    server: LiveServer
    witnesses: list[WitnessProcess]
    start_late: Callable[[], WitnessProcess]


def cosigned_by(server: LiveServer, keys: list[note.Verifier],
                size: int) -> Callable[[], note.Checkpoint | None]:
    """A predicate: the latest checkpoint, once it has ``size`` entries or more and verifies
    with every key of ``keys``."""
    def check() -> note.Checkpoint | None:
        resp = server.client().get("/v1/log/checkpoint")
        if resp.status_code != 200:
            return None
        signed = note.Note.parse(resp.content)
        try:
            seen = signed.verify(keys)
        except note.NoteError:
            return None
        cp = note.Checkpoint.parse(signed.text)
        return cp if set(seen) == set(keys) and cp.size >= size else None
    return check


def test_two_real_witnesses_cosign_the_services_checkpoints(witnessed: Witnessed) -> None:
    server, witnesses = witnessed.server, witnessed.witnesses
    key = log_verifier(server)
    assert key.name == "notary.test/log"
    keys = [key, *(w.verifier for w in witnesses)]
    http = server.admin()
    upload(http, 1)
    first = wait_until(cosigned_by(server, keys, 1), timeout=30)
    assert isinstance(first, note.Checkpoint)
    # the log grows: each witness checks the consistency proof from what it cosigned
    upload(http, 2)
    deposit(http, 3)
    second = wait_until(cosigned_by(server, keys, first.size + 1), timeout=30)
    assert isinstance(second, note.Checkpoint) and second.size > first.size
    for w in witnesses:
        held = note.Note.parse(httpx.get(
            f"{w.url}/{hashlib.sha256(key.name.encode()).hexdigest()}/checkpoint").content)
        assert note.Checkpoint.parse(held.text).size >= second.size
        assert httpx.get(w.url + "/forks").json() == []

    # the witness that is down stopped nothing; its failure is on record, and once it is up
    # it is asked again and cosigns the latest checkpoint too
    with session(server.service.engine) as s:
        states = {w.name: w for w in s.exec(select(LogWitness))}
    assert states["late.test/witness"].last_error and states["late.test/witness"].size == 0
    assert all(states[w.verifier.name].size >= first.size for w in witnesses)
    late = witnessed.start_late()
    upload(http, 4)
    third = wait_until(cosigned_by(server, [*keys, late.verifier], second.size + 1),
                       timeout=30)
    assert isinstance(third, note.Checkpoint)


def test_what_does_not_commit_takes_no_number(tmp_path: Path,
                                              database_url: str | None) -> None:
    from storage.migrate import open_database

    engine = open_database(database_url or f"sqlite:///{tmp_path / 'log.db'}")
    with session(engine) as s:
        stage(s, EntryType.STATEMENT, "rolled-back", "ev_a")
        s.rollback()
    with session(engine) as s:  # closed without a commit
        stage(s, EntryType.STATEMENT, "abandoned", "ev_b")
    with session(engine) as s:
        with s.begin_nested():  # a savepoint's commit does not number: the outermost does
            stage(s, EntryType.STATEMENT, "kept", "ev_c")
        assert s.exec(select(LogEntry)).first() is None
        s.commit()
        stage(s, EntryType.CUSTODY_EVENT, "next", "ev_c", 1)  # the same session, again
        s.commit()
    rows = entries_of(engine)
    assert [(r.idx, r.evidence_id, r.custody_seq) for r in rows] == [(0, "ev_c", None),
                                                                    (1, "ev_c", 1)]
    assert rows[0].leaf_hash == entry_leaf(EntryType.STATEMENT, "kept").hex()
    engine.dispose()


def entries_of(engine: Any) -> list[LogEntry]:
    with session(engine) as s:
        return list(s.exec(select(LogEntry).order_by(col(LogEntry.idx))))


def test_an_upgraded_deployment_logs_what_it_notarised_before(
        make_server: Callable[..., LiveServer]) -> None:
    """Migration 0015 appends the statements and events recorded before it, oldest first."""
    from alembic import command

    from storage.db import make_engine
    from storage.migrate import alembic_config, upgrade

    server = make_server(anchor_worker=False)
    http = server.admin()
    ids = [deposit(http, 1), upload(http, 2)]
    before = {e.leaf_hash for e in entries(server)}
    server.stop()
    engine = make_engine(server.settings.db_url)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0014")
    upgrade(engine)
    rows = entries_of(engine)
    assert [r.idx for r in rows] == list(range(len(rows)))
    assert {r.leaf_hash for r in rows} == before and len(before) >= 4
    assert rows[0].evidence_id == ids[0] and rows[0].custody_seq is None  # the first deposit
    engine.dispose()
