"""Item 5: small files submitted by a concurrent client on loopback for a bounded time.

The server is ``notary run`` in its own process (embedded anvil, batch worker with the default
NOTARY_BATCH_SECONDS=2); the client is :mod:`bench.loadgen` in another. Afterwards the time
from receipt to anchored proof is read for every accepted item from the server's database
(``received_at`` of the evidence, ``anchored_at`` of its batch: the same clock).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.procs import (
    NotaryServer,
    http_json,
    log,
    percentile,
    proc_status,
    run_measured,
    wait_for,
)


def _pending(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM evidence WHERE status != 'anchored'")
                   .fetchone()[0])


def _anchor_delays(db: Path, ids: set[str]) -> tuple[list[float], int, list[int]]:
    """Seconds from receipt to anchoring for ``ids``; how many are not anchored; batch sizes."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        rows = conn.execute(
            "SELECT e.id, e.received_at, b.anchored_at FROM evidence e "
            "LEFT JOIN batches b ON b.id = e.batch_id").fetchall()
        sizes = [int(r[0]) for r in conn.execute(
            "SELECT leaf_count FROM batches WHERE status = 'anchored' ORDER BY id")]
    delays, missing = [], 0
    for evidence_id, received, anchored in rows:
        if evidence_id not in ids:
            continue
        if anchored is None:
            missing += 1
            continue
        delays.append((datetime.fromisoformat(anchored) - datetime.fromisoformat(received))
                      .total_seconds())
    return delays, missing, sizes


