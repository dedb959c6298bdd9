"""The checks of a bundle as a whole (docs/bundle-format.md §6 steps 1-3 and 5): its keys,
its manifest against its files, the manifest's signature, and the case sequence; and the
items as a declaration states them.

CONSENSUS-CRITICAL and pure. The items' own checks are in :mod:`notary.core.bundle.item`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..declaration import BundleSummary, DeclaredItem
from ..errors import NotaryError
from ..jws import verify_jws
from ..keyhistory import KeyPeriod, parse_key_history
from ..statement import Statement
from ..verdict import Check, CheckStatus
from .item import ItemResult
from .layout import (
    KEYS_PATH,
    MANIFEST_MEDIA_TYPE,
    MANIFEST_PATH,
    MANIFEST_SIGNATURE_PATH,
    MAX_MANIFEST_SIGNATURE_BYTES,
    MIMETYPE_PATH,
    UNLISTED,
    item_dir,
)
from .read import Bundle

__all__ = [
    "bundle_summary",
    "case_sequence_check",
    "declared_items",
    "keys_check",
    "manifest_check",
    "manifest_signature_check",
]

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP


def keys_check(raw: bytes | None) -> tuple[Check, dict[str, Any], dict[str, KeyPeriod]]:
    """``keys``: the bundle's key history; with it, the key set and the periods to check the
    signatures with."""
    if raw is None:
        return Check("keys", _FAIL, f"The bundle has no {KEYS_PATH}."), {"keys": []}, {}
    try:
        key_set, periods = parse_key_history(raw)
    except NotaryError as exc:
        return (Check("keys", _FAIL, f"{KEYS_PATH} is not a valid key history. {exc.message}"),
                {"keys": []}, {})
    described = "; ".join(f"{p.kid}, {p.describe()}" for p in periods.values())
    return (Check("keys", _PASS,
                  f"{KEYS_PATH} holds {len(periods)} Ed25519 public key(s), each named by its "
                  f"RFC 7638 thumbprint and with its validity period: {described}. They are the "
                  "keys the bundle claims; compare the key ids with the notary's published "
                  "keys."), key_set, periods)


def manifest_check(bundle: Bundle) -> Check:
    """``manifest``: every file of the archive is listed with its SHA-256 and size, and
    nothing else."""
    manifest = bundle.manifest
    if manifest is None:
        return Check("manifest", _FAIL, bundle.manifest_problem or "The manifest is unusable.")
    actual = {p: d for p, d in bundle.contents.digests.items()
              if p not in UNLISTED}
    problems = []
    missing = sorted(set(manifest.files) - set(actual))
    extra = sorted(set(actual) - set(manifest.files))
    if missing:
        problems.append("listed but missing: " + ", ".join(missing[:10]))
    if extra:
        problems.append("present but not listed: " + ", ".join(extra[:10]))
    for path in sorted(set(manifest.files) & set(actual)):
        want, got = manifest.files[path], actual[path]
        if want != got:
            problems.append(f"{path} has SHA-256 {got.hex} and {got.size} bytes, the manifest "
                            f"says {want.hex} and {want.size} bytes")
    if MIMETYPE_PATH not in manifest.files:
        problems.append(f"{MIMETYPE_PATH} is not listed")
    if KEYS_PATH not in manifest.files:
        problems.append(f"{KEYS_PATH} is not listed")
    if problems:
        return Check("manifest", _FAIL,
                     f"The files of the bundle do not match {MANIFEST_PATH}: "
                     + "; ".join(problems) + ".")
    return Check("manifest", _PASS,
                 f"Every one of the {len(actual)} files of the bundle is listed in "
                 f"{MANIFEST_PATH} with its SHA-256 and size, and nothing else is in the bundle.")


def manifest_signature_check(
    bundle: Bundle, key_set: Mapping[str, Any], periods: Mapping[str, KeyPeriod]
) -> Check:
    """``manifest_signature``: the manifest's exact bytes are signed by a key valid when the
    bundle was made."""
    raw = bundle.contents.documents.get(MANIFEST_PATH)
    token = bundle.contents.documents.get(MANIFEST_SIGNATURE_PATH)
    if token is None:
        return Check("manifest_signature", _FAIL, f"The bundle has no {MANIFEST_SIGNATURE_PATH}.")
    if raw is None:
        return Check("manifest_signature", _FAIL,
                     f"{MANIFEST_SIGNATURE_PATH} has no {MANIFEST_PATH} to sign.")
    try:
        header, payload = verify_jws(token.decode("ascii", "replace"), key_set,
                                     expected_typ=MANIFEST_MEDIA_TYPE,
                                     **({"max_bytes": MAX_MANIFEST_SIGNATURE_BYTES}
                                        if bundle.version >= 3 else {}))
    except NotaryError as exc:
        return Check("manifest_signature", _FAIL,
                     f"{MANIFEST_SIGNATURE_PATH} is not validly signed by a key of {KEYS_PATH}. "
                     f"{exc.message}")
    if payload != raw:
        return Check("manifest_signature", _FAIL,
                     f"{MANIFEST_SIGNATURE_PATH} is a valid signature, but of other bytes than "
                     f"{MANIFEST_PATH}: the manifest was changed after it was signed.")
    kid = str(header["kid"])
    period = periods.get(kid)
    if bundle.manifest is None:
        return Check("manifest_signature", _SKIP,
                     f"{MANIFEST_SIGNATURE_PATH} is a valid signature of {MANIFEST_PATH} by key "
                     f"{kid}, but the manifest is unusable, so its creation time is unknown.")
    created = bundle.manifest.created_at
    try:
        covered = period is not None and period.covers(created)
    except NotaryError:
        covered = False
    if not covered:
        return Check("manifest_signature", _FAIL,
                     f"{MANIFEST_SIGNATURE_PATH} is signed by key {kid}, which was not valid at "
                     f"the bundle's creation time {created}.")
    return Check("manifest_signature", _PASS,
                 f"{MANIFEST_PATH} is signed, as {MANIFEST_SIGNATURE_PATH}, by key {kid} of "
                 f"{KEYS_PATH}, valid when the bundle was created ({created}).")


def case_sequence_check(bundle: Bundle, statements: Sequence[Statement | None]) -> Check:
    """``case_sequence``: the items are the case's entries in order, each linked to the one
    before by its statement's digest (partial for an evidence bundle)."""
    manifest = bundle.manifest
    refs = bundle.items
    # Every item must hold the entry its manifest line names.
    for i, (ref, statement) in enumerate(zip(refs, statements, strict=True)):
        if statement is None:
            continue
        if ref.path != item_dir(statement.case_seq) or (
            ref.evidence_id is not None and ref.evidence_id != statement.evidence_id
        ):
            return Check("case_sequence", _FAIL,
                         f"items[{i}] ({ref.path}) should hold entry {ref.case_seq} "
                         f"({ref.evidence_id}) of the case, but its statement is entry "
                         f"{statement.case_seq} ({statement.evidence_id}): the items are out of "
                         "order or were swapped.")
        if manifest is not None and statement.case_id != manifest.case_id:
            return Check("case_sequence", _FAIL,
                         f"items[{i}] belongs to case {statement.case_id!r}, not to the "
                         f"bundle's case {manifest.case_id!r}.")
    unverified = [i for i, s in enumerate(statements) if s is None]
    if unverified:
        return Check("case_sequence", _SKIP,
                     "The case sequence could not be checked, because the statement of "
                     + ", ".join(f"items[{i}]" for i in unverified) + " did not verify.")
    verified = [s for s in statements if s is not None]
    if manifest is None:
        return Check("case_sequence", _SKIP,
                     "The case sequence was not checked, because the manifest (which says "
                     "whether this is a whole case) is unusable.")
    if manifest.scope == "evidence":
        s = verified[0]
        link = (f"links to the previous entry by prev_statement {s.prev_statement}"
                if s.prev_statement else "is the first of its case")
        return Check("case_sequence", _SKIP,
                     f"This bundle holds one entry ({s.case_seq}) of case {s.case_id!r}, which "
                     f"{link}; the rest of the sequence can only be checked with a bundle of "
                     "the whole case (partial check).")
    for k, s in enumerate(verified):
        if s.case_seq != k + 1:
            return Check("case_sequence", _FAIL,
                         f"The case's entries are not 1 to {len(verified)} without gaps: "
                         f"items[{k}] is entry {s.case_seq}, expected {k + 1}.")
        if k > 0 and s.prev_statement != verified[k - 1].digest_hex():
            return Check("case_sequence", _FAIL,
                         f"Entry {s.case_seq} does not link to entry {k}: its prev_statement is "
                         f"{s.prev_statement}, but entry {k}'s statement digest is "
                         f"{verified[k - 1].digest_hex()}.")
    return Check("case_sequence", _PASS,
                 f"The {len(verified)} entries of case {manifest.case_id!r} (all of them when the "
                 f"bundle was made, {manifest.created_at}) are numbered 1 to {len(verified)} "
                 "without gaps, and each links to the one before by the SHA-256 of its "
                 "statement.")


def bundle_summary(bundle: Bundle) -> BundleSummary | None:
    """The bundle as a declaration summarises it (None when the manifest is unusable)."""
    m = bundle.manifest
    return None if m is None else BundleSummary(m.scope, m.case_id, m.created_at, m.hashes_only)


def declared_items(results: Sequence[ItemResult]) -> list[DeclaredItem] | None:
    """The items as a declaration states them, from what verified (None when a statement
    or an anchor record is unusable: the declaration cannot be compared then)."""
    out = []
    for result in results:
        item = result.documents
        if result.statement is None or result.statement_kid is None or item.anchor is None:
            return None
        out.append(DeclaredItem(
            statement=result.statement, statement_kid=result.statement_kid, anchor=item.anchor,
            custody_events=len(item.custody_tokens or ()), path=item.path,
            original=item.original))
    return out
