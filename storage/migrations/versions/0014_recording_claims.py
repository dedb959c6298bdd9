"""recordings: a closing claim's token, close failures and the retry time

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 13:50:00

* ``recording_sessions.claim``: the token of the closer holding a ``closing`` session, so
  finishing or reopening is a compare-and-set on it (a closer that lost its claim changes
  nothing); ``closed_at`` of a ``closing`` session is the claim's lease, extended while it
  notarises; ``close_request`` is what that closer was asked (``complete`` and the call's
  ``ended_at``, never numbers), so a closer replacing a dead one finishes it as asked.
* ``close_failures`` and ``retry_at``: the timeout's closer backs off after a failed close and
  marks the session ``failed`` after a few, instead of re-sealing it every few seconds.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('recording_sessions') as batch:
        batch.add_column(sa.Column('claim', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('close_failures', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('retry_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('close_request', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('recording_sessions') as batch:
        batch.drop_column('close_request')
        batch.drop_column('retry_at')
        batch.drop_column('close_failures')
        batch.drop_column('claim')
