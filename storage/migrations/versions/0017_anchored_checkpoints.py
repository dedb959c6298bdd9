"""log checkpoints anchored: the batch, leaf and proof of each checkpoint anchored

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 20:30:00

Each anchoring batch also holds the newest checkpoint of the transparency log not anchored
yet (leaf type 3, notary.core.logentry.checkpoint_leaf), so the log's root is anchored on
chain like the statements. ``log_checkpoints`` gains the batch, the leaf and the proof.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('log_checkpoints') as batch:
        batch.add_column(sa.Column('anchor_batch_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('leaf', sqlmodel.sql.sqltypes.AutoString(length=66),
                                   nullable=True))
        batch.add_column(sa.Column('proof', sa.Text(), nullable=True))
        batch.create_index('ix_log_checkpoints_anchor_batch_id', ['anchor_batch_id'])


def downgrade() -> None:
    with op.batch_alter_table('log_checkpoints') as batch:
        batch.drop_index('ix_log_checkpoints_anchor_batch_id')
        batch.drop_column('proof')
        batch.drop_column('leaf')
        batch.drop_column('anchor_batch_id')
