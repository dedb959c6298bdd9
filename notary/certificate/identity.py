"""Who notarised, for whom, submitted by whom: the identity lines of a certificate (issue 14).

Three different kinds of fact, printed so that a reader can tell them apart:

* the **operator** (legal name, registration number, country) and the **trust-root
  fingerprint** come from the deployment's signed trust root (docs/formats.md §12). The
  fingerprint is what makes them checkable: a reader compares it with the one the operator
  filed with the court; a bundle verified against that trust root (``notary verify
  --trust-root``) was signed with its keys and anchored in its registry.
* the **tenant's legal name** and the **submitter's name** come from the signed statement
  (``tenant_name``, ``submitter_name``): what the tenant told the deployment when it was
  registered and when it named its API key. They are claims (声明), recorded and signed, not
  identities notary verified.
* a **local development chain** is said in the first lines: nobody but the operator can read
  it, so its block times prove nothing to anyone else.

Pure: built from the trust root and the statement, no chain or database.
"""

from __future__ import annotations

from dataclasses import dataclass

from notary.core.statement import Statement
from notary.core.trustroot import VerifiedTrustRoot

from .wording import Bilingual

__all__ = [
    "CLAIM_NOTE",
    "DEV_CHAIN_IDS",
    "DEV_CHAIN_NOTICE",
    "DEV_CHAIN_PAGE_NOTICE",
    "DEV_DEPLOYMENT_NOTICE",
    "FINGERPRINT_NOTE",
    "Deployment",
    "IdentityLine",
    "identity_lines",
    "notices",
]

#: Chain ids of local development chains (anvil, Hardhat, Ganache, geth --dev); the same set
#: as ``notary.chain.setup.DEV_CHAIN_IDS``, which a certificate may not import.
DEV_CHAIN_IDS = frozenset({17, 1337, 5777, 31337})

#: The first lines of a certificate whose chain is a local development chain.
DEV_CHAIN_NOTICE = Bilingual(
    "本证书锚定于本地开发链，他人无法查询：其区块时间不能向任何人证明文件的存在时间。",
    "Anchored on a local development chain that nobody else can query: its block times "
    "prove the file's existence time to nobody.",
)

#: The same for a page (the judge's page of a share link), which is not a certificate.
DEV_CHAIN_PAGE_NOTICE = Bilingual(
    "本页的存证锚定于本地开发链，他人无法查询：其区块时间不能向任何人证明文件的存在时间。",
    "These records are anchored on a local development chain that nobody else can query: its "
    "block times prove the files' existence time to nobody.",
)

#: The first lines of a certificate of a development deployment on a public chain.
DEV_DEPLOYMENT_NOTICE = Bilingual(
    "本证书由开发部署签发：它没有登记的运营方，不代表任何机构。",
    "This certificate was issued by a development deployment: it has no registered operator "
    "and speaks for no organisation.",
)

FINGERPRINT_NOTE = Bilingual(
    "请与运营方向法院备案的指纹核对，一致时上列运营方、密钥与合约方属于该运营方",
    "compare it with the one the operator filed with the court; only if they match are the "
    "operator, keys and contract shown here its own",
)

CLAIM_NOTE = Bilingual("声明：租户自述，notary 未核实", "stated by the tenant, not verified by notary")

_FROM_TRUST_ROOT = Bilingual("取自已签名的信任根", "from the signed trust root")
_FROM_SETTINGS = Bilingual("信任根暂不可得，取自服务设置，未签名",
                           "the trust root was unavailable: from the service's settings, unsigned")


