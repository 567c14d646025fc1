"""Alembic's environment for the studio's records: always run from
:func:`jobs.records.migrate.upgrade`, which hands over a connection already in
a transaction (taken under the migration lock) in ``config.attributes``."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run the studio's migrations with: python -m jobs.records upgrade")
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
