"""Verify a bundle: every check, then the five answers (issue 14).

CONSENSUS-CRITICAL and pure, like :mod:`notary.core.bundle`, whose readers and item checks it
runs. What is new here is where the keys come from: with a pinned trust root
(:class:`~notary.core.trustroot.VerifiedTrustRoot`) every signature of the bundle (manifest,
statements, receipts, custody events, deletion certificates) is checked against the trust
root's keys and periods, never against ``keys/jwks.json``, and the issuer checks of
:mod:`notary.core.pinning` tie the anchors to the pinned chain and registry. Without one the
checks are made as before, with the bundle's own keys, and the result is at best
``not_established`` (:mod:`notary.core.answers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .answers import BundleVerification, answer_bundle
from .bundle import (
    _READABLE,
    ANCHOR_NAME,
    CUSTODY_NAME,
    DELETION_NAME,
    KEYS_PATH,
    MANIFEST_SIGNATURE_PATH,
    RECEIPT_NAME,
    STATEMENT_NAME,
    TRUST_ROOT_PATH,
    Bundle,
    KeyPeriod,
    _certified_items,
    _check_case_sequence,
    _check_keys,
    _check_manifest,
    _check_manifest_signature,
    _header_kid,
    _parse_anchor,
    _summary,
    _verify_item,
    parse_key_history,
)
from .bundle import (
    _text as _document_text,
)
from .custody import CustodyEvent
from .declaration import CERTIFICATION_DIR
from .declaration_verify import check_declaration as check_certification
from .deletion import DeletionCertificate
from .errors import NotaryError
from .pinning import (
    AnchorQuery,
    ChainObservation,
    ChainQuestions,
    ChainReading,
    ItemPin,
    SignatureUse,
    chain_questions,
    compare_bundle_keys,
    issuer_checks,
    trust_root_key_set,
)
from .signing import jws_payload
from .statement import Statement, parse_strict_json
from .timestamp import TimestampReading, is_timestamp_document, token_path
from .trustroot import VerifiedTrustRoot, verify_trust_root
from .validate import format_rfc3339_utc
from .verdict import AnchorFacts, Check, CheckStatus, Verdict

__all__ = ["bundle_questions", "verify_bundle"]

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP


def _kid(token: str | None) -> str | None:
    """The ``kid`` a token's header names (None when the header is unreadable)."""
    if not token:
        return None
    try:
        return _header_kid(token)
    except (NotaryError, KeyError, ValueError, IndexError, TypeError):
        return None


def _anchor(bundle: Bundle, path: str) -> AnchorFacts | None:
    raw = bundle.contents.documents.get(f"{path}/{ANCHOR_NAME}")
    if raw is None:
        return None
    try:
        return _parse_anchor(raw)[0]
    except (NotaryError, KeyError, TypeError):
        return None


def _text(bundle: Bundle, path: str) -> str | None:
    return _document_text(bundle.contents.documents.get(path))


def bundle_questions(bundle: Bundle, trust_root: VerifiedTrustRoot | None = None
                     ) -> ChainQuestions:
    """What to ask a chain node about ``bundle`` (see :func:`notary.core.pinning.chain_questions`):
    the anchors its items claim and the keys its signatures name (statements, receipts, custody
    events, deletion certificates, the manifest)."""
    anchors = [a for ref in bundle.items if (a := _anchor(bundle, ref.path)) is not None]
    tokens = [_text(bundle, MANIFEST_SIGNATURE_PATH)]
    for ref in bundle.items:
        tokens += [_text(bundle, f"{ref.path}/{n}") for n in (STATEMENT_NAME, RECEIPT_NAME,
                                                               DELETION_NAME)]
        tokens += (_text(bundle, f"{ref.path}/{CUSTODY_NAME}") or "").splitlines()
    kids = [k for t in tokens if (k := _kid(t)) is not None]
    return chain_questions(anchors, kids, trust_root.root if trust_root is not None else None)


