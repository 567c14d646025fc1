"""Frame review REST API (seed 001): videos, tasks, review, QR codes.

Paths and field names follow seed 001 (``/video/upload``, ``/task/create``,
``/review/{video_id}/mark``, ``/qr/simple`` ...). A request only saves files,
writes records and submits jobs; probing and decoding a recording happen in the
``frames.analyze`` job. Two things are done in the request on purpose:

- one frame as JPEG (``/review/{id}/frame/{n}``): a bounded single-frame read,
  like serving a thumbnail (see ``jobs.tools.frames.records.frame_image``);
- ``GET /task/{id}/statistics`` and ``GET /task/{id}/export``: arithmetic and
  formatting of a task's DB rows (tens to hundreds of rows, no media).
  ``POST /task/{id}/export`` runs the same export as a ``frames.export`` job.

QR endpoints run a ``frames.qr`` job and, as in the seed, answer with the image
once it is done (``wait=false`` answers 202 with the job at once).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from jobs.tools.frames import records as fr
from jobs import queue, store
from jobs.inputs import InputError, server_path
from studio.auth import User, api_user, auth_enabled
from studio.uploads import save_upload

router = APIRouter()


def _errors(fn, *args, **kwargs):
    """Call a records function with the HTTP errors users expect."""
    try:
        return fn(*args, **kwargs)
    except fr.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except (fr.FrameInputError, InputError) as exc:
        raise HTTPException(422, str(exc)) from None
    except ValueError as exc:  # pipelines' FrameReviewError (bad exclusion, bad QR version ...)
        raise HTTPException(422, str(exc)) from None


# -- video views ---------------------------------------------------------------------

def _job(video: dict[str, Any]) -> dict[str, Any] | None:
    if not video.get("job_id"):
        return None
    try:
        return store.get_job(video["job_id"])
    except store.JobNotFound:
        return None


def video_status(video: dict[str, Any]) -> dict[str, Any]:
    """Seed's VideoStatusResponse (+ marks, latency, review state), progress from the job record."""
    job = _job(video)
    status, step, error = video["status"], video["current_step"], video["error"]
    progress = 100 if status == "completed" else 0
    if job is not None and status == "processing":
        progress = round(100 * (job["progress"] or 0))
        step = job["stage"] or step
        if job["status"] in ("failed", "cancelled"):  # the job ended without reaching its body's handler
            status, error = job["status"], error or job["error"] or job["message"]
    vid = video["id"]
    frames = [{"type": which, "frame_number": video[f"{which}_frame"], "timestamp": video[f"{which}_time"],
               "url": f"/api/v1/review/{vid}/frame/{video[f'{which}_frame']}"}
              for which in fr.WHICH if video[f"{which}_frame"] is not None]
    return {
        "video_id": vid, "filename": video["filename"], "status": status, "duration": video["duration"],
        "fps": video["fps"], "width": video["width"], "height": video["height"],
        "frame_count": video["frame_count"], "task_id": video["job_id"], "job_id": video["job_id"],
        "batch_id": video["batch_id"], "error_message": error, "frames": frames, "progress": progress,
        "current_step": step, "first_frame": video["first_frame"], "last_frame": video["last_frame"],
        "first_time": video["first_time"], "last_time": video["last_time"], "latency_ms": fr.latency_ms(video),
        "marking_method": video["marking_method"], "ai_confidence": video["ai_confidence"],
        "needs_review": status == "completed" and video["review_status"] != "reviewed",
        "reviewed_by": video["reviewed_by"], "warnings": video["warnings"], "exclusions": video["exclusions"],
        "owner": video["owner"], "created_at": video["created_at"],
    }


def _submit_analysis(video: dict[str, Any], owner: str) -> dict[str, Any]:
    job = queue.submit("frames.analyze", {"video_id": video["id"]}, owner=owner,
                       title=f"Frame analysis: {video['filename']}")
    fr.set_job(video["id"], job["id"])
    return {"video_id": video["id"], "task_id": job["id"], "job_id": job["id"], "filename": video["filename"],
            "status": "processing" if job["status"] != "failed" else "failed",
            "message": "Uploaded; the analysis job is queued" if job["status"] != "failed" else job["error"]}


