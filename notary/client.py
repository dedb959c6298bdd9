"""The Python client of a running notary service (used by the CLI's client commands and by
``notary watch``; usable as a library: ``Client.from_env().submit(path, {...})``).

Listing: ``list_evidence(case=..., status=..., since=...)`` answers one page,
``iter_evidence(...)`` every matching item, following the cursors (a reconciliation of what a
dialer sent); ``list_cases()``/``iter_cases()`` the cases the key's tenant holds, ``case(ref)``
one of them with its counts, head, legal holds and first items.

``NOTARY_URL`` (default http://127.0.0.1:8000) and ``NOTARY_API_KEY`` configure it. Uploads
stream from disk with a progress bar on stderr; nothing is held whole in memory. It imports
neither web3 nor the database (an import-linter contract keeps it so): a collector's or a
court's machine needs only httpx.

Retries are safe by construction: a request is sent again only when the service cannot have
acted on it (the connection was refused; 429, a refusal before anything is done), or when
repeating it changes nothing (GET, a hash lookup, and a submit, which always carries an
``Idempotency-Key``: the caller's, or a fresh one for this call, so a retry after a lost answer
or a 503 is the first answer again, never a second item). Waits honour ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Self, TypedDict
from urllib.parse import quote

import httpx

from notary.core.digest import digest_stream
from notary.core.errors import NotaryError
from notary.core.validate import format_rfc3339_utc
from notary.localfiles import check_readable_file, open_regular


class ServiceError(NotaryError):
    """The service answered with an error; ``code`` and ``message`` are its own and
    ``http_status`` its HTTP status (0 when it could not be reached)."""

    def __init__(self, message: str, *, code: str | None = None, http_status: int = 0,
                 **details: Any) -> None:
        super().__init__(message, code=code, **details)
        self.http_status = http_status


class Anchor(TypedDict, total=False):
    """Where an item's batch root is anchored (``anchor`` of an evidence item)."""

    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    block_timestamp: int


class Evidence(TypedDict, total=False):
    """An evidence item as the service answers it (POST and GET /v1/evidence); the fields a
    client acts on. ``duplicate_of`` is set when the case already held these bytes."""

    id: str
    sha256: str
    size: int
    status: str  # "pending" or "anchored"
    case_id: str
    case_seq: int
    received_at: str
    anchor_deadline: str
    statement: str
    receipt: str
    check_code: str | None
    duplicate_of: str | None
    cid: str | None  # None for a hash-only deposit: nothing of the file is stored
    deposit: str | None  # "hash_only": the file was never seen by the service
    anchor: Anchor | None
    shredded_at: str | None
    legal_hold: str | None


class HashDeposit(TypedDict, total=False):
    """One hash-only deposit (``POST /v1/evidence/hashes`` and ``/bulk``): the file's
    SHA-256 and size without the file. ``client_id`` makes it idempotent."""

    client_id: str
    case_id: str
    kind: str
    sha256: str
    size: int
    file_name: str
    media_type: str
    captured_at: str
    description: str
    parties: list[dict[str, str]]


class DepositError(TypedDict):
    code: str
    message: str
    details: dict[str, Any]


class DepositResult(TypedDict):
    """One item of a bulk answer: ``evidence`` (status 201, or 200 for a ``client_id`` sent
    before with the same content) or ``error`` (its own status)."""

    index: int
    client_id: str | None
    status: int
    evidence: Evidence | None
    error: DepositError | None


#: The most deposits the service takes per bulk request; :meth:`Client.deposit_hashes` splits.
MAX_BULK_ITEMS = 5000


class EvidencePage(TypedDict):
    """A page of ``GET /v1/evidence``: ``next_cursor`` is None on the last page."""

    items: list[Evidence]
    next_cursor: str | None


class CaseHead(TypedDict):
    """The case's last statement, which the next one links to."""

    case_seq: int
    statement_digest: str
    evidence_id: str | None


class Case(TypedDict):
    """A case the key's tenant holds (``GET /v1/cases``); ``counts`` holds total, pending,
    anchored, held (legal hold) and shredded."""

    case_id: str
    holder: str
    opened_by: str
    created_at: str
    closed_at: str | None
    counts: dict[str, int]
    head: CaseHead | None


class CasePage(TypedDict):
    cases: list[Case]
    next_cursor: str | None


class Hold(TypedDict):
    evidence_id: str
    case_seq: int
    reason: str


class CaseDetail(Case):
    """``GET /v1/cases/{id}``: the case, its legal holds and its first items (oldest first;
    ``iter_evidence(case=..., order="asc")`` goes on)."""

    holds: list[Hold]
    items: list[Evidence]
    items_next_cursor: str | None
    items_url: str


