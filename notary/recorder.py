"""A recorder's side of a recording notarised while it is made (issue 18): the client.

``RecordingStream`` opens a session (with the call record, but for its end), sends each
segment as it is recorded (retrying a segment whose answer was lost: the service answers
``segment_duplicate`` with ``same: true`` for bytes it already holds) and closes the session
with the call's end. Each checkpoint comes back signed; the recorder may keep them as its
own receipts. It talks to the service through the SDK (:class:`notary.client.Client`), whose
:class:`~notary.client.ServiceError` (``code``, ``http_status``, ``details``) it raises.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from notary.client import Client, ServiceError

__all__ = ["RecordingStream", "RecordingStreamError"]

#: The service refused, or could not be reached (``http_status`` 0): the SDK's error.
RecordingStreamError = ServiceError


class RecordingStream:
    """One session: ``send(pcm)`` for each segment in order, then ``close(call=...)``.
    ``client``: an SDK client to use (closed with the stream), instead of one for ``url``."""

    def __init__(self, url: str, api_key: str, *, case_id: str, sample_rate: int = 8000,
                 channels: int = 1, file_name: str = "recording.wav",
                 call: dict[str, Any] | None = None, timeout: float = 30.0,
                 client: Client | None = None) -> None:
        self.client = client if client is not None else Client(url, api_key, timeout)
        try:
            opened = self.client.open_recording(case_id, sample_rate=sample_rate,
                                                channels=channels, file_name=file_name,
                                                call=call)
        except BaseException:
            self.client.close()
            raise
        self.session_id: str = opened["session_id"]
        self.next = 0
        self.checkpoints: list[str] = []

    def send(self, pcm: bytes, attempts: int = 3) -> dict[str, Any]:
        """Send the next segment; its checkpoint. A lost answer is retried: the service
        holding the same bytes is success."""
        for attempt in range(attempts):
            try:
                answer: dict[str, Any] = dict(
                    self.client.append_segment(self.session_id, self.next, pcm))
            except ServiceError as exc:
                if exc.http_status == 0:  # no answer: it may or may not have arrived
                    if attempt == attempts - 1:
                        raise
                    continue
                # Only the same bytes are this segment: other bytes mean the service holds
                # audio that is not the recorder's, which must not pass as success.
                if (exc.code != "segment_duplicate" or attempt == 0
                        or exc.details.get("same") is not True):
                    raise
                answer = {"segment": self.next, "checkpoint": None}
            self.next += 1
            if answer.get("checkpoint"):
                self.checkpoints.append(answer["checkpoint"])
            return answer
        raise AssertionError("unreachable")

    def close(self, call: dict[str, Any] | None = None) -> dict[str, Any]:
        """Notarise the recording; the session (``evidence_id`` names the item). ``call``:
        the whole call record, or only ``{"ended_at": ...}`` when it was given at open."""
        return dict(self.client.close_recording(self.session_id, call))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.client.close()
