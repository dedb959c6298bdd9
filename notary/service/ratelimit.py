"""Rate limits: an in-process token bucket per API key or per client address.

Three limits protect the service (each configurable, ``0`` turns it off):

* ``submit``: evidence submissions per API key (``NOTARY_RATE_SUBMIT_PER_MINUTE``);
* ``verify``: public verifications per client address (``NOTARY_RATE_VERIFY_PER_MINUTE``);
* ``auth_failures``: failed authentications per client address
  (``NOTARY_RATE_AUTH_FAILURES_PER_MINUTE``); once spent, the address's failing attempts get
  429, so guessing keys is throttled, while a valid key from it still passes.

A bucket holds up to one minute's allowance and refills continuously. The state lives in the
process: with several API processes (``notary run --workers N``) each enforces its own limit,
so the effective limit is N times the setting. A limit shared by all processes belongs in the
reverse proxy.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import notary.core.errors as kinds
from notary.core.errors import NotaryError

__all__ = ["RateLimited", "RateLimits", "TokenBuckets"]


class RateLimited(NotaryError):
    """Too many requests; ``details["retry_after"]`` is the number of seconds to wait."""

    kind = kinds.RATE_LIMITED

    default_code = "rate_limited"

    @property
    def retry_after(self) -> int:
        return int(self.details.get("retry_after", 1))


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """One token bucket per key (an API key id, a client address), thread-safe.

    ``per_minute`` tokens refill each minute, up to ``per_minute`` held; ``per_minute=0``
    admits everything. At most ``max_keys`` buckets are kept: full ones (which are the same as
    new ones) are forgotten first, then the least recently used.
    """

    def __init__(self, per_minute: int, *, name: str, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.name = name
        self.max_keys = max_keys
        self._rate = per_minute / 60.0
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def _refilled(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.per_minute), now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._forget(now)
        else:
            bucket.tokens = min(float(self.per_minute),
                                bucket.tokens + (now - bucket.stamp) * self._rate)
            bucket.stamp = now
            self._buckets.move_to_end(key)
        return bucket

    def _forget(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items()
                    if b.tokens + (now - b.stamp) * self._rate >= self.per_minute]:
            del self._buckets[key]
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def _wait(self, bucket: _Bucket) -> int:
        return max(1, math.ceil((1.0 - bucket.tokens) / self._rate))

    def take(self, key: str) -> None:
        """Spend one token of ``key``'s bucket; RateLimited (with ``retry_after``) if none."""
        if not self.enabled:
            return
        with self._lock:
            bucket = self._refilled(key, self._clock())
            if bucket.tokens < 1.0:
                raise self._limited(bucket)
            bucket.tokens -= 1.0

    def check(self, key: str) -> None:
        """RateLimited if ``key``'s bucket is empty; spends nothing."""
        if not self.enabled:
            return
        with self._lock:
            bucket = self._refilled(key, self._clock())
            if bucket.tokens < 1.0:
                raise self._limited(bucket)

    def charge(self, key: str) -> None:
        """Spend one token of ``key``'s bucket if there is one (never raises)."""
        if not self.enabled:
            return
        with self._lock:
            bucket = self._refilled(key, self._clock())
            bucket.tokens = max(0.0, bucket.tokens - 1.0)

    def _limited(self, bucket: _Bucket) -> RateLimited:
        wait = self._wait(bucket)
        return RateLimited(f"too many requests ({self.name}: at most {self.per_minute} a "
                           f"minute); retry in {wait} s", limit=self.name,
                           per_minute=self.per_minute, retry_after=wait)


@dataclass(frozen=True)
class RateLimits:
    """The service's three limits (see the module docstring)."""

    submit: TokenBuckets
    verify: TokenBuckets
    auth_failures: TokenBuckets

    @classmethod
    def of(cls, submit_per_minute: int, verify_per_minute: int,
           auth_failures_per_minute: int) -> RateLimits:
        return cls(TokenBuckets(submit_per_minute, name="submissions per API key"),
                   TokenBuckets(verify_per_minute, name="verifications per address"),
                   TokenBuckets(auth_failures_per_minute,
                                name="failed authentications per address"))
