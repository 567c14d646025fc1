"""Schema migrations: Alembic revisions in ``jobs/records/migrations``, run
once at start (``python app.py`` before it starts the worker, ``python -m
jobs.worker`` when it runs alone, ``python -m jobs.records upgrade`` at
deploy), never lazily by each process.

The upgrade runs under a lock (SQLite: a file lock beside the database;
PostgreSQL: a transaction-level advisory lock) and in one transaction, so two
processes that start at once migrate once: the second finds the database at
the head revision and does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock
from sqlalchemy import Column, Connection, MetaData, String, Table, func, inspect, select

from jobs.records.engine import engine, transaction

# Alembic (with Mako and Pygments, ~0.35 s) is imported only where a migration is
# looked at, not by every process that imports the records (a worker's lanes never
# migrate).
if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
_ADVISORY_KEY = 0x5354_5544_494F  # "STUDIO": the one advisory lock of the migrations
# The newest revision in migrations/versions, known without Alembic so that a start on
# a database already there costs one query: a new migration moves it
# (tests/test_migrations.py checks it against Alembic's own head).
HEAD = "0005"
# Alembic's own table of the database's revision (read here without Alembic).
_alembic_version = Table("alembic_version", MetaData(), Column("version_num", String(32)))


def _config(conn: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision this code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision() -> str | None:
    """The revision the database is at (None: not migrated yet)."""
    with engine().connect() as conn:
        if not inspect(conn).has_table(_alembic_version.name):
            return None
        return conn.execute(select(_alembic_version.c.version_num)).scalar()


@contextmanager
def _migration_lock() -> Iterator[None]:
    eng = engine()
    database = eng.url.database
    if eng.dialect.name == "sqlite" and database and database != ":memory:":
        with FileLock(f"{database}.migrate.lock", timeout=600):
            yield
    else:
        yield  # PostgreSQL: the advisory lock is taken inside the transaction


def upgrade(revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database to ``revision`` (under the lock, in one transaction).
    Returns (revision before, revision after). A database already at the head
    costs one query and no Alembic (revisions only move forward, so no lock is
    needed to see it)."""
    if revision == "head":
        now = current_revision()
        if now == HEAD:
            return now, now
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with _migration_lock(), transaction() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_ADVISORY_KEY)))
        before = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(_config(conn), revision)
        after = MigrationContext.configure(conn).get_current_revision()
    return before, after
