"""The records package: writes that belong together commit or roll back
together, concurrent writers on SQLite neither deadlock nor interleave, the
claim is atomic across processes, and the migrations run once however many
processes start at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs import records, store
from jobs.records.sql import bindparam, func, insert, select, update
from jobs.records.tables import job_samples, jobs
from jobs.settings import get_settings, reset_settings
from tests.servers import POSTGRES

ROOT = Path(__file__).resolve().parents[1]


def _run_all(code: str, n: int, *args: str) -> list[str]:
    """Run ``code`` in ``n`` processes at once (same STUDIO_HOME); their stdout."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs.append(out)
    return outs


def _count(table) -> int:
    return int(records.scalar(select(func.count()).select_from(table)))


def test_a_transaction_commits_or_rolls_back_all_its_writes(database_url):
    job = store.create_job("system.sleep", "cpu", "ana", {}, "t", 3)
    with pytest.raises(RuntimeError), records.transaction() as conn:
        conn.execute(insert(job_samples).values(job_id=job["id"], t=1.0))
        conn.execute(
            insert(jobs).values(
                id="other", kind="k", lane="cpu", owner="ana", status="queued", created_at=1.0
            )
        )
        raise RuntimeError("something failed half-way")
    assert _count(job_samples) == 0 and store.find_job("other") is None

    with records.transaction() as conn:
        conn.execute(insert(job_samples).values(job_id=job["id"], t=1.0))
        conn.execute(insert(job_samples).values(job_id=job["id"], t=2.0))
    assert [s["t"] for s in store.job_samples(job["id"])] == [1.0, 2.0]


NEXT_NUMBER = """
import sys
from jobs import records
from jobs.records.sql import bindparam, func, insert, select, update
from jobs.records.tables import job_samples
for _ in range(int(sys.argv[1])):
    with records.transaction() as conn:  # read the last number, then write the next
        last = conn.execute(select(func.coalesce(func.max(job_samples.c.t), 0))).scalar()
        conn.execute(insert(job_samples).values(job_id="seq", t=last + 1))
"""


def test_a_prepared_statement_answers_like_the_plain_one(database_url):
    """``records.prepared`` (on SQLite run on the driver's connection, without
    SQLAlchemy's execution) gives the same rows, counts and errors as the plain
    statement: the job store's claim, end and progress writes go through it."""
    plain_insert = insert(jobs).returning(*jobs.c)
    row = dict(id="a", kind="k", lane="cpu", owner="ana", status="queued", created_at=1)
    inserted = records.first(records.prepared(plain_insert), row)
    by_id = select(jobs).where(jobs.c.id == bindparam("id_"))
    fast_select = records.prepared(by_id)
    assert inserted is not None and dict(inserted) == dict(records.first(by_id, {"id_": "a"}))
    assert dict(records.first(fast_select, {"id_": "a"})) == dict(inserted)
    assert inserted["created_at"] == 1.0 and inserted["progress"] == 0.0  # server default
    assert records.first(fast_select, {"id_": "nobody"}) is None
    assert [dict(r) for r in records.rows(fast_select, {"id_": "a"})] == [dict(inserted)]
    # Float columns get SQLAlchemy's own conversion of the values bound (to_float).
    set_progress = update(jobs).where(jobs.c.id == bindparam("id_"))
    fast_update = records.prepared(set_progress.returning(jobs.c.progress))
    assert records.scalar(fast_update, {"id_": "a", "progress": 1}) == 1.0
    assert records.execute(records.prepared(set_progress), {"id_": "a", "stage": "x"}) == 1
    assert records.execute(records.prepared(set_progress), {"id_": "b", "stage": "x"}) == 0
    # The same error types as SQLAlchemy's: a second row with that id, a missing value.
    for statement in (plain_insert, records.prepared(plain_insert)):
        with pytest.raises(Exception) as caught:
            records.first(statement, row)
        assert type(caught.value).__name__ == "IntegrityError"
    for statement in (by_id, fast_select):
        with pytest.raises(Exception, match="id_") as caught:
            records.first(statement)
        assert type(caught.value).__name__ == "StatementError"
    assert records.scalar(select(func.count()).select_from(jobs)) == 1


