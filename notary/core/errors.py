"""One exception tree for the whole project.

Every error raised on purpose by notary is a :class:`NotaryError`. Callers (API, CLI,
verification tools) catch that one class, show ``message`` to a person, and use ``code``
(a short, stable, machine-readable string) to decide what to do. ``details`` holds the
structured facts behind the message (the field that was wrong, the expected and computed
values, ...), always JSON-friendly (str, int, bool, None, lists and dicts of those).

The chain, storage and API layers add their own subclasses of :class:`NotaryError`
outside this package.

Each class also has a ``kind``: what sort of failure it is (the caller's bad input, a missing
thing, a "try again" condition, ...). The API turns kinds into HTTP statuses in one place
(``api/errors.py``), so a new code raised from a class with a kind never answers 500.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "KINDS",
    "Contention",
    "InputError",
    "KeyMaterialError",
    "NotaryError",
    "ProofError",
    "RootMismatchError",
    "SignatureError",
    "StatementError",
    "UnreadableBundle",
    "UnsafeBundle",
]


# What sort of failure an error is; ``api/errors.py`` maps each to an HTTP status.
INVALID = "invalid"            # the request is malformed or breaks a rule (400/422)
UNPROCESSABLE = "unprocessable"  # well formed, but refused as it is (422)
UNAUTHORISED = "unauthorised"  # no valid credentials (401)
FORBIDDEN = "forbidden"        # valid credentials, not allowed (403)
NOT_FOUND = "not_found"        # no such thing, or not this caller's (404)
CONFLICT = "conflict"          # the state forbids it now (409)
GONE = "gone"                  # it was there and is no more (410)
TOO_LARGE = "too_large"        # over a size limit (413)
UNSUPPORTED = "unsupported"    # a media type not accepted (415)
RATE_LIMITED = "rate_limited"  # this caller asks too often (429, Retry-After)
BUSY = "busy"                  # contention or a full queue: retry soon (503, Retry-After)
UNAVAILABLE = "unavailable"    # a part the service needs is down or missing (503)
UPSTREAM = "upstream"          # a part the service needs answered wrongly (502)
STORAGE_FULL = "storage_full"  # no space to keep what was sent (507)
INTERNAL = "internal"          # the service's own fault (500): a bug, never raised on purpose
KINDS = (INVALID, UNPROCESSABLE, UNAUTHORISED, FORBIDDEN, NOT_FOUND, CONFLICT, GONE, TOO_LARGE,
         UNSUPPORTED, RATE_LIMITED, BUSY, UNAVAILABLE, UPSTREAM, STORAGE_FULL, INTERNAL)


class NotaryError(Exception):
    """Root of all notary errors.

    ``code`` is machine-readable and stable (API clients switch on it); ``message`` is one
    or more English sentences for a person; ``details`` are the structured facts.
    Subclasses set ``default_code``; a raiser may pass a more specific ``code``. ``kind``
    is the sort of failure (one of :data:`KINDS`): a plain NotaryError is the service's own
    problem with a part it depends on (``unavailable``), not the caller's.
    """

    default_code: str = "notary_error"
    kind: str = UNAVAILABLE

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message: str = message
        self.code: str = code if code is not None else self.default_code
        self.details: dict[str, Any] = dict(details)

    def diagnostics(self) -> str:
        """A multi-line, human-readable account of the error (for logs and CLI output)."""
        lines = [f"{self.message} [{self.code}]"]
        for key in sorted(self.details):
            lines.append(f"  {key}: {self.details[key]!r}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The error as a JSON object: ``{"code", "message", "details"}``."""
        return {"code": self.code, "message": self.message, "details": dict(self.details)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class InputError(NotaryError):
    """Input that does not have the required shape (a malformed hex digest, a too-long
    name, ...). ``code`` says which kind; ``details["field"]`` names the field if any."""

    default_code = "input_invalid"
    kind = INVALID


class StatementError(InputError):
    """An evidence statement that is not well formed or not canonical.

    Codes: ``statement_invalid`` (a field is wrong; ``details["field"]`` names it),
    ``statement_not_canonical`` (the bytes are not the RFC 8785 form of the statement),
    ``statement_too_large``.
    """

    default_code = "statement_invalid"


class SignatureError(NotaryError):
    """A JWS that does not verify. ``details["reason"]`` says why: ``malformed_token``,
    ``token_too_large``, ``alg_not_allowed``, ``header_invalid``, ``unknown_kid``,
    ``wrong_typ``, ``bad_signature``, ``jwks_invalid``, ``payload_invalid``."""

    default_code = "signature_invalid"
    kind = INVALID

    @property
    def reason(self) -> str:
        """The machine-readable reason (``details["reason"]``)."""
        return str(self.details.get("reason", "unspecified"))


class ProofError(NotaryError):
    """A Merkle proof that is malformed or does not lead to the expected root.
    ``details["reason"]`` is ``leaf_invalid``, ``proof_element_invalid``,
    ``proof_too_long``, ``root_invalid`` or ``root_mismatch``."""

    default_code = "proof_invalid"
    kind = INVALID

    @property
    def reason(self) -> str:
        """The machine-readable reason (``details["reason"]``)."""
        return str(self.details.get("reason", "unspecified"))


class RootMismatchError(ProofError):
    """A well-formed proof whose computed root differs from the expected root.

    Carries both roots as bytes (``expected_root``, ``computed_root``) and, in
    ``details``, as 0x-hex.
    """

    def __init__(
        self,
        message: str,
        *,
        expected_root: bytes,
        computed_root: bytes,
        code: str | None = None,
        **details: Any,
    ) -> None:
        details.setdefault("reason", "root_mismatch")
        super().__init__(
            message,
            code=code,
            expected_root="0x" + expected_root.hex(),
            computed_root="0x" + computed_root.hex(),
            **details,
        )
        self.expected_root: bytes = expected_root
        self.computed_root: bytes = computed_root


class KeyMaterialError(NotaryError):
    """A key that cannot be loaded or used: wrong passphrase, not Ed25519, malformed PEM,
    malformed JWK. ``details["reason"]`` says which."""

    default_code = "key_invalid"
    kind = INVALID

    @property
    def reason(self) -> str:
        """The machine-readable reason (``details["reason"]``)."""
        return str(self.details.get("reason", "unspecified"))


class UnreadableBundle(InputError):
    """A proof bundle that cannot be read as a notary bundle at all: not a ZIP archive, a
    truncated or corrupt one, no ``mimetype`` entry, or a bundle version this verifier does
    not know. Nothing inside it was checked; ``details["reason"]`` says why in a word."""

    default_code = "bundle_unreadable"
    kind = UNPROCESSABLE

    @property
    def reason(self) -> str:
        """The machine-readable reason (``details["reason"]``)."""
        return str(self.details.get("reason", "unspecified"))


class UnsafeBundle(UnreadableBundle):
    """A proof bundle refused before reading because it could harm the reader: a zip bomb,
    a path that leaves the bundle, a symbolic link, duplicate names, oversize documents.
    ``details["reason"]`` names the rule, ``details["member"]`` the archive entry."""

    default_code = "bundle_unsafe"


class Contention(NotaryError):
    """Concurrent requests took what this one needed (a case sequence number, a custody
    sequence number) more often than it retried: nothing was recorded, so the same request
    may simply be sent again (``details["retry_after"]`` seconds later)."""

    default_code = "contention"
    kind = BUSY
