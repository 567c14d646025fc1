"""Job records: the source of truth for every job of every tool.

A record lives in the ``jobs`` table and is mirrored to
``STUDIO_HOME/jobs/<id>/status.json``; the job's folder also holds
``inputs/``, ``outputs/`` and ``log.txt``. Each change of a record is one SQL
statement (one transaction, built with the records package's tables:
``jobs.records``) that hands the new row back (``RETURNING``). The mirror is
written from that row when the job ends and on every :func:`update_job` (a
cancel, a retry, recovery); while a job runs, progress refreshes it at most
every few seconds (``jobs.reporter``). A job that is queued, or has run for
less than that, has no mirror yet: its first write is a new file, not one
renamed over another (which ext4 flushes to disk at once, ~1–8 ms a job under
load: benchmarks/README.md). Records leave this module as
:class:`Job` (a typed dict: ``job["status"]`` as before, checked by mypy).

Reading a job for a user: :func:`job_for` (another user's job is answered
like a missing one, 404). Without a user (the worker, the studio itself):
:func:`get_job` (raises) or :func:`find_job` (None).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, TextIO, TypedDict, cast

from jobs import records
from jobs.access import User, may_access
from jobs.records.sql import bindparam, delete, func, insert, select, update
from jobs.records.tables import job_samples as samples_table
from jobs.records.tables import jobs as jobs_table
from jobs.settings import get_settings
from pipelines.errors import Conflict, NotFound

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL = ("succeeded", "failed", "cancelled")
_JSON_FIELDS = ("params", "outputs")

# The job record's statements, built once (compiled once per set of columns; the
# values are bound parameters; records.prepared: on SQLite run without SQLAlchemy's
# per-execution work). Each change is one statement that hands the new row back.
_c = jobs_table.c
_BY_ID = _c.id == bindparam("job_id_")
_INSERT = records.prepared(insert(jobs_table).returning(*_c))
_SELECT = records.prepared(select(jobs_table).where(_BY_ID))
_UPDATE = records.prepared(update(jobs_table).where(_BY_ID).returning(*_c))  # SET: those given
_PROGRESS = records.prepared(update(jobs_table).where(_BY_ID).returning(_c.cancel_requested))
_CLAIM = records.prepared(
    update(jobs_table)
    .where(_BY_ID, _c.status == "queued", _c.cancel_requested == 0)
    .values(
        status="running",
        stage="starting",
        worker=bindparam("worker_"),
        host=bindparam("host_"),
        gpus=bindparam("gpus_"),
        heartbeat_at=bindparam("now_"),
        started_at=bindparam("now_"),
        finished_at=None,
        attempts=_c.attempts + 1,
        message="Started",
        error=None,
    )
    .returning(*_c)
)
_CANCEL_QUEUED = records.prepared(
    update(jobs_table)
    .where(_BY_ID, _c.status == "queued")
    .values(
        status="cancelled",
        stage="cancelled",
        cancel_requested=1,
        finished_at=bindparam("now_"),
        message="Cancelled before it started",
    )
    .returning(*_c)
)
_CANCEL_REQUESTED = records.prepared(select(_c.cancel_requested).where(_BY_ID))


class Job(TypedDict):
    """A job record (a row of ``jobs``, JSON fields decoded)."""

    id: str
    kind: str
    lane: str
    owner: str
    title: str | None
    params: dict[str, Any]
    status: str  # one of STATUSES
    stage: str | None
    progress: float
    item: str | None
    message: str | None
    eta_s: float | None
    error: str | None
    outputs: dict[str, Any]
    attempts: int
    max_attempts: int
    cancel_requested: bool
    worker: str | None
    heartbeat_at: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    after: str | None  # the job this one waits for (submit(..., after=job))
    waited_on: int  # 1 once a job was submitted after this one
    host: str | None  # the machine of the worker that claimed it (STUDIO_WORKER_HOST)
    gpus: str | None  # the GPU devices it ran on ("0,1"), for a GPU lane job


class JobNotFound(NotFound):
    """No such job, or not one the caller may see (404, the same words for both)."""

    def __init__(self, job_id: str, what: str | None = None):
        super().__init__(
            f"No {what} {job_id[:64]!r}. It does not exist or is not yours."
            if what
            else f"No job with id {job_id[:64]!r}. List your jobs with GET /api/v1/jobs."
        )
        self.job_id = job_id


class JobFileNotFound(NotFound, FileNotFoundError):
    """The job has no such file (404)."""


class JobStateError(Conflict):
    """The job is in a state that does not allow the action (HTTP 409)."""


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def job_dir(job_id: str) -> Path:
    return get_settings().jobs_dir / job_id


def decode(row: Mapping[Any, Any]) -> Job:
    """A row of ``jobs`` as a :class:`Job` (JSON fields decoded)."""
    job = dict(row)
    for field in _JSON_FIELDS:
        job[field] = json.loads(job[field] or "{}")
    job["cancel_requested"] = bool(job["cancel_requested"])
    return cast(Job, job)


def create_job(
    kind: str,
    lane: str,
    owner: str,
    params: dict[str, Any],
    title: str,
    max_attempts: int,
    job_id: str | None = None,
    after: Job | None = None,
) -> Job:
    """A new ``queued`` record; with ``after`` it waits for that job (stage
    ``waiting for <kind> <id>``) until :mod:`jobs.chains` releases or ends it."""
    job_id = job_id or new_job_id()
    folder = job_dir(job_id)
    # The job's folder only (queue.submit made it already when it copied input files);
    # inputs/ and outputs/ are made when the running job first uses them (JobContext):
    # a burst of submits pays one mkdir each.
    os.makedirs(folder, exist_ok=True)
    record = {
        "id": job_id,
        "kind": kind,
        "lane": lane,
        "owner": owner,
        "title": title,
        "params": json.dumps(params),
        "status": "queued",
        "stage": "queued",
        "progress": 0.0,
        "message": "Waiting for the worker",
        "outputs": "{}",
        "attempts": 0,
        "max_attempts": max_attempts,
        "cancel_requested": 0,
        "created_at": time.time(),
        "after": after["id"] if after else None,
    }
    if after is not None:
        record["stage"] = record["message"] = waiting_stage(after)
    job = _write_one(_INSERT, record)
    assert job is not None  # an insert returns its row
    return job  # no mirror yet (the module's text)


def _write_one(statement: Any, params: dict[str, Any]) -> Job | None:
    """Run one writing statement ``… RETURNING`` every column (its own
    transaction) and decode the row it hands back."""
    row = records.first(statement, params)
    return None if row is None else decode(row)


def find_job(job_id: str | None, user: User | None = None) -> Job | None:
    """The job with this id, or None: no id, no such job, or (with ``user``)
    not one that user may see. The one "fetch the job or None" of the studio."""
    job_id = (job_id or "").strip()
    if not job_id or len(job_id) > 64:
        return None
    row = records.first(_SELECT, {"job_id_": job_id})
    if row is None:
        return None
    job = decode(row)
    if user is not None and not may_access(job["owner"], user):
        return None
    return job


def get_job(job_id: str) -> Job:
    """The job with this id, or :class:`JobNotFound` (404)."""
    job = find_job(job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def job_for(
    job_id: str, user: User, kinds: Collection[str] | str | None = None, what: str | None = None
) -> Job:
    """The job for ``user``: their own, or any for an admin, and (with ``kinds``)
    of one of those kinds (a name, or a prefix ending in ``.``: ``"frames."``);
    :class:`JobNotFound` (404, the same answer as for a missing job) otherwise, in the
    tool's words with ``what`` ("video dataset task": "No video dataset task 'x'. …")."""
    job = find_job(job_id, user)
    if job is None or (kinds is not None and not is_kind(job, kinds)):
        raise JobNotFound(job_id, what)
    return job


