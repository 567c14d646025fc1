"""Baseline: the whole schema of the studio as the last release before
Alembic left it (the ``jobs``, ``frames``, ``dance``, ``monitor`` and
``video_edit`` areas of the old ``schema_migrations`` steps).

A fresh database gets every table here. A ``studio.db`` made by an older
studio is brought to the same place without losing a row: tables and indexes
it lacks are created, the tables it has are kept as they are, and the old
data steps it never ran (recorded in its ``schema_migrations`` table, which
is left in place) run once. The tables are a frozen copy: later changes are
new revisions, never edits here.

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

meta = sa.MetaData()
Text, Real, Int = sa.Text, sa.Float, sa.Integer


def nn(name: str, type_: type = sa.Text, default: str | None = None) -> sa.Column:
    """A NOT NULL column (with a server default when given)."""
    return sa.Column(name, type_, nullable=False, server_default=default)


# -- jobs (the core) ----------------------------------------------------------
jobs = sa.Table(
    "jobs",
    meta,
    sa.Column("id", Text, primary_key=True),
    nn("kind"),
    nn("lane"),
    nn("owner"),
    sa.Column("title", Text),
    nn("params", Text, "{}"),
    nn("status"),
    sa.Column("stage", Text),
    nn("progress", Real, "0"),
    sa.Column("item", Text),
    sa.Column("message", Text),
    sa.Column("eta_s", Real),
    sa.Column("error", Text),
    nn("outputs", Text, "{}"),
    nn("attempts", Int, "0"),
    nn("max_attempts", Int, "3"),
    nn("cancel_requested", Int, "0"),
    sa.Column("worker", Text),
    sa.Column("heartbeat_at", Real),
    nn("created_at", Real),
    sa.Column("started_at", Real),
    sa.Column("finished_at", Real),
    sa.Index("jobs_status_lane", "status", "lane"),
    sa.Index("jobs_created", "created_at"),
)
sa.Table(
    "job_samples",
    meta,
    nn("job_id"),
    nn("t", Real),
    *(sa.Column(name, Real) for name in ("cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util")),
    sa.Index("job_samples_job", "job_id", "t"),
)
sa.Table(
    "workers",
    meta,
    sa.Column("id", Text, primary_key=True),
    nn("lane"),
    nn("host"),
    nn("pid", Int),
    nn("started_at", Real),
    nn("heartbeat_at", Real),
    nn("info", Text, "{}"),
)
sa.Table(
    "worker_samples",
    meta,
    nn("worker_id"),
    nn("lane"),
    nn("t", Real),
    *(sa.Column(name, Real) for name in ("cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util")),
    sa.Index("worker_samples_t", "t"),
)

# -- frames -------------------------------------------------------------------
fr_videos = sa.Table(
    "fr_videos",
    meta,
    sa.Column("id", Text, primary_key=True),
    nn("filename"),
    nn("owner"),
    nn("path"),
    sa.Column("source_path", Text),
    sa.Column("batch_id", Text),
    nn("status"),
    sa.Column("current_step", Text),
    sa.Column("error", Text),
    sa.Column("job_id", Text),
    nn("info", Text, "{}"),
    nn("detection", Text, "{}"),
    nn("warnings", Text, "[]"),
    sa.Column("fps", Real),
    sa.Column("width", Int),
    sa.Column("height", Int),
    sa.Column("duration", Real),
    sa.Column("frame_count", Int),
    sa.Column("first_frame", Int),
    sa.Column("first_time", Real),
    sa.Column("last_frame", Int),
    sa.Column("last_time", Real),
    sa.Column("marking_method", Text),
    sa.Column("ai_confidence", Real),
    nn("review_status", Text, "pending"),
    sa.Column("reviewed_by", Text),
    sa.Column("reviewed_at", Real),
    nn("notes", Text, ""),
    nn("exclusions", Text, "[]"),
    sa.Column("status_bar", Real),
    nn("created_at", Real),
    nn("updated_at", Real),
    sa.Index("fr_videos_status", "status", "review_status"),
    sa.Index("fr_videos_owner", "owner", "created_at"),
)
fr_marks = sa.Table(
    "fr_marks",
    meta,
    sa.Column("id", Int, primary_key=True, autoincrement=True),
    nn("video_id"),
    nn("which"),
    sa.Column("from_frame", Int),
    sa.Column("from_time", Real),
    sa.Column("to_frame", Int),
    sa.Column("to_time", Real),
    nn("method"),
    nn("user"),
    nn("notes", Text, ""),
    nn("at", Real),
    sa.Index("fr_marks_video", "video_id", "id"),
    sqlite_autoincrement=True,
)
sa.Table(
    "fr_tasks",
    meta,
    sa.Column("id", Text, primary_key=True),
    nn("name"),
    nn("description", Text, ""),
    nn("created_by"),
    nn("exclusions", Text, "[]"),
    nn("created_at", Real),
    nn("updated_at", Real),
    sa.Index("fr_tasks_owner", "created_by", "created_at"),
)
sa.Table(
    "fr_task_videos",
    meta,
    sa.Column("task_id", Text, primary_key=True),
    sa.Column("video_id", Text, primary_key=True),
    nn("ord", Int),
    nn("notes", Text, ""),
    nn("added_at", Real),
)

# -- dance (seed 004 §4, plus owner and the studio's columns) -------------------
_project = sa.ForeignKey("projects.id", ondelete="CASCADE")
sa.Table(
    "projects",
    meta,
    sa.Column("id", Text, primary_key=True),
    nn("owner"),
    nn("name"),
    sa.Column("description", Text),
    nn("created_at"),
    nn("updated_at"),
    sa.Index("projects_owner", "owner", "created_at"),
)
sa.Table(
    "reference_assets",
    meta,
    sa.Column("id", Text, primary_key=True),
    sa.Column("project_id", Text, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    nn("owner"),
    nn("name"),
    nn("image_path"),
    sa.Column("meta", Text),
    nn("created_at"),
    nn("updated_at"),
    sa.Index("reference_assets_project", "project_id"),
)
sa.Table(
    "motion_assets",
    meta,
    sa.Column("id", Text, primary_key=True),
    sa.Column("project_id", Text, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    nn("owner"),
    nn("name"),
    nn("video_path"),
    sa.Column("meta", Text),
    sa.Column("info", Text),
    nn("created_at"),
    nn("updated_at"),
    sa.Index("motion_assets_project", "project_id"),
)
sa.Table(
    "experiments",
    meta,
    sa.Column("id", Text, primary_key=True),
    sa.Column("project_id", Text, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("reference_id", Text, sa.ForeignKey("reference_assets.id", ondelete="SET NULL")),
    sa.Column("motion_id", Text, sa.ForeignKey("motion_assets.id", ondelete="SET NULL")),
    nn("owner"),
    nn("name"),
    sa.Column("description", Text),
    sa.Column("input_dir", Text),
    sa.Column("config", Text),
    sa.Column("source_input_dir", Text),
    sa.Column("preprocess_job_id", Text),
    sa.Column("preprocess", Text),
    nn("created_at"),
    nn("updated_at"),
    sa.Index("experiments_project", "project_id"),
)
sa.Table(
    "generation_jobs",
    meta,
    sa.Column("id", Text, primary_key=True),
    sa.Column("project_id", Text, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("experiment_id", Text, sa.ForeignKey("experiments.id", ondelete="SET NULL")),
    nn("owner"),
    sa.Column("task_id", Text, nullable=False, unique=True),
    nn("job_type"),
    nn("backend"),
    nn("status"),
    nn("input_dir"),
    nn("params"),
    sa.Column("success", Int),
    sa.Column("result_video_path", Text),
    sa.Column("error_message", Text),
    nn("created_at"),
    nn("updated_at"),
    sa.Column("finished_at", Text),
    sa.Index("generation_jobs_project", "project_id", "created_at"),
    sa.Index("generation_jobs_experiment", "experiment_id"),
)

# -- monitor --------------------------------------------------------------------
sa.Table(
    "scenarios",
    meta,
    sa.Column("name", Text, primary_key=True),
    nn("language"),
    nn("code"),
    nn("metrics"),
    nn("interval_s", Real),
    nn("timeout_s", Real),
    nn("target", Text, ""),
    nn("owner"),
    nn("created_at", Real),
    nn("updated_at", Real),
)

# -- video edit -------------------------------------------------------------------
sa.Table(
    "video_edit_jobs",
    meta,
    sa.Column("job_id", Text, primary_key=True),
    sa.Column("studio_job_id", Text),
    nn("owner"),
    nn("what"),
    sa.Column("output_dir", Text),
    nn("created_at", Real),
    sa.Index("video_edit_jobs_studio", "studio_job_id"),
)

# The old registry's table (read here, never written again).
schema_migrations = sa.table("schema_migrations", sa.column("area"), sa.column("version"))

_KIND_RENAMES = {  # old step ("jobs", 2): job kinds take their tool's name
    "dataset.photos": "photo_dataset.build",
    "dataset.photos_caption": "photo_dataset.caption",
    "dataset.photos_repackage": "photo_dataset.repackage",
    "dataset.videos": "video_dataset.build",
    "dataset.videos_gpu": "video_dataset.build_gpu",
}


def _tool_names(bind: sa.Connection) -> None:
    for old, new in _KIND_RENAMES.items():
        bind.execute(sa.update(jobs).where(jobs.c.kind == old).values(kind=new))


def _half_reviewed_back_in_the_queue(bind: sa.Connection) -> None:
    """Old step ("frames", 2): a recording counts as reviewed only once a person
    confirmed BOTH marks (the latest mark of each end, not the algorithm's)."""
    m, m2 = fr_marks.alias("m"), fr_marks.alias("m2")
    latest = (
        sa.select(sa.func.max(m2.c.id))
        .where(m2.c.video_id == m.c.video_id, m2.c.which == m.c.which)
        .scalar_subquery()
    )
    confirmed = (
        sa.select(sa.func.count(sa.distinct(m.c.which)))
        .where(m.c.video_id == fr_videos.c.id, m.c.method != "algorithm", m.c.id == latest)
        .scalar_subquery()
    )
    bind.execute(
        sa.update(fr_videos)
        .where(fr_videos.c.review_status == "reviewed", confirmed < 2)
        .values(review_status="in_review")
    )


DATA_STEPS = {("jobs", 2): _tool_names, ("frames", 2): _half_reviewed_back_in_the_queue}


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    done: set[tuple[str, int]] = set()
    if "schema_migrations" in existing:
        done = {
            (area, int(version))
            for area, version in bind.execute(
                sa.select(schema_migrations.c.area, schema_migrations.c.version)
            )
        }
    for table in meta.sorted_tables:
        if table.name not in existing:
            table.create(bind)
            continue
        have = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in have:
                index.create(bind)
    for step, run in DATA_STEPS.items():
        if step not in done:
            run(bind)


def downgrade() -> None:
    raise NotImplementedError("The baseline is not undone: restore a backup of studio.db.")