def run(tmp: Path, *, seconds: float = 20, concurrency: int = 32,
        drain_timeout: float = 120, profile: Path | None = None,
        cwd: Path | None = None) -> dict[str, Any]:
    """The load test; ``profile``: record the server with py-spy (GIL-holding samples) to this
    file; ``cwd``: serve another checkout of notary (before/after comparisons)."""
    server = NotaryServer(tmp / "load-home", **({"cwd": cwd} if cwd else {}))
    out_path = tmp / "loadgen.json"
    try:
        log(f"load: {concurrency} connections for {seconds:.0f}s, files of 1-64 KiB")
        spy = None
        if profile is not None:
            import subprocess

            spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record",
                                    "-p", str(server.pid), "-r", "100", "-f", "raw",
                                    "-d", str(int(seconds)), "-o", str(profile), "--gil"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        worker = server.worker_pid()
        cpu0 = _cpu_seconds(server.pid)
        user0, sys0 = _cpu_split(server.pid)
        wcpu0 = _cpu_seconds(worker) if worker else 0.0
        client = run_measured([sys.executable, "-m", "bench.loadgen", "--url", server.url,
                               "--token", server.admin_key, "--seconds", str(seconds),
                               "--concurrency", str(concurrency), "--out", str(out_path)],
                              timeout=seconds + 300)
        cpu1 = _cpu_seconds(server.pid)
        user1, sys1 = _cpu_split(server.pid)
        wcpu1 = _cpu_seconds(worker) if worker else 0.0
        if spy is not None:
            spy.wait(60)
        if client.returncode != 0:
            raise RuntimeError(f"loadgen failed: {client.stderr[-2000:]}")
        res = json.loads(out_path.read_text())
        accepted = res["status"].get("201", 0)
        lat = res["latencies"]
        log(f"  {accepted} accepted in {res['elapsed']:.1f}s = {accepted / res['elapsed']:.0f}/s; "
            f"p50 {percentile(lat, 50) * 1e3:.0f} ms, p95 {percentile(lat, 95) * 1e3:.0f} ms")
        t_drain = time.monotonic()
        wait_for(lambda: _pending(server.db_path()) == 0, drain_timeout, interval=0.5)
        drain = time.monotonic() - t_drain
        delays, missing, sizes = _anchor_delays(server.db_path(), set(res["ids"]))
        log(f"  anchored: p50 {percentile(delays, 50):.1f}s, p95 {percentile(delays, 95):.1f}s "
            f"after receipt; {missing} not anchored {drain_timeout:.0f}s after the load")
        sample = _check_sample(server, res["ids"][:: max(1, len(res["ids"]) // 5)][:5])
        return {
            "seconds": res["elapsed"], "concurrency": concurrency, "accepted": accepted,
            "status_counts": res["status"], "errors": res["errors"][:5],
            "error_samples": res["samples"], "accepted_per_second": accepted / res["elapsed"],
            "latency_seconds": {q: percentile(lat, float(q[1:])) for q in ("p50", "p95", "p99")}
            | {"max": max(lat, default=float("nan"))},
            "anchor_delay_seconds": {q: percentile(delays, float(q[1:]))
                                     for q in ("p50", "p95", "p99")}
            | {"max": max(delays, default=float("nan"))},
            "not_anchored": missing, "drain_seconds": drain,
            "batches": len(sizes), "batch_size_max": max(sizes, default=0),
            # server_cpu_*: the API and the worker process together (one process before
            # issue 17), so that rounds compare; user/system and api_*: the API process.
            "server_cpu_seconds": cpu1 - cpu0 + wcpu1 - wcpu0,
            "server_user_seconds": user1 - user0, "server_system_seconds": sys1 - sys0,
            "server_cpu_ms_per_accepted": (cpu1 - cpu0 + wcpu1 - wcpu0) / max(accepted, 1) * 1e3,
            "api_cpu_seconds": cpu1 - cpu0, "worker_cpu_seconds": wcpu1 - wcpu0,
            "server_rss_after_bytes": proc_status(server.pid)["VmRSS"],
            "worker_rss_after_bytes": (server.worker_status() or {}).get("VmRSS"),
            "proof_sample_ok": sample,
            "bulk_floor": bulk_floor(),
        }
    finally:
        server.stop()


def bulk_floor(n: int = 2_000) -> dict[str, Any]:
    """What a bulk endpoint (many hashes in one request, for dialers that hash locally) would
    still have to do per item, measured in process: build and validate the statement, sign it
    and the receipt (Ed25519 JWS), compute its leaf; plus one SQLite transaction inserting
    all ``n`` rows (``synchronous=FULL``, WAL). No HTTP, no ORM: a floor, not a forecast."""
    import sqlite3
    import tempfile

    from notary.core.merkle import statement_leaf
    from notary.core.signing import SigningKey, sign_receipt, sign_statement
    from notary.core.statement import EvidenceKind, Statement

    key = SigningKey.generate()
    hashes = [os.urandom(32).hex() for _ in range(n)]
    t0 = time.perf_counter()
    rows = []
    prev = None
    for i, sha in enumerate(hashes, start=1):
        st = Statement(evidence_id=f"ev_{i:032x}", case_id="HX-BULK", case_seq=i,
                       prev_statement=prev, kind=EvidenceKind.CALL_RECORDING,
                       media_type="audio/wav", size=40_000, sha256=sha, file_name="call.wav",
                       received_at="2026-11-29T12:00:00.123456Z", submitter="apikey:bench")
        digest = st.digest()
        prev = digest.hex()
        rows.append((st.evidence_id, sign_statement(st, key),
                     sign_receipt(prev, st.evidence_id, "2026-11-29T12:05:00Z",
                                  "2026-11-29T12:00:00.123456Z", key),
                     statement_leaf(digest, bytes.fromhex(sha)).hex()))
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        conn = sqlite3.connect(f"{d}/bulk.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE e (id TEXT PRIMARY KEY, jws TEXT, receipt TEXT, leaf TEXT)")
        t2 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO e VALUES (?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
        t3 = time.perf_counter()
        conn.close()
    per_item = (t1 - t0 + t3 - t2) / n
    return {"items": n, "core_us_per_item": (t1 - t0) / n * 1e6,
            "sqlite_us_per_item": (t3 - t2) / n * 1e6, "items_per_second_one_core": 1 / per_item}


def _cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of ``pid`` so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _cpu_seconds(pid: int) -> float:
    return sum(_cpu_split(pid))


def _check_sample(server: NotaryServer, ids: list[str]) -> bool:
    """A few accepted items really have an anchored proof through the API."""
    for evidence_id in ids:
        status, body = http_json("GET", f"{server.url}/v1/evidence/{evidence_id}/proof",
                                 token=server.admin_key)
        if status != 200 or not body.get("proof") and body.get("leaf") != body.get("root"):
            return False
    return bool(ids)
