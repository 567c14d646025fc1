"""Seed 001's error answer for a refused recording (400 ``{"detail": …}``) and its
``.env`` settings: ALLOWED_EXTENSIONS, MAX_VIDEO_SIZE, MAX_CONCURRENT_UPLOADS and
CELERY_WORKER_CONCURRENCY (the CPU lane's workers)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest


@pytest.fixture
def app_client(studio_home, monkeypatch):
    """The frames routers without a worker (an upload stays queued); settings re-read."""
    from fastapi.testclient import TestClient

    from jobs.settings import reset_settings
    from tests.frames.app.conftest import frames_app

    for name in (
        "ALLOWED_EXTENSIONS",
        "MAX_VIDEO_SIZE",
        "MAX_CONCURRENT_UPLOADS",
        "CELERY_WORKER_CONCURRENCY",
        "STUDIO_CPU_WORKERS",
    ):
        monkeypatch.delenv(name, raising=False)

    def make(**env: str) -> TestClient:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        reset_settings()
        return TestClient(frames_app())

    yield make
    reset_settings()


def upload(client, name: str, data: bytes):
    return client.post("/api/v1/video/upload", files={"file": (name, data, "video/mp4")})


def test_a_refused_format_is_400_with_detail_and_a_batch_goes_on(app_client, recordings):
    client = app_client()
    bad = upload(client, "notes.txt", b"hello")
    assert bad.status_code == 400  # seed 001's error table: 400 Bad Request
    assert set(bad.json()) == {"detail"} and ".mp4, .mov, .webm, .mkv" in bad.json()["detail"]
    good = Path(recordings["good"].path).read_bytes()
    batch = client.post(
        "/api/v1/video/batch-upload",
        files=[
            ("files", ("notes.txt", b"hello", "text/plain")),
            ("files", ("login.mp4", good, "video/mp4")),
        ],
    )
    assert batch.status_code == 200
    assert [v["status"] for v in batch.json()["videos"]] == ["failed", "uploading"]


def test_allowed_extensions_limits_the_formats(app_client, recordings, tmp_path):
    from jobs.settings import get_settings

    client = app_client(ALLOWED_EXTENSIONS=" MP4 ")  # the seed's ".mp4", written loosely
    assert get_settings().frames_allowed_extensions == ".mp4"
    data = Path(recordings["other"].path).read_bytes()
    refused = upload(client, "search.mov", data)
    assert refused.status_code == 400
    assert "Allowed formats (ALLOWED_EXTENSIONS): .mp4;" in refused.json()["detail"]
    assert upload(client, "search.mp4", data).status_code == 200
    app_client(ALLOWED_EXTENSIONS=".mp4,.mov,.avi")
    from jobs.tools.frames.records import allowed_extensions

    assert allowed_extensions() == (".mp4", ".mov")  # only formats frame review reads


def test_max_video_size_is_in_bytes_and_named(app_client):
    from jobs.settings import get_settings

    client = app_client(MAX_VIDEO_SIZE="1000")
    big = upload(client, "big.mp4", b"\0" * 1001)
    assert big.status_code == 413
    assert "1000 bytes" in big.json()["detail"] and "MAX_VIDEO_SIZE" in big.json()["detail"]
    assert upload(client, "small.mp4", b"\0" * 1000).status_code == 200  # probed by the job
    app_client(MAX_VIDEO_SIZE="524288000  # 500MB")  # the line as seed 001's .env has it
    assert get_settings().frames_max_video_size == 524_288_000


def test_max_concurrent_uploads_makes_the_next_upload_wait(app_client):
    from studio.api.frames.videos import upload_slots

    client = app_client(MAX_CONCURRENT_UPLOADS="1")
    answers: list[int] = []
    slots = upload_slots()
    slots.acquire()  # one upload being saved
    try:
        waiting = threading.Thread(
            target=lambda: answers.append(upload(client, "a.mp4", b"\0" * 10).status_code)
        )
        waiting.start()
        time.sleep(1.0)
        assert answers == []  # it waits for the slot
    finally:
        slots.release()
    waiting.join(30)
    assert answers == [200]


def test_cpu_workers_out_of_bounds_is_refused_by_name(monkeypatch):
    """STUDIO_CPU_WORKERS is how many lane processes the worker forks: 1 to 64."""
    from pydantic import ValidationError

    from jobs.settings import Settings

    for value in ("0", "65"):
        monkeypatch.setenv("STUDIO_CPU_WORKERS", value)
        with pytest.raises(ValidationError, match="STUDIO_CPU_WORKERS"):
            Settings()


@pytest.mark.slow
def test_celery_worker_concurrency_sets_the_cpu_lane_workers(
    studio_home, monkeypatch, start_worker
):
    from jobs import queue, store
    from jobs.settings import get_settings, reset_settings

    monkeypatch.delenv("STUDIO_CPU_WORKERS", raising=False)
    monkeypatch.setenv("CELERY_WORKER_CONCURRENCY", "3")
    reset_settings()
    assert get_settings().cpu_workers == 3
    monkeypatch.setenv("STUDIO_CPU_WORKERS", "4")  # the studio's own name wins
    reset_settings()
    assert get_settings().cpu_workers == 4
    monkeypatch.delenv("STUDIO_CPU_WORKERS")
    reset_settings()

    start_worker()
    jobs = [queue.submit("system.sleep", {"seconds": 6, "steps": 60}) for _ in range(3)]
    deadline = time.monotonic() + 30
    while len(running := store.running_jobs("cpu")) < 3:  # the default (2) never runs three
        assert time.monotonic() < deadline, [store.get_job(j["id"])["status"] for j in jobs]
        time.sleep(0.1)
    # each in its own CPU lane process (host:pid:cpu), not three threads of one interpreter
    assert len({job["worker"] for job in running}) == 3, [job["worker"] for job in running]
    assert all(job["worker"].endswith(":cpu") for job in running)
