"""HTTP/1.1 by hand over a real socket: for clients httpx will not be (slow, stalled, from
another loopback address, two requests on one connection)."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any

from tests.support import LiveServer


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def connect(server: LiveServer, source: str = "127.0.0.1", timeout: float = 30) -> socket.socket:
    """A connection to ``server`` from ``source`` (any 127.0.0.0/8 address works on Linux)."""
    return socket.create_connection(("127.0.0.1", server.settings.port), timeout=timeout,
                                    source_address=(source, 0))


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: notary.test", *(f"{k}: {v}" for k, v in
                                                                  headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket, timeout: float = 30) -> Answer:
    """One whole answer (Content-Length framed, or up to the close)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"the connection closed before an answer: {data!r}")
        data += chunk
    raw_head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in header_lines)}
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Answer(int(status_line.split()[1]), headers, rest[:length] if length >= 0 else rest)


MULTIPART_HEAD = {"Content-Type": "multipart/form-data; boundary=B", "Content-Length": "1000000"}
FILE_PART = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
             b"Content-Type: application/octet-stream\r\n\r\n")


def start_slow_upload(server: LiveServer, path: str = "/v1/verify", source: str = "127.0.0.1",
                      headers: dict[str, str] | None = None,
                      first: bytes = FILE_PART) -> socket.socket:
    """An upload that announces a megabyte and sends only its first bytes (for now)."""
    sock = connect(server, source)
    sock.sendall(head("POST", path, {**MULTIPART_HEAD, **(headers or {})}) + first)
    return sock
