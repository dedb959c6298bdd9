"""Verify a bundle: every check, then the five answers (issue 14).

CONSENSUS-CRITICAL and pure, like the rest of :mod:`notary.core.bundle`, whose reader and
checks it runs. What is new here is where the keys come from: with a pinned trust root
(:class:`~notary.core.trustroot.VerifiedTrustRoot`) every signature of the bundle (manifest,
statements, receipts, custody events, deletion certificates) is checked against the trust
root's keys and periods, never against ``keys/jwks.json``, and the issuer checks of
:mod:`notary.core.pinning` tie the anchors to the pinned chain and registry. Without one the
checks are made as before, with the bundle's own keys, and the result is at best
``not_established`` (:mod:`notary.core.answers`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..answers import BundleVerification, answer_bundle
from ..custody import CustodyEvent
from ..declaration import CERTIFICATION_DIR
from ..declaration_verify import check_declaration
from ..deletion import DeletionCertificate
from ..digest import FileDigest
from ..errors import NotaryError
from ..jws import claimed_kid, jws_payload
from ..keyhistory import KeyPeriod, parse_key_history
from ..pinning import (
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
from ..statement import parse_strict_json
from ..timestamp import (
    MAX_RENEWALS,
    TimestampReading,
    is_timestamp_document,
    renewal_path,
    token_path,
)
from ..trustroot import VerifiedTrustRoot, verify_trust_root
from ..validate import format_rfc3339_utc
from ..verdict import AnchorFacts, Check, CheckStatus, Verdict
from .attest import (
    Attested,
    dating,
    extra_anchor_checks,
    extra_chain_questions,
    unix_time,
)
from .checks import (
    bundle_summary,
    case_sequence_check,
    declared_items,
    keys_check,
    manifest_check,
    manifest_signature_check,
)
from .conduct import CONDUCT_CHECK, conduct_check
from .item import ItemResult, verify_item
from .layout import (
    CUSTODY_NAME,
    DELETION_NAME,
    KEYS_PATH,
    MANIFEST_SIGNATURE_PATH,
    READABLE,
    RECEIPT_NAME,
    STATEMENT_NAME,
    TRUST_ROOT_PATH,
)
from .logpart import log_checks
from .read import Bundle, anchor_of, document_text

__all__ = ["ItemChecks", "ItemMap", "ItemOutcome", "bundle_questions", "verify_bundle"]

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP


def _text(bundle: Bundle, path: str) -> str | None:
    return document_text(bundle.contents.documents.get(path))


def bundle_questions(bundle: Bundle, trust_root: VerifiedTrustRoot | None = None
                     ) -> ChainQuestions:
    """What to ask a chain node about ``bundle`` (see :func:`notary.core.pinning.chain_questions`):
    the anchors its items claim and the keys its signatures name (statements, receipts, custody
    events, deletion certificates, the manifest)."""
    anchors = [a for ref in bundle.items if (a := anchor_of(bundle, ref.path)) is not None]
    tokens = [_text(bundle, MANIFEST_SIGNATURE_PATH)]
    for ref in bundle.items:
        tokens += [_text(bundle, f"{ref.path}/{n}") for n in (STATEMENT_NAME, RECEIPT_NAME,
                                                               DELETION_NAME)]
        tokens += (_text(bundle, f"{ref.path}/{CUSTODY_NAME}") or "").splitlines()
    kids = [k for t in tokens if (k := claimed_kid(t)) is not None]
    return chain_questions(anchors, kids, trust_root.root if trust_root is not None else None)


def _signature_uses(bundle: Bundle, results: Sequence[ItemResult]) -> list[SignatureUse]:
    """Every signature of the bundle with the time it claims to have been made: the manifest
    (its ``created_at``), each verified statement (``received_at``), and each receipt
    (``issued_at``), custody event (``at``) and deletion certificate (``shredded_at``) by the
    key its header names, verified or not."""
    uses = []
    kid = claimed_kid(_text(bundle, MANIFEST_SIGNATURE_PATH))
    if kid is not None and bundle.manifest is not None:
        uses.append(SignatureUse(MANIFEST_SIGNATURE_PATH, kid, bundle.manifest.created_at))
    for result in results:
        d = result.documents.path
        if result.statement is not None and result.statement_kid is not None:
            uses.append(SignatureUse(f"{d}/{STATEMENT_NAME}", result.statement_kid,
                                     result.statement.received_at))
        token = _text(bundle, f"{d}/{RECEIPT_NAME}")
        if token and (kid := claimed_kid(token)) is not None:
            try:
                issued = parse_strict_json(jws_payload(token), max_bytes=4096)["issued_at"]
                uses.append(SignatureUse(f"{d}/{RECEIPT_NAME}", kid, str(issued)))
            except (NotaryError, KeyError, TypeError, ValueError):
                pass
        custody = _text(bundle, f"{d}/{CUSTODY_NAME}")
        for n, line in enumerate((custody or "").splitlines(), start=1):
            if (kid := claimed_kid(line)) is None:
                continue
            try:
                event = CustodyEvent.from_bytes(jws_payload(line))
            except (NotaryError, ValueError):
                continue
            uses.append(SignatureUse(f"{d}/{CUSTODY_NAME} event {n}", kid, event.at))
        token = _text(bundle, f"{d}/{DELETION_NAME}")
        if token and (kid := claimed_kid(token)) is not None:
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
        a = anchor_of(bundle, ref.path)
        if a is not None:
            out[AnchorQuery(a.chain_id, a.contract.lower(), a.root)] = ChainObservation(
                node=chain.node, error=chain.error)
    return out


def _date_items(checks: Sequence[Check], results: Sequence[ItemResult],
                extras: Sequence[Sequence[tuple[Check, int, Any, bool]]],
                item_facts: Sequence[dict[str, Any]]) -> None:
    """Each item's attestations (the primary anchor, the RFC 3161 token, the second anchors)
    with whether each held, and the earliest valid one, which dates the item: the facts'
    ``attestations`` and ``dated_by`` (docs/bundle-format.md §4.3)."""
    status = {c.name: c.status for c in checks}
    for i, result in enumerate(results):
        p = f"items[{i}]"
        attested = []
        anchor = result.documents.anchor
        if anchor is not None:
            ok = (status.get(f"{p}.anchor_record") is _PASS
                  and all(status.get(f"{p}.{n}") is not _FAIL for n in ("chain_anchor",
                                                                        "issuer")))
            attested.append(Attested("chain", unix_time(anchor.block_timestamp), ok,
                                     f"{p}.anchor_record", anchor.chain_id,
                                     confirmed=status.get(f"{p}.chain_anchor") is _PASS))
        if f"{p}.rfc3161_timestamp" in status:
            attested.append(Attested("rfc3161", item_facts[i].get("rfc3161_time"),
                                     status[f"{p}.rfc3161_timestamp"] is _PASS,
                                     f"{p}.rfc3161_timestamp"))
        for check, chain_id, extra, confirmed in extras[i]:
            attested.append(Attested(
                "extra_chain", unix_time(extra.block_timestamp) if extra is not None else None,
                check.status is _PASS, check.name, chain_id, confirmed=confirmed))
        item_facts[i]["attestations"] = [a.to_json() for a in attested]
        item_facts[i]["dated_by"] = dating(attested)


def _timestamp_chain(root: bytes, timestamps: Mapping[str, TimestampReading],
                     ) -> list[dict[str, str | None]]:
    """The root's token and its renewals as read (path, TSA, genTime, certificate expiry),
    for the verdict's facts: the renewal chain the ``rfc3161_timestamp`` check judged."""
    out: list[dict[str, str | None]] = []
    for n in range(MAX_RENEWALS + 1):
        path = token_path(root) if n == 0 else renewal_path(root, n)
        link = timestamps.get(path)
        if link is None:
            break
        out.append({"path": path, "tsa": link.tsa,
                    "gen_time": format_rfc3339_utc(link.gen_time) if link.gen_time else None,
                    "expires": format_rfc3339_utc(link.expires) if link.expires else None})
    return out


