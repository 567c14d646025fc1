"""Which machines share this studio's records.

Records in SQLite (the default, ``STUDIO_HOME/studio.db``) are for one
machine: SQLite's WAL journal does not work over a network filesystem, so a
second machine writing the same file loses data. When a worker on another host
beats in a SQLite studio, :func:`sqlite_shared_refusal` says so and what to
set; ``python app.py`` refuses to start on it, and the health response and the
Jobs tab show it. PostgreSQL (``STUDIO_DATABASE_URL=postgresql://…``) is the
records' database for several machines.
"""

from __future__ import annotations

import time

from jobs import records, recovery
from jobs.records.sql import select
from jobs.records.tables import workers
from jobs.settings import get_settings


def other_hosts_beating(now: float | None = None) -> list[str]:
    """Hosts other than this one whose workers beat in the records lately."""
    since = (now if now is not None else time.time()) - recovery.stale_after_s()
    c = workers.c
    statement = (
        select(c.host).where(c.host != recovery.worker_host(), c.heartbeat_at >= since).distinct()
    )
    return sorted(row["host"] for row in records.rows(statement))


def sqlite_shared_refusal(now: float | None = None) -> str | None:
    """Why this studio must not go on (None: it may): its records are in SQLite
    and a worker on another machine writes them."""
    if records.engine().dialect.name != "sqlite":
        return None
    hosts = other_hosts_beating(now)
    if not hosts:
        return None
    return (
        f"The records are in SQLite ({get_settings().db_path}), and a worker on another machine "
        f"({', '.join(hosts)}; this one is {recovery.worker_host()}) writes them: SQLite on a shared "
        "folder loses data when several machines write it. Stop the other machines' workers, or "
        "put the records in PostgreSQL for the app and every worker: "
        "STUDIO_DATABASE_URL=postgresql://user:password@db-host:5432/studio (and the queue on "
        "Redis: STUDIO_QUEUE_URL=redis://redis-host:6379/0)."
    )
