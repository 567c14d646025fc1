"""Job chains: the statements behind ``submit(..., after=job)`` (:mod:`jobs.queue`).

A job submitted after another is a ``queued`` record outside the queue (stage
``waiting for <kind> <id>``, :func:`jobs.store.waiting_stage`); the job it waits for
is marked ``waited_on``. When that job ends, its waiting jobs are released into the
queue (it succeeded) or end the same way (it failed or was cancelled), each in one
statement that only touches a job still waiting, so a job is settled once.
"""

from __future__ import annotations

import time

from jobs import records
from jobs.records.sql import bindparam, select, update
from jobs.records.tables import jobs as jobs_table
from jobs.store import Job, JobNotFound, append_log, decode, waiting_stage, write_status_file

_c = jobs_table.c
_MARK_WAITED_ON = (
    update(jobs_table).where(_c.id == bindparam("job_id_")).values(waited_on=1).returning(*_c)
)
# The jobs waiting for a job (``after``): still queued, not yet released.
_WAITING = (_c.after == bindparam("after_"), _c.status == "queued", _c.stage.startswith("waiting"))
NOT_STARTED = "Not started: "  # the message of a job ended by the end of the job it waited for
_SELECT_WAITING = select(jobs_table).where(*_WAITING).order_by(_c.created_at)
_RELEASE = (
    update(jobs_table)
    .where(*_WAITING)
    .values(stage="queued", message="Waiting for the worker")
    .returning(*_c)
)
_END_WAITING = (
    update(jobs_table)
    .where(*_WAITING)
    .values(
        status=bindparam("status_"),
        stage=bindparam("status_"),
        cancel_requested=1,
        finished_at=bindparam("now_"),
        message=bindparam("message_"),
        error=bindparam("error_"),
    )
    .returning(*_c)
)
# The jobs a failed or cancelled job ended (they never started): waiting again on a retry.
_REARM = (
    update(jobs_table)
    .where(
        _c.after == bindparam("after_"),
        _c.status.in_(("failed", "cancelled")),
        _c.started_at.is_(None),
        _c.message.startswith(NOT_STARTED),
    )
    .values(
        status="queued",
        stage=bindparam("stage_"),
        message=bindparam("stage_"),
        error=None,
        cancel_requested=0,
        finished_at=None,
        attempts=0,
    )
    .returning(*_c)
)


def mark_waited_on(job_id: str) -> Job:
    """Note that a job waits for ``job_id`` (one statement); returns its record
    as of then: when it had ended already, the waiting job is settled by its
    submitter, otherwise by that job's end (which sees the mark)."""
    row = records.first(_MARK_WAITED_ON, {"job_id_": job_id})
    if row is None:
        raise JobNotFound(job_id)
    return decode(row)


def release_waiting(before_id: str, job_id: str | None = None) -> list[Job]:
    """The jobs waiting for ``before_id`` (only ``job_id``, when given) become
    plain queued jobs (one statement); returns them, for the caller to enqueue.
    A job released twice is handed back once."""
    statement = _RELEASE if job_id is None else _RELEASE.where(_c.id == job_id)
    jobs = [decode(r) for r in records.rows(statement, {"after_": before_id})]
    for job in jobs:
        write_status_file(job)
    return jobs


def end_waiting(before: Job, status: str, what: str, job_id: str | None = None) -> list[Job]:
    """The jobs waiting for ``before``, which ended ``failed`` or ``cancelled``,
    end the same way (one statement), with a message naming it (``what``: its
    kind's title); returns them."""
    what = f"{what} {status} (job {before['id']}, which this job waited for)"
    message = f"{NOT_STARTED}{what}"
    error = None
    if status == "failed":
        error = f"{what}: {before['error'] or 'see its log'}. Retry that job, then this one."
    params = {
        "after_": before["id"],
        "status_": status,
        "now_": time.time(),
        "message_": message,
        "error_": error,
    }
    statement = _END_WAITING if job_id is None else _END_WAITING.where(_c.id == job_id)
    jobs = [decode(r) for r in records.rows(statement, params)]
    for job in jobs:
        write_status_file(job)
        append_log(job["id"], message)
    return jobs


def waiting_for(job_id: str) -> list[Job]:
    """The jobs still waiting for ``job_id`` (oldest first); a read, no change."""
    return [decode(r) for r in records.rows(_SELECT_WAITING, {"after_": job_id})]


def rearm_waiting(before: Job) -> list[Job]:
    """The jobs that ended unstarted because ``before`` failed or was cancelled wait
    for it again (one statement; ``before`` is being retried); returns them. A job
    the user cancelled while it waited stays cancelled."""
    params = {"after_": before["id"], "stage_": waiting_stage(before)}
    jobs = [decode(r) for r in records.rows(_REARM, params)]
    for job in jobs:
        write_status_file(job)
        append_log(job["id"], f"waits again for job {before['kind']} {before['id']} (retried)")
    return jobs
