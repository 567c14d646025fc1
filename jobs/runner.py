"""Runs one job inside a worker lane: claim it, call its kind, record the end.

What a user sees of a failure is a short message; the traceback goes to the
job's ``log.txt``.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

from jobs import queue, secrets, store
from jobs.kinds import JobContext, get_kind, kill_tree
from jobs.reporter import Reporter
from pipelines.errors import StudioError
from pipelines.progress import Cancelled

WORKER_ID = "inline"  # set by the lane process at start
RUNNING: dict[str, JobContext] = {}
_running_lock = threading.Lock()


def running_contexts() -> list[JobContext]:
    with _running_lock:
        return list(RUNNING.values())


def execute(job_id: str) -> None:
    """Run one job: claim it (one transaction; record, status.json, log), call its
    kind, record the end (one transaction; record, status.json, log)."""
    job = store.claim_job(job_id, WORKER_ID)
    if job is None:
        return  # already taken, finished or cancelled
    secret = job["params"].get(secrets.PARAM)
    reporter = Reporter(job_id)
    ctx = JobContext(job=job, progress=reporter)
    with _running_lock:
        RUNNING[job_id] = ctx
    try:
        reporter.log(f"attempt {job['attempts']} of {job['max_attempts']} on worker {WORKER_ID}")
        kind = get_kind(job["kind"])
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
    if status in ("succeeded", "cancelled"):  # a failed job keeps its secret for a retry
        secrets.drop(secret)
    folder = store.job_dir(job_id)
    outputs = dict(outputs or {})
    outputs.setdefault(
        "files",
        sorted(str(p.relative_to(folder)) for p in (folder / "outputs").rglob("*") if p.is_file()),
    )
    reporter.log(f"{status}" + (f": {fields['error']}" if fields.get("error") else ""))
    end = {"status": status, "stage": status, "finished_at": time.time(), "outputs": outputs}
    job = store.update_job(job_id, **{**fields, **end})
    queue.job_ended(job)  # the kind's on_end hook, then the jobs waiting for this one
