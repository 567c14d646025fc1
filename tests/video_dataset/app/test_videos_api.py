"""The preprocessing REST API's checks and answers, without a worker: bad
options and inputs are refused before anything is reserved, names are unique
across photo and video datasets, the API key is handed over out of band."""

from __future__ import annotations

import json
import stat

import pytest

from jobs import datasets, store
from jobs.access import SYSTEM

SECRET = "sk-api-test-7d1e"


@pytest.mark.parametrize(
    "options, words",
    [
        ({"preset": "sora"}, "preset"),
        ({"preset": "custom"}, "frame rate"),
        ({"split": "fixed"}, "clip length"),
        ({"frame_policy": "crop"}, "frame_policy"),
        ({"caption_method": "poem"}, "caption_method"),
        ({"caption_provider": "api"}, "base URL"),
        ({"caption_provider": "api", "api_base_url": "http://x/v1"}, "model"),
        ({"prefix": "a\x00b"}, "prefix"),
        ({"trigger": "x" * 101}, "trigger"),
        ({"api_models": ["m" * 501]}, "api_models"),
        ({"caption_frames": 40}, "caption_frames"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_options_are_refused_and_reserve_nothing(client, allowed_root, options, words):
    r = client.post(
        "/api/v1/preprocessing/start",
        json={"dataset_name": "bad_opts", "input_path": str(allowed_root), "options": options},
    )
    assert r.status_code == 422
    assert words.lower() in json.dumps(r.json()["detail"]).lower()
    assert client.get("/api/v1/preprocessing/check/bad_opts").json()["exists"] is False


def test_bad_inputs_and_names(client, allowed_root, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    cases = [
        ({"dataset_name": "a", "input_path": str(outside)}, "outside the allowed server folders"),
        ({"dataset_name": "a", "input_path": str(allowed_root / "missing")}, "does not exist"),
        ({"dataset_name": "a"}, "input_path"),
        ({"dataset_name": "../etc", "input_path": str(allowed_root)}, "dataset_name"),
        ({"dataset_name": "x" * 1_000_000, "input_path": str(allowed_root)}, "dataset_name"),
        ({"dataset_name": "a\x00b", "input_path": str(allowed_root)}, "dataset_name"),
        ({"dataset_name": "a", "input_path": "/tmp/a\x00b"}, "input_path"),
    ]
    for body, words in cases:
        r = client.post("/api/v1/preprocessing/start", json=body)
        assert r.status_code == 422 and words in json.dumps(r.json()["detail"]), (
            body["dataset_name"][:20],
            r.text[:300],
        )
    assert client.get("/api/v1/preprocessing/check/..%2Fetc").status_code in (404, 422)
    listed = client.get("/api/v1/preprocessing/datasets").json()
    assert listed["data"] == {"total": 0, "datasets": []} and listed["total"] == 0
    r = client.post(
        "/api/v1/preprocessing/upload",
        data={"dataset_name": "u", "options": "{not json"},
        files=[("files", ("a.mp4", b"x", "video/mp4"))],
    )
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]
    r = client.post(
        "/api/v1/preprocessing/upload",
        data={"dataset_name": "u", "options": '{"fps": -1}'},
        files=[("files", ("a.mp4", b"x", "video/mp4"))],
    )
    assert r.status_code == 422 and "fps" in r.json()["detail"]


def test_seed_fields_duplicate_names_status_and_the_key_handoff(
    client, allowed_root, studio_home, clips
):
    (allowed_root / "v").mkdir()
    body = {
        "dataset_name": "seed_style",
        "video_directory": str(allowed_root / "v"),
        "caption_method": "extra",
        "use_qwen_optimize": True,
        "options": {
            "caption_provider": "api",
            "api_base_url": "http://127.0.0.1:9/v1",
            "api_key": SECRET,
            "api_models": ["qwen-vl-max", "qwen-plus"],
        },
    }
    r = client.post("/api/v1/preprocessing/start", json=body)
    assert r.status_code == 201, r.text
    task = r.json()["task_id"]
    job = store.get_job(task)
    assert (
        job["params"]["options"]["caption_method"] == "extra"
        and job["params"]["options"]["rewrite"] is True
    )
    assert job["params"]["input_path"] == str((allowed_root / "v").resolve())
    # the key: a 0600 file named by a reference; nowhere in the record, status.json or the dataset's meta
    ref = job["params"]["api_key_ref"]
    key_file = studio_home / "secrets" / ref
    assert key_file.read_text() == SECRET and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # status.json appears at the job's end (or a record change such as a cancel): the
    # mirror the studio will write for this record
    store.write_status_file(job)
    for text in (
        json.dumps(job),
        (store.job_dir(task) / "status.json").read_text(),
        (store.job_dir(task) / "log.txt").read_text(),
        json.dumps(datasets.get("seed_style", SYSTEM, owner="anonymous")),
        r.text,
        client.get(f"/api/v1/preprocessing/status/{task}").text,
        client.get("/api/v1/preprocessing/datasets/seed_style").text,
        (studio_home / "studio.db").read_bytes().decode("latin-1"),
    ):
        assert SECRET not in text

    assert client.post("/api/v1/preprocessing/start", json=body).status_code == 409
    st = client.get(f"/api/v1/preprocessing/status/{task}").json()
    assert st["status"] == "pending" and st["job_status"] == "queued" and st["result"] is None
    assert (
        st["data"]["preprocessing_id"] == task and st["data"]["progress"]["progress_percent"] == 0
    )
    listed = client.get("/api/v1/preprocessing/datasets").json()["datasets"]
    assert [(d["name"], d["status"], d["clips"], d["total_duration"]) for d in listed] == [
        ("seed_style", "pending", 0, 0)
    ]
    assert "api_key" not in listed[0]["options"]
    r = client.get("/api/v1/preprocessing/datasets/seed_style/download")
    assert r.status_code == 404 and "no ZIP yet" in r.json()["detail"]
    assert client.get("/api/v1/preprocessing/status/nope").status_code == 404
    assert client.get("/api/v1/preprocessing/datasets/nope").status_code == 404


def test_names_are_shared_with_photo_datasets(client, allowed_root):
    datasets.reserve("portraits", "photos", "anonymous")  # the caller's own photo dataset
    r = client.post(
        "/api/v1/preprocessing/start",
        json={"dataset_name": "portraits", "input_path": str(allowed_root)},
    )
    assert r.status_code == 409
    assert client.get("/api/v1/preprocessing/check/portraits").json()["exists"] is True
    assert (
        client.get("/api/v1/preprocessing/datasets/portraits").status_code == 404
    )  # a photo dataset
    assert client.get("/api/v1/preprocessing/datasets").json()["total"] == 0


def test_upload_of_videos_and_a_zip_goes_into_the_jobs_inputs(client, clips, tmp_path):
    import zipfile

    z = tmp_path / "batch.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(clips["fps25"], "in/fps25.mov")
    files = [
        ("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in (clips["fps30"], z)
    ]
    files.append(
        ("files", (clips["fps30"].name, clips["fps30"].read_bytes(), "video/mp4"))
    )  # same name twice
    r = client.post("/api/v1/preprocessing/upload", data={"dataset_name": "uploaded"}, files=files)
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "video_dataset.build"
    inputs = store.job_dir(r.json()["task_id"]) / "inputs"
    assert sorted(p.name for p in inputs.iterdir()) == ["batch.zip", "fps30-2.mp4", "fps30.mp4"]


def test_delete_a_video_dataset_but_not_a_photo_one_or_a_running_one(client, allowed_root):
    datasets.reserve("portraits", "photos", "anonymous")
    assert (
        client.delete("/api/v1/preprocessing/datasets/portraits").status_code == 404
    )  # not a video dataset
    started = client.post(
        "/api/v1/preprocessing/start",
        json={"dataset_name": "clips_a", "input_path": str(allowed_root)},
    )
    assert started.status_code == 201
    busy = client.delete("/api/v1/preprocessing/datasets/clips_a")
    assert (
        busy.status_code == 409 and "cancel the job first" in busy.json()["detail"]
    )  # queued: no worker here
    client.post(f"/api/v1/jobs/{started.json()['task_id']}/cancel")
    assert client.delete("/api/v1/preprocessing/datasets/clips_a").status_code == 204
    assert client.get("/api/v1/preprocessing/check/clips_a").json()["exists"] is False
    assert client.delete("/api/v1/preprocessing/datasets/clips_a").status_code == 404
