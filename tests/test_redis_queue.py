"""STUDIO_QUEUE_URL=redis://... swaps the queue to RedisHuey: same jobs, same worker."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from jobs import queue
from jobs.settings import reset_settings
from tests.conftest import free_port, wait_job

REDIS = shutil.which("redis-server")


@pytest.fixture
def redis_url(tmp_path):
    if REDIS is None:
        pytest.skip(
            "redis-server is not installed (apt-get install -y redis-server; .ci/run installs it)"
        )
    port = free_port()
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    yield f"redis://127.0.0.1:{port}/0"
    proc.kill()
    proc.wait()


def test_jobs_run_through_redis(studio_home, redis_url, monkeypatch, start_worker):
    monkeypatch.setenv("STUDIO_QUEUE_URL", redis_url)
    reset_settings()
    assert type(queue.huey_for("cpu")).__name__ == "RedisHuey"
    start_worker()
    jobs = [queue.submit("system.sleep", {"seconds": 0.1, "steps": 1}) for _ in range(5)]
    jobs.append(queue.submit("system.diagnostics", {}))
    assert [wait_job(j["id"])["status"] for j in jobs] == ["succeeded"] * 6
    assert not (studio_home / "queue.db").exists()  # nothing went to the SQLite queue
