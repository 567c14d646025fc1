"""Writers of the studio's SQLite files wait their turn on a kernel lock
(``jobs/records/turns.py``) instead of meeting SQLite's write lock and sleeping in
its busy handler: a write waits while another writer holds the turn, though
SQLite's own lock is free, and goes as soon as the turn is released; reads never
wait; a thread's write inside its own transaction does not wait for itself; a
forked child takes turns with its parent."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from jobs import queue, records, store
from jobs.kinds import load_tools
from jobs.records.sql import func, insert, select
from jobs.records.tables import job_samples, jobs
from jobs.records.turns import WriterTurns


@contextmanager
def _turn_held(database: Path) -> Iterator[None]:
    """Another writer's turn on ``database`` (a descriptor of the test's own)."""
    fd = os.open(f"{database}.writers", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    done: list[object] = []
    thread = threading.Thread(target=lambda: done.append(work()), daemon=True)
    thread.start()
    return thread, done


def _sqlite_lock_is_free(database: Path) -> bool:
    conn = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        conn.execute("begin immediate")
        conn.execute("rollback")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def _studio_db() -> Path:
    records.first(select(jobs.c.id).where(jobs.c.id == "warm-up"))  # the engine exists
    database = records.engine().url.database
    assert database
    return Path(database)


def test_a_record_write_waits_for_its_turn_and_goes_when_it_is_released(studio_home):
    database = _studio_db()
    with _turn_held(database):
        submit, submitted = _in_thread(
            lambda: store.create_job("system.sleep", "cpu", "ana", {}, "t", 3)
        )

        def together() -> int:
            with records.transaction() as conn:
                conn.execute(insert(job_samples).values(job_id="j", t=1.0))
            return 1

        transaction, committed = _in_thread(together)
        submit.join(0.3)
        transaction.join(0.01)
        assert submitted == [] and committed == []  # both wait for the turn …
        assert _sqlite_lock_is_free(database)  # … not for SQLite's lock
        # Reads never wait.
        assert records.scalar(select(func.count()).select_from(jobs)) == 0
    submit.join(10)
    transaction.join(10)
    assert len(submitted) == 1 and committed == [1]
    assert records.scalar(select(func.count()).select_from(jobs)) == 1
    assert records.scalar(select(func.count()).select_from(job_samples)) == 1


def test_a_queue_write_waits_for_its_turn_too(studio_home):
    load_tools()
    job = store.create_job("system.sleep", "cpu", "ana", {}, "t", 3)
    huey = queue.huey_for("cpu")
    database = Path(huey.storage.filename)
    with _turn_held(database):
        enqueue, enqueued = _in_thread(lambda: queue.enqueue(job) or True)
        enqueue.join(0.3)
        assert enqueued == [] and _sqlite_lock_is_free(database)
        assert queue.pending_ids("cpu") == set()  # a read: it does not wait
    enqueue.join(10)
    assert enqueued == [True] and queue.pending_ids("cpu") == {job["id"]}


def test_a_write_inside_the_threads_own_turn_does_not_wait_for_itself(tmp_path):
    turns = WriterTurns(str(tmp_path / "x.db"))
    with turns.turn(), turns.turn():
        pass
    other, done = _in_thread(lambda: _take(turns))
    other.join(10)
    assert done == [True]  # released after the nested turn ended


def _take(turns: WriterTurns) -> bool:
    with turns.turn():
        return True


def test_a_forked_child_takes_turns_with_its_parent(tmp_path):
    turns = WriterTurns(str(tmp_path / "x.db"))
    with turns.turn():  # the parent's descriptor exists (and is inherited by the child)
        pass
    read, write = os.pipe()
    with turns.turn():
        pid = os.fork()
        if pid == 0:  # the child: its turn must wait for the parent's
            os.close(read)
            with turns.turn():
                os.write(write, b"x")
            os._exit(0)
        os.close(write)
        os.set_blocking(read, False)
        threading.Event().wait(0.3)
        try:
            early = os.read(read, 1)
        except BlockingIOError:
            early = b""
        assert early == b""  # the child is still waiting
    os.set_blocking(read, True)
    assert os.read(read, 1) == b"x"
    os.waitpid(pid, 0)
    os.close(read)
