"""One word per key concept (issue 15): ``api-keys`` (API keys), ``signing-key show|rotate``
(the statement-signing key), ``item-key export`` (an item's age identity). The spellings
before, ``keys``, ``keys create|revoke|list`` and ``key export``, keep working for scripts
and old notes, hidden from ``--help``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from notary.cli import build_parser
from notary.cli.exits import Exit
from tests.cli.conftest import client_env, run_notary, server_env
from tests.support import LiveServer

EV = "ev_" + "0" * 32

# (new spelling, old spelling): each pair must parse to the same handler and arguments.
SPELLINGS = [
    (["signing-key", "show"], ["keys"]),
    (["api-keys", "create", "--role", "collector", "--tenant", "huaxin", "--name", "外呼 7",
      "--label", "dialer", "--json"],
     ["keys", "create", "--role", "collector", "--tenant", "huaxin", "--name", "外呼 7",
      "--label", "dialer", "--json"]),
    (["api-keys", "revoke", "0123456789abcdef"], ["keys", "revoke", "0123456789abcdef"]),
    (["api-keys", "list", "--json"], ["keys", "list", "--json"]),
    (["item-key", "export", EV], ["key", "export", EV]),
]


def parsed(argv: list[str]) -> tuple[object, dict[str, object]]:
    args = vars(build_parser().parse_args(argv))
    handler = args.pop("handler")
    args.pop("command")
    return handler, {k: v for k, v in args.items() if not k.endswith("_command")}


@pytest.mark.parametrize(("new", "old"), SPELLINGS, ids=lambda argv: " ".join(argv[:2]))
def test_the_old_spelling_runs_what_the_new_one_runs(new: list[str], old: list[str]) -> None:
    assert parsed(old) == parsed(new)


def test_help_lists_the_new_names_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines()
              if line.startswith("    ") and line.split()}
    assert {"api-keys", "signing-key", "item-key"} <= listed
    assert not {"keys", "key"} & listed


@pytest.mark.api
@pytest.mark.chain
def test_both_spellings_on_the_services_own_data(server: LiveServer, tmp_path: Path) -> None:
    env = server_env(server)

    def notary(*argv: str, **kw: object) -> str:
        run = run_notary(*argv, env=kw.get("env", env), cwd=tmp_path)  # type: ignore[arg-type]
        assert run.returncode == Exit.OK, (argv, run.stdout, run.stderr)
        return run.stdout

    shown = json.loads(notary("signing-key", "show"))
    assert shown["keys"] and shown["keys"][0]["crv"] == "Ed25519"
    assert json.loads(notary("keys")) == shown

    made_new = json.loads(notary("api-keys", "create", "--role", "collector", "--label", "new",
                                 "--json"))
    made_old = json.loads(notary("keys", "create", "--role", "collector", "--label", "old",
                                 "--json"))
    assert notary("keys", "revoke", made_new["id"]).startswith("已撤销 / revoked key")
    assert notary("api-keys", "revoke", made_old["id"]).startswith("已撤销 / revoked key")
    listed_new = json.loads(notary("api-keys", "list", "--json"))
    assert json.loads(notary("keys", "list", "--json")) == listed_new
    revoked = {k["id"] for k in listed_new if k["revoked"]}
    assert {made_new["id"], made_old["id"]} <= revoked

    doc = tmp_path / "notice.pdf"
    doc.write_bytes(b"%PDF-1.7 notice " + os.urandom(16))
    submitted = json.loads(notary("submit", str(doc), "--case", "HX-NAMES-1", "--kind", "notice",
                                  "--json", env=client_env(server)))
    item = submitted["id"]
    identity = notary("item-key", "export", item).strip()
    assert identity.startswith("AGE-SECRET-KEY-1")
    assert notary("key", "export", item).strip() == identity
