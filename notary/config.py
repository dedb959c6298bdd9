"""One settings object for the whole service, read from the environment.

Everything has an embedded default so that `make run` works on a fresh machine: the data lives
under ``NOTARY_HOME`` (default ``./var``), the chain is an anvil node we start ourselves, the
database is SQLite. Every port is configurable and every listener binds 127.0.0.1 by default.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from notary.core.digest import sm3_available
from notary.core.errors import InputError


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _conduct_rules() -> str:
    """``NOTARY_CONDUCT_RULES`` as given, once it parses (a wrong one stops the start)."""
    from notary.core.conduct import rules_table

    text = _env("NOTARY_CONDUCT_RULES", "")
    rules_table(text)
    return text


def _env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name} must be an integer, got {raw!r}", code="config_invalid") from None
    if value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {value}", code="config_invalid")
    return value


def _env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name} must be a number, got {raw!r}", code="config_invalid") from None
    if value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {value}", code="config_invalid")
    return value


#: The operator name of a deployment that was not given one (NOTARY_OPERATOR_NAME).
DEV_OPERATOR_NAME = "开发部署，非正式运营方 / development deployment, no operator"


def _env_flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise InputError(f"{name} must be 1 or 0, got {raw!r}", code="config_invalid")


def _sm3_flag() -> bool:
    """``NOTARY_SM3``; asking for it where OpenSSL lacks SM3 stops the start."""
    wanted = _env_flag("NOTARY_SM3")
    if wanted and not sm3_available():
        raise InputError("NOTARY_SM3=1 but this Python's OpenSSL has no SM3 "
                         "(此 Python 所用 OpenSSL 不支持 SM3)", code="config_invalid")
    return wanted


def _operator_text(name: str, max_len: int) -> str:
    """An operator identity setting as the trust root will publish it (one line, no control
    or bidi characters), or empty when not set."""
    from notary.core.validate import validate_text

    raw = os.environ.get(name, "").strip()
    if raw:
        try:
            validate_text(name, raw, max_len)
        except InputError as exc:
            raise InputError(exc.message, code="config_invalid") from None
    return raw


def _operator_country() -> str:
    """ISO 3166-1 alpha-2, upper case (CN, DE...), or empty when not set."""
    raw = os.environ.get("NOTARY_OPERATOR_COUNTRY", "").strip()
    if raw and not (len(raw) == 2 and raw.isascii() and raw.isalpha()):
        raise InputError("NOTARY_OPERATOR_COUNTRY must be an ISO 3166-1 alpha-2 code such as CN, "
                         f"got {raw!r}", code="config_invalid")
    return raw.upper()


def _addresses(name: str) -> tuple[str, ...]:
    """A comma-separated list of 0x-prefixed 20-byte addresses (empty when not set)."""
    out = []
    for part in os.environ.get(name, "").split(","):
        part = part.strip()
        if not part:
            continue
        if len(part) != 42 or not part.startswith("0x") or not all(
                c in "0123456789abcdefABCDEF" for c in part[2:]):
            raise InputError(f"{name} must list 0x-prefixed addresses separated by commas, "
                             f"got {part!r}", code="config_invalid")
        out.append(part)
    return tuple(out)


def _seconds_list(name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    """A comma-separated list of positive numbers of seconds (``default`` when not set)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise InputError(f"{name} must list seconds separated by commas, got {raw!r}",
                         code="config_invalid") from None
    if any(v <= 0 for v in values):
        raise InputError(f"{name} must list positive seconds, got {raw!r}", code="config_invalid")
    return values


def _chain_id() -> int:
    """The chain id we expect. For an external chain it must be stated, never assumed: anchoring
    on the wrong chain would hand courts proofs on a chain nobody checks."""
    if os.environ.get("NOTARY_RPC_URL") and not os.environ.get("NOTARY_CHAIN_ID"):
        raise InputError("NOTARY_RPC_URL is set: also set NOTARY_CHAIN_ID to the chain id you "
                         "expect there (the service refuses to start on another chain)",
                         code="config_invalid")
    return _env_int("NOTARY_CHAIN_ID", 31337, minimum=1)


