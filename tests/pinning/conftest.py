"""Two deployments on the session's anvil, for the pinning suite (issue 14, "Done when").

``genuine``: a service run by a named operator (a Chinese legal name) for a tenant with a
Chinese legal name; it notarises case HX-2026-1128-ZW (the three sample files) over HTTP,
with a collector key labelled as the agent who submitted, and exports the case bundle and
one item's bundle. Its trust root is the well-known document's bytes, as a court would be
given them.

``attacker``: someone else with the same open-source code, their own NOTARY_HOME (their own
Ed25519 key, their own chain account) and so their own copy of EvidenceRegistry, deployed on
the same chain. They claim the same operator and tenant names and notarise a case of the
same id with a forged agreement: every part of their bundle is real, only not the genuine
deployment's.

Both are built once for the package (exports render certificates, which takes seconds) and
read only; tests that change a deployment (key rotation) start their own.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from notary.bundles.check import verify_bundle_file
from notary.chain.embedded import EmbeddedChain
from notary.chain.observe import chain_reader
from notary.chain.registry import Registry, connect
from notary.config import Settings
from notary.core.trustroot import VerifiedTrustRoot, verify_trust_root
from notary.service.apikeys import create_key
from notary.service.tenancy import create_tenant
from tests.support import REPO, SAMPLES, LiveServer, free_port, wait_until

CASE = "HX-2026-1128-ZW"
OPERATOR = "上海某某数据科技有限公司"
OPERATOR_REGISTRATION = "91310000MA1FL0000X"
TENANT = "杭州某某资产管理有限公司"
SUBMITTER = "工号 1024"
WELL_KNOWN = "/.well-known/notary-trust-root.json"
SAMPLE_FILES = [
    ("call-2026-11-28-0930.wav", "call_recording", "2026-11-28T09:30:00+08:00"),
    ("notice-2026-11-28.pdf", "notice", "2026-11-28T10:00:00+08:00"),
    ("agreement-2026-11-28.pdf", "agreement", "2026-11-28T11:00:00+08:00"),
]
#: The forger's "agreement": a made-up PDF the debtor never signed.
FORGED_AGREEMENT = (b"%PDF-1.4\n% forged: repayment agreement the debtor never signed\n"
                    b"1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


@dataclass
class Deployment:
    """A running service, its tenant's keys, its trust root and what it exported."""

    server: LiveServer
    chain_url: str
    tenant: str  # slug
    admin: str  # the tenant admin's API key
    collector: str  # the agent's API key (label SUBMITTER)
    evidence_ids: list[str]
    trust_root: bytes  # /.well-known/notary-trust-root.json, byte for byte
    case_bundle: bytes
    item_bundle: bytes  # entry 2 (or the only one) alone, hashes only

    @property
    def root(self) -> VerifiedTrustRoot:
        return verify_trust_root(self.trust_root)

    @property
    def registry(self) -> Registry:
        assert self.server.service.chain is not None
        return self.server.service.chain.registry

    def export_case(self, case_id: str = CASE) -> bytes:
        resp = self.server.client(self.admin).get(f"/v1/cases/{case_id}/bundle")
        assert resp.status_code == 200, resp.text
        return resp.content


def notarise(server: LiveServer, key: str, files: list[tuple[str, bytes, str, str]],
             case_id: str = CASE) -> list[str]:
    """Submit ``files`` (name, content, kind, captured_at) to the case over HTTP; wait until
    every one is anchored."""
    http = server.client(key)
    ids = []
    for name, content, kind, captured in files:
        resp = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": case_id, "kind": kind,
                                           "captured_at": captured}), "application/json"),
            "file": (name, content, "application/octet-stream"),
        })
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    wait_until(lambda: all(http.get(f"/v1/evidence/{i}").json()["status"] == "anchored"
                           for i in ids), timeout=60)
    return ids


def sample_files() -> list[tuple[str, bytes, str, str]]:
    return [(name, (SAMPLES / name).read_bytes(), kind, captured)
            for name, kind, captured in SAMPLE_FILES]


def start_deployment(home: Path, anvil: EmbeddedChain, files: list[tuple[str, bytes, str, str]],
                     **settings: Any) -> Deployment:
    """A service with a named operator and a tenant, the case notarised and exported."""
    config = Settings(home=home, port=free_port(), chain_port=anvil.port,
                      batch_seconds=3600, batch_max=len(files), chain_timeout=20.0,
                      operator_name=OPERATOR, operator_registration=OPERATOR_REGISTRATION,
                      operator_country="CN", **settings)
    server = LiveServer(config)
    try:
        engine = server.service.engine
        tenant = create_tenant(engine, TENANT).id
        _, admin = create_key(engine, "admin", tenant=tenant, label="法务 张三")
        _, collector = create_key(engine, "collector", tenant=tenant, label="dialer",
                                  name=SUBMITTER)
        ids = notarise(server, collector, files)
        trust_root = server.client().get(WELL_KNOWN)
        assert trust_root.status_code == 200, trust_root.text
        deployment = Deployment(server, anvil.url, tenant, admin, collector, ids,
                                trust_root.content, b"", b"")
        deployment.case_bundle = deployment.export_case()
        item = server.client(admin).get(f"/v1/evidence/{ids[min(1, len(ids) - 1)]}/bundle",
                                        params={"hashes_only": "true"})
        assert item.status_code == 200, item.text
        deployment.item_bundle = item.content
    except BaseException:
        server.stop()
        raise
    return deployment


