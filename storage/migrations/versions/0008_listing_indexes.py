"""listing: an index for a tenant's items in receipt order

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:20:00

* ``ix_evidence_tenant_received`` on ``evidence (tenant, received_at, id)``: ``GET
  /v1/evidence`` pages through the caller's own items newest (or oldest) first by the keyset
  ``(received_at, id)`` (notary.service.listing). Without it every page reads and sorts all of
  the tenant's items. The other listing queries use indexes that exist (``case_uid``,
  ``case_id``, ``sha256``, ``cases (holder, case_id)``). Nothing else changes.
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_tenant_received', ['tenant', 'received_at', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_tenant_received')
