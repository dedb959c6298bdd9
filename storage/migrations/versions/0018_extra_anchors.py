"""second anchors: one row per batch and extra chain

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 20:00:00

* ``extra_anchors``: a batch root's anchor on a second EVM chain (NOTARY_EXTRA_ANCHORS,
  issue 19), made after the primary anchor, with the node's transaction receipt. Block
  numbers, times and batch ids are 64-bit: a second chain may be a fast one.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'extra_anchors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('chain_id', sa.Integer(), nullable=False),
        sa.Column('contract', _S(length=42), nullable=False),
        sa.Column('onchain_batch_id', sa.BigInteger(), nullable=False),
        sa.Column('tx_hash', _S(length=66), nullable=False),
        sa.Column('block_number', sa.BigInteger(), nullable=False),
        sa.Column('block_hash', _S(length=66), nullable=False),
        sa.Column('block_timestamp', sa.BigInteger(), nullable=False),
        sa.Column('raw_receipt', sa.Text(), nullable=False),
        sa.Column('anchored_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['batches.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('batch_id', 'chain_id', name='uq_extra_anchor'),
    )
    op.create_index('ix_extra_anchors_batch_id', 'extra_anchors', ['batch_id'])


def downgrade() -> None:
    op.drop_index('ix_extra_anchors_batch_id', table_name='extra_anchors')
    op.drop_table('extra_anchors')