@pytest.fixture(scope="package")
def genuine(anvil: EmbeddedChain, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Deployment]:
    deployment = start_deployment(tmp_path_factory.mktemp("genuine-home"), anvil,
                                  sample_files(), public_url="https://notary.example.cn")
    yield deployment
    deployment.server.stop()


@pytest.fixture(scope="package")
def attacker(anvil: EmbeddedChain, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Deployment]:
    """Someone else's deployment on the same chain: same code, same claimed names, their own
    key and registry; the case's agreement is their forgery."""
    files = sample_files()
    name, _, kind, captured = files[2]
    files[2] = (name, FORGED_AGREEMENT, kind, captured)
    deployment = start_deployment(tmp_path_factory.mktemp("attacker-home"), anvil, files,
                                  public_url="https://notary.example.cn")
    yield deployment
    deployment.server.stop()


# -- verifying, as `notary verify` does ------------------------------------------------------


def dead_node() -> str:
    """A URL where no node answers (a free port nobody listens on)."""
    return f"http://127.0.0.1:{free_port()}"


def verify(data: bytes, *, trust_root: bytes | None = None,
           rpc: str | None = None) -> dict[str, Any]:
    """The report of ``verify_bundle_file`` (as ``--json`` prints it), pinned to
    ``trust_root`` (the document's bytes) when given, asking the node at ``rpc`` when given."""
    root = verify_trust_root(trust_root) if trust_root is not None else None
    chain = chain_reader(connect(rpc, timeout=5.0), rpc) if rpc is not None else None
    report: dict[str, Any] = verify_bundle_file(io.BytesIO(data), trust_root=root,
                                                chain=chain).to_json()
    return report


def cli_verify(tmp: Path, data: bytes, *, trust_root: bytes | str | None = None,
               rpc: str | None = None) -> tuple[int, dict[str, Any]]:
    """`python -m notary.cli verify BUNDLE [--trust-root FILE|URL] [--rpc URL] --json` as a
    process with a clean environment; its exit code and its JSON report."""
    bundle = tmp / f"bundle-{len(list(tmp.iterdir()))}.zip"
    bundle.write_bytes(data)
    args = [sys.executable, "-m", "notary.cli", "verify", str(bundle), "--json"]
    if isinstance(trust_root, bytes):
        path = tmp / f"trust-root-{len(list(tmp.iterdir()))}.json"
        path.write_bytes(trust_root)
        args += ["--trust-root", str(path)]
    elif isinstance(trust_root, str):
        args += ["--trust-root", trust_root]
    if rpc is not None:
        args += ["--rpc", rpc]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(args, cwd=tmp, env=env, capture_output=True, text=True, timeout=180,
                          check=False)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"no JSON report (exit {done.returncode}): {done.stdout!r} "
                             f"{done.stderr!r}") from None
    return done.returncode, report


def failed(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in report["checks"] if c["status"] == "fail"]


def answer(report: dict[str, Any], question: str) -> dict[str, Any]:
    [found] = [a for a in report["answers"] if a["question"] == question]
    return found


def describe(report: dict[str, Any]) -> str:
    lines = [f"result {report.get('result')!r}"]
    lines += [f"  {a['question']}: {a['status']} {a['reason'].get('en', '')}"
              for a in report.get("answers", [])]
    lines += [f"  [{c['status']}] {c['name']}: {c['reason']}" for c in report["checks"]
              if c["status"] != "pass"]
    return "\n".join(lines)


def assert_refused(report: dict[str, Any], *parts: str) -> list[dict[str, Any]]:
    """Pinned to the genuine trust root: the bundle is invalid, the issuer answer fails, and
    a failed check names each of ``parts`` (in its name or its reason): which part of the
    bundle is not the deployment's. Returns the failed checks."""
    assert report["result"] == "invalid", describe(report)
    assert answer(report, "issuer")["status"] == "fail", describe(report)
    assert answer(report, "issuer")["pinned"] is True, describe(report)
    bad = failed(report)
    for part in parts:
        assert any(part in c["name"].lower() or part in c["reason"].lower() for c in bad), (
            f"no failed check names {part!r}:\n{describe(report)}")
    return bad


def assert_not_established(report: dict[str, Any]) -> None:
    """Without a trust root: never valid; nothing established about the issuer."""
    assert report["result"] in ("not_established", "invalid"), describe(report)
    assert answer(report, "issuer")["status"] != "pass", describe(report)
    assert answer(report, "issuer")["pinned"] is False, describe(report)
