"""The one exit-code table of the ``notary`` command (also in the README's "Commands").

Every command ends through these codes, so scripts can tell "the evidence is invalid" from
"you typed it wrong" from "the service is down" without reading messages.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0  # done; or the thing checked is valid
    FAILED = 1  # the thing checked is invalid/unknown, or the service refused the request
    BAD_INPUT = 2  # bad argument or file, unsafe archive, unusable trust root, no NOTARY_HOME
    UNREACHABLE = 3  # the service (NOTARY_URL) could not be reached
    TIMED_OUT = 4  # --wait: not anchored before --timeout
    NOT_ESTABLISHED = 5  # verify: nothing failed, but the issuer (or anchor) is not established
    INTERRUPTED = 130  # Ctrl-C


#: (code, meaning) in the order the README lists them.
TABLE: list[tuple[int, str]] = [
    (Exit.OK, "success; the evidence or bundle is valid"),
    (Exit.FAILED, "invalid or unknown; or the service refused (its error code is printed)"),
    (Exit.BAD_INPUT, ("bad input or unusable: bad argument, unreadable file, unsafe archive, "
                      "a trust root that cannot be read or is not the pinned one, "
                      "no initialised NOTARY_HOME, a request the service answers 400/413/415/422")),
    (Exit.UNREACHABLE, "the service at NOTARY_URL could not be reached"),
    (Exit.TIMED_OUT, "--wait: not anchored within --timeout seconds"),
    (Exit.NOT_ESTABLISHED, ("verify: nothing failed, but the issuer is not established: no trust "
                            "root was pinned (give --trust-root or --trust-root-fingerprint); "
                            "excerpt-verify: also when the anchor was not checked on a chain "
                            "(give --rpc)")),
    (Exit.INTERRUPTED, "interrupted (Ctrl-C)"),
]

# HTTP answers that mean the request itself was wrong: the user's input, not a failure.
_BAD_INPUT_STATUSES = frozenset({400, 413, 415, 422})


def for_service_error(http_status: int, code: str) -> Exit:
    """The exit code for an error answered by (or reaching) the service."""
    if http_status == 0 or code == "service_unavailable":
        return Exit.UNREACHABLE
    if http_status in _BAD_INPUT_STATUSES:
        return Exit.BAD_INPUT
    return Exit.FAILED
