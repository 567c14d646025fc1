"""The studio database: one SQLite file (sqlite-utils), schema in one place.

Every process (app, worker lanes) opens its own connections: one per thread,
WAL journal, a generous busy timeout, so several writers never fail on a lock.

Schema changes are versioned migrations: numbered steps per area (``jobs``,
``frames``, ``dance`` …) registered with :func:`migration`; the table
``schema_migrations`` records which steps a studio folder has, so an old
``studio.db`` opens with a new studio (the missing steps run once, in order).
A step is never edited once released: add the next number instead.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from jobs.settings import get_settings

_local = threading.local()
Step = Callable[[sqlite_utils.Database], None]
_migrations: dict[tuple[str, int], Step] = {}
_migrated: dict[str, int] = {}  # database path -> how many registered steps it has seen
_migrate_lock = threading.Lock()


def migration(area: str, version: int = 1) -> Callable[[Step], Step]:
    """Register step ``version`` (1, 2, …) of ``area``'s schema: ``fn(db)``."""

    def register(fn: Step) -> Step:
        if (area, version) in _migrations and _migrations[(area, version)] is not fn:
            raise ValueError(f"Migration {area} {version} is registered twice.")
        _migrations[(area, version)] = fn
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
    if _migrated.get(key) != len(_migrations):  # a tool imported since may bring steps
        with _migrate_lock:
            if _migrated.get(key) != len(_migrations):
                migrate(db)
                _migrated[key] = len(_migrations)
    return db


def schema_versions(db: sqlite_utils.Database) -> dict[str, int]:
    """The newest step applied, per area."""
    rows = db.execute("select area, max(version) from schema_migrations group by area").fetchall()
    return {area: version for area, version in rows}


def migrate(db: sqlite_utils.Database) -> list[tuple[str, int]]:
    """Apply the registered steps this database lacks, each in its own
    transaction, in version order per area. Returns the steps applied."""
    db.execute(
        "create table if not exists schema_migrations (area text not null, version integer not null, "
        "applied_at real not null, primary key (area, version))"
    )
    done = {
        (area, version)
        for area, version in db.execute("select area, version from schema_migrations").fetchall()
    }
    applied = []
    for area, version in sorted(_migrations):
        if (area, version) in done:
            continue
        db.execute("begin immediate")
        try:
            if (
                db.execute(
                    "select 1 from schema_migrations where area=? and version=?", [area, version]
                ).fetchone()
                is None
            ):  # another process may have run it
                _migrations[(area, version)](db)
                db.execute(
                    "insert into schema_migrations values (?, ?, ?)", [area, version, time.time()]
                )
                applied.append((area, version))
            db.execute("commit")
        except BaseException:
            db.execute("rollback")
            raise
    return applied


@migration("jobs", 1)
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


@migration("jobs", 2)
def _tool_names(db: sqlite_utils.Database) -> None:
    """Job kinds take their tool's name (photo_dataset.*, video_dataset.*)."""
    renames = {
        "dataset.photos": "photo_dataset.build",
        "dataset.photos_caption": "photo_dataset.caption",
        "dataset.photos_repackage": "photo_dataset.repackage",
        "dataset.videos": "video_dataset.build",
        "dataset.videos_gpu": "video_dataset.build_gpu",
    }
    for old, new in renames.items():
        db.execute("update jobs set kind=? where kind=?", [new, old])
