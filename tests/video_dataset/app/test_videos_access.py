"""Issue 9 for video datasets: each user reaches only their own datasets and tasks
(alice, bob, an admin), a link inside an allowed folder that leads outside is
left out with the reason, and a truncated H.264 file is reported as a bad clip."""

from __future__ import annotations

import shutil

import pytest

from jobs.settings import reset_settings
from tests.conftest import wait_job

ALICE, BOB, ROOT = ({"Authorization": f"Bearer {t}"} for t in ("tok-alice", "tok-bob", "tok-root"))


@pytest.fixture
def users(monkeypatch, allowed_root):
    monkeypatch.setenv("STUDIO_API_TOKENS", "tok-alice:alice,tok-bob:bob,tok-root:root")
    monkeypatch.setenv("STUDIO_ADMINS", "root")
    reset_settings()


def test_each_user_sees_and_changes_only_their_own_video_datasets(client, users, allowed_root):
    r = client.post(
        "/api/v1/preprocessing/start",
        headers=ALICE,
        json={"dataset_name": "alice_clips", "input_path": str(allowed_root)},
    )
    assert r.status_code == 201, r.text
    task = r.json()["data"]["preprocessing_id"]
    base = "/api/v1/preprocessing"
    for path in (f"/status/{task}", "/datasets/alice_clips", "/datasets/alice_clips/download"):
        assert client.get(base + path, headers=BOB).status_code == 404, path
    # another user's task answers word for word like a missing one (store.job_for)
    other = client.get(f"{base}/status/{task}", headers=BOB).json()["detail"]
    missing = client.get(f"{base}/status/{'0' * len(task)}", headers=BOB).json()["detail"]
    assert other.replace(task, "ID") == missing.replace("0" * len(task), "ID")
    assert "video dataset task" in other
    assert client.delete(f"{base}/datasets/alice_clips", headers=BOB).status_code == 404
    assert client.get(f"{base}/datasets", headers=BOB).json()["total"] == 0
    assert client.get(f"{base}/datasets", headers=ALICE).json()["total"] == 1
    assert client.get(f"{base}/status/{task}", headers=ALICE).status_code == 200
    # an admin names the owner of another user's dataset
    assert client.get(f"{base}/datasets/alice_clips?owner=alice", headers=ROOT).status_code == 200
    assert client.get(f"{base}/datasets/alice_clips", headers=ROOT).status_code == 404
    assert client.get(f"{base}/datasets/alice_clips?owner=alice", headers=BOB).status_code == 404
    assert client.get(f"{base}/datasets?owner=bob", headers=ROOT).json()["total"] == 0
    assert client.get(f"{base}/datasets", headers=ROOT).json()["total"] == 1
    # names are per owner: for bob the name is free, and he may have his own alice_clips
    assert client.get(f"{base}/check/alice_clips", headers=BOB).json()["exists"] is False
    assert client.get(f"{base}/check/alice_clips", headers=ALICE).json()["exists"] is True
    assert (
        client.post(
            f"{base}/start",
            headers=BOB,
            json={"dataset_name": "alice_clips", "input_path": str(allowed_root)},
        ).status_code
        == 201
    )
    assert client.get(f"{base}/datasets", headers={}).status_code == 401


def test_a_folder_outside_the_allowed_roots_names_the_setting(client, tmp_path, allowed_root):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    r = client.post(
        "/api/v1/preprocessing/start", json={"dataset_name": "far", "video_directory": str(outside)}
    )
    assert r.status_code == 422 and "STUDIO_ALLOWED_ROOTS" in r.json()["detail"]


@pytest.mark.slow
def test_a_link_leading_outside_is_left_out_and_a_truncated_file_is_a_bad_clip(
    client, start_worker, allowed_root, tmp_path, clips
):
    from tests.video_dataset.video_media import make_faststart

    folder = allowed_root / "shoot"
    folder.mkdir()
    shutil.copy(clips["fps25"], folder / "good.mov")
    secret = tmp_path / "private"
    secret.mkdir()
    shutil.copy(clips["fps30"], secret / "secret.mp4")
    (folder / "link.mp4").symlink_to(secret / "secret.mp4")
    whole = make_faststart(tmp_path / "whole.mp4", 30, 4.0)
    data = whole.read_bytes()
    (folder / "truncated.mp4").write_bytes(
        data[: len(data) * 6 // 10]
    )  # index intact, frames cut off
    start_worker()
    r = client.post(
        "/api/v1/preprocessing/start", json={"dataset_name": "linked", "input_path": str(folder)}
    )
    assert r.status_code == 201, r.text
    job = wait_job(r.json()["task_id"], timeout=120)
    assert job["status"] == "succeeded", job["error"]
    out = job["outputs"]
    assert [c["source"] for c in out["clips"]] == ["good.mov"]
    reasons = {s["file"]: s["reason"] for s in out["skipped"]}
    assert "outside the allowed server folders" in reasons["link.mp4"]
    assert "bad clip" in reasons["truncated.mp4"] and "frames missing" in reasons["truncated.mp4"]
    assert [b["file"] for b in out["bad_clips"]] == ["truncated.mp4"]
    log = (job_dir := __import__("jobs.store", fromlist=["job_dir"]).job_dir(job["id"])) / "log.txt"
    assert "truncated.mp4" in log.read_text() and job_dir.is_dir()


def test_a_refused_build_leaves_no_dataset_behind(studio_home, allowed_root, monkeypatch):
    """A submission refused by the job limit (429) rolls its reservation back
    (queue.submit_reserved): the name is free again, no folder is left."""
    from jobs import datasets, queue
    from jobs.access import user_named
    from jobs.tools import video_dataset as videos
    from pipelines.errors import TooManyJobs

    monkeypatch.setenv("STUDIO_API_TOKENS", "tok-bob:bob")
    monkeypatch.setenv("STUDIO_MAX_JOBS_PER_USER", "1")
    reset_settings()
    bob = user_named("bob")
    busy = queue.submit("system.sleep", {"seconds": 1}, owner="bob")
    with pytest.raises(TooManyJobs):
        videos.submit_videos("clips", None, bob, input_path=str(allowed_root))
    assert datasets.record("clips", "bob") is None
    assert not datasets.folder("clips", "bob").exists()
    queue.cancel(busy["id"])
    assert (
        videos.submit_videos("clips", None, bob, input_path=str(allowed_root))["status"] == "queued"
    )