@dataclass(frozen=True)
class Deployment:
    """The deployment that issues a certificate or answers a check: its operator as its trust
    root states it, and that trust root's fingerprint (None when it could not be made, e.g.
    the chain node did not answer: the certificate then says so)."""

    operator_name: str
    operator_registration: str | None = None
    operator_country: str | None = None
    operator_url: str | None = None
    public_url: str | None = None
    trust_root_fingerprint: str | None = None
    development: bool = False
    chain_id: int | None = None

    @property
    def local_chain(self) -> bool:
        """Anchored on a local development chain that nobody else can query."""
        return self.chain_id in DEV_CHAIN_IDS

    @classmethod
    def of(cls, trust_root: VerifiedTrustRoot) -> Deployment:
        root = trust_root.root
        op = root.operator
        return cls(operator_name=op.name, operator_registration=op.registration,
                   operator_country=op.country, operator_url=op.url, public_url=root.public_url,
                   trust_root_fingerprint=trust_root.fingerprint, development=root.development,
                   chain_id=root.chain_id)

    def to_json(self) -> dict[str, object]:
        """As the public answers (the hash check, the document check) carry it."""
        return {
            "operator": {"name": self.operator_name, "registration": self.operator_registration,
                         "country": self.operator_country, "url": self.operator_url},
            "trust_root_fingerprint": self.trust_root_fingerprint,
            "development": self.development,
            "local_chain": self.local_chain,
            "chain_id": self.chain_id,
            "public_url": self.public_url,
        }


@dataclass(frozen=True)
class IdentityLine:
    """One identity fact: what it is, its value, how it is known, and whether it is a claim
    (the tenant's own statement) rather than the operator's signed identity."""

    label: Bilingual
    value: str
    note: Bilingual
    claim: bool
    mono: bool = False


def _operator_note(d: Deployment) -> Bilingual:
    zh, en = [], []
    if d.operator_registration:
        zh.append(f"登记号 {d.operator_registration}")
        en.append(f"registration {d.operator_registration}")
    if d.operator_country:
        zh.append(f"国家 {d.operator_country}")
        en.append(f"country {d.operator_country}")
    source = _FROM_TRUST_ROOT if d.trust_root_fingerprint else _FROM_SETTINGS
    zh.append(source.zh)
    en.append(source.en)
    return Bilingual(" · ".join(zh), " · ".join(en))


def notices(chain_id: int, deployment: Deployment | None) -> tuple[Bilingual, ...]:
    """What the first lines of a certificate must say about where it stands."""
    if chain_id in DEV_CHAIN_IDS:
        return (DEV_CHAIN_NOTICE,)
    if deployment is not None and deployment.development:
        return (DEV_DEPLOYMENT_NOTICE,)
    return ()


def identity_lines(statement: Statement, deployment: Deployment | None) -> tuple[IdentityLine, ...]:
    """Operator, trust-root fingerprint, tenant and submitter, in that order."""
    lines: list[IdentityLine] = []
    if deployment is None:
        lines.append(IdentityLine(Bilingual("运营方", "Operator"), "未提供 / not given",
                                  Bilingual("签发时未取得运营方的信任根",
                                            "the operator's trust root was not available"),
                                  claim=False))
    else:
        lines.append(IdentityLine(Bilingual("运营方", "Operator"), deployment.operator_name,
                                  _operator_note(deployment), claim=False))
        lines.append(IdentityLine(
            Bilingual("信任根指纹", "Trust-root fingerprint"),
            deployment.trust_root_fingerprint or "暂不可得 / unavailable", FINGERPRINT_NOTE,
            claim=False, mono=deployment.trust_root_fingerprint is not None))
    lines.append(IdentityLine(
        Bilingual("租户（委托方）", "Tenant (on whose behalf)"),
        statement.tenant_name or "存证声明未记录 / not recorded in the statement",
        CLAIM_NOTE if statement.tenant_name else Bilingual(
            "该声明签发时尚未记录租户名称", "statements made before names were recorded carry none"),
        claim=statement.tenant_name is not None))
    submitted_by = statement.submitter_name or "未命名 / unnamed"
    lines.append(IdentityLine(
        Bilingual("提交人", "Submitted by"), submitted_by,
        Bilingual(f"API 密钥 {statement.submitter} · {CLAIM_NOTE.zh}（名称由租户为密钥填写）",
                  f"API key {statement.submitter} · {CLAIM_NOTE.en} (the name the tenant gave "
                  "the key)") if statement.submitter_name else Bilingual(
            f"API 密钥 {statement.submitter}", f"API key {statement.submitter}"),
        claim=statement.submitter_name is not None))
    return tuple(lines)
