"""Compile contracts/EvidenceRegistry.sol and read or write its committed artifact.

The runtime only ever calls :func:`load_artifact`, which reads
``notary/chain/artifacts/EvidenceRegistry.json`` from the installed package, so users who
``pip install`` notary need neither Node nor a Solidity compiler.

Developers regenerate the artifact after changing the contract with::

    python -m notary.chain.compile          # (re)write the artifact
    python -m notary.chain.compile --check  # exit 1 if the committed artifact is out of date

Compilation goes through py-solc-x with ``tools/solc.js`` as the ``solc`` binary: a shim over the
solcjs (wasm) build pinned in package.json, so nothing is ever downloaded. The settings here must
stay identical to ``SOLC_SETTINGS`` in hardhat.config.js; tests/contracts/Artifact.test.js fails
if the artifact's bytecode differs from Hardhat's.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

CONTRACT_NAME = "EvidenceRegistry"
SOURCE_UNIT = "contracts/EvidenceRegistry.sol"
ARTIFACT_RELPATH = Path("notary/chain/artifacts/EvidenceRegistry.json")
SOLC_SHIM_RELPATH = Path("tools/solc.js")

# Everything that affects the bytecode or its metadata hash. Identical to SOLC_SETTINGS in
# hardhat.config.js (no remappings, default metadata settings, same source unit names).
SETTINGS: dict[str, Any] = {
    "evmVersion": "prague",
    "optimizer": {"enabled": True, "runs": 200},
}

_OUTPUTS = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]


class CompileError(RuntimeError):
    """The contract did not compile; the message holds the compiler's error messages."""


def _standard_input(source: str) -> dict[str, Any]:
    settings = copy.deepcopy(SETTINGS)
    settings["outputSelection"] = {SOURCE_UNIT: {CONTRACT_NAME: list(_OUTPUTS)}}
    return {
        "language": "Solidity",
        "sources": {SOURCE_UNIT: {"content": source}},
        "settings": settings,
    }


def _hex(obj: str) -> str:
    return obj if obj.startswith("0x") else "0x" + obj


def compile_registry(repo_root: Path) -> dict[str, Any]:
    """Compile the EvidenceRegistry contract found under ``repo_root``.

    Needs Node and the npm packages of package.json (``solc``, ``@openzeppelin/contracts``)
    installed in ``repo_root/node_modules``. Raises :class:`CompileError` on compile errors.

    Returns the artifact: ``contractName``, ``abi``, ``bytecode`` and ``deployedBytecode``
    (0x-prefixed hex), ``compiler`` (``version``, ``settings``) and ``sourceSha256`` (hex SHA-256
    of the contract's source file).
    """
    return _compile(repo_root)[0]


def _compile(repo_root: Path) -> tuple[dict[str, Any], list[str]]:
    """The artifact and the compiler's warnings (formatted messages)."""
    import solcx
    from solcx.exceptions import SolcError, UnknownOption, UnknownValue

    repo_root = Path(repo_root).resolve()
    source_bytes = (repo_root / SOURCE_UNIT).read_bytes()
    try:
        output = solcx.compile_standard(
            _standard_input(source_bytes.decode("utf-8")),
            base_path=repo_root,
            allow_paths=[repo_root],
            solc_binary=repo_root / SOLC_SHIM_RELPATH,
        )
    except SolcError as exc:
        # Compile errors: just the compiler's messages. Anything else (the shim failed): everything.
        raise CompileError(exc.message if exc.error_dict else str(exc)) from exc
    except (UnknownOption, UnknownValue) as exc:
        raise CompileError(f"{repo_root / SOLC_SHIM_RELPATH}: {exc}") from exc
    except OSError as exc:  # e.g. no `node` on PATH
        raise CompileError(f"cannot run {repo_root / SOLC_SHIM_RELPATH}: {exc}") from exc

    try:
        contract = output["contracts"][SOURCE_UNIT][CONTRACT_NAME]
    except KeyError as exc:
        raise CompileError(f"compiler output has no {SOURCE_UNIT}:{CONTRACT_NAME}") from exc
    metadata = json.loads(contract["metadata"])
    artifact = {
        "contractName": CONTRACT_NAME,
        "abi": contract["abi"],
        "bytecode": _hex(contract["evm"]["bytecode"]["object"]),
        "deployedBytecode": _hex(contract["evm"]["deployedBytecode"]["object"]),
        "compiler": {
            "version": metadata["compiler"]["version"],
            "settings": copy.deepcopy(SETTINGS),
        },
        "sourceSha256": hashlib.sha256(source_bytes).hexdigest(),
    }
    warnings = [
        e.get("formattedMessage", e.get("message", ""))
        for e in output.get("errors", [])
        if e.get("severity") != "error"
    ]
    return artifact, warnings


def render_artifact(artifact: dict[str, Any]) -> str:
    """The artifact's canonical file contents: sorted keys, indent 2, trailing newline."""
    return json.dumps(artifact, sort_keys=True, indent=2, ensure_ascii=True) + "\n"


def write_artifact(repo_root: Path) -> Path:
    """Compile and (re)write ``notary/chain/artifacts/EvidenceRegistry.json``; return its path."""
    repo_root = Path(repo_root).resolve()
    path = repo_root / ARTIFACT_RELPATH
    text = render_artifact(compile_registry(repo_root))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def load_artifact() -> dict[str, Any]:
    """The committed artifact, read from the installed package (no compiler needed)."""
    ref = resources.files("notary.chain").joinpath("artifacts", "EvidenceRegistry.json")
    artifact: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    return artifact


def _default_repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m notary.chain.compile",
        description=f"Compile {SOURCE_UNIT} and write {ARTIFACT_RELPATH}.",
    )
    parser.add_argument("--repo-root", type=Path, default=_default_repo_root())
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the committed artifact differs from a fresh compile",
    )
    args = parser.parse_args(argv)
    repo_root: Path = args.repo_root.resolve()
    path = repo_root / ARTIFACT_RELPATH
    try:
        artifact, warnings = _compile(repo_root)
    except CompileError as exc:
        print(f"compiling {SOURCE_UNIT} failed:\n{exc}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(warning, file=sys.stderr)
    text = render_artifact(artifact)
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            print(f"{path} is out of date: run python -m notary.chain.compile", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
