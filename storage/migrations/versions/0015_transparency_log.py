"""transparency log: leaves, head, checkpoints, cosignatures, witnesses

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 17:00:00

* ``log_entries``: one row per leaf of the deployment's RFC 9162 log (issue 19), numbered from
  0 without gaps; ``log_head``: one row, the log's size, locked by each append.
* ``log_checkpoints``, ``log_cosignatures``, ``log_witnesses``: the signed checkpoints, the
  witnesses' cosignatures, and what each witness last cosigned.
* Statements and custody events recorded before this revision are appended here once, in the
  order they were recorded (time, then statement before event, then row id), so the log of an
  upgraded deployment holds everything it notarised.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

from notary.core.logentry import EntryType, entry_leaf, signed_sha256

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'log_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'log_entries',
        sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.Integer(), nullable=False),
        sa.Column('signed_sha256', _S(length=64), nullable=False),
        sa.Column('leaf_hash', _S(length=64), nullable=False),
        sa.Column('evidence_id', _S(length=64), nullable=False),
        sa.Column('custody_seq', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('idx'),
        sa.UniqueConstraint('signed_sha256', name='uq_log_entries_signed_sha256'),
    )
    op.create_index('ix_log_entries_evidence_id', 'log_entries', ['evidence_id'])
    op.create_table(
        'log_checkpoints',
        sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('root', _S(length=64), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('size'),
    )
    op.create_table(
        'log_cosignatures',
        sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('witness', _S(length=256), nullable=False),
        sa.Column('line', sa.Text(), nullable=False),
        sa.Column('cosigned_at', sa.BigInteger(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('size', 'witness'),
    )
    op.create_table(
        'log_witnesses',
        sa.Column('name', _S(length=256), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('last_error', _S(length=512), nullable=True),
        sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    _backfill()


def _backfill() -> None:
    """Append what was notarised before the log existed, oldest first."""
    conn = op.get_bind()
    rows = [(at, 0, str(eid), EntryType.STATEMENT, None, jws) for eid, at, jws in conn.execute(
        sa.text("SELECT id, received_at, statement_jws FROM evidence"))]
    rows += [(at, 1, f"{rid:020d}", EntryType.CUSTODY_EVENT, (eid, seq), jws)
             for rid, eid, seq, at, jws in conn.execute(
                 sa.text("SELECT id, evidence_id, seq, at, jws FROM custody_events"))]
    rows.sort(key=lambda r: (str(r[0]), r[1], r[2]))
    now = datetime.now(UTC).replace(tzinfo=None)
    entries: list[dict[str, object]] = []
    seen: set[str] = set()
    for _at, _order, key, kind, event, jws in rows:
        digest = signed_sha256(jws).hex()
        if digest in seen:  # one signed object, one entry (only a damaged table repeats one)
            continue
        seen.add(digest)
        entries.append({
            'idx': len(entries), 'kind': int(kind), 'signed_sha256': digest,
            'leaf_hash': entry_leaf(kind, jws).hex(),
            'evidence_id': event[0] if event else key,
            'custody_seq': event[1] if event else None, 'created_at': now})
    if entries:
        op.bulk_insert(sa.table(
            'log_entries', sa.column('idx', sa.BigInteger), sa.column('kind', sa.Integer),
            sa.column('signed_sha256', sa.String), sa.column('leaf_hash', sa.String),
            sa.column('evidence_id', sa.String), sa.column('custody_seq', sa.Integer),
            sa.column('created_at', sa.DateTime)), entries)
    conn.execute(sa.text("INSERT INTO log_head (id, size) VALUES (1, :n)"), {"n": len(entries)})


def downgrade() -> None:
    op.drop_table('log_witnesses')
    op.drop_table('log_cosignatures')
    op.drop_table('log_checkpoints')
    op.drop_index('ix_log_entries_evidence_id', table_name='log_entries')
    op.drop_table('log_entries')
    op.drop_table('log_head')
