"""The job system end to end: a real Huey consumer process on a real SQLite file,
with the records on SQLite and on PostgreSQL (``database_url``).

Tests that only submit and watch their own jobs share one worker per database
(``worker``: started once per module and xdist process, in a home and database
of its own, idle again before each test); tests that start, kill or withhold the
worker themselves, or that need no worker, keep a fresh home and worker each."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from jobs import queue, recovery, store
from tests.conftest import Process, wait_for_lanes, wait_job
from tests.servers import POSTGRES, PostgresServer

own_worker = pytest.mark.usefixtures("database_url")


@pytest.fixture(scope="module", params=["sqlite", POSTGRES])
def _module_worker(request, tmp_path_factory, migrated_studio_db):
    """``python -m jobs.worker`` on a home (and, for ``postgres``, a database) of its
    own, for the module's tests that only look at their own jobs; yields the home."""
    import shutil

    from jobs import records
    from jobs.settings import reset_settings

    folder = tmp_path_factory.mktemp(f"shared-worker-{request.param}")
    home = folder / "studio-data"
    home.mkdir()
    shutil.copyfile(migrated_studio_db, home / "studio.db")
    database = None
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIO_HOME", str(home))
        patch.setenv("STUDIO_HEARTBEAT_S", "0.5")
        for name in ("STUDIO_QUEUE_URL", "STUDIO_DATABASE_URL", "DATABASE_URL", "STUDIO_DEMO"):
            patch.delenv(name, raising=False)
        if request.param == "postgres":
            server: PostgresServer = request.getfixturevalue("postgres_server")
            database = server.new_database(template=request.getfixturevalue("_postgres_template"))
            patch.setenv("STUDIO_DATABASE_URL", server.url(database))
        records.dispose()
        reset_settings()
        records.upgrade()
        proc = Process(
            [sys.executable, "-m", "jobs.worker"], dict(os.environ), folder / "worker.log"
        )
        try:
            wait_for_lanes(alive=True)
            yield home, proc
        finally:
            proc.kill(signal.SIGKILL)
            records.dispose()
            if database is not None:
                server.drop(database)
    reset_settings()


@pytest.fixture
def worker(_module_worker):
    """The module's shared worker, idle (every earlier test's jobs ended); yields
    its STUDIO_HOME, which is the test's for the time of the test."""
    from jobs import records
    from jobs.settings import reset_settings
    from studio.health import health

    home, proc = _module_worker
    records.dispose()
    reset_settings()  # the settings of the shared home (a test before may have had its own)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = health()
        busy = any(now["queues"].values()) or any(now["running"].values())
        if now["worker"]["alive"] and not busy:
            break
        assert proc.proc.poll() is None, proc.output()
        time.sleep(0.1)
    else:
        raise AssertionError(f"the shared worker did not become idle: {now}")
    yield home
    records.dispose()
    reset_settings()


def test_jobs_of_both_lanes_run_to_completion(worker):
    studio_home = worker
    cpu = queue.submit("system.sleep", {"seconds": 0.3, "steps": 3}, owner="ana")
    gpu = queue.submit("system.diagnostics", {}, owner="ana")
    assert (cpu["lane"], gpu["lane"]) == ("cpu", "gpu")

    cpu, gpu = wait_job(cpu["id"]), wait_job(gpu["id"])
    assert cpu["status"] == "succeeded" and cpu["progress"] == 1.0 and cpu["attempts"] == 1
    assert gpu["status"] == "succeeded", gpu["error"]
    report = gpu["outputs"]["report"]
    assert report["python"] and report["torch"] and report["device"] == "cpu"
    assert report["disk_free_gb"] > 0 and isinstance(report["models_found"], list)
    # The job folder mirrors the record and keeps the log. The runner writes the
    # mirror just after the record (what wait_job saw): give it that moment.
    folder = studio_home / "jobs" / gpu["id"]
    deadline = time.monotonic() + 10
    while json.loads((folder / "status.json").read_text())["status"] != "succeeded":
        assert time.monotonic() < deadline, "status.json never said succeeded"
        time.sleep(0.05)
    assert "torch:" in (folder / "log.txt").read_text()
    assert gpu["started_at"] >= gpu["created_at"] and gpu["finished_at"] >= gpu["started_at"]


def test_progress_stage_item_and_eta_are_reported(worker):
    job = queue.submit("system.sleep", {"seconds": 4, "steps": 40})
    wait_job(job["id"], ("running",))
    time.sleep(1.5)
    running = store.get_job(job["id"])
    assert running["stage"] == "waiting"
    assert 0.1 < running["progress"] < 1.0
    assert running["item"].startswith("step ")
    assert running["eta_s"] is not None and 0 < running["eta_s"] < 10
    assert running["heartbeat_at"] > time.time() - 3
    assert wait_job(job["id"])["status"] == "succeeded"
    assert len(store.job_samples(job["id"])) >= 2  # resource timeline sampled every heartbeat


def test_gpu_job_does_not_block_cpu_job(worker):
    gpu = queue.submit("system.gpu_sleep", {"seconds": 8, "steps": 16})  # holds the GPU lane
    wait_job(gpu["id"], ("running",))
    cpu = queue.submit("system.sleep", {"seconds": 0.2, "steps": 2})
    assert wait_job(cpu["id"], timeout=6)["status"] == "succeeded"
    assert store.get_job(gpu["id"])["status"] == "running"
    gpu = wait_job(gpu["id"])
    assert gpu["status"] == "succeeded" and gpu["outputs"]["slept_s"] == 8