def is_kind(job: Job, kinds: Collection[str] | str) -> bool:
    """Is ``job`` of one of ``kinds`` (names, or prefixes ending in ``.``)?"""
    for kind in (kinds,) if isinstance(kinds, str) else kinds:
        if job["kind"] == kind or (kind.endswith(".") and job["kind"].startswith(kind)):
            return True
    return False


def list_jobs(
    kind: str | None = None,
    status: str | None = None,
    owner: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Job], int]:
    """Newest first. Returns (page, total matching)."""
    c = jobs_table.c
    where = [
        column == value
        for column, value in ((c.kind, kind), (c.status, status), (c.owner, owner))
        if value
    ]
    with records.connection() as conn:
        total = conn.execute(select(func.count()).select_from(jobs_table).where(*where)).scalar()
        rows = conn.execute(
            select(jobs_table)
            .where(*where)
            .order_by(c.created_at.desc(), c.id)
            .limit(limit)
            .offset(offset)
        ).mappings()
        return [decode(r) for r in rows], int(total or 0)


_COLUMNS = frozenset(Job.__annotations__)


def update_job(job_id: str, **fields: Any) -> Job:
    """Set ``fields`` of the record (one statement) and refresh its mirror."""
    unknown = set(fields) - _COLUMNS
    if unknown:
        raise ValueError(f"Not job fields: {sorted(unknown)}.")
    for field in _JSON_FIELDS:
        if field in fields:
            fields[field] = json.dumps(fields[field])
    job = _write_one(_UPDATE if fields else _SELECT, {**fields, "job_id_": job_id})
    if job is None:
        raise JobNotFound(job_id)
    write_status_file(job)
    return job


