"""The part of ``VERIFY.md`` about a bundle's declaration (wire name ``certification/``):
what its files are, that the qualified person's signature lies outside the manifest, and how to
check that signature with jwcrypto or with openssl."""

from __future__ import annotations

import json

from notary.bundles.declaration import in_chinese
from notary.bundles.guide.template import md
from notary.core.bundle import MANIFEST_PATH
from notary.core.declaration import (
    CERTIFICATION_DIR,
    CERTIFICATION_EN_PATH,
    CERTIFICATION_MEDIA_TYPE,
    CERTIFICATION_PATH,
    CERTIFICATION_PDF_PATH,
    CERTIFICATION_SIGNATURE_PATH,
    CERTIFICATION_ZH_PATH,
    QualifiedPerson,
)

__all__ = ["declaration_section"]


_SIGNATURE_JWCRYPTO = f'''set -euo pipefail
if [ -f {CERTIFICATION_SIGNATURE_PATH} ]; then
python3 - <<'PY'
import json, sys
from jwcrypto import jwk, jws

def fail(message):
    sys.exit("FAILED: " + message)

data = open("{CERTIFICATION_PATH}", "rb").read()
person = json.loads(data)["qualified_person"]
key = jwk.JWK(**person["public_key"])
if not key.thumbprint() == person["key_thumbprint"] == KID:
    fail("not the key the certification names")
token = jws.JWS()
token.deserialize(open("{CERTIFICATION_SIGNATURE_PATH}").read().strip())
header = token.jose_header
if header["alg"] != "EdDSA" or header["kid"] != KID \
or header["typ"] != "{CERTIFICATION_MEDIA_TYPE}":
    fail("not a certification signature by that key")
try:
    token.verify(key, alg="EdDSA", detached_payload=data)
except Exception as exc:
    fail("{CERTIFICATION_SIGNATURE_PATH} does not verify (" + type(exc).__name__ + ")")
print("{CERTIFICATION_SIGNATURE_PATH}: OK, signed by", person["name"], "at", header["signed_at"])
PY
else
echo "certification: not signed by the qualified person (sign with: notary certify sign)"
fi'''

_SIGNATURE_OPENSSL = f'''set -euo pipefail
if [ -f {CERTIFICATION_SIGNATURE_PATH} ]; then
tmp=$(mktemp -d)
cat > "$tmp/certifier.pub.pem" <<'PEM'
PUBLIC_KEY
PEM
jws=$(tr -d '\\n' < {CERTIFICATION_SIGNATURE_PATH})
sig=$(printf '%s' "$jws" | cut -d. -f3 | tr '_-' '/+')
while [ $(( ${{#sig}} % 4 )) -ne 0 ]; do sig="$sig="; done
printf '%s' "$sig" | base64 -d > "$tmp/signature"
printf '%s.' "$(printf '%s' "$jws" | cut -d. -f1)" > "$tmp/signing-input"
base64 -w0 {CERTIFICATION_PATH} | tr '+/' '-_' | tr -d '=' >> "$tmp/signing-input"
openssl pkeyutl -verify -pubin -inkey "$tmp/certifier.pub.pem" -rawin \\
  -in "$tmp/signing-input" -sigfile "$tmp/signature"
echo "{CERTIFICATION_SIGNATURE_PATH} (openssl): OK"
rm -r "$tmp"
fi'''


