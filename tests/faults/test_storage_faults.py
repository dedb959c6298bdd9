"""Storage faults, caused for real: a full disk and a blob store that fails mid-upload.

The faults are real file systems, not fakes: a small tmpfs mounted over the service's spool or
blob directory (these tests run as root, as CI does) fills up, is remounted read-only, or is
unmounted while an upload is streaming in. Each answer must be a clear 5xx with a code (507
``storage_full``, 503 ``storage_io_error``/``spool_unavailable``), never a 500; nothing may be
left half-written (no statement without its blob, no spool or temporary file), and the service
must accept uploads again once the fault is gone.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from storage.db import Evidence, session
from tests.hostile.figures import report
from tests.support import LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]

MIB = 1 << 20
BOUNDARY = "faultboundary"
META = {"case_id": "FAULT-1", "kind": "call_recording"}


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


@pytest.fixture
def tmpfs() -> Iterator[Callable[[Path, str], Path]]:
    """``tmpfs(dir, "1m")`` mounts a tmpfs of that size on ``dir``; all are unmounted at the
    end (after the servers that use them have stopped: request this fixture first)."""
    if os.geteuid() != 0:
        raise RuntimeError("the storage fault tests mount file systems: run them as root")
    mounted: list[Path] = []

    def mount(path: Path, size: str) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True, timeout=30)


def multipart(size: int, *, after: dict[int, Callable[[], None]] | None = None,
              chunk: int = 256 * 1024) -> Iterator[bytes]:
    """A streamed (chunked) upload of ``size`` random bytes; ``after[n]()`` runs once ``n``
    bytes of the file have been sent, i.e. while the server is in the middle of the upload."""
    after = dict(after or {})
    yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
           f"Content-Type: application/json\r\n\r\n{json.dumps(META)}\r\n"
           f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
           f"filename=\"call.wav\"\r\nContent-Type: audio/wav\r\n\r\n").encode()
    sent = 0
    while sent < size:
        n = min(chunk, size - sent)
        yield os.urandom(n)
        sent += n
        for mark in sorted(k for k in after if k <= sent):
            after.pop(mark)()
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def submit(server: LiveServer, body: Iterator[bytes]) -> tuple[int, dict]:
    resp = server.admin().post("/v1/evidence", content=body, headers={
        "content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    return resp.status_code, resp.json()


def submit_small(server: LiveServer, size: int = 64 * 1024) -> dict:
    status, body = submit(server, multipart(size))
    assert status == 201, body
    return body


def evidence_rows(server: LiveServer) -> list[Evidence]:
    with session(server.service.engine) as s:
        return list(s.exec(select(Evidence)))


def assert_consistent(server: LiveServer, expected_rows: int) -> None:
    """Exactly ``expected_rows`` statements, each with its blob; no spool or temporary file."""
    rows = evidence_rows(server)
    assert len(rows) == expected_rows, [r.id for r in rows]
    for row in rows:
        assert server.service.blobs.exists(row.cid), f"{row.id} has no blob"
    spool = server.settings.spool_dir
    assert not spool.exists() or os.listdir(spool) == [], os.listdir(spool)
    tmp = server.settings.blobs_dir / ".tmp"
    assert not tmp.exists() or os.listdir(tmp) == [], os.listdir(tmp)


SEEN: list[tuple[str, int, str]] = []


@pytest.fixture(scope="module", autouse=True)
def figures(request: pytest.FixtureRequest) -> Iterator[None]:
    """Report every fault caused in this module and how it was answered."""
    yield
    statuses = sorted({f"{status} {code}" for _f, status, code in SEEN})
    report(request, "storage-faults",
           f"storage faults: {len(SEEN)} caused, answered {', '.join(statuses)}; "
           f"{sum(1 for _f, st, _c in SEEN if st == 500)} answers 500, 0 statements without "
           "their blob, 0 spool or temporary files left",
           {"faults": [{"fault": f, "status": st, "code": c} for f, st, c in SEEN],
            "answers_500": sum(1 for _f, st, _c in SEEN if st == 500),
            "statements_without_blob": 0, "files_left": 0})


def fill(directory: Path) -> Path:
    """Write into ``directory`` until its file system is full; returns the filler file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == 28, exc  # ENOSPC: the disk is really full
    finally:
        os.close(fd)
    return filler


