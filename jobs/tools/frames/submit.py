"""Adding recordings and submitting frame review jobs: the one way in, called
by both the REST router (``studio.api.frames``) and the tab (``studio.tabs.frames``).

Every function takes the caller (:class:`jobs.access.User`) and checks that
they own what the job will touch before anything is queued.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs import queue
from jobs.access import User
from jobs.inputs import check_size, server_files, server_path
from jobs.tools.frames import records as fr
from jobs.tools.frames import tasks as fr_tasks
from jobs.tools.frames.records import Conflict, FrameInputError, Video

EXPORT_FORMATS = ("excel", "xlsx", "csv")


@dataclass
class Queued:
    """A recording whose analysis job was submitted (or that failed to be added)."""

    video_id: str | None
    job_id: str | None
    filename: str
    status: str  # seed word: "uploading" once queued, "failed" when it could not be added
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "video_id": self.video_id,
            "task_id": self.job_id,
            "job_id": self.job_id,
            "filename": self.filename,
            "status": self.status,
            "message": self.message,
        }


def submit_analysis(video: Video, user: User) -> Queued:
    """Queue the ``frames.analyze`` job of a recording the caller owns."""
    video = fr.get_video(video.id, user)
    job = queue.submit(
        "frames.analyze",
        {"video_id": video.id},
        owner=video.owner,
        title=f"Frame analysis: {video.filename}",
    )
    if job["status"] == "failed":
        fr.fail_video(video.id, job["error"] or "The analysis could not be queued.")
        return Queued(video.id, job["id"], video.filename, "failed", job["error"] or "not queued")
    fr.set_job(video.id, job["id"], step="uploaded")
    return Queued(
        video.id, job["id"], video.filename, "uploading", "Uploaded; the analysis job is queued"
    )


def add_saved_file(
    path: Path,
    user: User,
    batch_id: str | None = None,
    video_id: str | None = None,
    move: bool = False,
) -> Queued:
    """A recording saved on this machine (an upload) → kept under ``media/frames/<id>/``
    (a hard link or a move when possible), recorded, its analysis queued."""
    name = fr.check_filename(path.name)
    check_size(path, name)
    video_id = video_id or fr.new_id()
    target = fr.video_dir(video_id) / name
    if path.resolve() != target.resolve():
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            shutil.move(str(path), target)
        else:
            try:
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)
    video = fr.create_video(name, user.name, video_id=video_id, path=target, batch_id=batch_id)
    return submit_analysis(video, user)


def add_server_recordings(text: str, user: User, batch_id: str) -> tuple[list[Queued], list[str]]:
    """A recording or a folder of recordings on the server (``STUDIO_ALLOWED_ROOTS``; every
    file resolved and checked, links out of the roots left out) → one analysis job each.
    Returns (queued, skipped reasons); FrameInputError when nothing can be analysed."""
    root = server_path(text)
    skipped: list[str] = []
    if root.is_file():
        sources = [root]
    else:
        sources, skipped = server_files(root, fr.allowed_extensions())
    if not sources:
        raise FrameInputError(
            f"{text} holds no recordings ({', '.join(fr.allowed_extensions())})"
            + (f"; left out: {'; '.join(skipped)}" if skipped else "")
            + "."
        )
    queued = []
    for source in sources:
        try:
            video = fr.create_video(source.name, user.name, source_path=source, batch_id=batch_id)
            queued.append(submit_analysis(video, user))
        except FrameInputError as exc:
            queued.append(Queued(None, None, source.name, "failed", str(exc)))
    return queued, skipped


def submit_detect(
    video_ids: list[str],
    user: User,
    exclusions: list[dict[str, float]],
    status_bar: float | None = None,
) -> Mapping[str, Any]:
    """Re-run the detection from stored metrics (no decoding) for recordings the caller owns."""
    from pipelines.frames import parse_exclusions

    try:
        rects = [r.to_dict() for r in parse_exclusions(exclusions)]
    except ValueError as exc:
        raise FrameInputError(str(exc)) from None
    videos = [fr.get_video(v, user) for v in video_ids]
    ready = [v.id for v in videos if fr.metrics_path(v.id).is_file()]
    if not ready:
        raise Conflict("No analysed recording to re-detect yet; wait for the analysis job.")
    params: dict[str, Any] = {"video_ids": ready, "exclusions": rects}
    if status_bar is not None:
        params["status_bar"] = status_bar
    return queue.submit("frames.detect", params, owner=user.name)


def submit_task_detect(
    task_id: str, user: User, exclusions: list[dict[str, float]], status_bar: float | None = None
) -> Mapping[str, Any]:
    """Exclusions for every recording of a task: kept on the task, then one detection job."""
    ids = [tv.video.id for tv in fr_tasks.task_videos(task_id, user)]
    fr_tasks.update_task(task_id, user, exclusions=exclusions)
    if not ids:
        raise Conflict(f"Task {task_id} has no analysed recordings to re-detect.")
    return submit_detect(ids, user, exclusions, status_bar)


def submit_export(task_id: str, user: User, fmt: str = "excel") -> Mapping[str, Any]:
    if fmt not in EXPORT_FORMATS:
        raise FrameInputError(f"format {fmt!r}: use excel or csv.")
    fr_tasks.get_task(task_id, user)
    return queue.submit("frames.export", {"task_id": task_id, "format": fmt}, owner=user.name)


def submit_qr(
    options: dict[str, Any], mode: str, user: User, picture: Path | None = None
) -> Mapping[str, Any]:
    """A ``frames.qr`` job; ``options`` are :class:`pipelines.frames.qr.QROptions` fields."""
    from pydantic import ValidationError

    from pipelines.frames.qr import QROptions

    if mode not in ("simple", "artistic", "animated"):
        raise FrameInputError(f"mode {mode!r}: use simple, artistic or animated.")
    if mode != "simple" and picture is None:
        raise FrameInputError(
            f"A {mode} QR code needs a background "
            + ("GIF." if mode == "animated" else "picture (PNG, JPG, BMP).")
        )
    try:
        checked = QROptions(**options)
    except ValidationError as exc:
        raise FrameInputError(
            "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors()
            )
        ) from None
    params = {"mode": mode, **checked.model_dump()}
    files: dict[str, str | Path] = (
        {f"picture{picture.suffix.lower() or '.img'}": picture} if picture is not None else {}
    )
    return queue.submit("frames.qr", params, owner=user.name, files=files)
