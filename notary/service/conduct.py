"""The conduct report of a case (issue 16 #6): the case's statements, the anchored state,
the rules, the calls whose callee commitment the client made (``Evidence.callee_salted``),
signed with the service key. The report itself is made by the core's pure
:func:`notary.core.conduct.conduct_report`; this module only gathers its inputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from notary.certificate.conduct import render_conduct_report
from notary.core.bundle import (
    CONDUCT_HTML_PATH,
    CONDUCT_JSON_PATH,
    CONDUCT_JWS_PATH,
    CONDUCT_PDF_PATH,
)
from notary.core.conduct import CONDUCT, ConductRules, conduct_report, rules_table
from notary.core.errors import InputError
from notary.core.signing import SigningKey, jws_payload
from notary.core.statement import Statement, canonical_json
from notary.core.validate import format_rfc3339_utc
from notary.service.calls import contact_of
from notary.service.context import Context
from notary.service.tenancy import case_items
from storage.db import Evidence

__all__ = ["DEFAULT_RULES", "ConductAnswer", "bundle_conduct", "case_conduct",
           "conduct_of_contact", "tenant_rules"]

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
    return conduct_of(case_items(ctx.engine, tenant, case_id), ctx.signing_key,
                      case_id=case_id, period=period,
                      rules=tenant_rules(ctx.settings.conduct_rules, tenant), contact=contact)


def conduct_of_contact(ctx: Context, *, tenant: str, case_id: str, number: str,
                       period: tuple[str, str]) -> ConductAnswer:
    """The conduct report of one contact of the case, named by its number (matched against
    the case's callee commitments: notary.service.calls.contact_of)."""
    contact = contact_of(ctx, tenant=tenant, case_id=case_id, number=number)
    return case_conduct(ctx, tenant=tenant, case_id=case_id, period=period, contact=contact)


def conduct_of(rows: Sequence[Evidence], key: SigningKey, *, case_id: str,
               period: tuple[str, str], rules: ConductRules = DEFAULT_RULES,
               contact: str | None = None) -> ConductAnswer:
    """The signed conduct report of exactly these items of the case (a bundle's, so that the
    report and the bundle's statements are one set)."""
    statements = [Statement.from_bytes(jws_payload(r.statement_jws)) for r in rows]
    anchored = {r.statement_digest for r in rows if r.status == "anchored"}
    client = {r.statement_digest for r, st in zip(rows, statements, strict=True)
              if st.call is not None and not r.callee_salted}
    subject = {"case_id": case_id} if contact is None else {"case_id": case_id,
                                                            "contact": contact}
    report = conduct_report(statements, rules, period, subject, anchored, client)
    canonical = canonical_json(report)
    return ConductAnswer(report, canonical, CONDUCT.sign(canonical, key),
                         tuple(r.statement_jws for r in rows))


def calls_period(rows: Sequence[Evidence]) -> tuple[str, str]:
    """The period that holds every call of these items: from the first call's start to a
    second after the last one's (the period is half-open), in UTC. InputError
    ``conduct_period_invalid`` when there is no call: the period must then be named."""
    starts = [st.call.start for r in rows
              if (st := Statement.from_bytes(jws_payload(r.statement_jws))).call is not None]
    if not starts:
        raise InputError("The case holds no call records: name the conduct report's period "
                         "(conduct_from and conduct_to) / 案件没有通话记录，请指定报告期间",
                         code="conduct_period_invalid", field="conduct_from")
    return (format_rfc3339_utc(min(starts)),
            format_rfc3339_utc(max(starts) + timedelta(seconds=1)))


def bundle_conduct(rows: Sequence[Evidence], key: SigningKey, *, case_id: str,
                   period: tuple[str, str] | None, rules: ConductRules,
                   verify_url: str) -> dict[str, bytes]:
    """The ``conduct/`` files of a case bundle: the signed report of the bundle's items over
    ``period`` (default: all their calls), its payload, and its bilingual HTML and PDF."""
    answer = conduct_of(rows, key, case_id=case_id, period=period or calls_period(rows),
                        rules=rules)
    html, pdf = render_conduct_report(answer.report, answer.jws, verify_url=verify_url)
    return {CONDUCT_JWS_PATH: answer.jws.encode("ascii"), CONDUCT_JSON_PATH: answer.canonical,
            CONDUCT_HTML_PATH: html.encode(), CONDUCT_PDF_PATH: pdf}
