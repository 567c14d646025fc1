"""An old studio folder opens with a new studio: ``jobs.records.upgrade`` (run
once at start by app.py and the worker) brings its ``studio.db`` to the Alembic
head without losing a row, and a fresh folder gets the very schema the old
lazy migrations made."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from jobs import records, store
from jobs.access import SYSTEM
from tests.conftest import ROOT
from tests.servers import POSTGRES

MAIN_DB = Path(__file__).parent / "data" / "studio-main.db"  # tests/data/make_main_studio_db.py
ROW_TABLES = (
    "jobs",
    "job_samples",
    "fr_videos",
    "fr_marks",
    "fr_tasks",
    "fr_task_videos",
    "projects",
    "generation_jobs",
    "scenarios",
    "video_edit_jobs",
)


@pytest.fixture
def bare_home(tmp_path, monkeypatch):
    """A STUDIO_HOME whose studio.db is not migrated (unlike ``studio_home``)."""
    from jobs.settings import reset_settings

    home = tmp_path / "studio-data"
    home.mkdir()
    monkeypatch.setenv("STUDIO_HOME", str(home))
    for name in ("STUDIO_DATABASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    records.dispose()
    reset_settings()
    yield home
    records.dispose()
    reset_settings()


@pytest.fixture(params=["sqlite", POSTGRES])
def any_bare_home(request, bare_home, monkeypatch):
    """``bare_home`` with its records in a missing studio.db or an empty PostgreSQL database."""
    from jobs.settings import reset_settings

    if request.param == "postgres":
        monkeypatch.setenv("STUDIO_DATABASE_URL", request.getfixturevalue("postgres_url"))
        records.dispose()
        reset_settings()
    return bare_home


def _rows(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"select * from {table} order by 1, 2").fetchall()


def _schema(path: Path) -> dict[str, object]:
    """Tables (columns: name, not null, default, pk) and indexes (columns) of a file."""
    conn = sqlite3.connect(path)
    try:
        shape: dict[str, object] = {}
        names = conn.execute(
            "select name from sqlite_master where type='table' and name not like 'sqlite_%' "
            "and name not in ('alembic_version', 'schema_migrations')"
        ).fetchall()
        for (table,) in names:
            columns = conn.execute(f"pragma table_info({table})").fetchall()
            # A primary key counts as NOT NULL (SQLite alone lets a text key be null).
            shape[table] = sorted(
                (name, bool(notnull or pk), (default or "").strip("'\""), pk)
                for _, name, _, notnull, default, pk in columns
            )
            for _, index, *_ in conn.execute(f"pragma index_list({table})").fetchall():
                if not index.startswith("sqlite_autoindex"):
                    cols = [r[2] for r in conn.execute(f"pragma index_info({index})")]
                    shape[f"index {index}"] = (table, cols)
        return shape
    finally:
        conn.close()


def test_a_studio_db_made_by_main_upgrades_and_keeps_every_row(bare_home):
    db = bare_home / "studio.db"
    shutil.copyfile(MAIN_DB, db)
    before = {table: _rows(db, table) for table in ROW_TABLES}
    assert all(before.values())  # the fixture has rows in every table

    assert records.upgrade() == (None, records.head_revision())

    after = {table: _rows(db, table) for table in ROW_TABLES}
    # Revision 0003 adds jobs.after (the job a job waits for) and jobs.waited_on,
    # revision 0005 jobs.host and jobs.gpus (where it ran): none for every old job.
    assert [row[-4:] for row in after["jobs"]] == [(None, 0, None, None)] * len(before["jobs"])
    after["jobs"] = [row[:-4] for row in after["jobs"]]
    assert after == before
    done = store.find_job("main0", SYSTEM)
    assert done is not None and (done["status"], done["outputs"]) == (
        "succeeded",
        {"files": ["a.txt"]},
    )
    assert [j["id"] for j in store.list_jobs()[0]] == ["main2", "main1", "main0"]
    assert store.job_samples("main0")[0]["cpu_percent"] == 50.0
    # The upgraded file takes new records like a fresh one, and runs again as a no-op.
    job = store.create_job("system.sleep", "cpu", "ana", {}, "new", 3)
    assert store.claim_job(job["id"], "w")["status"] == "running"  # type: ignore[index]
    assert records.upgrade() == (records.head_revision(), records.head_revision())
    assert _rows(db, "fr_marks") == before["fr_marks"]


def test_a_fresh_studio_db_gets_the_schema_the_old_migrations_made(bare_home):
    records.upgrade("0001")  # the baseline is the last release's schema
    assert records.current_revision() == "0001"
    assert _schema(bare_home / "studio.db") == _schema(MAIN_DB)
    records.upgrade()
    assert records.current_revision() == records.head_revision()


def test_a_start_on_a_database_at_head_is_one_query_without_alembic(bare_home):
    """``python app.py`` and ``python -m jobs.worker`` upgrade at every start: on a
    database already at the head that is one version query, and Alembic (its
    scripts, Mako, Pygments) is not even imported. The head it compares with is
    Alembic's own."""
    import subprocess
    import sys

    from jobs.records import migrate

    assert records.head_revision() == migrate.HEAD  # a new migration moves migrate.HEAD
    records.upgrade()
    check = (
        "import sys; from jobs import records; "
        "print(records.upgrade()); print('alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, cwd=ROOT
    )
    head = records.head_revision()
    assert done.stdout.split("\n")[:2] == [str((head, head)), "False"], done.stderr


