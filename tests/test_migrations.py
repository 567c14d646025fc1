"""An old studio folder opens with a new studio: the schema steps it lacks run
once, in order, and are recorded in ``schema_migrations``."""

from __future__ import annotations

import json
import sqlite3
import time

from jobs import db as jobs_db


def _old_studio(path) -> None:
    """studio.db as the release before versioned migrations left it: the jobs
    table, no schema_migrations, a photo build under its old kind name."""
    conn = sqlite3.connect(path)
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


def test_an_old_studio_db_is_migrated_once_and_keeps_its_jobs(studio_home):
    from jobs import store
    from jobs.access import SYSTEM
    from jobs.kinds import load_tools
    from jobs.settings import get_settings

    load_tools()  # every tool's steps registered, as in the app and the worker
    path = get_settings().db_path
    path.parent.mkdir(parents=True, exist_ok=True)
    _old_studio(path)

    job = store.find_job("old1", SYSTEM)
    assert (
        job is not None and job["kind"] == "photo_dataset.build" and job["params"] == {"name": "v1"}
    )
    versions = jobs_db.schema_versions(jobs_db.database())
    assert versions["jobs"] == 2 and {"frames", "monitor", "dance"} <= set(versions)
    tables = set(jobs_db.database().table_names())
    assert {"fr_videos", "scenarios", "projects", "generation_jobs"} <= tables

    # A second open of the same folder applies nothing.
    assert jobs_db.migrate(jobs_db.connect(path)) == []


def test_a_step_registered_later_runs_on_the_next_open(studio_home):
    db = jobs_db.database()
    applied_before = dict(jobs_db.schema_versions(db))

    @jobs_db.migration("test_area", 1)
    def _step(d) -> None:
        d.execute("create table test_area_things (id integer primary key)")

    try:
        db = jobs_db.database()
        assert "test_area_things" in db.table_names()
        assert jobs_db.schema_versions(db) == {**applied_before, "test_area": 1}
    finally:
        del jobs_db._migrations[("test_area", 1)]