Order = Literal["asc", "desc"]
Moment = datetime | str


def _moment(value: Moment | None) -> str | None:
    """An RFC 3339 string for the service; a datetime must carry its zone (InputError
    ``timestamp_naive``: its zone would be a guess)."""
    if value is None or isinstance(value, str):
        return value
    return format_rfc3339_utc(value)


#: "Not now": 429 (refused before anything was done: always sent again) and 503 (busy or a part
#: down: sent again when repeatable), after Retry-After (or the backoff).
RATE_LIMITED, UNAVAILABLE = 429, 503
MAX_RETRY_AFTER = 60.0


def new_idempotency_key() -> str:
    return f"idem-{uuid.uuid4().hex}"


class Client:
    """``retries`` extra attempts after a retryable failure, waiting ``backoff`` seconds, then
    twice that, and so on (or what ``Retry-After`` says, up to a minute)."""

    def __init__(self, url: str, api_key: str | None, timeout: float = 300.0, *,
                 retries: int = 3, backoff: float = 0.25) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.retries, self.backoff = retries, backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    @classmethod
    def from_env(cls, **options: Any) -> Client:
        return cls(os.environ.get("NOTARY_URL", "http://127.0.0.1:8000"),
                   os.environ.get("NOTARY_API_KEY"), **options)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, resp: httpx.Response) -> Any:
        if resp.status_code >= 400:
            try:
                body = resp.json()
                message, code = str(body.get("message")), str(body.get("code", "http_error"))
            except (ValueError, AttributeError):
                raise ServiceError(f"HTTP {resp.status_code} from {self.url}",
                                   code="http_error", http_status=resp.status_code) from None
            raise ServiceError(f"{message} (HTTP {resp.status_code})", code=code,
                               http_status=resp.status_code)
        return resp.json()

    def _request(self, method: str, path: str, *, repeatable: bool | None = None,
                 send: Callable[[], httpx.Response] | None = None, **kw: Any) -> Any:
        """One call, retried as the module says. ``repeatable`` (default: GET only) says that
        sending it twice does what sending it once does; ``send`` makes the request itself
        (for bodies that must be opened afresh for each attempt)."""
        repeatable = method == "GET" if repeatable is None else repeatable
        attempt = 0
        while True:
            try:
                resp = send() if send is not None else self.http.request(method, path, **kw)
            except httpx.HTTPError as exc:
                # A refused connection sent nothing; anything else may have been acted on.
                unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if attempt < self.retries and (repeatable or unsent):
                    attempt += 1
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise ServiceError(f"cannot reach {self.url}: {exc}",
                                   code="service_unavailable") from exc
            again = resp.status_code == RATE_LIMITED or (repeatable
                                                          and resp.status_code == UNAVAILABLE)
            if again and attempt < self.retries:
                attempt += 1
                time.sleep(retry_after(resp, self.backoff * 2 ** (attempt - 1)))
                continue
            return self._check(resp)

    def submit(self, path: Path, metadata: dict[str, Any], *, progress: bool = True,
               idempotency_key: str | None = None, follow_symlinks: bool = True,
               name: str | None = None) -> Evidence:
        """Notarise the file at ``path`` with ``metadata`` (``case_id``, ``kind``, optional
        ``captured_at``, ``description``...). The same ``idempotency_key`` sent again (by a
        retry, a restart) answers the first item; without one, a key is made for this call.
        Without ``follow_symlinks`` only a regular file is sent, never what a link points to
        (the watcher, reading a folder others write into). ``name``: the file name the
        statement records, instead of ``path``'s."""
        if follow_symlinks:
            check_readable_file(path)
        headers = {"Idempotency-Key": idempotency_key or new_idempotency_key()}

        def send() -> httpx.Response:
            with path.open("rb") if follow_symlinks else open_regular(path) as fh:
                size = os.fstat(fh.fileno()).st_size
                stream = (_Progress(fh, size, path.name) if progress and sys.stderr.isatty()
                          else fh)
                files: dict[str, Any] = {
                    "metadata": (None, json.dumps(metadata), "application/json"),
                    "file": (name or path.name, stream, "application/octet-stream")}
                return self.http.post("/v1/evidence", files=files, headers=headers)

        item: Evidence = self._request("POST", "/v1/evidence", repeatable=True, send=send)
        return item

    def deposit_hash(self, deposit: HashDeposit) -> Evidence:
        """Deposit a file's SHA-256 and size without the file (hash-only: every verdict says
        the service never saw it). Without a ``client_id`` one is made for this call, so a
        retry after a lost answer is the first receipt again."""
        body = {**deposit, "client_id": deposit.get("client_id") or new_idempotency_key()}
        item: Evidence = self._request("POST", "/v1/evidence/hashes", json=body,
                                       repeatable=True)
        return item

    def deposit_hashes(self, deposits: list[HashDeposit]) -> list[DepositResult]:
        """Deposit many hashes, :data:`MAX_BULK_ITEMS` per request; one result per deposit,
        in order (``index`` counts across requests). Each deposit without a ``client_id``
        gets one, so the requests are safe to send again."""
        out: list[DepositResult] = []
        for start in range(0, len(deposits), MAX_BULK_ITEMS):
            chunk = [{**d, "client_id": d.get("client_id") or new_idempotency_key()}
                     for d in deposits[start:start + MAX_BULK_ITEMS]]
            answer = self._request("POST", "/v1/evidence/bulk", json={"items": chunk},
                                   repeatable=True)
            for result in answer["items"]:
                result["index"] += start
                out.append(result)
        return out

    def status(self, evidence_id: str) -> Evidence:
        item: Evidence = self._request("GET", f"/v1/evidence/{quote(evidence_id, safe='')}")
        return item

    def list_evidence(self, *, case: str | None = None, kind: str | None = None,
                      status: str | None = None, since: Moment | None = None,
                      until: Moment | None = None, sha256: str | None = None,
                      submitter: str | None = None, order: Order = "desc", limit: int = 100,
                      cursor: str | None = None) -> EvidencePage:
        """One page of the items the key's tenant may see (its own, and those of cases it
        holds), filtered: ``since`` inclusive, ``until`` exclusive, ``submitter`` a key's id
        or name. Pass the page's ``next_cursor`` back, with the same filters, for the next."""
        params = {k: v for k, v in (
            ("case", case), ("kind", kind), ("status", status), ("since", _moment(since)),
            ("until", _moment(until)), ("sha256", sha256), ("submitter", submitter),
            ("order", order), ("limit", str(limit)), ("cursor", cursor)) if v is not None}
        page: EvidencePage = self._request("GET", "/v1/evidence", params=params)
        return page

    def iter_evidence(self, *, case: str | None = None, kind: str | None = None,
                      status: str | None = None, since: Moment | None = None,
                      until: Moment | None = None, sha256: str | None = None,
                      submitter: str | None = None, order: Order = "desc",
                      page_size: int = 1000) -> Iterator[Evidence]:
        """Every matching item, a page at a time, each once."""
        cursor: str | None = None
        while True:
            page = self.list_evidence(case=case, kind=kind, status=status, since=since,
                                      until=until, sha256=sha256, submitter=submitter,
                                      order=order, limit=page_size, cursor=cursor)
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    def list_cases(self, *, limit: int = 100, cursor: str | None = None) -> CasePage:
        """One page of the cases the key's tenant holds, by reference."""
        params = {"limit": str(limit)} | ({"cursor": cursor} if cursor is not None else {})
        page: CasePage = self._request("GET", "/v1/cases", params=params)
        return page

    def iter_cases(self, *, page_size: int = 1000) -> Iterator[Case]:
        cursor: str | None = None
        while True:
            page = self.list_cases(limit=page_size, cursor=cursor)
            yield from page["cases"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    def case(self, case_id: str, *, limit: int = 100) -> CaseDetail:
        """The case the key's tenant holds as ``case_id`` (ServiceError 404 otherwise)."""
        detail: CaseDetail = self._request("GET", f"/v1/cases/{quote(case_id, safe='')}",
                                           params={"limit": str(limit)})
        return detail

    def create_share(self, case_id: str, *, expires_in: int, label: str | None) -> Any:
        body: dict[str, Any] = {"expires_in": expires_in}
        if label:
            body["label"] = label
        return self._request("POST", f"/v1/cases/{quote(case_id, safe='')}/shares", json=body)

    def list_shares(self, case_id: str) -> Any:
        return self._request("GET", f"/v1/cases/{quote(case_id, safe='')}/shares")

    def revoke_share(self, case_id: str, share_id: str) -> Any:
        return self._request("DELETE", f"/v1/cases/{quote(case_id, safe='')}/shares/"
                                       f"{quote(share_id, safe='')}")

    def shred(self, evidence_id: str, reason: str, legal_basis: str | None = None) -> Any:
        body = {"reason": reason} | ({"legal_basis": legal_basis} if legal_basis else {})
        return self._request("POST", f"/v1/evidence/{evidence_id}/shred", json=body)

    def legal_hold(self, evidence_id: str, reason: str, *, lift: bool = False) -> Any:
        path = f"/v1/evidence/{evidence_id}/legal-hold" + ("/lift" if lift else "")
        return self._request("POST", path, json={"reason": reason})

    def create_webhook(self, url: str, events: list[str], *,
                       description: str | None = None) -> Any:
        """Register a receiver for this key's tenant (an admin key); the answer's ``secret``
        (``whsec_...``) is shown this once: keep it to check signatures
        (:func:`notary.webhook.verify_webhook`)."""
        body: dict[str, Any] = {"url": url, "events": events}
        if description:
            body["description"] = description
        return self._request("POST", "/v1/webhooks", json=body)

    def list_webhooks(self) -> Any:
        return self._request("GET", "/v1/webhooks")

    def delete_webhook(self, endpoint_id: str) -> Any:
        """Stop an endpoint; its waiting deliveries are cancelled. Deleting twice is one
        deletion (the second answers 404 ``webhook_unknown``)."""
        return self._request("DELETE", f"/v1/webhooks/{quote(endpoint_id, safe='')}",
                             repeatable=True)

    def deliveries(self, endpoint_id: str, status: str | None = None) -> Any:
        """The endpoint's deliveries, newest first, with the outcome of their last attempt."""
        params = {"status": status} if status else {}
        return self._request("GET", f"/v1/webhooks/{quote(endpoint_id, safe='')}/deliveries",
                             params=params)

    def run_retention(self, *, dry_run: bool) -> Any:
        return self._request("POST", "/v1/retention/run", json={"dry_run": dry_run})

    def verify_sha256(self, sha256: str) -> Any:
        return self._request("POST", "/v1/verify", json={"sha256": sha256}, repeatable=True)

    def verify_file(self, path: Path) -> Any:
        """Hash locally and send only the hash: the file never leaves this machine."""
        check_readable_file(path)
        with path.open("rb") as fh:
            return self.verify_sha256(digest_stream(fh).hex)

    def export_bundle(self, out: Path, *, case_id: str | None = None,
                      evidence_id: str | None = None, hashes_only: bool = False,
                      certifier: dict[str, str] | None = None,
                      received: Callable[[int], None] | None = None) -> int:
        """Stream a proof bundle into ``out`` (via ``out.part``, renamed when complete, so a
        broken download never looks like a bundle); returns its size in bytes. ``certifier``
        (``name``, ``title``, ``organisation``, ``key``?, ``name_zh``...) asks for a court
        certification; ``received(bytes_so_far)`` is called as the download progresses."""
        path = (f"/v1/evidence/{quote(evidence_id, safe='')}/bundle" if evidence_id is not None
                else f"/v1/cases/{quote(str(case_id), safe='')}/bundle")
        params = {"hashes_only": "true"} if hashes_only else {}
        params |= {f"certifier_{k}": v for k, v in (certifier or {}).items()}
        part = out.with_name(out.name + ".part")
        size = 0
        try:
            with self.http.stream("GET", path, params=params) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self._check(resp)
                # A bundle may hold decrypted originals: readable by its owner alone.
                with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                               "wb") as fh:
                    for chunk in resp.iter_bytes(1 << 20):
                        fh.write(chunk)
                        size += len(chunk)
                        if received is not None:
                            received(size)
            os.replace(part, out)
        except httpx.HTTPError as exc:
            raise ServiceError(f"cannot reach {self.url}: {exc}",
                               code="service_unavailable") from exc
        finally:
            part.unlink(missing_ok=True)
        return size


def retry_after(resp: httpx.Response, default: float) -> float:
    """Seconds to wait before asking again: the answer's ``Retry-After`` (seconds or an HTTP
    date, at most a minute) or ``default``."""
    value = resp.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return default
    return max(0.0, min(when - time.time(), MAX_RETRY_AFTER))


class _Progress:
    """A file wrapper that draws a progress bar on stderr as httpx reads it."""

    def __init__(self, fh: Any, total: int, name: str) -> None:
        self.fh, self.total, self.name, self.done = fh, max(total, 1), name, 0
        self.started = time.monotonic()

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.fh.read(n if n and n > 0 else 1 << 20)
        self.done += len(data)
        frac = self.done / self.total
        rate = self.done / max(time.monotonic() - self.started, 1e-6) / 1e6
        bar = "#" * int(frac * 30)
        sys.stderr.write(f"\r{self.name[:30]:<30} [{bar:<30}] {frac:6.1%} {rate:7.1f} MB/s")
        if not data:
            sys.stderr.write("\n")
        sys.stderr.flush()
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1 << 20):
            yield chunk
