"""``make load``: submit small files at a fixed rate to a real service and report what it did.

Two processes on loopback: the service (``python -m notary.cli run``, its own embedded chain,
a temporary ``NOTARY_HOME`` and free ports) and this one, which sends multipart submissions of
random files (1-64 KiB) at a fixed rate for a bounded time, then waits for every accepted item
to be anchored. The schedule is open-loop: request *i* is due at ``start + i / rate`` whatever
happened to the earlier ones, and its latency is counted from when it was due, so a slow
server cannot hide behind a slow client (no coordinated omission).

Reported: accepted/s, latency p50/p95/p99/max, time from receipt to anchor p50/p95/max (from
the service's database: ``batches.anchored_at - evidence.received_at``), errors by kind. A table
on stdout and ``load/results.json``.

    python -m load.run [--rate 50] [--seconds 30] [--workers 32] [--out load/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Outcome:
    due: float
    started: float
    ended: float
    status: int  # 0: no answer (see error)
    evidence_id: str | None = None
    error: str | None = None

    @property
    def latency(self) -> float:
        return self.ended - self.due


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def start_service(home: Path, batch_seconds: float) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {**os.environ, "NOTARY_HOME": str(home), "NOTARY_PORT": str(port),
           "NOTARY_CHAIN_PORT": str(free_port()), "NOTARY_BATCH_SECONDS": str(batch_seconds),
           "NOTARY_LOG_LEVEL": "warning"}
    for name in ("NOTARY_RPC_URL", "NOTARY_DATABASE_URL", "NOTARY_CONTRACT_ADDRESS"):
        env.pop(name, None)
    log = home.parent / "service.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "notary.cli", "run"], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the service exited ({proc.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/v1/keys", timeout=2).status_code == 200:
                return proc, url, log
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_service(proc)
    raise SystemExit(f"the service did not start within 120 s:\n{log.read_text()}")


def stop_service(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def drive(url: str, token: str, *, rate: float, seconds: float, workers: int,
          min_bytes: int, max_bytes: int, seed: int) -> tuple[list[Outcome], float]:
    """Send ``rate * seconds`` submissions on the fixed schedule; returns the outcomes and the
    wall time from the first due time to the last answer."""
    total = int(rate * seconds)
    sizes = random.Random(seed).choices(range(min_bytes, max_bytes + 1), k=total)
    local = threading.local()
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def client() -> httpx.Client:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=url, timeout=60,
                                      headers={"Authorization": f"Bearer {token}"})
        return local.http

    def send(i: int, due: float) -> None:
        meta = {"case_id": f"LOAD-{i % 100:03d}", "kind": "other"}
        content = os.urandom(sizes[i])
        started = time.perf_counter()
        try:
            resp = client().post("/v1/evidence", files={
                "metadata": (None, json.dumps(meta), "application/json"),
                "file": (f"load-{i}.bin", content, "application/octet-stream")})
            ok = resp.status_code == 201
            outcome = Outcome(due, started, time.perf_counter(), resp.status_code,
                              resp.json()["id"] if ok else None,
                              None if ok else f"{resp.status_code} {resp.json().get('code')}")
        except (httpx.HTTPError, ValueError) as exc:
            outcome = Outcome(due, started, time.perf_counter(), 0,
                              error=type(exc).__name__)
        with lock:
            outcomes.append(outcome)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        t0 = time.perf_counter() + 0.2
        for i in range(total):
            due = t0 + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(send, i, due)
    return outcomes, max(o.ended for o in outcomes) - t0


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=None)


def wait_anchored(db: Path, ids: set[str], timeout: float) -> tuple[list[float], int, float]:
    """Poll the service's database until every item in ``ids`` is anchored (or timeout);
    returns each anchored item's receipt-to-anchor seconds, the batch count, the wait."""
    started = time.monotonic()
    rows: list[tuple[str, str, str, int]] = []
    while True:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            rows = conn.execute(
                "SELECT e.id, e.received_at, b.anchored_at, b.id FROM evidence e "
                "JOIN batches b ON b.id = e.batch_id "
                "WHERE e.status = 'anchored' AND b.anchored_at IS NOT NULL").fetchall()
        done = [r for r in rows if r[0] in ids]
        if len(done) == len(ids) or time.monotonic() - started > timeout:
            break
        time.sleep(0.5)
    return ([(_utc(a) - _utc(r)).total_seconds() for _i, r, a, _b in done],
            len({b for *_x, b in done}), time.monotonic() - started)


