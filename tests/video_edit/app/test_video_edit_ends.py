"""A video edit's end where the pipeline cannot write it (cancelled before it
started, its worker lost) is written into its ``status.json`` by the kind's
``on_end`` hook, so the file, the seed's status query and the GET all tell it;
the GET only reads."""

from __future__ import annotations

import json
import time

from tests.video_edit.app.test_video_edit_api import body


def _status_file(home, studio_job_id):
    return json.loads((home / "jobs" / studio_job_id / "outputs" / "status.json").read_text())


def test_a_cancel_before_the_start_is_written_into_status_json(
    client, studio_home, allowed_root, studio_models
):
    from pipelines.video_edit.status import get_video_edit_status

    started = client.post("/api/v1/video/edit", json=body(allowed_root, job_id="early")).json()
    cancelled = client.post("/api/v1/video/edit/early/cancel").json()
    assert cancelled["status"] == "failed" and cancelled["error"] == "Cancelled by the user"
    assert cancelled["studio_status"] == "cancelled"
    written = _status_file(studio_home, started["studio_job_id"])
    assert written["status"] == "failed" and written["error"] == "Cancelled by the user"
    folder = studio_home / "jobs" / started["studio_job_id"] / "outputs"
    assert get_video_edit_status("early", folder).status == "failed"  # the seed's own query
    mtime = (folder / "status.json").stat().st_mtime_ns
    again = client.get("/api/v1/video/edit/early").json()
    assert {k: again[k] for k in ("status", "error")} == {
        "status": "failed",
        "error": "Cancelled by the user",
    }
    assert (folder / "status.json").stat().st_mtime_ns == mtime  # a GET never writes


def test_a_lost_worker_leaves_failed_in_the_edits_status_json(
    client, studio_home, allowed_root, studio_models
):
    from jobs import recovery, store
    from pipelines.video_edit.status import StatusFile, VideoEditStatus

    started = client.post("/api/v1/video/edit", json=body(allowed_root, job_id="lost")).json()
    job = store.get_job(started["studio_job_id"])
    folder = studio_home / "jobs" / job["id"] / "outputs"
    # the pipeline was editing when its worker (no such pid on this host) died, last attempt
    StatusFile(folder, VideoEditStatus(job_id="lost", status="editing", current_frame=3)).write()
    store.update_job(
        job["id"],
        status="running",
        worker=f"{recovery.worker_host()}:999999:gpu",
        attempts=job["max_attempts"],
        heartbeat_at=time.time() - 60,
    )
    recovery.requeue_orphans("me")
    written = _status_file(studio_home, job["id"])
    assert written["status"] == "failed" and "worker stopped" in written["error"]
    assert written["current_frame"] == 3  # what the pipeline wrote stays
    status = client.get("/api/v1/video/edit/lost").json()
    assert status["status"] == "failed" and status["studio_status"] == "failed"
    assert "worker stopped" in status["error"]
