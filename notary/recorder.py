"""A recorder's side of a recording notarised while it is made (issue 18): the client.

``RecordingStream`` opens a session (with the call record, but for its end), sends each
segment as it is recorded (retrying a segment whose answer was lost: the service answers
``segment_duplicate`` with ``same: true`` for bytes it already holds) and closes the session
with the call's end. Each checkpoint comes back signed; the recorder may keep them as its
own receipts.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx

__all__ = ["RecordingStream", "RecordingStreamError"]


class RecordingStreamError(Exception):
    """The service refused: ``status``, ``code``, its message and ``details``."""

    def __init__(self, status: int, code: str, message: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.details = status, code, details or {}


class RecordingStream:
    """One session: ``send(pcm)`` for each segment in order, then ``close(call=...)``."""

    def __init__(self, url: str, api_key: str, *, case_id: str, sample_rate: int = 8000,
                 channels: int = 1, file_name: str = "recording.wav",
                 call: dict[str, Any] | None = None, timeout: float = 30.0) -> None:
        self._http = httpx.Client(base_url=url, timeout=timeout,
                                  headers={"Authorization": f"Bearer {api_key}"})
        body: dict[str, Any] = {"case_id": case_id, "sample_rate": sample_rate,
                                "channels": channels, "file_name": file_name}
        if call is not None:  # the call record without its end, known at the call's start
            body["call"] = call
        opened = self._check(self._http.post("/v1/recordings", json=body))
        self.session_id: str = opened["session_id"]
        self.next = 0
        self.checkpoints: list[str] = []

    @staticmethod
    def _check(resp: httpx.Response) -> Any:
        if resp.status_code >= 400:
            try:
                body = resp.json()
            except ValueError:
                body = {}
            details = body.get("details") if isinstance(body, dict) else None
            raise RecordingStreamError(resp.status_code, str(body.get("code", "")),
                                       str(body.get("message", resp.text)),
                                       details if isinstance(details, dict) else None)
        return resp.json()

    def send(self, pcm: bytes, attempts: int = 3) -> dict[str, Any]:
        """Send the next segment; its checkpoint. A lost answer is retried: the service
        holding the same bytes is success."""
        url = f"/v1/recordings/{self.session_id}/segments/{self.next}"
        for attempt in range(attempts):
            try:
                answer = self._check(self._http.put(url, content=pcm, headers={
                    "Content-Type": "application/octet-stream"}))
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise
                continue
            except RecordingStreamError as exc:
                # Only the same bytes are this segment: other bytes mean the service holds
                # audio that is not the recorder's, which must not pass as success.
                if (exc.code != "segment_duplicate" or attempt == 0
                        or exc.details.get("same") is not True):
                    raise
                answer = {"segment": self.next, "checkpoint": None}
            self.next += 1
            if answer.get("checkpoint"):
                self.checkpoints.append(answer["checkpoint"])
            return dict(answer)
        raise AssertionError("unreachable")

    def close(self, call: dict[str, Any] | None = None) -> dict[str, Any]:
        """Notarise the recording; the session (``evidence_id`` names the item). ``call``:
        the whole call record, or only ``{"ended_at": ...}`` when it was given at open."""
        body = {"call": call} if call is not None else {}
        out: dict[str, Any] = self._check(
            self._http.post(f"/v1/recordings/{self.session_id}/close", json=body))
        return out

    def __enter__(self) -> Self:
        return self

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._http.close()
