"""Submitting, cancelling and retrying jobs; the Huey queues behind them.

Two lanes, each its own Huey queue (one SQLite file, ``STUDIO_HOME/queue.db``;
or Redis when ``STUDIO_QUEUE_URL`` is a redis:// URL): ``gpu`` runs one job at a
time in a process that keeps models loaded; ``cpu`` runs several at once. The
queue carries only job ids: the job record is the source of truth, so a job
queued twice still runs once (``store.claim_job``) and a lost queue entry is
re-queued from the record when a worker starts (``jobs.recovery``).
"""

from __future__ import annotations

import shutil
import time
import traceback
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from huey import RedisHuey, SqliteHuey

from jobs import chains, store
from jobs.access import SYSTEM, User, user_named
from jobs.kinds import LANES, get_kind
from jobs.records.queue_file import QueueStorage
from jobs.settings import get_settings
from pipelines.errors import TooManyJobs


class _NoRevokes:
    """A Huey without task revokes. The studio cancels a job through its record
    (``cancel``: the claim then finds nothing to take, a running job stops at its
    next progress step) and never revokes a Huey task, so Huey's revoke checks
    around each run (a read of the queue's key-value store before the task, a
    pop of the task's revoke key after it: two queue reads a job, SQLite or Redis
    round trips) are left out, and ``revoke`` says where cancelling is."""

    def is_revoked(self, task: Any, timestamp: Any = None, peek: bool = True) -> bool:
        return False

    def delete(self, key: str) -> Any:
        if key.startswith("r:"):  # a task's revoke key (Huey's Task.revoke_id): never set
            return False
        return super().delete(key)  # type: ignore[misc]

    def revoke(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "The studio's queues have no revokes: cancel the job (jobs.queue.cancel, "
            "POST /api/v1/jobs/{id}/cancel)."
        )

    revoke_all = revoke_by_id = revoke


class _SqliteQueue(_NoRevokes, SqliteHuey):
    pass


class _RedisQueue(_NoRevokes, RedisHuey):
    pass


@cache
def _huey(lane: str, queue_url: str, queue_path: str):
    if queue_url.startswith(("redis://", "rediss://", "unix://")):
        huey = _RedisQueue(name=f"studio-{lane}", url=queue_url, results=False)
    else:
        Path(queue_path).parent.mkdir(parents=True, exist_ok=True)
        huey = _SqliteQueue(
            name=lane,
            filename=queue_path,
            results=False,
            timeout=60,
            storage_class=QueueStorage,  # the records' sync level (jobs.records.queue_file)
        )

    @huey.task(name="run_job")
    def run_job(job_id: str) -> None:
        from jobs.runner import execute

        execute(job_id)

    huey.run_job = run_job
    return huey


def huey_for(lane: str):
    if lane not in LANES:
        raise ValueError(f"Unknown lane {lane!r}; lanes are {LANES}.")
    settings = get_settings()
    return _huey(lane, settings.queue_url, str(settings.queue_path))


def enqueue(job: store.Job) -> None:
    huey_for(job["lane"]).run_job(job["id"])


def pending_ids(lane: str) -> set[str]:
    return {task.args[0] for task in huey_for(lane).pending() if task.args}


def job_limit(user: User) -> int:
    """Queued + running jobs ``user`` may have at once; 0 = no limit. Admins have
    none; a public demo (no admins there) gives every visitor STUDIO_DEMO_MAX_JOBS."""
    settings = get_settings()
    if settings.demo_mode:
        return settings.demo_max_jobs
    return 0 if user.is_admin else settings.max_jobs_per_user


def check_job_limit(user: User) -> None:
    """TooManyJobs (429) when ``user`` already has their limit of queued + running jobs."""
    limit = job_limit(user)
    if not limit:
        return
    active = store.count_active(user.name)
    if active >= limit:
        raise TooManyJobs(
            f"You have {active} jobs queued or running, the most one user may have at once "
            f"({limit}). Wait for one to finish, or cancel one in the Jobs tab, then submit again."
        )


def submit(
    kind: str,
    params: dict[str, Any] | None = None,
    owner: str = "anonymous",
    files: dict[str, str | Path] | None = None,
    title: str | None = None,
    *,
    follow_up: bool = False,
    after: store.Job | None = None,
) -> store.Job:
    """Create the job record, copy ``files`` into its ``inputs/`` folder
    (``{name: source path}``), and queue it. Returns the record.

    With ``after`` (a job record) the job waits for that job: it stays
    ``queued`` (stage ``waiting for <kind> <id>``) outside the queue, so no lane
    holds it, and is queued when that job succeeds; when that job fails or is
    cancelled, this one ends the same way (:func:`job_ended`).

    A user's submission counts against their job limit (:func:`check_job_limit`,
    429); ``follow_up=True`` is a job that finishes work already admitted (e.g. a
    build's caption job, submitted after= the build), never refused by the limit."""
    spec = get_kind(kind)
    settings = get_settings()
    if not follow_up:
        check_job_limit(user_named(owner))
    job_id = store.new_job_id()
    if files:
        folder = store.job_dir(job_id) / "inputs"
        folder.mkdir(parents=True, exist_ok=True)
        for name, source in files.items():
            shutil.copyfile(source, folder / Path(name).name)
    job = store.create_job(
        kind=kind,
        lane=spec.lane,
        owner=owner,
        params=params or {},
        title=title or spec.title,
        max_attempts=spec.max_attempts or settings.max_attempts,
        job_id=job_id,
        after=after,
    )
    store.append_log(job_id, f"submitted by {owner}: {kind}")
    if after is not None:
        store.append_log(job_id, f"waits for job {after['kind']} {after['id']}")
        return settle_waiting(job, chains.mark_waited_on(after["id"]))
    return _enqueue_or_fail(job)