def claim_job(
    job_id: str, worker_id: str, host: str | None = None, gpus: str | None = None
) -> Job | None:
    """Atomically move a queued job to running for worker ``worker_id`` on machine
    ``host``; None if someone else has it (or it was cancelled meanwhile), so a job
    queued twice runs once, on one machine. One statement (``UPDATE … WHERE
    status = 'queued' … RETURNING``): the claim and the row it gives back are one
    transaction, on SQLite and PostgreSQL alike. ``gpus``: the devices leased to it.
    No mirror: status.json follows at the job's end, or with its progress (the module's text)."""
    now = time.time()
    params = {"job_id_": job_id, "worker_": worker_id, "host_": host, "gpus_": gpus, "now_": now}
    return _write_one(_CLAIM, params)


def cancel_queued(job_id: str) -> Job | None:
    """Cancel a job that has not started (one statement, like a claim: the runner's
    claim then skips it); None when it started meanwhile."""
    job = _write_one(_CANCEL_QUEUED, {"job_id_": job_id, "now_": time.time()})
    if job is not None:
        write_status_file(job)
    return job


def waiting_stage(before: Job) -> str:
    return f"waiting for {before['kind']} {before['id']}"


def is_waiting(job: Job) -> bool:
    """A queued job that still waits for the job it was submitted after."""
    return bool(
        job.get("after")
        and job["status"] == "queued"
        and (job["stage"] or "").startswith("waiting")
    )


def report_progress(job_id: str, fields: dict[str, Any], mirror: bool = False) -> bool:
    """Write progress fields (one statement); returns True when cancellation
    was requested. With ``mirror`` the row it gives back also goes to status.json."""
    params = {**fields, "job_id_": job_id}
    # Progress is not a change of state: a crash of the database server may lose
    # the last one (durable=False: PostgreSQL commits it without waiting for the disk).
    if mirror:
        row = records.first(_UPDATE, params, durable=False)
        job = None if row is None else decode(row)
        if job is not None:
            write_status_file(job)
        return bool(job and job["cancel_requested"])
    return bool(records.scalar(_PROGRESS, params, durable=False))


def cancel_requested(job_id: str) -> bool:
    return bool(records.scalar(_CANCEL_REQUESTED, {"job_id_": job_id}))


def running_jobs(lane: str | None = None) -> list[Job]:
    c = jobs_table.c
    where = [c.status == "running"] + ([c.lane == lane] if lane else [])
    return [decode(r) for r in records.rows(select(jobs_table).where(*where))]


def queued_jobs(lane: str) -> list[Job]:
    c = jobs_table.c
    statement = (
        select(jobs_table).where(c.status == "queued", c.lane == lane).order_by(c.created_at)
    )
    return [decode(r) for r in records.rows(statement)]


