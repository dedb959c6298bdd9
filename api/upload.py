"""Streaming multipart: read a form part by part, never holding a large file whole or on disk.

Starlette's own form parser spools file parts to temporary files, which would put readable
evidence on disk. This reader instead pulls the request body chunk by chunk from the event loop
(it runs in a worker thread) and hands the file's bytes straight to the sealing pipeline.
A small body (:data:`PREFETCH_BYTES` at most) is read in the event loop before the thread
starts (:func:`prefetched_puller`), in memory only: each chunk fetched from the thread costs a
hop to the loop and back, which for small files was a good part of a submission's CPU.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import anyio.from_thread
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from notary.core.digest import FileDigest, StreamingDigest
from notary.core.errors import InputError
from notary.service.sealing import UploadTooLarge

_RAW_FILENAME = re.compile(r'filename="((?:[^"\\]|\\.)*)"', re.IGNORECASE)
Pull = Callable[[], bytes | None]  # next body chunk, None at the end of the body


class MultipartError(InputError):
    """The body is not a well-formed multipart/form-data message."""

    default_code = "multipart_invalid"


@dataclass
class PartInfo:
    name: str
    filename: str | None
    content_type: str | None
    headers: dict[str, str] = field(default_factory=dict)


def body_puller(request: Request) -> Pull:
    """A ``pull()`` for a worker thread: each call fetches the next body chunk from the event
    loop (so back-pressure reaches the client), None at the end."""
    return _puller(request.stream().__aiter__(), deque(), ended=False)


def _puller(stream: AsyncIterator[bytes], ready: deque[bytes], *, ended: bool) -> Pull:
    """``pull()``: the chunks already ``ready``, then (unless the body ``ended``) each next
    chunk of ``stream``, fetched from the event loop; None at the end."""

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    def pull() -> bytes | None:
        if ready:
            return ready.popleft()
        if ended:
            return None
        while True:
            chunk = anyio.from_thread.run(next_chunk)
            if chunk is None or chunk:
                return chunk

    return pull


#: Bodies up to this size are read in the event loop before parsing (in memory, never on disk).
PREFETCH_BYTES = 128 * 1024


async def prefetched_puller(request: Request, length: str | None) -> Pull:
    """A ``pull()`` like :func:`body_puller`'s, whose first chunks were read here, in the event
    loop: the whole body when ``length`` (Content-Length) says it is at most
    :data:`PREFETCH_BYTES`. The body's framing, timeouts and disconnects are those of
    ``request.stream()`` either way (what fails here fails as it would in the thread), and
    what the prefetch did not reach (a body longer than announced) is pulled as usual."""
    if length is None or not length.isdigit() or int(length) > PREFETCH_BYTES:
        return body_puller(request)
    stream = request.stream().__aiter__()
    chunks: deque[bytes] = deque()
    size, ended = 0, False
    while size <= PREFETCH_BYTES:
        try:
            chunk = await stream.__anext__()
        except StopAsyncIteration:
            ended = True
            break
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
    return _puller(stream, chunks, ended=ended)


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a multipart/form-data Content-Type; MultipartError otherwise."""
    ctype, params = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data":
        raise MultipartError(
            "send the evidence as multipart/form-data with parts 'metadata' and 'file'",
            code="content_type_unsupported",
        )
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise MultipartError("the multipart boundary is missing or too long")
    return boundary


