"""Seed 003's own REST paths, as its README's example server answers them:
``POST /api/video/edit`` → 200 ``{"job_id", "status": "queued"}``, and
``GET /api/video/status/{job_id}?output_dir=`` → the seed's status fields. The
studio answers them with its video edit routes (mounted from the registry, as
the studio mounts them)."""

from __future__ import annotations

import time

import pytest

from tests.video_edit.app.conftest import FAST
from tests.video_edit.test_video_edit_pipeline import SEED_FIELDS  # seed 003's status fields


@pytest.fixture
def site(studio_home):
    """Every router, mounted as ``studio.server`` mounts them."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from studio import errors
    from studio.server import mount_routers

    app = FastAPI()
    errors.install(app)
    mount_routers(app)
    with TestClient(app) as client:
        yield client


def seed_body(root, job_id, output_dir):
    """The JSON of the seed's example 3 (``params`` holds the request's options)."""
    return {
        "job_id": job_id,
        "input_video_path": str(root / "person.mp4"),
        "output_dir": str(output_dir),
        "mask_prompt": "person",
        "edit_prompt": "make the person red",
        "params": {**FAST, "max_frames": 3},
    }


def test_seed_paths_start_and_answer_the_status(
    site, allowed_root, studio_models, tmp_path, monkeypatch
):
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_OUTPUT_ROOTS", str(tmp_path / "outputs"))
    reset_settings()
    out = tmp_path / "outputs" / "test_002"
    r = site.post("/api/video/edit", json=seed_body(allowed_root, "test_002", out))
    assert r.status_code == 200, r.text  # Flask's jsonify in the seed's example
    assert r.json()["job_id"] == "test_002" and r.json()["status"] == "queued"

    for path in ("/api/video/status/test_002", "/api/v1/video/status/test_002"):
        status = site.get(path, params={"output_dir": str(out)})
        assert status.status_code == 200, status.text
        assert set(status.json()) >= SEED_FIELDS
        assert status.json()["job_id"] == "test_002" and status.json()["status"] == "queued"
    assert site.get("/api/video/status/test_002").json()["status"] == "queued"  # no output_dir

    elsewhere = site.get("/api/video/status/test_002", params={"output_dir": str(tmp_path / "x")})
    assert elsewhere.status_code == 404 and "does not write into" in elsewhere.json()["detail"]
    assert site.get("/api/video/status/nobody").status_code == 404


def test_seed_paths_check_the_owner_like_the_studio_paths(
    site, allowed_root, studio_models, monkeypatch
):
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_API_TOKENS", "ta:alice,tb:bob")
    reset_settings()
    alice, bob = {"Authorization": "Bearer ta"}, {"Authorization": "Bearer tb"}
    body = seed_body(allowed_root, "alices", "")
    del body["output_dir"]  # output_dir is for admins
    assert site.post("/api/video/edit", json=body, headers=alice).status_code == 200
    assert site.get("/api/video/status/alices", headers=alice).status_code == 200
    theirs = site.get("/api/video/status/alices", headers=bob)
    unknown = site.get("/api/video/status/nobody", headers=bob)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"].replace("alices", "X") == unknown.json()["detail"].replace(
        "nobody", "X"
    )
    assert site.post("/api/video/edit", json=body, headers=None).status_code == 401


@pytest.mark.slow
def test_the_seed_client_polls_to_finished(site, allowed_root, studio_models, start_worker):
    start_worker()
    body = seed_body(allowed_root, "poll1", "")
    del body["output_dir"]
    assert site.post("/api/video/edit", json=body).status_code == 200
    deadline = time.monotonic() + 120
    while True:
        status = site.get("/api/video/status/poll1").json()
        if status["status"] in ("finished", "failed"):
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["status"] == "finished" and status["total_frames"] == 3, status
    assert status["output_video_path"].endswith("poll1_output.mp4")