@dataclass(frozen=True)
class Settings:
    """The service's configuration. Build it with :meth:`from_env`; tests pass values directly."""

    home: Path
    host: str = "127.0.0.1"
    port: int = 8000
    chain_host: str = "127.0.0.1"
    chain_port: int = 8545
    chain_id: int = 31337
    keystore_file: Path | None = None
    keystore_passphrase: str | None = field(default=None, repr=False)
    max_fee_gwei: float | None = None
    priority_fee_gwei: float | None = None
    chain_block_time: float = 0.0
    rpc_url: str | None = None
    contract_address: str | None = None
    confirmations: int = 1
    chain_timeout: float = 60.0
    key_passphrase: str | None = field(default=None, repr=False)
    database_url: str | None = None
    batch_seconds: float = 2.0
    batch_max: int = 1000
    anchor_deadline_seconds: int = 300
    max_upload_bytes: int = 4 * 1024**3
    public_url: str | None = None
    blob_store: str = "local"
    ipfs_api: str = "/ip4/127.0.0.1/tcp/5001/http"
    anchor_worker: bool = True
    lease_seconds: float = 15.0
    replace_after_seconds: float = 60.0
    reorg_window_blocks: int = 64
    retention_seconds: float = 3600.0  # how often retention rules are applied; 0: never
    # Rate limits (notary.service.ratelimit), per minute; 0 turns a limit off. Generous by
    # default: they stop floods and key guessing, not normal use or the benchmarks.
    rate_submit_per_minute: int = 120_000
    rate_verify_per_minute: int = 6_000
    rate_auth_failures_per_minute: int = 600
    max_json_bytes: int = 1024 * 1024
    # Hostile transport (issue 13, api/middleware.py): a body that pauses longer than this is
    # cut (408); concurrent public uploads are capped overall and per client address, below
    # anyio's 40 worker threads, so that light routes always find a thread.
    body_idle_timeout: float = 30.0
    max_uploads: int = 24
    max_uploads_per_address: int = 4
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated
    # IPs or networks, or "*"). Empty: nobody's; the socket peer is the client.
    trusted_proxies: str = ""
    # RFC 3161 timestamps of batch roots (notary.tsa): off unless a TSA URL is given. The CA
    # file holds the trust roots an answer must chain to before it is kept.
    tsa_url: str | None = None
    tsa_ca_file: Path | None = None
    tsa_timeout: float = 10.0
    # Renew a root's latest token when its TSA certificate expires within this many seconds
    # (notary.service.renewal, RFC 4998): 90 days by default.
    tsa_renew_before: float = 90 * 86400.0
    # After a failed renewal, wait this many seconds before asking the TSA again.
    tsa_renew_retry: float = 600.0
    # An external chain with a development chain id (31337, 1337...) is refused unless this
    # says the deployment is a test (NOTARY_ALLOW_DEV_CHAIN=1): anyone can run such a chain
    # with any clock, so its anchors prove nothing to a court.
    allow_dev_chain: bool = False
    # Who operates this deployment, as published in its trust root (notary.core.trustroot).
    # The defaults say plainly that it is a development set-up, never a real operator.
    operator_name: str = DEV_OPERATOR_NAME
    operator_registration: str = ""
    operator_country: str = ""
    # Earlier registries of this deployment on the same chain (e.g. a version 1 registry,
    # docs/formats.md 9.9), listed in the trust root so their anchors stay attributable.
    previous_registries: tuple[str, ...] = ()
    # Proof bundle builds running at once (each costs about a second of CPU per item; one
    # per API key or share link besides): more get 503/429 ``export_busy``.
    export_builds: int = 2
    # A stored blob no evidence row references is crash debris once this old (an upload in
    # progress stores its blob moments before recording it).
    orphan_grace_seconds: float = 900.0
    # The country code put in front of a national phone number in a call record (digits).
    call_country_code: str = "86"
    # Recordings notarised while made (issue 18): a session no segment reached for this long
    # is closed with what arrived, marked incomplete; the largest segment accepted.
    recording_timeout_seconds: float = 120.0
    max_segment_bytes: int = 1024 * 1024
    # Per-tenant contact rules of the conduct report (JSON: tenant slug → rules); see
    # docs/calls.md. Tenants not named get the guideline's defaults.
    conduct_rules: str = ""
    # Webhooks (notary.service.delivery): receivers on loopback, private or link-local
    # addresses are refused (SSRF) unless allowed; the waits between attempts (seconds, the
    # last one ends in ``failed``); each attempt's time limit; how often due ones are sought.
    webhook_allow_private: bool = False
    webhook_backoff: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0, 3600.0, 10800.0, 21600.0,
                                          36000.0)
    webhook_timeout: float = 10.0
    webhook_poll_seconds: float = 1.0
    # Statements carry the file's SM3 (GB/T 32905) beside its SHA-256 (issue 19). Off by
    # default: SM3 costs about five times SHA-256's time on ingest here.
    sm3: bool = False
    # The transparency log (issue 19, docs/witness.md): its origin (the checkpoints' first
    # line and the log key's name; empty: derived from the log key), and the witnesses asked
    # to cosign each checkpoint, as "URL=VKEY" (comma-separated), with each request's limit.
    log_origin: str = ""
    log_witnesses: tuple[str, ...] = ()
    log_witness_timeout: float = 10.0
    # Second anchors (issue 19, docs/deployment.md): more EVM chains each batch root is
    # anchored on after the primary one, as "RPC_URL#CHAIN_ID" or "RPC_URL#CHAIN_ID#CONTRACT"
    # (comma-separated; see :func:`extra_anchor_specs`). Empty: the primary chain only.
    extra_anchors: tuple[str, ...] = ()
    # How many of those witnesses must have cosigned a bundle's checkpoint for a verifier to
    # answer its neutrality "pass" (the trust root's log.witness_threshold). -1: one when
    # witnesses are configured, else none (docs/witness.md §6).
    log_witness_threshold: int = -1

    @classmethod
    def from_env(cls) -> Settings:
        """Read ``NOTARY_*`` variables; raises InputError naming the variable that is wrong."""
        return cls(
            home=Path(_env("NOTARY_HOME", "./var")).resolve(),
            host=_env("NOTARY_HOST", "127.0.0.1"),
            port=_env_int("NOTARY_PORT", 8000, minimum=1),
            chain_host=_env("NOTARY_CHAIN_HOST", "127.0.0.1"),
            chain_port=_env_int("NOTARY_CHAIN_PORT", 8545, minimum=1),
            chain_id=_chain_id(),
            keystore_file=Path(os.environ["NOTARY_KEYSTORE_FILE"]).resolve()
            if os.environ.get("NOTARY_KEYSTORE_FILE") else None,
            keystore_passphrase=os.environ.get("NOTARY_KEYSTORE_PASSPHRASE") or None,
            max_fee_gwei=_env_float("NOTARY_MAX_FEE_GWEI", 0.0) or None,
            priority_fee_gwei=_env_float("NOTARY_PRIORITY_FEE_GWEI", 0.0) or None,
            chain_block_time=_env_float("NOTARY_CHAIN_BLOCK_TIME", 0.0),
            rpc_url=os.environ.get("NOTARY_RPC_URL") or None,
            contract_address=os.environ.get("NOTARY_CONTRACT_ADDRESS") or None,
            confirmations=_env_int("NOTARY_CONFIRMATIONS", 1, minimum=1),
            chain_timeout=_env_float("NOTARY_CHAIN_TIMEOUT", 60.0, minimum=1.0),
            key_passphrase=os.environ.get("NOTARY_KEY_PASSPHRASE") or None,
            database_url=os.environ.get("NOTARY_DATABASE_URL") or None,
            batch_seconds=_env_float("NOTARY_BATCH_SECONDS", 2.0, minimum=0.05),
            batch_max=_env_int("NOTARY_BATCH_MAX", 1000, minimum=1),
            anchor_deadline_seconds=_env_int("NOTARY_ANCHOR_DEADLINE_SECONDS", 300, minimum=10),
            max_upload_bytes=_env_int("NOTARY_MAX_UPLOAD_BYTES", 4 * 1024**3, minimum=1),
            public_url=os.environ.get("NOTARY_PUBLIC_URL") or None,
            blob_store=_env("NOTARY_BLOB_STORE", "local"),
            ipfs_api=_env("NOTARY_IPFS_API", "/ip4/127.0.0.1/tcp/5001/http"),
            anchor_worker=_env("NOTARY_ANCHOR_WORKER", "1") not in ("0", "false", "no"),
            lease_seconds=_env_float("NOTARY_LEASE_SECONDS", 15.0, minimum=1.0),
            replace_after_seconds=_env_float("NOTARY_REPLACE_AFTER_SECONDS", 60.0, minimum=0.1),
            reorg_window_blocks=_env_int("NOTARY_REORG_WINDOW_BLOCKS", 64, minimum=0),
            retention_seconds=_env_float("NOTARY_RETENTION_SECONDS", 3600.0, minimum=0.0),
            rate_submit_per_minute=_env_int("NOTARY_RATE_SUBMIT_PER_MINUTE", 120_000),
            rate_verify_per_minute=_env_int("NOTARY_RATE_VERIFY_PER_MINUTE", 6_000),
            rate_auth_failures_per_minute=_env_int("NOTARY_RATE_AUTH_FAILURES_PER_MINUTE", 600),
            max_json_bytes=_env_int("NOTARY_MAX_JSON_BYTES", 1024 * 1024, minimum=4096),
            body_idle_timeout=_env_float("NOTARY_BODY_IDLE_TIMEOUT", 30.0, minimum=0.1),
            max_uploads=_env_int("NOTARY_MAX_UPLOADS", 24),
            max_uploads_per_address=_env_int("NOTARY_MAX_UPLOADS_PER_ADDRESS", 4),
            trusted_proxies=_env("NOTARY_TRUSTED_PROXIES", "").strip(),
            tsa_url=os.environ.get("NOTARY_TSA_URL") or None,
            tsa_ca_file=Path(os.environ["NOTARY_TSA_CA_FILE"]).resolve()
            if os.environ.get("NOTARY_TSA_CA_FILE") else None,
            tsa_timeout=_env_float("NOTARY_TSA_TIMEOUT", 10.0, minimum=0.1),
            tsa_renew_before=_env_float("NOTARY_TSA_RENEW_BEFORE", 90 * 86400.0),
            tsa_renew_retry=_env_float("NOTARY_TSA_RENEW_RETRY", 600.0),
            allow_dev_chain=_env_flag("NOTARY_ALLOW_DEV_CHAIN"),
            operator_name=_operator_text("NOTARY_OPERATOR_NAME", 300) or DEV_OPERATOR_NAME,
            operator_registration=_operator_text("NOTARY_OPERATOR_REGISTRATION", 100),
            operator_country=_operator_country(),
            previous_registries=_addresses("NOTARY_PREVIOUS_REGISTRIES"),
            export_builds=_env_int("NOTARY_EXPORT_BUILDS", 2, minimum=1),
            orphan_grace_seconds=_env_float("NOTARY_ORPHAN_GRACE_SECONDS", 900.0),
            call_country_code=_env("NOTARY_CALL_COUNTRY_CODE", "86"),
            recording_timeout_seconds=_env_float("NOTARY_RECORDING_TIMEOUT_SECONDS", 120.0,
                                                 minimum=0.1),
            max_segment_bytes=_env_int("NOTARY_MAX_SEGMENT_BYTES", 1024 * 1024, minimum=1),
            conduct_rules=_conduct_rules(),
            webhook_allow_private=_env_flag("NOTARY_WEBHOOK_ALLOW_PRIVATE"),
            webhook_backoff=_seconds_list("NOTARY_WEBHOOK_BACKOFF", cls.webhook_backoff),
            webhook_timeout=_env_float("NOTARY_WEBHOOK_TIMEOUT", 10.0, minimum=0.1),
            webhook_poll_seconds=_env_float("NOTARY_WEBHOOK_POLL_SECONDS", 1.0, minimum=0.01),
            sm3=_sm3_flag(),
            log_origin=_env("NOTARY_LOG_ORIGIN", "").strip(),
            log_witnesses=tuple(w.strip() for w in _env("NOTARY_LOG_WITNESSES", "").split(",")
                                if w.strip()),
            log_witness_timeout=_env_float("NOTARY_LOG_WITNESS_TIMEOUT", 10.0, minimum=0.1),
            extra_anchors=tuple(w.strip() for w in _env("NOTARY_EXTRA_ANCHORS", "").split(",")
                                if w.strip()),
            log_witness_threshold=_env_int("NOTARY_LOG_WITNESS_THRESHOLD", -1, minimum=0),
        )

    @property
    def embedded_chain(self) -> bool:
        """True when we run the chain ourselves (no ``NOTARY_RPC_URL`` given)."""
        return self.rpc_url is None

    @property
    def chain_url(self) -> str:
        return self.rpc_url or f"http://{self.chain_host}:{self.chain_port}"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def chain_dir(self) -> Path:
        return self.home / "chain"

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'notary.db'}"

    @property
    def service_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def uvicorn_options(self) -> dict[str, Any]:
        """The proxy options for ``uvicorn.run``/``uvicorn.Config``. uvicorn believes
        X-Forwarded-For from 127.0.0.1 unless told otherwise, which let any local caller (or
        anything behind a local tunnel) pick its address and dodge the per-address limits; so
        forwarded headers are read only from ``NOTARY_TRUSTED_PROXIES``."""
        if not self.trusted_proxies:
            return {"proxy_headers": False, "forwarded_allow_ips": ""}
        return {"proxy_headers": True, "forwarded_allow_ips": self.trusted_proxies}

    def describe(self) -> dict[str, object]:
        """Settings as shown to operators: secrets are never included."""
        out: dict[str, object] = {}
        for f in fields(self):
            if f.name in ("key_passphrase", "keystore_passphrase"):
                out[f.name] = "(set)" if getattr(self, f.name) else "(not set)"
            else:
                out[f.name] = str(getattr(self, f.name))
        return out