def test_a_pre_versioned_studio_db_gets_every_table_and_renamed_kinds(bare_home):
    """studio.db as the release before versioned migrations left it: the jobs
    table, no schema_migrations, a photo build under its old kind name."""
    conn = sqlite3.connect(bare_home / "studio.db")
    conn.execute(
        "create table jobs (id text primary key, kind text not null, lane text not null, owner text not null, "
        "title text, params text not null default '{}', status text not null, stage text, "
        "progress real not null default 0, item text, message text, eta_s real, error text, "
        "outputs text not null default '{}', attempts integer not null default 0, "
        "max_attempts integer not null default 3, cancel_requested integer not null default 0, worker text, "
        "heartbeat_at real, created_at real not null, started_at real, finished_at real)"
    )
    conn.execute(
        "insert into jobs (id, kind, lane, owner, params, status, created_at) values (?, ?, ?, ?, ?, ?, ?)",
        [
            "old1",
            "dataset.photos",
            "cpu",
            "ana",
            json.dumps({"name": "v1"}),
            "succeeded",
            time.time(),
        ],
    )
    conn.commit()
    conn.close()

    records.upgrade("0001")
    assert _schema(bare_home / "studio.db") == _schema(MAIN_DB)
    records.upgrade()

    job = store.find_job("old1", SYSTEM)
    assert job is not None and job["kind"] == "photo_dataset.build"
    assert job["params"] == {"name": "v1"}


