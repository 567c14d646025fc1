"""Video datasets end to end: the REST API, a real worker process, FFmpeg, the
fake OpenAI-compatible server for captions and the rewrite, a tiny real BLIP
through the GPU lane."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from jobs import store
from pipelines.video_dataset.captioning import REWRITE_INSTRUCTION
from pipelines.video_dataset.dataset import clip_numbers
from tests.caption_fakes import FakeChatServer
from tests.conftest import wait_job

SECRET = "sk-test-SECRET-9f3c1a"


def _reply(model, messages):
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    if system == REWRITE_INSTRUCTION:
        return f"REWRITTEN[{messages[-1]['content']}]"
    return "a colourful test pattern with a moving clock"


def copy_into(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, folder / f.name)
    return folder


def _files_text(root) -> str:
    """Every byte under ``root`` but media (databases, logs, status.json, metas)."""
    out = []
    for p in root.rglob("*"):
        if p.is_file() and p.suffix not in (".mp4", ".mov", ".mkv", ".zip", ".jpg"):
            out.append(p.read_bytes().decode("latin-1"))
    return "\n".join(out)


def test_folder_to_16_fps_dataset_with_api_captions_rewrite_and_409(
    client, start_worker, studio_home, allowed_root, clips
):
    folder = copy_into(
        allowed_root / "shoot",
        [clips[k] for k in ("fps25", "fps30", "fps60", "vfr", "audio", "corrupt")],
    )
    start_worker()
    assert client.get("/api/v1/preprocessing/check/dance_v1").json()["data"] == {
        "dataset_name": "dance_v1",
        "exists": False,
    }
    with FakeChatServer(reply=_reply) as server:
        body = {
            "dataset_name": "dance_v1",
            "input_path": str(folder),
            "options": {
                "preset": "wan",
                "caption_provider": "api",
                "api_base_url": server.base_url,
                "api_key": SECRET,
                "api_models": ["qwen-vl-max"],
                "rewrite": True,
                "prefix": "A high quality video, ",
            },
        }
        r = client.post("/api/v1/preprocessing/start", json=body)
        assert r.status_code == 201, r.text
        task = r.json()["task_id"]
        assert r.json()["lane"] == "cpu"
        # the name is taken at once: 409 while the job runs ...
        again = client.post("/api/v1/preprocessing/start", json=body)
        assert again.status_code == 409 and "already exists" in again.json()["detail"]
        assert client.get("/api/v1/preprocessing/check/dance_v1").json()["exists"] is True

        seen_running = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            st = client.get(f"/api/v1/preprocessing/status/{task}").json()
            if (
                st["status"] == "running"
                and st["progress"]["current_file"]
                and seen_running is None
            ):
                seen_running = st
            if st["status"] in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.2)
        assert st["status"] == "completed" and st["job_status"] == "succeeded", st
        assert server.requests and all(r_["auth"] == f"Bearer {SECRET}" for r_ in server.requests)

    # ... and after it
    assert client.post("/api/v1/preprocessing/start", json=body).status_code == 409
    assert seen_running is not None
    assert {"percent", "current_file", "step", "eta_s"} <= set(seen_running["progress"])
    assert st["progress"]["percent"] == 100.0 and st["error"] is None
    assert {"task_id", "dataset_name", "status", "progress", "message", "error", "result"} <= set(
        st
    )

    result = st["result"]
    out = studio_home / "datasets" / "anonymous" / "dance_v1"
    assert [c["source"] for c in result["clips"]] == [
        "fps25.mov",
        "fps30.mp4",
        "fps60.mkv",
        "phone_vfr.mp4",
        "with_audio.mp4",
    ]
    assert [s["file"] for s in result["skipped"]] == ["corrupt.mp4"]
    expected = {
        "fps25.mov": 2.0,
        "fps30.mp4": 3.0,
        "fps60.mkv": 2.0,
        "phone_vfr.mp4": 3.0,
        "with_audio.mp4": 2.0,
    }
    for c in result["clips"]:
        assert c["fps"] == 16.0
        assert abs(c["duration"] - expected[c["source"]]) < 0.15, c
        assert abs(c["frames"] - round(16 * expected[c["source"]])) <= 1, c
        text = (out / f"{c['number']}.txt").read_text().strip()
        assert text == c["caption"]
        assert text.startswith("A high quality video, REWRITTEN[a colourful test pattern")
    vfr = next(c for c in result["clips"] if c["source"] == "phone_vfr.mp4")
    assert any("variable frame rate" in w for w in vfr["warnings"])
    assert clip_numbers(out) == [1, 2, 3, 4, 5]
    assert not [
        p for p in out.iterdir() if p.name.startswith(".video-dataset-work")
    ]  # temporary files gone

    # list and one dataset
    listing = client.get("/api/v1/preprocessing/datasets").json()
    assert listing["total"] == 1
    item = listing["datasets"][0]
    assert (item["name"], item["clips"], item["captions"], item["status"]) == (
        "dance_v1",
        5,
        5,
        "completed",
    )
    assert abs(item["total_duration"] - 12.0) < 0.5
    one = client.get("/api/v1/preprocessing/datasets/dance_v1").json()
    assert [c["file"] for c in one["clips"]] == [f"{n}.mp4" for n in range(1, 6)]
    assert one["clips"][0]["caption"].startswith("A high quality video, ")
    assert one["skipped"][0]["file"] == "corrupt.mp4" and "dataset.toml" in one["files"]
    z = client.get("/api/v1/preprocessing/datasets/dance_v1/download")
    assert z.status_code == 200 and z.content[:2] == b"PK"

    # the API key is nowhere: params, records, queue, status.json, logs, metas; its handoff file is gone
    job = store.get_job(task)
    assert "api_key" not in json.dumps(job["params"]["options"])
    assert SECRET not in _files_text(studio_home.parent)  # + the worker's own log
    assert not list((studio_home / "secrets").iterdir())
    assert SECRET not in json.dumps(one) and SECRET not in json.dumps(st)


def test_cancel_keeps_finished_clips(client, start_worker, studio_home, allowed_root, clips):
    src = clips["fps30"]
    folder = allowed_root / "many"
    folder.mkdir()
    for i in range(10):
        shutil.copy(src, folder / f"take{i:02d}.mp4")
    start_worker()
    r = client.post(
        "/api/v1/preprocessing/start", json={"dataset_name": "to_cancel", "input_path": str(folder)}
    )
    assert r.status_code == 201, r.text
    task = r.json()["task_id"]
    out = studio_home / "datasets" / "anonymous" / "to_cancel"
    deadline = time.monotonic() + 60
    while not clip_numbers(out) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.post(f"/api/v1/jobs/{task}/cancel").status_code == 200
    job = wait_job(task)
    assert job["status"] == "cancelled"
    kept = clip_numbers(out)
    assert 1 <= len(kept) < 10
    for n in kept:  # every kept clip has its caption
        assert (out / f"{n}.txt").read_text().startswith("A high quality video")
    assert not [p for p in out.iterdir() if p.name.startswith(".video-dataset-work")]
    assert "outputs/to_cancel.zip" in job["outputs"]["files"]
    info = client.get("/api/v1/preprocessing/datasets/to_cancel").json()
    assert info["status"] == "cancelled" and info["clip_count"] == len(kept) == len(info["clips"])
    assert client.get("/api/v1/preprocessing/datasets/to_cancel/download").status_code == 200


@pytest.fixture(scope="module")
def tiny_blip(tiny_blips):
    return tiny_blips("person")


def test_upload_with_local_captions_runs_in_the_gpu_lane(
    client, start_worker, studio_home, clips, tiny_blip, monkeypatch
):
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_MODELS_DIR", str(tiny_blip.parent))  # models: the one model rule
    reset_settings()
    start_worker()
    options = {
        "caption_provider": "local",
        "local_model": str(tiny_blip),
        "device": "cpu",
        "max_new_tokens": 8,
        "prefix": "a short clip",
        "trigger": "ohwx",
        "caption_frames": 2,
    }
    files = [
        ("files", (p.name, p.read_bytes(), "video/mp4")) for p in (clips["fps30"], clips["fps25"])
    ]
    r = client.post(
        "/api/v1/preprocessing/upload",
        data={"dataset_name": "local_caps", "options": json.dumps(options)},
        files=files,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["lane"]) == ("video_dataset.build_gpu", "gpu")
    job = wait_job(r.json()["task_id"], timeout=120)
    assert job["status"] == "succeeded", job["error"]
    captions = [c["caption"] for c in job["outputs"]["clips"]]
    assert len(captions) == 2
    assert all(c.startswith("ohwx, a short clip, ") and "person" in c for c in captions), captions
    assert not any("failed" in w for w in job["outputs"]["warnings"])
    assert not list((store.job_dir(job["id"]) / "inputs").glob("*.txt"))
