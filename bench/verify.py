"""Item 6: offline verification of one item's proof bundle and of a case of 10,000 items.

The per-item checks a bundle verification consists of are measured on 10,000 items in process
(``notary.core.verify.verify_evidence``: the statement's JWS signature and canonical form, the
file digest, the leaf and its Merkle proof, the anchor facts; no archive).

Real bundles come through the public API: ``notary run`` (its own NOTARY_HOME and anvil)
notarises a small case submitted over HTTP, anchors it, and serves that case's hashes-only
bundle and one item's; both are verified offline, in process (``verify_bundle_file``, the
function behind ``notary verify``) and with the ``notary verify`` command (a new process: its
time includes starting Python). A real 10,000-item case over HTTP does not fit in the run (it
would have to be notarised first): its verification time is extrapolated from the small case's
per-item time, and says so; bench/export.py exports and verifies a synthetic case of that size.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import traceback
import urllib.request
from pathlib import Path
from typing import Any

from bench.data import leaf_values
from bench.load import _pending
from bench.procs import VENV_BIN, NotaryServer, log, median, run_measured, wait_for
from notary.core.digest import FileDigest
from notary.core.merkle import MerkleTree, statement_leaf
from notary.core.signing import SigningKey, jwks, sign_statement
from notary.core.statement import EvidenceKind, Statement
from notary.core.verdict import AnchorFacts
from notary.core.verify import verify_evidence

WELL_KNOWN = "/.well-known/notary-trust-root.json"  # where the service publishes its trust root


def _case(n: int) -> tuple[list[tuple[str, FileDigest, list[bytes]]], AnchorFacts, dict[str, Any]]:
    key = SigningKey.generate()
    items = []
    prev = None
    for seq, (_t, sha, _d) in enumerate(leaf_values(n, f"verify-{n}"), start=1):
        st = Statement(evidence_id=f"ev_{seq:032x}", case_id="HX-BENCH", case_seq=seq,
                       prev_statement=prev, kind=EvidenceKind.CALL_RECORDING,
                       media_type="audio/wav", size=123_456, sha256=sha.hex(),
                       file_name=f"call-{seq}.wav", received_at="2026-11-29T12:00:00.123456Z",
                       submitter="apikey:bench")
        digest = st.digest()
        prev = digest.hex()
        items.append((sign_statement(st, key), FileDigest(sha, 123_456), digest, sha))
    tree = MerkleTree.build([statement_leaf(d, s) for _j, _f, d, s in items])
    anchor = AnchorFacts(chain_id=31337, contract="0x" + "ab" * 20, batch_id=7, root=tree.root,
                         block_number=42, block_hash="0x" + "cd" * 32,
                         block_timestamp=1_790_000_000, tx_hash="0x" + "ef" * 32)
    out = [(jws, fd, tree.proof_for(statement_leaf(d, s))) for jws, fd, d, s in items]
    return out, anchor, jwks([key.public_jwk()])


def _verify_all(items: list[tuple[str, FileDigest, list[bytes]]], anchor: AnchorFacts,
                keys: dict[str, Any]) -> float:
    t0 = time.perf_counter()
    for jws, fd, proof in items:
        verdict = verify_evidence(statement_jws=jws, jwks=keys, file_digest=fd, proof=proof,
                                  root=anchor.root, claimed_anchor=anchor, observed_anchor=anchor)
        if verdict.result != "valid":
            raise RuntimeError(f"verification failed: {verdict.to_json()}")
    return time.perf_counter() - t0


def _primitives(n: int, trials: int) -> dict[str, Any]:
    log(f"verify: core primitives, 1 item and a case of {n:,} items")
    one, anchor1, keys1 = _case(1)
    single = [_verify_all(one, anchor1, keys1) for _ in range(max(trials, 5))]
    many, anchor, keys = _case(n)
    case = [_verify_all(many, anchor, keys) for _ in range(trials)]
    log(f"  1 item {median(single) * 1e3:.2f} ms; {n:,} items {median(case):.2f}s")
    return {"kind": "primitives", "one_seconds": median(single), "case_items": n,
            "case_seconds": median(case), "case_seconds_all": case}


def _download(server: NotaryServer, path: str, out: Path) -> int:
    req = urllib.request.Request(server.url + path + "?hashes_only=true",
                                 headers={"Authorization": f"Bearer {server.admin_key}"})
    with urllib.request.urlopen(req, timeout=600) as resp, open(out, "wb") as fh:
        shutil.copyfileobj(resp, fh, 1 << 20)
    return out.stat().st_size


def _check(path: Path, server: NotaryServer) -> tuple[float, str]:
    """``verify_bundle_file`` as ``notary verify --trust-root URL --rpc URL`` calls it: the
    service's trust root pinned, its chain node read (without them the verdict is at best
    "not established", and the chain's checks are skipped)."""
    from notary.bundles.check import verify_bundle_file
    from notary.cli.chainview import reader
    from notary.cli.trustsource import pin_trust_root

    pinned = pin_trust_root(server.url + WELL_KNOWN, None, None)
    assert pinned is not None
    chain = reader(_chain_url(server))
    t0 = time.perf_counter()
    with open(path, "rb") as fh:
        checked = verify_bundle_file(fh, trust_root=pinned.verified, chain=chain)
    return time.perf_counter() - t0, checked.verdict.result


