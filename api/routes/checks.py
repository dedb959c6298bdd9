"""Check codes and the public check of a received document (docs/debtor-check.md).

``POST /v1/check-codes`` gives an agency a code to print on a notice before notarising it.
``GET /v1/check/{code}`` and ``POST /v1/check`` need no key: whoever received the notice
learns whether it was notarised, when, whether it is anchored and whether their copy is
unaltered; nothing about the case. Nothing submitted to them is stored.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Request

from api.deps import CollectorKey, ContextDep, VerifyLimit
from api.schemas import CheckCodeOut, DocumentCheckOut, ErrorOut
from api.upload import MultipartError, MultipartReader, body_puller, boundary_of
from notary.checkcode import new_check_code
from notary.service.documentcheck import check_document

router = APIRouter(tags=["check"])

PUBLIC_ERRORS = {s: {"model": ErrorOut} for s in (400, 404, 413, 415, 422, 429)}
#: Largest text part (code or hex SHA-256) read from the form.
MAX_FIELD_BYTES = 256


@router.post("/v1/check-codes", response_model=CheckCodeOut, responses={
    s: {"model": ErrorOut} for s in (401, 403, 429)})
def issue_check_code(_key: CollectorKey) -> CheckCodeOut:
    """A fresh random check code to print on a notice, then send as the metadata's
    ``check_code`` when the notice is notarised. Stateless: nothing is reserved; a code some
    document already has is refused then (409 ``check_code_taken``), which at 60 random
    bits does not happen in practice."""
    return CheckCodeOut(check_code=new_check_code())


@router.get("/v1/check/{code}", response_model=DocumentCheckOut, responses=PUBLIC_ERRORS,  # type: ignore[arg-type]
            dependencies=[VerifyLimit])
def check_by_code(ctx: ContextDep, code: Annotated[str, Path(
        description="the code printed on the document, XXXX-XXXX-XXXX (case, hyphens and "
                    "spaces do not matter; O reads as 0, I and L as 1)")]) -> DocumentCheckOut:
    """Was the document with this check code notarised, when, and is it anchored? 404
    ``document_not_found`` when no document has the code; 422 ``check_code_invalid`` for
    text that cannot be a code."""
    return DocumentCheckOut.of(*check_document(ctx, check_code=code))


@router.post("/v1/check", response_model=DocumentCheckOut, responses=PUBLIC_ERRORS,  # type: ignore[arg-type]
             dependencies=[VerifyLimit],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "multipart/form-data": {"schema": {"type": "object", "properties": {
                     "code": {"type": "string", "description": "the check code on the document"},
                     "file": {"type": "string", "format": "binary",
                              "description": "the document: hashed as it streams, then forgotten"},
                     "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$",
                                "description": "instead of 'file': its SHA-256, computed by "
                                               "the caller so the file stays with them"}},
                     "description": "'code', 'file' or 'sha256', or 'code' with one of the "
                                    "other two"}}}}})
async def check_document_form(request: Request, ctx: ContextDep) -> DocumentCheckOut:
    """Check a received document by its code, its file, or both. With a code and a file
    (or its SHA-256), ``unaltered`` says whether that file is the document with that code;
    with a file alone, the document is looked up by its SHA-256."""
    reader = MultipartReader(body_puller(request), boundary_of(request.headers.get("content-type")))
    code, sha = await anyio.to_thread.run_sync(_read_form, reader, ctx.settings.max_upload_bytes)
    result, issuer = await anyio.to_thread.run_sync(
        lambda: check_document(ctx, check_code=code, sha256_hex=sha))
    return DocumentCheckOut.of(result, issuer)


def _read_form(reader: MultipartReader, limit: int) -> tuple[str | None, str | None]:
    """(code, SHA-256 hex) from the form. A 'file' part is hashed as it streams and
    forgotten; at most one each of 'code' and 'file' or 'sha256'."""
    code: str | None = None
    sha: str | None = None
    while (part := reader.next_part()) is not None:
        if part.name == "code" and code is None:
            code = _text(reader.read_all(MAX_FIELD_BYTES), "code")
        elif part.name == "sha256" and sha is None:
            sha = _text(reader.read_all(MAX_FIELD_BYTES), "sha256").strip()
        elif part.name == "file" and sha is None:
            sha = reader.hash_part(limit).hex
        else:
            raise MultipartError("send at most one 'code' and one 'file' or 'sha256' part",
                                 code="part_unexpected")
    return code, sha


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MultipartError(f"the '{name}' part is not UTF-8 text",
                             code="check_code_invalid" if name == "code" else "sha256_invalid",
                             field=name) from None
