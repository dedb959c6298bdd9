"""The tables of recordings notarised while they are made (issue 18, migration 0012).

A session row per recording and a row per accepted segment: its commitment, salt, chain head,
signed checkpoint and the CID of its ciphertext (the segment's bytes are sealed like any
evidence: nothing readable is stored). Both live in the database so a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class RecordingSession(SQLModel, table=True):
    """One recording being made (``open``), being closed (``closing``), closed by its recorder
    (``closed``) or by the timeout (``incomplete``), or given up after repeated failed closes
    (``failed``); ``evidence_id`` is the item its closing notarised."""

    __tablename__ = "recording_sessions"

    id: str = Field(primary_key=True, max_length=64)
    tenant: str = Field(max_length=64, index=True)
    case_id: str = Field(max_length=128)
    submitter: str = Field(max_length=256)
    submitter_name: str | None = Field(default=None, max_length=256)
    sample_rate: int
    channels: int
    file_name: str = Field(max_length=255)
    #: The session's age identity, wrapped by the master key (as an item's key is).
    wrapped_key: str = Field(sa_column=Column(Text, nullable=False))
    opened_at: datetime
    last_at: datetime = Field(index=True)
    segments: int = 0
    chain_head: str = Field(max_length=64)
    status: str = Field(default="open", max_length=16, index=True)
    closed_at: datetime | None = None
    evidence_id: str | None = Field(default=None, max_length=64)
    #: The token of the closer holding a ``closing`` session (its lease: ``closed_at``);
    #: failed closes so far and when the timeout's closer may try again (migration 0014).
    claim: str | None = Field(default=None, max_length=64)
    close_failures: int = 0
    retry_at: datetime | None = None
    #: What the claiming closer was asked: JSON ``{"complete": ..., "ended_at": ...}``.
    close_request: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: The call record given at open, without ``ended_at`` (JSON, numbers as commitments),
    #: and the salts this service made for it (JSON, party → hex) until the item holds them.
    call_record: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    call_salts: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RecordingSegment(SQLModel, table=True):
    """One accepted segment: ``n`` counts from 0 in recording order."""

    __tablename__ = "recording_segments"

    session_id: str = Field(foreign_key="recording_sessions.id", primary_key=True,
                            max_length=64)
    n: int = Field(primary_key=True)
    size: int
    sha256: str = Field(max_length=64)
    salt: str = Field(max_length=64)
    leaf: str = Field(max_length=64)
    chain_head: str = Field(max_length=64)
    received_at: datetime
    cid: str | None = Field(default=None, max_length=128)
    checkpoint_jws: str = Field(sa_column=Column(Text, nullable=False))