def _chain_url(server: NotaryServer) -> str:
    return f"http://127.0.0.1:{server.chain_port}"


def _cli(path: Path, server: NotaryServer) -> float:
    run = run_measured([str(VENV_BIN / "notary"), "verify", str(path), "--json",
                        "--trust-root", server.url + WELL_KNOWN, "--rpc", _chain_url(server)])
    result = json.loads(run.stdout).get("result") if run.stdout.strip() else None
    if result != "valid":
        raise RuntimeError(f"notary verify {path.name}: {result} {run.stderr[-500:]}")
    return run.seconds


def _bundles(tmp: Path, n: int, trials: int) -> dict[str, Any]:
    """Through the public API: submit ``n`` small files into one case, wait until they are
    anchored, download the case's and one item's hashes-only bundles (timing the export),
    verify both offline."""
    case_id = "HX-BENCH-VERIFY"
    server = NotaryServer(tmp / "verify-home", env={"NOTARY_BATCH_SECONDS": "1"})
    try:
        log(f"verify: a case of {n} small files over HTTP, anchored, exported as bundles")
        out = tmp / "verify-loadgen.json"
        gen = run_measured([sys.executable, "-m", "bench.loadgen", "--url", server.url,
                            "--token", server.admin_key, "--seconds", "300", "--concurrency",
                            "4", "--count", str(n), "--case", case_id, "--out", str(out)],
                           timeout=400)
        if gen.returncode != 0:
            raise RuntimeError(f"loadgen failed: {gen.stderr[-1000:]}")
        ids = json.loads(out.read_text())["ids"]
        if not wait_for(lambda: _pending(server.db_path()) == 0, 120, interval=0.5):
            raise RuntimeError("the case was not anchored within 120 s")
        one_path, case_path = tmp / "item-bundle.zip", tmp / "case-bundle.zip"
        t0 = time.perf_counter()
        one_size = _download(server, f"/v1/evidence/{ids[0]}/bundle", one_path)
        t1 = time.perf_counter()
        case_size = _download(server, f"/v1/cases/{case_id}/bundle", case_path)
        t2 = time.perf_counter()
        # verified while the service and its chain still answer (trust root, anchors)
        one_runs = [_check(one_path, server) for _ in range(max(trials, 5))]
        case_runs = [_check(case_path, server) for _ in range(trials)]
        bad = {r for _t, r in one_runs + case_runs} - {"valid"}
        if bad:
            raise RuntimeError(f"bundle verification gave {bad}")
        one_cli, case_cli = _cli(one_path, server), _cli(case_path, server)
    finally:
        server.stop()
    items = len(ids)
    result = {
        "kind": "bundle", "one_seconds": median([t for t, _r in one_runs]),
        "one_cli_seconds": one_cli, "one_bundle_bytes": one_size,
        "one_export_seconds": t1 - t0, "small_case_items": items,
        "small_case_seconds": median([t for t, _r in case_runs]),
        "small_case_cli_seconds": case_cli, "small_case_bundle_bytes": case_size,
        "small_case_export_seconds": t2 - t1,
    }
    log(f"  one item: export {t1 - t0:.1f}s, verify {result['one_seconds'] * 1e3:.0f} ms in "
        f"process, {result['one_cli_seconds']:.2f}s `notary verify`; case of {items}: export "
        f"{t2 - t1:.1f}s, verify {result['small_case_seconds'] * 1e3:.0f} ms "
        f"({case_size / 1e6:.1f} MB)")
    return result


def run(tmp: Path | None = None, *, n: int = 10_000, bundle_items: int = 10,
        trials: int = 3) -> dict[str, Any]:
    """The core checks measured on ``n`` items; with ``tmp``, also real bundles: one item's,
    and a case of ``bundle_items`` whose per-item cost is extrapolated to ``n`` (exporting a
    case bundle costs seconds per item, see results.md, so ``n`` real items do not fit)."""
    result = _primitives(n, trials)
    if tmp is None:
        return result
    try:
        bundles = _bundles(tmp, bundle_items, trials)
    except Exception as exc:  # noqa: BLE001 - reported; the primitives stand alone
        log(f"  bundles could not be measured ({type(exc).__name__}: {exc})")
        result["bundle_error"] = "".join(traceback.format_exception_only(exc)).strip()
        return result
    per_item = bundles["small_case_seconds"] / bundles["small_case_items"]
    bundles["case_seconds_extrapolated"] = per_item * n
    bundles["case_bundle_bytes_extrapolated"] = (bundles["small_case_bundle_bytes"]
                                                 / bundles["small_case_items"] * n)
    bundles["case_export_seconds_extrapolated"] = (bundles["small_case_export_seconds"]
                                                   / bundles["small_case_items"] * n)
    result["bundle"] = bundles
    return result
