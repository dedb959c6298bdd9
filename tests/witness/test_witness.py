"""Two witnesses, each a real ``notary witness serve`` process on loopback, follow a log that the
test keeps (an RFC 9162 tree signed as C2SP checkpoints): both cosign a growing log, the
cosigned checkpoint verifies with both, and a fork or a removed entry is refused, recorded
by the witness and reported by ``notary witness monitor``."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from notary.core import note, tlog
from notary.witness.monitor import add_checkpoint, witness_checkpoint
from tests.support import REPO, free_port, wait_until

pytestmark = pytest.mark.integration

ORIGIN = "notary.example/log"


class Log:
    """A log as the service keeps one: entries, their tree, checkpoints signed by its key."""

    def __init__(self, signer: note.Signer) -> None:
        self.signer = signer
        self.leaves: list[bytes] = []

    def append(self, *entries: bytes) -> None:
        self.leaves += [tlog.leaf_hash(e) for e in entries]

    def checkpoint(self, leaves: list[bytes] | None = None) -> note.Note:
        leaves = self.leaves if leaves is None else leaves
        cp = note.Checkpoint(self.signer.name, len(leaves), tlog.root(leaves))
        return note.Note(cp.text(), (self.signer.sign(cp.text()),))

    def proof(self, old: int) -> list[bytes]:
        return tlog.consistency_proof(old, self.leaves) if 0 < old < len(self.leaves) else []


class WitnessProcess:
    def __init__(self, directory: Path, name: str, log_vkey: str,
                 port: int | None = None) -> None:
        cmd = [sys.executable, "-m", "notary.cli", "witness"]
        out = subprocess.run([*cmd, "init", str(directory), "--name", name], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
        self.vkey = out.strip().rsplit(" ", 1)[1]
        self.verifier = note.Verifier.from_vkey(self.vkey)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([*cmd, "serve", str(directory), "--log", log_vkey,
                                      "--port", str(self.port)], cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until(self._up, timeout=30)

    def _up(self) -> bool:
        assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
        try:
            return httpx.get(self.url + "/forks", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


@pytest.fixture
def log() -> Log:
    return Log(note.Signer(ORIGIN, note.ED25519, Ed25519PrivateKey.generate()))


@pytest.fixture
def witnesses(tmp_path: Path, log: Log) -> Iterator[list[WitnessProcess]]:
    started = [WitnessProcess(tmp_path / f"w{i}", f"court{i}.example/witness",
                              log.signer.verifier.vkey) for i in (1, 2)]
    yield started
    for w in started:
        w.stop()


def cosign(w: WitnessProcess, old: int, log: Log, checkpoint: note.Note | None = None,
           proof: list[bytes] | None = None) -> tuple[int, list[note.Signature] | str]:
    return add_checkpoint(w.url, old, log.proof(old) if proof is None else proof,
                          checkpoint or log.checkpoint())


def test_two_witnesses_cosign_a_growing_log_and_the_note_verifies_with_both(
        log: Log, witnesses: list[WitnessProcess]) -> None:
    log.append(*(b"statement %d" % i for i in range(5)))
    first = log.checkpoint()
    lines: list[note.Signature] = []
    for w in witnesses:
        status, sigs = cosign(w, 0, log, first)
        assert status == 200 and isinstance(sigs, list), sigs
        lines += sigs
    cosigned = first.with_signatures(lines)
    keys = [log.signer.verifier, *(w.verifier for w in witnesses)]
    seen = note.Note.parse(cosigned.encode()).verify(keys)
    assert set(seen) == set(keys) and all(seen[w.verifier] for w in witnesses)

    # the log grows; with a consistency proof from 5, both cosign again
    log.append(*(b"event %d" % i for i in range(8)))
    for w in witnesses:
        status, sigs = cosign(w, 5, log)
        assert status == 200, sigs
        latest = witness_checkpoint(w.url, ORIGIN)
        assert latest is not None
        parsed = note.Note.parse(latest)
        assert note.Checkpoint.parse(parsed.text).size == 13
        assert set(parsed.verify([log.signer.verifier, w.verifier])) == {
            log.signer.verifier, w.verifier}

    # a client that thinks the witness is still at 5 is told 13
    resp = httpx.post(witnesses[0].url + "/add-checkpoint",
                      content=b"old 5\n\n" + log.checkpoint().encode())
    assert resp.status_code == 409 and resp.text == "13\n"
    assert resp.headers["content-type"] == "text/x.tlog.size"


def test_a_fork_and_a_removed_entry_are_refused_recorded_and_reported(
        tmp_path: Path, log: Log, witnesses: list[WitnessProcess]) -> None:
    log.append(*(b"statement %d" % i for i in range(6)))
    for w in witnesses:
        assert cosign(w, 0, log)[0] == 200
    honest = log.checkpoint()

    # the log shows witness 1 another history of the same size (entry 2 rewritten)
    forked = list(log.leaves)
    forked[2] = tlog.leaf_hash(b"rewritten")
    fork = log.checkpoint(forked)
    status, body = cosign(witnesses[0], 6, log, fork, proof=[])
    assert status == 422 and "forked" in str(body)

    # and grows past an entry it removed: no consistency proof leads to the old root
    removed = log.leaves[:3] + log.leaves[4:] + [tlog.leaf_hash(b"x"), tlog.leaf_hash(b"y")]
    status, body = cosign(witnesses[1], 6, log, log.checkpoint(removed),
                          proof=tlog.consistency_proof(6, removed))
    assert status == 422, body

    forks = httpx.get(witnesses[0].url + "/forks").json()
    assert len(forks) == 1 and forks[0]["offered"] == fork.encode().decode()
    # a failed proof is refused but is no proof of a fork (anyone can send a bad proof)
    assert httpx.get(witnesses[1].url + "/forks").json() == []
    # what each witness holds is still the honest checkpoint
    for w in witnesses:
        held = note.Note.parse(witness_checkpoint(w.url, ORIGIN) or b"")
        assert held.text == honest.text

    # the monitor, given the fork the log showed elsewhere, reports a split view (exit 1)
    (tmp_path / "fork.note").write_bytes(fork.encode())
    cmd = [sys.executable, "-m", "notary.cli", "witness", "monitor", "--log",
           log.signer.verifier.vkey, "--checkpoint", str(tmp_path / "fork.note")]
    for w in witnesses:
        cmd += ["--witness", f"{w.url}={w.vkey}"]
    run = subprocess.run(cmd, check=False, cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "SPLIT VIEW" in run.stdout and "fork.note" in run.stdout
    # without the fork: both witnesses agree, exit 0
    ok = subprocess.run([c for c in cmd if not c.endswith("fork.note") and c != "--checkpoint"],
                        check=False, cwd=REPO, capture_output=True, text=True)
    assert ok.returncode == 0 and "no split view among 2" in ok.stdout, ok.stdout + ok.stderr


def test_what_the_protocol_refuses(log: Log, witnesses: list[WitnessProcess]) -> None:
    w = witnesses[0]
    log.append(b"a", b"b", b"c")
    stranger = Log(note.Signer("other.example/log", note.ED25519,
                               Ed25519PrivateKey.generate()))
    stranger.append(b"a")
    assert cosign(w, 0, stranger)[0] == 404
    impostor = Log(note.Signer(ORIGIN, note.ED25519, Ed25519PrivateKey.generate()))
    impostor.leaves = list(log.leaves)
    assert cosign(w, 0, impostor)[0] == 403  # right origin, another key
    assert cosign(w, 4, log)[0] == 400  # old size above the checkpoint's
    assert cosign(w, 0, log, proof=[bytes(32)])[0] == 422  # a proof from size 0
    for body in (b"", b"old 01\n\n" + log.checkpoint().encode(), b"old 0\nnot-base64\n\n",
                 b"old 0\n\n" + b"x" * 10, b"old 0\n" + b"AAAA\n" * 70 + b"\n"):
        assert httpx.post(w.url + "/add-checkpoint", content=body).status_code == 400, body
    huge = b"old 0\n\n" + b"a" * 200_000
    assert httpx.post(w.url + "/add-checkpoint", content=huge).status_code == 413
    assert httpx.get(f"{w.url}/{'0' * 64}/checkpoint").status_code == 404
    assert cosign(w, 0, log)[0] == 200  # still serving


def test_racing_submissions_from_one_old_size_are_cosigned_once(
        log: Log, witnesses: list[WitnessProcess]) -> None:
    """The check of the old size and the update are one transaction: of many requests that
    all start from size 0, exactly one is cosigned and the others are told the new size."""
    w = witnesses[0]
    notes = []
    for i in range(8):
        log.append(b"entry %d" % i)
        notes.append(log.checkpoint())
    results: list[int] = []
    barrier = threading.Barrier(len(notes))

    def submit(n: note.Note) -> None:
        barrier.wait()
        results.append(add_checkpoint(w.url, 0, [], n)[0])

    threads = [threading.Thread(target=submit, args=(n,)) for n in notes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * (len(notes) - 1)
    held = note.Note.parse(witness_checkpoint(w.url, ORIGIN) or b"")
    assert base64.b64encode(note.Checkpoint.parse(held.text).root) in held.text


def test_what_an_outsider_sends_cannot_break_the_witness_or_fake_a_fork(
        log: Log, witnesses: list[WitnessProcess]) -> None:
    """Anyone can send a witness the log's public checkpoints: repeated signature lines, a
    bogus proof, a root in another base64 spelling or a huge size must neither stop it
    (500, a record it cannot read back) nor be kept as proof of a fork."""
    w = witnesses[0]
    log.append(*(b"e%d" % i for i in range(5)))
    assert cosign(w, 0, log)[0] == 200
    public = note.Note.parse(witness_checkpoint(w.url, ORIGIN) or b"")
    line = public.signatures[0]  # the log's own line, as the witness serves it
    repeated = b"old 5\n\n" + public.text + b"\n" + line.line().encode() * 32
    assert httpx.post(w.url + "/add-checkpoint", content=repeated).status_code == 400
    # the same checkpoint again, properly: the witness cosigns it (same size, same root)
    assert cosign(w, 5, log, proof=[])[0] == 200

    log.append(b"e5", b"e6")
    bogus = [bytes(32)] * 3
    status, body = cosign(w, 5, log, proof=bogus)
    assert status == 422, body
    assert httpx.get(w.url + "/forks").json() == []  # a bad proof is no fork

    # the root in a non-canonical base64 spelling: refused, not cosigned as other bytes
    cp = note.Checkpoint.parse(log.checkpoint().text)
    text = cp.text().decode()
    root = text.split("\n")[2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    odd = text.replace(root, root[:-2] + alphabet[alphabet.index(root[-2]) ^ 1] + "=").encode()
    signed = note.Note(odd, (log.signer.sign(odd),))
    proof = b"".join(base64.b64encode(p) + b"\n" for p in log.proof(5))
    resp = httpx.post(w.url + "/add-checkpoint", content=b"old 5\n" + proof + b"\n"
                      + signed.encode())
    assert resp.status_code == 400, resp.text

    huge = b"old " + b"9" * 5000 + b"\n\n" + log.checkpoint().encode()
    assert httpx.post(w.url + "/add-checkpoint", content=huge).status_code == 400
    # and after all of it, the log's next honest checkpoint is cosigned
    status, sigs = cosign(w, 5, log)
    assert status == 200, sigs
    assert note.Checkpoint.parse(note.Note.parse(
        witness_checkpoint(w.url, ORIGIN) or b"").text).size == 7
