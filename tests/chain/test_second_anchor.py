"""Second anchors (issue 19 item 3): evidence anchored on two real anvil chains keeps both
attestations, in the database and in its bundle; a second chain that is down never holds up
the primary, and its attestation is added once it is back; a bundle whose second attestation
lies in another contract than the pinned registry is not valid.

The primary chain is the session's anvil; the second is an anvil of its own (another port,
chain id 31338) started here, as notary.chain.embedded starts ours.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from notary.bundles.check import verify_bundle_file
from notary.chain.account import load_chain_account
from notary.chain.embedded import EmbeddedChain
from notary.chain.observe import chain_reader
from notary.chain.registry import Registry, connect
from notary.cli.offline import attestation_lines
from notary.core.bundle import MANIFEST_PATH, MANIFEST_SIGNATURE_PATH
from notary.core.bundle.anchor import anchor_document
from notary.core.merkle import from_hex32
from notary.core.signing import jws_payload
from notary.core.statement import canonical_json
from notary.core.trustroot import verify_trust_root
from notary.service.trustroot import issue_trust_root
from storage.db import Batch, Evidence, ExtraAnchor, session
from tests.bundle.repack import member, rezip
from tests.bundle.test_verify_guide import run_guide
from tests.bundle.test_verify_pinned import notary_verify
from tests.support import LiveServer, free_port, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

SECOND = 31338


@pytest.fixture(scope="module")
def anvil2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedChain]:
    chain = EmbeddedChain(tmp_path_factory.mktemp("anvil2"), port=free_port(), chain_id=SECOND)
    chain.start()
    yield chain
    chain.stop()


def submit(server: LiveServer, name: str) -> str:
    resp = server.admin().post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": "TWO-CHAINS", "kind": "other"}),
                     "application/json"),
        "file": (name, io.BytesIO(f"evidence {name}".encode()), "text/plain")})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def extra_rows(server: LiveServer, evidence_id: str) -> list[ExtraAnchor]:
    """The second anchors of the evidence's batch (other batches, such as those that anchor
    the log's checkpoints, have their own)."""
    with session(server.service.engine) as s:
        evidence = s.get(Evidence, evidence_id)
        assert evidence is not None
        return list(s.exec(select(ExtraAnchor).where(
            ExtraAnchor.batch_id == evidence.batch_id)))


def anchored(server: LiveServer, evidence_id: str) -> bool:
    return server.admin().get(f"/v1/evidence/{evidence_id}").json()["status"] == "anchored"


