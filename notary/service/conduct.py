"""The conduct report of a case (issue 16 #6): the case's statements, the anchored state,
the rules, the calls whose callee commitment the client made (``Evidence.callee_salted``),
signed with the service key. The report itself is made by the core's pure
:func:`notary.core.conduct.conduct_report`; this module only gathers its inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notary.core.conduct import CONDUCT, ConductRules, conduct_report, rules_table
from notary.core.signing import jws_payload
from notary.core.statement import Statement, canonical_json
from notary.service.calls import contact_of
from notary.service.context import Context
from notary.service.tenancy import case_items

__all__ = ["DEFAULT_RULES", "ConductAnswer", "case_conduct", "conduct_of_contact", "tenant_rules"]

#: The 中银协 2026 guideline: no calls 22:00–08:00, at most 6 attempts a day on one contact.
DEFAULT_RULES = ConductRules()


def tenant_rules(text: str, tenant: str) -> ConductRules:
    """The rules for ``tenant`` from ``NOTARY_CONDUCT_RULES`` (``text``, see
    :func:`~notary.core.conduct.rules_table`), else :data:`DEFAULT_RULES`."""
    return rules_table(text).get(tenant, DEFAULT_RULES)


@dataclass(frozen=True)
class ConductAnswer:
    report: dict[str, Any]
    canonical: bytes
    jws: str
    statements: tuple[str, ...]  # the case's statement JWSs the report was derived from


def case_conduct(ctx: Context, *, tenant: str, case_id: str, period: tuple[str, str],
                 contact: str | None = None) -> ConductAnswer:
    """The signed conduct report of the case ``tenant`` holds as ``case_id``, under the
    tenant's rules (NotFound when it has no items). ``contact``: a callee commitment value to
    report on alone."""
    rules = tenant_rules(ctx.settings.conduct_rules, tenant)
    rows = case_items(ctx.engine, tenant, case_id)
    statements = [Statement.from_bytes(jws_payload(r.statement_jws)) for r in rows]
    anchored = {r.statement_digest for r in rows if r.status == "anchored"}
    client = {r.statement_digest for r, st in zip(rows, statements, strict=True)
              if st.call is not None and not r.callee_salted}
    subject = {"case_id": case_id} if contact is None else {"case_id": case_id,
                                                            "contact": contact}
    report = conduct_report(statements, rules, period, subject, anchored, client)
    canonical = canonical_json(report)
    return ConductAnswer(report, canonical, CONDUCT.sign(canonical, ctx.signing_key),
                         tuple(r.statement_jws for r in rows))


def conduct_of_contact(ctx: Context, *, tenant: str, case_id: str, number: str,
                    period: tuple[str, str]) -> ConductAnswer:
    """The conduct report of one contact of the case, named by its number (matched against
    the case's callee commitments: notary.service.calls.contact_of)."""
    contact = contact_of(ctx, tenant=tenant, case_id=case_id, number=number)
    return case_conduct(ctx, tenant=tenant, case_id=case_id, period=period, contact=contact)
