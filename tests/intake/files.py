"""Real files made in the test, so the intake suites need nothing from outside the repository:
a WAV written by the standard library's ``wave`` module and a small valid PDF."""

from __future__ import annotations

import io
import json
import math
import struct
import wave
from typing import Any


def wav_bytes(seconds: float = 0.25, tone: float = 440.0) -> bytes:
    """A real 8 kHz mono 16-bit PCM WAV file (RIFF/WAVE, as a call recorder writes)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        frames = int(8000 * seconds)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * tone * i
                                                                        / 8000)))
                               for i in range(frames)))
    return out.getvalue()


def pdf_bytes(text: str = "Payment notice") -> bytes:
    """A minimal valid one-page PDF 1.4 with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>"),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def form(meta: dict[str, Any], content: bytes, name: str = "n.pdf",
         ctype: str = "application/pdf") -> dict[str, Any]:
    """A multipart form as httpx sends it (``files=``)."""
    return {"metadata": (None, json.dumps(meta), "application/json"),
            "file": (name, content, ctype)}


def untyped_form(meta: dict[str, Any], content: bytes, name: str) -> tuple[bytes, str]:
    """A multipart body whose file part has no Content-Type header at all (httpx would
    guess one), and its request Content-Type."""
    boundary = "notary-intake-boundary-7f3a"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
            f"Content-Type: application/json\r\n\r\n{json.dumps(meta)}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def statement_of(answer: dict[str, Any]) -> dict[str, Any]:
    """The signed statement in a submission's answer (its JWS payload), as JSON."""
    import base64

    payload = answer["statement"].split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
