"""calls: call salts are sealed under a key derived from the master key

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 13:40:00

* ``call_salts.salt`` widens from 64 to 128 characters: a salt is now stored sealed
  (ChaCha20-Poly1305 under a key derived from the master identity, bound to its item and
  party: ``v1.`` + base64 of nonce, ciphertext and tag, 83 characters), so a copy of the
  database alone cannot open the phone-number commitments by trying every number. Rows
  written before (64 hex characters) are read as they are; the migration cannot seal them,
  since it does not hold the master key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call_salts') as batch:
        batch.alter_column('salt', existing_type=sa.String(length=64),
                           type_=sa.String(length=128), existing_nullable=False)


def downgrade() -> None:
    # A sealed salt does not fit 64 characters, and dropping it would make its commitment
    # unprovable for good: refuse rather than lose them.
    salts = sa.table('call_salts', sa.column('salt', sa.String))
    sealed = op.get_bind().execute(sa.select(sa.func.count()).select_from(salts).where(
        sa.func.length(salts.c.salt) > 64)).scalar()
    if sealed:
        raise RuntimeError(f"{sealed} call salts are sealed and do not fit the old column; "
                           "downgrading would lose them")
    with op.batch_alter_table('call_salts') as batch:
        batch.alter_column('salt', existing_type=sa.String(length=128),
                           type_=sa.String(length=64), existing_nullable=False)
