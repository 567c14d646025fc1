"""Frame review job kinds on a real worker: analysis of server files (copied
into the media folder, outliving the job), per-video failures, re-detection
for several recordings from stored metrics, export and QR jobs."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from jobs import queue, store
from jobs.access import SYSTEM, User
from jobs.tools.frames import records as fr
from jobs.tools.frames import tasks as fr_tasks
from jobs.tools.frames import viewer
from studio.tabs.frames import upload
from tests.conftest import wait_job

ANA = User("ana")


def _analyse(path: Path, owner: str = "ana") -> tuple[fr.Video, dict]:
    video = fr.create_video(path.name, owner, source_path=path)
    job = queue.submit("frames.analyze", {"video_id": video.id}, owner=owner)
    fr.set_job(video.id, job["id"])
    return video, job


@pytest.fixture
def allowed_recordings(recordings, monkeypatch):
    """The recordings' folder is an allowed server folder (the job checks the path again)."""
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(Path(recordings["good"].path).parent))
    reset_settings()
    return recordings


def test_server_files_are_analysed_into_the_media_folder_and_a_bad_one_fails_alone(
    start_worker, studio_home, allowed_recordings
):
    recordings = allowed_recordings
    good, other = Path(recordings["good"].path), Path(recordings["other"].path)
    runs = [_analyse(p) for p in (good, recordings["truncated"], other)]
    # The tab's table refreshes itself while a recording waits (a tick, or a page opening).
    ana = SimpleNamespace(username="ana")
    assert upload.videos_table(ana)[1].active
    start_worker()
    jobs = [wait_job(job["id"]) for _, job in runs]
    # Nothing in the works: the next tick stops the refresh (a page's load answer never
    # does: tests/test_page_load.py).
    table, tick = upload.videos_table(ana)
    assert list(table["status"]) == ["completed", "failed", "completed"][::-1]
    assert tick.active is False
    assert [j["status"] for j in jobs] == ["succeeded", "failed", "succeeded"], [
        j["error"] for j in jobs
    ]
    assert "truncated.mp4" in jobs[1]["error"]

    videos = [fr.get_video(v.id, ANA) for v, _ in runs]
    assert videos[1].status == "failed" and videos[1].error == jobs[1]["error"]
    truth = recordings["good"]
    v = videos[0]
    assert v.status == "completed" and v.review_status == "pending"
    assert abs(v.first_frame - truth.first_index) <= 1 and abs(v.last_frame - truth.last_index) <= 1
    assert v.first_time == pytest.approx(truth.times[v.first_frame], abs=1e-6)  # times from pts
    assert jobs[0]["outputs"]["first"]["index"] == v.first_frame

    # The recording and its analysis live in media/frames/<id>/, not in the job's folder.
    folder = studio_home / "media" / "frames" / v.id
    assert Path(v.path).parent == folder and Path(v.path).read_bytes() == good.read_bytes()
    assert {"metrics.npz", "analysis.json", "thumbs"} <= {p.name for p in folder.iterdir()}
    shutil.rmtree(store.job_dir(jobs[0]["id"]))
    assert viewer.frame_image(v, v.first_frame, 200).size[1] == 200
    assert [p.id for p in fr.list_pending(ANA)] == [
        x.id for x in sorted([videos[0], videos[2]], key=lambda x: (x.ai_confidence, x.created_at))
    ]
    assert fr.list_pending(User("bob")) == []


def test_detect_export_and_qr_jobs(start_worker, studio_home, allowed_recordings):
    recordings = allowed_recordings
    start_worker()
    runs = [_analyse(Path(recordings[k].path)) for k in ("good", "other")]
    for _, job in runs:
        assert wait_job(job["id"])["status"] == "succeeded"
    ids = [v.id for v, _ in runs]
    fr.mark(
        ids[0], ANA, first_frame=recordings["good"].first_index, notes="checked", reviewer="mei"
    )

    # One re-detection job for a whole task; a person's marks are kept, the detector's follow.
    task = fr_tasks.create_task("regression", ANA)
    fr_tasks.add_videos(task.id, ANA, ids)
    rect = {"x": 0.0, "y": 0.9, "w": 0.5, "h": 0.1}
    job = wait_job(queue.submit("frames.detect", {"video_ids": ids, "exclusions": [rect]})["id"])
    assert job["status"] == "succeeded", job["error"]
    assert set(job["outputs"]["videos"]) == set(ids) and not job["outputs"]["errors"]
    reviewed, auto = fr.get_video(ids[0], SYSTEM), fr.get_video(ids[1], SYSTEM)
    assert reviewed.exclusions == [rect] and auto.exclusions == [rect]
    assert reviewed.marking_method == "hybrid" and auto.marking_method == "algorithm"
    assert reviewed.detection["exclusions"] == [rect]

    job = wait_job(queue.submit("frames.export", {"task_id": task.id, "format": "csv"})["id"])
    assert job["status"] == "succeeded", job["error"]
    text = store.output_path(job["id"], job["outputs"]["file"]).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["video_id"] for r in rows] == ids
    assert (
        rows[0]["reviewer"] == "mei"
        and rows[0]["notes"] == "checked"
        and rows[1]["status"] == "completed"
    )
    assert float(rows[1]["duration_ms"]) == pytest.approx(auto.latency_ms, abs=0.01)

    job = wait_job(queue.submit("frames.qr", {"mode": "artistic", "words": "hi"})["id"])
    assert job["status"] == "failed" and "background picture" in job["error"]
    job = wait_job(queue.submit("frames.qr", {"mode": "simple", "words": "hi", "level": "Z"})["id"])
    assert job["status"] == "failed" and "L, M, Q, H" in job["error"]