def _upload_one(upload: UploadFile, owner: str, batch_id: str | None = None) -> dict[str, Any]:
    """Save one recording under media/frames/<id>/ and queue its analysis. The size
    limit is checked here; whether it is a video is checked by the job (probing)."""
    name = fr.check_filename(upload.filename or "")
    video_id = fr.new_id()
    folder = fr.video_dir(video_id)
    try:
        path = save_upload(upload, folder)
    except HTTPException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    video = fr.create_video(name, owner, video_id=video_id, path=path, batch_id=batch_id)
    return _submit_analysis(video, owner)


class Exclusion(BaseModel):
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    w: float = Field(gt=0, le=1)
    h: float = Field(gt=0, le=1)


class ExclusionsIn(BaseModel):
    exclusions: list[Exclusion] = Field(default_factory=list, description="rectangles x, y, w, h (fractions 0..1)")
    status_bar: float | None = Field(None, ge=0, lt=1, description="top share of the screen always excluded (default 0.05)")


class ServerFilesIn(BaseModel):
    path: str = Field(description="a recording or a folder of recordings inside STUDIO_ALLOWED_ROOTS")


@router.post("/video/upload", status_code=201, tags=["video"], summary="Upload one recording and analyse it")
def upload_video(file: UploadFile = File(...), user: User = Depends(api_user)) -> dict[str, Any]:
    return _errors(_upload_one, file, user.name)


@router.post("/video/batch-upload", status_code=201, tags=["video"],
             summary="Upload several recordings; one analysis job each")
def batch_upload(files: list[UploadFile] = File(...), user: User = Depends(api_user)) -> dict[str, Any]:
    batch_id = fr.new_id()
    videos = []
    for upload in files:
        try:
            videos.append(_upload_one(upload, user.name, batch_id))
        except (fr.FrameInputError, HTTPException) as exc:  # one bad file does not stop the others
            videos.append({"video_id": None, "task_id": None, "filename": upload.filename, "status": "failed",
                           "message": getattr(exc, "detail", None) or str(exc)})
    ok = sum(v["status"] != "failed" for v in videos)
    return {"batch_id": batch_id, "total_count": len(videos), "accepted_count": ok, "videos": videos,
            "message": f"{ok} of {len(videos)} recordings queued for analysis"}


@router.post("/video/from-server", status_code=201, tags=["video"],
             summary="Analyse recordings from a server folder (STUDIO_ALLOWED_ROOTS)")
def from_server(body: ServerFilesIn, user: User = Depends(api_user)) -> dict[str, Any]:
    path = _errors(server_path, body.path)
    files = [path] if path.is_file() else sorted(p for p in path.iterdir()
                                                 if p.is_file() and p.suffix.lower() in fr.VIDEO_EXTENSIONS)
    if not files:
        raise HTTPException(422, f"{body.path} holds no recordings ({', '.join(fr.VIDEO_EXTENSIONS)}).")
    batch_id = fr.new_id()
    videos = []
    for source in files:
        try:
            video = fr.create_video(source.name, user.name, source_path=source, batch_id=batch_id)
            videos.append(_submit_analysis(video, user.name))
        except fr.FrameInputError as exc:
            videos.append({"video_id": None, "filename": source.name, "status": "failed", "message": str(exc)})
    return {"batch_id": batch_id, "total_count": len(videos), "videos": videos,
            "message": f"{len(videos)} recordings queued for analysis"}


@router.get("/video/list", tags=["video"], summary="List recordings, newest first")
def list_videos(skip: int = Query(0, ge=0), limit: int = Query(20, ge=1, le=500),
                status: Literal["uploading", "processing", "completed", "failed", "cancelled"] | None = None,
                batch_id: str | None = None, user: User = Depends(api_user)) -> list[dict[str, Any]]:
    videos = [video_status(v) for v in fr.list_videos(status=status, skip=skip, limit=limit)]
    return [v for v in videos if batch_id is None or v["batch_id"] == batch_id]