class MultipartReader:
    """Iterate parts with :meth:`next_part`, read the current one with :meth:`read`."""

    MAX_HEADER_BYTES = 16 * 1024

    def __init__(self, pull: Pull, boundary: bytes) -> None:
        self._pull = pull
        self._events: deque[tuple[str, object]] = deque()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._header_bytes = 0
        self._ended = False
        self._eof = False
        self._in_part = False
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": lambda: self._events.append(("end", None)),
            "on_end": self._on_end,
        })

    # parser callbacks -------------------------------------------------------------------------

    def _on_part_begin(self) -> None:
        self._headers = {}
        self._header_bytes = 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]
        self._count_header(end - start)

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        self._count_header(end - start)

    def _count_header(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > self.MAX_HEADER_BYTES:
            raise MultipartError("a part's headers are too large",
                                 code="multipart_headers_too_large")

    def _on_header_end(self) -> None:
        name = self._header_field.decode("latin-1").strip().lower()
        # Kept byte-for-byte (latin-1 maps each byte to one character); the part's name and
        # file name are decoded as UTF-8 below, which is what browsers and curl send.
        self._headers[name] = self._header_value.decode("latin-1").strip()
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get("content-disposition", ""))
        if disposition != b"form-data" or b"name" not in params:
            raise MultipartError("each part needs 'Content-Disposition: form-data; name=...'")
        filename = params.get(b"filename")
        raw = _RAW_FILENAME.search(self._headers.get("content-disposition", ""))
        if filename is not None and raw is not None:
            # python-multipart strips everything up to a backslash (an old IE fix); we want
            # the name exactly as sent, so that a path in it is refused rather than trimmed.
            filename = raw.group(1).replace('\\"', '"').encode("latin-1")
        try:
            part_name = params[b"name"].decode("utf-8")
            file_name = filename.decode("utf-8") if filename is not None else None
        except UnicodeDecodeError:
            raise MultipartError("a part's name or file name is not valid UTF-8",
                                 code="file_name_invalid") from None
        self._events.append(("begin", PartInfo(
            name=part_name,
            filename=file_name,
            content_type=self._headers.get("content-type"),
            headers=dict(self._headers),
        )))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._events.append(("data", bytes(data[start:end])))

    def _on_end(self) -> None:
        self._ended = True

    # pulling ----------------------------------------------------------------------------------

    def _pump(self) -> None:
        """Feed the parser one more chunk of the body."""
        if self._eof:
            if not self._ended:
                raise MultipartError("the multipart body ended early (truncated upload)",
                                     code="multipart_truncated")
            return
        chunk = self._pull()
        if chunk is None:
            self._eof = True
            self._parser.finalize()
            if not self._ended:
                raise MultipartError("the multipart body ended early (truncated upload)",
                                     code="multipart_truncated")
            return
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise MultipartError(f"malformed multipart body: {exc}") from None
        except UnicodeDecodeError:
            raise MultipartError("a part header is not valid UTF-8") from None

    def next_part(self) -> PartInfo | None:
        """Skip the rest of the current part and return the next part's headers (None at end)."""
        while True:
            while self._events:
                kind, value = self._events.popleft()
                if kind == "begin":
                    self._in_part = True
                    assert isinstance(value, PartInfo)
                    return value
                if kind == "end":
                    self._in_part = False
            if self._ended or self._eof:
                return None
            self._pump()

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes of the current part; b"" at its end."""
        while True:
            if self._events:
                kind, value = self._events[0]
                if kind == "end":
                    self._events.popleft()
                    self._in_part = False
                    return b""
                if kind == "begin":
                    return b""
                assert isinstance(value, bytes)
                if n < 0 or len(value) <= n:
                    self._events.popleft()
                    if value:
                        return value
                    continue
                self._events[0] = ("data", value[n:])
                return value[:n]
            if not self._in_part:
                return b""
            self._pump()

    def read_all(self, limit: int) -> bytes:
        """The whole current part, refusing more than ``limit`` bytes."""
        out = bytearray()
        while chunk := self.read(65536):
            out += chunk
            if len(out) > limit:
                raise MultipartError(f"the part is larger than {limit} bytes",
                                     code="part_too_large")
        return bytes(out)

    def hash_part(self, limit: int) -> FileDigest:
        """The SHA-256 and size of the current part, hashed as it streams (nothing is kept);
        UploadTooLarge past ``limit`` bytes."""
        digest = StreamingDigest()
        size = 0
        while data := self.read(1 << 16):
            size += len(data)
            if size > limit:
                raise UploadTooLarge(f"the file is larger than the limit of {limit} bytes")
            digest.update(data)
        return digest.finish()
