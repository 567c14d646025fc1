"""Stored frame review records → the API's response shapes (seed 001 field
names, ISO 8601 times, absolute frame URLs, frame ids)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jobs import store
from jobs.access import User
from jobs.tools.frames import records as fr
from jobs.tools.frames import tasks as fr_tasks
from jobs.tools.frames.records import Video
from studio.api.frames import schemas as s


def iso(ts: float | None) -> str | None:
    """Epoch seconds → ISO 8601 (UTC, seconds)."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def frame_id(video_id: str, index: int) -> str:
    return f"{video_id}_{index}"


def parse_frame_id(video: Video, fid: str) -> int:
    """The frame number of a frame id of this recording (FrameInputError otherwise)."""
    vid, _, number = fid.rpartition("_")
    if vid != video.id or not number.isdigit():
        raise fr.FrameInputError(
            f"Frame id {fid!r} is not a frame of recording {video.id}; take the ids "
            f"from GET /api/v1/review/{video.id}."
        )
    return int(number)


def frame_url(base: str, video_id: str, index: int) -> str:
    return f"{base.rstrip('/')}/api/v1/review/{video_id}/frame/{index}"


def _job(video: Video) -> dict[str, Any] | None:
    if not video.job_id:
        return None
    return store.find_job(video.job_id)


def video_status(video: Video, base: str) -> s.VideoStatusResponse:
    """Seed's VideoStatusResponse (+ marks, latency, review state). The status is the
    record's (its job's end is written there by ``frames.analyze``'s ``on_end``);
    the progress and step of a queued or running analysis come from its job."""
    status, step, error = video.status, video.current_step, video.error
    progress = 100 if status == "completed" else 0
    job = _job(video) if status in ("uploading", "processing") else None
    if job is not None:
        progress = round(100 * (job["progress"] or 0))
        step = job["stage"] or step
    frames = [
        s.FrameRef(
            id=frame_id(video.id, n),
            type=which,
            frame_number=n,
            timestamp=video.mark_time(which),
            url=frame_url(base, video.id, n),
        )
        for which in fr.WHICH
        if (n := video.mark_frame(which)) is not None
    ]
    return s.VideoStatusResponse(
        video_id=video.id,
        filename=video.filename,
        status=status,
        duration=video.duration,
        fps=video.fps,
        width=video.width,
        height=video.height,
        frame_count=video.frame_count,
        task_id=video.job_id,
        job_id=video.job_id,
        batch_id=video.batch_id,
        error_message=error,
        frames=frames,
        progress=progress,
        current_step=step,
        first_frame=video.first_frame,
        last_frame=video.last_frame,
        first_time=video.first_time,
        last_time=video.last_time,
        latency_ms=video.latency_ms,
        marking_method=video.marking_method,
        ai_confidence=video.ai_confidence,
        needs_review=status == "completed" and video.needs_review,
        review_status=video.review_status,
        reviewed_by=video.reviewed_by,
        warnings=video.warnings,
        exclusions=video.exclusions,
        owner=video.owner,
        created_at=iso(video.created_at) or "",
        updated_at=iso(video.updated_at) or "",
    )


def _s(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000.0, 6)


def task_view(task: fr_tasks.Task, user: User) -> s.TaskResponse:
    st = fr_tasks.task_statistics(task.id, user)
    return s.TaskResponse(
        id=task.id,
        name=task.name,
        description=task.description,
        status=fr_tasks.task_status(st),
        total_videos=st["count"],
        completed_videos=st["completed"],
        failed_videos=st["failed"],
        processing_videos=st["processing"],
        total_duration=_s(st["total_ms"]),
        avg_duration=_s(st["avg_ms"]),
        min_duration=_s(st["min_ms"]),
        max_duration=_s(st["max_ms"]),
        exclusions=task.exclusions,
        created_by=task.created_by,
        created_at=iso(task.created_at) or "",
        updated_at=iso(task.updated_at) or "",
    )


def task_detail(task: fr_tasks.Task, user: User, base: str) -> s.TaskDetailResponse:
    videos = []
    for tv in fr_tasks.task_videos(task.id, user):
        v = tv.video
        videos.append(
            s.TaskVideo(
                id=f"{task.id}_{v.id}",
                video_id=v.id,
                order=tv.order,
                duration=_s(v.latency_ms),
                latency_ms=v.latency_ms,
                first_frame=v.first_frame,
                first_frame_time=v.first_time,
                last_frame=v.last_frame,
                last_frame_time=v.last_time,
                notes=tv.notes or None,
                added_at=iso(tv.added_at) or "",
                video_filename=v.filename,
                video_status=v.report_status,
                video_width=v.width,
                video_height=v.height,
                marking_method=v.marking_method,
                first_frame_id=None if v.first_frame is None else frame_id(v.id, v.first_frame),
                last_frame_id=None if v.last_frame is None else frame_id(v.id, v.last_frame),
                first_frame_url=None
                if v.first_frame is None
                else frame_url(base, v.id, v.first_frame),
                last_frame_url=None
                if v.last_frame is None
                else frame_url(base, v.id, v.last_frame),
            )
        )
    return s.TaskDetailResponse(**task_view(task, user).model_dump(), videos=videos)


