"""The records package: the only code that talks to a database.

Every record of the studio (jobs, workers and, once ported, every tool's rows)
goes through here: SQLAlchemy Core tables and queries (``jobs.records.tables``)
that compile for SQLite and PostgreSQL, one engine per process from one URL
(``STUDIO_DATABASE_URL``; the embedded default is ``STUDIO_HOME/studio.db``),
and Alembic migrations run once at start under a lock
(``jobs.records.migrate``, ``python -m jobs.records upgrade``).

Writing:

- one statement is its own transaction: :func:`first`, :func:`rows`,
  :func:`scalar`, :func:`execute` (a job record change is one
  ``UPDATE … RETURNING``: the claim, the end, a progress write);
- writes that belong together run in one :func:`transaction` (on SQLite it
  starts with ``BEGIN IMMEDIATE``: it takes the write lock first, so two
  writers never deadlock on a lock upgrade);
- a statement run for every job is built once and wrapped in :func:`prepared`
  (on SQLite it then skips SQLAlchemy's per-execution work).
"""

from jobs.records.engine import (
    connection,
    dispose,
    engine,
    execute,
    first,
    insert_unique,
    prepared,
    rows,
    scalar,
    trace,
    transaction,
)
from jobs.records.migrate import current_revision, head_revision, upgrade

__all__ = [
    "connection",
    "current_revision",
    "dispose",
    "engine",
    "execute",
    "first",
    "head_revision",
    "insert_unique",
    "prepared",
    "rows",
    "scalar",
    "trace",
    "transaction",
    "upgrade",
]