def test_a_prepared_statement_runs_on_the_driver_without_sqlalchemys_execution(database_url):
    """The job store's hot statements (claim, end, progress, submit) skip SQLAlchemy's
    per-execution work on both databases (PostgreSQL: on a pooled psycopg connection,
    in autocommit); a plain statement still goes through it."""
    from sqlalchemy import event

    seen: list[str] = []

    def executed(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    records.first(select(jobs).where(jobs.c.id == "warm-up"))  # the engine exists
    event.listen(records.engine(), "before_cursor_execute", executed)
    try:
        row = dict(id="p", kind="k", lane="cpu", owner="ana", status="queued", created_at=1)
        assert records.first(records.prepared(insert(jobs).returning(jobs.c.id)), row) == {
            "id": "p"
        }
        claim = update(jobs).where(jobs.c.id == bindparam("id_"), jobs.c.status == "queued")
        claimed = records.first(
            records.prepared(claim.values(status="running").returning(jobs.c.progress)),
            {"id_": "p"},
        )
        assert claimed == {"progress": 0.0}
        assert seen == []
        assert records.scalar(select(jobs.c.status).where(jobs.c.id == "p")) == "running"
        assert len(seen) == 1  # the plain statement
    finally:
        event.remove(records.engine(), "before_cursor_execute", executed)


def test_concurrent_read_then_write_transactions_neither_deadlock_nor_interleave(database_url):
    """Each transaction reads max+1 and inserts it (like a frame task's order):
    with the write lock taken at BEGIN (PostgreSQL: the advisory write lock)
    every number is handed out once."""
    _run_all(NEXT_NUMBER, 3, "25")
    numbers = [s["t"] for s in store.job_samples("seq")]
    assert numbers == [float(i) for i in range(1, 76)]


CLAIM_ALL = """
import json, sys
from jobs import store
ids = json.loads(sys.argv[1])
print(json.dumps([i for i in ids if store.claim_job(i, sys.argv[2]) is not None]))
"""


def test_the_claim_is_atomic_under_concurrent_claimers(database_url):
    ids = [store.create_job("system.sleep", "cpu", "ana", {}, "t", 3)["id"] for _ in range(40)]
    claimed = [json.loads(out) for out in _run_all(CLAIM_ALL, 4, json.dumps(ids), "claimer")]
    every = [job_id for got in claimed for job_id in got]
    assert sorted(every) == sorted(ids)  # each job claimed once, by one process
    for job_id in ids:
        job = store.get_job(job_id)
        assert (job["status"], job["attempts"]) == ("running", 1)


UPGRADE = """
from jobs import records
print(records.upgrade())
"""


@pytest.fixture(params=["sqlite", POSTGRES])
def empty_records(request, tmp_path, monkeypatch):
    """A STUDIO_HOME whose records are not made yet: a missing studio.db, or an
    empty PostgreSQL database (``STUDIO_DATABASE_URL``)."""
    home = tmp_path / "studio-data"
    monkeypatch.setenv("STUDIO_HOME", str(home))
    for name in ("STUDIO_DATABASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "postgres":
        monkeypatch.setenv("STUDIO_DATABASE_URL", request.getfixturevalue("postgres_url"))
    records.dispose()
    reset_settings()
    yield request.param
    records.dispose()
    reset_settings()


def test_the_upgrade_runs_once_when_processes_start_at_once(empty_records):
    outs = _run_all(UPGRADE, 3)
    head = records.head_revision()
    # One process migrated (from nothing); the others found the head.
    assert sorted(outs) == sorted(
        [f"(None, '{head}')\n", f"('{head}', '{head}')\n", f"('{head}', '{head}')\n"]
    )
    assert records.current_revision() == head
    assert records.upgrade() == (head, head)  # idempotent
    with records.connection() as conn:
        versions = conn.exec_driver_sql("select version_num from alembic_version").all()
    assert versions == [(head,)]
    job = store.create_job("system.sleep", "cpu", "ana", {}, "t", 3)
    assert store.get_job(job["id"])["status"] == "queued"
    assert (
        records.engine().dialect.name
        == {"sqlite": "sqlite", "postgres": "postgresql"}[empty_records]
    )


def test_the_cli_upgrades_and_reports(tmp_path):
    env = {**os.environ, "STUDIO_HOME": str(tmp_path / "h")}
    env.pop("STUDIO_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    run = [sys.executable, "-m", "jobs.records"]
    out = subprocess.run([*run, "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "were at nothing" in out.stdout, out.stderr
    out = subprocess.run([*run, "current"], cwd=ROOT, env=env, capture_output=True, text=True)
    head = records.head_revision()
    assert out.returncode == 0 and f"records at {head} (head {head})" in out.stdout


def test_the_cli_on_postgres_masks_the_password(postgres_url):
    """``python -m jobs.records upgrade`` on PostgreSQL (seed 004's ``DATABASE_URL``,
    a plain ``postgresql://`` URL): the password never reaches the output."""
    with_password = postgres_url.replace("postgres@", "postgres:s3cret-pw@")  # trust login
    env = {**os.environ, "DATABASE_URL": with_password}
    env.pop("STUDIO_DATABASE_URL", None)
    run = [sys.executable, "-m", "jobs.records"]
    out = subprocess.run([*run, "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "were at nothing" in out.stdout, out.stderr
    assert "s3cret-pw" not in out.stdout and "postgres:***@" in out.stdout
    out = subprocess.run([*run, "current"], cwd=ROOT, env=env, capture_output=True, text=True)
    head = records.head_revision()
    assert out.returncode == 0 and f"records at {head} (head {head})" in out.stdout


def test_studio_database_url_wins_over_seed_004s_database_url(monkeypatch, postgres_url):
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.delenv("STUDIO_DATABASE_URL", raising=False)
    reset_settings()
    try:
        assert get_settings().records_url == postgres_url  # read when it is the only one
        records.dispose()
        assert records.engine().url.drivername == "postgresql+psycopg"  # psycopg 3
        assert records.scalar(select(func.current_database())) == postgres_url.rsplit("/", 1)[1]
        monkeypatch.setenv("STUDIO_DATABASE_URL", "sqlite:///elsewhere.db")
        reset_settings()
        assert get_settings().records_url == "sqlite:///elsewhere.db"
    finally:
        records.dispose()
        reset_settings()


@pytest.mark.parametrize("database_url", [POSTGRES], indirect=True)
def test_a_killed_connection_or_a_restarted_postgres_does_not_break_the_next_job(
    database_url, postgres_server, start_worker
):
    """PostgreSQL connections are pooled without a ping before each statement: a
    pooled connection the server closed while it sat idle (its backend killed, the
    server restarted) is found at checkout and replaced, in this process (the
    submit, the reads) and in the worker's lanes (claim, progress, end, heartbeat),
    which keep running: the same lanes, no restart."""
    from jobs import queue
    from jobs.records.tables import workers
    from tests.conftest import wait_job

    start_worker()

    def run_one() -> str:
        job = queue.submit("system.sleep", {"seconds": 0, "steps": 2})
        return wait_job(job["id"], timeout=120)["status"]

    def lanes() -> set[str]:
        return {row["id"] for row in records.rows(select(workers.c.id))}

    assert run_one() == "succeeded"  # every process holds pooled connections now
    before = lanes()
    name = database_url.rsplit("/", 1)[1]
    # Every connection to the test's database is killed; pg_terminate_backend only
    # signals, so wait until those backends are gone (the pooled connections are then
    # dead while they sit idle, as in the docstring).
    import psycopg

    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        killed = [
            pid
            for (pid,) in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchall()
        ]
        assert killed, "the test's processes hold pooled connections"
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (killed,))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (alive,) = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (killed,)
            ).fetchone() or (0,)
            if alive == 0:
                break
            time.sleep(0.05)
    assert run_one() == "succeeded"
    postgres_server.restart()
    assert run_one() == "succeeded"
    assert lanes() == before


@pytest.mark.parametrize("database_url", [POSTGRES], indirect=True)
def test_progress_and_heartbeats_commit_without_waiting_for_the_disk_state_changes_do(
    database_url, postgres_server
):
    """``durable=False`` (progress, heartbeats) runs on connections with
    ``synchronous_commit=off``; every other statement waits for its commit to be
    on disk (a job's submit, claim and end), as the server is set (here: on, as
    deployed; the test server's default is off)."""
    name = database_url.rsplit("/", 1)[1]
    postgres_server.admin(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    records.dispose()  # new connections get the database's setting
    setting = select(func.current_setting("synchronous_commit"))
    assert records.scalar(setting) == "on"
    assert records.scalar(setting, durable=False) == "off"
    with records.transaction(durable=False) as conn:
        assert conn.execute(setting).scalar() == "off"
    with records.transaction() as conn:
        assert conn.execute(setting).scalar() == "on"
