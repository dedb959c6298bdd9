"""The witness's HTTP interface (c2sp.org/tlog-witness): ``POST /add-checkpoint`` cosigns a
checkpoint that extends the last one cosigned, ``GET /<sha256(origin)>/checkpoint`` serves that
checkpoint to monitors, and ``GET /forks`` (ours) lists the contradicting checkpoints seen.

Status codes are the protocol's: 400 malformed, 403 not signed by the log, 404 unknown log,
409 old size is not ours (body: our size, ``text/x.tlog.size``), 413 too large, 422 the proof
does not show consistency. A body is read to at most :data:`MAX_BODY` bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from notary.core import tlog
from notary.core.note import MAX_NOTE_BYTES, Checkpoint, Note, NoteError, Signer, Verifier
from notary.witness.state import Record, SizeMismatch

MAX_PROOF = 63
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")  # below 2^63, as a tree size is
MAX_BODY = MAX_NOTE_BYTES + 64 * (MAX_PROOF + 1)


class Refused(Exception):
    """A request the witness answers with ``status`` and a one-line reason."""

    def __init__(self, status: int, reason: str, fork: bool = False) -> None:
        super().__init__(reason)
        self.status, self.reason, self.fork = status, reason, fork


@dataclass(frozen=True)
class Submission:
    old: int
    proof: list[bytes]
    note: Note
    checkpoint: Checkpoint


def parse_request(body: bytes) -> Submission:
    """``old N``, up to 63 base64 proof lines, a blank line, then the checkpoint note."""
    head, sep, rest = body.partition(b"\n\n")
    lines = head.split(b"\n")
    if not sep or not lines[0].startswith(b"old "):
        raise Refused(400, "the body is 'old N', proof lines, a blank line, a checkpoint")
    old = lines[0][4:].decode("ascii", "replace")
    if not _DECIMAL.fullmatch(old):
        raise Refused(400, "the old size is a decimal without leading zeros")
    if len(lines) - 1 > MAX_PROOF:
        raise Refused(400, f"at most {MAX_PROOF} proof lines")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
        note = Note.parse(rest)
        checkpoint = Checkpoint.parse(note.text)
    except (binascii.Error, ValueError) as exc:
        raise Refused(400, str(exc) or "malformed") from None
    if any(len(p) != tlog.HASH_SIZE for p in proof):
        raise Refused(400, "each proof line is a 32-byte hash")
    return Submission(int(old), proof, note, checkpoint)


class Witness:
    """The witness: its signer, the logs it follows (origin → the log's keys), its record."""

    def __init__(self, signer: Signer, logs: Mapping[str, Sequence[Verifier]],
                 record: Record) -> None:
        self.signer, self.logs, self.record = signer, logs, record

    def add_checkpoint(self, body: bytes) -> bytes:
        """The cosignature lines for a valid request; Refused otherwise."""
        req = parse_request(body)
        cp = req.checkpoint
        keys = self.logs.get(cp.origin)
        if keys is None:
            raise Refused(404, "this witness does not follow that log")
        try:
            verified = req.note.verify(keys)
        except NoteError as exc:
            raise Refused(403, str(exc)) from None
        if req.old > cp.size:
            raise Refused(400, "the old size is larger than the checkpoint's")
        if cp.size == 0 and cp.root != tlog.EMPTY_ROOT:
            raise Refused(422, "an empty tree has the empty root")
        # one line per log key that verified (Note.parse refuses a key signing twice)
        log_lines = tuple(s for s in req.note.signatures
                          if any(s.name == v.name and s.key_id == v.key_id for v in verified))

        def check(recorded: Checkpoint | None) -> Note:
            if req.old == 0:
                if req.proof:
                    raise Refused(422, "no proof is sent from size 0")
            elif recorded is not None:
                if cp.size == recorded.size and cp.root != recorded.root:
                    # both signed by the log: the one contradiction that proves a fork
                    raise Refused(422, "two different roots for the same size: the log forked",
                                  fork=True)
                try:
                    tlog.verify_consistency(req.old, cp.size, recorded.root, cp.root, req.proof)
                except tlog.ProofError as exc:
                    raise Refused(422, str(exc)) from None
            cosignature = self.signer.sign(req.note.text, int(time.time()))
            return Note(req.note.text, log_lines).with_signatures([cosignature])

        try:
            cosigned = self.record.advance(cp.origin, req.old, check)
        except Refused as exc:
            if exc.fork:  # validly signed by the log and contradicting what we cosigned
                self.record.record_fork(cp.origin, exc.reason, req.note.encode())
            raise
        return cosigned.signatures[-1].line().encode()


async def _body(request: Request) -> bytes:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise Refused(413, f"the request is larger than {MAX_BODY} bytes")
    return bytes(data)


def app(witness: Witness) -> Starlette:
    async def add(request: Request) -> Response:
        try:
            body = await _body(request)
            return PlainTextResponse(witness.add_checkpoint(body))
        except SizeMismatch as exc:
            return Response(f"{exc.size}\n".encode(), status_code=409,
                            headers={"content-type": "text/x.tlog.size"})
        except Refused as exc:
            return PlainTextResponse(exc.reason + "\n", status_code=exc.status)
        except NoteError as exc:  # nothing stored can be malformed, but never a 500
            return PlainTextResponse(f"{exc}\n", status_code=400)
        except ClientDisconnect:
            return PlainTextResponse("the client went away\n", status_code=400)

    async def checkpoint(request: Request) -> Response:
        wanted = request.path_params["origin_hash"]
        for origin in witness.logs:
            if hashlib.sha256(origin.encode()).hexdigest() == wanted:
                latest = witness.record.latest(origin)
                if latest is not None:
                    return Response(latest.encode(), media_type="text/plain; charset=utf-8")
        return PlainTextResponse("no checkpoint of that log was cosigned here\n",
                                 status_code=404)

    async def forks(request: Request) -> Response:
        return JSONResponse([{"origin": f.origin, "seen_at": f.seen_at, "reason": f.reason,
                              "recorded": f.recorded.decode(), "offered": f.offered.decode()}
                             for f in witness.record.forks()])

    return Starlette(routes=[
        Route("/add-checkpoint", add, methods=["POST"]),
        Route("/{origin_hash:str}/checkpoint", checkpoint, methods=["GET"]),
        Route("/forks", forks, methods=["GET"]),
    ])
