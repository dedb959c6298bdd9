"""Render bench/results.md from the measurements: one table (figure, ours, reference, ratio,
goal, status), the notes that explain each miss, the method, and the profile notes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MB = 1e6


@dataclass
class Row:
    figure: str
    ours: str
    reference: str = "-"
    ratio: str = "-"
    goal: str = "-"
    status: str = "-"


def _s(seconds: float) -> str:
    if seconds < 0.01:
        return f"{seconds * 1e3:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


def _mb(n: float) -> str:
    return f"{n / MB:.0f} MB"


def _gas(n: float) -> str:
    return f"{n:,.0f} gas"


def _status(ok: bool, miss: Callable[[], str], note: str | None = None) -> str:
    if ok:
        return "met"
    return f"**missed**: {miss()}" + (f" (see {note})" if note else "")


def _by(value: float, goal: float, *, higher_is_better: bool = False) -> str:
    if higher_is_better:
        return f"{value / goal:.0%} of the goal ({goal / value:.1f}x short)"
    return f"{value / goal - 1:.0%} over"


def rows(r: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    if "ingest" in r:
        ing = r["ingest"]
        size = ing["size_bytes"]
        gib = size / 2**30
        # issue 17's goals: 1.5x the reference in process, 2x over HTTP
        for key, label, note, goal in (("in_process", "in process", "[1]", 1.5),
                                       ("http", "over HTTP (loopback)", "[2]", 2.0)):
            m = ing.get(key)
            if not m or "ratio" not in m:
                continue
            out.append(Row(
                f"1. Ingest {gib:g} GiB {label}: stream, SHA-256, age, CID, store, statement "
                f"(median of {len(m['seconds'])})",
                f"{_s(m['median'])} ({size / m['median'] / MB:.0f} MB/s)",
                f"`openssl dgst -sha256`: {_s(m['openssl_median'])}",
                f"{m['ratio']:.2f}x", f"<= {goal:g}x",
                _status(m["ratio"] <= goal, lambda m=m, goal=goal: _by(m["ratio"], goal),
                        note)))
        mem = ing.get("http", {}).get("memory")
        if mem:
            peak = mem["peak_rss_bytes"]
            out.append(Row(
                f"2. Server peak RSS while receiving a {mem['upload_bytes'] / 2**30:g} GiB upload",
                f"{_mb(peak)} (idle before: {_mb(mem['rss_before_bytes'])}; upload "
                f"{_s(mem['seconds'])})", "-", "-", "<= 120 MB",
                _status(peak <= 120 * MB, lambda: _by(peak, 120 * MB), "[3]")))
    if "gas" in r:
        g = r["gas"]
        naive = g["naive"]
        out.append(Row("3. Gas of the first `anchor` ever (sets the head slot from zero)",
                       _gas(g["first_anchor_gas"]), "-", "-", "(not a goal)", "-"))
        for n, gas_used in g["anchor_gas"].items():
            items = int(n)
            ref = naive["extrapolated"][n]
            how = (f"measured over {naive['transactions']:,} txs" if items <= naive["transactions"]
                   else f"extrapolated from {naive['transactions']:,} real txs")
            out.append(Row(
                f"3. Gas of one `anchor` of a {items:,}-item batch (after the first)",
                f"{_gas(gas_used)} ({gas_used / items:,.2f} per item)",
                f"naive per-item registry: {_gas(ref)} ({naive['gas_mean']:,.0f} per item; {how})",
                (f"{ref / gas_used:,.0f}x less" if ref >= gas_used
                 else f"{gas_used / ref:.2f}x more"), "<= 60,000 gas, flat",
                _status(gas_used <= 60_000, lambda gas_used=gas_used: _by(gas_used, 60_000))))
    if "tree" in r:
        t = r["tree"]
        ours = t["ours"]
        oz = t.get("openzeppelin")
        n = ours["leaves"]
        if oz:
            ratio = t["ratio_compute"]
            out.append(Row(
                f"4. Merkle tree + every proof, {n:,} leaves (leaf hashing, build, all proofs; "
                "in-process time)",
                f"{_s(ours['compute_seconds'])} (process {_s(ours['wall_seconds'])})",
                f"`@openzeppelin/merkle-tree` (Node): {_s(oz['compute_seconds'])} "
                f"(process {_s(oz['wall_seconds'])})",
                f"{ratio:.0f}x faster", ">= 25x faster",
                _status(ratio >= 25, lambda: _by(ratio, 25, higher_is_better=True), "[4]")))
            out.append(Row(f"4. Peak memory, {n:,} leaves (whole process)",
                           _mb(ours["peak_rss_bytes"]), f"Node: {_mb(oz['peak_rss_bytes'])}",
                           f"{oz['peak_rss_bytes'] / ours['peak_rss_bytes']:.1f}x less", "-", "-"))
            vv = t.get("ours_with_verify")
            if vv:
                out.append(Row(
                    "4. The same, also checking every proof against the root (as OpenZeppelin's "
                    "`getProof` does)", _s(vv["compute_seconds"]),
                    f"Node: {_s(oz['compute_seconds'])}",
                    f"{oz['compute_seconds'] / vv['compute_seconds']:.0f}x faster", "-", "-"))
        out.append(Row(f"4. Proof size per item, {n:,} leaves",
                       f"{ours['proof_elements_mean']:.1f} hashes = {ours['proof_bytes_mean']:.0f} "
                       f"bytes (longest {ours['longest_proof']})", "identical (same tree)",
                       "-", "-", "-"))
        big = t.get("ours_big")
        if big:
            out.append(Row(
                f"4. Merkle tree + every proof, {big['leaves']:,} leaves (notary alone)",
                f"{_s(big['compute_seconds'])}; peak {_mb(big['peak_rss_bytes'])}; "
                f"{big['proof_elements_mean']:.1f} hashes = {big['proof_bytes_mean']:.0f} bytes "
                "per proof", "-", "-", "-", "-"))
    if "load" in r:
        ld = r["load"]
        rate = ld["accepted_per_second"]
        lat = ld["latency_seconds"]
        anc = ld["anchor_delay_seconds"]
        out.append(Row(
            f"5. Small files (1-64 KiB) over HTTP, {ld['concurrency']} connections for "
            f"{ld['seconds']:.0f} s: accepted per second",
            f"{rate:,.0f}/s ({ld['accepted']:,} accepted; other answers: "
            f"{_others(ld['status_counts'])}; server CPU "
            f"{ld.get('server_cpu_ms_per_accepted', float('nan')):.1f} ms per item)", "-", "-",
            ">= 1,000/s on 2 cores",
            _status(rate >= 1000, lambda: _by(rate, 1000, higher_is_better=True), "[5]")))
        out.append(Row("5. Latency of one submission (p50 / p95 / p99)",
                       f"{_s(lat['p50'])} / {_s(lat['p95'])} / {_s(lat['p99'])}", "-", "-",
                       "-", "-"))
        # issue 17: p95 <= 3 s at 100 items/s, <= 5 s at 1,000 items/s (the load's own rate)
        bound = 3 if rate < 500 else 5
        ok = anc["p95"] <= bound and ld["not_anchored"] == 0
        out.append(Row(
            f"5. Time from receipt to anchored proof (p50 / p95 / p99), at {rate:,.0f} items/s",
            f"{_s(anc['p50'])} / {_s(anc['p95'])} / {_s(anc['p99'])} ({ld['batches']} batches, "
            f"largest {ld['batch_size_max']:,}; not anchored: {ld['not_anchored']})",
            "-", "-", f"p95 <= {bound} s",
            _status(ok, lambda: _by(anc["p95"], bound), "[6]")))
        bulk = ld.get("bulk_floor")
        if bulk:
            out.append(Row(
                "5. The floor of a hash-only deposit per item, measured in process: statement, "
                "2 Ed25519 JWS, leaf, one SQLite transaction for all rows (no HTTP, no ORM)",
                f"{bulk['core_us_per_item'] + bulk['sqlite_us_per_item']:.0f} us per item = "
                f"{bulk['items_per_second_one_core']:,.0f} items/s on one core", "-", "-", "-",
                "(see [5])"))
    if "verify" in r:
        v = r["verify"]
        b = v.get("bundle")
        n = v["case_items"]
        if b:
            out.append(Row(
                "6. Verify one item's proof bundle offline (real hashes-only bundle from the API; "
                "`verify_bundle_file` in process)",
                f"{_s(b['one_seconds'])} ({b['one_bundle_bytes'] / 1e3:.0f} kB; the `notary "
                f"verify` command, a new process: {_s(b['one_cli_seconds'])})", "-", "-",
                "<= 100 ms", _status(b["one_seconds"] <= 0.1,
                                     lambda: _by(b["one_seconds"], 0.1), "[7]")))
            case_s = b["case_seconds_extrapolated"]
            out.append(Row(
                f"6. Verify a case bundle of {n:,} items offline",
                f"{_s(case_s)} extrapolated from a real {b['small_case_items']}-item case bundle "
                f"({_s(b['small_case_seconds'])}, {b['small_case_bundle_bytes'] / MB:.1f} MB; "
                f"{n:,} items would be {b['case_bundle_bytes_extrapolated'] / MB:,.0f} MB); "
                f"the per-item checks alone, measured on {n:,} items: {_s(v['case_seconds'])}",
                "-", "-", "<= 5 s",
                "judged on a real bundle of that size: row 17" if "export" in r
                else _status(case_s <= 5, lambda: _by(case_s, 5), "[7]")))
            out.append(Row(
                "6. Export of a case bundle through the API (not a goal)",
                f"{_s(b['small_case_export_seconds'])} for {b['small_case_items']} items "
                f"(one item alone: {_s(b['one_export_seconds'])}); {n:,} items extrapolated: "
                f"{b['case_export_seconds_extrapolated'] / 3600:,.1f} h", "-", "-", "-",
                "(see [8])"))
        else:
            label = "**core checks only** (JWS, statement, file digest, Merkle proof, anchor facts)"
            out.append(Row(f"6. Verify one item offline ({label})", _s(v["one_seconds"]), "-",
                           "-", "<= 100 ms", _status(v["one_seconds"] <= 0.1,
                                                     lambda: _by(v["one_seconds"], 0.1), "[7]")))
            out.append(Row(f"6. Verify {n:,} items offline ({label}; bundles could not be "
                           f"run: {v.get('bundle_error', '?')})", _s(v["case_seconds"]), "-",
                           "-", "<= 5 s", _status(v["case_seconds"] <= 5,
                                                  lambda: _by(v["case_seconds"], 5), "[7]")))
    if "export" in r:
        e = r["export"]
        n, ex, ve = e["items"], e["export"], e["verify"]
        out.append(Row(
            f"17. Export a case bundle of {n:,} items, hashes only (v3; synthetic case, the "
            "service's writer, no database)",
            f"{_s(ex['seconds'])} ({e['export_ms_per_item']:.1f} ms per item, first byte after "
            f"{_s(ex['first_byte_seconds'])}; {ex['bundle_bytes'] / MB:.0f} MB, peak RSS "
            f"{_mb(ex['peak_rss_bytes'])} of which the case's facts {_mb(ex['facts_rss_bytes'])})"
            f"; v2 rendered two certificates per item: {_s(e['v2_render_seconds_extrapolated'])}",
            "-", "-", "<= 60 s (10,000 items)",
            _status(ex["seconds"] <= 60, lambda: _by(ex["seconds"], 60), "[8]")
            if n >= 10_000 else "not judged: fewer items than the goal's"))
        out.append(Row(
            f"17. Verify that case bundle of {n:,} items offline (`verify_bundle_file` as "
            "`notary verify` calls it: the items in one process per CPU)",
            f"{_s(ve['seconds'])} ({e['verify_ms_per_item']:.2f} ms per item, "
            f"{_s(ve['cpu_seconds'])} CPU + {_s(ve.get('children_cpu_seconds', 0))} in "
            f"{ve.get('workers', 1)} workers; peak RSS {_mb(ve['peak_rss_bytes'])}; the "
            f"`notary verify` command: {_s(ve['cli_seconds']) if 'cli_seconds' in ve else '-'})",
            "-", "-",
            "<= 5 s (10,000 items)",
            _status(ve["seconds"] <= 5, lambda: _by(ve["seconds"], 5), "[7]")
            if n >= 10_000 else "not judged: fewer items than the goal's"))
    if "deposits" in r:
        dep = r["deposits"]
        floor = dep["floor"]
        best = dep.get("http", dep["in_process"])
        where = "over HTTP" if "http" in dep else "in process (HTTP failed: see results.json)"
        rate = best["items_per_second"]
        out.append(Row(
            f"17. Hash-only deposits, {best['items']:,} per `POST /v1/evidence/bulk`, {where}: "
            "statement, 3 Ed25519 JWS (statement, receipt, custody event), one transaction",
            f"{rate:,.0f} items/s = {dep['us_per_item']:.0f} us per item (in process: "
            f"{dep['in_process']['items_per_second']:,.0f}/s)",
            f"floor (2 JWS, bare SQLite): {floor['items_per_second_one_core']:,.0f}/s",
            f"{dep['ratio_to_floor']:.2f}x", ">= 3,000/s",
            _status(rate >= 3000, lambda: _by(rate, 3000, higher_is_better=True), "[9]")))
    return out


def _others(counts: dict[str, int]) -> str:
    rest = {k: v for k, v in counts.items() if k != "201"}
    return ", ".join(f"{v} x {k}" for k, v in sorted(rest.items())) or "none"


def render(r: dict[str, Any], profile_notes: Path) -> str:
    env = r["environment"]
    lines = [
        "# notary benchmarks",
        "",
        ("Written by `make bench` (`bench/run.py`); do not edit by hand. Raw numbers: "
         "`bench/results.json`. How to read them: [docs/benchmarks.md](../docs/benchmarks.md)."),
        "",
        (f"Run {env['date']} on {env['cpu']}, {env['cores']} cores, {env['memory_gib']} GiB, "
         f"Linux {env['kernel']}; Python {env['python']}, {env['openssl']}, Node {env['node']}; "
         f"commit {env['commit']}; load average at start "
         f"{', '.join(f'{x:.1f}' for x in env['load_average_at_start'])}. "
         f"Whole run: {r['total_seconds'] / 60:.1f} min."),
        "",
    ]
    if r.get("quick"):
        lines += ["**Quick run (`--quick`): small inputs, not the issue's figures.**", ""]
    lines += ["| figure | ours | reference | ratio | goal | status |",
              "|---|---|---|---|---|---|"]
    for row in rows(r):
        lines.append(f"| {row.figure} | {row.ours} | {row.reference} | {row.ratio} | {row.goal} "
                     f"| {row.status} |")
    lines += ["", ("MB = 10^6 bytes. Times are wall-clock on a shared machine; ratios compare "
                   "measurements taken back to back in the same run."), ""]
    if profile_notes.exists():
        lines += [_notes_in_use(profile_notes.read_text(), "\n".join(lines)), ""]
    return "\n".join(lines)


def _notes_in_use(text: str, table: str) -> str:
    """The notes file without the numbered notes ``[n]`` that no missed goal refers to."""
    kept = []
    for paragraph in text.strip().split("\n\n"):
        marker = paragraph.split(" ", 1)[0]
        if marker.startswith("[") and marker.endswith("]") and f"see {marker}" not in table:
            continue
        kept.append(paragraph)
    return "\n\n".join(kept)