def _signature_uses(bundle: Bundle, statements: Sequence[Statement | None]) -> list[SignatureUse]:
    """Every signature of the bundle with the time it claims to have been made: the manifest
    (its ``created_at``), each statement (``received_at``), receipt (``issued_at``), custody
    event (``at``) and deletion certificate (``shredded_at``)."""
    uses = []
    kid = _kid(_text(bundle, MANIFEST_SIGNATURE_PATH))
    if kid is not None and bundle.manifest is not None:
        uses.append(SignatureUse(MANIFEST_SIGNATURE_PATH, kid, bundle.manifest.created_at))
    for ref, statement in zip(bundle.items, statements, strict=True):
        d = ref.path
        token = _text(bundle, f"{d}/{STATEMENT_NAME}")
        if statement is not None and (kid := _kid(token)) is not None:
            uses.append(SignatureUse(f"{d}/{STATEMENT_NAME}", kid, statement.received_at))
        token = _text(bundle, f"{d}/{RECEIPT_NAME}")
        if token and (kid := _kid(token)) is not None:
            try:
                issued = parse_strict_json(jws_payload(token), max_bytes=4096)["issued_at"]
                uses.append(SignatureUse(f"{d}/{RECEIPT_NAME}", kid, str(issued)))
            except (NotaryError, KeyError, TypeError, ValueError):
                pass
        custody = _text(bundle, f"{d}/{CUSTODY_NAME}")
        for n, line in enumerate((custody or "").splitlines(), start=1):
            if (kid := _kid(line)) is None:
                continue
            try:
                event = CustodyEvent.from_bytes(jws_payload(line))
            except (NotaryError, ValueError):
                continue
            uses.append(SignatureUse(f"{d}/{CUSTODY_NAME} event {n}", kid, event.at))
        token = _text(bundle, f"{d}/{DELETION_NAME}")
        if token and (kid := _kid(token)) is not None:
            try:
                cert = DeletionCertificate.from_bytes(jws_payload(token))
            except (NotaryError, ValueError):
                continue
            uses.append(SignatureUse(f"{d}/{DELETION_NAME}", kid, cert.shredded_at))
    return uses


def _bundled_trust_root(bundle: Bundle) -> tuple[str | None, str | None]:
    """The fingerprint of the trust root the bundle carries (self-consistent only, never
    trusted), or why it is unusable."""
    raw = bundle.contents.documents.get(TRUST_ROOT_PATH)
    if raw is None:
        return None, None
    try:
        return verify_trust_root(raw).fingerprint, None
    except NotaryError as exc:
        return None, f"{TRUST_ROOT_PATH} is not a usable trust root: {exc.message}"


def _pinned_keys(bundle: Bundle, trust_root: VerifiedTrustRoot
                 ) -> tuple[Check, dict[str, Any], dict[str, KeyPeriod]]:
    """``keys`` against the trust root, and the trust root's keys and periods: the only ones
    the signatures are checked with."""
    raw = bundle.contents.documents.get(KEYS_PATH)
    bundle_keys: list[dict[str, Any]] | None = None
    problem = None
    if raw is None:
        problem = f"The bundle has no {KEYS_PATH}."
    else:
        try:
            bundle_keys = parse_key_history(raw)[0]["keys"]
        except NotaryError as exc:
            problem = exc.message
    check = compare_bundle_keys(bundle_keys, problem, trust_root, KEYS_PATH)
    root = trust_root.root
    periods = {k.kid: KeyPeriod(k.kid, k.not_before, k.not_after) for k in root.signing_keys}
    return check, trust_root_key_set(root), periods


def _relabel(check: Check, fingerprint: str) -> Check:
    """A check's reason says which keys it used: the trust root's, not the bundle's."""
    if f"of {KEYS_PATH}" not in check.reason:
        return check
    return Check(check.name, check.status,
                 check.reason.replace(f"of {KEYS_PATH}", f"of the pinned trust root {fingerprint}"))


def _observations(chain: ChainReading | None,
                  observations: Mapping[AnchorQuery, ChainObservation] | None,
                  bundle: Bundle) -> Mapping[AnchorQuery, ChainObservation] | None:
    if chain is None:
        return observations
    if chain.error is None:
        return chain.anchors
    out = {}
    for ref in bundle.items:
        a = _anchor(bundle, ref.path)
        if a is not None:
            out[AnchorQuery(a.chain_id, a.contract.lower(), a.root)] = ChainObservation(
                node=chain.node, error=chain.error)
    return out


