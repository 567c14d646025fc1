"""Video edits by the seed's ``job_id`` over REST: listing (newest first, each user
their own), deleting (an ended edit, its files and its ids), the kept intermediates
and the log as downloads."""

from __future__ import annotations

import time

import pytest

from tests.video_edit.app.conftest import FAST


def body(root, job_id, **changes):
    return {
        "job_id": job_id,
        "input_video_path": str(root / "person.mp4"),
        "mask_prompt": "person",
        "edit_prompt": "make the person red",
        "params": {**FAST, "max_frames": 3},
        **changes,
    }


def test_list_is_each_users_own_newest_first_and_delete_needs_an_ended_edit(
    client, allowed_root, studio_models, monkeypatch
):
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_API_TOKENS", "ta:alice,tb:bob")
    reset_settings()
    alice, bob = {"Authorization": "Bearer ta"}, {"Authorization": "Bearer tb"}
    for job_id, who in (("a1", alice), ("b1", bob), ("a2", alice)):
        r = client.post("/api/v1/video/edit", json=body(allowed_root, job_id), headers=who)
        assert r.status_code == 201, r.text
        time.sleep(0.01)
    mine = client.get("/api/v1/video/edit", headers=alice).json()
    assert [e["job_id"] for e in mine] == ["a2", "a1"]
    assert mine[0]["status"] == "queued" and mine[0]["logs_url"] == "/api/v1/video/edit/a2/log"
    assert [e["job_id"] for e in client.get("/api/v1/video/edit", headers=bob).json()] == ["b1"]
    page = client.get("/api/v1/video/edit", params={"limit": 1, "offset": 1}, headers=alice)
    assert [e["job_id"] for e in page.json()] == ["a1"]
    assert client.get("/api/v1/video/edit", params={"limit": 0}, headers=alice).status_code == 422

    busy = client.delete("/api/v1/video/edit/a1", headers=alice)
    assert busy.status_code == 409 and "cancel it" in busy.json()["detail"]
    theirs = client.delete("/api/v1/video/edit/a1", headers=bob)
    assert theirs.status_code == 404  # another user's edit: as if missing
    assert client.post("/api/v1/video/edit/a1/cancel", headers=alice).status_code == 200
    gone = client.delete("/api/v1/video/edit/a1", headers=alice)
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert client.get("/api/v1/video/edit/a1", headers=alice).status_code == 404
    assert [e["job_id"] for e in client.get("/api/v1/video/edit", headers=alice).json()] == ["a2"]
    # the id is free again
    r = client.post("/api/v1/video/edit", json=body(allowed_root, "a1"), headers=alice)
    assert r.status_code == 201


@pytest.mark.slow
def test_kept_intermediates_and_log_download_then_delete_leaves_other_files(
    client, allowed_root, studio_models, start_worker, tmp_path, monkeypatch
):
    from jobs import store
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_OUTPUT_ROOTS", str(tmp_path / "results"))
    reset_settings()
    out = tmp_path / "results" / "shared"
    out.mkdir(parents=True)
    (out / "notes.txt").write_text("not the edit's")
    start_worker()
    params = {**FAST, "max_frames": 3, "keep_intermediates": True}
    r = client.post(
        "/api/v1/video/edit",
        json=body(allowed_root, "keep1", output_dir=str(out), params=params),
    )
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 120
    while (status := client.get("/api/v1/video/edit/keep1").json())["studio_status"] not in (
        "succeeded",
        "failed",
    ):
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["status"] == "finished", status
    log = client.get(status["logs_url"])
    assert log.status_code == 200 and "[finished]" in log.text and "kept the raw masks" in log.text
    masks = client.get("/api/v1/video/edit/keep1/masks")
    assert masks.status_code == 200 and masks.headers["content-type"] == "application/zip"
    frames = client.get("/api/v1/video/edit/keep1/edited_frames")
    assert frames.status_code == 200 and len(frames.content) > 1000
    assert client.get(status["output_video_url"]).status_code == 200

    assert client.delete("/api/v1/video/edit/keep1").status_code == 200
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # only the edit's files went
    assert store.find_job(r.json()["studio_job_id"]) is None
