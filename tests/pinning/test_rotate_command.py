"""``notary signing-key rotate``: the rotation in the order that keeps every proof verifiable.

An item still waiting for its batch when the service stops is anchored by the old key's batch
before the old key is retired; the new key is registered, the old one retired on chain, and
the restarted service signs with the new key. A case bundle exported afterwards (entries signed
by both keys) verifies against the new trust root, and the service still answers for what the
old key signed. A second run of the command rotates again (it finishes what it finds)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from notary.chain.embedded import EmbeddedChain
from notary.core.bundle import parse_key_history
from notary.core.trustroot import kid_thumbprint, verify_trust_root
from notary.keyfiles import load_key_history
from notary.service.rotation import RotationRefused, _unanchored, rotate_signing_key
from tests.pinning.conftest import (
    CASE,
    WELL_KNOWN,
    answer,
    describe,
    sample_files,
    start_deployment,
    verify,
)
from tests.support import REPO, LiveServer, free_port, wait_until

pytestmark = [pytest.mark.chain]


def test_rotate_anchors_what_waits_then_swaps_the_keys(
        anvil: EmbeddedChain, tmp_path: Path) -> None:
    first = start_deployment(tmp_path / "home", anvil, sample_files()[:2])
    settings = first.server.settings
    old_kid = first.server.service.signing_key.kid
    # The worker stops first (as at a shutdown between batches): the next item waits.
    assert first.server.service.worker is not None
    first.server.service.worker.stop()
    waiting = first.server.client(first.collector).post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": CASE, "kind": "notice"}), "application/json"),
        "file": ("notice.txt", b"a notice still waiting for its batch", "text/plain")})
    assert waiting.status_code == 201, waiting.text
    item = waiting.json()["id"]
    admin = first.server.client(first.admin)
    assert admin.get(f"/v1/evidence/{item}").json()["status"] == "pending"

    # While a service anchors it holds the lease: the rotation refuses, changing nothing.
    first.server.service.worker.lease.try_acquire()
    with pytest.raises(RotationRefused) as running:
        rotate_signing_key(settings, timeout=5)
    assert running.value.code == "rotation_service_running"
    assert first.registry.signing_key(kid_thumbprint(old_kid)).retired is False
    first.server.service.worker.lease.release()
    first.server.stop()
    # The item and its 'registered' event wait for their batch (the first two items filled one).
    assert _unanchored(first.server.service.engine) >= 2

    done = rotate_signing_key(settings, timeout=120)
    assert done.old_kid == old_kid and done.new_kid != old_kid
    assert done.anchored >= 1  # the waiting item, by the old key's batch
    assert done.retired.retired and done.registered.registered
    assert done.registered.registered_block <= done.retired.retired_block
    _, periods = parse_key_history(load_key_history(settings.keys_dir))
    assert periods[old_kid].valid_until is not None and periods[done.new_kid].valid_until is None
    assert not (settings.keys_dir / "signing-key.pem.next").exists()

    server = LiveServer(replace(settings, port=free_port()))
    try:
        assert server.service.signing_key.kid == done.new_kid
        admin = server.client(first.admin)
        old_item = admin.get(f"/v1/evidence/{item}")
        assert old_item.status_code == 200, old_item.text  # signed by the old key, still ours
        assert old_item.json()["status"] == "anchored"
        assert old_item.json()["anchor"]["block_number"] < done.retired.retired_block
        fresh = server.client(first.collector).post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": CASE, "kind": "agreement"}),
                         "application/json"),
            "file": ("agreement.txt", b"signed by the new key", "text/plain")})
        assert fresh.status_code == 201, fresh.text
        assert server.service.worker is not None
        server.service.worker.poke()
        wait_until(lambda: admin.get(f"/v1/evidence/{fresh.json()['id']}").json()["status"]
                   == "anchored", timeout=60)
        bundle = admin.get(f"/v1/cases/{CASE}/bundle")
        assert bundle.status_code == 200, bundle.text
        trust_root = server.client().get(WELL_KNOWN).content
    finally:
        server.stop()
    root = verify_trust_root(trust_root).root
    assert {k.kid for k in root.signing_keys} == {old_kid, done.new_kid}
    report = verify(bundle.content, trust_root=trust_root, rpc=anvil.url)
    assert report["result"] == "valid", describe(report)
    assert answer(report, "issuer")["status"] == "pass"


def test_the_command_says_so_when_it_cannot_rotate(tmp_path: Path) -> None:
    """A home that was never initialised: refused in both languages, exit 2, nothing made."""
    env = {"PATH": "/usr/bin:/bin", "NOTARY_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    done = subprocess.run([sys.executable, "-m", "notary.cli", "signing-key", "rotate"],
                          cwd=REPO, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.startswith("error home_not_initialised: 未找到")
    assert "Traceback" not in done.stderr
    assert list((tmp_path / "home").iterdir()) == []