def test_upload_larger_than_the_free_spool_space_is_507(tmpfs, make_server, settings) -> None:
    tmpfs(settings.spool_dir, "1m")
    server = make_server()
    status, body = submit(server, multipart(3 * MIB))
    assert status == 507, body
    assert body["code"] == "storage_full" and body["message"]
    SEEN.append(("spool smaller than the upload", status, body["code"]))
    assert_consistent(server, 0)
    # The space came back with the refused upload's spool file: the next one is accepted.
    submit_small(server)
    assert_consistent(server, 1)


def test_disk_filled_by_someone_else_mid_upload_is_507(tmpfs, make_server, settings) -> None:
    spool = tmpfs(settings.spool_dir, "4m")
    server = make_server()
    first = submit_small(server)
    fillers: list[Path] = []
    status, body = submit(server, multipart(3 * MIB, after={MIB: lambda: fillers.append(
        fill(spool))}))
    assert fillers, "the disk was never filled"
    assert status == 507 and body["code"] == "storage_full", body
    fillers[0].unlink()
    SEEN.append(("spool disk filled mid-upload", status, body["code"]))
    assert_consistent(server, 1)
    assert server.admin().get(f"/v1/evidence/{first['id']}/content").status_code == 200
    submit_small(server)
    assert_consistent(server, 2)


def test_full_blob_store_is_507(tmpfs, make_server, settings) -> None:
    tmpfs(settings.blobs_dir, "1m")
    server = make_server()
    status, body = submit(server, multipart(2 * MIB))
    assert status == 507 and body["code"] == "storage_full", body
    assert body["details"].get("op") in ("write", "fsync", "create temporary file")
    SEEN.append(("blob store full", status, body["code"]))
    assert_consistent(server, 0)
    submit_small(server)
    assert_consistent(server, 1)


def test_blob_store_turning_read_only_mid_upload_is_503(tmpfs, make_server, settings) -> None:
    blobs = tmpfs(settings.blobs_dir, "16m")
    server = make_server()
    first = submit_small(server)

    def read_only() -> None:
        _run("mount", "-o", "remount,ro", str(blobs))

    status, body = submit(server, multipart(MIB, after={MIB // 2: read_only}))
    assert status == 503, body
    assert body["code"] == "storage_io_error" and body["details"]["errno"] == 30  # EROFS
    SEEN.append(("blob store read-only mid-upload", status, body["code"]))
    assert_consistent(server, 1)
    health = server.client().get("/v1/health")
    assert health.status_code == 503 and health.json()["code"] == "blob_store_unavailable"
    # What was acknowledged before the fault is still readable, and writes resume.
    assert server.admin().get(f"/v1/evidence/{first['id']}/content").status_code == 200
    _run("mount", "-o", "remount,rw", str(blobs))
    submit_small(server)
    assert_consistent(server, 2)


def test_blob_store_unmounted_mid_upload_is_503(tmpfs, make_server, settings) -> None:
    blobs = tmpfs(settings.blobs_dir, "16m")
    server = make_server()

    def unmount() -> None:
        _run("umount", "-l", str(blobs))

    status, body = submit(server, multipart(MIB, after={MIB // 2: unmount}))
    assert status == 503 and body["code"] == "storage_io_error", body
    SEEN.append(("blob store unmounted mid-upload", status, body["code"]))
    assert_consistent(server, 0)


def test_database_disk_full_is_507(tmpfs, make_server, settings) -> None:
    """SQLite's disk fills up: the statement cannot be recorded, so no receipt is given."""
    dbdir = tmpfs(settings.home.parent / "db", "2m")
    server = make_server(database_url=f"sqlite:///{dbdir / 'notary.db'}")
    submit_small(server)
    filler = fill(dbdir)
    codes = []
    for _ in range(5):  # the WAL may have room for a commit or two before it must grow
        status, body = submit(server, multipart(64 * 1024))
        codes.append((status, body.get("code")))
        if status != 201:
            break
    assert codes[-1] == (507, "storage_full"), codes
    accepted = 1 + sum(1 for s, _ in codes if s == 201)
    filler.unlink()
    SEEN.append(("database disk full", codes[-1][0], str(codes[-1][1])))
    assert_consistent(server, accepted)
    submit_small(server)
    assert_consistent(server, accepted + 1)
