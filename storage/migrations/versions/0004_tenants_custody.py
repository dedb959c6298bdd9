"""tenants, cases, transfers, share links, submitter keys, custody events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 13:17:09.539934
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cases',
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('opened_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uid'),
    sa.UniqueConstraint('holder', 'case_id', name='uq_cases_holder_case_id')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_holder'), ['holder'], unique=False)

    op.create_table('tenants',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('share_links',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('case_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_uid'], ['cases.uid'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('share_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_links_case_uid'), ['case_uid'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_links_token_hash'), ['token_hash'], unique=True)

    op.create_table('submitter_keys',
    sa.Column('kid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('api_key_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('jwk', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], ),
    sa.PrimaryKeyConstraint('kid')
    )
    with op.batch_alter_table('submitter_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submitter_keys_api_key_id'), ['api_key_id'], unique=False)

    op.create_table('transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('from_tenant', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('to_tenant', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_uid'], ['cases.uid'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfers_case_uid'), ['case_uid'], unique=False)

    op.create_table('custody_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evidence_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('act', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('jws', sa.Text(), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('leaf', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('proof', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], ),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest'),
    sa.UniqueConstraint('evidence_id', 'seq', name='uq_custody_evidence_seq')
    )
    with op.batch_alter_table('custody_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_custody_events_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_custody_events_evidence_id'), ['evidence_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_custody_events_status'), ['status'], unique=False)

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('submitter_kid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))

    # Data: the tenants named so far, one case per (tenant, case reference), heads by case uid.
    conn = op.get_bind()
    now = datetime.now(UTC)
    names = {row[0] for row in conn.execute(sa.text(
        "SELECT tenant FROM api_keys UNION SELECT tenant FROM evidence"))} | {"default"}
    for name in sorted(names):
        conn.execute(sa.text("INSERT INTO tenants (id, name, created_at) VALUES (:i, :n, :t)"),
                     {"i": name, "n": name, "t": now})
    pairs = conn.execute(sa.text("SELECT DISTINCT tenant, case_id FROM evidence")).fetchall()
    for tenant, case_id in pairs:
        uid = "case_" + hashlib.sha256(f"{tenant}\0{case_id}".encode()).hexdigest()[:32]
        conn.execute(sa.text("INSERT INTO cases (uid, case_id, holder, opened_by, created_at) "
                             "VALUES (:u, :c, :h, :h, :t)"),
                     {"u": uid, "c": case_id, "h": tenant, "t": now})
        conn.execute(sa.text("UPDATE evidence SET case_uid = :u WHERE tenant = :h AND case_id = :c"),
                     {"u": uid, "h": tenant, "c": case_id})
    op.drop_table('case_heads')
    op.create_table('case_heads',
    sa.Column('case_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('last_statement_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('case_uid')
    )
    conn.execute(sa.text(
        "INSERT INTO case_heads (case_uid, last_seq, last_statement_digest) "
        "SELECT e.case_uid, e.case_seq, e.statement_digest FROM evidence e "
        "WHERE e.case_seq = (SELECT MAX(x.case_seq) FROM evidence x WHERE x.case_uid = e.case_uid)"))
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_constraint('uq_evidence_case_seq', type_='unique')
        batch_op.create_index(batch_op.f('ix_evidence_case_uid'), ['case_uid'], unique=False)
        batch_op.create_unique_constraint('uq_evidence_case_uid_seq', ['case_uid', 'case_seq'])


def downgrade() -> None:
    raise NotImplementedError("0004 moves data into tenants and cases; restore a backup instead")
