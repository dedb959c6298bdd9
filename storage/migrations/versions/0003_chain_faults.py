"""chain faults: batch nonce and tx history, superseded anchors

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 12:51:03.024231
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('superseded_anchors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('chain_id', sa.Integer(), nullable=False),
    sa.Column('contract', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('onchain_batch_id', sa.Integer(), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('block_number', sa.Integer(), nullable=False),
    sa.Column('block_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('block_timestamp', sa.Integer(), nullable=False),
    sa.Column('detected_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('superseded_anchors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_superseded_anchors_batch_id'), ['batch_id'], unique=False)

    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nonce', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tx_history', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_column('tx_history')
        batch_op.drop_column('nonce')

    with op.batch_alter_table('superseded_anchors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_superseded_anchors_batch_id'))

    op.drop_table('superseded_anchors')
