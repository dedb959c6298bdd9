"""RFC 3161 timestamp renewals (RFC 4998): tsa_renewals, batches.tsa_expires

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 20:30:00

* ``tsa_renewals``: each renewal of a batch root's token, a new TSA token over the SHA-256 of
  the previous token's DER (``seq`` 1 renews ``batches.tsa_token``).
* ``batches.tsa_expires``: when the TSA certificate behind the root's latest token expires,
  so that the renewal job finds what is due without reading every token. Empty for batches
  timestamped before this revision: the job reads their token once and fills it in.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'tsa_renewals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('token', sa.Text(), nullable=False),
        sa.Column('tsa_url', _S(length=512), nullable=False),
        sa.Column('gen_time', sa.DateTime(), nullable=False),
        sa.Column('expires', sa.DateTime(), nullable=True),
        sa.Column('reason', _S(length=32), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['batches.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('batch_id', 'seq', name='uq_tsa_renewals_batch_seq'),
    )
    op.create_index('ix_tsa_renewals_batch_id', 'tsa_renewals', ['batch_id'])
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tsa_expires', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_column('tsa_expires')
    op.drop_index('ix_tsa_renewals_batch_id', table_name='tsa_renewals')
    op.drop_table('tsa_renewals')
