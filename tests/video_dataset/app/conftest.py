"""Fixtures of the video dataset app tests: small synthetic videos (the
pipeline tests' generators), an allowed server folder, and a REST client on the
real routers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "video_dataset"))

from video_media import make_testsrc, make_vfr  # noqa: E402


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """name -> file: 25/30/60 fps, VFR, with audio, corrupt."""
    d = tmp_path_factory.mktemp("app_media")
    files = {
        "fps25": make_testsrc(d / "fps25.mov", 25, 2.0, size="240x320"),
        "fps30": make_testsrc(d / "fps30.mp4", 30, 3.0),
        "fps60": make_testsrc(d / "fps60.mkv", 60, 2.0),
        "vfr": make_vfr(d / "phone_vfr.mp4"),
        "audio": make_testsrc(d / "with_audio.mp4", 30, 2.0, audio=True),
    }
    corrupt = d / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    files["corrupt"] = corrupt
    return files


@pytest.fixture
def allowed_root(tmp_path, monkeypatch, studio_home) -> Path:
    """A server folder users may read from (STUDIO_ALLOWED_ROOTS), set before the worker starts."""
    from jobs.settings import reset_settings

    root = tmp_path / "server-videos"
    root.mkdir()
    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(root))
    reset_settings()
    return root


@pytest.fixture
def client(studio_home):
    """The real preprocessing and jobs routers in a FastAPI app (no Gradio UI: faster)."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from studio import errors
    from studio.api import jobs as jobs_api
    from studio.api import video_dataset as video_dataset_api

    app = FastAPI()
    errors.install(app)
    app.include_router(jobs_api.router, prefix="/api/v1")
    app.include_router(video_dataset_api.router, prefix="/api/v1")
    with TestClient(app) as c:
        yield c
