"""The core's tables (SQLAlchemy Core: one definition for SQLite and
PostgreSQL): job records, their resource samples, worker heartbeats and the
workers' samples. The tools' tables join this module's ``metadata`` (or their
own repository's) as they move onto the records package.

The migrations (``jobs/records/migrations/versions``) keep their own frozen
copy of each table as it was at that revision: a table changed here needs a
new revision.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, Table, Text

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("lane", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("title", Text),
    Column("params", Text, nullable=False, server_default="{}"),
    Column("status", Text, nullable=False),
    Column("stage", Text),
    Column("progress", Float, nullable=False, server_default="0"),
    Column("item", Text),
    Column("message", Text),
    Column("eta_s", Float),
    Column("error", Text),
    Column("outputs", Text, nullable=False, server_default="{}"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False, server_default="3"),
    Column("cancel_requested", Integer, nullable=False, server_default="0"),
    Column("worker", Text),
    Column("heartbeat_at", Float),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("after", Text),  # the job this one waits for (submit(..., after=job)), revision 0003
    Column("waited_on", Integer, nullable=False, server_default="0"),  # a job waits for this one
    Column("host", Text),  # the machine of the worker that claimed it, revision 0005
    Column("gpus", Text),  # the GPU devices it ran on ("0,1"), revision 0005
    Index("jobs_status_lane", "status", "lane"),
    Index("jobs_created", "created_at"),
    Index("jobs_after", "after"),
)

job_samples = Table(
    "job_samples",
    metadata,
    Column("job_id", Text, nullable=False),
    Column("t", Float, nullable=False),
    Column("cpu_percent", Float),
    Column("rss_mb", Float),
    Column("gpu_mem_mb", Float),
    Column("gpu_util", Float),
    Index("job_samples_job", "job_id", "t"),
)

workers = Table(
    "workers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("lane", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
    Column("info", Text, nullable=False, server_default="{}"),
    # revision 0005: the GPU device(s) the lane is pinned to, its last sample, and
    # its device lease (the job using the lane's device, its own or a sibling's)
    Column("gpu", Text),
    Column("load", Text, nullable=False, server_default="{}"),
    Column("held_by", Text),
)

worker_samples = Table(
    "worker_samples",
    metadata,
    Column("worker_id", Text, nullable=False),
    Column("lane", Text, nullable=False),
    Column("t", Float, nullable=False),
    Column("cpu_percent", Float),
    Column("rss_mb", Float),
    Column("gpu_mem_mb", Float),
    Column("gpu_util", Float),
    Index("worker_samples_t", "t"),
)
