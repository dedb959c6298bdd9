"""Schema migrations (Alembic), run by ``notary db upgrade`` and at service start.

The migration scripts live in ``storage/migrations`` and are shipped with the package, so an
installed notary can upgrade its own database.

Alembic (about 10 MB resident once imported) is imported only when a migration actually runs:
a database already at the newest revision is recognised by reading its ``alembic_version``
row against the revisions the scripts declare, and ``notary run`` migrates a database that is
not current in a child process (:func:`open_database` with ``isolated=True``), so the serving
process never holds Alembic.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from storage.db import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)
#: The environment variable the migrating child reads its database URL from (not argv: a
#: PostgreSQL URL may carry a password, and argv is visible to every user of the machine).
URL_ENV = "NOTARY_MIGRATE_URL"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def open_database(url: str, *, isolated: bool = False) -> Engine:
    """The engine for ``url`` with its schema migrated to the newest revision.

    ``isolated``: a migration that is needed runs in a child process (this process then never
    imports Alembic); used by the long-running server. An in-memory SQLite database is always
    migrated here (a child could not see it)."""
    engine = make_engine(url)
    if schema_is_current(engine):
        return engine
    if isolated and not _in_memory(url):
        _upgrade_in_child(url)
        if schema_is_current(engine):
            return engine
    upgrade(engine)
    return engine


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent; safe from several processes at once)."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def schema_is_current(engine: Engine) -> bool:
    """Whether the database's recorded revision is the newest the scripts declare. Only a
    positive answer is trusted (it skips the migration); anything unclear answers False and
    Alembic decides."""
    head = _script_head()
    if head is None:
        return False
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).fetchall()
    return [r[0] for r in rows] == [head]


@lru_cache(maxsize=1)
def _script_head() -> str | None:
    """The one revision no script names as its ``down_revision``, read from the scripts'
    text; None when that is not a single plain string (Alembic is asked instead)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in MIGRATIONS.joinpath("versions").glob("*.py"):
        found = dict(_REVISION.findall(script.read_text(encoding="utf-8")))
        rev, down = found.get("revision"), found.get("down_revision")
        if rev is None or down is None:
            return None
        revisions.add(_literal(rev))
        if down != "None":
            parents.add(_literal(down))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and "" not in revisions else None


def _literal(value: str) -> str:
    """A quoted revision id, unquoted; anything else (a tuple, a name) as the empty string."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return ""


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _upgrade_in_child(url: str) -> None:
    """``python -m storage.migrate`` with the URL in the environment; raise on failure with
    what the child said."""
    done = subprocess.run([sys.executable, "-m", "storage.migrate"],
                          env={**os.environ, URL_ENV: url}, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the schema migration failed:\n{done.stderr[-4000:]}")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


if __name__ == "__main__":
    upgrade(make_engine(os.environ[URL_ENV]))
