"""calls: the salts of the numbers committed in call records

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 04:30:00

* ``call_salts``: one row per number this service committed in an item's call record
  (issue 16 #5): ``evidence_id``, ``party`` (``caller`` or ``callee``), the 32-byte salt
  in hex and the commitment it made (a later call of the case to the same number reuses the
  salt, so one contact keeps one commitment within a case). Shredding the item deletes its rows. No phone number is stored. Nothing else
  changes.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'call_salts',
        sa.Column('evidence_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('party', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('salt', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(['evidence_id'], ['evidence.id'], ),
        sa.PrimaryKeyConstraint('evidence_id', 'party'),
    )


def downgrade() -> None:
    op.drop_table('call_salts')
