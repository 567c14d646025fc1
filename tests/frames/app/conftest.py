"""Fixtures for the Frame review tab, API and jobs: small synthetic recordings
(360×800, 3.6 s, known first/last frames), broken files, the frames router on a
real worker."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipelines.frames.synthetic import Timeline, make_recording

SHORT = Timeline(tap=0.8, tail=1.3)  # 3.6 s: tap at 0.8 s, final screen at 2.3 s


@pytest.fixture(scope="session")
def recordings(tmp_path_factory):
    d = tmp_path_factory.mktemp("frames-app-recordings")
    good = make_recording(d / "login.mp4", fps=30, timeline=SHORT, seed=1)
    other = make_recording(d / "search.mov", fps=30, timeline=Timeline(tap=1.0, tail=1.3), seed=4)
    data = Path(good.path).read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (d / "notes.mp4").write_text("this is not a video\n" * 200)
    return {"good": good, "other": other, "truncated": d / "truncated.mp4", "text": d / "notes.mp4"}


@pytest.fixture
def client(studio_home, start_worker):
    """The frames and jobs routers (the real ones) over a real worker process."""
    from fastapi.testclient import TestClient

    start_worker()
    with TestClient(frames_app()) as c:
        yield c


def frames_app():
    """The frames and jobs routers with the studio's one error handler."""
    from fastapi import FastAPI

    from studio import errors
    from studio.api import frames as frames_api
    from studio.api import jobs as jobs_api

    app = FastAPI()
    errors.install(app)
    app.include_router(jobs_api.router, prefix="/api/v1")
    app.include_router(frames_api.router, prefix="/api/v1")
    return app


def wait_video(client, video_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/video/{video_id}/status").json()
        if status["status"] in ("completed", "failed", "cancelled"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"recording {video_id} stayed {status['status']}")
