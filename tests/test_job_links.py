"""Job links in the core: a kind's ``on_end(job, status)`` hook, called once
per end after the record's final write (the runner, recovery, the cancel of a
queued job), and chains: ``submit(..., after=job)`` waits outside the queue.
On SQLite and on PostgreSQL (``database_url``)."""

from __future__ import annotations

import dataclasses
import signal
import time

import pytest

from jobs import kinds, queue, recovery, runner, store
from tests.conftest import wait_job

pytestmark = pytest.mark.usefixtures("database_url")


def _run_inline(job_id: str) -> store.Job:
    runner.execute(job_id)
    return store.get_job(job_id)


def _hook_lines(job_id: str, timeout: float = 15) -> list[str]:
    """What ``system.sleep``'s on_end hook wrote into the job's log, once it wrote
    something: the hook runs after the record's final write, which is what
    ``wait_job`` returns on."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [
            line.split("] ", 1)[1]
            for line in store.read_log(job_id).splitlines()
            if "on_end:" in line
        ]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_on_end_is_called_once_for_each_of_the_four_ends_in_a_real_worker(start_worker):
    first = start_worker()
    done = queue.submit("system.sleep", {"seconds": 0.1, "steps": 1, "report_end": True})
    bad = queue.submit(
        "system.sleep", {"seconds": "soon", "report_end": True}
    )  # fails in the job body
    assert wait_job(done["id"])["status"] == "succeeded"
    assert wait_job(bad["id"])["status"] == "failed"

    stopped = queue.submit("system.sleep", {"seconds": 30, "steps": 300, "report_end": True})
    wait_job(stopped["id"], ("running",))
    queue.cancel(stopped["id"])  # the worker stops it at its next step
    assert wait_job(stopped["id"])["status"] == "cancelled"

    dead = queue.submit("system.sleep", {"seconds": 30, "steps": 300, "report_end": True})
    wait_job(dead["id"], ("running",))
    store.update_job(dead["id"], max_attempts=1)  # this attempt is its last
    first.kill(signal.SIGKILL)  # the worker dies mid-job: no chance to end it
    assert store.get_job(dead["id"])["status"] == "running"
    start_worker()  # its recovery fails the job: the hook runs in that worker
    assert wait_job(dead["id"])["status"] == "failed"

    for job, status in (
        (done, "succeeded"),
        (bad, "failed"),
        (stopped, "cancelled"),
        (dead, "failed"),
    ):
        # once, with the final record written before the hook ran
        assert _hook_lines(job["id"]) == [f"on_end: {status} (record: {status})"], job["id"]


def test_a_failing_hook_is_logged_and_the_job_keeps_its_end(studio_home, monkeypatch):
    def on_end(job: store.Job, status: str) -> None:
        raise RuntimeError("the record is gone")

    spec = kinds.get_kind("system.sleep")
    monkeypatch.setitem(kinds.KINDS, "system.sleep", dataclasses.replace(spec, on_end=on_end))
    job = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    assert _run_inline(job["id"])["status"] == "succeeded"
    log = store.read_log(job["id"])
    assert "on_end hook failed" in log and "the record is gone" in log


def test_a_chained_job_waits_outside_the_queue_and_runs_after_its_job(start_worker):
    first = queue.submit("system.sleep", {"seconds": 1.5, "steps": 3})
    second = queue.submit("system.sleep", {"seconds": 0, "steps": 1}, after=first)
    assert second["status"] == "queued"
    assert second["stage"] == f"waiting for system.sleep {first['id']}"
    assert second["after"] == first["id"]
    assert second["id"] not in queue.pending_ids("cpu")  # no lane holds a waiting job

    start_worker()
    first = wait_job(first["id"])
    second = wait_job(second["id"])
    assert (first["status"], second["status"]) == ("succeeded", "succeeded")
    assert second["started_at"] >= first["finished_at"]


def test_a_job_after_a_failed_or_cancelled_job_ends_naming_it(start_worker):
    start_worker()
    bad = queue.submit("system.sleep", {"seconds": "soon"})
    after_bad = queue.submit("system.sleep", {"seconds": 0}, after=bad)
    bad = wait_job(bad["id"])
    after_bad = wait_job(after_bad["id"])
    assert after_bad["status"] == "failed"
    assert bad["id"] in after_bad["error"] and "failed" in after_bad["error"]
    assert after_bad["started_at"] is None  # it never ran
    with pytest.raises(store.JobStateError, match=bad["id"]):
        queue.retry(after_bad["id"])  # its job must be retried first

    slow = queue.submit("system.sleep", {"seconds": 30, "steps": 300})
    third = queue.submit("system.sleep", {"seconds": 0}, after=slow)
    fourth = queue.submit("system.sleep", {"seconds": 0}, after=third)  # a chain of three
    wait_job(slow["id"], ("running",))
    queue.cancel(slow["id"])
    assert wait_job(slow["id"])["status"] == "cancelled"
    for job in (third, fourth):
        job = wait_job(job["id"])
        assert job["status"] == "cancelled" and job["started_at"] is None
    assert slow["id"] in store.get_job(third["id"])["message"]


def test_a_job_after_an_ended_job_is_settled_at_submit(studio_home):
    done = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    _run_inline(done["id"])
    follows = queue.submit("system.sleep", {"seconds": 0}, after=store.get_job(done["id"]))
    assert follows["stage"] == "queued" and follows["id"] in queue.pending_ids("cpu")

    gone = queue.cancel(queue.submit("system.sleep", {"seconds": 1})["id"])
    late = queue.submit("system.sleep", {"seconds": 0}, after=gone)
    assert late["status"] == "cancelled" and gone["id"] in late["message"]


def test_recovery_does_not_queue_a_waiting_job_but_settles_one_whose_job_ended(studio_home):
    first = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    second = queue.submit("system.sleep", {"seconds": 0}, after=first)
    queue.huey_for("cpu").flush()  # as if the queue lost everything
    assert recovery.requeue_lost("cpu") == [first["id"]]
    assert store.get_job(second["id"])["stage"].startswith("waiting")
    assert second["id"] not in queue.pending_ids("cpu")

    # The first job succeeded, and the worker stopped before it queued the second.
    store.update_job(first["id"], status="succeeded", stage="succeeded", finished_at=time.time())
    queue.huey_for("cpu").flush()
    assert recovery.requeue_lost("cpu") == [second["id"]]
    assert second["id"] in queue.pending_ids("cpu")


def test_a_retry_brings_back_the_jobs_its_end_ended_but_not_one_the_user_cancelled(
    studio_home,
):
    first = queue.submit("system.sleep", {"seconds": "soon"})  # fails when it runs
    second = queue.submit("system.sleep", {"seconds": 0, "steps": 1}, after=first)
    third = queue.submit("system.sleep", {"seconds": 0, "steps": 1}, after=first)
    queue.cancel(third["id"])  # the user's own cancel, while it waited
    assert _run_inline(first["id"])["status"] == "failed"
    assert store.get_job(second["id"])["status"] == "failed"
    queue.retry(first["id"])
    again = store.get_job(second["id"])
    assert (
        again["status"] == "queued" and again["stage"] == f"waiting for system.sleep {first['id']}"
    )
    assert again["error"] is None and again["finished_at"] is None
    assert store.get_job(third["id"])["status"] == "cancelled"
    store.update_job(first["id"], params={"seconds": 0, "steps": 1})  # fixed: it succeeds now
    assert _run_inline(first["id"])["status"] == "succeeded"
    assert store.get_job(second["id"])["stage"] == "queued"  # released into the queue
    assert _run_inline(second["id"])["status"] == "succeeded"
