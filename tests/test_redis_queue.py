"""STUDIO_QUEUE_URL=redis://... swaps the queue to RedisHuey: same jobs, same worker."""

from __future__ import annotations

from huey import RedisHuey

from jobs import queue
from jobs.settings import reset_settings
from tests.conftest import wait_job


def test_jobs_run_through_redis(studio_home, redis_url, monkeypatch, start_worker):
    monkeypatch.setenv("STUDIO_QUEUE_URL", redis_url)
    reset_settings()
    assert isinstance(queue.huey_for("cpu"), RedisHuey)
    start_worker()
    jobs = [queue.submit("system.sleep", {"seconds": 0.1, "steps": 1}) for _ in range(5)]
    jobs.append(queue.submit("system.diagnostics", {}))
    assert [wait_job(j["id"])["status"] for j in jobs] == ["succeeded"] * 6
    assert not (studio_home / "queue.db").exists()  # nothing went to the SQLite queue
