"""privacy and law: shredding, legal hold, check codes, retention rules, case closing, TSA tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('retention_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('after', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'kind', name='uq_retention_tenant_kind')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.alter_column('wrapped_key', existing_type=sa.Text(), nullable=True)
        batch_op.add_column(sa.Column('shredded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('deletion_jws', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('hold_reason', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True))
        batch_op.add_column(sa.Column('check_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_evidence_check_code'), ['check_code'], unique=True)
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tsa_token', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('tsa_url', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True))
        batch_op.add_column(sa.Column('tsa_time', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_column('tsa_time')
        batch_op.drop_column('tsa_url')
        batch_op.drop_column('tsa_token')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_check_code'))
        batch_op.drop_column('check_code')
        batch_op.drop_column('hold_reason')
        batch_op.drop_column('deletion_jws')
        batch_op.drop_column('shredded_at')
        batch_op.alter_column('wrapped_key', existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
    op.drop_table('retention_rules')
