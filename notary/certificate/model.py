"""What a certificate says, built from facts by pure functions; the renderers only lay it out.

A certificate (存证证书) restates, for a court, one notarised item: the file (by SHA-256), the
signed statement about it, and where and when its Merkle root was anchored on chain, plus the
checks that were made when the certificate was issued. It is a reading aid, not the proof: the
proof is the signed statement, the Merkle proof and the chain, and every value needed to check
them is printed on the certificate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import notary.core.errors as kinds
from notary.core.errors import NotaryError
from notary.core.merkle import to_hex32
from notary.core.statement import Statement
from notary.core.validate import format_rfc3339_utc
from notary.core.verdict import AnchorFacts, Check, CheckStatus
from notary.core.verify import verify_evidence

from .calls import call_section
from .identity import Deployment, identity_lines, notices
from .rows import Row, Section
from .wording import CASE_TITLE, CHECK_WORDS, KIND_NAMES, STATUS_WORDS, TITLE, Bilingual, chain_name

__all__ = [
    "CaseCertificate",
    "CertificateError",
    "CertificateFacts",
    "CheckLine",
    "Deployment",
    "ItemCertificate",
    "Row",
    "Section",
    "case_certificate",
    "item_certificate",
    "verification_url",
]

BEIJING = timezone(timedelta(hours=8))


class CertificateError(NotaryError):
    """A certificate cannot be issued. Codes: ``certificate_refused`` (a check failed, so
    there is nothing to certify), ``certificate_font_missing`` (no CJK font to embed),
    ``explorer_url_invalid`` (the transaction link template is not an http(s) URL with
    ``{tx}``)."""

    kind = kinds.UNAVAILABLE

    default_code = "certificate_refused"


#: What a case certificate without item pages (a v3 case bundle's) says instead of them.
LISTING_NOTE = ("每件证据的签名声明、收据、默克尔证明和锚定记录在本证据包的 items/ 目录中，可用 "
                "notary verify 逐项核验；单件证书可向服务索取。 / Each item's signed statement, "
                "receipt, Merkle proof and anchor record are in this bundle's items/ folder and "
                "are checked one by one by notary verify; an item's own certificate can be "
                "obtained from the service.")


@dataclass(frozen=True)
class CertificateFacts:
    """Everything one item's certificate states, as verified when it was issued.

    Build it with :meth:`verified`, which makes the checks; the fields are then facts, not
    claims.
    """

    statement: Statement
    signing_kid: str
    anchor: AnchorFacts
    proof_steps: int
    checks: tuple[Check, ...]
    checked_at: datetime

    @classmethod
    def verified(
        cls,
        *,
        statement_jws: str,
        jwks: Mapping[str, Any],
        proof: Sequence[bytes],
        anchor: AnchorFacts,
        observed_anchor: AnchorFacts | None,
        checked_at: datetime,
    ) -> CertificateFacts:
        """Verify the statement, its Merkle proof and its anchor, and keep the results.

        ``anchor`` is the anchor as recorded by the service (or carried by a bundle);
        ``observed_anchor`` is the same anchor as read from the chain by the caller, or None
        if the chain could not be asked (then ``chain_anchor`` is shown as not checked).
        Raises :class:`CertificateError` (``certificate_refused``) if any check fails: a
        certificate is never issued for evidence that does not verify.
        """
        verdict = verify_evidence(
            statement_jws=statement_jws, jwks=jwks, file_digest=None, proof=proof,
            root=anchor.root, claimed_anchor=anchor, observed_anchor=observed_anchor,
        )
        if verdict.failed:
            raise CertificateError(
                "The evidence does not verify, so no certificate is issued: "
                + " ".join(c.reason for c in verdict.failed),
                failed=[c.name for c in verdict.failed],
            )
        # verify_evidence hands back what it verified: the statement is not verified again.
        if verdict.statement is None or verdict.statement_kid is None:
            raise CertificateError("The statement's signature was not verified, so no "
                                   "certificate is issued.", failed=["statement_signature"])
        return cls(
            statement=verdict.statement, signing_kid=verdict.statement_kid,
            anchor=anchor, proof_steps=len(proof), checks=tuple(verdict.checks),
            checked_at=checked_at.astimezone(UTC),
        )


@dataclass(frozen=True)
class CheckLine:
    """One check in plain words. ``status`` is ``pass``, ``fail``, ``skip``, or ``holder``
    (the file comparison, which only the holder of the file can make)."""

    name: str
    status: str
    words: Bilingual
    status_words: Bilingual
    reason: str | None


@dataclass(frozen=True)
class ItemCertificate:
    """The certificate of one item, ready to lay out."""

    title: Bilingual
    evidence_id: str
    case_id: str
    case_seq: int
    kind: Bilingual
    file_name: str
    sha256: str
    received_at: str
    block_time: str
    verify_url: str
    issued_at: str
    sections: tuple[Section, ...]
    checks: tuple[CheckLine, ...]
    conclusion: Bilingual
    complete: bool
    #: The first lines: a local development chain, a development deployment (issue 14).
    notices: tuple[Bilingual, ...] = ()
    #: The operator as the trust root names it, and that trust root's fingerprint.
    operator: str | None = None
    fingerprint: str | None = None
    #: What ``evidence_id`` names in the header: an item, or (a conduct report) a case.
    id_label: Bilingual | None = None  # None: EVIDENCE_LABEL


#: The header's label of an item certificate's id.
EVIDENCE_LABEL = Bilingual("证据编号", "Evidence")


@dataclass(frozen=True)
class CaseCertificate:
    """The certificate of a case: a summary of its items, then each item's certificate.
    ``not_included`` counts the case's items left out because they were not anchored yet."""

    title: Bilingual
    case_id: str
    issued_at: str
    items: tuple[ItemCertificate, ...]
    not_included: int
    notices: tuple[Bilingual, ...] = ()
    operator: str | None = None
    fingerprint: str | None = None
    #: The tenants' legal names as the items' statements state them, in case order.
    tenants: tuple[str, ...] = ()
    #: Who submitted (the names the statements state, else the API key), in case order: the
    #: listing without item pages still says who submitted.
    submitters: tuple[str, ...] = ()


