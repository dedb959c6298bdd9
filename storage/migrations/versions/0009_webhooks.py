"""webhooks: endpoints a tenant registers, and the outbox of their deliveries

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 04:30:00

* ``webhook_endpoints``: a tenant's receiver (URL, subscribed events, signing secret), kept
  after deletion (``deleted_at``) so that its deliveries stay listed.
* ``webhook_deliveries``: the outbox, one row per event and endpoint, written in the same
  transaction as the custody event it announces (notary.service.webhooks); the delivery
  worker (notary.service.delivery) claims due rows with a lease. Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_endpoints',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('events', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_tenant'), ['tenant'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('endpoint_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('leased_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('last_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('delivered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_endpoint_id'), ['endpoint_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_status'), ['status'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_next_attempt_at'),
                              ['next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_endpoints')
