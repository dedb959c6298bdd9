"""The conduct report a case bundle carries when asked (``conduct/``, issue 16 #6), and its
check: the signed report must be what :func:`notary.core.conduct.conduct_report` derives
again from the bundle's own statements.

CONSENSUS-CRITICAL and pure. The report states its subject, period and rules, and which calls
it flagged ``not_countable`` (the client made their commitment; only the service knows which);
the statements, and which of them are anchored (their Merkle proof and anchor record pass), are
the bundle's. Anything else the report says must follow from those, so a report that leaves a
call out, lists one the bundle lacks, or flags a call differently fails, naming the call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..conduct import CONDUCT, NOT_COUNTABLE, ConductRules, conduct_report
from ..errors import NotaryError
from ..jws import jws_payload
from ..keyhistory import KeyPeriod
from ..statement import Statement, canonical_json
from ..verdict import Check, CheckStatus
from .layout import CONDUCT_JSON_PATH, CONDUCT_JWS_PATH
from .read import Bundle, document_text

__all__ = ["CONDUCT_CHECK", "conduct_check"]

CONDUCT_CHECK = "conduct"


def _fail(reason: str) -> tuple[Check, dict[str, Any]]:
    return Check(CONDUCT_CHECK, CheckStatus.FAIL, reason), {"matches": False, "reason": reason}


def _rows(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    rows = report.get("contacts")
    if not isinstance(rows, list):
        return {}
    return {str(r.get("statement_sha256")): r for r in rows if isinstance(r, Mapping)}


def _difference(signed: Mapping[str, Any], derived: Mapping[str, Any],
                where: Mapping[str, str]) -> str:
    """What differs between the signed report and the one derived again, call by call."""
    have, want = _rows(signed), _rows(derived)
    problems = []
    for digest, row in want.items():
        if digest not in have:
            problems.append(f"it leaves out the call of {where.get(digest, '?')} (evidence "
                            f"{row.get('evidence_id')}, started {row.get('started_at')})")
    for digest, row in have.items():
        if digest not in want:
            problems.append(f"it lists a call that is not in the bundle (evidence "
                            f"{row.get('evidence_id')}, statement {digest[:16]}…)")
        elif row != want[digest]:
            fields = sorted(k for k in set(row) | set(want[digest])
                            if row.get(k) != want[digest].get(k))
            given = ", ".join(f"{k}={want[digest].get(k)!r}" for k in fields)
            problems.append(f"its row for {where.get(digest, '?')} (evidence "
                            f"{row.get('evidence_id')}) differs in {', '.join(fields)}: the "
                            f"statements give {given}")
    if not problems:
        fields = sorted(k for k in set(signed) | set(derived) if signed.get(k) != derived.get(k))
        problems.append(f"its {', '.join(fields) or 'order of calls'} differ(s) from what the "
                        "statements give")
    return "; ".join(problems)


def conduct_check(bundle: Bundle, key_set: Mapping[str, Any],
                  periods: Mapping[str, KeyPeriod],
                  statements: Sequence[tuple[str, Statement | None, bool]]
                  ) -> tuple[Check, dict[str, Any]] | None:
    """``conduct`` and its facts, or None when the bundle carries no conduct report.

    The report is signed when the bundle is made, so its key must be valid at the manifest's
    ``created_at`` (``periods``), as the manifest's is: a key retired before, or one whose
    period began after, cannot have signed it then.
    ``statements``: each item's directory, its verified statement (None if it did not verify)
    and whether it is anchored (its Merkle proof and anchor record passed)."""
    docs = bundle.contents.documents
    if not any(p.startswith("conduct/") for p in bundle.contents.digests):
        return None
    token = document_text(docs.get(CONDUCT_JWS_PATH))
    if token is None:
        return _fail(f"The bundle has a conduct/ folder but no readable {CONDUCT_JWS_PATH}.")
    try:
        signed = CONDUCT.verify(token, key_set)
    except NotaryError as exc:
        return _fail(f"{CONDUCT_JWS_PATH} is not a conduct report signed by the keys used: "
                     f"{exc.message}")
    created = bundle.manifest.created_at if bundle.manifest is not None else None
    validity = periods.get(signed.kid)
    try:
        covered = created is not None and validity is not None and validity.covers(created)
    except NotaryError:
        covered = False
    if not covered:
        return _fail(f"{CONDUCT_JWS_PATH} is signed by key {signed.kid}, which was not valid "
                     f"when the bundle was made ({created or 'unknown'}).")
    if docs.get(CONDUCT_JSON_PATH) != jws_payload(token):
        return _fail(f"{CONDUCT_JSON_PATH} is not the signed report's payload: it was changed "
                     f"or is missing (the signed {CONDUCT_JWS_PATH} is the record).")
    report = signed.document
    try:
        rules_doc = report["rules"]
        rules = ConductRules(quiet_from=rules_doc["quiet_hours"]["from"],
                             quiet_to=rules_doc["quiet_hours"]["to"],
                             max_daily_attempts=rules_doc["max_daily_attempts"])
        period = (report["period"]["from"], report["period"]["to"])
        client = {str(r["statement_sha256"]) for r in report["contacts"]
                  if NOT_COUNTABLE in r["flags"]}
        verified = [(d, s, a) for d, s, a in statements if s is not None]
        derived = conduct_report([s for _d, s, _a in verified], rules, period,
                                 report["subject"],
                                 anchored={s.digest_hex() for _d, s, a in verified if a},
                                 client_committed=client)
    except (NotaryError, KeyError, TypeError, AttributeError) as exc:
        return _fail(f"The signed conduct report cannot be derived again: {exc}")
    summary = report.get("summary") or {}
    facts: dict[str, Any] = {"subject": report.get("subject"), "period": report.get("period"),
                             "summary": summary, "signed_by": signed.kid}
    if canonical_json(derived) == signed.payload:
        reason = (f"The signed conduct report ({summary.get('calls')} call(s), "
                  f"{sum(v for k, v in summary.items() if k != 'calls')} flag(s)) is exactly "
                  "what the bundle's statements give under its stated period and rules.")
        return Check(CONDUCT_CHECK, CheckStatus.PASS, reason), facts | {"matches": True,
                                                                        "reason": reason}
    where = {s.digest_hex(): d for d, s, _a in verified}
    reason = ("The signed conduct report does not match the bundle's statements: "
              + _difference(report, derived, where) + ".")
    return Check(CONDUCT_CHECK, CheckStatus.FAIL, reason), facts | {"matches": False,
                                                                    "reason": reason}
