"""A seed 003 caller's job_id may be any id, even one that looks like a path of
the studio ("edit", "status", "models"): every tool's routes have their own
prefix, and the seed's /api/v1/video/edit paths are mounted before frames'
/api/v1/video/{video_id} paths (there is no list of reserved ids any more)."""

from __future__ import annotations

import pytest

from tests.video_edit.app.test_video_edit_api import body


@pytest.fixture
def studio_client(studio_home):
    """Every tool's routers, mounted from the registry as the studio mounts them."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from studio import errors
    from studio.server import mount_routers

    app = FastAPI()
    errors.install(app)
    mount_routers(app)
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("job_id", ["edit", "status", "progress"])
def test_ids_like_frames_paths_reach_the_video_edit(
    studio_client, allowed_root, studio_models, job_id
):
    r = studio_client.post("/api/v1/video/edit", json=body(allowed_root, job_id=job_id))
    assert r.status_code == 201, r.text
    assert r.json()["status_url"] == f"/api/v1/video/edit/{job_id}"
    for path in (f"/api/v1/video/edit/{job_id}", f"/api/v1/video_edit/{job_id}"):
        status = studio_client.get(path)
        assert status.status_code == 200, (path, status.text)
        assert status.json()["job_id"] == job_id and status.json()["status"] == "queued"
    # frames' /video/{video_id}/... paths still answer for frames (ids are random hex)
    assert "No recording" in studio_client.get("/api/v1/video/0a1b2c3d/status").text
    cancel = studio_client.post(f"/api/v1/video/edit/{job_id}/cancel")
    assert cancel.status_code == 200, cancel.text


def test_an_id_named_like_the_models_route_is_reached_by_its_studio_id(
    studio_client, allowed_root, studio_models
):
    r = studio_client.post("/api/v1/video_edit", json=body(allowed_root, job_id="models"))
    assert r.status_code == 201, r.text
    started = r.json()
    assert started["job_id"] == "models"
    assert started["status_url"] == f"/api/v1/video/edit/{started['studio_job_id']}"
    status = studio_client.get(started["status_url"]).json()
    assert status["job_id"] == "models" and status["status"] == "queued"
    # /models stays the models list; the job's files are under its id as usual
    models = studio_client.get("/api/v1/video/edit/models").json()["models"]
    assert {m["model"]: m["available"] for m in models}["InstructPix2Pix"] is True
    output = studio_client.get("/api/v1/video/edit/models/output")
    assert output.status_code == 404 and "output" in output.json()["detail"]  # not written yet


def test_a_refused_submission_frees_the_callers_job_id(
    studio_home, allowed_root, studio_models, monkeypatch
):
    """A caller's job_id is reserved before the job is submitted; a submission
    refused by the job limit (429) rolls it back (queue.submit_reserved)."""
    from jobs import queue
    from jobs.access import user_named
    from jobs.settings import reset_settings
    from jobs.tools import video_edit as edits
    from jobs.tools.video_edit import repository as repo
    from pipelines.errors import TooManyJobs
    from tests.video_edit.app.conftest import FAST

    monkeypatch.setenv("STUDIO_API_TOKENS", "tok-bob:bob")
    monkeypatch.setenv("STUDIO_MAX_JOBS_PER_USER", "1")
    reset_settings()
    bob = user_named("bob")
    fields = {"mask_prompt": "person", "edit_prompt": "make the person red", **FAST}
    server = str(allowed_root / "person.mp4")
    busy = queue.submit("system.sleep", {"seconds": 1}, owner="bob")
    with pytest.raises(TooManyJobs):
        edits.submit(fields, bob, server_video=server, client_job_id="mine")
    assert repo.by_seed_id("mine") is None
    queue.cancel(busy["id"])
    started = edits.submit(fields, bob, server_video=server, client_job_id="mine")
    assert started["job_id"] == "mine" and started["status"] == "queued"
