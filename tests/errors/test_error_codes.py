"""Errors by kind (issue 15 #3): every error code raised anywhere in the service is a constant,
is listed in docs/reliability.md's error table under the status it really answers with, and
never answers 500 (500 is for bugs only: ``internal_error``).

The codes are found in the source itself (``code="..."`` arguments and ``default_code = "..."``
class attributes), so a new code that nobody documented, or one raised from a class without a
kind, fails here. ``python -m tests.errors.test_error_codes`` prints the table the docs hold.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections import defaultdict
from dataclasses import dataclass

import pytest

from api.errors import STATUS_BY_KIND, status_for
from notary.core.errors import KINDS, NotaryError
from tests.support import REPO

PACKAGES = ("notary", "api", "storage")
DOCS = REPO / "docs" / "reliability.md"

# ``code=`` arguments that are not constants, and why that is right.
NOT_CONSTANT = {
    ("notary/client.py", "code"): "the client echoes the server's code",
    ("notary/core/statement.py", "exc.code"): "the JSON-limit error's own code, passed on",
    ("notary/core/validate.py", "code"): "case_id_invalid, or the caller's error's own code",
    ("notary/chain/reverts.py", "name"): "the registry contract's custom error name",
    ("notary/service/submission.py", "exc.code"): "a check code's own error re-raised as metadata",
    ("notary/core/bundle/read.py", "code"): "the parameter of the _fail helper, whose callers "
                                            "pass constants",
    ("notary/core/errors.py", "code"): "RootMismatchError passes its caller's code on",
    ("api/routes/checks.py", "'check_code_invalid' if name == 'code' else 'sha256_invalid'"):
        "one of two constants",
}
# Codes the API answers without raising them: its own handlers in api/errors.py.
HANDLER_CODES = {"request_invalid": 422, "client_disconnected": 400, "method_not_allowed": 405,
                 "internal_error": 500}


@dataclass(frozen=True)
class Raised:
    code: str
    where: str  # path:line
    cls: type[NotaryError] | None  # None: raised through a helper function


def _module_name(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _error_classes(root: type[NotaryError] = NotaryError) -> dict[str, type[NotaryError]]:
    out = {root.__name__: root}
    for sub in root.__subclasses__():
        out |= _error_classes(sub)
    return out


def _resolve(module: object, node: ast.expr) -> object:
    if isinstance(node, ast.Name):  # imported at module level, or inside the function
        return getattr(module, node.id, None) or _error_classes().get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(module, node.value)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _is_error_class(obj: object) -> bool:
    return isinstance(obj, type) and issubclass(obj, NotaryError)


def _helper_class(module: object, tree: ast.Module, name: str) -> type[NotaryError] | None:
    """The error class a helper function (``_fail(...)``) raises or returns."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            for inner in ast.walk(node):
                value = getattr(inner, "exc", None) or getattr(inner, "value", None)
                if isinstance(inner, ast.Raise | ast.Return) and isinstance(value, ast.Call):
                    target = _resolve(module, value.func)
                    if _is_error_class(target):
                        return target  # type: ignore[return-value]
    return None


def _classify(module: object, tree: ast.Module, func: ast.expr,
              enclosing: type[NotaryError] | None) -> type[NotaryError] | None:
    if (isinstance(func, ast.Attribute) and func.attr == "__init__"
            and isinstance(func.value, ast.Call)):  # super().__init__(..., code=...)
        return enclosing
    target = _resolve(module, func)
    if _is_error_class(target):
        return target  # type: ignore[return-value]
    if isinstance(func, ast.Name):
        return _helper_class(module, tree, func.id)
    return None


def _files() -> list[tuple[str, ast.Module, object]]:
    out = []
    for package in PACKAGES:
        for file in sorted((REPO / package).rglob("*.py")):
            rel = file.relative_to(REPO).as_posix()
            if rel.startswith("storage/migrations/"):  # Alembic scripts: no errors raised
                continue
            if file.name == "__main__.py":  # runs its program when imported; raises nothing
                continue
            out.append((rel, ast.parse(file.read_text(encoding="utf-8")),
                        importlib.import_module(_module_name(rel))))
    return out  # every module imported before any name is resolved