def summarise(args: argparse.Namespace, outcomes: list[Outcome], elapsed: float,
              to_anchor: list[float], batches: int) -> dict[str, Any]:
    accepted = [o for o in outcomes if o.status == 201]
    errors: dict[str, int] = {}
    for o in outcomes:
        if o.status != 201:
            errors[o.error or "?"] = errors.get(o.error or "?", 0) + 1
    lat = [o.latency * 1000 for o in accepted]
    ms = {f"p{p}": round(v, 1) for p in (50, 95, 99)
          if (v := percentile(lat, p)) is not None}
    return {
        "command": " ".join(["python -m load.run", *sys.argv[1:]]),
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_start": args.load_before,
        "offered_rate_per_s": args.rate, "seconds": args.seconds,
        "file_bytes": [args.min_kib * 1024, args.max_kib * 1024],
        "batch_seconds": args.batch_seconds, "client_workers": args.workers,
        "sent": len(outcomes), "accepted": len(accepted),
        "accepted_per_s": round(len(accepted) / elapsed, 1) if elapsed > 0 else 0,
        "latency_ms": {**ms, "max": round(max(lat), 1) if lat else None},
        "anchored": len(to_anchor), "not_anchored": len(accepted) - len(to_anchor),
        "batches": batches,
        "time_to_anchor_s": {f"p{p}": round(v, 2) for p in (50, 95)
                             if (v := percentile(to_anchor, p)) is not None}
        | {"max": round(max(to_anchor), 2) if to_anchor else None},
        "errors": sum(errors.values()), "errors_by_kind": errors,
    }


def table(r: dict[str, Any]) -> str:
    lat, anc = r["latency_ms"], r["time_to_anchor_s"]
    rows = [
        ("offered", (f"{r['offered_rate_per_s']}/s for {r['seconds']} s, files "
                    f"{r['file_bytes'][0] // 1024}-{r['file_bytes'][1] // 1024} KiB")),
        ("sent / accepted", f"{r['sent']} / {r['accepted']}"),
        ("accepted/s", f"{r['accepted_per_s']}"),
        ("latency p50/p95/p99/max", (f"{lat.get('p50')} / {lat.get('p95')} / {lat.get('p99')} / "
                                    f"{lat.get('max')} ms")),
        ("anchored", f"{r['anchored']} of {r['accepted']} in {r['batches']} batches"),
        ("time to anchor p50/p95/max", f"{anc.get('p50')} / {anc.get('p95')} / {anc.get('max')} s"),
        ("errors", f"{r['errors']} {r['errors_by_kind'] or ''}".strip()),
        ("load average at start", f"{r['load_average_at_start']} ({r['machine']})"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="submissions per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to send")
    parser.add_argument("--workers", type=int, default=32, help="concurrent client threads")
    parser.add_argument("--min-kib", type=int, default=1)
    parser.add_argument("--max-kib", type=int, default=64)
    parser.add_argument("--batch-seconds", type=float, default=2.0, help="NOTARY_BATCH_SECONDS")
    parser.add_argument("--anchor-timeout", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "load" / "results.json")
    args = parser.parse_args(argv)
    if not (0 < args.rate <= 2000 and 0 < args.seconds <= 600):
        parser.error("keep it bounded: 0 < --rate <= 2000 and 0 < --seconds <= 600")
    args.load_before = round(os.getloadavg()[0], 2)  # other work on the machine skews figures
    with tempfile.TemporaryDirectory(prefix="notary-load-") as tmp:
        home = Path(tmp) / "home"
        proc, url, _log = start_service(home, args.batch_seconds)
        try:
            token = (home / "admin.key").read_text().strip()
            print(f"load: {args.rate}/s for {args.seconds} s against {url} ...", flush=True)
            outcomes, elapsed = drive(url, token, rate=args.rate, seconds=args.seconds,
                                      workers=args.workers, min_bytes=args.min_kib * 1024,
                                      max_bytes=args.max_kib * 1024, seed=args.seed)
            ids = {o.evidence_id for o in outcomes if o.evidence_id}
            to_anchor, batches, _waited = wait_anchored(home / "notary.db", ids,
                                                        args.anchor_timeout)
        finally:
            stop_service(proc)
    result = summarise(args, outcomes, elapsed, to_anchor, batches)
    print(table(result))
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {args.out}")
    bad = result["errors"] or result["not_anchored"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
