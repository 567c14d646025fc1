"""The frame review tables in ``studio.db`` (versioned steps of the ``frames`` area).

Step 1 is the released schema and is never edited; later changes are new steps.
"""

from __future__ import annotations

import sqlite_utils

from jobs.db import migration


@migration("frames", 1)
def _schema(db) -> None:
    db.execute(
        """
        create table if not exists fr_videos (
            id text primary key,
            filename text not null,
            owner text not null,
            path text not null,
            source_path text,
            batch_id text,
            status text not null,
            current_step text,
            error text,
            job_id text,
            info text not null default '{}',
            detection text not null default '{}',
            warnings text not null default '[]',
            fps real, width integer, height integer, duration real, frame_count integer,
            first_frame integer, first_time real, last_frame integer, last_time real,
            marking_method text,
            ai_confidence real,
            review_status text not null default 'pending',
            reviewed_by text, reviewed_at real,
            notes text not null default '',
            exclusions text not null default '[]',
            status_bar real,
            created_at real not null,
            updated_at real not null
        )
        """
    )
    db.execute("create index if not exists fr_videos_status on fr_videos (status, review_status)")
    db.execute(
        """
        create table if not exists fr_marks (
            id integer primary key autoincrement,
            video_id text not null,
            which text not null,
            from_frame integer, from_time real,
            to_frame integer, to_time real,
            method text not null,
            user text not null,
            notes text not null default '',
            at real not null
        )
        """
    )
    db.execute("create index if not exists fr_marks_video on fr_marks (video_id, id)")
    db.execute(
        """
        create table if not exists fr_tasks (
            id text primary key,
            name text not null,
            description text not null default '',
            created_by text not null,
            exclusions text not null default '[]',
            created_at real not null,
            updated_at real not null
        )
        """
    )
    db.execute(
        """
        create table if not exists fr_task_videos (
            task_id text not null,
            video_id text not null,
            ord integer not null,
            notes text not null default '',
            added_at real not null,
            primary key (task_id, video_id)
        )
        """
    )


@migration("frames", 2)
def _half_reviewed_back_in_the_queue(db: sqlite_utils.Database) -> None:
    """A recording counts as reviewed only once a person confirmed BOTH marks;
    one marked only halfway goes back into the review queue (``in_review``)."""
    db.execute(
        """
        update fr_videos set review_status = 'in_review'
        where review_status = 'reviewed' and (
            select count(distinct which) from fr_marks m
            where m.video_id = fr_videos.id and m.method != 'algorithm'
              and m.id = (select max(id) from fr_marks m2 where m2.video_id = m.video_id and m2.which = m.which)
        ) < 2
        """
    )
    db.execute("create index if not exists fr_videos_owner on fr_videos (owner, created_at)")
    db.execute("create index if not exists fr_tasks_owner on fr_tasks (created_by, created_at)")
