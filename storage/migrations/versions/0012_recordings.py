"""recordings: sessions and segments of recordings notarised while they are made

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 13:20:00

* ``recording_sessions``: one row per recording a recorder streams (issue 18): tenant, case,
  audio format, the session's wrapped age identity, when it opened and last heard from the
  recorder, the chain head, its status (``open``, ``closing``, ``closed``, ``incomplete``,
  ``abandoned``), the item its closing notarised, and the call record given at open (numbers
  as commitments, without its end) with its salts until the item holds them.
* ``recording_segments``: one row per accepted segment: size, SHA-256, salt, salted leaf,
  chain head, receive time, its signed checkpoint and the CID of its ciphertext (dropped once
  the recording is notarised). Nothing else changes.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'recording_sessions',
        sa.Column('id', _S(length=64), nullable=False),
        sa.Column('tenant', _S(length=64), nullable=False),
        sa.Column('case_id', _S(length=128), nullable=False),
        sa.Column('submitter', _S(length=256), nullable=False),
        sa.Column('submitter_name', _S(length=256), nullable=True),
        sa.Column('sample_rate', sa.Integer(), nullable=False),
        sa.Column('channels', sa.Integer(), nullable=False),
        sa.Column('file_name', _S(length=255), nullable=False),
        sa.Column('wrapped_key', sa.Text(), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('last_at', sa.DateTime(), nullable=False),
        sa.Column('segments', sa.Integer(), nullable=False),
        sa.Column('chain_head', _S(length=64), nullable=False),
        sa.Column('status', _S(length=16), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('evidence_id', _S(length=64), nullable=True),
        sa.Column('call_record', sa.Text(), nullable=True),
        sa.Column('call_salts', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_recording_sessions_tenant', 'recording_sessions', ['tenant'])
    op.create_index('ix_recording_sessions_last_at', 'recording_sessions', ['last_at'])
    op.create_index('ix_recording_sessions_status', 'recording_sessions', ['status'])
    op.create_table(
        'recording_segments',
        sa.Column('session_id', _S(length=64), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', _S(length=64), nullable=False),
        sa.Column('salt', _S(length=64), nullable=False),
        sa.Column('leaf', _S(length=64), nullable=False),
        sa.Column('chain_head', _S(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('cid', _S(length=128), nullable=True),
        sa.Column('checkpoint_jws', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['session_id'], ['recording_sessions.id'], ),
        sa.PrimaryKeyConstraint('session_id', 'n'),
    )


def downgrade() -> None:
    op.drop_table('recording_segments')
    op.drop_index('ix_recording_sessions_status', 'recording_sessions')
    op.drop_index('ix_recording_sessions_last_at', 'recording_sessions')
    op.drop_index('ix_recording_sessions_tenant', 'recording_sessions')
    op.drop_table('recording_sessions')
