"""Nothing submitted is silently lost, on one machine or many.

Huey takes a task off the queue before running it, so a worker killed mid-job
would lose it. The job record knows better: a job left ``running`` by a dead
worker goes back to the queue (up to its max attempts, then it fails with a
message), and a ``queued`` job that is not in the queue is queued again.

Workers hold leases through heartbeats in the records (table ``workers``: one
row per lane process, identity host + pid + lane). A worker whose heartbeat is
older than :func:`stale_after_s` is gone, wherever it ran: any live lane, on
any machine, re-queues its running jobs (one conditional statement per job,
so two lanes that both notice re-queue it once). On the worker's own machine
the lane's pid is checked first (a faster answer than waiting for the lease).
"""

from __future__ import annotations

import json
import socket
import time

import psutil

from jobs import records, store
from jobs.queue import enqueue, job_ended, pending_ids, settle_waiting
from jobs.records.sql import delete, insert, select, update
from jobs.records.tables import jobs as jobs_table
from jobs.records.tables import workers as workers_table
from jobs.settings import get_settings


def worker_host() -> str:
    """This machine's name in the records: ``STUDIO_WORKER_HOST``, else the host name."""
    return get_settings().worker_host.strip() or socket.gethostname()


def stale_after_s() -> float:
    """How long a heartbeat may be missing before its worker counts as gone:
    five heartbeat intervals, at least 5 s."""
    return max(5 * get_settings().heartbeat_s, 5.0)


def heartbeat_stale(heartbeat_at: float | None, now: float | None = None) -> bool:
    """The one staleness rule (here for recovery, in ``studio.health`` for the
    health endpoint and the Jobs tab)."""
    if heartbeat_at is None:
        return True
    return (now if now is not None else time.time()) - heartbeat_at > stale_after_s()


def worker_is_dead(worker_id: str | None, heartbeat_at: float | None) -> bool:
    """Is the worker that ran a job gone? Its lease (heartbeat) is stale; on
    this machine also as soon as its process is gone, a zombie, or its pid now
    belongs to another process."""
    if not worker_id:
        return True
    row = records.first(select(workers_table).where(workers_table.c.id == worker_id))
    if row is None:
        return heartbeat_stale(heartbeat_at)
    if row["host"] == worker_host():
        try:
            proc = psutil.Process(row["pid"])
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
            return abs(proc.create_time() - row["started_at"]) > 2.0  # pid reused
        except psutil.NoSuchProcess:
            return True
    return heartbeat_stale(row["heartbeat_at"])


def requeue_orphans(my_worker_id: str, lane: str | None = None) -> list[str]:
    """Re-queue (or fail, past its max attempts) the running jobs whose worker
    is dead (of ``lane``, or of every lane: a lane re-queues another machine's
    jobs of any lane). Returns the ids re-queued."""
    moved = []
    c = jobs_table.c
    for job in store.running_jobs(lane):
        if job["worker"] == my_worker_id or not worker_is_dead(job["worker"], job["heartbeat_at"]):
            continue
        attempt, most = job["attempts"], job["max_attempts"]
        gone = f"the worker {job['worker']} stopped during attempt {attempt} of {most}"
        if attempt >= most:
            message = (
                f"The worker stopped during this job {attempt} times (max attempts {most}); "
                "giving up. Check the job log, fix the cause and press Retry."
            )
            change = dict(
                status="failed",
                stage="failed",
                error=message,
                message="Failed",
                finished_at=time.time(),
            )
        else:
            change = dict(
                status="queued",
                stage="queued",
                worker=None,
                host=None,
                gpus=None,
                message=f"Re-queued: {gone}",
            )
        row = records.first(  # one statement: only if it is still that worker's running job
            update(jobs_table)
            .where(
                c.id == job["id"],
                c.status == "running",
                c.worker.is_not_distinct_from(job["worker"]),
            )
            .values(**change)
            .returning(*jobs_table.c)
        )
        if row is None:  # another lane got there first, or the worker was not dead after all
            continue
        release_gpus(job["id"])
        changed = store.decode(row)
        store.write_status_file(changed)
        if changed["status"] == "failed":
            store.append_log(job["id"], f"{gone}. {message}")
            job_ended(changed)  # the kind's on_end hook; the jobs waiting for it end too
            continue
        store.append_log(job["id"], f"{gone}; re-queued (attempt {attempt} of {most})")
        enqueue(changed)
        moved.append(job["id"])
    return moved


def release_gpus(job_id: str) -> None:
    """Free the GPU lanes' devices leased to a job (its end, or its worker's death)."""
    records.execute(
        update(workers_table).where(workers_table.c.held_by == job_id).values(held_by=None)
    )


def requeue_lost(lane: str) -> list[str]:
    """Queue again the ``queued`` jobs that are missing from the queue. A job
    still waiting for another job is not queued (it is outside the queue by
    design) unless that job has ended meanwhile: then it is settled as that end
    asks (queued, or ended the same way)."""
    pending = pending_ids(lane)
    requeued = []
    for job in store.queued_jobs(lane):
        if job["id"] in pending:
            continue
        if store.is_waiting(job):
            before = store.find_job(job["after"])
            if before is not None and before["status"] in store.FINAL:
                settled = settle_waiting(job, before)
                if settled["status"] == "queued":
                    requeued.append(job["id"])
            continue
        store.append_log(job["id"], "not found in the queue at worker start; queued again")
        enqueue(job)
        requeued.append(job["id"])
    return requeued


def register_worker(
    worker_id: str, lane: str, pid: int, info: dict[str, object], gpu: str | None = None
) -> None:
    """Record (or replace) this lane process's row in ``workers`` (``gpu``: the
    device a GPU lane is pinned to)."""
    row = {
        "id": worker_id,
        "lane": lane,
        "host": worker_host(),
        "gpu": gpu,
        "pid": pid,
        "started_at": psutil.Process(pid).create_time(),
        "heartbeat_at": time.time(),
        "info": json.dumps(info),
    }
    with records.transaction() as conn:
        conn.execute(delete(workers_table).where(workers_table.c.id == worker_id))
        conn.execute(insert(workers_table).values(row))
