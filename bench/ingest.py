"""Items 1 and 2: a 1 GiB file through the whole ingest path, in process and over HTTP, against
``openssl dgst -sha256`` of the same file; peak server memory during a 2 GiB upload."""

from __future__ import annotations

import http.client
import json
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from bench.data import write_random_file
from bench.procs import (
    NotaryServer,
    drop_dirty_pages,
    log,
    median,
    proc_status,
    reset_peak_rss,
    run_measured,
)

GIB = 1 << 30


def openssl_sha256(path: Path) -> float:
    """Wall time of ``openssl dgst -sha256 path`` (the file is in the page cache)."""
    run = run_measured(["openssl", "dgst", "-sha256", str(path)])
    if run.returncode != 0:
        raise RuntimeError(f"openssl failed: {run.stderr}")
    return run.seconds


def _inprocess(tmp: Path, path: Path, trials: int) -> dict[str, Any]:
    from notary.config import Settings
    from notary.core.statement import EvidenceKind
    from notary.service.notary import NotaryService
    from notary.service.submission import Submission

    svc = NotaryService.open(Settings(home=tmp / "inprocess"), with_chain=False, run_worker=False)
    refs, totals, seals, commits = [], [], [], []
    try:
        for i in range(trials):
            drop_dirty_pages()
            refs.append(openssl_sha256(path))
            drop_dirty_pages()
            with open(path, "rb", buffering=0) as fh:
                t0 = time.perf_counter()
                sealed = svc.notariser.seal(fh.read)
                t1 = time.perf_counter()
                accepted = svc.notariser.commit(
                    Submission(case_id=f"BENCH-INGEST-{i}", kind=EvidenceKind.OTHER,
                               file_name=path.name), sealed, submitter="bench")
                t2 = time.perf_counter()
            seals.append(t1 - t0)
            commits.append(t2 - t1)
            totals.append(t2 - t0)
            log(f"  in process: {path.stat().st_size / GIB:g} GiB ingested in {t2 - t0:.2f}s "
                f"(seal {t1 - t0:.2f}s, commit "
                f"{t2 - t1:.3f}s); openssl {refs[-1]:.2f}s")
            svc.blobs.delete(accepted.evidence.cid)
    finally:
        svc.close()
    return {"seconds": totals, "seal_seconds": seals, "commit_seconds": commits,
            "openssl_seconds": refs, "median": median(totals), "openssl_median": median(refs),
            "ratio": median(totals) / median(refs)}


def upload(url: str, token: str, path: Path, *, case_id: str) -> tuple[int, dict[str, Any], float]:
    """POST ``path`` as multipart, streamed from the file with ``sendfile`` (the client holds
    no copy of it); returns (status, JSON body, seconds from first byte to the answer)."""
    boundary = "notarybench" + secrets.token_hex(12)
    meta = json.dumps({"case_id": case_id, "kind": "other"})
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
            f"Content-Type: application/json\r\n\r\n{meta}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{path.name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=900)
    t0 = time.perf_counter()
    conn.putrequest("POST", "/v1/evidence")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    conn.send(head)
    assert conn.sock is not None
    with open(path, "rb") as fh:
        conn.sock.sendfile(fh)
    conn.send(tail)
    resp = conn.getresponse()
    body = resp.read()
    seconds = time.perf_counter() - t0
    conn.close()
    return resp.status, json.loads(body), seconds


class RssSampler:
    """Samples a process's VmRSS every ``interval`` seconds (a trace beside VmHWM)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(proc_status(self.pid)["VmRSS"])
            except (OSError, KeyError):
                return
            time.sleep(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.samples, default=0)


def _over_http(tmp: Path, path1: Path, path2: Path | None, trials: int) -> dict[str, Any]:
    server = NotaryServer(tmp / "http-home")
    out: dict[str, Any] = {}
    try:
        refs, times = [], []
        time.sleep(3)  # as "idle" has always been taken: 3 s after the start
        idle = proc_status(server.pid)
        out["server_rss_idle_bytes"] = idle["VmRSS"]  # the API process
        worker = server.worker_status()
        out["worker_rss_idle_bytes"] = worker["VmRSS"] if worker else None
        log(f"  HTTP: idle RSS of the API process {idle['VmRSS'] / 2**20:.0f} MiB"
            + (f", of the worker process {worker['VmRSS'] / 2**20:.0f} MiB" if worker else ""))
        for i in range(trials):
            drop_dirty_pages()
            refs.append(openssl_sha256(path1))
            drop_dirty_pages()
            status, body, seconds = upload(server.url, server.admin_key, path1,
                                           case_id=f"BENCH-HTTP-{i}")
            if status != 201:
                raise RuntimeError(f"upload failed: {status} {body}")
            times.append(seconds)
            log(f"  HTTP: {path1.stat().st_size / GIB:g} GiB uploaded in {seconds:.2f}s "
                f"({path1.stat().st_size / seconds / 1e6:.0f} MB/s); openssl {refs[-1]:.2f}s")
        out.update({"seconds": times, "openssl_seconds": refs, "median": median(times),
                    "openssl_median": median(refs), "ratio": median(times) / median(refs)})
        if path2 is not None:
            drop_dirty_pages()
            before = proc_status(server.pid)
            reset_ok = reset_peak_rss(server.pid)
            sampler = RssSampler(server.pid)
            status, body, seconds = upload(server.url, server.admin_key, path2,
                                           case_id="BENCH-HTTP-2G")
            sampled = sampler.stop()
            after = proc_status(server.pid)
            worker_after = server.worker_status()
            if status != 201:
                raise RuntimeError(f"2 GiB upload failed: {status} {body}")
            peak = after["VmHWM"] if reset_ok else sampled
            out["memory"] = {
                "upload_bytes": path2.stat().st_size, "seconds": seconds,
                "rss_before_bytes": before["VmRSS"], "peak_rss_bytes": peak,
                "sampled_max_rss_bytes": sampled, "rss_after_bytes": after["VmRSS"],
                "peak_source": "VmHWM after clear_refs" if reset_ok else "VmRSS sampled / 50 ms",
                "worker_rss_after_bytes": worker_after["VmRSS"] if worker_after else None,
                "worker_peak_rss_bytes": worker_after["VmHWM"] if worker_after else None,
            }
            log(f"  HTTP: {path2.stat().st_size / GIB:g} GiB uploaded in {seconds:.2f}s; server "
                f"peak RSS {peak / 2**20:.0f} MiB "
                f"(before {before['VmRSS'] / 2**20:.0f} MiB)")
    finally:
        server.stop()
    return out


def run(tmp: Path, *, size: int = GIB, big_size: int = 2 * GIB, trials: int = 3,
        http: bool = True) -> dict[str, Any]:
    """Both ingest measurements; the input files are written under ``tmp`` and deleted."""
    data = tmp / "ingest-data"
    data.mkdir(parents=True, exist_ok=True)
    try:
        path1 = write_random_file(data / "evidence-1g.bin", size)
        log(f"ingest: in process, {size / GIB:.2f} GiB x {trials}")
        result: dict[str, Any] = {"size_bytes": size, "in_process": _inprocess(tmp, path1, trials)}
        if http:
            path2 = write_random_file(data / "evidence-2g.bin", big_size) if big_size else None
            log(f"ingest: over HTTP, {size / GIB:.2f} GiB x {trials}, then "
                f"{big_size / GIB:.2f} GiB for memory")
            result["http"] = _over_http(tmp, path1, path2, trials)
        return result
    finally:
        shutil.rmtree(data, ignore_errors=True)