def count_active(owner: str) -> int:
    """Jobs of ``owner`` that are queued or running."""
    c = jobs_table.c
    statement = (
        select(func.count())
        .select_from(jobs_table)
        .where(c.owner == owner, c.status.in_(("queued", "running")))
    )
    return int(records.scalar(statement) or 0)


def count_by_lane(status: str) -> dict[str, int]:
    c = jobs_table.c
    statement = select(c.lane, func.count().label("n")).where(c.status == status).group_by(c.lane)
    return {r["lane"]: r["n"] for r in records.rows(statement)}


def write_status_file(job: Job) -> None:
    """Mirror the record to ``status.json``: written whole to a temporary file, then
    renamed over the old one, so a reader never sees it empty or half written (a
    first mirror created in place and then filled was read empty by a poller in CI:
    not worth its 6 % of a short job's run)."""
    folder = job_dir(job["id"])
    tmp = folder / f".status.{os.getpid()}.{threading.get_ident()}.tmp"
    data = json.dumps(job, default=str).encode()  # no indent: the C encoder, ~10x faster
    try:
        fh = open(tmp, "wb")
    except FileNotFoundError:  # the job's folder is not there (yet)
        folder.mkdir(parents=True, exist_ok=True)
        fh = open(tmp, "wb")
    with fh:
        fh.write(data)
    os.replace(tmp, folder / "status.json")


def append_log(job_id: str, line: str) -> None:
    with open_log(job_id) as fh:
        write_log(fh, line)


def open_log(job_id: str) -> TextIO:
    """The job's ``log.txt`` for appending, line-buffered: every line written
    with :func:`write_log` is in the file (not in this process) at once."""
    return open(job_dir(job_id) / "log.txt", "a", encoding="utf-8", buffering=1)


def write_log(fh: TextIO, line: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    fh.write("".join(f"[{stamp}] {part}\n" for part in str(line).splitlines() or [""]))


def read_log(job_id: str, tail: int = 200) -> str:
    path = job_dir(job_id) / "log.txt"
    if not path.exists():
        return ""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 256 * 1024))
        lines = fh.read().decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-tail:])


def add_samples(job_ids: list[str], sample: dict[str, float | None]) -> None:
    if not job_ids:
        return
    with records.transaction(durable=False) as conn:  # samples: a lost one costs nothing
        conn.execute(insert(samples_table), [{"job_id": j, **sample} for j in job_ids])


def job_samples(job_id: str) -> list[dict[str, Any]]:
    c = samples_table.c
    statement = (
        select(c.t, c.cpu_percent, c.rss_mb, c.gpu_mem_mb, c.gpu_util)
        .where(c.job_id == job_id)
        .order_by(c.t)
    )
    return [dict(r) for r in records.rows(statement)]


def delete_job(job_id: str) -> None:
    """Delete a finished job: its record, its samples and its folder (the public
    demo's retention sweep). A queued or running job is a :class:`JobStateError`."""
    job = get_job(job_id)
    if job["status"] not in FINAL:
        raise JobStateError(f"Job {job_id} is {job['status']}; cancel it before deleting it.")
    with records.transaction() as conn:
        conn.execute(delete(samples_table).where(samples_table.c.job_id == job_id))
        conn.execute(delete(jobs_table).where(jobs_table.c.id == job_id))
    shutil.rmtree(job_dir(job_id), ignore_errors=True)


def output_path(job_id: str, name: str) -> Path:
    """The file ``name`` inside the job's folder; refuses names that escape it
    (after following links) with :class:`JobFileNotFound` (404)."""
    folder = job_dir(job_id).resolve()
    missing = JobFileNotFound(
        f"Job {job_id} has no file {name[:200]!r}; its files are listed in outputs.files."
    )
    if "\x00" in name or len(name) > 1024:
        raise missing
    try:
        path = (folder / name).resolve()
    except (OSError, RuntimeError):
        raise missing from None
    if folder not in path.parents or not path.is_file():
        raise missing
    return path
