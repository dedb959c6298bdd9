"""The Python client of a running notary service (used by the CLI's client commands and by
``notary watch``; usable as a library: ``Client.from_env().submit(path, {...})``).

Listing: ``list_evidence(case=..., status=..., since=...)`` answers one page,
``iter_evidence(...)`` every matching item, following the cursors (a reconciliation of what a
dialer sent); ``list_cases()``/``iter_cases()`` the cases the key's tenant holds, ``case(ref)``
one of them with its counts, head, legal holds and first items.

Webhooks: ``add_webhook``, ``list_webhooks``, ``remove_webhook``, ``webhook_deliveries``. Call
records: ``prove_call_number`` (is this number the call's caller or callee, with a proof);
``conduct`` (the signed conduct report) and ``conduct_document`` (its PDF or HTML).

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
from typing import Any, Literal, Self
from urllib.parse import quote

import httpx

from notary.client_answers import (
    MAX_BULK_ITEMS,
    Anchor,
    CallProof,
    Case,
    CaseDetail,
    CaseHead,
    CasePage,
    Checkpoint,
    Conduct,
    Delivery,
    DepositError,
    DepositResult,
    Evidence,
    EvidencePage,
    HashDeposit,
    Hold,
    RecordingSession,
    Webhook,
)
from notary.core.digest import digest_stream
from notary.core.errors import InputError, NotaryError
from notary.core.validate import format_rfc3339_utc
from notary.localfiles import check_readable_file, open_regular

#: The answer types live in notary.client_answers; they are named here too, where users look.
__all__ = ["MAX_BULK_ITEMS", "Anchor", "CallProof", "Case", "CaseDetail", "CaseHead", "CasePage",
           "Checkpoint", "Client", "Conduct", "Delivery", "DepositError", "DepositResult",
           "Evidence", "EvidencePage", "HashDeposit", "Hold", "RecordingSession",
           "ServiceError", "Webhook", "new_idempotency_key"]

class ServiceError(NotaryError):
    """The service answered with an error; ``code`` and ``message`` are its own and
    ``http_status`` its HTTP status (0 when it could not be reached)."""

    def __init__(self, message: str, *, code: str | None = None, http_status: int = 0,
                 **details: Any) -> None:
        super().__init__(message, code=code, **details)
        self.http_status = http_status


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

    def _check(self, resp: httpx.Response, binary: bool = False) -> Any:
        if resp.status_code >= 400:
            try:
                body = resp.json()
                message, code = str(body.get("message")), str(body.get("code", "http_error"))
            except (ValueError, AttributeError):
                raise ServiceError(f"HTTP {resp.status_code} from {self.url}",
                                   code="http_error", http_status=resp.status_code) from None
            details = body.get("details")
            facts = {k: v for k, v in details.items() if k not in ("code", "http_status")} \
                if isinstance(details, dict) else {}
            raise ServiceError(f"{message} (HTTP {resp.status_code})", code=code,
                               http_status=resp.status_code, **facts)
        return resp.content if binary else resp.json()

    def _request(self, method: str, path: str, *, repeatable: bool | None = None,
                 send: Callable[[], httpx.Response] | None = None, binary: bool = False,
                 **kw: Any) -> Any:
        """One call, retried as the module says. ``repeatable`` (default: GET only) says that
        sending it twice does what sending it once does; ``send`` makes the request itself
        (for bodies that must be opened afresh for each attempt); ``binary``: the answer's
        bytes, not its JSON."""
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
            return self._check(resp, binary)

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

    def add_webhook(self, url: str, events: list[str], *,
                    description: str | None = None) -> Webhook:
        """Register a receiver of ``events`` for this key's tenant (an admin key); the
        answer's ``secret`` is shown this once: keep it to check signatures
        (:func:`notary.webhook.verify_webhook`). Not sent twice unless the first attempt
        never reached the service (a second attempt would register a second endpoint)."""
        body: dict[str, Any] = {"url": url, "events": events}
        if description:
            body["description"] = description
        hook: Webhook = self._request("POST", "/v1/webhooks", json=body)
        return hook

    def list_webhooks(self) -> list[Webhook]:
        """The tenant's endpoints (never their secrets)."""
        hooks: list[Webhook] = self._request("GET", "/v1/webhooks")
        return hooks

    def remove_webhook(self, endpoint_id: str) -> Webhook:
        """Stop an endpoint; its waiting deliveries are cancelled. Removing twice is one
        removal (the second answers 404 ``webhook_unknown``)."""
        hook: Webhook = self._request("DELETE", f"/v1/webhooks/{quote(endpoint_id, safe='')}",
                                      repeatable=True)
        return hook

    def webhook_deliveries(self, endpoint_id: str, status: str | None = None, *,
                           limit: int = 100) -> list[Delivery]:
        """The endpoint's deliveries, newest first, with the outcome of their last attempt;
        ``status`` (pending, delivered, failed, cancelled) narrows them."""
        params: dict[str, Any] = {"limit": limit} | ({"status": status} if status else {})
        out: list[Delivery] = self._request(
            "GET", f"/v1/webhooks/{quote(endpoint_id, safe='')}/deliveries", params=params)
        return out

    def prove_call_number(self, evidence_id: str, number: str) -> CallProof:
        """Whether ``number`` (E.164 or national) is the recorded call's caller or callee,
        with a proof a third party checks (an admin or lawyer key). The number goes in the
        body, never in a URL; asking twice changes nothing, so it is retried like a GET."""
        proof: CallProof = self._request(
            "POST", f"/v1/evidence/{quote(evidence_id, safe='')}/call/prove",
            json={"number": number}, repeatable=True)
        return proof

    def conduct(self, case_id: str, begin: Moment, end: Moment, *,
                contact: str | None = None, number: str | None = None) -> Conduct:
        """The signed conduct report of a case's calls that started in ``[begin, end)``;
        ``contact`` (a callee commitment) or ``number`` (a phone number, sent in the body)
        narrows it to one contact. Check it offline with
        :data:`notary.core.conduct.CONDUCT` and the service's keys."""
        report: Conduct = self._conduct(case_id, begin, end, contact, number, "json")
        return report

    def conduct_document(self, case_id: str, begin: Moment, end: Moment, *,
                         contact: str | None = None, number: str | None = None,
                         format: Literal["pdf", "html"] = "pdf") -> bytes:
        """The same report as the bilingual document (合规通话报告), PDF or HTML bytes."""
        data: bytes = self._conduct(case_id, begin, end, contact, number, format)
        return data

    def _conduct(self, case_id: str, begin: Moment, end: Moment, contact: str | None,
                 number: str | None, format: str) -> Any:
        if contact is not None and number is not None:
            raise InputError("name the contact by its commitment or by its number, not both",
                             code="argument_conflict")
        path = f"/v1/cases/{quote(case_id, safe='')}/conduct"
        period = {"from": _moment(begin), "to": _moment(end), "format": format}
        binary = format != "json"
        if number is not None:
            return self._request("POST", f"{path}/contact", json=period | {"number": number},
                                 repeatable=True, binary=binary)
        params = period | ({"contact": contact} if contact else {})
        return self._request("GET", path, params=params, binary=binary)

    # -- recordings notarised while made (docs/recording.md) ---------------------------------

    def open_recording(self, case_id: str, *, sample_rate: int = 8000, channels: int = 1,
                       file_name: str = "recording.wav",
                       call: dict[str, Any] | None = None) -> RecordingSession:
        """Open a session when the call starts; ``call``: its record without ``ended_at``.
        Not sent twice unless the first attempt never reached the service."""
        body: dict[str, Any] = {"case_id": case_id, "sample_rate": sample_rate,
                                "channels": channels, "file_name": file_name}
        if call is not None:
            body["call"] = call
        out: RecordingSession = self._request("POST", "/v1/recordings", json=body)
        return out

    def append_segment(self, session_id: str, n: int, pcm: bytes) -> Checkpoint:
        """Segment ``n`` (16-bit little-endian PCM); its signed checkpoint. Not sent twice
        here: after a lost answer the caller sends it again and takes ``segment_duplicate``
        with ``details["same"]`` true as held (:class:`notary.recorder.RecordingStream`)."""
        out: Checkpoint = self._request(
            "PUT", f"/v1/recordings/{quote(session_id, safe='')}/segments/{int(n)}",
            content=pcm, headers={"Content-Type": "application/octet-stream"})
        return out

    def close_recording(self, session_id: str,
                        call: dict[str, Any] | None = None) -> RecordingSession:
        """Notarise the recording as one item (``evidence_id``); ``call``: the whole call
        record, or only ``{"ended_at": ...}`` when it was given at open. A close sent again
        while the first is notarising answers ``closing``: ask :meth:`recording` later."""
        out: RecordingSession = self._request(
            "POST", f"/v1/recordings/{quote(session_id, safe='')}/close",
            json={"call": call} if call is not None else {})
        return out

    def recording(self, session_id: str) -> RecordingSession:
        out: RecordingSession = self._request(
            "GET", f"/v1/recordings/{quote(session_id, safe='')}")
        return out

    def retry_recording(self, session_id: str) -> RecordingSession:
        """Close a ``failed`` session once more (an admin key)."""
        out: RecordingSession = self._request(
            "POST", f"/v1/recordings/{quote(session_id, safe='')}/retry")
        return out

    def discard_recording(self, session_id: str, reason: str) -> RecordingSession:
        """Destroy a ``failed`` session's segments and key (an admin key)."""
        out: RecordingSession = self._request(
            "POST", f"/v1/recordings/{quote(session_id, safe='')}/discard",
            json={"reason": reason})
        return out

    def recording_excerpt(self, evidence_id: str, start: str, end: str) -> bytes:
        """The excerpt ZIP proving ``start``-``end`` (``HH:MM:SS``) of a recording alone."""
        out: bytes = self._request(
            "GET", f"/v1/evidence/{quote(evidence_id, safe='')}/recording/excerpt",
            params={"from": start, "to": end}, binary=True)
        return out

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
                      certifier: dict[str, str] | None = None, conduct: bool = False,
                      conduct_period: tuple[Moment, Moment] | None = None,
                      received: Callable[[int], None] | None = None) -> int:
        """Stream a proof bundle into ``out`` (via ``out.part``, renamed when complete, so a
        broken download never looks like a bundle); returns its size in bytes. ``certifier``
        (``name``, ``title``, ``organisation``, ``key``?, ``name_zh``...) asks for a court
        certification; ``conduct`` (a case bundle) adds the case's signed conduct report, of
        ``conduct_period`` or of all its calls; ``received(bytes_so_far)`` is called as the
        download progresses."""
        path = (f"/v1/evidence/{quote(evidence_id, safe='')}/bundle" if evidence_id is not None
                else f"/v1/cases/{quote(str(case_id), safe='')}/bundle")
        params: dict[str, Any] = {"hashes_only": "true"} if hashes_only else {}
        if conduct or conduct_period is not None:
            params["conduct"] = "true"
        if conduct_period is not None:
            params |= {"conduct_from": _moment(conduct_period[0]),
                       "conduct_to": _moment(conduct_period[1])}
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
