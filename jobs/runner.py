"""Runs one job inside a worker lane: claim it, call its kind, record the end.

What a user sees of a failure is a short message; the traceback goes to the
job's ``log.txt``.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from jobs import lanes, queue, secrets, store
from jobs.kinds import JobContext, get_kind, kill_tree
from jobs.reporter import Reporter
from pipelines.errors import Conflict, StudioError
from pipelines.progress import Cancelled

WORKER_ID = "inline"  # set by the lane process at start: host:pid:lane
HOST: str | None = None  # the lane's machine (STUDIO_WORKER_HOST), set at start
GPU_LANE = False  # a GPU lane: each job leases GPU devices first (jobs.lanes)
LEASE_RETRY_S = 0.5  # a GPU lane waits this long before taking the next job when it got none
RUNNING: dict[str, JobContext] = {}
_running_lock = threading.Lock()


class NoMachine(Conflict, RuntimeError):
    """A job needs more GPUs of one machine than any live worker has."""

    def __init__(self, needed: int, largest: int):
        super().__init__(
            f"This job needs {needed} GPUs on one machine; the largest live worker has "
            f"{largest} GPU lanes. Start a worker on a machine with {needed} GPUs "
            f"(STUDIO_GPU_LANES=auto or {needed}), then press Retry."
        )


def running_contexts() -> list[JobContext]:
    with _running_lock:
        return list(RUNNING.values())


def execute(job_id: str) -> None:
    """Run one job: in a GPU lane lease its GPUs first (``jobs.lanes``), claim it
    (one statement; record, log), call its kind, record the end (one statement;
    record, status.json, log), free the GPUs."""
    held: lanes.Lease | None = None
    if GPU_LANE:
        held = _lease_gpus(job_id)
        if held is None:
            return
    try:
        job = store.claim_job(job_id, WORKER_ID, HOST, gpus=held.gpus if held else None)
        if job is None:
            return  # already taken, finished or cancelled
        _run(job, list(held.devices) if held else [])
    finally:
        if held is not None:
            lanes.release(held)


def _lease_gpus(job_id: str) -> lanes.Lease | None:
    """The GPU devices for a job: leased now, or None when the job is not for
    now: it went back to the queue (too few idle lanes on this machine; this
    lane waits until its own device is free) or it needs more GPUs than any
    machine has (then an empty lease: it is claimed and fails saying so)."""
    job = store.find_job(job_id)
    if job is None or job["status"] != "queued":
        return None
    try:
        count = get_kind(job["kind"]).gpus_for(job["params"])
    except Exception:  # an unknown kind or bad params: the run itself says what is wrong
        count = 1
    assert HOST is not None
    held = lanes.lease(job_id, WORKER_ID, HOST, count)
    if held is not None:
        return held
    if count > lanes.largest_machine():
        return lanes.Lease(job_id, (), ())  # claimed and failed in _run
    queue.enqueue(job)  # the end of the queue: another lane, or this one later
    while not lanes.is_free(WORKER_ID):
        time.sleep(LEASE_RETRY_S)
    if count > 1:
        time.sleep(LEASE_RETRY_S)  # siblings busy: don't spin on the queue
    return None


def _run(job: store.Job, gpus: list[str | None]) -> None:
    job_id = job["id"]
    secret = job["params"].get(secrets.PARAM)
    reporter = Reporter(job_id)
    ctx = JobContext(job=job, progress=reporter, gpus=gpus)
    with _running_lock:
        RUNNING[job_id] = ctx
    try:
        where = f" (GPU {job['gpus']})" if job["gpus"] else ""
        reporter.log(
            f"attempt {job['attempts']} of {job['max_attempts']} on worker {WORKER_ID}{where}"
        )
        kind = get_kind(job["kind"])
        if GPU_LANE and not gpus:
            raise NoMachine(kind.gpus_for(job["params"]), lanes.largest_machine())
        outputs = kind.fn(ctx) or {}
        fields = {**reporter.take_pending(), "progress": 1.0, "message": "Done", "eta_s": 0}
        _finish(reporter, "succeeded", secret, outputs=outputs, **fields)
    except Cancelled:
        message = "Cancelled; the work finished before the cancel is kept"
        _finish(reporter, "cancelled", secret, message=message)
    except Exception as exc:  # a failed job must never take the worker down
        reporter.log(traceback.format_exc())
        _finish(
            reporter,
            "failed",
            secret,
            outputs={"error_kind": error_kind(exc)},
            error=user_message(exc),
            message="Failed",
        )
    finally:
        for child in list(ctx.children):
            kill_tree(child)
        with _running_lock:
            RUNNING.pop(job_id, None)
        reporter.close()


def user_message(exc: BaseException) -> str:
    """A message for the UI: the error's own words for input problems
    (ValueError, FileNotFoundError, ...), the type and text otherwise."""
    text = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc, (ValueError, LookupError, OSError, PermissionError, RuntimeError)):
        return text
    return f"{exc.__class__.__name__}: {text} (details in the job log)"


def error_kind(exc: BaseException) -> str:
    """``bad_input`` for the error family's 4xx classes (a retry would fail the
    same way: the input must change), ``error`` otherwise."""
    if isinstance(exc, StudioError) and 400 <= exc.status < 500:
        return "bad_input"
    return "error"


def _output_files(folder: Path) -> list[str]:
    """The files under ``folder/outputs`` (``outputs/a/b.png``), sorted; none when the
    job never made that folder (one failed ``scandir``, no walk)."""
    found = []
    for top, _dirs, files in os.walk(folder / "outputs"):
        paths = (os.path.join(top, name) for name in files)
        found += [os.path.relpath(path, folder) for path in paths if os.path.isfile(path)]
    return sorted(found)


def _finish(
    reporter: Reporter,
    status: str,
    secret: str | None,
    outputs: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """The end of a job: its log line, then the record and its mirror (one
    statement, with the progress not written yet), then what follows its end
    (:func:`jobs.queue.job_ended`)."""
    job_id = reporter.job_id
    reporter.take_pending()  # no progress write after the end (a failure drops what was pending)
    if status in ("succeeded", "cancelled"):  # a failed job keeps its secret for a retry
        secrets.drop(secret)
    outputs = dict(outputs or {})
    outputs.setdefault("files", _output_files(store.job_dir(job_id)))
    reporter.log(f"{status}" + (f": {fields['error']}" if fields.get("error") else ""))
    end = {"status": status, "stage": status, "finished_at": time.time(), "outputs": outputs}
    job = store.update_job(job_id, **{**fields, **end})
    queue.job_ended(job)  # the kind's on_end hook, then the jobs waiting for this one