def verification_url(verify_url: str, sha256: str) -> str:
    """The public page that checks ``sha256``: ``{verify_url}?sha256={sha256}``."""
    joiner = "&" if "?" in verify_url else "?"
    return f"{verify_url}{joiner}sha256={quote(sha256)}"


def transaction_link(explorer_url: str | None, tx_hash: str) -> str | None:
    """The block explorer's page for ``tx_hash`` from a template such as
    ``https://explorer.example/tx/{tx}``; None without a template. Raises
    :class:`CertificateError` (``explorer_url_invalid``) for a template that is not an
    http(s) URL containing ``{tx}``."""
    if not explorer_url:
        return None
    if urlsplit(explorer_url).scheme not in ("http", "https") or "{tx}" not in explorer_url:
        raise CertificateError(
            "The explorer URL must be an http(s) URL containing '{tx}'.",
            code="explorer_url_invalid",
        )
    return explorer_url.replace("{tx}", quote(tx_hash))


def _utc_text(moment: datetime) -> str:
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, ValueError):  # beyond year 1..9999 once converted
        return moment.isoformat()


def _beijing(moment: datetime) -> str:
    """Beijing time of ``moment``, or "" when it has none that Python can hold (a signed
    ``9999-12-31T23:59:59Z`` is after 9999 in Beijing): a certificate never fails on a
    date it only restates."""
    try:
        return "北京时间 Beijing time " + moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, ValueError):
        return ""


def _beijing_of(text: str) -> str:
    """Beijing time of an RFC 3339 date-time, or "" for one Python cannot represent (a leap
    second ``:60``, or one that leaves years 1..9999 when converted): the value itself is
    always printed as signed."""
    try:
        return _beijing(datetime.fromisoformat(text))
    except (OverflowError, ValueError):
        return ""


def _grouped(n: int) -> str:
    return f"{n:,}"


def _check_lines(checks: Sequence[Check]) -> tuple[CheckLine, ...]:
    lines = []
    for c in checks:
        status = ("holder" if c.name == "file_hash" and c.status is CheckStatus.SKIP
                  else c.status.value)
        words = CHECK_WORDS.get(c.name, Bilingual(c.name, c.name))
        reason = c.reason if status in ("fail", "skip") else None
        lines.append(CheckLine(c.name, status, words, STATUS_WORDS[status], reason))
    return tuple(lines)


def identity_section(statement: Statement, deployment: Deployment | None) -> Section:
    """Who operated, for which tenant, submitted by whom; each row says how it is known."""
    return Section(Bilingual("运营方、租户与提交人", "Operator, tenant and submitter"), tuple(
        Row(line.label, line.value, mono=line.mono, note=f"{line.note.zh} / {line.note.en}")
        for line in identity_lines(statement, deployment)))


