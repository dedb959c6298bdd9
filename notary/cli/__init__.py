"""The ``notary`` command, by audience: :mod:`.server` (operators: run, chain, worker, ...),
:mod:`.admin` (tenants, API keys, the signing key, item key export on the service's machine),
:mod:`.client` (users of a running service: submit, status, export, share, ...) and
:mod:`.offline` (verify a bundle, sign a certification: files only). Each handler parses,
calls one function, prints; exit codes come from the one table in :mod:`.exits`.

Errors print one line to stderr: ``error <code>: <message>``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from notary.cli import (
    admin,
    client,
    deposit,
    listing,
    offline,
    recording,
    server,
    watch,
    webhooks,
    witness,
)
from notary.cli.exits import Exit, for_service_error
from notary.cli.output import error
from notary.core.errors import InputError, NotaryError

Handler = Callable[[argparse.Namespace], int]

__all__ = ["Exit", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notary",
        description="Evidence notarisation: signed statements anchored on an EVM chain. "
                    "证据存证：签名声明锚定于区块链。",
        epilog="exit codes: 0 ok/valid, 1 invalid or failed, 2 bad input or unusable, "
               "3 service unreachable, 4 timed out waiting (--wait), 5 verify: issuer not "
               "established (no trust root pinned)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    server.register(sub)
    admin.register(sub)
    client.register(sub)
    deposit.register(sub)
    listing.register(sub)  # builds on the client's argument checks
    webhooks.register(sub)
    offline.register(sub)
    watch.register(sub)
    witness.register(sub)
    recording.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script. argparse's own errors exit 2 (bad input) too."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return int(handler(args))
    except InputError as exc:
        error(exc.code, exc.message)
        return Exit.BAD_INPUT
    except NotaryError as exc:
        error(exc.code, exc.message)
        http_status = getattr(exc, "http_status", None)  # notary.client.ServiceError
        return Exit.FAILED if http_status is None else for_service_error(http_status, exc.code)
    except KeyboardInterrupt:
        return Exit.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
