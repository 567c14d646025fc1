"""Video edit over REST (seed 003): refusals before anything is queued, a full
round trip through a real worker (JSON and upload), downloads, the owner
check, and cancel in the middle of editing through the jobs API."""

from __future__ import annotations

import json
import time

import pytest

from tests.video_edit.app.conftest import FAST


def body(root, **changes):
    return {
        "input_video_path": str(root / "person.mp4"),
        "mask_prompt": "person",
        "edit_prompt": "make the person red",
        "params": FAST,
        **changes,
    }


def wait_status(client, job_id, statuses=("finished", "failed"), timeout=120.0, headers=None):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/video/edit/{job_id}", headers=headers).json()
        if not seen or seen[-1] != status["status"]:
            seen.append(status["status"])
        if status["status"] in statuses and status["studio_status"] in (
            "succeeded",
            "failed",
            "cancelled",
        ):
            return status, seen
        time.sleep(0.1)
    raise AssertionError(f"video edit {job_id} stayed {seen}")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"input_video_path": "/etc/passwd"}, "outside the allowed server folders"),
        ({"output_dir": "/tmp/elsewhere"}, "STUDIO_OUTPUT_ROOTS"),
        ({"mask_prompt": "the red car"}, "No text segmenter"),
        ({"params": {"extra": {"model_path": "/opt/models/ip2p"}}}, "outside the models folder"),
        (
            {"params": {"extra": {"model_path": "someone/not-downloaded"}}},
            "not in the Hugging Face cache",
        ),
        ({"params": {"smoothing_alpha": 3}}, "smoothing_alpha"),
        ({"params": {"unknown": 1}}, "unknown"),
        ({"mask_prompt": "hair\u0007"}, "mask_prompt"),
        ({"job_id": "../../x"}, "job_id"),
        ({"params": {"mode": "single_frame", "frame_index": 99}}, "past the clip's last frame"),
    ],
)
def test_bad_requests_are_refused_before_queuing(
    client, allowed_root, studio_models, change, words
):
    r = client.post("/api/v1/video/edit", json=body(allowed_root, **change))
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]
    assert client.get("/api/v1/jobs").json()["total"] == 0


def test_not_a_video_and_a_missing_model_are_refused(client, allowed_root, monkeypatch):
    r = client.post(
        "/api/v1/video/edit",
        json=body(allowed_root, input_video_path=str(allowed_root / "not_video.mp4")),
    )
    assert r.status_code == 422 and "not a readable video" in r.json()["detail"]
    r = client.post("/api/v1/video/edit", json=body(allowed_root))  # no InstructPix2Pix anywhere
    assert r.status_code == 422 and "INSTRUCT_PIX2PIX_MODEL_PATH" in r.json()["detail"]
    assert "hf download timbrooks/instruct-pix2pix" in r.json()["detail"]
    monkeypatch.setenv("SAM3_MODEL_PATH", "/nowhere/sam3")
    r = client.post("/api/v1/video/edit", json=body(allowed_root))
    assert r.status_code == 422 and "SAM3_MODEL_PATH" in r.json()["detail"]


def test_job_ids_are_unique_and_unknown_ids_404(client, allowed_root, studio_models):
    assert (
        client.post("/api/v1/video/edit", json=body(allowed_root, job_id="mine")).status_code == 201
    )
    r = client.post("/api/v1/video/edit", json=body(allowed_root, job_id="mine"))
    assert r.status_code == 409 and "taken" in r.json()["detail"]
    assert client.get("/api/v1/video/edit/nobody").status_code == 404
    assert client.get("/api/v1/video/edit/mine/output").status_code == 404  # not written yet
    models = client.get("/api/v1/video/edit/models").json()["models"]
    assert {m["model"]: m["available"] for m in models}["InstructPix2Pix"] is True