def _call_sections(statement: Statement) -> tuple[Section, ...]:
    """The call record's section when the statement carries one (issue 16)."""
    if statement.call is None:
        return ()
    return (call_section(statement.call),)


def _sm3_rows(s: Statement) -> tuple[Row, ...]:
    """The file's SM3 (GB/T 32905) when the statement records one; nothing otherwise."""
    if s.sm3 is None:
        return ()
    return (Row(Bilingual("文件哈希（SM3）", "File SM3"), s.sm3, mono=True,
                note="国密 SM3，GB/T 32905 / openssl dgst -sm3"),)


def _storage_row(s: Statement) -> Row:
    """Where the file is kept, or, for a hash-only deposit, that it never reached us."""
    if s.hash_only:
        return Row(Bilingual("存证方式", "Deposit"),
                   "仅哈希：本服务从未见过该文件，未核验其内容 / hash only: the file was never "
                   "seen by this service, which did not check it",
                   note="SHA-256 与大小均为存证方所述 / SHA-256 and size as the depositor "
                        "stated them")
    return Row(Bilingual("存储地址", "Storage address (CID)"),
               s.content_address or "未记录 / not recorded", mono=bool(s.content_address),
               note="加密存储的文件 / the encrypted stored file" if s.content_address else None)


def item_certificate(
    facts: CertificateFacts, *, verify_url: str, explorer_url: str | None = None,
    deployment: Deployment | None = None,
) -> ItemCertificate:
    """Lay out what ``facts`` certify: sections of labelled rows, checks, a conclusion.

    ``verify_url`` is the public verification page (``.../verify``); the item's own URL adds
    ``?sha256=``. ``explorer_url`` is an optional transaction link template (``{tx}``).
    ``deployment`` is the issuing deployment as its trust root states it (operator, trust-root
    fingerprint); without it the certificate says the operator was not given.
    """
    s, a = facts.statement, facts.anchor
    kind = KIND_NAMES.get(s.kind.value, Bilingual(s.kind.value, s.kind.value))
    block_moment = datetime.fromtimestamp(a.block_timestamp, UTC)
    url = verification_url(verify_url, s.sha256)
    chain = chain_name(a.chain_id)
    captured = Row(Bilingual("采集时间", "Captured at"), s.captured_at or "未声明 / not declared",
                   note=("提交方声明 / as declared by the submitter · "
                         + _beijing_of(s.captured_at)) if s.captured_at else None)
    evidence = Section(Bilingual("证据", "Evidence"), (
        Row(Bilingual("证据编号", "Evidence ID"), s.evidence_id, mono=True),
        Row(Bilingual("案件编号", "Case"), s.case_id,
            note=f"本案第 {s.case_seq} 件 / item {s.case_seq} of the case"),
        Row(Bilingual("证据类型", "Kind"), f"{kind.zh} / {kind.en}"),
        Row(Bilingual("文件名", "File name"), s.file_name),
        Row(Bilingual("文件大小", "Size"), f"{_grouped(s.size)} 字节 / bytes",
            note=f"媒体类型 / media type: {s.media_type}"),
        Row(Bilingual("文件哈希", "File SHA-256"), s.sha256, mono=True),
        *_sm3_rows(s),
        captured,
        Row(Bilingual("接收时间", "Received at"), s.received_at,
            note="notary 服务器时钟 / notary's clock · " + _beijing_of(s.received_at)),
        _storage_row(s),
    ))
    anchor = Section(Bilingual("存证声明与区块链锚定", "Statement and blockchain anchor"), (
        Row(Bilingual("声明摘要", "Statement SHA-256"), s.digest_hex(), mono=True),
        Row(Bilingual("签名密钥", "Signing key (kid)"), facts.signing_kid, mono=True,
            note="Ed25519 · RFC 7638 指纹 / thumbprint"),
        Row(Bilingual("区块链", "Chain"), f"链 ID / chain id {a.chain_id}",
            note=f"{chain.zh} / {chain.en}"),
        Row(Bilingual("合约地址", "Contract"), a.contract, mono=True),
        Row(Bilingual("交易哈希", "Transaction"), a.tx_hash, mono=True,
            link=transaction_link(explorer_url, a.tx_hash)),
        Row(Bilingual("区块", "Block"), f"#{a.block_number}",
            note=f"区块哈希 / block hash {a.block_hash}"),
        Row(Bilingual("区块时间", "Block time"), _utc_text(block_moment),
            note=f"{_beijing(block_moment)} · unix {a.block_timestamp}"),
        Row(Bilingual("默克尔根", "Merkle root"), to_hex32(a.root), mono=True,
            note=f"批次 / batch {a.batch_id} · 证明 {facts.proof_steps} 步 / "
                 f"proof of {facts.proof_steps} step(s)"),
    ))
    checks = _check_lines(facts.checks)
    chain_checked = all(c.status == "pass" for c in checks if c.name != "file_hash")
    conclusion = Bilingual(
        f"结论：SHA-256 为上列数值的文件，最迟于区块时间 {_utc_text(block_moment)} 已经存在；"
        f"其存证声明自 notary 于 {s.received_at} 接收以来未被改动。",
        f"Conclusion: the file with the SHA-256 above existed no later than the block time "
        f"{_utc_text(block_moment)}; its statement has not been altered since notary received "
        f"it at {s.received_at}.",
    )
    if s.hash_only:
        conclusion = Bilingual(
            f"结论：存证方提交的 SHA-256（上列数值）最迟于区块时间 {_utc_text(block_moment)} "
            f"已经存在；本服务从未见过该文件，未核验其内容。其存证声明自 notary 于 "
            f"{s.received_at} 接收以来未被改动。",
            f"Conclusion: the SHA-256 above, as the depositor sent it, existed no later than the "
            f"block time {_utc_text(block_moment)}; the file was never seen by this service, "
            f"which did not check it. The statement has not been altered since notary received "
            f"it at {s.received_at}.",
        )
    if not chain_checked:
        conclusion = Bilingual(
            conclusion.zh + "（注意：部分核验未能完成，见上。）",
            conclusion.en + " (Note: some checks could not be made; see above.)",
        )
    return ItemCertificate(
        title=TITLE, evidence_id=s.evidence_id, case_id=s.case_id, case_seq=s.case_seq,
        kind=kind, file_name=s.file_name, sha256=s.sha256, received_at=s.received_at,
        block_time=_utc_text(block_moment), verify_url=url,
        issued_at=format_rfc3339_utc(facts.checked_at),
        sections=(identity_section(s, deployment), evidence, *_call_sections(s), anchor),
        checks=checks, conclusion=conclusion, complete=chain_checked,
        notices=notices(a.chain_id, deployment),
        operator=deployment.operator_name if deployment else None,
        fingerprint=deployment.trust_root_fingerprint if deployment else None,
    )


