"""Fixtures of the video edit studio tests: an allowed server folder holding the
clips, the tiny InstructPix2Pix in the studio's models folder, and a REST client
on the real routers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def allowed_root(tmp_path, monkeypatch, studio_home, clips) -> Path:
    """STUDIO_ALLOWED_ROOTS with the test clips in it (set before any worker starts)."""
    from jobs.settings import reset_settings

    root = tmp_path / "server"
    root.mkdir()
    for name, path in clips.items():
        shutil.copyfile(path, root / f"{name}{path.suffix}")
    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(root))
    reset_settings()
    return root


@pytest.fixture
def studio_models(studio_home, tiny_ip2p) -> Path:
    """The tiny InstructPix2Pix where the studio looks first: STUDIO_MODELS_DIR/instruct-pix2pix."""
    target = studio_home / "models" / "instruct-pix2pix"
    shutil.copytree(tiny_ip2p, target)
    return target


@pytest.fixture
def client(studio_home):
    """The real jobs and video edit routers, with the studio's error handler."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from studio import errors
    from studio.api import jobs as jobs_api
    from studio.api import video_edit as video_edit_api

    app = FastAPI()
    errors.install(app)
    app.include_router(jobs_api.router, prefix="/api/v1")
    app.include_router(video_edit_api.router, prefix="/api/v1")
    with TestClient(app) as c:
        yield c


FAST = {"num_inference_steps": 2, "extra": {"working_size": 64}}