def test_cancel_running_job_stops_at_next_step(worker):
    job = queue.submit("system.sleep", {"seconds": 30, "steps": 300})
    wait_job(job["id"], ("running",))
    queue.cancel(job["id"])
    job = wait_job(job["id"], timeout=5)
    assert job["status"] == "cancelled"
    assert job["progress"] < 0.5
    assert "cancel asked" in store.read_log(job["id"])


def _sleepers(seconds: int) -> list[psutil.Process]:
    needle = f"time.sleep({float(seconds)})"
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if needle in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_cancel_kills_the_child_process(worker):
    job = queue.submit("system.sleep", {"seconds": 97, "child": True})
    wait_job(job["id"], ("running",))
    deadline = time.monotonic() + 10
    while not _sleepers(97) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _sleepers(97), "the child process never started"
    queue.cancel(job["id"])
    assert wait_job(job["id"], timeout=5)["status"] == "cancelled"
    deadline = time.monotonic() + 5
    while _sleepers(97) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _sleepers(97), "the cancelled job's child process is still running"


@own_worker
def test_cancel_queued_job_and_retry_it(studio_home, start_worker):
    job = queue.submit("system.sleep", {"seconds": 0.1, "steps": 1})  # no worker yet
    job = queue.cancel(job["id"])
    assert job["status"] == "cancelled" and job["message"] == "Cancelled before it started"
    with pytest.raises(store.JobStateError):
        queue.cancel(job["id"])
    start_worker()
    time.sleep(1)
    assert store.get_job(job["id"])["status"] == "cancelled"  # the worker did not run it
    queue.retry(job["id"])
    assert wait_job(job["id"])["status"] == "succeeded"


@own_worker
def test_worker_killed_mid_job_requeues_and_finishes_after_restart(start_worker):
    worker = start_worker()
    job = queue.submit("system.sleep", {"seconds": 3, "steps": 30})
    wait_job(job["id"], ("running",))
    time.sleep(0.5)
    worker.kill(signal.SIGKILL)  # the supervisor and both lanes, no chance to clean up
    assert store.get_job(job["id"])["status"] == "running"  # left behind by a dead worker

    start_worker()
    job = wait_job(job["id"], timeout=60)
    assert job["status"] == "succeeded"
    assert job["attempts"] == 2
    assert "re-queued" in store.read_log(job["id"])


@own_worker
def test_job_failing_max_attempts_is_failed_with_a_clear_message(studio_home):
    job = queue.submit("system.sleep", {"seconds": 1})
    # Its worker (a pid that does not exist on this host) died during the last allowed attempt.
    store.update_job(
        job["id"],
        status="running",
        worker=f"{recovery.worker_host()}:999999:cpu",
        attempts=job["max_attempts"],
        heartbeat_at=time.time() - 60,
    )
    recovery.requeue_orphans("me")
    job = store.get_job(job["id"])
    assert job["status"] == "failed"
    assert "giving up" in job["error"] and "Retry" in job["error"]


@own_worker
def test_queued_job_missing_from_the_queue_is_queued_again(start_worker):
    job = queue.submit("system.sleep", {"seconds": 0.1, "steps": 1})
    # Simulate a crash between taking the task off the queue and running it.
    from jobs.queue import huey_for

    huey_for("cpu").flush()
    assert job["id"] not in queue.pending_ids("cpu")
    start_worker()
    assert wait_job(job["id"])["status"] == "succeeded"


def test_failing_job_records_a_message_and_keeps_the_traceback_in_the_log(worker):
    job = queue.submit("system.sleep", {"seconds": "soon"})
    job = wait_job(job["id"])
    assert job["status"] == "failed"
    assert "soon" in job["error"]
    assert "Traceback" not in job["error"]
    assert "Traceback" in store.read_log(job["id"])


def _jobs_of(owners: list[str]) -> tuple[list[dict], int]:
    """Every job of these owners, and how many there are."""
    found = [store.list_jobs(owner=owner, limit=500) for owner in owners]
    return [job for jobs, _ in found for job in jobs], sum(total for _, total in found)


def test_200_jobs_submitted_concurrently_all_finish_once(worker):
    owners = [f"many{i}" for i in range(5)]  # this test's users: no other test's jobs are theirs
    with ThreadPoolExecutor(max_workers=20) as pool:
        submitted = list(
            pool.map(
                lambda i: queue.submit(
                    "system.sleep", {"seconds": 0, "steps": 1}, owner=owners[i % 5]
                )["id"],
                range(200),
            )
        )
    assert len(set(submitted)) == 200
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        jobs, total = _jobs_of(owners)
        if all(j["status"] in store.FINAL for j in jobs):
            break
        time.sleep(0.5)
    jobs, total = _jobs_of(owners)
    assert total == 200
    assert {j["status"] for j in jobs} == {"succeeded"}
    assert all(j["attempts"] == 1 for j in jobs)  # none ran twice
    assert sorted(j["id"] for j in jobs) == sorted(submitted)
