"""Frame review job kinds (seed 001). All run in the CPU lane.

- ``frames.analyze`` {video_id}: copy a server file in if needed, probe (a
  corrupt or non-video file fails here, with a message, not in the request),
  decode once for the metrics, detect first/last with candidates, write the
  candidate thumbnails; the results go to the video's record and folder
  ``STUDIO_HOME/media/frames/<video_id>/`` (metrics.npz, analysis.json, thumbs/).
- ``frames.detect`` {video_ids, exclusions?, status_bar?}: detection again on the
  stored ``metrics.npz`` with new exclusion rectangles; never decodes (works
  even when the recording itself is gone).
- ``frames.export`` {task_id, format}: a task's CSV or XLSX into the job's outputs.
- ``frames.qr`` {mode, words, version, level, colorized, contrast, brightness}
  (+ ``inputs/picture.*`` for artistic/animated): ``outputs/qr_<job id>.png`` or ``.gif``.

Job bodies act for the studio (:data:`jobs.access.SYSTEM`): the web side
checked the owner before it submitted them (:mod:`.submit`, called by both the
REST router and the tab).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from jobs.access import SYSTEM
from jobs.kinds import JobContext, job_kind
from jobs.registry import Tab, Tool, register
from jobs.store import Job
from jobs.tools.frames import records as fr
from jobs.tools.frames import tasks as fr_tasks


def analysis_ended(job: Job, status: str) -> None:
    """``on_end`` of ``frames.analyze``: a recording whose analysis failed or was
    cancelled where the job body could not say so (cancelled before it started, its
    worker lost, the queue down) takes the job's end, so the record tells it and the
    views only read."""
    if status not in ("failed", "cancelled"):
        return
    try:
        video = fr.get_video(job["params"]["video_id"], SYSTEM)
    except fr.NotFound:  # deleted meanwhile
        return
    if video.status not in ("uploading", "processing") or video.job_id not in (None, job["id"]):
        return  # the body wrote its end, or another analysis is the recording's now
    if status == "cancelled" and not job["started_at"]:
        error = "Cancelled before the analysis started."
    else:
        error = job["error"] or job["message"] or status
    fr.fail_video(video.id, error, status=status)


@job_kind("frames.analyze", lane="cpu", title="Frame analysis", on_end=analysis_ended)
def analyze(ctx: JobContext) -> dict:
    from pipelines.frames import DEFAULT_STATUS_BAR, FrameReviewError, summary
    from pipelines.frames import analyze as analyze_video
    from pipelines.progress import Cancelled

    video_id = ctx.params["video_id"]
    video = fr.update_video(
        video_id, SYSTEM, status="processing", current_step="starting", job_id=ctx.id, error=None
    )
    path = Path(video.path)
    ctx.progress.update(stage="starting", fraction=0.0, item=video.filename)
    try:
        if not path.is_file() and video.source_path:
            from jobs.inputs import check_size, server_path

            ctx.progress.update(
                stage="copying", item=video.filename, message="copying the server file"
            )
            try:
                source = server_path(
                    video.source_path
                )  # checked again: a link may have changed since
            except ValueError as exc:
                raise FrameReviewError(f"{video.filename}: {exc} Add it again.") from None
            if not source.is_file():
                raise FrameReviewError(
                    f"{video.filename}: the server file {source} is gone; add it again."
                )
            check_size(source)
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, path)
        fr.update_video(video_id, SYSTEM, current_step="analysing")
        status_bar = DEFAULT_STATUS_BAR if video.status_bar is None else video.status_bar
        result = analyze_video(
            path,
            fr.video_dir(video_id),
            video.exclusions or None,
            status_bar=status_bar,
            progress=ctx.progress,
        )
    except Cancelled:
        fr.fail_video(
            video_id,
            "Cancelled by the user; submit the analysis again to finish it.",
            status="cancelled",
        )
        raise
    except (FrameReviewError, OSError, ValueError) as exc:
        fr.fail_video(video_id, str(exc))
        raise
    except Exception as exc:
        fr.fail_video(video_id, f"{exc.__class__.__name__}: {exc} (details in the job log)")
        raise
    fr.store_analysis(video_id, result.to_dict())
    out = summary(result)
    ctx.log(f"{video.filename}: first {out['first']}, last {out['last']}, {out['duration_ms']} ms")
    return {
        "video_id": video_id,
        **{
            k: out[k]
            for k in (
                "fps",
                "frame_count",
                "duration",
                "width",
                "height",
                "first",
                "last",
                "duration_ms",
                "confidence",
                "warnings",
            )
        },
    }


def _thumbnails(video: fr.Video, detection, ctx: JobContext) -> None:
    """Thumbnails for the new candidates: from the recording when it is still
    there, else the ones already written (a frame's JPEG does not change)."""
    from pipelines.frames import FrameMetrics, write_thumbnails

    folder = fr.video_dir(video.id) / "thumbs"
    if Path(video.path).is_file():
        write_thumbnails(
            video.path, FrameMetrics.load(fr.metrics_path(video.id)), detection, folder
        )
        return
    ctx.log(f"{video.filename}: the recording is gone; keeping the existing candidate thumbnails")
    for kind, cands in (("first", detection.first_candidates), ("last", detection.last_candidates)):
        for c in cands:
            jpg = folder / f"{kind}_{c.index}.jpg"
            c.thumbnail = str(jpg) if jpg.is_file() else None
    for _kind, cands, chosen in (
        ("first", detection.first_candidates, detection.first),
        ("last", detection.last_candidates, detection.last),
    ):
        if chosen is not None:
            chosen.thumbnail = next((c.thumbnail for c in cands if c.index == chosen.index), None)


@job_kind("frames.detect", lane="cpu", title="Frame detection (stored metrics)")
def detect(ctx: JobContext) -> dict:
    """Detection again with (new) exclusion rectangles, from ``metrics.npz`` only: no decoding."""
    from pipelines.frames import FrameReviewError, parse_exclusions
    from pipelines.frames import detect as detect_frames

    video_ids = list(ctx.params.get("video_ids") or [ctx.params["video_id"]])
    new_rects = ctx.params.get("exclusions")
    if new_rects is not None:
        new_rects = [
            r.to_dict() for r in parse_exclusions(new_rects)
        ]  # checked before anything changes
    results, errors = {}, {}
    for k, video_id in enumerate(video_ids):
        ctx.progress.update(stage="detecting", fraction=k / len(video_ids), item=video_id)
        try:
            video = fr.get_video(video_id, SYSTEM)
            rects = new_rects if new_rects is not None else video.exclusions
            status_bar = ctx.params.get("status_bar", video.status_bar)
            kwargs = {} if status_bar is None else {"status_bar": status_bar}
            detection = detect_frames(fr.metrics_path(video_id), rects or None, **kwargs)
            # Kept only once they worked: a rejected set of rectangles leaves the old ones.
            video = fr.set_exclusions(video_id, rects, status_bar)
            _thumbnails(video, detection, ctx)
            video = fr.store_detection(video_id, detection.to_dict())
            results[video_id] = {
                "first": video.first_frame,
                "last": video.last_frame,
                "latency_ms": video.latency_ms,
                "confidence": detection.confidence,
                "marking_method": video.marking_method,
            }
            ctx.log(
                f"{video.filename}: first {detection.first and detection.first.index}, "
                f"last {detection.last and detection.last.index} (excluded {detection.excluded_share:.1%})"
            )
        except (FrameReviewError, fr.NotFound, fr.FrameInputError) as exc:
            errors[video_id] = str(exc)
            ctx.log(f"{video_id}: {exc}")
    if errors and not results:
        raise fr.FrameInputError("; ".join(f"{k}: {v}" for k, v in errors.items()))
    return {"videos": results, "errors": errors}


@job_kind("frames.export", lane="cpu", title="Task export (CSV/XLSX)")
def export(ctx: JobContext) -> dict:
    from pipelines.frames.report import export as write_export

    task = fr_tasks.get_task(ctx.params["task_id"], SYSTEM)
    fmt = ctx.params.get("format", "excel")
    ctx.progress.update(stage="exporting", fraction=0.1, item=task.name)
    rows = fr_tasks.task_stats_rows(task.id, SYSTEM)
    path = write_export(rows, fmt, ctx.outputs, task.name)
    ctx.log(f"{len(rows)} rows → {path.name}")
    return {"task_id": task.id, "rows": len(rows), "file": f"outputs/{path.name}"}


QR_MODES = ("simple", "artistic", "animated")


@job_kind("frames.qr", lane="cpu", title="QR code")
def qr(ctx: JobContext) -> dict:
    from pipelines.frames import qr as qr_tools

    p = ctx.params
    mode = p.get("mode", "simple")
    if mode not in QR_MODES:
        raise fr.FrameInputError(f"mode {mode!r}: use one of {', '.join(QR_MODES)}.")
    common = {
        "version": p.get("version"),
        "level": p.get("level", "H"),
        "contrast": float(p.get("contrast", 1.0)),
        "brightness": float(p.get("brightness", 1.0)),
    }
    ctx.progress.update(stage="drawing", fraction=0.2, item=mode)
    if mode == "simple":
        data, name = qr_tools.simple_qr(p.get("words", ""), **common), f"qr_{ctx.id}.png"
    else:
        pictures = sorted(ctx.inputs.glob("picture*"))
        if not pictures:
            raise fr.FrameInputError(
                f"A {mode} QR code needs a background picture"
                + (" (a GIF)." if mode == "animated" else " (PNG, JPG, BMP).")
            )
        fn = qr_tools.artistic_qr if mode == "artistic" else qr_tools.animated_qr
        data = fn(
            p.get("words", ""), str(pictures[0]), colorized=bool(p.get("colorized")), **common
        )
        name = f"qr_{ctx.id}.png" if mode == "artistic" else f"qr_{ctx.id}.gif"
    ctx.outputs.mkdir(parents=True, exist_ok=True)
    (ctx.outputs / name).write_bytes(data)
    return {"mode": mode, "file": f"outputs/{name}", "bytes": len(data)}


register(
    Tool(
        name="frames",
        title="Frame review",
        kinds=("frames.analyze", "frames.detect", "frames.export", "frames.qr"),
        options="pipelines.frames.qr:QROptions",
        settings=("allowed_roots", "max_upload_mb"),
        router="studio.api.frames:router",
        prefix="/frames",
        aliases=("",),  # seed 001's paths: /api/v1/video/..., /task/..., /review/..., /qr/...
        tab=Tab("Frame review", "tab-frames", "studio.tabs.frames:build", 20),
    )
)
