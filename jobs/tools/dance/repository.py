"""Dance records' tables and queries (seed 004 §4, on the records package):
projects, reference assets, motion assets, experiments and generation jobs.

The tables match revision 0001 exactly. JSON columns (``meta``, ``config``,
``params``, ``info``, ``preprocess``) are stored as text and decoded here;
times are ISO 8601 text. Deletes do their own cascading and SET NULL (SQLite
does not enforce foreign keys on the studio's connections), each in one
:func:`jobs.records.transaction`. No ownership checks here: callers
(``jobs.tools.dance.records``) check the owner first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jobs import records
from jobs.records.sql import (
    Column,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from jobs.records.tables import jobs as jobs_table
from jobs.records.tables import metadata

ACTIVE = ("queued", "running")
_JSON = ("meta", "config", "params", "info", "preprocess")


def _nn(name: str, type_: Any = Text) -> Column:
    return Column(name, type_, nullable=False)


projects = Table(
    "projects",
    metadata,
    Column("id", Text, primary_key=True),
    _nn("owner"),
    _nn("name"),
    Column("description", Text),
    _nn("created_at"),
    _nn("updated_at"),
    Index("projects_owner", "owner", "created_at"),
)
reference_assets = Table(
    "reference_assets",
    metadata,
    Column("id", Text, primary_key=True),
    Column("project_id", Text, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    _nn("owner"),
    _nn("name"),
    _nn("image_path"),
    Column("meta", Text),
    _nn("created_at"),
    _nn("updated_at"),
    Index("reference_assets_project", "project_id"),
)
motion_assets = Table(
    "motion_assets",
    metadata,
    Column("id", Text, primary_key=True),
    Column("project_id", Text, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    _nn("owner"),
    _nn("name"),
    _nn("video_path"),
    Column("meta", Text),
    Column("info", Text),
    _nn("created_at"),
    _nn("updated_at"),
    Index("motion_assets_project", "project_id"),
)
experiments = Table(
    "experiments",
    metadata,
    Column("id", Text, primary_key=True),
    Column("project_id", Text, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("reference_id", Text, ForeignKey("reference_assets.id", ondelete="SET NULL")),
    Column("motion_id", Text, ForeignKey("motion_assets.id", ondelete="SET NULL")),
    _nn("owner"),
    _nn("name"),
    Column("description", Text),
    Column("input_dir", Text),
    Column("config", Text),
    Column("source_input_dir", Text),
    Column("preprocess_job_id", Text),
    Column("preprocess", Text),
    _nn("created_at"),
    _nn("updated_at"),
    Index("experiments_project", "project_id"),
)
generation_jobs = Table(
    "generation_jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("project_id", Text, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("experiment_id", Text, ForeignKey("experiments.id", ondelete="SET NULL")),
    _nn("owner"),
    Column("task_id", Text, nullable=False, unique=True),
    _nn("job_type"),
    _nn("backend"),
    _nn("status"),
    _nn("input_dir"),
    _nn("params"),
    Column("success", Integer),
    Column("result_video_path", Text),
    Column("error_message", Text),
    _nn("created_at"),
    _nn("updated_at"),
    Column("finished_at", Text),
    Index("generation_jobs_project", "project_id", "created_at"),
    Index("generation_jobs_experiment", "experiment_id"),
)

TABLES = {
    t.name: t for t in (projects, reference_assets, motion_assets, experiments, generation_jobs)
}


def decode(row: Any) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for key in _JSON:
        if key in out and isinstance(out[key], str):
            out[key] = json.loads(out[key])
    if "success" in out and out["success"] is not None:
        out["success"] = bool(out["success"])
    return out


def encode(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (json.dumps(v) if k in _JSON and v is not None else v) for k, v in fields.items()}


def _decoded(found: Any) -> list[dict]:
    return [r for r in (decode(row) for row in found) if r is not None]


# -- any table, by id -----------------------------------------------------------------


def one(table: str, row_id: str) -> dict | None:
    t = TABLES[table]
    return decode(records.first(select(t).where(t.c.id == row_id)))


def add(table: str, row: Mapping[str, Any]) -> None:
    records.execute(insert(TABLES[table]).values(encode(row)))


def change(table: str, row_id: str, fields: Mapping[str, Any]) -> None:
    t = TABLES[table]
    records.execute(update(t).where(t.c.id == row_id).values(encode(fields)))


def _newest_first(query: Any, t: Table, limit: int | None, offset: int) -> Any:
    """Newest first (ties: by id), ``limit`` rows (None: all) from ``offset``."""
    query = query.order_by(t.c.created_at.desc(), t.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return query.offset(offset) if offset else query


def of_project(
    table: str,
    project_id: str,
    experiment_id: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict]:
    """A project's rows of ``table``, newest first (optionally of one experiment;
    a page of ``limit`` rows from ``offset``)."""
    t = TABLES[table]
    query = select(t).where(t.c.project_id == project_id)
    if experiment_id:
        query = query.where(t.c.experiment_id == experiment_id)
    return _decoded(records.rows(_newest_first(query, t, limit, offset)))


# -- projects -------------------------------------------------------------------------

_NAME_TAKEN = select(projects.c.id).where(
    projects.c.owner == bindparam("owner"), projects.c.name == bindparam("name")
)


def add_project(row: Mapping[str, Any]) -> bool:
    """Insert a project unless its owner has one of that name (checked and
    inserted in one transaction); False when the name is taken."""
    with records.transaction() as conn:
        if conn.execute(_NAME_TAKEN, {"owner": row["owner"], "name": row["name"]}).first():
            return False
        conn.execute(insert(projects).values(encode(row)))
    return True


def change_project(project_id: str, owner: str, fields: Mapping[str, Any]) -> bool:
    """Change a project's columns unless a new name is one of its owner's other
    projects' (checked and changed in one transaction); False when it is taken."""
    with records.transaction() as conn:
        if "name" in fields:
            taken = conn.execute(_NAME_TAKEN, {"owner": owner, "name": fields["name"]}).first()
            if taken and taken[0] != project_id:
                return False
        conn.execute(update(projects).where(projects.c.id == project_id).values(encode(fields)))
    return True


