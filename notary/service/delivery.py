"""The webhook delivery worker: send what the outbox holds, retry with backoff, record each
outcome.

Each API process runs one worker. A worker claims due deliveries in a short transaction
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the transaction's ``BEGIN IMMEDIATE``
serialises claims), pushing each row's ``next_attempt_at`` ahead by a lease and naming itself
in ``leased_by``: another process skips the row until the lease ends, and a worker that dies
mid-send loses it then, so the row is sent again (at least once, under the same id). Sends run
in a small thread pool, one delivery per endpoint and at most :data:`PER_TENANT` per tenant at
a time, each attempt as a whole bounded by a time limit (every socket operation waits at most
what is left of it): a receiver that hangs or dribbles its answer holds one thread that long,
and one tenant's receivers hold at most its share. An attempt that ends wakes the worker, so a
backlog drains at the receiver's pace, not at the poll's.

An attempt succeeds on a 2xx answer. Otherwise the row waits the next step of the backoff
(with jitter, at least what ``Retry-After`` asks on 429 or 503) and after the last step it is
``failed``. The receiver's address is resolved on every attempt and refused if private (unless
allowed), the connection goes to the address checked, redirects are not followed, and at most
:data:`MAX_ANSWER` bytes of the answer are read. Neither secrets nor bodies are logged.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import os
import random
import secrets
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpcore
from httpcore import SOCKET_OPTION
from sqlalchemy import Engine
from sqlmodel import col, select

from notary.core.errors import KeyMaterialError, NotaryError
from notary.service.itemkeys import SecretBox
from notary.service.webhooks import check_url, open_secret, resolve
from notary.webhook import sign
from storage.db import WebhookDelivery, WebhookEndpoint, session

log = logging.getLogger("notary.webhooks")

MAX_ANSWER = 64 * 1024
#: The longest wait a ``Retry-After`` can ask for.
MAX_RETRY_AFTER = 86400.0
SENDERS = 8
#: At most this many attempts of one tenant in flight per process: one tenant's receivers, however
#: slow, leave the other senders to the other tenants.
PER_TENANT = 2
USER_AGENT = "notary-webhooks/1"


@dataclass(frozen=True)
class Claim:
    """One attempt this worker has claimed."""

    id: str
    endpoint_id: str
    url: str
    secret: str
    payload: str
    tenant: str = ""


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date), or None when absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def send(claim: Claim, *, timeout: float, allow_private: bool) -> Outcome:
    """One signed POST of ``claim`` to its endpoint, to the addresses just checked (the next
    one only when a connection to the previous one could not be made: nothing was sent).
    The whole attempt ends by ``timeout``: every socket operation waits at most the time the
    attempt has left, so a receiver dribbling its answer cannot hold the sender longer."""
    try:
        scheme, host, port = check_url(claim.url)
        addresses = resolve(host, port, allow_private=allow_private)
    except NotaryError as exc:
        return Outcome(None, exc.code)
    body = claim.payload.encode()
    stamp = int(time.time())
    headers = {"host": urlsplit(claim.url).netloc, "content-type": "application/json",
               "user-agent": USER_AGENT, "webhook-id": claim.id,
               "webhook-timestamp": str(stamp),
               "webhook-signature": sign(claim.secret, claim.id, stamp, body)}
    backend = _Bounded(time.monotonic() + timeout)
    outcome = Outcome(None, "connection failed")
    with httpcore.ConnectionPool(network_backend=backend, max_connections=1) as pool:
        for address in addresses:
            if backend.left() <= 0:
                return Outcome(None, "timeout")
            try:
                return _post(pool, _at(claim.url, scheme, address, port), host, body, headers,
                             timeout)
            except httpcore.ConnectError as exc:
                outcome = Outcome(None, f"connection failed: {type(exc).__name__}")
            except httpcore.TimeoutException:
                return Outcome(None, "timeout")
            except (httpcore.NetworkError, httpcore.ProtocolError,
                    httpcore.UnsupportedProtocol) as exc:
                return Outcome(None, f"connection failed: {type(exc).__name__}")
    return outcome


class _Bounded(httpcore.SyncBackend):
    """httpcore's sockets, each operation bounded by what is left of the attempt's time."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def wait(self, timeout: float | None) -> float:
        """The time the next operation may take; ReadTimeout when the attempt's is up."""
        left = self.left()
        if left <= 0:
            raise httpcore.ReadTimeout("the attempt's time limit")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        stream = super().connect_tcp(host, port, self.wait(timeout), local_address,
                                     socket_options)
        return _BoundedStream(stream, self)


