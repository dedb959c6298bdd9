"""Collectors' own keys: a submission signed at capture time by a registered Ed25519 key.

``submitter_signature`` is a compact JWS (EdDSA) whose payload is the file's SHA-256 in
lower-case hex. When the submitting key's collector has registered public keys, the signature
is required and must verify with one of them; the evidence then records the key (``kid``), and
its custody log and bundle say it was signed at capture time by a known key. Without registered
keys a signature is kept in the statement but recorded as unverified.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import select

from notary.core.errors import InputError, SignatureError
from notary.core.signing import jwk_thumbprint, public_key_from_jwk, verify_jws
from notary.service.actors import Actor
from notary.service.context import Context
from notary.service.ingest import Accepted, Notariser, Sealed
from notary.service.submission import Submission
from storage.db import ApiKey, SubmitterKey, session, table_of


class SubmitterSignatureInvalid(InputError):
    default_code = "submitter_signature_invalid"


def register_submitter_key(ctx: Context, key: ApiKey, jwk: dict[str, str]) -> tuple[str, datetime]:
    """Register a collector's own Ed25519 public key (again is a no-op); returns its kid and
    the moment of this registration. InputError ``jwk_invalid`` for anything else."""
    try:
        public_key_from_jwk(jwk)
    except Exception as exc:  # noqa: BLE001 - any malformed key is the caller's input error
        raise InputError(f"not an Ed25519 public JWK: {exc}", code="jwk_invalid") from None
    if "d" in jwk:
        raise InputError("send the PUBLIC key only (no 'd')", code="jwk_invalid")
    kid = jwk_thumbprint(jwk)
    now = datetime.now(UTC)
    with session(ctx.engine) as s:
        if s.get(SubmitterKey, kid) is None:
            s.add(SubmitterKey(kid=kid, api_key_id=key.id, tenant=key.tenant,
                               jwk=json.dumps(jwk, sort_keys=True), created_at=now))
            s.commit()
    return kid, now


def verify_submitter_signature(ctx: Context, key: ApiKey, sub: Submission,
                               sealed: Sealed) -> str | None:
    """The kid of the registered key that signed this file, or None when the collector has
    no registered key. Raises SubmitterSignatureInvalid (422) when a registered collector's
    submission is unsigned, signed by another key, or signed over another file."""
    table = table_of(SubmitterKey)  # Core: asked of every submission, nearly always empty
    with session(ctx.engine) as s:
        keys = list(s.execute(select(table.c.kid, table.c.jwk).where(
            table.c.api_key_id == key.id, table.c.revoked_at.is_(None))))
    if not keys:
        return None
    if not sub.submitter_signature:
        raise SubmitterSignatureInvalid(
            "this collector registered a signing key: send submitter_signature, a JWS by that "
            "key over the file's SHA-256 (hex)")
    jwks = {"keys": [json.loads(k.jwk) | {"kid": k.kid} for k in keys]}
    try:
        header, payload = verify_jws(sub.submitter_signature, jwks)
    except SignatureError as exc:
        raise SubmitterSignatureInvalid(f"submitter_signature does not verify with this "
                                        f"collector's registered keys: {exc.message}") from None
    if payload.decode("ascii", "replace") != sealed.upload.digest.hex:
        raise SubmitterSignatureInvalid("submitter_signature is over another file's SHA-256")
    return str(header["kid"])


def accept_upload(ctx: Context, notariser: Notariser, key: ApiKey, sub: Submission,
                  sealed: Sealed, idempotency_key: str | None) -> Accepted:
    """The sealed upload of ``key``, checked against its collector's registered keys and
    recorded (statement, receipt, custody event); the spool file is discarded on any
    failure, so a refused upload leaves nothing behind."""
    try:
        kid = verify_submitter_signature(ctx, key, sub, sealed)
        return notariser.commit(sub, sealed, submitter=Actor.of_key(key).name,
                                tenant=key.tenant, submitter_kid=kid, submitter_name=key.name,
                                idempotency_key=idempotency_key)
    except BaseException:
        notariser.discard(sealed)
        raise
