"""The studio database: one SQLite file (sqlite-utils), schema in one place.

Every process (app, worker lanes) opens its own connections: one per thread,
WAL journal, a generous busy timeout, so several writers never fail on a lock.
Tools add their tables by registering a migration with :func:`migration`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from jobs.settings import get_settings

_local = threading.local()
_migrations: dict[str, Callable[[sqlite_utils.Database], None]] = {}
_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def migration(name: str):
    """Register a schema function ``fn(db)``; it must be idempotent."""

    def register(fn):
        _migrations[name] = fn
        return fn

    return register


def connect(path: Path) -> sqlite_utils.Database:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=60, check_same_thread=False, isolation_level=None)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=normal")
    conn.execute("pragma busy_timeout=60000")
    return sqlite_utils.Database(conn)


def database() -> sqlite_utils.Database:
    """This thread's connection to ``STUDIO_HOME/studio.db``, migrated."""
    path = get_settings().db_path
    key = str(path)
    cache = getattr(_local, "dbs", None)
    if cache is None:
        cache = _local.dbs = {}
    db = cache.get(key)
    if db is None:
        db = cache[key] = connect(path)
    if key not in _migrated:
        with _migrate_lock:
            if key not in _migrated:
                migrate(db)
                _migrated.add(key)
    return db


def migrate(db: sqlite_utils.Database) -> None:
    for fn in list(_migrations.values()):
        fn(db)


@migration("jobs")
def _jobs_schema(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        create table if not exists jobs (
            id text primary key,
            kind text not null,
            lane text not null,
            owner text not null,
            title text,
            params text not null default '{}',
            status text not null,
            stage text,
            progress real not null default 0,
            item text,
            message text,
            eta_s real,
            error text,
            outputs text not null default '{}',
            attempts integer not null default 0,
            max_attempts integer not null default 3,
            cancel_requested integer not null default 0,
            worker text,
            heartbeat_at real,
            created_at real not null,
            started_at real,
            finished_at real
        )
        """
    )
    db.execute("create index if not exists jobs_status_lane on jobs (status, lane)")
    db.execute("create index if not exists jobs_created on jobs (created_at)")
    db.execute(
        """
        create table if not exists job_samples (
            job_id text not null,
            t real not null,
            cpu_percent real,
            rss_mb real,
            gpu_mem_mb real,
            gpu_util real
        )
        """
    )
    db.execute("create index if not exists job_samples_job on job_samples (job_id, t)")
    db.execute(
        """
        create table if not exists workers (
            id text primary key,
            lane text not null,
            host text not null,
            pid integer not null,
            started_at real not null,
            heartbeat_at real not null,
            info text not null default '{}'
        )
        """
    )
    db.execute(
        """
        create table if not exists worker_samples (
            worker_id text not null,
            lane text not null,
            t real not null,
            cpu_percent real,
            rss_mb real,
            gpu_mem_mb real,
            gpu_util real
        )
        """
    )
    db.execute("create index if not exists worker_samples_t on worker_samples (t)")
