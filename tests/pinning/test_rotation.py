"""Key rotation (issue 14, "Done when"): a bundle signed before a rotation still verifies
against the trust root issued after it; a key retired on chain cannot sign anything the
verifier accepts after its retirement.

The rotation is done as the service documents it (notary.chain.setup): the registry's admin
(here the deployment's own account, which holds KEY_ADMIN_ROLE) retires the key on chain, the
service then refuses to start with it, so the operator moves keys/signing-key.pem aside and
starts again: a new key is made, its history retires the old one, and it is registered on
chain at start-up.

The forgery: whoever kept the retired key (a leaked backup) signs a new statement with it,
back-dated to before the rotation, and has it anchored in the genuine registry by the
deployment's own account, after the retirement. Everything the bundle says is consistent and
inside the key's period; only the chain's record of the retirement tells."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from notary.chain.errors import ChainError
from notary.chain.registry import Registry, connect
from notary.chain.setup import chain_account
from notary.core.bundle import MANIFEST_PATH
from notary.core.signing import SigningKey
from notary.core.trustroot import kid_thumbprint, verify_trust_root
from notary.core.validate import format_rfc3339_utc
from notary.service.notary import NotaryService
from storage.db import CustodyRecord, session
from tests.pinning.conftest import (
    CASE,
    TENANT,
    WELL_KNOWN,
    Deployment,
    answer,
    assert_refused,
    cli_verify,
    describe,
    failed,
    notarise,
    sample_files,
    start_deployment,
    verify,
)
from tests.pinning.forge import forge_item, json_of, members, seal, statement_of
from tests.support import LiveServer, free_port, quiescent, wait_until

pytestmark = [pytest.mark.chain]


@dataclass
class Rotation:
    chain_url: str
    old_key: SigningKey
    new_kid: str
    before_root: bytes  # the trust root issued before the rotation
    after_root: bytes  # and after it
    before: bytes  # the case bundle (two items) exported before the rotation
    after: bytes  # the case (three items, the third signed by the new key) exported after
    forged: bytes  # a third item signed by the retired key, anchored after its retirement
    retired_block: int
    forged_block: int


@pytest.fixture(scope="module")
def rotation(anvil, tmp_path_factory: pytest.TempPathFactory  # type: ignore[no-untyped-def]
             ) -> Iterator[Rotation]:
    first = start_deployment(tmp_path_factory.mktemp("rotation-home"), anvil,
                             sample_files()[:2])
    settings = first.server.settings
    old_key = first.server.service.signing_key
    before, before_root = first.case_bundle, first.trust_root
    address = first.registry.address
    with session(first.server.service.engine) as s:
        last_event = max(r.at for r in s.exec(select(CustodyRecord)))
    first.server.stop()

    # 1. The admin retires the key on chain; the service then refuses to start with it.
    # The retirement is mined after the key's last genuine signature (the last custody event,
    # an export), in a block stamped with that second: block times are whole seconds and
    # never later than the block was made (on a public chain, the slot's start).
    w3 = connect(anvil.url)
    signed = int(last_event.replace(tzinfo=UTC).timestamp())
    stamp = max(signed, int(w3.eth.get_block("latest")["timestamp"]) + 1)
    w3.provider.make_request("evm_setNextBlockTimestamp", [stamp])
    registry = Registry(w3, address, chain_account(settings))
    record = registry.retire_signing_key(kid_thumbprint(old_key.kid))
    assert record.retired
    # The session's chain keeps its clock: the next block is stamped with the wall clock again.
    now = max(int(time.time()), int(w3.eth.get_block("latest")["timestamp"]) + 1)
    w3.provider.make_request("evm_mine", [now])
    with pytest.raises(ChainError) as refused:
        NotaryService.open(settings, run_worker=False)
    assert refused.value.code == "signing_key_retired"

    # 2. The forgery, while the service is down: entry 3 of the case, signed by the retired
    # key, claiming to be received before the rotation, anchored now by the deployment's own
    # account in the genuine registry.
    files = members(before)
    second = statement_of(files, "items/002")
    created = json_of(files[MANIFEST_PATH])["created_at"]
    backdated = format_rfc3339_utc(datetime.fromisoformat(second.received_at)
                                   + timedelta(milliseconds=500))
    item = forge_item(second, content=b"%PDF-1.4\n% signed with a retired key\n%%EOF\n",
                      file_name="agreement-2026-11-28.pdf", key=old_key, registry=registry,
                      case_seq=3, prev_statement=second.digest_hex(), received_at=backdated)
    files.update(item.documents)
    files[item.original[0]] = item.original[1]
    # The manifest re-signed by the retired key, dated as the genuine export (inside the key's
    # period); the bundle's own key history is the one of that time (the key in use).
    forged = seal(files, old_key, created_at=created)
    forged_block = json_of(item.documents["items/003/anchor.json"])["block_number"]

    # 3. The rotation: the key file moved aside, the service started again.
    pem = settings.keys_dir / "signing-key.pem"
    pem.rename(pem.with_name("signing-key.pem.retired"))
    server = LiveServer(replace(settings, port=free_port()))
    try:
        new_kid = server.service.signing_key.kid
        assert new_kid != old_key.kid
        second_run = Deployment(server, anvil.url, first.tenant, first.admin, first.collector,
                                first.evidence_ids, b"", b"", b"")
        notarise(server, first.collector, sample_files()[2:])
        after = second_run.export_case(CASE)
        after_root = server.client().get(WELL_KNOWN).content
    finally:
        server.stop()
    yield Rotation(anvil.url, old_key, new_kid, before_root, after_root, before, after,
                   forged, record.retired_block, forged_block)


def test_the_new_trust_root_records_the_rotation(rotation: Rotation) -> None:
    root = verify_trust_root(rotation.after_root).root
    keys = {k.kid: k for k in root.signing_keys}
    old, new = keys[rotation.old_key.kid], keys[rotation.new_kid]
    assert old.not_after is not None and old.retired_block == rotation.retired_block
    assert new.not_after is None and new.registered_block is not None
    assert verify_trust_root(rotation.after_root).fingerprint != (
        verify_trust_root(rotation.before_root).fingerprint)


def test_a_bundle_signed_before_the_rotation_still_verifies(rotation: Rotation,
                                                          tmp_path: Path) -> None:
    for root in (rotation.before_root, rotation.after_root):
        report = verify(rotation.before, trust_root=root, rpc=rotation.chain_url)
        assert report["result"] == "valid", describe(report)
        assert answer(report, "issuer")["tenants"] == [TENANT]
    code, report = cli_verify(tmp_path, rotation.before, trust_root=rotation.after_root,
                              rpc=rotation.chain_url)
    assert code == 0, describe(report)


def test_the_case_exported_after_the_rotation_verifies(rotation: Rotation) -> None:
    """Entries 1 and 2 signed by the retired key (before its retirement), entry 3 and the
    manifest by the new one."""
    report = verify(rotation.after, trust_root=rotation.after_root, rpc=rotation.chain_url)
    assert report["result"] == "valid", describe(report)
    assert answer(report, "completeness")["status"] == "pass"


def test_the_retired_key_signs_nothing_accepted_after_its_retirement(
        rotation: Rotation, tmp_path: Path) -> None:
    assert rotation.forged_block > rotation.retired_block
    # Unpinned, the forgery is as consistent as the genuine bundle: nothing fails.
    unpinned = verify(rotation.forged, rpc=rotation.chain_url)
    assert unpinned["result"] == "not_established" and not failed(unpinned), describe(unpinned)
    # Pinned, by the trust root issued after the rotation, and even by the one issued before
    # it (which did not know of the retirement: the chain does).
    for root in (rotation.after_root, rotation.before_root):
        report = verify(rotation.forged, trust_root=root, rpc=rotation.chain_url)
        bad = assert_refused(report, "retired")
        assert any(rotation.old_key.kid in c["reason"] for c in bad), describe(report)
        names = {c["name"] for c in bad}
        assert not any(n.startswith(("items[0].", "items[1].")) for n in names), describe(report)
    code, report = cli_verify(tmp_path, rotation.forged, trust_root=rotation.after_root,
                              rpc=rotation.chain_url)
    assert code == 1, describe(report)


@pytest.fixture(scope="module")
def pending_at_rotation(anvil, tmp_path_factory: pytest.TempPathFactory  # type: ignore[no-untyped-def]
                        ) -> tuple[str, bytes, bytes, list[tuple[int, str]]]:
    """A rotation with an item still waiting for its batch, in the order that keeps it
    valid: the key file moved aside and the service restarted (a new key), the restarted
    service anchors what the old key signed, and only then is the old key retired on chain.
    (Retiring first, as the service's own refusal to start with a retired key suggests,
    leaves that item anchored after the retirement: no verifier may accept it then.)
    Returns the chain URL, the case bundle exported after the rotation, the trust root, and
    the service's answers (status, body) to GET /v1/evidence/{id} for both items after the
    rotation and to POST /v1/verify with the first file's SHA-256."""
    first = start_deployment(tmp_path_factory.mktemp("pending-home"), anvil, sample_files()[:1])
    settings = first.server.settings
    old_kid = first.server.service.signing_key.kid
    first.server.stop()
    quiet = LiveServer(replace(settings, port=free_port(), anchor_worker=False))
    try:
        http = quiet.client(first.collector)
        name, content, kind, captured = sample_files()[1]
        resp = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": CASE, "kind": kind,
                                           "captured_at": captured}), "application/json"),
            "file": (name, content, "application/octet-stream")})
        assert resp.status_code == 201, resp.text
        pending = resp.json()["id"]
        assert http.get(f"/v1/evidence/{pending}").json()["status"] != "anchored"
    finally:
        quiet.stop()
    # 1. A new key: the pending item (signed by the old one) is anchored by the new run.
    pem = settings.keys_dir / "signing-key.pem"
    pem.rename(pem.with_name("signing-key.pem.retired"))
    server = LiveServer(replace(settings, port=free_port(), batch_seconds=0.5))
    try:
        wait_until(lambda: quiescent(server.service), timeout=60)
    finally:
        server.stop()
    # 2. Then the old key is retired on chain.
    w3 = connect(anvil.url)
    Registry(w3, first.registry.address, chain_account(settings)).retire_signing_key(
        kid_thumbprint(old_kid))
    server = LiveServer(replace(settings, port=free_port(), batch_seconds=0.5))
    try:
        # What the service answers about an item the old key signed (anchored before the
        # rotation) and the one anchored after it.
        answers = [server.client(first.collector).get(f"/v1/evidence/{i}")
                   for i in (first.evidence_ids[0], pending)]
        # And the public check by hash (the QR code, the debtor's check) of the first file.
        digest = hashlib.sha256(sample_files()[0][1]).hexdigest()
        answers.append(server.client().post("/v1/verify", json={"sha256": digest}))
        bundle = server.client(first.admin).get(f"/v1/cases/{CASE}/bundle")
        assert bundle.status_code == 200, bundle.text
        root = server.client().get(WELL_KNOWN).content
    finally:
        server.stop()
    return anvil.url, bundle.content, root, [(r.status_code, r.text) for r in answers]


def test_an_item_signed_before_the_rotation_and_anchored_after_it_verifies(
        pending_at_rotation: tuple[str, bytes, bytes, list[tuple[int, str]]]) -> None:
    """Signed by the old key before the rotation, anchored by the new run before the old
    key's retirement: it verifies against the trust root issued after both."""
    chain_url, bundle, root, _ = pending_at_rotation
    assert len(verify_trust_root(root).root.signing_keys) == 2
    report = verify(bundle, trust_root=root, rpc=chain_url)
    assert report["result"] == "valid", describe(report)


def test_the_service_still_answers_for_items_the_old_key_signed(
        pending_at_rotation: tuple[str, bytes, bytes, list[tuple[int, str]]]) -> None:
    """After a rotation, GET /v1/evidence/{id} of an item signed by the previous key, and the
    public check of its hash, are answered as before (its statement verifies with the key
    history, not only the key in use)."""
    *_, answers = pending_at_rotation
    assert [code for code, _ in answers] == [200, 200, 200], [b[:300] for _, b in answers]
    assert json.loads(answers[-1][1])["result"] == "valid", answers[-1][1]
