"""Who notarised, for whom, submitted by whom (issue 14), over real HTTP, a real anvil chain
and a real database: a tenant with a Chinese legal name and a named API key submit; the signed
statement carries both names; the certificate (HTML, and the PDF read back by pdftotext), the
hash check and the check of a received document name the operator from the trust root, the
tenant and the submitter, mark the tenant's claims, print the trust-root fingerprint, and say
first that the chain is a local development chain."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from notary.core.signing import verify_statement
from notary.core.statement import Statement
from notary.service.apikeys import create_key
from notary.service.tenancy import create_tenant
from tests.support import SAMPLES, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

OPERATOR = "华信数据科技有限公司"
REGISTRATION = "91310000MA1FL0XX1X"
TENANT = "华信资产管理有限公司"
AGENT = "催收员 工号 1024"
CASE = "HX-2026-1204-ID"
NOTICE = SAMPLES / "notice-2026-11-28.pdf"
DEV_LINE = "本证书锚定于本地开发链，他人无法查询"
DEV_LINE_EN = "Anchored on a local development chain that nobody else can query"
CLAIM = "声明：租户自述，notary 未核实"
CLAIM_EN = "stated by the tenant, not verified by notary"
COMPARE = "请与运营方向法院备案的指纹核对"


def submit(http: httpx.Client, data: bytes, **extra: object) -> httpx.Response:
    meta = {"case_id": CASE, "kind": "notice", **extra}
    return http.post("/v1/evidence", files={
        "metadata": (None, json.dumps(meta), "application/json"),
        "file": (NOTICE.name, data, "application/pdf")})


def anchored(http: httpx.Client, evidence_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v1/evidence/{evidence_id}").json()
        return body if body["status"] == "anchored" else None
    return wait_until(done)  # type: ignore[return-value]


def visible(html: str) -> str:
    text = re.sub(r"<style>.*?</style>|<title>.*?</title>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


@pytest.fixture
def named(make_server: Any) -> LiveServer:
    return make_server(operator_name=OPERATOR, operator_registration=REGISTRATION,
                       operator_country="CN")


def test_a_named_key_of_a_chinese_tenant_is_named_in_statements_certificates_and_checks(
        named: LiveServer, tmp_path: Path) -> None:
    engine = named.service.engine
    create_tenant(engine, TENANT, slug="huaxin")
    _row, admin_token = create_key(engine, "admin", tenant="huaxin", name="租户管理员")
    admin = named.client(admin_token)

    # The tenant's admin names the key it creates; the listing shows the name.
    made = admin.post("/v1/api-keys", json={"role": "collector", "name": f"  {AGENT} ",
                                            "label": "desk 3"})
    assert made.status_code == 201, made.text
    assert made.json()["name"] == AGENT  # trimmed as stored
    listed = {k["id"]: k for k in admin.get("/v1/api-keys").json()}
    assert listed[made.json()["id"]]["name"] == AGENT
    for bad in ("工号\n1024", "工号\u202e1024", "x" * 101, " "):
        refused = admin.post("/v1/api-keys", json={"role": "collector", "name": bad})
        assert refused.status_code in (400, 422), refused.text
        if refused.status_code == 400:
            assert refused.json()["code"] == "api_key_name_invalid", refused.text
    collector = named.client(made.json()["token"])

    # Intake fills the names; the metadata cannot set them.
    forged = submit(collector, b"%PDF-1.4 forged", tenant_name="别的公司")
    assert forged.status_code == 422 and forged.json()["code"] == "metadata_invalid"
    data = NOTICE.read_bytes()
    sent = submit(collector, data)
    assert sent.status_code == 201, sent.text
    item = anchored(collector, sent.json()["id"])
    assert item["statement_json"]["tenant_name"] == TENANT
    assert item["statement_json"]["submitter_name"] == AGENT
    statement = verify_statement(item["statement"], named.client().get("/v1/keys").json())
    assert (statement.tenant_name, statement.submitter_name) == (TENANT, AGENT)
    assert Statement.from_bytes(statement.canonical_bytes()) == statement

    # A key without a name, of the unnamed default tenant: neither field (old bytes).
    _r, plain_token = create_key(engine, "collector")
    plain = submit(named.client(plain_token), b"%PDF-1.4 another notice")
    assert plain.status_code == 201, plain.text
    plain_json = named.client(plain_token).get(f"/v1/evidence/{plain.json()['id']}").json()
    assert "tenant_name" not in plain_json["statement_json"]
    assert "submitter_name" not in plain_json["statement_json"]

    fingerprint = named.client().get("/.well-known/notary-trust-root.json").headers[
        "X-Notary-Trust-Root-Fingerprint"]
    assert re.fullmatch(r"([0-9a-f]{4}-){7}[0-9a-f]{4}", fingerprint)

    # The certificate, HTML: the dev-chain line first, then who operated/for whom/who submitted.
    html = collector.get(f"/v1/evidence/{item['id']}/certificate", params={"format": "html"})
    assert html.status_code == 200, html.text
    text = visible(html.text)
    assert text.strip().startswith(DEV_LINE), text[:200]
    for needed in (DEV_LINE_EN, OPERATOR, REGISTRATION, "CN", "取自已签名的信任根",
                   "from the signed trust root", fingerprint, COMPARE, "filed with the court",
                   TENANT, AGENT, CLAIM, CLAIM_EN, f"apikey:{made.json()['id']}"):
        assert needed in text, needed
    identity = text[text.index("运营方、租户与提交人"):text.index("证据 Evidence")]
    assert identity.index(OPERATOR) < identity.index(TENANT) < identity.index(AGENT)
    assert identity.count(CLAIM) == 2  # the tenant's name and the key's name, not the operator

    # The PDF, read back as text: the same facts, the dev-chain line on its first lines.
    pdf = collector.get(f"/v1/evidence/{item['id']}/certificate")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is required (Debian poppler-utils; make test installs it)"
    (tmp_path / "c.pdf").write_bytes(pdf.content)
    out = subprocess.run([pdftotext, str(tmp_path / "c.pdf"), "-"], capture_output=True,
                         text=True, check=True).stdout
    flat = re.sub(r"\s+", " ", out)
    assert DEV_LINE in "".join(out.splitlines()[:3]), out[:300]
    for needed in (OPERATOR, REGISTRATION, fingerprint, TENANT, AGENT, CLAIM, COMPARE):
        assert needed in flat.replace(" ", "") or needed in flat, needed

    # The case certificate names the tenant on its summary page too.
    case = collector.get(f"/v1/cases/{CASE}/certificate", params={"format": "html"})
    assert case.status_code == 200, case.text
    summary = visible(case.text.split('<section class="sheet" id="ev_')[0])
    for needed in (DEV_LINE, OPERATOR, fingerprint, TENANT, CLAIM):
        assert needed in summary, needed

    # The proof bundle's one certificate (v3: the case listing), rendered at export, says the
    # same.
    bundle = collector.get(f"/v1/cases/{CASE}/bundle", params={"hashes_only": "true"})
    assert bundle.status_code == 200, bundle.text
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as z:
        names = z.namelist()
        assert not [n for n in names if n.startswith("items/") and "certificate" in n]
        cert_name = "certificate.html"
        bundled = visible(z.read(cert_name).decode())
    for needed in (DEV_LINE, OPERATOR, fingerprint, TENANT, AGENT, CLAIM):
        assert needed in bundled, needed

    # The hash check (the certificate's QR code) and the document check name them as well.
    public = named.client()
    verdict = public.post("/v1/verify", json={"sha256": item["sha256"]})
    assert verdict.status_code == 200, verdict.text
    issuer = verdict.json()["facts"]["issuer"]
    assert issuer["operator"] == {"name": OPERATOR, "registration": REGISTRATION,
                                  "country": "CN", "url": None}
    assert issuer["trust_root_fingerprint"] == fingerprint
    assert issuer["tenant_name"] == TENANT and issuer["submitter_name"] == AGENT
    assert issuer["local_chain"] is True and issuer["development"] is True
    assert issuer["claim_note"] == {"zh": CLAIM, "en": CLAIM_EN}
    checked = public.get(f"/v1/check/{item['check_code']}")
    assert checked.status_code == 200, checked.text
    answer = checked.json()["issuer"]
    assert answer["operator"]["name"] == OPERATOR and answer["tenant_name"] == TENANT
    assert answer["submitter_name"] == AGENT and answer["trust_root_fingerprint"] == fingerprint
    assert CASE not in checked.text and item["id"] not in checked.text  # still nothing of the case
