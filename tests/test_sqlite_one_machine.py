"""Records in SQLite are for one machine: a worker beating in them from another
host makes the studio refuse to go on (``python app.py`` does not start; the
health response and the Jobs tab say why and what to set). On PostgreSQL
several machines are the point."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from jobs import records
from jobs.records.sql import insert
from jobs.records.tables import workers
from studio.health import health
from tests.conftest import CLEARED_SETTINGS, ROOT, free_port


def _beat(host: str, age_s: float = 0.0) -> None:
    now = time.time()
    records.execute(
        insert(workers).values(
            id=f"{host}:4242:gpu0",
            lane="gpu",
            host=host,
            pid=4242,
            started_at=now - 60,
            heartbeat_at=now - age_s,
        )
    )


def test_a_worker_on_another_host_refuses_a_sqlite_studio_not_a_postgres_one(database_url):
    from studio.tabs.jobs import worker_view

    assert health()["records"]["refused"] is None
    _beat("gpu-box-2")
    info = health()
    if database_url.startswith("sqlite"):
        refused = info["records"]["refused"]
        assert info["status"] == "degraded" and info["records"]["database"] == "sqlite"
        assert "gpu-box-2" in refused and "STUDIO_DATABASE_URL=postgresql://" in refused
        assert database_url.removeprefix("sqlite:///") in refused  # the file at stake
        assert f"Records refused: {refused}" in worker_view()[0]  # the Jobs tab
    else:
        assert info["status"] == "healthy" and info["records"] == {
            "database": "postgresql",
            "refused": None,
        }
        assert "Records refused" not in worker_view()[0]


def test_a_stale_beat_from_another_host_or_a_beat_from_this_one_is_no_refusal(studio_home):
    from jobs import recovery

    _beat("old-container", age_s=3600)  # e.g. the studio's own container before a restart
    _beat(recovery.worker_host())
    info = health()
    assert info["records"] == {"database": "sqlite", "refused": None}
    assert info["status"] == "healthy"


def test_app_py_does_not_start_on_sqlite_written_from_another_host(studio_home):
    _beat("gpu-box-2")
    records.dispose()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_SETTINGS}
    env.update(
        STUDIO_HOME=str(studio_home),
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(free_port()),
        STUDIO_HEARTBEAT_S="60",  # the beat stays fresh while app.py starts
    )
    out = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2, out.stderr
    assert "Studio not started." in out.stderr and "gpu-box-2" in out.stderr
    assert "STUDIO_DATABASE_URL=postgresql://" in out.stderr


def test_python_app_py_keeps_its_records_in_postgres_and_its_queue_on_redis(
    tmp_path, postgres_url, redis_url
):
    """The several-machines settings on one machine: ``python app.py`` migrates
    the empty PostgreSQL database at start, runs a REST job through Redis, and
    writes no studio.db or queue.db."""
    import httpx

    from tests.conftest import run_studio

    url = postgres_url.replace("postgres@", "postgres:pw@")  # seed 004's form, trust login
    with run_studio(tmp_path, DATABASE_URL=url, STUDIO_QUEUE_URL=redis_url) as (base, home, _):
        info = httpx.get(f"{base}/api/v1/health", timeout=10).json()
        assert info["records"] == {"database": "postgresql", "refused": None}
        job = httpx.post(f"{base}/api/v1/jobs", json={"kind": "system.diagnostics"}).json()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status = httpx.get(f"{base}/api/v1/jobs/{job['id']}").json()["status"]
            if status in ("succeeded", "failed"):
                break
            time.sleep(0.3)
        assert status == "succeeded"
        assert not (home / "studio.db").exists() and not (home / "queue.db").exists()
    from sqlalchemy import create_engine, text

    from jobs.records.engine import database_url

    engine = create_engine(database_url(postgres_url))
    try:
        with engine.connect() as conn:
            found = conn.execute(text("select status from jobs where id = :id"), {"id": job["id"]})
            assert found.scalar() == "succeeded"  # the record is in PostgreSQL
    finally:
        engine.dispose()
