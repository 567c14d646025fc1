"""The frame review's tables and queries (seed 001), on the records package.

Tables (made by the records' migrations, ``jobs/records/migrations``; the
definitions here match them column for column):

- ``fr_videos``: one row per recording (file, owner, processing and review
  state, metadata, the detector's result, the current marks);
- ``fr_marks``: the history of every mark (who, when, from → to, how);
- ``fr_tasks`` and ``fr_task_videos`` (with ``ord``): tasks and their videos.

Only rows go in and out of here; what they mean (owners, marks, tasks) is
:mod:`.records` and :mod:`.tasks`. Writes that belong together run in one
:func:`jobs.records.transaction`: a recording's delete with its marks and task
links, a task's delete with its links, appending to a task (its order numbers
are read and written under the write lock: no two adds share a number) and
reordering a task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobs import records
from jobs.records.sql import (
    Column,
    Float,
    Index,
    Integer,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from jobs.records.tables import metadata

Row = Mapping[Any, Any]  # a row as the records package hands it back (RowMapping)


def _nn(name: str, type_: type = Text, default: str | None = None) -> Column[Any]:
    return Column(name, type_, nullable=False, server_default=default)


videos = Table(
    "fr_videos",
    metadata,
    Column("id", Text, primary_key=True),
    _nn("filename"),
    _nn("owner"),
    _nn("path"),
    Column("source_path", Text),
    Column("batch_id", Text),
    _nn("status"),
    Column("current_step", Text),
    Column("error", Text),
    Column("job_id", Text),
    _nn("info", Text, "{}"),
    _nn("detection", Text, "{}"),
    _nn("warnings", Text, "[]"),
    Column("fps", Float),
    Column("width", Integer),
    Column("height", Integer),
    Column("duration", Float),
    Column("frame_count", Integer),
    Column("first_frame", Integer),
    Column("first_time", Float),
    Column("last_frame", Integer),
    Column("last_time", Float),
    Column("marking_method", Text),
    Column("ai_confidence", Float),
    _nn("review_status", Text, "pending"),
    Column("reviewed_by", Text),
    Column("reviewed_at", Float),
    _nn("notes", Text, ""),
    _nn("exclusions", Text, "[]"),
    Column("status_bar", Float),
    _nn("created_at", Float),
    _nn("updated_at", Float),
    Index("fr_videos_status", "status", "review_status"),
    Index("fr_videos_owner", "owner", "created_at"),
)

marks = Table(
    "fr_marks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _nn("video_id"),
    _nn("which"),
    Column("from_frame", Integer),
    Column("from_time", Float),
    Column("to_frame", Integer),
    Column("to_time", Float),
    _nn("method"),
    _nn("user"),
    _nn("notes", Text, ""),
    _nn("at", Float),
    Index("fr_marks_video", "video_id", "id"),
    sqlite_autoincrement=True,
)

tasks = Table(
    "fr_tasks",
    metadata,
    Column("id", Text, primary_key=True),
    _nn("name"),
    _nn("description", Text, ""),
    _nn("created_by"),
    _nn("exclusions", Text, "[]"),
    _nn("created_at", Float),
    _nn("updated_at", Float),
    Index("fr_tasks_owner", "created_by", "created_at"),
)

task_videos = Table(
    "fr_task_videos",
    metadata,
    Column("task_id", Text, primary_key=True),
    Column("video_id", Text, primary_key=True),
    _nn("ord", Integer),
    _nn("notes", Text, ""),
    _nn("added_at", Float),
)

_v, _m, _t, _tv = videos.c, marks.c, tasks.c, task_videos.c

# -- recordings ------------------------------------------------------------------------


def insert_video(values: Row) -> None:
    records.execute(insert(videos).values(**values))


def video_row(video_id: str) -> Row | None:
    return records.first(select(videos).where(_v.id == video_id))


def update_video_row(video_id: str, values: Row) -> None:
    records.execute(update(videos).where(_v.id == video_id).values(**values))


def update_video_with_marks(video_id: str, values: Row, mark_changes: Sequence[Row]) -> None:
    """The recording's new fields and the history rows of its marks' changes, in one transaction."""
    with records.transaction() as conn:
        conn.execute(update(videos).where(_v.id == video_id).values(**values))
        for row in mark_changes:
            conn.execute(insert(marks).values(**row))


def video_rows(
    owner: str | None,
    status: str | None,
    batch_id: str | None,
    ids: Sequence[str] | None,
    skip: int,
    limit: int,
) -> Sequence[Row]:
    """Recordings, newest first, filtered by whatever is given (``ids=[]``: none)."""
    query = select(videos)
    if owner is not None:
        query = query.where(_v.owner == owner)
    if status:
        query = query.where(_v.status == status)
    if batch_id:
        query = query.where(_v.batch_id == batch_id)
    if ids is not None:
        query = query.where(_v.id.in_(list(ids)))
    query = query.order_by(_v.created_at.desc(), _v.id).limit(limit).offset(skip)
    return records.rows(query)


def pending_rows(owner: str | None, skip: int, limit: int) -> Sequence[Row]:
    """Analysed recordings not confirmed by a reviewer: least confident first, then oldest."""
    query = select(videos).where(_v.status == "completed", _v.review_status != "reviewed")
    if owner is not None:
        query = query.where(_v.owner == owner)
    query = query.order_by(func.coalesce(_v.ai_confidence, 0), _v.created_at, _v.id)
    return records.rows(query.limit(limit).offset(skip))


def delete_video_rows(video_id: str) -> None:
    """The recording, its marks' history and its task links, in one transaction."""
    with records.transaction() as conn:
        conn.execute(delete(task_videos).where(_tv.video_id == video_id))
        conn.execute(delete(marks).where(_m.video_id == video_id))
        conn.execute(delete(videos).where(_v.id == video_id))