def declaration_section(certifier: QualifiedPerson | None) -> list[str]:
    """A court certification in the bundle: what its files are, that its signature lies
    outside the manifest, and how to check that signature with jwcrypto or openssl."""
    if certifier is None:
        return []
    p, kid = certifier, certifier.key_thumbprint
    name, organisation, title = md(p.name), md(p.organisation), md(p.title)
    name_zh, organisation_zh, title_zh = (md(in_chinese(p, field))
                                          for field in ("name", "organisation", "title"))
    out = [
        "## 法庭认证 / Court certification",
        "",
        (f"`{CERTIFICATION_DIR}/` 中是供说明人{name_zh}（{organisation_zh}，{title_zh}）签署的法庭"
         f"认证：`{CERTIFICATION_PATH}` 载明各项记录的事实（哈希值、接收时间、声明摘要、链上锚定、"
         f"保管事件数）、说明人及两份声明的全文；`{CERTIFICATION_EN_PATH}` 为英文认证（FRE "
         f"902(11)、902(14)，28 U.S.C. § 1746），`{CERTIFICATION_ZH_PATH}` 为中文电子数据存证情况"
         f"说明，`{CERTIFICATION_PDF_PATH}` 为可打印签字的双语文本。它们都列在 `{MANIFEST_PATH}` "
         "中（第 2 步已核对）；`notary verify` 另核对认证所载事实与本证据包各项一致。"),
        "",
        (f"`{CERTIFICATION_DIR}/` holds a court certification for {name} ({title}, "
         f"{organisation}) to sign: `{CERTIFICATION_PATH}` states the records' facts (hash "
         "values, receipt times, statement digests, anchors, custody event counts), the "
         f"qualified person and the full text of both declarations; `{CERTIFICATION_EN_PATH}` is "
         "the certification in English (FRE 902(11), 902(14), 28 U.S.C. § 1746), "
         f"`{CERTIFICATION_ZH_PATH}` the 存证说明 in Chinese, `{CERTIFICATION_PDF_PATH}` both, "
         f"printable for a signature by hand. All are listed in `{MANIFEST_PATH}` (checked in "
         "step 2); `notary verify` also checks that the certification's facts are this "
         "bundle's."),
        "",
    ]
    if kid is None:
        return out + [
            "认证未指定说明人的密钥，请打印后手写签名、盖章。",
            "",
            "The certification names no key of the qualified person: print it and sign by hand.",
            "",
        ]
    return out + [
        (f"说明人可用其 Ed25519 密钥（RFC 7638 指纹 `{kid}`，已写入 `{CERTIFICATION_PATH}`，"
         f"受签名的清单保护）对 `{CERTIFICATION_PATH}` 作分离式 JWS 签名（RFC 7515 附录 F："
         f"`header..signature`），存为 `{CERTIFICATION_SIGNATURE_PATH}`（`notary certify sign`）。"
         f"该文件在证据包生成之后加入，因此不在 `{MANIFEST_PATH}` 中，须单独核验：把 "
         f"`BASE64URL({CERTIFICATION_PATH})` 放回两点之间即为被签名的内容。下面先用 jwcrypto "
         "核验，再用 `openssl pkeyutl -verify -rawin`（OpenSSL 3）核验同一签名输入。"),
        "",
        (f"The qualified person may sign `{CERTIFICATION_PATH}` with their Ed25519 key (RFC 7638 "
         f"thumbprint `{kid}`, named in `{CERTIFICATION_PATH}` and so covered by the signed "
         "manifest) as a detached JWS (RFC 7515 Appendix F: `header..signature`), stored as "
         f"`{CERTIFICATION_SIGNATURE_PATH}` (`notary certify sign`). That file is added after the "
         f"bundle was made, so it is NOT in `{MANIFEST_PATH}` and is checked on its own: the "
         f"signed content is the token with `BASE64URL({CERTIFICATION_PATH})` put back between "
         "the two dots. The first block checks it with jwcrypto (any JOSE library that takes "
         "a detached payload will do), the second checks the same signing input with "
         "`openssl pkeyutl -verify -rawin` (OpenSSL 3)."),
        "",
        "```sh",
        _SIGNATURE_JWCRYPTO.replace("KID", json.dumps(kid)),
        "```",
        "",
        "```sh",
        _SIGNATURE_OPENSSL.replace("PUBLIC_KEY", (p.public_key_pem() or "").strip()),
        "```",
        "",
    ]
