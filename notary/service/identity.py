"""Who operates this deployment, as certificates and public answers print it (issue 14).

The operator's identity and the trust-root fingerprint come from the deployment's signed trust
root (:func:`notary.service.trustroot.current_trust_root`). When that cannot be made (no chain,
the node does not answer), the operator settings are used and the fingerprint is None: the
certificate or answer then says the trust root was unavailable, never prints a stale one.

The tenant's legal name and the submitter's name are read from the item's signed statement
(``tenant_name``, ``submitter_name``): claims the tenant made, printed as such.
"""

from __future__ import annotations

import logging
from typing import Any

from notary.certificate.identity import CLAIM_NOTE, Deployment
from notary.core.errors import NotaryError
from notary.core.signing import verify_statement
from notary.service.context import Context
from notary.service.trustroot import current_trust_root, is_development

__all__ = ["deployment_of", "issuer_answer", "statement_names", "submission_identity"]

log = logging.getLogger(__name__)


def deployment_of(ctx: Context) -> Deployment:
    """This deployment's operator and trust-root fingerprint (see the module docstring)."""
    try:
        return Deployment.of(current_trust_root(ctx).verified)
    except NotaryError as exc:
        log.warning("answering without a trust root: %s", exc.message)
    except OSError as exc:  # the trust root could not be stored under NOTARY_HOME
        log.warning("answering without a trust root: %s", type(exc).__name__)
    s = ctx.settings
    chain_id = ctx.chain.deployment.chain_id if ctx.chain is not None else s.chain_id
    return Deployment(operator_name=s.operator_name,
                      operator_registration=s.operator_registration or None,
                      operator_country=s.operator_country or None, public_url=s.service_url,
                      trust_root_fingerprint=None,
                      development=is_development(s, chain_id), chain_id=chain_id)


def statement_names(ctx: Context, statement_jws: str) -> tuple[str | None, str | None]:
    """(tenant_name, submitter_name) of a stored statement, read only from a statement whose
    signature verifies with this service's keys; (None, None) for one made before the fields
    existed (or one that does not verify: its other checks say so)."""
    try:
        statement = verify_statement(statement_jws, ctx.jwks())
    except NotaryError:
        return None, None
    return statement.tenant_name, statement.submitter_name


def submission_identity(ctx: Context, statement_jws: str) -> dict[str, Any]:
    """The identity block of a public answer (the hash check): the operator with the
    trust-root fingerprint, and the tenant's and submitter's names marked as claims."""
    return issuer_answer(ctx, *statement_names(ctx, statement_jws))


def issuer_answer(ctx: Context, tenant_name: str | None,
                  submitter_name: str | None) -> dict[str, Any]:
    """As :func:`submission_identity`, from names already read (the document check)."""
    return {
        **deployment_of(ctx).to_json(),
        "tenant_name": tenant_name,
        "submitter_name": submitter_name,
        "claims": {"zh": "租户名称与提交人名称为租户自述（声明），notary 未核实；"
                         "运营方身份取自已签名的信任根。",
                   "en": "The tenant's and the submitter's names are stated by the tenant, not "
                         "verified by notary; the operator's identity is from the signed trust "
                         "root."},
        "claim_note": {"zh": CLAIM_NOTE.zh, "en": CLAIM_NOTE.en},
    }
