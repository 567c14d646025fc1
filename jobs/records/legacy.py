"""The sqlite-utils connection of the tools' record modules not yet ported to
this package (``jobs.db.database``): one per thread, on the same SQLite file
and with the same pragmas as the engine. It migrates nothing: the tables come
from the Alembic revisions (:func:`jobs.records.upgrade`). It goes once the
last tool's records are on the package's tables and queries.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import sqlite_utils
from sqlalchemy.engine import make_url

from jobs.settings import get_settings

_local = threading.local()


def connect(path: Path) -> sqlite_utils.Database:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=60, check_same_thread=False, isolation_level=None)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=normal")
    conn.execute("pragma busy_timeout=60000")
    return sqlite_utils.Database(conn)


def database() -> sqlite_utils.Database:
    """This thread's connection to the records' SQLite file."""
    url = make_url(get_settings().records_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise RuntimeError(
            f"This tool's records are not on the records package yet and need the SQLite "
            f"file; STUDIO_DATABASE_URL is {url.render_as_string(hide_password=True)}."
        )
    key = url.database
    cache = getattr(_local, "dbs", None)
    if cache is None:
        cache = _local.dbs = {}
    db = cache.get(key)
    if db is None:
        db = cache[key] = connect(Path(key))
    return db