@dataclass(frozen=True)
class ExtraAnchorSpec:
    """One second anchor (NOTARY_EXTRA_ANCHORS): an EVM chain's node, the chain id it must
    report, and the registry's address there (None: remembered under NOTARY_HOME, or
    deployed on first use when the service runs its own development chain)."""

    rpc_url: str
    chain_id: int
    contract: str | None = None


def extra_anchor_specs(settings: Settings) -> tuple[ExtraAnchorSpec, ...]:
    """Parse ``settings.extra_anchors``; raises InputError ``config_invalid`` on a malformed
    entry, a chain id given twice, or the primary chain's id (one anchor per chain)."""
    out: list[ExtraAnchorSpec] = []
    for entry in settings.extra_anchors:
        parts = entry.split("#")
        if len(parts) not in (2, 3) or not parts[0].startswith(("http://", "https://")) \
                or not parts[1].isdigit() or int(parts[1]) < 1 or (
                    len(parts) == 3 and re.fullmatch(r"0x[0-9a-fA-F]{40}", parts[2]) is None):
            raise InputError(f"NOTARY_EXTRA_ANCHORS: {entry!r} is not RPC_URL#CHAIN_ID or "
                             "RPC_URL#CHAIN_ID#0xCONTRACT / 格式应为 RPC_URL#链ID[#合约地址]",
                             code="config_invalid")
        spec = ExtraAnchorSpec(parts[0], int(parts[1]), parts[2] if len(parts) == 3 else None)
        if spec.chain_id == settings.chain_id or spec.chain_id in {o.chain_id for o in out}:
            raise InputError(f"NOTARY_EXTRA_ANCHORS: chain {spec.chain_id} is given twice (or is "
                             "the primary chain) / 链 ID 重复", code="config_invalid")
        out.append(spec)
    return tuple(out)