@router.get("/video/{video_id}/status", tags=["video"], summary="A recording's status, metadata and marks")
def get_status(video_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return video_status(_errors(fr.get_video, video_id))


@router.get("/video/{video_id}/progress", tags=["video"], summary="Progress of the recording's analysis")
def get_progress(video_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    s = video_status(_errors(fr.get_video, video_id))
    return {k: s[k] for k in ("video_id", "task_id", "job_id", "status", "progress", "current_step", "error_message")}


@router.post("/video/{video_id}/cancel", tags=["video"], summary="Cancel the recording's analysis")
def cancel_video(video_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    video = _errors(fr.get_video, video_id)
    if video["status"] not in ("uploading", "processing") or not video["job_id"]:
        raise HTTPException(409, f"Recording {video_id} is {video['status']}; only a queued or running analysis "
                                 "can be cancelled.")
    try:
        job = queue.cancel(video["job_id"], user=user.name, is_admin=user.is_admin)
    except PermissionError as exc:
        raise HTTPException(403, str(exc)) from None
    except store.JobStateError as exc:
        raise HTTPException(409, str(exc)) from None
    if job["status"] == "cancelled":  # cancelled before it started: the job body never runs
        fr.fail_video(video_id, "Cancelled before the analysis started.", status="cancelled")
    return {"video_id": video_id, "task_id": job["id"], "status": "cancelled",
            "message": "Cancelled" if job["status"] == "cancelled" else "Cancelling at the next step"}


@router.delete("/video/{video_id}", tags=["video"], summary="Delete a recording, its analysis and marks")
def delete_video(video_id: str, user: User = Depends(api_user)) -> dict[str, str]:
    _errors(fr.delete_video, video_id)
    return {"message": f"Recording {video_id} deleted"}


@router.put("/video/{video_id}/exclusions", status_code=202, tags=["video"],
            summary="Set exclusion rectangles and re-run the detection (stored metrics, no decoding)")
def set_video_exclusions(video_id: str, body: ExclusionsIn, user: User = Depends(api_user)) -> dict[str, Any]:
    video = _errors(fr.get_video, video_id)
    if not fr.metrics_path(video_id).is_file():
        raise HTTPException(409, f"Recording {video_id} is {video['status']}: it has no analysis to re-detect on yet.")
    return _redetect([video_id], body, user)


def _redetect(video_ids: list[str], body: ExclusionsIn, user: User) -> dict[str, Any]:
    params: dict[str, Any] = {"video_ids": video_ids, "exclusions": [e.model_dump() for e in body.exclusions]}
    if body.status_bar is not None:
        params["status_bar"] = body.status_bar
    job = queue.submit("frames.detect", params, owner=user.name)
    return {"job_id": job["id"], "video_ids": video_ids, "status": job["status"],
            "message": "Detection queued (from stored metrics)"}


# -- tasks -------------------------------------------------------------------------------

class TaskCreate(BaseModel):
    name: str = Field(min_length=1, examples=["Cold start, build 812"])
    description: str = ""
    created_by: str | None = None


class TaskUpdate(BaseModel):
    name: str | None = None
    description: str | None = None


class VideoAddToTask(BaseModel):
    video_ids: list[str] = Field(min_length=1)
    notes: str = ""


class TaskOrder(BaseModel):
    video_ids: list[str] = Field(min_length=1, description="the task's recordings in the wanted order")


def task_view(task: dict[str, Any]) -> dict[str, Any]:
    stats = fr.task_statistics(task["id"])
    return {"id": task["id"], "name": task["name"], "description": task["description"],
            "status": _task_status(stats), "total_videos": stats["count"], "completed_videos": stats["completed"],
            "failed_videos": stats["failed"], "processing_videos": stats["processing"],
            "total_duration": _s(stats["total_ms"]), "avg_duration": _s(stats["avg_ms"]),
            "min_duration": _s(stats["min_ms"]), "max_duration": _s(stats["max_ms"]),
            "exclusions": task["exclusions"], "created_by": task["created_by"],
            "created_at": task["created_at"], "updated_at": task["updated_at"]}


def _s(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000.0, 6)


def _task_status(stats: dict[str, Any]) -> str:
    if not stats["count"]:
        return "draft"
    if stats["processing"]:
        return "processing"
    if stats["failed"] == stats["count"]:
        return "failed"
    return "completed"


@router.post("/task/create", status_code=201, tags=["task"], summary="Create a task")
def create_task(body: TaskCreate, user: User = Depends(api_user)) -> dict[str, Any]:
    creator = user.name if auth_enabled() else (body.created_by or user.name)
    return task_view(_errors(fr.create_task, body.name, creator, body.description))


@router.get("/task/list", tags=["task"], summary="List tasks, newest first")
def list_tasks(user_filter: str | None = Query(None, alias="user"), skip: int = Query(0, ge=0),
               limit: int = Query(20, ge=1, le=500), user: User = Depends(api_user)) -> list[dict[str, Any]]:
    return [task_view(t) for t in fr.list_tasks(user_filter, skip, limit)]


@router.get("/task/{task_id}", tags=["task"], summary="A task with its recordings and their marks")
def get_task(task_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    task = _errors(fr.get_task, task_id)
    out = task_view(task)
    out["videos"] = [{
        "video_id": v["id"], "order": v["task_order"], "duration": _s(fr.latency_ms(v)),
        "latency_ms": fr.latency_ms(v), "first_frame": v["first_frame"], "first_frame_time": v["first_time"],
        "last_frame": v["last_frame"], "last_frame_time": v["last_time"], "notes": v["task_notes"],
        "added_at": v["task_added_at"], "video_filename": v["filename"], "video_status": fr.export_status(v),
        "video_width": v["width"], "video_height": v["height"], "marking_method": v["marking_method"],
        "first_frame_url": None if v["first_frame"] is None else f"/api/v1/review/{v['id']}/frame/{v['first_frame']}",
        "last_frame_url": None if v["last_frame"] is None else f"/api/v1/review/{v['id']}/frame/{v['last_frame']}",
    } for v in fr.task_videos(task_id)]
    return out


@router.put("/task/{task_id}", tags=["task"], summary="Rename or describe a task")
def update_task(task_id: str, body: TaskUpdate, user: User = Depends(api_user)) -> dict[str, Any]:
    return task_view(_errors(fr.update_task, task_id, body.name, body.description))


@router.delete("/task/{task_id}", tags=["task"], summary="Delete a task (its recordings stay)")
def delete_task(task_id: str, user: User = Depends(api_user)) -> dict[str, str]:
    _errors(fr.delete_task, task_id)
    return {"message": "Task deleted; its recordings are kept"}


@router.post("/task/{task_id}/videos", tags=["task"], summary="Add recordings to a task")
def add_videos(task_id: str, body: VideoAddToTask, user: User = Depends(api_user)) -> dict[str, Any]:
    return _errors(fr.add_videos, task_id, body.video_ids, body.notes)


@router.delete("/task/{task_id}/videos/{video_id}", tags=["task"], summary="Remove a recording from a task")
def remove_video(task_id: str, video_id: str, user: User = Depends(api_user)) -> dict[str, str]:
    _errors(fr.remove_video, task_id, video_id)
    return {"message": "Recording removed from the task"}


@router.put("/task/{task_id}/order", tags=["task"], summary="Order the task's recordings")
def order_videos(task_id: str, body: TaskOrder, user: User = Depends(api_user)) -> dict[str, Any]:
    return {"video_ids": _errors(fr.order_videos, task_id, body.video_ids)}


@router.put("/task/{task_id}/exclusions", status_code=202, tags=["task"],
            summary="Exclusion rectangles for every recording of the task; re-detect them all (no decoding)")
def set_task_exclusions(task_id: str, body: ExclusionsIn, user: User = Depends(api_user)) -> dict[str, Any]:
    _errors(fr.update_task, task_id, exclusions=[e.model_dump() for e in body.exclusions])
    ids = [v["id"] for v in fr.task_videos(task_id) if fr.metrics_path(v["id"]).is_file()]
    if not ids:
        raise HTTPException(409, f"Task {task_id} has no analysed recordings to re-detect.")
    return _redetect(ids, body, user)


@router.get("/task/{task_id}/statistics", tags=["task"], summary="Task statistics (durations in ms and frames)")
def task_statistics(task_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    stats = _errors(fr.task_statistics, task_id)
    stats.update(total_videos=stats["count"], completed_videos=stats["completed"], failed_videos=stats["failed"],
                 processing_videos=stats["processing"], total_duration=_s(stats["total_ms"]),
                 avg_duration=_s(stats["avg_ms"]), min_duration=_s(stats["min_ms"]),
                 max_duration=_s(stats["max_ms"]), avg_frames_per_video=stats["avg_frames"])
    return stats


@router.post("/task/{task_id}/calculate-stats", tags=["task"], summary="Recalculate the task's statistics")
def calculate_stats(task_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    # Statistics are computed from the current marks on every read; nothing is cached to refresh.
    return task_view(_errors(fr.get_task, task_id))


@router.get("/task/{task_id}/export", tags=["task"], summary="Download the task's timings (CSV or Excel)")
def export_task(task_id: str, format: Literal["excel", "xlsx", "csv"] = "excel",
                user: User = Depends(api_user)) -> Response:
    # Formatting a task's DB rows (no media, bounded by the task's size) is done
    # in the request so the seed's direct download works; POST runs it as a job.
    from pipelines.frames.report import export_filename, to_csv, to_xlsx

    task = _errors(fr.get_task, task_id)
    rows = fr.task_stats_rows(task_id)
    name = export_filename(task["name"], format)
    if format == "csv":
        body, media = to_csv(rows), "text/csv; charset=utf-8"
    else:
        body, media = to_xlsx(rows), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    from urllib.parse import quote

    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.post("/task/{task_id}/export", status_code=202, tags=["task"], summary="Export as a job (file in its outputs)")
def export_task_job(task_id: str, format: Literal["excel", "xlsx", "csv"] = "excel",
                    user: User = Depends(api_user)) -> dict[str, Any]:
    _errors(fr.get_task, task_id)
    job = queue.submit("frames.export", {"task_id": task_id, "format": format}, owner=user.name)
    return {"job_id": job["id"], "status": job["status"]}


# -- review ------------------------------------------------------------------------------

class FrameMarkingRequest(BaseModel):
    first_frame: int | None = Field(None, ge=0, description="frame number (0-based) of the first frame")
    last_frame: int | None = Field(None, ge=0, description="frame number (0-based) of the last frame")
    reviewer: str | None = Field(None, description="ignored when the studio has logins: the caller is the reviewer")
    review_notes: str | None = None
    method: Literal["manual", "hybrid"] | None = Field(
        None, description="leave empty: 'hybrid' when the frame is (next to) a detector candidate, else 'manual'")


def _frame_detail(video: dict[str, Any], which: str) -> dict[str, Any] | None:
    n = video[f"{which}_frame"]
    if n is None:
        return None
    cands = (video["detection"] or {}).get(f"{which}_candidates") or []
    cand = next((c for c in cands if c["index"] == n), None)
    return {"frame_number": n, "timestamp": video[f"{which}_time"], "frame_type": which,
            "url": f"/api/v1/review/{video['id']}/frame/{n}", "is_candidate": cand is not None,
            "confidence_score": cand["score"] if cand else None,
            "brightness": cand["brightness"] if cand else None, "sharpness": cand["sharpness"] if cand else None,
            "scene_change_score": cand["change"] if cand else None}


def review_view(video: dict[str, Any], include_curve: bool = False) -> dict[str, Any]:
    vid = video["id"]

    def cands(which):
        return [{"frame_number": c["index"], "timestamp": c["time"], "confidence_score": c["score"],
                 "reason": c["reason"], "brightness": c["brightness"], "sharpness": c["sharpness"],
                 "scene_change_score": c["change"], "url": f"/api/v1/review/{vid}/frame/{c['index']}",
                 "thumbnail_url": f"/api/v1/review/{vid}/thumbs/{Path(c['thumbnail']).name}" if c.get("thumbnail") else None}
                for c in (video["detection"] or {}).get(f"{which}_candidates") or []]

    out = {
        "video_id": vid, "filename": video["filename"], "status": video["status"],
        "total_frames": video["frame_count"], "fps": video["fps"], "width": video["width"], "height": video["height"],
        "marking_method": video["marking_method"], "ai_confidence": video["ai_confidence"],
        "marked_first_frame": _frame_detail(video, "first"), "marked_last_frame": _frame_detail(video, "last"),
        "first_candidates": cands("first"), "last_candidates": cands("last"),
        "latency_ms": fr.latency_ms(video), "needs_review": video["review_status"] != "reviewed",
        "reviewed_by": video["reviewed_by"], "reviewed_at": video["reviewed_at"], "review_notes": video["notes"],
        "exclusions": video["exclusions"], "warnings": video["warnings"], "history": fr.history(vid),
    }
    if include_curve:
        out["curve"] = fr.change_curve(vid)
    return out


@router.get("/review/pending", tags=["review"], summary="Analysed recordings waiting for a reviewer")
def pending(skip: int = Query(0, ge=0), limit: int = Query(20, ge=1, le=500),
            user: User = Depends(api_user)) -> list[dict[str, Any]]:
    return [review_view(v) for v in fr.list_pending(skip, limit)]


@router.get("/review/{video_id}", tags=["review"], summary="Everything the reviewer needs for one recording")
def get_review(video_id: str, include_curve: bool = False, user: User = Depends(api_user)) -> dict[str, Any]:
    video = _errors(fr.get_video, video_id)
    if video["status"] != "completed":
        raise HTTPException(409, f"Recording {video_id} is {video['status']}; review it once its analysis is done.")
    return review_view(video, include_curve)


@router.post("/review/{video_id}/mark", tags=["review"], summary="Set the first/last frame (kept in the history)")
def mark(video_id: str, body: FrameMarkingRequest, user: User = Depends(api_user)) -> dict[str, Any]:
    reviewer = user.name if auth_enabled() else (body.reviewer or user.name)
    video = _errors(fr.mark, video_id, reviewer, body.first_frame, body.last_frame, body.review_notes, body.method)
    return {"video_id": video_id, "status": "reviewed", "message": "Marked",
            "marking_method": video["marking_method"], "latency_ms": fr.latency_ms(video),
            "first_frame": _frame_detail(video, "first"), "last_frame": _frame_detail(video, "last")}


@router.get("/review/{video_id}/history", tags=["review"], summary="Every change of the marks")
def mark_history(video_id: str, user: User = Depends(api_user)) -> list[dict[str, Any]]:
    return _errors(fr.history, video_id)


@router.get("/review/{video_id}/frame/{index}", tags=["review"], summary="One frame as JPEG",
            response_class=Response)
def frame(video_id: str, index: int, max_side: int = Query(720, ge=32, le=4096),
          user: User = Depends(api_user)) -> Response:
    data = _errors(fr.frame_jpeg, video_id, index, max_side)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})


@router.get("/review/{video_id}/thumbs/{name}", tags=["review"], summary="A candidate thumbnail")
def thumb(video_id: str, name: str, user: User = Depends(api_user)) -> FileResponse:
    path = fr.video_dir(video_id) / "thumbs" / Path(name).name
    if not path.is_file():
        raise HTTPException(404, f"No thumbnail {name!r} for recording {video_id}.")
    return FileResponse(path, media_type="image/jpeg")


# -- QR codes -------------------------------------------------------------------------------

class QRCodeRequest(BaseModel):
    words: str = Field(min_length=1, examples=["https://example.com"])
    version: int | None = Field(None, ge=1, le=40, description="1-40; empty = smallest that fits")
    level: Literal["L", "M", "Q", "H"] = "H"
    contrast: float = Field(1.0, ge=0.1, le=3.0)
    brightness: float = Field(1.0, ge=0.1, le=3.0)


QR_WAIT_S = 60.0


def _qr(params: dict[str, Any], user: User, picture: UploadFile | None, wait: bool) -> Response:
    files = {}
    tmp = None
    if picture is not None:
        suffix = Path(picture.filename or "picture").suffix.lower() or ".img"
        tmp = save_upload(picture)
        files = {f"picture{suffix}": tmp}
    try:
        job = queue.submit("frames.qr", params, owner=user.name, files=files)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp.parent, ignore_errors=True)
    if not wait:
        return JSONResponse({"job_id": job["id"], "status": job["status"]}, status_code=202)
    deadline = time.monotonic() + QR_WAIT_S
    while job["status"] not in store.FINAL and time.monotonic() < deadline:
        time.sleep(0.05)
        job = store.get_job(job["id"])
    if job["status"] == "failed":
        raise HTTPException(422, job["error"] or "The QR code could not be made.")
    if job["status"] != "succeeded":
        return JSONResponse({"job_id": job["id"], "status": job["status"],
                             "detail": "Still running; fetch the image listed in the job's outputs.files (GET /api/v1/jobs/{job_id}) "
                                       "when the job has succeeded."}, status_code=202)
    path = store.output_path(job["id"], job["outputs"]["file"])
    return Response(path.read_bytes(), media_type="image/gif" if path.suffix == ".gif" else "image/png",
                    headers={"X-Job-Id": job["id"]})


@router.post("/qr/simple", tags=["qr"], summary="A QR code (PNG)", response_class=Response)
def qr_simple(body: QRCodeRequest, wait: bool = True, user: User = Depends(api_user)) -> Response:
    return _qr({"mode": "simple", **body.model_dump()}, user, None, wait)


def _form_params(mode, words, version, level, colorized, contrast, brightness) -> dict[str, Any]:
    level = (level or "H").upper()
    if level not in ("L", "M", "Q", "H"):
        raise HTTPException(422, f"level {level!r}: use L, M, Q or H.")
    if version is not None and not 1 <= version <= 40:
        raise HTTPException(422, f"version {version}: QR versions go from 1 to 40 (leave empty for automatic).")
    for name, v in (("contrast", contrast), ("brightness", brightness)):
        if not 0.1 <= v <= 3.0:
            raise HTTPException(422, f"{name} {v}: give a number from 0.1 to 3.0 (1.0 = unchanged).")
    if not words:
        raise HTTPException(422, "words: give the text or URL to encode.")
    return {"mode": mode, "words": words, "version": version, "level": level, "colorized": colorized,
            "contrast": contrast, "brightness": brightness}


@router.post("/qr/artistic", tags=["qr"], summary="A QR code over a background picture (PNG)",
             response_class=Response)
def qr_artistic(words: str = Form(...), picture: UploadFile = File(...), version: int | None = Form(None),
                level: str = Form("H"), colorized: bool = Form(False), contrast: float = Form(1.0),
                brightness: float = Form(1.0), wait: bool = True, user: User = Depends(api_user)) -> Response:
    if Path(picture.filename or "").suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"):
        raise HTTPException(422, f"picture {picture.filename!r}: use a PNG, JPG, JPEG or BMP picture.")
    return _qr(_form_params("artistic", words, version, level, colorized, contrast, brightness), user, picture, wait)


@router.post("/qr/animated", tags=["qr"], summary="A QR code over an animated GIF (GIF)", response_class=Response)
def qr_animated(words: str = Form(...), picture: UploadFile = File(...), version: int | None = Form(None),
                level: str = Form("H"), colorized: bool = Form(False), contrast: float = Form(1.0),
                brightness: float = Form(1.0), wait: bool = True, user: User = Depends(api_user)) -> Response:
    if Path(picture.filename or "").suffix.lower() != ".gif":
        raise HTTPException(422, f"picture {picture.filename!r}: an animated QR code needs a .gif file.")
    return _qr(_form_params("animated", words, version, level, colorized, contrast, brightness), user, picture, wait)
