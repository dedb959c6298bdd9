"""Item 4: build a Merkle tree and every inclusion proof for 100,000 leaves, notary against
OpenZeppelin's ``StandardMerkleTree`` in Node over the same leaves; then notary alone for
1,000,000. Each side runs in its own process, so its peak memory is its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.data import leaf_values
from bench.procs import ChildRun, log, median, run_measured

PROOF_ELEMENT_BYTES = 32


def _write_inputs(tmp: Path, n: int, *, with_json: bool) -> tuple[Path, Path | None]:
    values = leaf_values(n)
    binary = tmp / f"leaves-{n}.bin"
    binary.write_bytes(b"".join(sha + digest for _t, sha, digest in values))
    if not with_json:
        return binary, None
    js = tmp / f"values-{n}.json"
    js.write_text(json.dumps([[1, "0x" + sha.hex(), "0x" + digest.hex()]
                              for _t, sha, digest in values]))
    return binary, js


def _ours(binary: Path, *, verify: bool = False) -> tuple[dict[str, Any], ChildRun]:
    cmd = [sys.executable, "-m", "bench.tree_ours", str(binary)] + (["--verify"] if verify else [])
    run = run_measured(cmd)
    if run.returncode != 0:
        raise RuntimeError(f"tree_ours failed: {run.stderr[-2000:]}")
    out = json.loads(run.stdout)
    out["compute_ms"] = out["leaves_ms"] + out["build_ms"] + out["proofs_ms"]
    return out, run


def _summary(out: dict[str, Any], run: ChildRun, n: int) -> dict[str, Any]:
    mean_elements = out["proof_elements"] / n
    return {
        "leaves": n, "compute_seconds": out["compute_ms"] / 1e3,
        "leaf_hashing_seconds": out["leaves_ms"] / 1e3, "build_seconds": out["build_ms"] / 1e3,
        "proofs_seconds": out["proofs_ms"] / 1e3, "wall_seconds": run.seconds,
        "peak_rss_bytes": out["peak_rss_bytes"], "root": out["root"],
        "proof_elements_mean": mean_elements, "longest_proof": out.get("longest_proof"),
        "proof_bytes_mean": mean_elements * PROOF_ELEMENT_BYTES,
    }


def run(tmp: Path, *, n: int = 100_000, big_n: int = 1_000_000, trials: int = 3,
        node: bool = True) -> dict[str, Any]:
    work = tmp / "tree"
    work.mkdir(parents=True, exist_ok=True)
    binary, js = _write_inputs(work, n, with_json=node)
    result: dict[str, Any] = {}

    log(f"tree: notary, {n:,} leaves x {trials}")
    runs = [_ours(binary) for _ in range(trials)]
    best = min(runs, key=lambda r: r[0]["compute_ms"])
    ours = _summary(*best, n)
    ours["compute_seconds_all"] = [r[0]["compute_ms"] / 1e3 for r in runs]
    ours["compute_seconds_median"] = median(ours["compute_seconds_all"])
    result["ours"] = ours
    log(f"  notary: {ours['compute_seconds']:.2f}s compute (best of {trials}), "
        f"{ours['wall_seconds']:.2f}s wall, peak {ours['peak_rss_bytes'] / 2**20:.0f} MiB")

    out_v, run_v = _ours(binary, verify=True)
    result["ours_with_verify"] = _summary(out_v, run_v, n)
    log(f"  notary, also checking every proof: {out_v['compute_ms'] / 1e3:.2f}s")

    if node and js is not None:
        log(f"tree: OpenZeppelin StandardMerkleTree in Node, {n:,} leaves (slow: ~35-100 s)")
        run_oz = run_measured(["node", "bench/oz_tree.mjs", str(js)], timeout=900)
        if run_oz.returncode != 0:
            raise RuntimeError(f"oz_tree.mjs failed: {run_oz.stderr[-2000:]}")
        oz = json.loads(run_oz.stdout)
        if oz["root"] != ours["root"] or oz["proof_elements"] != best[0]["proof_elements"]:
            raise RuntimeError(f"roots differ: OpenZeppelin {oz['root']}, notary {ours['root']}")
        result["openzeppelin"] = {
            "leaves": n, "compute_seconds": (oz["of_ms"] + oz["proofs_ms"]) / 1e3,
            "of_seconds": oz["of_ms"] / 1e3, "proofs_seconds": oz["proofs_ms"] / 1e3,
            "wall_seconds": run_oz.seconds, "peak_rss_bytes": oz["peak_rss_bytes"],
            "root": oz["root"],
        }
        result["ratio_compute"] = result["openzeppelin"]["compute_seconds"] / ours["compute_seconds"]
        result["ratio_wall"] = run_oz.seconds / ours["wall_seconds"]
        log(f"  OpenZeppelin: {result['openzeppelin']['compute_seconds']:.1f}s compute, "
            f"{run_oz.seconds:.1f}s wall; ratio {result['ratio_compute']:.0f}x")

    if big_n:
        log(f"tree: notary, {big_n:,} leaves")
        big_binary, _ = _write_inputs(work, big_n, with_json=False)
        result["ours_big"] = _summary(*_ours(big_binary), big_n)
        log(f"  notary: {result['ours_big']['compute_seconds']:.2f}s compute, peak "
            f"{result['ours_big']['peak_rss_bytes'] / 2**20:.0f} MiB")
    return result