def task_stats(task_id: str, user: User) -> s.TaskStatsResponse:
    st = fr_tasks.task_statistics(task_id, user)
    return s.TaskStatsResponse(
        **st,
        total_videos=st["count"],
        completed_videos=st["completed"],
        failed_videos=st["failed"],
        processing_videos=st["processing"],
        total_duration=_s(st["total_ms"]),
        avg_duration=_s(st["avg_ms"]),
        min_duration=_s(st["min_ms"]),
        max_duration=_s(st["max_ms"]),
        avg_frames_per_video=st["avg_frames"],
    )


def _thumb_url(base: str, video: Video, cand: dict[str, Any]) -> str | None:
    if not cand.get("thumbnail"):
        return None
    return f"{base.rstrip('/')}/api/v1/review/{video.id}/thumbs/{Path(cand['thumbnail']).name}"


def _detail(
    video: Video,
    base: str,
    index: int,
    time: float | None,
    metrics: dict[str, Any] | None = None,
    cand: dict[str, Any] | None = None,
    first_set: set[int] | None = None,
    last_set: set[int] | None = None,
) -> s.FrameDetail:
    kind = (
        "first" if index == video.first_frame else "last" if index == video.last_frame else "middle"
    )
    first_set = (
        first_set if first_set is not None else {c["index"] for c in video.candidates("first")}
    )
    last_set = last_set if last_set is not None else {c["index"] for c in video.candidates("last")}
    values: dict[str, Any] = {}
    if cand is not None:
        values = {
            "confidence_score": cand["score"],
            "brightness": cand["brightness"],
            "sharpness": cand["sharpness"],
            "scene_change_score": cand["change"],
            "reason": cand["reason"],
            "thumbnail_url": _thumb_url(base, video, cand),
        }
    elif metrics is not None:
        values = {
            k: round(float(metrics[m][index]), 5)
            for k, m in (
                ("brightness", "brightness"),
                ("sharpness", "sharpness"),
                ("scene_change_score", "change"),
            )
            if m in metrics
        }
    return s.FrameDetail(
        id=frame_id(video.id, index),
        frame_number=index,
        timestamp=time,
        url=frame_url(base, video.id, index),
        frame_type=kind,
        is_first_candidate=index in first_set,
        is_last_candidate=index in last_set,
        **values,
    )


def marked_frame(video: Video, which: str, base: str) -> s.FrameDetail | None:
    n = video.mark_frame(which)
    if n is None:
        return None
    cand = next((c for c in video.candidates(which) if c["index"] == n), None)
    return _detail(video, base, n, video.mark_time(which), cand=cand)


def review_view(
    video: Video, user: User, base: str, include_curve: bool = False, include_frames: bool = True
) -> s.VideoReviewResponse:
    first_set = {c["index"] for c in video.candidates("first")}
    last_set = {c["index"] for c in video.candidates("last")}

    def cands(which: str) -> list[s.FrameDetail]:
        return [
            _detail(
                video, base, c["index"], c["time"], cand=c, first_set=first_set, last_set=last_set
            )
            for c in video.candidates(which)
        ]

    all_frames: list[s.FrameDetail] = []
    if include_frames and video.analysed and fr.metrics_path(video.id).is_file():
        metrics = fr.frame_metrics(video)
        times = metrics["times"]
        all_frames = [
            _detail(
                video,
                base,
                i,
                round(float(times[i]), 6),
                metrics=metrics,
                first_set=first_set,
                last_set=last_set,
            )
            for i in range(len(times))
        ]
    history = [
        s.MarkEntryOut(**{**h.to_dict(), "at": iso(h.at)}) for h in fr.history(video.id, user)
    ]
    return s.VideoReviewResponse(
        video_id=video.id,
        filename=video.filename,
        status=video.status,
        total_frames=video.frame_count,
        extracted_frames=video.frame_count if video.analysed else 0,
        fps=video.fps,
        width=video.width,
        height=video.height,
        marking_method=video.marking_method,
        ai_confidence=video.ai_confidence,
        marked_first_frame=marked_frame(video, "first", base),
        marked_last_frame=marked_frame(video, "last", base),
        first_candidates=cands("first"),
        last_candidates=cands("last"),
        all_frames=all_frames,
        latency_ms=video.latency_ms,
        needs_review=video.needs_review,
        review_status=video.review_status,
        reviewed_by=video.reviewed_by,
        reviewed_at=iso(video.reviewed_at),
        review_notes=video.notes,
        exclusions=video.exclusions,
        warnings=video.warnings,
        history=history,
        curve=s.Curve(**fr.change_curve(video)) if include_curve else None,
    )
