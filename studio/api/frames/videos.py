"""Frame review REST: recordings (seed 001 ``/video``): upload one or many, add
from a server folder, list, status, progress, cancel, delete, exclusions.

A request only saves files, writes records and submits jobs; probing and
decoding happen in the ``frames.analyze`` job, so a broken file fails its own job.
"""

from __future__ import annotations

import shutil
import threading

from fastapi import APIRouter, File, HTTPException, Request, UploadFile

from jobs import queue
from jobs.settings import get_settings
from jobs.tools.frames import records as fr
from jobs.tools.frames import submit
from pipelines.errors import BadInput
from studio.api.frames import schemas as s
from studio.api.frames.common import Caller, Limit, Skip, VideoId, base_url
from studio.api.frames.views import video_status
from studio.uploads import save_upload

router = APIRouter(tags=["video"])


_SLOTS: dict[int, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


def upload_slots() -> threading.BoundedSemaphore:
    """Recording uploads saved at once (MAX_CONCURRENT_UPLOADS, seed 001); the others wait."""
    size = get_settings().frames_max_concurrent_uploads
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(size, threading.BoundedSemaphore(size))


def _size_limit() -> tuple[int, str] | None:
    """MAX_VIDEO_SIZE (seed 001, bytes), named as the seed's .env names it."""
    size = get_settings().frames_max_video_size
    return (size, f"{size} bytes ({size / 2**20:.0f} MB, MAX_VIDEO_SIZE)") if size else None


def _upload_one(upload: UploadFile, user: Caller, batch_id: str | None = None) -> submit.Queued:
    """Save one recording under media/frames/<id>/ and queue its analysis. The name
    and size are checked here (a format it does not take: 400; too large: 413);
    whether it is a video is checked by the job (probing)."""
    fr.check_filename(upload.filename or "")
    video_id = fr.new_id()
    folder = fr.video_dir(video_id)
    with upload_slots():
        try:
            path = save_upload(upload, folder, _size_limit())
            return submit.add_saved_file(path, user, batch_id=batch_id, video_id=video_id)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise


@router.post(
    "/video/upload",
    response_model=s.VideoUploadResponse,
    summary="Upload one recording (.mp4, .mov, .webm, .mkv) and analyse it",
)
def upload_video(user: Caller, file: UploadFile = File(...)) -> s.VideoUploadResponse:
    return s.VideoUploadResponse(**_upload_one(file, user).to_dict())


@router.post(
    "/video/batch-upload",
    response_model=s.BatchUploadResponse,
    summary="Upload several recordings; one analysis job each",
)
def batch_upload(user: Caller, files: list[UploadFile] = File(...)) -> s.BatchUploadResponse:
    batch_id = fr.new_id()
    videos = []
    for upload in files:
        try:
            videos.append(_upload_one(upload, user, batch_id).to_dict())
        except (BadInput, HTTPException) as exc:  # one bad file does not stop the others
            videos.append(
                {
                    "video_id": None,
                    "task_id": None,
                    "filename": upload.filename,
                    "status": "failed",
                    "message": getattr(exc, "detail", None) or str(exc),
                }
            )
    ok = sum(v["status"] != "failed" for v in videos)
    return s.BatchUploadResponse(
        batch_id=batch_id,
        total_count=len(videos),
        accepted_count=ok,
        videos=[s.VideoUploadResponse(**v) for v in videos],
        message=f"{ok} of {len(videos)} recordings queued for analysis",
    )


@router.post(
    "/video/from-server",
    status_code=201,
    response_model=s.BatchUploadResponse,
    summary="Analyse recordings from a server folder (STUDIO_ALLOWED_ROOTS)",
)
def from_server(body: s.ServerFilesIn, user: Caller) -> s.BatchUploadResponse:
    batch_id = fr.new_id()
    queued, skipped = submit.add_server_recordings(body.path, user, batch_id)
    ok = sum(q.status != "failed" for q in queued)
    return s.BatchUploadResponse(
        batch_id=batch_id,
        total_count=len(queued),
        accepted_count=ok,
        videos=[s.VideoUploadResponse(**q.to_dict()) for q in queued],
        skipped=skipped,
        message=f"{ok} recordings queued for analysis"
        + (f"; {len(skipped)} left out" if skipped else ""),
    )


@router.get(
    "/video/list",
    response_model=list[s.VideoStatusResponse],
    summary="Your recordings, newest first",
)
def list_videos(
    request: Request,
    user: Caller,
    skip: Skip = 0,
    limit: Limit = 20,
    status: s.VideoStatus | None = None,
    batch_id: str | None = None,
    owner: str | None = None,
) -> list[s.VideoStatusResponse]:
    base = base_url(request)
    return [
        video_status(v, base)
        for v in fr.list_videos(
            user, status=status, skip=skip, limit=limit, batch_id=batch_id, owner=owner
        )
    ]


@router.get(
    "/video/{video_id}/status",
    response_model=s.VideoStatusResponse,
    summary="A recording's status, metadata and marks",
)
def get_status(video_id: VideoId, request: Request, user: Caller) -> s.VideoStatusResponse:
    return video_status(fr.get_video(video_id, user), base_url(request))


@router.get(
    "/video/{video_id}/progress",
    response_model=s.TaskProgress,
    summary="Progress of the recording's analysis",
)
def get_progress(video_id: VideoId, request: Request, user: Caller) -> s.TaskProgress:
    st = video_status(fr.get_video(video_id, user), base_url(request))
    return s.TaskProgress(
        **st.model_dump(
            include={
                "video_id",
                "task_id",
                "job_id",
                "status",
                "progress",
                "current_step",
                "error_message",
            }
        )
    )


@router.post(
    "/video/{video_id}/cancel",
    response_model=s.CancelTaskResponse,
    summary="Cancel the recording's analysis",
)
def cancel_video(video_id: VideoId, user: Caller) -> s.CancelTaskResponse:
    video = fr.get_video(video_id, user)
    if video.status not in ("uploading", "processing") or not video.job_id:
        raise fr.Conflict(
            f"Recording {video_id} is {video.status}; only a queued or running analysis "
            "can be cancelled."
        )
    job = queue.cancel(video.job_id, user)  # cancelled before it started: on_end says so
    return s.CancelTaskResponse(
        video_id=video_id,
        task_id=job["id"],
        status="cancelled",
        message="Cancelled" if job["status"] == "cancelled" else "Cancelling at the next step",
    )


@router.delete(
    "/video/{video_id}",
    response_model=s.Message,
    summary="Delete a recording, its analysis and marks",
)
def delete_video(video_id: VideoId, user: Caller) -> s.Message:
    fr.delete_video(video_id, user)
    return s.Message(message=f"Recording {video_id} deleted")


@router.put(
    "/video/{video_id}/exclusions",
    status_code=202,
    response_model=s.JobQueued,
    summary="Set exclusion rectangles and re-run the detection (stored metrics, no decoding)",
)
def set_video_exclusions(video_id: VideoId, body: s.ExclusionsIn, user: Caller) -> s.JobQueued:
    job = submit.submit_detect(
        [video_id], user, [e.model_dump() for e in body.exclusions], body.status_bar
    )
    return s.JobQueued(
        job_id=job["id"],
        video_ids=job["params"]["video_ids"],
        status=job["status"],
        message="Detection queued (from stored metrics)",
    )
