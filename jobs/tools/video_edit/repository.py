"""The video edit's records on the records package: the ``video_edit_jobs``
table (the seed's ``job_id`` → the studio job that runs it; the definition
matches the migrated one) and its queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobs import records
from jobs.records.sql import Column, Float, Index, Table, Text, delete, insert, select, update
from jobs.records.tables import metadata
from pipelines.errors import Conflict

Row = Mapping[Any, Any]  # a row as the records package hands it back (RowMapping)

video_edit_jobs = Table(
    "video_edit_jobs",
    metadata,
    Column("job_id", Text, primary_key=True),
    Column("studio_job_id", Text),
    Column("owner", Text, nullable=False),
    Column("what", Text, nullable=False),
    Column("output_dir", Text),
    Column("created_at", Float, nullable=False),
    Index("video_edit_jobs_studio", "studio_job_id"),
)

_c = video_edit_jobs.c


def insert_new(values: Row, taken: str) -> None:
    """A new row for a seed job id; :class:`pipelines.errors.Conflict` with the
    message ``taken`` when the id is in the table already."""
    with records.transaction() as conn:
        records.insert_unique(conn, insert(video_edit_jobs).values(**values), Conflict(taken))


def by_seed_id(job_id: str) -> Row | None:
    return records.first(select(video_edit_jobs).where(_c.job_id == job_id))


def by_studio_id(studio_job_id: str) -> Row | None:
    return records.first(select(video_edit_jobs).where(_c.studio_job_id == studio_job_id))


def using_folder(output_dir: str) -> Sequence[Row]:
    """The edits that write into ``output_dir`` (seed id and studio job id)."""
    return records.rows(select(_c.job_id, _c.studio_job_id).where(_c.output_dir == output_dir))


def listing(owner: str | None, limit: int, offset: int) -> Sequence[Row]:
    """The edits of ``owner`` (everyone's for None), newest first, that have a studio job."""
    statement = select(video_edit_jobs).where(_c.studio_job_id.is_not(None))
    if owner is not None:
        statement = statement.where(_c.owner == owner)
    return records.rows(
        statement.order_by(_c.created_at.desc(), _c.job_id).limit(limit).offset(offset)
    )


def bind(job_id: str, studio_job_id: str) -> None:
    """The studio job that runs the seed job ``job_id``."""
    records.execute(
        update(video_edit_jobs).where(_c.job_id == job_id).values(studio_job_id=studio_job_id)
    )


def forget(job_id: str) -> None:
    records.execute(delete(video_edit_jobs).where(_c.job_id == job_id))


def forget_studio_job(studio_job_id: str) -> None:
    records.execute(delete(video_edit_jobs).where(_c.studio_job_id == studio_job_id))