def test_dataset_sidecars_of_revision_0002_become_rows_and_nothing_is_lost(any_bare_home):
    """STUDIO_HOME as revision 0002 left it: a ``studio-dataset.json`` per dataset
    folder, and a photo review's ``.pending-edits.json``. Revision 0003 makes each a
    row; the files (sidecars included) stay."""
    from jobs import datasets
    from jobs.access import User

    records.upgrade("0002")
    root = any_bare_home / "datasets"
    sidecars = {
        ("ana", "v1"): {"id": "a1", "kind": "photos", "created_at": 100.0, "job_id": "j1"},
        ("bo", "v1"): {"id": "b1", "kind": "videos", "created_at": 200.0, "job_id": None},
    }
    for (owner, name), meta in sidecars.items():
        path = root / owner / name
        path.mkdir(parents=True)
        full = {**meta, "name": name, "owner": owner, "options": {"trigger": owner}}
        (path / datasets.META).write_text(json.dumps(full))
        (path / "1.jpg").write_bytes(owner.encode())
    review = {"flips": {"1.jpg": "dropped"}, "crops": {"1.jpg": [0, 0, 8, 8]}}
    (root / "ana" / "v1" / ".pending-edits.json").write_text(json.dumps(review))

    records.upgrade()

    ana = datasets.get("v1", User("ana"))
    assert (ana["id"], ana["kind"], ana["job_id"], ana["options"], ana["created_at"]) == (
        "a1",
        "photos",
        "j1",
        {"trigger": "ana"},
        100.0,
    )
    assert ana["files"] == ["1.jpg"]
    bo = datasets.get("v1", User("bo"), kind="videos")
    assert (bo["id"], bo["job_id"], bo["options"]) == ("b1", None, {"trigger": "bo"})
    assert (root / "bo" / "v1" / "1.jpg").read_bytes() == b"bo"
    assert (root / "ana" / "v1" / datasets.META).is_file()  # kept, read no more
    # bound as before: a job of ana's v1 finds its folder by the record's id
    bound = {datasets.REF: {"id": "a1", "owner": "ana", "name": "v1"}}
    assert datasets.bound_folder(bound) == root / "ana" / "v1"
    with pytest.raises(datasets.DatasetExists):
        datasets.reserve("v1", "photos", owner="ana")
    # the photo review's pending edits came along
    from jobs.tools import photo_dataset as photos

    assert photos.read_pending_edits("v1", "ana") == review
    assert photos.read_pending_edits("v1", "bo") == {"flips": {}, "crops": {}}


def _shape(url: str) -> dict[str, object]:
    """Every table's columns (name, Python type, nullable, primary key), indexes
    and unique constraints, as SQLAlchemy reads them from the database."""
    from sqlalchemy import create_engine, inspect

    from jobs.records.engine import database_url

    engine = create_engine(database_url(url))
    try:
        seen = inspect(engine)
        shape: dict[str, object] = {}
        for table in seen.get_table_names():
            pk = set(seen.get_pk_constraint(table)["constrained_columns"])
            shape[table] = sorted(
                (c["name"], c["type"].python_type.__name__, c["nullable"] and c["name"] not in pk)
                for c in seen.get_columns(table)
            )
            shape[f"{table} key"] = sorted(pk)
            shape[f"{table} indexes"] = sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in seen.get_indexes(table)
                if not i.get("duplicates_constraint")  # PostgreSQL: a unique constraint's index
            )
            shape[f"{table} unique"] = sorted(
                tuple(u["column_names"]) for u in seen.get_unique_constraints(table)
            )
        return shape
    finally:
        engine.dispose()


def test_an_empty_postgres_database_upgrades_revision_by_revision_to_the_sqlite_schema(
    bare_home, postgres_url, monkeypatch
):
    """Every revision (0001 to the head) runs on PostgreSQL from an empty
    database, and leaves the same tables, column types, keys and indexes as on
    SQLite; then it takes records (a job claimed, a frames mark with its
    generated id)."""
    from jobs.settings import get_settings, reset_settings
    from jobs.tools.frames import repository as frames

    records.upgrade()
    sqlite_shape = _shape(get_settings().records_url)
    records.dispose()
    monkeypatch.setenv("STUDIO_DATABASE_URL", postgres_url)
    reset_settings()
    assert records.current_revision() is None
    for revision in ("0001", "0002", "0003", "0004", "0005"):
        assert records.upgrade(revision)[1] == revision
    assert records.current_revision() == records.head_revision()
    assert records.upgrade() == (records.head_revision(), records.head_revision())
    assert _shape(postgres_url) == sqlite_shape

    job = store.create_job("system.sleep", "cpu", "ana", {"a": [1]}, "t", 3)
    claimed = store.claim_job(job["id"], "w")
    assert (
        claimed is not None and claimed["status"] == "running" and claimed["params"] == {"a": [1]}
    )
    assert store.claim_job(job["id"], "w2") is None
    for which in ("start", "end"):
        frames.insert_mark(
            {"video_id": "v", "which": which, "method": "manual", "user": "ana", "at": time.time()}
        )
    assert [(m["id"], m["which"]) for m in frames.mark_rows("v")] == [(1, "start"), (2, "end")]
