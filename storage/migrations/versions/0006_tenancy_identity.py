"""tenancy: share links bound to their tenant, coalesced share reads, random case identity

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00

* ``share_links.revoked_reason``; every live link whose tenant no longer holds its case (a
  transfer made before this revision) is revoked now with reason ``case transferred``
  (the service also refuses such a link when it is opened, so no custody event is needed to
  close it; the migration cannot sign one). Links are cut to the new 90-day limit counted
  from their creation.
* ``custody_events.coalesce_key``: repeated reads by one share link find the event of the
  current window instead of adding another (notary.service.custody).
* Case identity: new cases get random uids (notary.service.tenancy.new_case_uid). Existing
  uids were derived from (tenant, reference); they stay as they are (they are only ids), and
  nothing derives them again, so no row changes.
* Tenants: ``id`` stays the ASCII slug and ``name`` the legal name, now in any script; the
  columns already fit (``name`` VARCHAR(128) counts characters).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

MAX_SHARE_TTL = timedelta(days=90)


def upgrade() -> None:
    with op.batch_alter_table('share_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_reason', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
    with op.batch_alter_table('custody_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coalesce_key', sqlmodel.sql.sqltypes.AutoString(length=96),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_custody_events_coalesce_key'), ['coalesce_key'],
                              unique=False)
    links = sa.table('share_links', sa.column('id', sa.String), sa.column('case_uid', sa.String),
                     sa.column('tenant', sa.String), sa.column('created_at', sa.DateTime),
                     sa.column('expires_at', sa.DateTime), sa.column('revoked_at', sa.DateTime),
                     sa.column('revoked_reason', sa.String))
    cases = sa.table('cases', sa.column('uid', sa.String), sa.column('holder', sa.String))
    conn = op.get_bind()
    now = datetime.now(UTC)
    rows = conn.execute(sa.select(links.c.id, links.c.tenant, links.c.created_at,
                                  links.c.expires_at, links.c.revoked_at, cases.c.holder)
                        .select_from(links.join(cases, links.c.case_uid == cases.c.uid))).all()
    for link_id, tenant, created, expires, revoked, holder in rows:
        changes: dict[str, object] = {}
        if revoked is None and tenant != holder:
            changes |= {"revoked_at": now, "revoked_reason": "case transferred"}
        if expires - created > MAX_SHARE_TTL:
            changes["expires_at"] = created + MAX_SHARE_TTL
        if changes:
            conn.execute(links.update().where(links.c.id == link_id).values(**changes))


def downgrade() -> None:
    with op.batch_alter_table('custody_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_custody_events_coalesce_key'))
        batch_op.drop_column('coalesce_key')
    with op.batch_alter_table('share_links', schema=None) as batch_op:
        batch_op.drop_column('revoked_reason')
