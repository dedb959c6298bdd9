"""``make bench``: run every benchmark of issue 8 and write bench/results.md and results.json.

    .venv/bin/python bench/run.py [--quick] [--only ingest,gas,tree,load,verify,export,deposits]
                                  [--case-items N]

Every ratio is against a reference measured in the same run, back to back, because this
machine is shared and noisy; absolute values are reported too. Big inputs are generated in a
temporary directory and deleted. ``--quick`` shrinks every input (for trying the harness; its
numbers are not the issue's figures and it does not write the results files unless --out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.procs import log
from bench.report import render

# Each section's module is imported when it runs, so that the process measuring the in-process
# ingest first is not carrying web3 and the rest (a heavier heap made that path slower here).

SECTIONS = ("ingest", "gas", "tree", "load", "verify", "export", "deposits")


def environment() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    def output(*cmd: str) -> str:
        return subprocess.run(cmd, check=False, cwd=REPO, capture_output=True,
                              text=True).stdout.strip()

    node = output("node", "--version")
    commit = output("git", "rev-parse", "--short", "HEAD")
    dirty = output("git", "status", "--porcelain")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(), "openssl": ssl.OPENSSL_VERSION, "node": node,
        "commit": commit + ("+local changes" if dirty else ""),
        "load_average_at_start": os.getloadavg(),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small inputs, to try the harness")
    p.add_argument("--only", default=",".join(SECTIONS))
    p.add_argument("--case-items", type=int, default=None,
                   help="items of the large case exported and verified (default 10,000)")
    p.add_argument("--out", type=Path, default=None,
                   help="directory for results.md/json (default bench/, or none with --quick)")
    args = p.parse_args()
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    out_dir = args.out or (None if args.quick else REPO / "bench")

    t0 = time.monotonic()
    results: dict[str, Any] = {"environment": environment(), "quick": args.quick}
    tmp = Path(tempfile.mkdtemp(prefix="notary-bench-"))
    log(f"temporary files in {tmp}")
    try:
        if "ingest" in only:
            from bench import ingest

            results["ingest"] = (ingest.run(tmp, size=64 << 20, big_size=128 << 20, trials=2)
                                 if args.quick else ingest.run(tmp))
        if "gas" in only:
            from bench import gas

            results["gas"] = gas.run(tmp, naive_items=100 if args.quick else 1_000)
        if "tree" in only:
            from bench import tree

            results["tree"] = (tree.run(tmp, n=10_000, big_n=100_000, trials=1) if args.quick
                               else tree.run(tmp))
        if "load" in only:
            from bench import load

            results["load"] = load.run(tmp, seconds=5 if args.quick else 20)
        if "verify" in only:
            from bench import verify

            results["verify"] = verify.run(tmp, n=1_000 if args.quick else 10_000,
                                           bundle_items=3 if args.quick else 10)
        if "export" in only:
            from bench import export

            results["export"] = export.run(tmp, n=args.case_items or (
                1_000 if args.quick else 10_000))
        if "deposits" in only:
            from bench import deposits

            results["deposits"] = (deposits.run(tmp, n=500, trials=1) if args.quick
                                   else deposits.run(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["total_seconds"] = time.monotonic() - t0
    log(f"done in {results['total_seconds']:.0f}s")

    text = render(results, REPO / "bench" / "PROFILE.md")
    if out_dir is None:
        print(text)
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (out_dir / "results.md").write_text(text)
    log(f"wrote {out_dir / 'results.md'} and {out_dir / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