def submit_reserved(undo: Callable[[], object], kind: str, *args: Any, **kwargs: Any) -> store.Job:
    """:func:`submit` for a record reserved just before (a dataset name, a seed's job
    id, a generation row): when the submit is refused or fails (TooManyJobs 429, the
    database), ``undo()`` rolls the reservation back and the error goes on, so a
    refused submission leaves nothing behind."""
    try:
        return submit(kind, *args, **kwargs)
    except BaseException:
        undo()
        raise


def _enqueue_or_fail(job: store.Job) -> store.Job:
    try:
        enqueue(job)
    except Exception as exc:  # the queue is down: say so, keep the record
        failed = store.update_job(
            job["id"],
            status="failed",
            stage="failed",
            finished_at=time.time(),
            error=f"Could not queue the job: {exc}. Retry it once the queue is back.",
        )
        job_ended(failed)
        return failed
    return job


def settle_waiting(job: store.Job, before: store.Job) -> store.Job:
    """A job just made to wait for ``before``, which may have ended meanwhile:
    queued now when it succeeded, ended when it failed or was cancelled (the
    statements only touch a job still waiting, so a job settled by the end of
    ``before`` at the same time is settled once)."""
    if before["status"] == "succeeded":
        for released in chains.release_waiting(before["id"], job["id"]):
            return _enqueue_or_fail(released)
    elif before["status"] in ("failed", "cancelled"):
        for ended in chains.end_waiting(before, before["status"], _title(before), job["id"]):
            _call_on_end(ended)
            _end_dependents(ended)
            return ended
    return store.find_job(job["id"]) or job


def job_ended(job: store.Job) -> None:
    """What follows the end of a job, after its record's final write (the
    runner, recovery and :func:`cancel` call it once per end): its kind's
    ``on_end(job, status)`` hook, then the jobs waiting for it: queued when it
    succeeded, ended the same way (one statement) when it failed or was cancelled."""
    _call_on_end(job)
    _end_dependents(job)


def _title(job: store.Job) -> str:
    try:
        return get_kind(job["kind"]).title
    except Exception:
        return job["kind"]


def _end_dependents(job: store.Job) -> None:
    if not job["waited_on"]:  # nothing waits for it: no statement
        return
    status = job["status"]
    if status == "succeeded":
        for released in chains.release_waiting(job["id"]):
            store.append_log(released["id"], f"job {job['kind']} {job['id']} succeeded; queued")
            _enqueue_or_fail(released)
    elif status in ("failed", "cancelled"):
        for ended in chains.end_waiting(job, status, _title(job)):
            _call_on_end(ended)
            _end_dependents(ended)


def _call_on_end(job: store.Job) -> None:
    """The kind's ``on_end`` hook; what it raises goes to the job's log and
    never changes the job's own end."""
    try:
        hook = get_kind(job["kind"]).on_end
    except Exception:  # a kind no longer registered: no hook
        return
    if hook is None:
        return
    try:
        hook(job, job["status"])
    except Exception:
        store.append_log(
            job["id"], f"the {job['kind']} on_end hook failed:\n{traceback.format_exc()}"
        )


def cancel(job_id: str, user: User = SYSTEM) -> store.Job:
    """Cancel a queued job now, or a running one at its next step. Another
    user's job is answered like a missing one (404); a finished one is 409."""
    job = store.job_for(job_id, user)
    if job["status"] in store.FINAL:
        raise store.JobStateError(f"Job {job_id} already {job['status']}; nothing to cancel.")
    store.append_log(job_id, f"cancel asked by {user.name}")
    if job["status"] == "queued":
        cancelled = store.cancel_queued(job_id)
        if cancelled is not None:
            job_ended(cancelled)
            return cancelled
    return store.update_job(job_id, cancel_requested=1, message="Cancelling at the next step…")


def retry(job_id: str, user: User = SYSTEM) -> store.Job:
    """Queue a failed or cancelled job again (404 for another user's job, 409
    for one that is not failed or cancelled, or whose kind's check refuses it:
    e.g. its dataset was deleted)."""
    job = store.job_for(job_id, user)
    if job["status"] not in ("failed", "cancelled"):
        raise store.JobStateError(
            f"Job {job_id} is {job['status']}; only failed or cancelled jobs can be retried."
        )
    before = store.find_job(job["after"]) if job["after"] else None
    if before is not None and before["status"] in ("failed", "cancelled"):
        raise store.JobStateError(
            f"Job {job_id} waits for job {before['kind']} {before['id']}, which "
            f"{before['status']}; retry that job first, then this one."
        )
    check = get_kind(job["kind"]).check
    if check is not None:  # e.g. the dataset it is bound to is still that record
        check(job)
    check_job_limit(user)
    store.append_log(job_id, f"retry asked by {user.name}")
    job = store.update_job(
        job_id,
        status="queued",
        stage="queued",
        progress=0.0,
        item=None,
        eta_s=None,
        message="Waiting for the worker",
        error=None,
        cancel_requested=0,
        worker=None,
        host=None,
        gpus=None,
        started_at=None,
        finished_at=None,
        attempts=0,
    )
    if chains.rearm_waiting(job):  # the jobs its failure or cancel ended wait for it again
        job = chains.mark_waited_on(job_id)
    if before is not None and before["status"] != "succeeded":  # it waits again
        job = store.update_job(
            job_id, stage=store.waiting_stage(before), message=store.waiting_stage(before)
        )
        return settle_waiting(job, chains.mark_waited_on(before["id"]))
    enqueue(job)
    return job