#: One item's outcome: its checks and results, and its second anchors' checks (attest.py).
ItemOutcome = tuple[ItemResult, list[tuple[Check, int, AnchorFacts | None, bool]]]


@dataclass(frozen=True)
class ItemChecks:
    """Everything the checks of one item read (step 4 of :func:`verify_bundle`). Each item is
    verified on its own, so a caller may run ranges of items elsewhere (another process:
    :mod:`notary.bundles.parallel`) and hand the outcomes back in order."""

    bundle: Bundle
    key_set: Mapping[str, Any]
    periods: Mapping[str, KeyPeriod]
    observed: Mapping[AnchorQuery, ChainObservation] | None
    timestamps: Mapping[str, TimestampReading] | None
    stamped: bool
    slices: Mapping[str, Sequence[FileDigest | None]] | None
    trust_root: VerifiedTrustRoot | None
    extra_chains: Mapping[int, ChainReading] | None
    extra_questions: Mapping[int, ChainQuestions] | None

    def run(self, start: int, stop: int) -> list[ItemOutcome]:
        """The outcomes of items ``start`` to ``stop - 1``, in order."""
        out = []
        for i in range(start, stop):
            ref = self.bundle.items[i]
            result = verify_item(i, ref, self.bundle, self.key_set, self.periods,
                                 self.observed, self.timestamps, self.stamped, self.slices)
            # Step 4d: the item's second anchors (issue 19), each against its receipt and pin.
            extra = extra_anchor_checks(i, self.bundle, ref.path, result.documents.root,
                                        self.trust_root, self.extra_chains,
                                        self.extra_questions)
            out.append((result, extra))
        return out


