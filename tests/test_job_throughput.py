"""What the job throughput work relies on (issue 16 part 4), no timing asserted:

- a claim is one SQL statement, so one transaction (autocommit); a whole short
  run is two writes (claim, end: its progress goes with the end); a job that
  reports a stage and then goes quiet still has it in the record within about
  the reporter's interval (the flusher thread), and nothing is written after the end;
- status.json is written once for a short job, at its end (whole, by rename); progress writes it only
  every ``mirror_interval`` seconds, the first time that long after the claim
  (the record has every write);
- after a SIGKILL of the process running the job, its record and log still say
  what happened at the claim, and record, status.json and log at the end;
- on the SQLite queue file a worker takes the write lock once a job (the dequeue).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs import queue, records, runner, store
from jobs.kinds import load_tools
from jobs.reporter import Reporter
from tests.servers import POSTGRES

ROOT = Path(__file__).resolve().parents[1]
WRITES = ("insert", "update", "delete", "replace", "begin", "commit")


@pytest.fixture
def traced(studio_home, monkeypatch):
    """Jobs submitted without a queue; every SQL statement SQLite runs for this
    process is recorded (BEGIN and COMMIT too), and every status.json written
    (its status, stage)."""
    load_tools()
    monkeypatch.setattr(queue, "enqueue", lambda job: None)
    statements: list[str] = []
    mirrors: list[tuple[str, str | None]] = []
    write_status_file = store.write_status_file

    def mirror(job: store.Job) -> None:
        mirrors.append((job["status"], job["stage"]))
        write_status_file(job)

    monkeypatch.setattr(store, "write_status_file", mirror)
    with records.trace(statements.append):
        yield statements, mirrors


def _writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().lower().startswith(WRITES)]


def _status_file(job_id: str) -> dict:
    return json.loads((store.job_dir(job_id) / "status.json").read_text())


def test_a_claim_is_one_statement_and_writes_no_mirror(traced):
    statements, mirrors = traced
    job = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    statements.clear()
    mirrors.clear()

    claimed = store.claim_job(job["id"], "test-worker")

    assert claimed is not None and claimed["status"] == "running"
    assert len(statements) == 1 and statements[0].lower().startswith("update jobs")
    assert (claimed["worker"], claimed["attempts"]) == ("test-worker", 1)
    assert store.get_job(job["id"]) == claimed  # the row it handed back is the record
    assert mirrors == [] and not (store.job_dir(job["id"]) / "status.json").exists()
    # A second claim of the same job finds nothing to take: still one statement.
    statements.clear()
    assert store.claim_job(job["id"], "other-worker") is None
    assert len(statements) == 1 and mirrors == []


def test_a_short_run_is_two_writes_and_one_mirror(traced):
    statements, mirrors = traced
    job = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    statements.clear()
    mirrors.clear()

    runner.execute(job["id"])

    writes = _writes(statements)
    assert len(writes) == 2, writes  # the claim, the end (the first stage went with it)
    assert not any(w.lower().startswith(("begin", "commit")) for w in writes)
    assert mirrors == [("succeeded", "succeeded")]  # no status.json before the end
    done = store.get_job(job["id"])
    assert done["status"] == "succeeded" and done["progress"] == 1.0
    assert done["item"] == "step 1 of 1"  # progress not written yet goes with the end
    assert _status_file(job["id"]) == json.loads(json.dumps(done, default=str))
    log = store.read_log(job["id"])
    assert "submitted by" in log and "attempt 1 of" in log and log.endswith("succeeded")


def test_a_stage_reported_then_silence_reaches_the_record_within_the_interval(traced):
    """A job that reports a stage right after its claim and then works without a word
    (a model loading) shows that stage soon anyway: the flusher thread writes it once
    due, one statement, and lets the reporter go."""
    statements, _ = traced
    job = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    store.claim_job(job["id"], "test-worker")
    reporter = Reporter(job["id"], interval=0.2)
    statements.clear()
    reporter.update(stage="loading model", fraction=0.1)
    assert _writes(statements) == []  # within the first interval after the claim
    deadline = time.monotonic() + 5
    while store.get_job(job["id"])["stage"] != "loading model":
        assert time.monotonic() < deadline, "the stage never reached the record"
        time.sleep(0.02)
    assert store.get_job(job["id"])["progress"] == 0.1
    time.sleep(0.3)  # the flusher has nothing left: no further write
    assert len([w for w in _writes(statements) if w.lower().startswith("update")]) == 1
    reporter.close()


def test_no_progress_is_written_after_the_end(traced):
    """A job that fails right after reporting a stage ends ``failed``; the stage it left
    pending is not written over its end later by the flusher."""
    job = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    store.claim_job(job["id"], "test-worker")
    reporter = Reporter(job["id"], interval=0.1)
    reporter.update(stage="reading", fraction=0.2)  # pending: within the first interval
    runner._finish(reporter, "failed", None, error="broken input", message="Failed")
    time.sleep(0.4)  # the flusher's looks come and go
    ended = store.get_job(job["id"])
    assert (ended["status"], ended["stage"], ended["error"]) == ("failed", "failed", "broken input")
    reporter.close()


def test_progress_refreshes_the_mirror_only_every_mirror_interval(traced):
    _, mirrors = traced
    job = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    store.claim_job(job["id"], "test-worker")
    mirrors.clear()

    reporter = Reporter(job["id"], interval=0)  # every update written to the record
    reporter.update(stage="reading", fraction=0.5)
    reporter.update(stage="writing", fraction=0.6)
    assert mirrors == []  # within mirror_interval of the claim
    assert store.get_job(job["id"])["stage"] == "writing"

    reporter.mirror_interval = 0
    reporter.update(stage="packing", fraction=0.7, item="a.png")
    reporter.close()
    assert mirrors == [("running", "packing")]
    on_disk = _status_file(job["id"])
    assert (on_disk["stage"], on_disk["item"], on_disk["progress"]) == ("packing", "a.png", 0.7)
    assert "stage: reading" in store.read_log(job["id"])


def test_a_failed_run_records_its_end_with_the_traceback_in_the_log(traced):
    _, mirrors = traced
    job = queue.submit("system.sleep", {"seconds": "soon"})
    mirrors.clear()
    runner.execute(job["id"])
    assert mirrors == [("failed", "failed")]
    on_disk = _status_file(job["id"])
    assert on_disk["status"] == "failed" and "soon" in on_disk["error"]
    assert on_disk["outputs"]["error_kind"] == "bad_input"
    log = store.read_log(job["id"])
    assert "Traceback" in log and "failed: " in log


def test_update_job_refuses_unknown_fields_and_missing_jobs(traced):
    job = queue.submit("system.sleep", {"seconds": 0})
    with pytest.raises(ValueError, match="Not job fields"):
        store.update_job(job["id"], status="running", nonsense=1)
    with pytest.raises(store.JobNotFound):
        store.update_job("no-such-job", message="hello")
    updated = store.update_job(job["id"], message="hello", outputs={"a": 1})
    assert updated["message"] == "hello" and updated["outputs"] == {"a": 1}
    assert _status_file(job["id"])["outputs"] == {"a": 1}


RUN_ONE = """
import sys
from jobs import runner
from jobs.kinds import load_tools
load_tools()
runner.WORKER_ID = "killed-worker"
print("go", flush=True)
runner.execute(sys.argv[1])
print("done", flush=True)
sys.stdin.readline()  # wait here for the SIGKILL: nothing is closed or flushed on exit
"""


def _run_and_kill(job_id: str, until: str) -> None:
    """Run the job in a child process and SIGKILL it once ``until`` holds:
    ``"running"`` (the record says so) or ``"done"`` (execute returned)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_ONE, job_id],
        cwd=ROOT,
        env=dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "go"
        if until == "done":
            assert proc.stdout.readline().strip() == "done"
        else:
            deadline = time.monotonic() + 30
            while store.get_job(job_id)["stage"] != "waiting":
                assert time.monotonic() < deadline, "the job never started"
                time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


