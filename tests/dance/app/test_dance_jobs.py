"""Seed 004's flow end to end on a real worker: preprocessing with MediaPipe,
generation by a stand-in ``generate_dancer.py`` (the real arguments and
folders), its failures, cancel killing its process group, the low-level queue,
and the Wan-Animate backend in the GPU lane."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.dance.app.conftest import BASE, wait_ready, wait_state

pytestmark = pytest.mark.slow


def _setup(api, **config):
    pid = api.post(f"{BASE}/projects", json={"name": "Demo Project"}).json()["id"]
    ref = api.post(
        f"{BASE}/projects/{pid}/refs",
        json={
            "name": "astronaut",
            "source_image_path": "media/astronaut.png",
            "meta": {"prompt": "an astronaut dancing"},
        },
    ).json()
    motion = api.post(
        f"{BASE}/projects/{pid}/motions",
        json={"name": "slide", "source_video_path": "media/dance.mp4"},
    ).json()
    exp = api.post(
        f"{BASE}/projects/{pid}/experiments",
        json={
            "name": "astronaut slide",
            "reference_id": ref["id"],
            "motion_id": motion["id"],
            "config": {"size": "256*256", "frame_num": 9, "sample_steps": 4, **config},
        },
    )
    assert exp.status_code == 200, exp.text
    return pid, exp.json()


def _job(api, pid, eid, **body):
    r = api.post(f"{BASE}/projects/{pid}/experiments/{eid}/steadydancer/jobs", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state  # a zombie waiting for its parent is dead too


def test_seed_flow_end_to_end(api, dance_env, start_worker):
    start_worker()
    pid, exp = _setup(api, cuda_visible_devices="3")
    first = _job(api, pid, exp["id"])  # right after the experiment: waits for its preprocessing
    second = _job(api, pid, exp["id"], base_seed=7, prompt_override="a second take")
    url = f"{BASE}/projects/{pid}/steadydancer/jobs/{first['job_id']}"
    status = wait_state(api, url)
    assert status["state"] == "SUCCESS", status
    result = status["result"]
    assert result["success"] is True and result["return_code"] == 0
    job_dir = dance_env["home"] / "projects" / pid / "jobs" / first["job_id"]
    assert result["video_path"] == str(job_dir / "output" / "result.mp4")
    assert "Finished." in result["stdout"] and "4/4" in result["stderr"]
    # the experiment's config reached the generator unchanged
    for text in (
        "size='256*256'",
        "frame_num=9",
        "sample_guide_scale=5.0",
        "condition_guide_scale=1.0",
        "end_cond_cfg=0.4",
        "base_seed=106060",
        "prompt='an astronaut dancing'",
        "task='i2v-14B'",
    ):
        assert text in result["stdout"], text
    assert "CUDA_VISIBLE_DEVICES=3" in result["stdout"]
    assert status["percent"] == 100 and status["finished_at"]

    other = wait_state(api, f"{BASE}/projects/{pid}/steadydancer/jobs/{second['job_id']}")
    assert other["state"] == "SUCCESS"
    assert (
        "base_seed=7" in other["result"]["stdout"]
        and "sample_guide_scale=5.0" in other["result"]["stdout"]
    )
    assert "prompt='a second take'" in other["result"]["stdout"]

    exp_view = api.get(f"{BASE}/projects/{pid}/experiments/{exp['id']}").json()
    assert exp_view["ready"] and exp_view["preprocess"]["result"]["frames"] == 9
    assert sorted(os.listdir(exp_view["input_dir"])) == [
        "driving_video.mp4",
        "face",
        "negative",
        "positive",
        "prompt.txt",
        "ref_image.png",
    ]
    preview = api.get(f"{BASE}/projects/{pid}/experiments/{exp['id']}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "video/mp4"

    download = api.get(f"{url}/download")
    assert download.status_code == 200 and download.headers["content-type"] == "video/mp4"
    assert "attachment" in download.headers["content-disposition"]
    assert "Demo-Project_astronaut-slide_seed106060" in download.headers["content-disposition"]
    assert download.content[4:8] == b"ftyp"

    jobs = api.get(f"{BASE}/projects/{pid}/steadydancer/jobs").json()
    assert {j["id"] for j in jobs} == {first["job_id"], second["job_id"]}
    assert all(j["status"] == "SUCCESS" and j["result_video_path"] for j in jobs)
    assert (
        len(api.get(f"{BASE}/projects/{pid}/experiments/{exp['id']}/steadydancer/jobs").json()) == 2
    )
    log = api.get(f"{url}/log").text
    assert "[stdout]" in log and "[stderr] sampling step 4/4" in log and "stage: sampling" in log

    import sqlite3

    db = sqlite3.connect(dance_env["home"] / "studio.db")
    row = db.execute(
        "select status, success, result_video_path, finished_at from generation_jobs where id=?",
        [first["job_id"]],
    ).fetchone()
    assert (
        row[0] == "SUCCESS"
        and row[1] == 1
        and row[2] == result["video_path"]
        and row[3].endswith("Z")
    )
    assert api.delete(url).status_code == 204 and not job_dir.exists()


def test_a_failed_generation_is_FAILURE_with_the_result(api, dance_env, start_worker):
    start_worker()
    pid, exp = _setup(api)
    failed = _job(api, pid, exp["id"], prompt_override="[fail]")
    garbage = _job(api, pid, exp["id"], prompt_override="[garbage]")
    status = wait_state(api, f"{BASE}/projects/{pid}/steadydancer/jobs/{failed['job_id']}")
    assert status["state"] == "FAILURE"
    assert status["result"]["success"] is False and status["result"]["return_code"] == 1
    assert status["result"]["video_path"] is None
    assert (
        "CUDA out of memory" in status["result"]["stderr"]
        and "Generation job args" in status["result"]["stdout"]
    )
    assert "exited with code 1" in status["error"]
    r = api.get(f"{BASE}/projects/{pid}/steadydancer/jobs/{failed['job_id']}/download")
    assert r.status_code == 404 and "FAILURE" in r.json()["detail"]

    status = wait_state(api, f"{BASE}/projects/{pid}/steadydancer/jobs/{garbage['job_id']}")
    assert status["state"] == "FAILURE" and status["result"]["return_code"] == 0
    assert status["result"]["success"] is False and "playable video" in status["error"]

    retried = api.post(f"{BASE}/projects/{pid}/steadydancer/jobs/{failed['job_id']}/retry").json()
    assert retried["state"] in ("PENDING", "STARTED")
    assert (
        wait_state(api, f"{BASE}/projects/{pid}/steadydancer/jobs/{failed['job_id']}")["state"]
        == "FAILURE"
    )


def test_cancel_kills_the_generators_process_group(api, dance_env, start_worker):
    start_worker()
    pid, exp = _setup(api)
    job = _job(api, pid, exp["id"], prompt_override="[slow] dance")
    pids_file = (
        dance_env["home"] / "projects" / pid / "jobs" / job["job_id"] / "output" / "pids.txt"
    )
    url = f"{BASE}/projects/{pid}/steadydancer/jobs/{job['job_id']}"
    deadline = time.monotonic() + 90
    while not pids_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    pids = [int(p) for p in pids_file.read_text().split()]
    assert not any(_gone(p) for p in pids)
    status = wait_state(api, url, states=("STARTED",))
    assert status["stage"] in ("loading model", "sampling", "starting")
    assert api.post(f"{url}/cancel").json()["state"] in ("STARTED", "REVOKED")
    status = wait_state(api, url)
    assert status["state"] == "REVOKED" and status["result"]["success"] is False
    deadline = time.monotonic() + 10
    while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(p) for p in pids), "the generator or its helper survived the cancel"


def test_jobs_from_a_pair_folder_and_the_low_level_queue(api, dance_env, start_worker):
    start_worker()
    pid, exp = _setup(api)
    ready = wait_ready(api, pid, exp["id"])
    assert ready["preprocess"]["state"] == "SUCCESS"
    shutil.copytree(ready["input_dir"], dance_env["root"] / "pairs" / "example")
    created = api.post(
        f"{BASE}/projects/{pid}/steadydancer/jobs",
        json={
            "input_dir": "pairs/example",
            "frame_num": 9,
            "size": "256*256",
            "sample_guide_scale": 4.0,
        },
    ).json()
    task = api.post(
        f"{BASE}/steadydancer/jobs",
        json={
            "input_dir": str(dance_env["root"] / "pairs" / "example"),
            "frame_num": 5,
            "base_seed": 11,
        },
    ).json()
    assert set(task) == {"task_id"}
    status = wait_state(api, f"{BASE}/projects/{pid}/steadydancer/jobs/{created['job_id']}")
    assert status["state"] == "SUCCESS" and "sample_guide_scale=4.0" in status["result"]["stdout"]
    job_input = dance_env["home"] / "projects" / pid / "jobs" / created["job_id"] / "input"
    assert (job_input / "positive" / "0008.jpg").is_file() and status["experiment_id"] is None
    low = wait_state(api, f"{BASE}/steadydancer/jobs/{task['task_id']}")
    assert low["state"] == "SUCCESS" and set(low) >= {"task_id", "state", "result"}
    assert low["result"]["success"] and "base_seed=11" in low["result"]["stdout"]
    assert Path(low["result"]["video_path"]).is_file()
    unknown = api.get(f"{BASE}/steadydancer/jobs/nope")  # Celery: a task it has not seen
    assert unknown.status_code == 200 and unknown.json()["state"] == "PENDING"


def test_a_preprocessing_failure_fails_the_waiting_job(api, dance_env, start_worker):
    start_worker()
    pid = api.post(f"{BASE}/projects", json={"name": "P"}).json()["id"]
    ref = api.post(
        f"{BASE}/projects/{pid}/refs",
        json={"name": "r", "source_image_path": "media/astronaut.png"},
    )
    motion = api.post(
        f"{BASE}/projects/{pid}/motions", json={"name": "m", "source_video_path": "media/empty.mp4"}
    )
    exp = api.post(
        f"{BASE}/projects/{pid}/experiments",
        json={
            "name": "e",
            "reference_id": ref.json()["id"],
            "motion_id": motion.json()["id"],
            "config": {"frame_num": 9, "size": "256*256"},
        },
    ).json()
    job = _job(api, pid, exp["id"])
    status = wait_state(api, f"{BASE}/projects/{pid}/steadydancer/jobs/{job['job_id']}")
    assert status["state"] == "FAILURE" and "preprocessing failed" in status["error"]
    assert "No person found in 9 of 9 frames" in status["error"]
    view = api.get(f"{BASE}/projects/{pid}/experiments/{exp['id']}").json()
    assert (
        view["preprocess"]["state"] == "FAILURE"
        and "No person found" in view["preprocess"]["error"]
    )


def test_wan_animate_runs_in_the_gpu_lane(api, dance_env, start_worker, monkeypatch, tmp_path):
    from jobs.settings import reset_settings
    from tests.dance.wan_tiny import save_tiny_wan_animate

    model = save_tiny_wan_animate(
        tmp_path / "models" / "Wan2.2-Animate-14B-Diffusers"
    )  # the default place
    monkeypatch.delenv("STEADYDANCER_DIR")
    reset_settings()
    start_worker()
    info = api.get(f"{BASE}/models/info").json()
    assert info["default_backend"] == "wan-animate" and info["backends"]["wan-animate"][
        "model"
    ] == str(model)
    pid, exp = _setup(api, size="32*32", pose_fit="exact", sample_steps=2, sample_guide_scale=1.0)
    job = _job(api, pid, exp["id"])
    status = wait_state(
        api, f"{BASE}/projects/{pid}/steadydancer/jobs/{job['job_id']}", timeout=180
    )
    assert status["state"] == "SUCCESS", status
    assert status["backend"] == "wan-animate" and status["job_type"] == "wan_animate_i2v"
    assert status["result"]["wan_animate"]["frames"] == 9 and status["result"]["return_code"] == 0
    from pipelines.dance.video import check_video

    video = check_video(status["result"]["video_path"])
    assert (video.frames, video.width, video.height) == (9, 32, 32)
    task = json.loads((dance_env["home"] / "jobs" / status["task_id"] / "status.json").read_text())
    assert task["lane"] == "gpu" and task["kind"] == "dance.generate"
