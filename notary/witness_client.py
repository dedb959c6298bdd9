"""The client side of c2sp.org/tlog-witness's ``add-checkpoint``: used by the service to
collect cosignatures (notary.service.cosigning) and by tests of the witness; an adapter of
its own so that the service does not import the witness it talks to."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import httpx

from notary.core.note import Note, Signature, parse_signatures


def add_checkpoint(url: str, old: int, proof: Sequence[bytes], note: Note,
                   timeout: float = 10.0) -> tuple[int, list[Signature] | str]:
    """Ask the witness at ``url`` to cosign: (200, its signature lines) or (status, body)."""
    body = (f"old {old}\n".encode()
            + b"".join(base64.b64encode(p) + b"\n" for p in proof) + b"\n" + note.encode())
    resp = httpx.post(url.rstrip("/") + "/add-checkpoint", content=body, timeout=timeout)
    if resp.status_code != 200:
        return resp.status_code, resp.text
    return 200, parse_signatures(resp.content)
