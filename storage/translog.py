"""The tables of the deployment's transparency log (issue 19, migration 0015).

``log_entries`` holds one row per leaf, numbered from 0 without gaps: ``log_head`` is one row
whose ``size`` is the next index, locked by the transaction that appends (so leaves are
numbered in commit order, and the committed ones are always a prefix). ``log_checkpoints``
holds the checkpoints the service signed (and, once anchored, the batch that holds each),
``log_cosignatures`` the witnesses' cosignature lines (each verified before it is stored),
``log_witnesses`` what each witness last cosigned.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel


class LogHead(SQLModel, table=True):
    """The one row (``id`` 1): how many leaves the log has."""

    __tablename__ = "log_head"

    id: int = Field(default=1, primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))


class LogEntry(SQLModel, table=True):
    """One leaf: a statement (``custody_seq`` NULL) or a custody event of ``evidence_id``."""

    __tablename__ = "log_entries"

    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: int
    #: SHA-256 of the signed JWS (hex): the entry is notary.core.logentry.entry_bytes of it.
    signed_sha256: str = Field(unique=True, max_length=64)
    leaf_hash: str = Field(max_length=64)
    evidence_id: str = Field(index=True, max_length=64)
    custody_seq: int | None = None
    created_at: datetime


class LogCheckpoint(SQLModel, table=True):
    """A checkpoint the service signed (the note with its own signature only)."""

    __tablename__ = "log_checkpoints"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: str = Field(max_length=64)
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    batch_id: int | None = None  # the anchoring batch built in the cycle that signed it
    #: the anchoring batch whose tree holds this checkpoint's leaf (notary.core.logentry.
    #: checkpoint_leaf), its leaf and its proof there (migration 0017); NULL until then
    anchor_batch_id: int | None = Field(default=None, index=True)
    leaf: str | None = Field(default=None, max_length=66)
    proof: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class LogCosignature(SQLModel, table=True):
    """A witness's cosignature line on the checkpoint of ``size``."""

    __tablename__ = "log_cosignatures"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    witness: str = Field(primary_key=True, max_length=256)
    line: str = Field(sa_column=Column(Text, nullable=False))
    cosigned_at: int  # the cosignature's own timestamp (seconds)
    received_at: datetime


class LogWitness(SQLModel, table=True):
    """What one configured witness (by its key name) last cosigned, and its last failure."""

    __tablename__ = "log_witnesses"

    name: str = Field(primary_key=True, max_length=256)
    size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_error: str | None = Field(default=None, max_length=512)
    last_attempt_at: datetime | None = None