class _BoundedStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, backend: _Bounded) -> None:
        self.stream, self.backend = stream, backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self.backend.wait(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self.backend.wait(timeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _BoundedStream(self.stream.start_tls(ssl_context, server_hostname,
                                                    self.backend.wait(timeout)), self.backend)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


def _at(url: str, scheme: str, address: str, port: int) -> str:
    """``url`` with its host replaced by ``address`` (the one checked: no second lookup)."""
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    return urlunsplit((scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))


def _post(pool: httpcore.ConnectionPool, target: str, host: str, body: bytes,
          headers: dict[str, str], timeout: float) -> Outcome:
    limits = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    with pool.stream("POST", target, content=body, headers=list(headers.items()),
                     extensions={"timeout": limits, "sni_hostname": host}) as resp:
        read = 0
        try:
            for chunk in resp.iter_stream():
                read += len(chunk)
                if read >= MAX_ANSWER:
                    break
        except httpcore.TimeoutException:
            pass  # the status is in; the rest of the body is not waited for
        error = None if 200 <= resp.status < 300 else f"http {resp.status}"
        retry_after = next((v.decode("latin-1") for k, v in resp.headers
                            if k.lower() == b"retry-after"), None)
        wait = retry_after_seconds(retry_after) if resp.status in (429, 503) else None
        return Outcome(resp.status, error, wait)


class DeliveryWorker:
    """Sends due webhook deliveries every ``poll`` seconds until stopped."""

    def __init__(self, engine: Engine, box: SecretBox, *, backoff: tuple[float, ...],
                 timeout: float, poll: float, allow_private: bool, senders: int = SENDERS,
                 per_tenant: int = PER_TENANT) -> None:
        self.engine = engine
        self.box = box  # opens the endpoints' sealed secrets, in memory, per attempt
        self.backoff = backoff
        self.timeout = timeout
        self.poll = poll
        self.allow_private = allow_private
        self.senders = senders
        self.per_tenant = per_tenant
        # Longer than any attempt can take, so a live worker never loses its claim.
        self.lease = timedelta(seconds=2 * timeout + 30)
        self.holder = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._stop = threading.Event()
        self._wake = threading.Event()  # an attempt ended: its endpoint may have more due
        self._busy: set[str] = set()  # endpoints with an attempt in flight here
        self._running: Counter[str] = Counter()  # tenant -> its attempts in flight here
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # an attempt ended
        self._pool = ThreadPoolExecutor(senders, thread_name_prefix="webhook-send")
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="webhook-delivery", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop claiming; wait up to ``timeout`` for the attempts in flight (each ends within
        its time limit; one that has not is left to end, its row to the lease)."""
        until = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._idle:
            self._idle.wait_for(lambda: not self._busy, max(0.0, until - time.monotonic()))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.dispatch()
            except Exception:  # the worker must outlive a bad cycle
                log.exception("webhook delivery cycle failed; retrying")
            self._wake.wait(self.poll)
            self._wake.clear()

    def dispatch(self) -> int:
        """Claim what is due (one per free sender) and hand it to the senders."""
        with self._lock:
            free = self.senders - len(self._busy)
            busy = set(self._busy)
            running = Counter(self._running)
        if free <= 0:
            return 0
        claims = self.claim(free, busy, running)
        for claim in claims:
            with self._lock:
                self._busy.add(claim.endpoint_id)
                self._running[claim.tenant] += 1
            self._pool.submit(self._attempt, claim).add_done_callback(
                functools.partial(self._unless_run, claim))
        return len(claims)

    def claim(self, limit: int, busy: set[str],
              running: Mapping[str, int] | None = None) -> list[Claim]:
        """Lease up to ``limit`` due deliveries, at most one per endpoint and none of an
        endpoint in ``busy``; given the tenants' attempts ``running``, none that would put a
        tenant above :attr:`per_tenant` (its deliveries stay due, for the next turn)."""
        now = datetime.now(UTC)
        out: list[Claim] = []
        taken_of: Counter[str] = Counter(running or {})
        query = select(WebhookDelivery).where(WebhookDelivery.status == "pending",
                                              WebhookDelivery.next_attempt_at <= now)
        if busy:
            query = query.where(col(WebhookDelivery.endpoint_id).not_in(busy))
        full = {t for t, n in taken_of.items() if n >= self.per_tenant}
        if running is not None and full:
            query = query.where(col(WebhookDelivery.tenant).not_in(full))
        with session(self.engine) as s:
            due = s.exec(query.order_by(WebhookDelivery.next_attempt_at)  # type: ignore[arg-type]
                         .limit(limit * 4).with_for_update(skip_locked=True)).all()
            taken = set(busy)
            for row in due:
                if len(out) >= limit or row.endpoint_id in taken or (
                        running is not None and taken_of[row.tenant] >= self.per_tenant):
                    continue
                endpoint = s.get(WebhookEndpoint, row.endpoint_id)
                if endpoint is None or endpoint.deleted_at is not None:
                    row.status = "cancelled"
                    s.add(row)
                    continue
                try:
                    secret = open_secret(self.box, endpoint.id, endpoint.secret)
                except KeyMaterialError:
                    # Sealed under another master key: it can never be signed; say so and
                    # keep the row (the operator restores the key or rotates the secret).
                    log.error("webhook %s: the secret of endpoint %s cannot be opened with "
                              "this master key", row.id, endpoint.id)
                    row.status, row.last_error = "failed", "webhook_secret_unreadable"
                    s.add(row)
                    continue
                taken.add(row.endpoint_id)
                taken_of[row.tenant] += 1
                row.leased_by, row.next_attempt_at = self.holder, now + self.lease
                row.attempts += 1
                row.last_attempt_at = now
                s.add(row)
                out.append(Claim(row.id, row.endpoint_id, endpoint.url, secret,
                                 row.payload, row.tenant))
            s.commit()
        return out

    def _attempt(self, claim: Claim) -> None:
        try:
            outcome = send(claim, timeout=self.timeout, allow_private=self.allow_private)
            self.record(claim, outcome)
        except Exception:  # one delivery's fault must not stop the others
            log.exception("webhook %s: the attempt could not be recorded", claim.id)
        finally:
            self._release(claim)

    def _unless_run(self, claim: Claim, future: Future[None]) -> None:
        """Release ``claim`` if its attempt was cancelled by :meth:`stop` before it began."""
        if future.cancelled():
            self._release(claim)

    def _release(self, claim: Claim) -> None:
        """The attempt of ``claim`` has ended (or was cancelled before it began)."""
        with self._idle:
            self._busy.discard(claim.endpoint_id)
            self._running[claim.tenant] -= 1
            if self._running[claim.tenant] <= 0:
                del self._running[claim.tenant]
            self._idle.notify_all()
        self._wake.set()

    def record(self, claim: Claim, outcome: Outcome) -> None:
        """Store the attempt's outcome: delivered, due again after the backoff, or failed."""
        now = datetime.now(UTC)
        with session(self.engine) as s:
            row = s.exec(select(WebhookDelivery).where(WebhookDelivery.id == claim.id)
                         .with_for_update()).first()
            if row is None:
                return
            if outcome.delivered and row.status in ("pending", "cancelled"):
                row.status, row.delivered_at = "delivered", now
            elif row.status != "pending" or row.leased_by != self.holder:
                return  # cancelled, or the lease ran out and another worker has it
            elif row.attempts > len(self.backoff):
                row.status = "failed"
            else:
                wait = self.backoff[row.attempts - 1] * random.uniform(0.8, 1.2)
                if outcome.retry_after is not None:
                    wait = max(wait, min(outcome.retry_after, MAX_RETRY_AFTER))
                row.next_attempt_at = now + timedelta(seconds=wait)
            row.leased_by = None
            row.last_status_code = outcome.status_code
            row.last_error = outcome.error[:256] if outcome.error else None
            s.add(row)
            s.commit()
        if not outcome.delivered:
            log.info("webhook %s to endpoint %s: attempt failed (%s)", claim.id,
                     claim.endpoint_id, outcome.error)