def test_after_a_sigkill_record_mirror_and_log_say_claim_and_end(studio_home, monkeypatch):
    load_tools()
    monkeypatch.setattr(queue, "enqueue", lambda job: None)
    # Killed while running (for less than the mirror's interval): the claim is in the
    # record and the log; no status.json yet (it would follow the progress after 5 s).
    long = queue.submit("system.sleep", {"seconds": 60, "steps": 600})
    _run_and_kill(long["id"], "running")
    record = store.get_job(long["id"])
    assert (record["status"], record["worker"], record["attempts"]) == (
        "running",
        "killed-worker",
        1,
    )
    assert not (store.job_dir(long["id"]) / "status.json").exists()
    log = store.read_log(long["id"])
    assert "attempt 1 of" in log and "stage: waiting" in log

    # Killed just after the end: the end is in all three.
    short = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    _run_and_kill(short["id"], "done")
    record, on_disk = store.get_job(short["id"]), _status_file(short["id"])
    for job in (record, on_disk):
        assert (job["status"], job["progress"], job["attempts"]) == ("succeeded", 1.0, 1)
    assert on_disk["finished_at"] == record["finished_at"]
    assert store.read_log(short["id"]).splitlines()[-1].endswith("succeeded")


@pytest.mark.parametrize("database_url", [POSTGRES], indirect=True)
def test_on_postgres_a_short_run_is_two_round_trips_and_a_submit_one(
    database_url, postgres_server, monkeypatch
):
    """On PostgreSQL a statement is one round trip (autocommit, no ping before it):
    a submit is its INSERT, a short run its claim and end (the server's
    own statement log counts them)."""
    load_tools()
    monkeypatch.setattr(queue, "enqueue", lambda job: None)
    name = database_url.rsplit("/", 1)[1]
    postgres_server.admin(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")
    records.dispose()  # new connections log their statements
    runner.execute(queue.submit("system.sleep", {"seconds": 0, "steps": 1})["id"])  # connects
    assert postgres_server.log is not None

    def logged(since: int) -> list[str]:
        """The statements the server ran since byte ``since`` of its log (simple
        queries, a ping included, and the driver's prepared ones)."""
        time.sleep(0.2)  # the server logs a statement before it answers; be generous
        with open(postgres_server.log, "rb") as fh:
            fh.seek(since)
            text = fh.read().decode(errors="replace")
        return re.findall(r"LOG:  (?:statement|execute [^:]*): (.*)", text)

    mark = postgres_server.log.stat().st_size
    job = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    submitted = logged(mark)
    mark = postgres_server.log.stat().st_size
    runner.execute(job["id"])
    ran = logged(mark)

    assert [s.split()[0] for s in submitted] == ["INSERT"], submitted
    assert [" ".join(s.split()[:2]) for s in ran] == ["UPDATE jobs"] * 2, ran
    assert store.get_job(job["id"])["status"] == "succeeded"


def test_the_sqlite_queue_does_not_sync_each_commit_and_keeps_its_jobs(studio_home):
    """The queue's SQLite file has the records' sync level (WAL, ``synchronous=normal``:
    an enqueue or a dequeue does not wait for the disk, benchmarks/README.md), and a
    job id queued by one connection is there for the next (another process)."""
    load_tools()
    huey = queue.huey_for("cpu")
    conn = huey.storage.conn
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert conn.execute("pragma synchronous").fetchone()[0] == 1  # normal (full: 2)
    job = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    huey.storage.close()  # the next connection opens the file afresh
    assert queue.pending_ids("cpu") == {job["id"]}


def _one_job_run_traced():
    """A short job submitted and run by the cpu lane's Huey in this process: (the Huey,
    the job, every statement run on the queue file meanwhile)."""
    load_tools()
    huey = queue.huey_for("cpu")
    job = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    seen: list[str] = []
    huey.storage.conn.set_trace_callback(seen.append)
    try:
        huey.execute(huey.dequeue())
    finally:
        huey.storage.conn.set_trace_callback(None)
    assert store.get_job(job["id"])["status"] == "succeeded"
    return huey, job, seen


def test_running_a_queued_job_takes_the_queue_write_lock_once(studio_home):
    """A worker's part of the queue file for one job is one write transaction (the
    dequeue): no ``BEGIN EXCLUSIVE`` for a revoke key after the task ran (the studio's
    queues have no revokes), which every submit would have to wait for. A key that
    is there is still popped once."""
    huey, _job, seen = _one_job_run_traced()
    begins = [s.lower() for s in seen if s.lstrip().lower().startswith("begin")]
    assert begins == ["begin exclusive"], seen  # the dequeue's, and nothing else
    assert queue.pending_ids("cpu") == set()

    huey.storage.put_data("revoked-key", b"1")
    assert huey.storage.pop_data("revoked-key") == b"1"
    assert not huey.storage.has_data_for_key("revoked-key")


def test_a_run_reads_no_revoke_keys_and_revoke_points_to_cancel(studio_home):
    """Huey's revoke checks around each run (a read of the key-value store before the
    task, a pop of its revoke key after it) are left out: the studio cancels through
    the job record, never by revoking a Huey task, and ``revoke`` says so."""
    huey, job, seen = _one_job_run_traced()
    assert [s for s in seen if " kv" in s.lower()] == [], seen
    assert len(seen) <= 5, seen  # the dequeue: a check, begin, select, delete, commit
    with pytest.raises(NotImplementedError, match="cancel the job"):
        huey.revoke_by_id(job["id"])
    # A cancel still stops a queued job before it runs.
    queued = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    queue.cancel(queued["id"])
    huey.execute(huey.dequeue())
    assert store.get_job(queued["id"])["status"] == "cancelled"


def test_every_mirror_replaces_status_json_whole(traced):
    """Each status.json is written whole and renamed into place (no temporary file left
    behind, never found empty by a reader); a job whose folder went missing gets it back."""
    job = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
    folder = store.job_dir(job["id"])
    store.write_status_file(job)
    assert _status_file(job["id"])["status"] == "queued"
    store.write_status_file({**job, "status": "running", "stage": "reading"})
    assert (_status_file(job["id"])["status"], _status_file(job["id"])["stage"]) == (
        "running",
        "reading",
    )
    assert sorted(p.name for p in folder.iterdir()) == ["log.txt", "status.json"]
    shutil.rmtree(folder)
    store.write_status_file(job)
    assert _status_file(job["id"])["id"] == job["id"]