def case_certificate(
    items: Sequence[CertificateFacts], *, case_id: str, verify_url: str,
    explorer_url: str | None = None, not_included: int = 0,
    deployment: Deployment | None = None,
) -> CaseCertificate:
    """The case's certificate: its items in case order (``case_seq``). Raises
    :class:`CertificateError` if an item belongs to another case or there is none."""
    if not items:
        raise CertificateError(f"Case {case_id!r} has no anchored evidence to certify.",
                               code="certificate_empty", case_id=case_id)
    strangers = [f.statement.evidence_id for f in items if f.statement.case_id != case_id]
    if strangers:
        raise CertificateError(f"Evidence {strangers[0]!r} is not in case {case_id!r}.",
                               code="certificate_case_mismatch", case_id=case_id)
    ordered = sorted(items, key=lambda f: f.statement.case_seq)
    issued = max(f.checked_at for f in ordered)
    certs = tuple(item_certificate(f, verify_url=verify_url, explorer_url=explorer_url,
                                   deployment=deployment) for f in ordered)
    first_lines: list[Bilingual] = []
    for cert in certs:
        first_lines += [n for n in cert.notices if n not in first_lines]
    tenants = tuple(dict.fromkeys(f.statement.tenant_name for f in ordered
                                  if f.statement.tenant_name))
    submitters = tuple(dict.fromkeys(
        f"{f.statement.submitter_name} ({f.statement.submitter})" if f.statement.submitter_name
        else f.statement.submitter for f in ordered))
    return CaseCertificate(
        title=CASE_TITLE, case_id=case_id, issued_at=format_rfc3339_utc(issued),
        items=certs, not_included=not_included, notices=tuple(first_lines),
        operator=deployment.operator_name if deployment else None,
        fingerprint=deployment.trust_root_fingerprint if deployment else None,
        tenants=tenants, submitters=submitters,
    )