def verify_bundle(
    bundle: Bundle,
    *,
    observations: Mapping[AnchorQuery, ChainObservation] | None = None,
    timestamps: Mapping[str, TimestampReading] | None = None,
    trust_root: VerifiedTrustRoot | None = None,
    chain: ChainReading | None = None,
) -> BundleVerification:
    """Verify every claim of a bundle; return the checks, the five answers and the facts.

    ``trust_root``: the pinned trust root (None: not pinned; the result is then never
    ``valid``). ``chain``: what a chain node answered to :func:`bundle_questions` (None when no
    node was asked: the chain checks are skipped, and the time and issuer questions are
    unknown). ``observations`` is the older form of the anchors' answers alone, used when
    ``chain`` is None. ``timestamps`` are the readings of the bundle's RFC 3161 tokens by path.

    Checks, in order: ``keys`` (with a trust root: every key of the bundle is one of its keys),
    ``manifest``, ``manifest_signature``, per item ``items[i].statement_signature``,
    ``receipt_signature``, ``key_validity``, ``file_hash``, ``merkle_proof``, ``anchor_record``,
    ``chain_anchor``, ``custody``, ``rfc3161_timestamp`` (only when the bundle carries RFC 3161
    timestamps), ``deletion`` (shredded items), then ``case_sequence``, the certification's
    checks when there is one, and with a trust root ``issuer.trust_root``, ``issuer.keys``,
    ``issuer.chain`` and ``items[i].issuer`` (:func:`notary.core.pinning.issuer_checks`).
    """
    docs = bundle.contents.documents
    observed = _observations(chain, observations, bundle)

    # Step 1: the keys: the trust root's when one is pinned, else the bundle's own.
    if trust_root is not None:
        keys_check, key_set, periods = _pinned_keys(bundle, trust_root)
    else:
        keys_check, key_set, periods = _check_keys(docs.get(KEYS_PATH))
    checks = [keys_check]
    # Step 2: every file of the archive is in the manifest with its SHA-256, and vice versa.
    checks.append(_check_manifest(bundle))
    # Step 3: the manifest is signed by one of those keys, valid when the bundle was made.
    checks.append(_check_manifest_signature(bundle, key_set, periods))
    decisive = {"keys", "manifest", "manifest_signature"}
    if not bundle.items:
        checks.append(Check("items", _FAIL, "The bundle holds no items."))
    # Step 4: each item on its own.
    stamped = any(is_timestamp_document(p) for p in bundle.contents.digests)
    statements: list[Statement | None] = []
    item_facts = []
    for i, ref in enumerate(bundle.items):
        result = _verify_item(i, ref, bundle, key_set, periods, observed, timestamps, stamped)
        checks.extend(result.checks)
        statements.append(result.statement)
        facts_i = result.facts
        anchor = _anchor(bundle, ref.path)
        reading = (timestamps or {}).get(token_path(anchor.root)) if anchor is not None else None
        stamp_ok = any(c.name == f"items[{i}].rfc3161_timestamp" and c.status is _PASS
                       for c in result.checks)
        if stamp_ok and reading is not None and reading.gen_time is not None:
            facts_i["rfc3161_time"] = format_rfc3339_utc(reading.gen_time)
        item_facts.append(facts_i)
        decisive |= {f"items[{i}].{n}" for n in ("statement_signature", "receipt_signature",
                                                 "key_validity", "merkle_proof",
                                                 "anchor_record")}
    # Step 5: the case's entries follow each other without gaps, linked by digest.
    if bundle.items:
        checks.append(_check_case_sequence(bundle, statements))
    # Step 6: a court certification, when the bundle carries one.
    if any(p.startswith(f"{CERTIFICATION_DIR}/") for p in bundle.contents.digests):
        checks.extend(check_certification(
            docs, bundle.contents.digests.keys(), items=_certified_items(bundle, statements),
            bundle=_summary(bundle)))
        decisive.add("certification")
    # Step 7: with a trust root, the issuer: keys, chain, registry, senders, registrations.
    if trust_root is not None:
        checks = [_relabel(c, trust_root.fingerprint) for c in checks]
        pins = [ItemPin(i, ref.path, _anchor(bundle, ref.path),
                        _kid(_text(bundle, f"{ref.path}/{STATEMENT_NAME}"))
                        if statements[i] is not None else None)
                for i, ref in enumerate(bundle.items)]
        checks.extend(issuer_checks(trust_root, chain, _signature_uses(bundle, statements),
                                    pins))
    manifest = bundle.manifest
    facts: dict[str, Any] = {
        "bundle_version": bundle.version,
        "media_type": _READABLE[bundle.version],
        "items": item_facts,
    }
    if manifest is not None:
        facts.update({"scope": manifest.scope, "case_id": manifest.case_id,
                      "created_at": manifest.created_at, "hashes_only": manifest.hashes_only})
    # A node was asked and answered (one that could not be asked checked nothing).
    facts["chain_checked"] = chain.error is None if chain is not None else observed is not None
    if chain is not None:
        facts["chain_node"] = chain.node
        if chain.error is not None:
            facts["chain_error"] = chain.error
    bundled, bundled_problem = _bundled_trust_root(bundle)
    facts["pinned"] = trust_root is not None
    if trust_root is not None:
        facts["trust_root_fingerprint"] = trust_root.fingerprint
    if bundled is not None:
        facts["bundled_trust_root_fingerprint"] = bundled
    if bundled_problem is not None:
        facts["bundled_trust_root_problem"] = bundled_problem
    verdict = Verdict(checks, decisive=frozenset(decisive))
    answers = answer_bundle(verdict, facts, trust_root=trust_root, statements=statements,
                            bundled_fingerprint=bundled)
    return BundleVerification(verdict, facts, answers, pinned=trust_root is not None)