#: Runs every item of an :class:`ItemChecks` and returns the outcomes in item order.
ItemMap = Callable[[ItemChecks], list[ItemOutcome]]


def verify_bundle(
    bundle: Bundle,
    *,
    observations: Mapping[AnchorQuery, ChainObservation] | None = None,
    timestamps: Mapping[str, TimestampReading] | None = None,
    trust_root: VerifiedTrustRoot | None = None,
    chain: ChainReading | None = None,
    slices: Mapping[str, Sequence[FileDigest | None]] | None = None,
    extra_chains: Mapping[int, ChainReading] | None = None,
    map_items: ItemMap | None = None,
) -> BundleVerification:
    """Verify every claim of a bundle; return the checks, the five answers and the facts.

    ``trust_root``: the pinned trust root (None: not pinned; the result is then never
    ``valid``). ``chain``: what a chain node answered to :func:`bundle_questions` (None when no
    node was asked: the chain checks are skipped, and the time and issuer questions are
    unknown). ``slices``: the digests of the originals' byte ranges that
    :func:`~notary.core.bundle.recording.recording_ranges` names (each segment of a recording
    notarised while made; without them its segments' bytes are not checked). ``observations``
    is the older form of the anchors' answers alone, used when
    ``chain`` is None. ``timestamps`` are the readings of the bundle's RFC 3161 tokens by path.
    ``extra_chains``: what a node of each second chain answered to
    :func:`~notary.core.bundle.attest.extra_chain_questions`, by chain id (none: the second
    anchors are checked against their receipts and pins only). ``map_items``: how the items'
    own checks are run (:class:`ItemChecks`; default: here, one after the other); whatever
    runs them, the outcomes come back in item order and the verdict is the same.

    Checks, in order: ``keys`` (with a trust root: every key of the bundle is one of its keys),
    ``manifest``, ``manifest_signature``, per item ``items[i].statement_signature``,
    ``receipt_signature``, ``key_validity``, ``file_hash``, ``merkle_proof``, ``anchor_record``,
    ``chain_anchor``, ``custody``, ``rfc3161_timestamp`` (only when the bundle carries RFC 3161
    timestamps), ``deletion`` (shredded items), ``recording`` (items notarised while
    recorded), then ``case_sequence``, the certification's
    checks when there is one, ``conduct`` when it carries a conduct report, and with a
    trust root ``issuer.trust_root``, ``issuer.keys``,
    ``issuer.chain`` and ``items[i].issuer`` (:func:`notary.core.pinning.issuer_checks`).
    """
    docs = bundle.contents.documents
    observed = _observations(chain, observations, bundle)

    # Step 1: the keys: the trust root's when one is pinned, else the bundle's own.
    if trust_root is not None:
        keys, key_set, periods = _pinned_keys(bundle, trust_root)
    else:
        keys, key_set, periods = keys_check(docs.get(KEYS_PATH))
    checks = [keys]
    # Step 2: every file of the archive is in the manifest with its SHA-256, and vice versa.
    checks.append(manifest_check(bundle))
    # Step 3: the manifest is signed by one of those keys, valid when the bundle was made.
    checks.append(manifest_signature_check(bundle, key_set, periods))
    decisive = {"keys", "manifest", "manifest_signature"}
    if not bundle.items:
        checks.append(Check("items", _FAIL, "The bundle holds no items."))
    # Step 4: each item on its own (in order; ``map_items`` may spread them over processes).
    job = ItemChecks(
        bundle, key_set, periods, observed, timestamps,
        any(is_timestamp_document(p) for p in bundle.contents.digests), slices, trust_root,
        extra_chains, extra_chain_questions(bundle, trust_root) if extra_chains else None)
    outcomes = map_items(job) if map_items is not None else job.run(0, len(bundle.items))
    if len(outcomes) != len(bundle.items):  # pragma: no cover - a broken map_items
        raise RuntimeError("map_items lost or added items")
    results: list[ItemResult] = []
    extras: list[list[tuple[Check, int, Any, bool]]] = []
    item_facts = []
    for i, (result, extra) in enumerate(outcomes):
        results.append(result)
        checks.extend(result.checks)
        extras.append(extra)
        checks.extend(c for c, _, _, _ in extra)
        facts_i = result.facts
        anchor = result.documents.anchor
        reading = (timestamps or {}).get(token_path(anchor.root)) if anchor is not None else None
        stamp_ok = any(c.name == f"items[{i}].rfc3161_timestamp" and c.status is _PASS
                       for c in result.checks)
        if stamp_ok and reading is not None and reading.gen_time is not None:
            # The root is dated at the first token's genTime, however often it was renewed.
            facts_i["rfc3161_time"] = format_rfc3339_utc(reading.gen_time)
        if anchor is not None and reading is not None:
            facts_i["rfc3161_chain"] = _timestamp_chain(anchor.root, timestamps or {})
        item_facts.append(facts_i)
        decisive |= {f"items[{i}].{n}" for n in ("statement_signature", "receipt_signature",
                                                 "key_validity", "merkle_proof",
                                                 "anchor_record")}
    statements = [r.statement for r in results]
    # Step 5: the case's entries follow each other without gaps, linked by digest.
    if bundle.items:
        checks.append(case_sequence_check(bundle, statements))
    # Step 6: a court certification, when the bundle carries one.
    if any(p.startswith(f"{CERTIFICATION_DIR}/") for p in bundle.contents.digests):
        checks.extend(check_declaration(
            docs, bundle.contents.digests.keys(), items=declared_items(results),
            bundle=bundle_summary(bundle)))
        decisive.add("certification")
    # Step 7: a conduct report, when the bundle carries one: derived again from the statements.
    conduct = conduct_check(bundle, key_set, periods, [
        (r.documents.path, r.statement, all(
            c.status is _PASS for c in r.checks
            if c.name in (f"items[{i}].merkle_proof", f"items[{i}].anchor_record")))
        for i, r in enumerate(results)])
    if conduct is not None:
        checks.append(conduct[0])
        decisive.add(CONDUCT_CHECK)
    # Step 8: with a trust root, the issuer: keys, chain, registry, senders, registrations.
    if trust_root is not None:
        checks = [_relabel(c, trust_root.fingerprint) for c in checks]
        pins = [ItemPin(i, r.documents.path, r.documents.anchor, r.statement_kid)
                for i, r in enumerate(results)]
        checks.extend(issuer_checks(trust_root, chain, _signature_uses(bundle, results),
                                    pins))
    # Step 9: the transparency log's part: its checkpoint by the pinned log key, every
    # statement and custody event in it, the witnesses' cosignatures (the neutrality answer).
    log, log_facts = log_checks(
        bundle.contents.documents,
        [(r.documents.path, r.documents.statement_token, r.documents.custody_tokens or ())
         for r in results],
        trust_root.root.log if trust_root is not None else None,
        trust_root.fingerprint if trust_root is not None else None)
    checks.extend(log)
    _date_items(checks, results, extras, item_facts)
    manifest = bundle.manifest
    facts: dict[str, Any] = {
        "bundle_version": bundle.version,
        "media_type": READABLE[bundle.version],
        "items": item_facts,
    }
    if manifest is not None:
        facts.update({"scope": manifest.scope, "case_id": manifest.case_id,
                      "created_at": manifest.created_at, "hashes_only": manifest.hashes_only})
    # A node was asked and answered (one that could not be asked checked nothing).
    facts["chain_checked"] = chain.error is None if chain is not None else observed is not None
    if extra_chains:
        facts["extra_chain_nodes"] = {str(k): r.node for k, r in sorted(extra_chains.items())}
    if chain is not None:
        facts["chain_node"] = chain.node
        if chain.error is not None:
            facts["chain_error"] = chain.error
    if conduct is not None:
        facts["conduct"] = conduct[1]
    if log_facts is not None:
        facts["log"] = log_facts
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