def test_two_chains_keep_both_attestations(make_server: Callable[..., LiveServer],
                                           anvil: EmbeddedChain, anvil2: EmbeddedChain,
                                           tmp_path: Path) -> None:
    # The second chain's clock runs a day ahead: the primary anchor is the earliest.
    connect(anvil2.url).provider.make_request("evm_increaseTime", [86400])  # type: ignore[arg-type]
    server = make_server(extra_anchors=(f"{anvil2.url}#{SECOND}",))
    evidence_id = submit(server, "a.txt")
    wait_until(lambda: anchored(server, evidence_id) and extra_rows(server, evidence_id))
    [row] = extra_rows(server, evidence_id)
    with session(server.service.engine) as s:
        batch = s.get(Batch, row.batch_id)
        assert batch is not None
    assert row.chain_id == SECOND and batch.chain_id == anvil.chain_id
    assert row.block_timestamp > (batch.block_timestamp or 0)
    # The second chain's registry really holds the root, in the registry remembered per chain.
    remembered = json.loads((server.settings.chain_dir / "extra" / str(SECOND)
                             / "deployment.json").read_text())
    assert remembered["address"] == row.contract
    onchain = Registry(connect(anvil2.url), row.contract).find_anchor(from_hex32(batch.root))
    assert onchain is not None and onchain.tx_hash == row.tx_hash

    svc = server.service
    assert svc.chain is not None
    # issued directly: the served copy may be cached from before the second registry existed
    issued = issue_trust_root(svc.settings, svc.chain.registry, svc.chain.deployment,
                              svc.signing_key)
    pin = issued.verified.root.extra_chain(SECOND)
    assert pin is not None and pin.registry.address.lower() == row.contract.lower()

    resp = server.admin().get(f"/v1/evidence/{evidence_id}/bundle")
    assert resp.status_code == 200, resp.text
    bundle = resp.content
    assert f"items/001/anchor-{SECOND}.json" in zipfile.ZipFile(io.BytesIO(bundle)).namelist()
    manifest = json.loads(member(bundle, MANIFEST_PATH))
    assert f"items/001/anchor-{SECOND}.json" in {f["path"] for f in manifest["files"]}

    verified = verify_trust_root(issued.document)
    report = verify_bundle_file(io.BytesIO(bundle), trust_root=verified,
                                chain=chain_reader(connect(anvil.url), anvil.url))
    checks = {c.name: c for c in report.verdict.checks}
    assert report.result == "valid", [c for c in report.verdict.checks if c.status.value != "pass"]
    assert checks[f"items[0].extra_anchor_{SECOND}"].status.value == "pass"
    item = report.facts["items"][0]
    kinds = [(a["kind"], a.get("chain_id"), a["valid"]) for a in item["attestations"]]
    assert kinds == [("chain", anvil.chain_id, True), ("extra_chain", SECOND, True)]
    # no node of the second chain was asked: its block time is the bundle's claim, dates nothing
    assert [a["confirmed"] for a in item["attestations"]] == [True, False]
    assert item["dated_by"]["kind"] == "chain"
    lines = attestation_lines(item)
    assert any(f"chain {SECOND}" in line and "no chain node confirmed it" in line
               for line in lines)
    assert "dated by the earliest valid attestation" in lines[-1]
    # The bundle's own VERIFY.md checks the second anchor against the pinned trust root too.
    (tmp_path / "root.json").write_bytes(issued.document)
    guide = run_guide(bundle, tmp_path / "guide", rpc=anvil.url, fingerprint=issued.fingerprint,
                      env={"TRUST_ROOT": str(tmp_path / "root.json")})
    assert guide.failed is None, guide.text
    assert f"anchor-{SECOND}.json: OK, root anchored on chain {SECOND}" in guide.stdout
    assert f"items/001 dated by chain {anvil.chain_id}" in guide.stdout
    # `notary verify` with a node of each chain: the second anchor is confirmed on its chain.
    (tmp_path / "bundle.zip").write_bytes(bundle)
    run = notary_verify(tmp_path / "bundle.zip", "--trust-root", str(tmp_path / "root.json"),
                        "--rpc", anvil.url, "--extra-rpc", f"{SECOND}={anvil2.url}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"extra_anchor_{SECOND}: " in run.stdout and "confirms the anchor" in run.stdout
    assert f"第二锚定 second chain chain {SECOND}" in run.stdout and "[有效 valid]" in run.stdout
    assert ("最早有效证明确定时间 dated by the earliest valid attestation: 主链锚定 primary "
            f"chain chain {anvil.chain_id}") in run.stdout
    # A node of another chain confirms nothing: the second anchor then dates nothing.
    run = notary_verify(tmp_path / "bundle.zip", "--trust-root", str(tmp_path / "root.json"),
                        "--rpc", anvil.url, "--extra-rpc", f"{SECOND}={anvil.url}", "--json")
    report_json = json.loads(run.stdout)
    [skipped] = [c for c in report_json["checks"] if c["name"] == f"items[0].extra_anchor_{SECOND}"]
    assert skipped["status"] == "skip" and "not confirmed" in skipped["reason"], skipped
    assert [a["valid"] for a in report_json["facts"]["items"][0]["attestations"]] == [True, False]

    # A second attestation in another registry on the same chain (a real anchor of the same
    # root, in a contract the trust root does not pin), signed into the bundle's manifest.
    w3 = connect(anvil2.url)
    account = load_chain_account(svc.settings.keys_dir, svc.settings.key_passphrase)
    other, _ = Registry.deploy(w3, account)
    facts = other.anchor(from_hex32(batch.root), batch.leaf_count)
    forged = canonical_json(anchor_document(facts, other.raw_tx_receipt(facts.tx_hash)))
    bad = resign_manifest(rezip(bundle, {f"items/001/anchor-{SECOND}.json": forged}), svc)
    report = verify_bundle_file(io.BytesIO(bad), trust_root=verified,
                                chain=chain_reader(connect(anvil.url), anvil.url))
    check = {c.name: c for c in report.verdict.checks}[f"items[0].extra_anchor_{SECOND}"]
    assert check.status.value == "fail" and "not the registry" in check.reason, check
    assert report.verdict.check("manifest_signature").status.value == "pass"
    assert report.result == "invalid"
    item = report.facts["items"][0]
    assert [a["valid"] for a in item["attestations"]] == [True, False]
    assert item["dated_by"]["kind"] == "chain"
    guide = run_guide(bad, tmp_path / "forged", rpc=anvil.url, fingerprint=issued.fingerprint,
                      env={"TRUST_ROOT": str(tmp_path / "root.json")})
    assert guide.failed == "## 第二锚定 / Second anchors", guide.text
    assert "is not the pinned registry" in guide.text


def resign_manifest(data: bytes, svc: object) -> bytes:
    """The bundle's manifest rewritten for its members as they now are and signed again by
    the service's own key: the claim is the issuer's, and still false."""
    import hashlib

    manifest = json.loads(member(data, MANIFEST_PATH))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for entry in manifest["files"]:
            content = z.read(entry["path"])
            entry["sha256"], entry["size"] = hashlib.sha256(content).hexdigest(), len(content)
    raw = canonical_json(manifest)
    token = member(data, MANIFEST_SIGNATURE_PATH).decode("ascii")
    segment = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    extra = {k: v for k, v in header.items() if k not in ("alg", "kid", "typ")}
    signed = svc.signing_key.sign(raw, header["typ"], extra or None)  # type: ignore[attr-defined]
    assert jws_payload(signed) == raw
    return rezip(data, {MANIFEST_PATH: raw, MANIFEST_SIGNATURE_PATH: signed.encode("ascii")})


def test_second_chain_down_never_holds_up_the_primary(
        make_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet: the second chain is down
    server = make_server(extra_anchors=(f"http://127.0.0.1:{port}#{SECOND}",))
    evidence_id = submit(server, "b.txt")
    wait_until(lambda: anchored(server, evidence_id))
    worker = server.service.worker
    assert worker is not None
    wait_until(lambda: worker.extra_errors.get(f"evm:{SECOND}"))
    assert extra_rows(server, evidence_id) == []
    assert worker.last_error is None
    # The chain comes back: the next cycle adds the missing attestation.
    with EmbeddedChain(tmp_path / "late", port=port, chain_id=SECOND):
        wait_until(lambda: extra_rows(server, evidence_id))
        assert worker.extra_errors.get(f"evm:{SECOND}") is None
        [row] = extra_rows(server, evidence_id)
        assert row.chain_id == SECOND
