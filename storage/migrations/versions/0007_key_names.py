"""identity: API keys name the person or system they belong to

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:30:00

* ``api_keys.name``: who or what uses the key (an agent's 工号, a dialer's name), in any
  script, at most 100 characters (VARCHAR counts characters). The statements a key submits
  carry it as ``submitter_name`` (issue 14). Existing keys have none: their statements name
  only the key (``submitter``), as before. Nothing else changes.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('name')
