"""Alembic environment: migrations for SQLite and PostgreSQL alike (``notary db upgrade``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.db  # noqa: F401 - registers the tables on SQLModel.metadata

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection, target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by table copy
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several processes may start at once: one migrates, the others wait here.
            connection.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; connect to the database")
run_migrations_online()