# -- marks -----------------------------------------------------------------------------


def insert_mark(values: Row) -> None:
    records.execute(insert(marks).values(**values))


def mark_rows(video_id: str) -> Sequence[Row]:
    """A recording's mark history, oldest first."""
    return records.rows(select(marks).where(_m.video_id == video_id).order_by(_m.id))


def mark_methods(video_id: str) -> Sequence[Row]:
    """``which`` and ``method`` of each mark change of a recording, oldest first."""
    return records.rows(select(_m.which, _m.method).where(_m.video_id == video_id).order_by(_m.id))


# -- tasks -----------------------------------------------------------------------------


def insert_task(values: Row) -> None:
    records.execute(insert(tasks).values(**values))


def task_row(task_id: str) -> Row | None:
    return records.first(select(tasks).where(_t.id == task_id))


def task_rows(created_by: str | None, skip: int, limit: int) -> Sequence[Row]:
    query = select(tasks)
    if created_by:
        query = query.where(_t.created_by == created_by)
    query = query.order_by(_t.created_at.desc(), _t.id).limit(limit).offset(skip)
    return records.rows(query)


def update_task_row(task_id: str, values: Row) -> None:
    records.execute(update(tasks).where(_t.id == task_id).values(**values))


def delete_task_rows(task_id: str) -> None:
    """The task and its links (not the recordings), in one transaction."""
    with records.transaction() as conn:
        conn.execute(delete(task_videos).where(_tv.task_id == task_id))
        conn.execute(delete(tasks).where(_t.id == task_id))


_NEXT_ORD = select(func.coalesce(func.max(_tv.ord), 0) + 1)
_LINKED = select(_tv.video_id)


def append_task_videos(
    task_id: str, video_ids: Sequence[str], notes: str, now: float
) -> list[bool]:
    """Append recordings to the task in this order, in one transaction (the write
    lock is taken first: each gets the next order number, with no gap and no
    number given twice under concurrent adds). Whether each id was added (False:
    it was in the task already and is left as it was)."""
    added: list[bool] = []
    with records.transaction() as conn:
        for vid in video_ids:
            linked = conn.execute(
                _LINKED.where(_tv.task_id == task_id, _tv.video_id == vid)
            ).first()
            if linked is None:
                ord_ = conn.execute(_NEXT_ORD.where(_tv.task_id == task_id)).scalar_one()
                conn.execute(
                    insert(task_videos).values(
                        task_id=task_id, video_id=vid, ord=ord_, notes=notes, added_at=now
                    )
                )
            added.append(linked is None)
        conn.execute(update(tasks).where(_t.id == task_id).values(updated_at=now))
    return added


def remove_task_video(task_id: str, video_id: str) -> int:
    """Unlink a recording from a task; the number of links removed (0 or 1)."""
    return records.execute(
        delete(task_videos).where(_tv.task_id == task_id, _tv.video_id == video_id)
    )


def set_task_order(task_id: str, video_ids: Sequence[str]) -> None:
    """Number the task's recordings 1, 2, … in this order, in one transaction."""
    with records.transaction() as conn:
        for k, vid in enumerate(video_ids, 1):
            conn.execute(
                update(task_videos).where(_tv.task_id == task_id, _tv.video_id == vid).values(ord=k)
            )


def task_video_ids(task_id: str) -> list[str]:
    query = select(_tv.video_id).where(_tv.task_id == task_id).order_by(_tv.ord, _tv.added_at)
    return [r["video_id"] for r in records.rows(query)]


def task_video_rows(task_id: str) -> Sequence[Row]:
    """The task's recordings in order: each recording's row with ``task_order``,
    ``task_notes`` and ``task_added_at`` of its link."""
    query = (
        select(
            videos,
            _tv.ord.label("task_order"),
            _tv.notes.label("task_notes"),
            _tv.added_at.label("task_added_at"),
        )
        .select_from(task_videos.join(videos, _v.id == _tv.video_id))
        .where(_tv.task_id == task_id)
        .order_by(_tv.ord, _tv.added_at)
    )
    return records.rows(query)