def test_other_users_get_404(client, allowed_root, studio_models, monkeypatch):
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_API_TOKENS", "ta:alice,tb:bob")
    reset_settings()
    alice, bob = {"Authorization": "Bearer ta"}, {"Authorization": "Bearer tb"}
    r = client.post("/api/v1/video/edit", json=body(allowed_root, job_id="alices"), headers=alice)
    assert r.status_code == 201
    assert client.get("/api/v1/video/edit/alices", headers=alice).status_code == 200
    for path in (
        "/api/v1/video/edit/alices",
        "/api/v1/video/edit/alices/log",
        f"/api/v1/video/edit/{r.json()['studio_job_id']}",
    ):
        assert client.get(path, headers=bob).status_code == 404
    assert client.post("/api/v1/video/edit/alices/cancel", headers=bob).status_code == 404


@pytest.mark.slow
def test_round_trip_json_then_upload(
    client, allowed_root, studio_models, start_worker, tmp_path, monkeypatch
):
    from jobs import store
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_OUTPUT_ROOTS", str(tmp_path / "results"))  # where edits may go
    reset_settings()
    start_worker()
    out = tmp_path / "results" / "edit1"
    r = client.post(
        "/api/v1/video/edit", json=body(allowed_root, job_id="edit1", output_dir=str(out))
    )
    assert r.status_code == 201, r.text
    started = r.json()
    assert (
        started["job_id"] == "edit1" and started["status"] == "queued" and started["lane"] == "gpu"
    )
    status, seen = wait_status(client, "edit1")
    assert status["status"] == "finished", status
    assert (
        seen[0] in ("queued", "extracting", "masking", "propagating", "editing")
        and seen[-1] == "finished"
    )
    assert status["total_frames"] == 10 and status["progress"] == 1.0
    assert status["output_video_path"] == str(out / "edit1_output.mp4")
    job = store.get_job(started["studio_job_id"])  # the studio record mirrors the seed status
    assert job["status"] == "succeeded" and job["item"] == "frame 10/10"
    log = store.read_log(job["id"])
    stages = [line.split("stage: ")[1] for line in log.splitlines() if "stage: " in line]
    assert stages == [
        "extracting",
        "masking",
        "propagating",
        "editing",
        "smoothing",
        "saving",
        "finished",
    ]
    video = client.get("/api/v1/video/edit/edit1/output")
    assert (
        video.status_code == 200
        and video.headers["content-type"] == "video/mp4"
        and len(video.content) > 1000
    )
    assert client.get("/api/v1/video/edit/edit1/mask").status_code == 200
    assert "[finished]" in client.get("/api/v1/video/edit/edit1/log").text
    assert json.loads(client.get("/api/v1/video/edit/edit1/status").content)["status"] == "finished"

    # the same as a multipart upload, outputs kept with the job
    with open(allowed_root / "person.mp4", "rb") as fh:
        r = client.post(
            "/api/v1/video/edit",
            files={"file": ("clip.mp4", fh, "video/mp4")},
            data={
                "mask_prompt": "person",
                "edit_prompt": "make it blue",
                "params": json.dumps({**FAST, "max_frames": 3, "apply_smoothing": False}),
            },
        )
    assert r.status_code == 201, r.text
    status, _ = wait_status(client, r.json()["job_id"])
    assert status["status"] == "finished" and status["total_frames"] == 3
    files = store.get_job(r.json()["studio_job_id"])["outputs"]["files"]
    assert f"outputs/{r.json()['job_id']}_output.mp4" in files


@pytest.mark.slow
def test_cancel_in_the_middle_of_editing_through_the_jobs_api(
    client, allowed_root, studio_models, start_worker
):
    from jobs import store

    start_worker()
    params = {"num_inference_steps": 40, "extra": {"working_size": 64, "batch_size": 1}}
    r = client.post("/api/v1/video/edit", json=body(allowed_root, params=params))
    studio_id = r.json()["studio_job_id"]
    deadline = time.monotonic() + 120
    while store.get_job(studio_id)["stage"] != "editing":
        assert time.monotonic() < deadline, store.get_job(studio_id)
        time.sleep(0.1)
    assert client.post(f"/api/v1/jobs/{studio_id}/cancel").status_code == 200
    status, _ = wait_status(client, r.json()["job_id"], statuses=("failed",))
    assert status["studio_status"] == "cancelled" and status["error"] == "Cancelled by the user"
    assert status["current_frame"] < 10
