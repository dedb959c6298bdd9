"""The transparency log (issue 19, docs/witness.md): the latest signed checkpoint, and proofs.

Public, like the trust root: the log's leaves are hashes of signed statements and events, so a
proof reveals an entry's position and hash, never what it says; a verifier, a witness or a
monitor must be able to read them without an account. Proofs cost a pass over the log's
leaves, so they are counted against the caller's public verifications (429 beyond).
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import ContextDep, VerifyLimit
from api.schemas import ErrorOut
from notary.service.translog import anchor_json, consistency_json, log_of

router = APIRouter(tags=["public"])
_NOTE: dict[str, object] = {"content": {"text/plain": {}}}
_SIZE = 2**63 - 1  # a tree size or index is below 2^63 (tlog-checkpoint)


@router.get("/v1/log/checkpoint", responses={200: _NOTE | {
    "description": "the latest checkpoint (c2sp.org/tlog-checkpoint) as a signed note, with "
                   "the witnesses' cosignatures collected so far"}, 404: {"model": ErrorOut}})
def checkpoint(ctx: ContextDep) -> PlainTextResponse:
    translog = log_of(ctx.translog)
    note = translog.cosigned(translog.checkpoint_row())
    return PlainTextResponse(note.encode(), headers={"Cache-Control": "no-cache"})


@router.get("/v1/log/vkey", responses={200: _NOTE | {
    "description": "the log's verifier key (c2sp.org/signed-note); pin it from the "
                   "operator's published documents, not from this answer alone"}})
def vkey(ctx: ContextDep) -> PlainTextResponse:
    return PlainTextResponse(log_of(ctx.translog).signer.verifier.vkey + "\n")


@router.get("/v1/log/proof/inclusion", dependencies=[VerifyLimit], responses={
    s: {"model": ErrorOut} for s in (400, 404, 422, 429)})
async def inclusion(ctx: ContextDep,
                    index: Annotated[int | None, Query(ge=0, le=_SIZE)] = None,
                    evidence_id: Annotated[str | None, Query(max_length=64)] = None,
                    custody_seq: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                    tree_size: Annotated[int | None, Query(ge=0, le=_SIZE)] = None
                    ) -> JSONResponse:
    """The RFC 9162 audit path of one entry (by ``index``, or the statement of
    ``evidence_id``, or its custody event ``custody_seq``) in the published tree of
    ``tree_size`` (default: the latest checkpoint), with that checkpoint. Hashes in base64."""
    translog = log_of(ctx.translog)
    proof = await anyio.to_thread.run_sync(lambda: translog.inclusion(
        index=index, evidence_id=evidence_id, custody_seq=custody_seq, size=tree_size))
    return JSONResponse(proof.to_json())


@router.get("/v1/log/proof/consistency", dependencies=[VerifyLimit], responses={
    s: {"model": ErrorOut} for s in (400, 404, 422, 429)})
async def consistency(ctx: ContextDep,
                      from_: Annotated[int, Query(alias="from", ge=0, le=_SIZE)],
                      to: Annotated[int, Query(ge=0, le=_SIZE)]) -> JSONResponse:
    """The RFC 9162 consistency proof from the published tree of ``from`` entries to that of
    ``to``, with both checkpoints. Hashes in base64."""
    translog = log_of(ctx.translog)
    return JSONResponse(await anyio.to_thread.run_sync(consistency_json, from_, to, translog))


@router.get("/v1/log/anchor", responses={s: {"model": ErrorOut} for s in (404, 422)})
async def anchor(ctx: ContextDep,
                 tree_size: Annotated[int | None, Query(ge=0, le=_SIZE)] = None) -> JSONResponse:
    """Where the checkpoint of ``tree_size`` (default: the newest anchored) is anchored: its
    leaf (type 3) and proof in an anchoring batch, and that batch's transaction and block."""
    translog = log_of(ctx.translog)
    return JSONResponse(await anyio.to_thread.run_sync(anchor_json, translog, tree_size))
