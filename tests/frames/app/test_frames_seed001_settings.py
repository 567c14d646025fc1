"""Seed 001's error answer for a refused recording (400 ``{"detail": …}``)."""

from __future__ import annotations

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
