"""calls: whether this service made an item's callee commitment

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 05:10:00

* ``evidence.callee_salted``: true when the callee commitment of the item's call record was
  made by this service (the client sent the number), false when the client sent its own
  commitment or there is no call record. The conduct report lists the calls it cannot count
  as one contact (``not_countable``); unlike the salts, the mark survives shredding. Existing
  items with a callee salt are marked. Nothing else changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('evidence', sa.Column('callee_salted', sa.Boolean(), nullable=False,
                                        server_default=sa.false()))
    evidence = sa.table('evidence', sa.column('id', sa.String),
                        sa.column('callee_salted', sa.Boolean))
    salts = sa.table('call_salts', sa.column('evidence_id', sa.String),
                     sa.column('party', sa.String))
    op.execute(evidence.update().where(evidence.c.id.in_(
        sa.select(salts.c.evidence_id).where(salts.c.party == 'callee'))).values(
        callee_salted=True))


def downgrade() -> None:
    with op.batch_alter_table('evidence') as batch:
        batch.drop_column('callee_salted')
