"""Load generator for item 5, run as its own process so its CPU and memory are not the server's.

    python -m bench.loadgen --url URL --token TOKEN --seconds 20 --concurrency 32 --out OUT.json
                            [--count N] [--case CASE_ID]

``concurrency`` keep-alive HTTP/1.1 connections on loopback, each sending one multipart
submission after another (a file of 1 to 64 KiB, uniformly, each one distinct) for ``seconds``,
or until ``count`` are accepted; into ``case`` only, or spread over 20 cases per connection.
Plain asyncio streams with prebuilt request bytes: a few microseconds per request on the
client side, so the client costs the server as little CPU as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from typing import Any

from bench.data import random_bytes

BOUNDARY = "notarybenchload0123456789"
POOL = 256  # distinct base bodies; a per-request counter makes every file distinct


def _files(seed: int) -> list[bytes]:
    """The pool of file contents: sizes uniform in 1..64 KiB, random bytes."""
    rng = random.Random(seed)
    blob = random_bytes(64 * 1024 * 8, f"load-{seed}")
    out = []
    for _ in range(POOL):
        size = rng.randint(1024, 64 * 1024)
        start = rng.randint(0, len(blob) - size)
        out.append(blob[start:start + size])
    return out


def _request(host: str, token: str, case_id: str, data: bytes) -> bytes:
    meta = json.dumps({"case_id": case_id, "kind": "call_recording"}).encode()
    body = b"".join([
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
        f"Content-Type: application/json\r\n\r\n".encode(), meta, b"\r\n",
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
        f"filename=\"call.wav\"\r\nContent-Type: audio/wav\r\n\r\n".encode(), data,
        f"\r\n--{BOUNDARY}--\r\n".encode(),
    ])
    head = (f"POST /v1/evidence HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _worker(wid: int, args: argparse.Namespace, stop_at: float, pool: list[bytes],
                  results: dict[str, Any]) -> None:
    host, port = args.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    rng = random.Random(wid)
    n = 0
    while time.perf_counter() < stop_at and len(results["ids"]) < args.count:
        base = pool[rng.randrange(len(pool))]
        data = bytearray(base)
        data[:16] = f"{wid:06d}{n:010d}".encode()  # every file distinct
        case_id = args.case or f"LOAD-{wid:03d}-{n % args.cases_per_worker:03d}"
        req = _request(host, args.token, case_id, bytes(data))
        t0 = time.perf_counter()
        try:
            writer.write(req)
            await writer.drain()
            status, body = await _read_response(reader)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            results["errors"].append(f"{type(exc).__name__}: {exc}")
            writer.close()
            reader, writer = await asyncio.open_connection(host, int(port))
            continue
        t1 = time.perf_counter()
        results["latencies"].append(t1 - t0)
        results["done_at"].append(t1)
        results["status"][status] = results["status"].get(status, 0) + 1
        if status == 201:
            results["ids"].append(json.loads(body)["id"])
        elif len(results["samples"]) < 5:
            results["samples"].append(body[:300].decode(errors="replace"))
        n += 1
    writer.close()


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    pool = _files(args.seed)
    results: dict[str, Any] = {"latencies": [], "done_at": [], "status": {}, "ids": [],
                               "errors": [], "samples": []}
    t0 = time.perf_counter()
    stop_at = t0 + args.seconds
    await asyncio.gather(*(_worker(w, args, stop_at, pool, results)
                           for w in range(args.concurrency)))
    results["elapsed"] = time.perf_counter() - t0
    results["started"] = t0
    return results


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--cases-per-worker", type=int, default=20)
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--count", type=int, default=1 << 62, help="stop after this many accepted")
    p.add_argument("--case", default=None, help="submit everything into this one case")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    results = asyncio.run(_main(args))
    with open(args.out, "w") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    main()
