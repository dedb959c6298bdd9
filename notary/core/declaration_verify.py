"""Checking a bundle's declaration (wire name ``certification/``, docs/bundle-format.md §5.1):
the check ``certification`` (the document reads, restates the bundle's verified items exactly,
and its two texts are the files beside it) and ``certification_signature`` (the qualified
person's detached signature, when there is one).

CONSENSUS-CRITICAL, like :mod:`notary.core.declaration`, whose format it checks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from .declaration import (
    CERTIFICATION_DIR,
    CERTIFICATION_EN_PATH,
    CERTIFICATION_MEDIA_TYPE,
    CERTIFICATION_PATH,
    CERTIFICATION_PDF_PATH,
    CERTIFICATION_SIGNATURE_PATH,
    CERTIFICATION_ZH_PATH,
    BundleSummary,
    DeclaredItem,
    full_stop,
    read_declaration,
)
from .errors import NotaryError
from .signing import verify_detached_jws
from .validate import validate_rfc3339
from .verdict import Check, CheckStatus

__all__ = ["check_declaration"]

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP


def _differences(stated: Any, expected: Mapping[str, Any], where: str) -> list[str]:
    if not isinstance(stated, dict):
        return [f"{where} is not an object"]
    out = []
    for name in sorted(set(stated) | set(expected)):
        if stated.get(name) != expected.get(name):
            out.append(f"{where}.{name} is {stated.get(name)!r}, the bundle says "
                       f"{expected.get(name)!r}")
    return out


def _facts_check(doc: dict[str, Any], documents: Mapping[str, bytes],
                 names: Collection[str], items: Sequence[DeclaredItem] | None,
                 bundle: BundleSummary | None) -> Check:
    """The check ``certification``: the facts are those of the bundle's verified items, and
    the two declarations are the texts the document carries and name every record."""
    problems: list[str] = []
    for path, language in ((CERTIFICATION_EN_PATH, "en"), (CERTIFICATION_ZH_PATH, "zh")):
        text = doc["declarations"][language]
        if path not in names:
            problems.append(f"{path} is missing")
        elif documents.get(path) != text.encode("utf-8"):
            problems.append(f"{path} is not the declaration ({language}) that "
                            f"{CERTIFICATION_PATH} carries")
        for item in doc["items"]:
            digest = item.get("sha256") if isinstance(item, dict) else None
            if not isinstance(digest, str) or digest not in text:
                problems.append(f"the {language} declaration does not name the record "
                                f"{digest!r}")
    if CERTIFICATION_PDF_PATH not in names:
        problems.append(f"{CERTIFICATION_PDF_PATH} is missing")
    if bundle is None or items is None:
        if problems:
            return Check("certification", _FAIL, "The certification is not consistent: "
                         + "; ".join(problems) + ".")
        return Check("certification", _SKIP, "The certification's facts could not be compared "
                     "with the bundle, because the manifest or a statement did not verify "
                     "(see above).")
    problems += _differences(doc["bundle"], bundle.to_json(), "bundle")
    stated_items = doc["items"]
    if len(stated_items) != len(items):
        problems.append(f"it lists {len(stated_items)} record(s), the bundle holds {len(items)}")
    for i, (stated, item) in enumerate(zip(stated_items, items, strict=False)):
        problems += _differences(stated, item.to_json(), f"items[{i}]")
    if problems:
        return Check("certification", _FAIL,
                     f"{CERTIFICATION_PATH} does not restate this bundle: "
                     + "; ".join(problems[:10]) + ".")
    p = doc["qualified_person"]
    return Check("certification", _PASS,
                 f"{CERTIFICATION_PATH} restates the bundle exactly: its {len(items)} record(s) "
                 "(evidence ids, file names, sizes, SHA-256 hash values, receipt times, "
                 "statement digests, anchors, custody event counts) are those of the verified "
                 f"items, and {CERTIFICATION_EN_PATH} and {CERTIFICATION_ZH_PATH} are the "
                 f"declarations it carries, for {p['name']}, {p['title']}, "
                 f"{full_stop(p['organisation'])}")


def _signature_check(doc: dict[str, Any], data: bytes, token: bytes | None) -> Check:
    """The check ``certification_signature``: the qualified person's detached JWS, if there is
    one, by the key the declaration names."""
    person = doc["qualified_person"]
    if token is None:
        if "public_key" not in person:
            return Check("certification_signature", _SKIP,
                         f"{CERTIFICATION_PATH} is not signed by the qualified person: it names "
                         f"no key of {person['name']}, so it is to be printed "
                         f"({CERTIFICATION_PDF_PATH}) and signed by hand.")
        return Check("certification_signature", _SKIP,
                     f"{CERTIFICATION_PATH} is not signed by the qualified person (sign with "
                     f"notary certify sign): {person['name']} may sign it with the key "
                     f"{person['key_thumbprint']} it names.")
    if "public_key" not in person:
        return Check("certification_signature", _FAIL,
                     f"{CERTIFICATION_SIGNATURE_PATH} is there, but the certification names no "
                     "key of the qualified person to check it with.")
    try:
        header = verify_detached_jws(token.decode("ascii", "replace"), data,
                                     {"keys": [person["public_key"]]},
                                     expected_typ=CERTIFICATION_MEDIA_TYPE)
        signed_at = header.get("signed_at")
        validate_rfc3339("signed_at", signed_at, require_utc=True)
    except NotaryError as exc:
        return Check("certification_signature", _FAIL,
                     f"{CERTIFICATION_SIGNATURE_PATH} is not a valid signature of "
                     f"{CERTIFICATION_PATH} by {person['name']}'s key {person['key_thumbprint']}"
                     f" named in it. {exc.message}")
    return Check("certification_signature", _PASS,
                 f"{CERTIFICATION_PATH} is signed by the qualified person, {person['name']}, with "
                 f"the key {person['key_thumbprint']} it names: {CERTIFICATION_SIGNATURE_PATH} is "
                 f"a valid detached Ed25519 JWS of its exact bytes, made at {signed_at} by the "
                 "signer's clock (added after the bundle was made, so outside the manifest).")


def check_declaration(
    documents: Mapping[str, bytes],
    names: Collection[str],
    *,
    items: Sequence[DeclaredItem] | None,
    bundle: BundleSummary | None,
) -> list[Check]:
    """The checks of a bundle's declaration: ``certification`` (the document reads, its
    facts are those of ``items`` and ``bundle``, and both declarations are the texts it
    carries) and ``certification_signature`` (the qualified person's detached signature,
    skipped when there is none). ``documents`` are the bundle's read documents, ``names``
    all its member paths; ``items`` are the bundle's items as verified (None when some did
    not verify), ``bundle`` what its manifest says (None when unusable)."""
    data = documents.get(CERTIFICATION_PATH)
    token = documents.get(CERTIFICATION_SIGNATURE_PATH)
    if data is None:
        return [Check("certification", _FAIL,
                      f"The bundle has files under {CERTIFICATION_DIR}/ but no "
                      f"{CERTIFICATION_PATH}."),
                Check("certification_signature", _FAIL if token else _SKIP,
                      f"There is no {CERTIFICATION_PATH} to be signed.")]
    try:
        doc = read_declaration(data)
    except NotaryError as exc:
        return [Check("certification", _FAIL,
                      f"{CERTIFICATION_PATH} is not a valid certification v1. {exc.message}"),
                Check("certification_signature", _FAIL if token else _SKIP,
                      f"Not checked, because {CERTIFICATION_PATH} is unreadable.")]
    return [_facts_check(doc, documents, names, items, bundle),
            _signature_check(doc, data, token)]