def list_projects(owner: str | None, limit: int | None = None, offset: int = 0) -> list[dict]:
    query = select(projects)
    if owner:
        query = query.where(projects.c.owner == owner)
    return _decoded(records.rows(_newest_first(query, projects, limit, offset)))


def touch_project(project_id: str, now: str) -> None:
    records.execute(update(projects).where(projects.c.id == project_id).values(updated_at=now))


def active_job_ids(project_id: str, experiment_id: str | None = None) -> list[str]:
    """Studio job ids of the project's (or experiment's) jobs still queued or
    running, preprocessing included."""
    generations = select(generation_jobs.c.task_id).where(
        generation_jobs.c.project_id == project_id
    )
    preparations = select(experiments.c.preprocess_job_id).where(
        experiments.c.project_id == project_id
    )
    if experiment_id:
        generations = generations.where(generation_jobs.c.experiment_id == experiment_id)
        preparations = preparations.where(experiments.c.id == experiment_id)
    query = select(jobs_table.c.id).where(
        jobs_table.c.status.in_(ACTIVE), jobs_table.c.id.in_(generations.union(preparations))
    )
    return [row["id"] for row in records.rows(query)]


def delete_project(project_id: str) -> None:
    """The project and everything in it (assets, experiments, generation rows),
    in one transaction."""
    with records.transaction() as conn:
        for t in (generation_jobs, experiments, reference_assets, motion_assets):
            conn.execute(delete(t).where(t.c.project_id == project_id))
        conn.execute(delete(projects).where(projects.c.id == project_id))


# -- assets, experiments, generation jobs -----------------------------------------------

_LINK = {"reference_assets": experiments.c.reference_id, "motion_assets": experiments.c.motion_id}


def preparing_from(table: str, asset_id: str) -> bool:
    """Whether an experiment is being prepared (its job queued or running)
    from this asset."""
    query = (
        select(experiments.c.id)
        .join(jobs_table, jobs_table.c.id == experiments.c.preprocess_job_id)
        .where(_LINK[table] == asset_id, jobs_table.c.status.in_(ACTIVE))
        .limit(1)
    )
    return records.first(query) is not None


def delete_asset(table: str, asset_id: str, now: str) -> None:
    """The asset's row; its experiments lose the link (SET NULL), together."""
    link, t = _LINK[table], TABLES[table]
    with records.transaction() as conn:
        conn.execute(
            update(experiments).where(link == asset_id).values({link.name: None, "updated_at": now})
        )
        conn.execute(delete(t).where(t.c.id == asset_id))


def delete_experiment(experiment_id: str, now: str) -> None:
    """The experiment's row; its generation jobs lose the link (SET NULL), together."""
    with records.transaction() as conn:
        conn.execute(
            update(generation_jobs)
            .where(generation_jobs.c.experiment_id == experiment_id)
            .values(experiment_id=None, updated_at=now)
        )
        conn.execute(delete(experiments).where(experiments.c.id == experiment_id))


def delete_generation_job(job_id: str) -> None:
    records.execute(delete(generation_jobs).where(generation_jobs.c.id == job_id))
