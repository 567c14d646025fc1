"""A recording whose analysis ended where the job body could not say so
(cancelled before it started, its worker lost) takes the end in its record
through ``frames.analyze``'s ``on_end`` hook; the status views only read."""

from __future__ import annotations

import time

from jobs import queue, recovery, store
from jobs.access import user_named
from jobs.tools.frames import records as fr
from jobs.tools.frames.submit import submit_analysis
from studio.api.frames.views import video_status


def _queued_recording(tmp_path):
    ana = user_named("ana")
    video = fr.create_video("clip.mp4", ana.name, path=tmp_path / "clip.mp4")
    queued = submit_analysis(video, ana)
    return fr.get_video(video.id, ana), queued.job_id


def test_a_cancel_before_the_start_is_in_the_record(studio_home, tmp_path):
    video, job_id = _queued_recording(tmp_path)
    assert video.status == "uploading"
    queue.cancel(job_id)  # the generic jobs cancel, not the recording's own route
    record = fr.get_video(video.id, user_named("ana"))
    assert record.status == "cancelled"
    assert record.error == "Cancelled before the analysis started."
    view = video_status(record, "")
    assert view.status == "cancelled" and view.error_message == record.error
    assert fr.get_video(video.id, user_named("ana")).updated_at == record.updated_at


def test_a_lost_worker_fails_the_recording(studio_home, tmp_path):
    video, job_id = _queued_recording(tmp_path)
    job = store.get_job(job_id)
    fr.update_video(video.id, user_named("ana"), status="processing", current_step="analysing")
    store.update_job(  # its worker (no such pid on this host) died in the last attempt
        job_id,
        status="running",
        worker=f"{recovery.worker_host()}:999999:cpu",
        attempts=job["max_attempts"],
        heartbeat_at=time.time() - 60,
    )
    recovery.requeue_orphans("me")
    record = fr.get_video(video.id, user_named("ana"))
    assert record.status == "failed" and "worker stopped" in (record.error or "")
    assert video_status(record, "").status == "failed"