def scan() -> tuple[list[Raised], list[tuple[str, str]]]:
    """Every code raised in the service's source, and every non-constant ``code=``."""
    raised: list[Raised] = []
    dynamic: list[tuple[str, str]] = []
    for rel, tree, module in _files():
        classes: dict[ast.AST, type[NotaryError] | None] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                cls = getattr(module, node.name, None)
                for inner in ast.walk(node):
                    classes.setdefault(inner, cls if _is_error_class(cls) else None)
                for stmt in node.body:
                    if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                            and isinstance(stmt.targets[0], ast.Name)
                            and stmt.targets[0].id == "default_code"):
                        assert isinstance(stmt.value, ast.Constant), f"{rel}:{stmt.lineno}"
                        raised.append(Raised(stmt.value.value, f"{rel}:{stmt.lineno}",
                                             cls if _is_error_class(cls) else None))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg != "code":
                    continue
                if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)):
                    dynamic.append((rel, ast.unparse(kw.value).replace('"', "'")))
                    continue
                raised.append(Raised(kw.value.value, f"{rel}:{node.lineno}",
                                     _classify(module, tree, node.func, classes.get(node))))
    return raised, dynamic


def _instance(cls: type[NotaryError], code: str) -> NotaryError:
    exc = NotaryError.__new__(cls)
    exc.code, exc.message, exc.details = code, "", {}
    return exc


def status_of(r: Raised) -> int:
    return status_for(_instance(r.cls or NotaryError, r.code))


def documented() -> dict[str, set[int]]:
    """Code -> the statuses under which docs/reliability.md's error table lists it."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    out: dict[str, set[int]] = defaultdict(set)
    for line in section.splitlines():
        row = re.match(r"\|\s*(\d{3})\s*\|(.*)\|\s*$", line)
        if row:
            for code in re.findall(r"`([a-z0-9_]+)`", row.group(2)):
                out[code].add(int(row.group(1)))
    return out


RAISED, DYNAMIC = scan()


def test_the_scan_finds_the_codes() -> None:
    codes = {r.code for r in RAISED}
    assert {"case_contention", "custody_contention", "export_busy", "not_found"} <= codes
    assert len(codes) > 100


def test_every_code_is_a_constant() -> None:
    unexplained = [d for d in DYNAMIC if d not in NOT_CONSTANT]
    assert not unexplained, f"code= must be a string constant: {unexplained}"


def test_every_kind_has_a_status() -> None:
    assert set(KINDS) == set(STATUS_BY_KIND)


@pytest.mark.parametrize("raised", RAISED, ids=lambda r: f"{r.code}@{r.where}")
def test_no_code_answers_500(raised: Raised) -> None:
    assert status_of(raised) != 500, f"{raised.code} ({raised.where}) would answer 500"


@pytest.mark.parametrize("raised", RAISED, ids=lambda r: f"{r.code}@{r.where}")
def test_every_code_is_listed_under_its_status(raised: Raised) -> None:
    listed = documented()
    status = status_of(raised)
    assert raised.code in listed, f"{raised.code} ({raised.where}) is not in {DOCS.name}"
    assert status in listed[raised.code], (
        f"{raised.code} answers {status} but {DOCS.name} lists it under {listed[raised.code]}")


def test_the_handlers_codes_are_listed() -> None:
    listed = documented()
    for code, status in HANDLER_CODES.items():
        assert status in listed.get(code, set()), code


def test_contention_is_busy_with_retry_after() -> None:
    from api.errors import render
    from notary.core.errors import Contention

    for code in ("case_contention", "custody_contention"):
        answer = render(Contention("busy", code=code, retry_after=1))
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"


def table() -> str:
    """The error table for docs/reliability.md, from the source."""
    by_status: dict[int, set[str]] = defaultdict(set)
    for r in RAISED:
        by_status[status_of(r)].add(r.code)
    for code, status in HANDLER_CODES.items():
        by_status[status].add(code)
    lines = ["| status | codes |", "|---|---|"]
    for status in sorted(by_status):
        lines.append(f"| {status} | " + ", ".join(f"`{c}`" for c in sorted(by_status[status]))
                     + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
