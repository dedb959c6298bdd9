"""Fetching a trust root for ``notary verify --trust-root URL`` from servers that misbehave:
real HTTP on a loopback port. Each is refused with a code of its own (exit 2 in the CLI),
never a hang, a crash or an unbounded read."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notary.cli.trustsource import (
    TrustRootUnusable,
    fetch_trust_root,
    pin_trust_root,
    well_known_url,
)
from notary.core.trustroot import MAX_TRUST_ROOT_BYTES


class Misbehaving(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/.well-known/notary-trust-root.json":
            self._send(200, b'{"not": "a trust root"}')
        elif self.path == "/big":  # streamed without a length, past the limit
            self.send_response(200)
            self.end_headers()
            chunk = b" " * 65536
            for _ in range(MAX_TRUST_ROOT_BYTES // len(chunk) + 2):
                self.wfile.write(chunk)
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(3)
            self._send(200, b"{}")
        else:
            self._send(404, b"no")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client hangs up on /big and /slow: that is the point


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Misbehaving)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.parametrize(("path", "code"), [
    ("/big", "trust_root_too_large"),
    ("/loop", "trust_root_unreachable"),
    ("/missing", "trust_root_unreachable"),
])
def test_a_misbehaving_server_is_refused(base: str, path: str, code: str) -> None:
    with pytest.raises(TrustRootUnusable) as caught:
        fetch_trust_root(base + path)
    assert caught.value.code == code


def test_a_slow_server_times_out(base: str) -> None:
    started = time.monotonic()
    with pytest.raises(TrustRootUnusable) as caught:
        fetch_trust_root(base + "/slow", timeout=0.5)
    assert caught.value.code == "trust_root_unreachable" and "within 0.5 s" in caught.value.message
    assert time.monotonic() - started < 2.5


def test_a_site_url_means_its_well_known_document_which_must_be_a_trust_root(base: str) -> None:
    assert well_known_url(base) == base + "/.well-known/notary-trust-root.json"
    assert well_known_url(base + "/") == base + "/.well-known/notary-trust-root.json"
    assert well_known_url(base + "/roots/a.json") == base + "/roots/a.json"
    with pytest.raises(TrustRootUnusable) as caught:
        pin_trust_root(base, None)
    assert caught.value.code == "trust_root_invalid"
    assert f"from {base}/.well-known/notary-trust-root.json" in caught.value.message


def test_nothing_is_pinned_without_a_root_or_fingerprint() -> None:
    assert pin_trust_root(None, None, b"anything the bundle carries") is None
    with pytest.raises(TrustRootUnusable) as caught:
        pin_trust_root(None, "0" * 32, None)
    assert caught.value.code == "trust_root_missing"
