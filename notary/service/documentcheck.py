"""The check a person makes of a document they received (a collection notice, a repayment
agreement), by the check code printed on it, by the document's bytes, or both.

The caller is anonymous, so the answer holds only what the document itself already tells
its holder, plus the notary's own facts about it: that it was notarised, when it was
received, when its anchor's block was made, whether the file in hand is the notarised one,
and when its content was removed under data-protection rules; and who had it notarised (issue
14): the agency's (tenant's) legal name and the name of the key that submitted it, as the
signed statement states them (the agency's own claims), so that a notice notarised by someone
else does not read like the agency's; and the operator, from the trust root.
Never the case, the kind of evidence, the file name, the parties, the description, the
custody log or the evidence id: :class:`DocumentCheck` has no field for them, on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from notary.checkcode import normalise_check_code
from notary.core.digest import parse_sha256_hex
from notary.core.errors import InputError, NotaryError
from notary.core.signing import jws_payload
from notary.core.statement import Statement
from notary.service.context import Context
from notary.service.errors import NotFound
from notary.service.identity import issuer_answer
from storage.db import Batch, Evidence, session, utc

#: One answer for a code that was never issued and one that is no longer known, so the
#: answer says nothing about which codes exist.
NO_SUCH_CODE = ("No notarised document has this check code. Compare it with the code printed "
                "on the document: 12 letters and digits, XXXX-XXXX-XXXX.")
NO_SUCH_FILE = ("No document with this content was notarised by this service: it may have "
                "been changed (a single changed byte changes its SHA-256), or it was never "
                "notarised here.")


class DocumentNotFound(NotFound):
    """No notarised document has this check code (or, without a code, this SHA-256)."""

    default_code = "document_not_found"


@dataclass(frozen=True)
class DocumentCheck:
    """Everything the public may learn about one notarised document."""

    sha256: str
    received_at: datetime
    #: The time of the block that anchored the document's batch; None until anchored.
    anchored_at: datetime | None
    #: Whether the file in hand is the notarised one; None when only a code was given.
    unaltered: bool | None
    #: When the content was removed under data-protection rules (crypto-shredded), if it was.
    removed_at: datetime | None
    #: The tenant's legal name and the submitting key's name from the signed statement (the
    #: tenant's claims); None for statements made before they were recorded.
    tenant_name: str | None = None
    submitter_name: str | None = None


def check_document(ctx: Context, *, check_code: str | None = None,
                   sha256_hex: str | None = None) -> tuple[DocumentCheck, dict[str, Any]]:
    """Look the document up by ``check_code`` (the file, if given, is compared with it) or,
    without a code, by the file's SHA-256 (the earliest notarisation of those bytes). Returns
    the check and who had the document notarised, operator included
    (:func:`notary.service.identity.issuer_answer`).

    Raises CheckCodeError (``check_code_invalid``) for text that is not a check code,
    InputError (``sha256_invalid``, ``check_input_missing``), and DocumentNotFound with a
    neutral message when nothing matches.
    """
    if check_code is None and sha256_hex is None:
        raise InputError("send the check code printed on the document, the document's file, "
                         "or both", code="check_input_missing")
    code = normalise_check_code(check_code) if check_code is not None else None
    sha = parse_sha256_hex(sha256_hex).hex() if sha256_hex is not None else None
    with session(ctx.engine) as s:
        if code is not None:
            row = s.exec(select(Evidence).where(Evidence.check_code == code)).first()
            missing = NO_SUCH_CODE
        else:
            row = s.exec(select(Evidence).where(Evidence.sha256 == sha)
                         .order_by(Evidence.received_at)).first()  # type: ignore[arg-type]
            missing = NO_SUCH_FILE
        if row is None:
            raise DocumentNotFound(missing)
        batch = s.get(Batch, row.batch_id) if row.batch_id is not None else None
    anchored_at = None
    if (row.status == "anchored" and batch is not None and batch.status == "anchored"
            and batch.block_timestamp is not None):
        anchored_at = datetime.fromtimestamp(batch.block_timestamp, UTC)
    tenant_name, submitter_name = _names(row.statement_jws)
    return DocumentCheck(
        sha256=row.sha256, received_at=utc(row.received_at), anchored_at=anchored_at,
        unaltered=None if sha is None else sha == row.sha256,
        removed_at=utc(row.shredded_at) if row.shredded_at is not None else None,
        tenant_name=tenant_name, submitter_name=submitter_name,
    ), issuer_answer(ctx, tenant_name, submitter_name)


def _names(statement_jws: str) -> tuple[str | None, str | None]:
    """(tenant_name, submitter_name) of the service's own stored statement."""
    try:
        statement = Statement.from_bytes(jws_payload(statement_jws))
    except NotaryError:
        return None, None
    return statement.tenant_name, statement.submitter_name
