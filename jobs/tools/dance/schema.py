"""The dance tables in ``studio.db`` (seed 004 §4, plus ``owner`` and the
studio's columns), as versioned migration steps of the area ``dance``. A step
is never edited once released: add ``@migration("dance", 2)`` for a change."""

from __future__ import annotations

from typing import Any

from jobs.db import migration


@migration("dance", 1)
def _schema(db: Any) -> None:
    db.execute(
        """
        create table if not exists projects (
            id text primary key,
            owner text not null,
            name text not null,
            description text,
            created_at text not null,
            updated_at text not null
        )
        """
    )
    db.execute("create index if not exists projects_owner on projects (owner, created_at)")
    db.execute(
        """
        create table if not exists reference_assets (
            id text primary key,
            project_id text not null references projects(id) on delete cascade,
            owner text not null,
            name text not null,
            image_path text not null,
            meta text,
            created_at text not null,
            updated_at text not null
        )
        """
    )
    db.execute(
        "create index if not exists reference_assets_project on reference_assets (project_id)"
    )
    db.execute(
        """
        create table if not exists motion_assets (
            id text primary key,
            project_id text not null references projects(id) on delete cascade,
            owner text not null,
            name text not null,
            video_path text not null,
            meta text,
            info text,
            created_at text not null,
            updated_at text not null
        )
        """
    )
    db.execute("create index if not exists motion_assets_project on motion_assets (project_id)")
    db.execute(
        """
        create table if not exists experiments (
            id text primary key,
            project_id text not null references projects(id) on delete cascade,
            reference_id text references reference_assets(id) on delete set null,
            motion_id text references motion_assets(id) on delete set null,
            owner text not null,
            name text not null,
            description text,
            input_dir text,
            config text,
            source_input_dir text,
            preprocess_job_id text,
            preprocess text,
            created_at text not null,
            updated_at text not null
        )
        """
    )
    db.execute("create index if not exists experiments_project on experiments (project_id)")
    db.execute(
        """
        create table if not exists generation_jobs (
            id text primary key,
            project_id text not null references projects(id) on delete cascade,
            experiment_id text references experiments(id) on delete set null,
            owner text not null,
            task_id text unique not null,
            job_type text not null,
            backend text not null,
            status text not null,
            input_dir text not null,
            params text not null,
            success integer,
            result_video_path text,
            error_message text,
            created_at text not null,
            updated_at text not null,
            finished_at text
        )
        """
    )
    db.execute(
        "create index if not exists generation_jobs_project on generation_jobs (project_id, created_at)"
    )
    db.execute(
        "create index if not exists generation_jobs_experiment on generation_jobs (experiment_id)"
    )
