"""Frame review records (seed 001): recordings, their marks and the history of
every mark. Tasks are in :mod:`.tasks`, single frames for the viewer in
:mod:`.viewer`.

Tables (defined and reached in :mod:`.repository`):

- ``fr_videos``: one row per recording: file, owner, processing status (seed:
  uploading / processing / completed / failed / cancelled), metadata, the
  detector's result (candidates, JSON), the current first/last marks with
  their stream times, marking method (algorithm / manual / hybrid), review
  state (pending / in_review / reviewed, reviewer, notes), exclusion rectangles.
- ``fr_marks``: the history: who changed which mark, when, from → to, how.
- ``fr_tasks`` and ``fr_task_videos`` (with ``ord``): tasks and their videos.

Per-frame metrics never go into the database: they stay in
``STUDIO_HOME/media/frames/<video_id>/metrics.npz`` beside the recording,
the candidate thumbnails and ``analysis.json`` (:mod:`.media`). The typed
records :class:`Video` and :class:`MarkEntry` are in :mod:`.models`.

Every read and write of a user's recording names the caller
(:class:`jobs.access.User`) and goes through :func:`jobs.access.check_owner`:
another user's recording is answered like a missing one (404). Job bodies
act as :data:`jobs.access.SYSTEM`. Errors come from the studio's family:
:class:`NotFound` (404), :class:`FrameInputError` (422), :class:`Conflict` (409).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.access import User, check_owner, owner_filter
from jobs.settings import get_settings
from jobs.tools.frames import repository as repo
from jobs.tools.frames.media import change_curve as change_curve
from jobs.tools.frames.media import frame_metrics as frame_metrics
from jobs.tools.frames.media import frame_times, video_dir
from jobs.tools.frames.media import media_root as media_root
from jobs.tools.frames.media import metrics_path as metrics_path
from jobs.tools.frames.models import _JSON, MarkEntry, Video
from pipelines.errors import BadInput, Conflict, NotFound, WrongFormat
from pipelines.names import file_name, has_control

if TYPE_CHECKING:  # numpy (~0.3 s) is imported by the functions that use it
    import numpy as np

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv")
VIDEO_STATUSES = ("uploading", "processing", "completed", "failed", "cancelled")
REVIEW_STATUSES = ("pending", "in_review", "reviewed")
METHODS = ("algorithm", "manual", "hybrid")
WHICH = ("first", "last")
ALGORITHM_USER = "algorithm"
HYBRID_WINDOW = 3  # frames: a mark this close to a candidate counts as an adjusted candidate
MAX_FRAME = 10_000_000  # no recording has more frames: larger indexes are refused in the schema
NOTES_MAX = 2000


class FrameInputError(BadInput):
    """A wrong frame number, name, region or state of a recording (HTTP 422)."""


class RecordingFormatError(WrongFormat, FrameInputError):
    """A recording in a format frame review does not take (HTTP 400, seed 001's answer)."""


def _now() -> float:
    return time.time()


def _enc(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (json.dumps(v) if k in _JSON and not isinstance(v, str) else v)
        for k, v in values.items()
    }


# -- names -----------------------------------------------------------------------------


def check_filename(name: str) -> str:
    """The recording's file name (no folders), checked for its extension. Whether it
    really is a video is decided by probing its container in the analysis job."""
    try:
        name = file_name(name)
    except BadInput as exc:
        raise FrameInputError(str(exc)) from None
    allowed = allowed_extensions()
    if Path(name).suffix.lower() not in allowed:
        setting = " (ALLOWED_EXTENSIONS)" if get_settings().frames_allowed_extensions else ""
        raise RecordingFormatError(
            f"{name}: not a recording format this studio takes. Allowed formats{setting}: "
            f"{', '.join(allowed) or 'none'}; convert the recording to one of them."
        )
    return name


def allowed_extensions() -> tuple[str, ...]:
    """The recording formats uploads and server folders may have: ALLOWED_EXTENSIONS
    (seed 001's setting) among the ones frame review reads; all of those by default."""
    named = get_settings().frames_allowed_extensions
    if not named:
        return VIDEO_EXTENSIONS
    return tuple(ext for ext in named.split(",") if ext in VIDEO_EXTENSIONS)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


# -- videos ----------------------------------------------------------------------------


def create_video(
    filename: str,
    owner: str,
    video_id: str | None = None,
    path: str | Path | None = None,
    source_path: str | Path | None = None,
    batch_id: str | None = None,
) -> Video:
    """A record for a recording that is (about to be) under ``media/frames/<id>/``,
    owned by ``owner``. ``source_path``: a checked server file the analysis job copies in first."""
    filename = check_filename(filename)
    video_id = video_id or new_id()
    now = _now()
    repo.insert_video(
        {
            "id": video_id,
            "filename": filename,
            "owner": owner,
            "path": str(path or video_dir(video_id) / filename),
            "source_path": str(source_path) if source_path else None,
            "batch_id": batch_id,
            "status": "uploading",
            "current_step": "uploaded",
            "info": "{}",
            "detection": "{}",
            "warnings": "[]",
            "exclusions": "[]",
            "notes": "",
            "review_status": "pending",
            "created_at": now,
            "updated_at": now,
        }
    )
    return _load(video_id)


def _load(video_id: str) -> Video:
    row = repo.video_row(str(video_id))
    if row is None:
        raise NotFound(
            f"No recording {video_id!r}. It does not exist or is not yours; "
            "list recordings with GET /api/v1/video/list."
        )
    return Video.from_row(row)


def get_video(video_id: str, user: User) -> Video:
    """The recording, if ``user`` may see it (else NotFound, like a missing one)."""
    video = _load(video_id)
    check_owner(video.owner, user, f"recording {video_id!r}")
    return video


def _update(video_id: str, **values: Any) -> Video:
    values["updated_at"] = _now()
    repo.update_video_row(video_id, _enc(values))
    return _load(video_id)


def update_video(video_id: str, user: User, **values: Any) -> Video:
    """Change stored fields of a recording the caller may change."""
    get_video(video_id, user)
    return _update(video_id, **values)


def set_notes(video_id: str, user: User, notes: str) -> Video:
    return update_video(video_id, user, notes=_clean_text(notes, "notes", NOTES_MAX))


def list_videos(
    user: User,
    status: str | None = None,
    skip: int = 0,
    limit: int = 50,
    ids: list[str] | None = None,
    batch_id: str | None = None,
    owner: str | None = None,
) -> list[Video]:
    """The caller's recordings, newest first (an admin: all, or ``owner``'s)."""
    rows = repo.video_rows(owner_filter(user, owner), status, batch_id, ids, skip, limit)
    return [Video.from_row(r) for r in rows]


def list_pending(user: User, skip: int = 0, limit: int = 50) -> list[Video]:
    """The review queue: the caller's analysed recordings not yet confirmed by a
    reviewer (both marks), least confident first, then oldest."""
    return [Video.from_row(r) for r in repo.pending_rows(owner_filter(user), skip, limit)]


def delete_video(video_id: str, user: User) -> None:
    """Delete the recording, its marks' history and its task links (one
    transaction), then its files."""
    get_video(video_id, user)
    repo.delete_video_rows(video_id)
    shutil.rmtree(video_dir(video_id), ignore_errors=True)


def set_job(video_id: str, job_id: str, step: str = "queued") -> Video:
    """The analysis job is queued: the recording stays 'uploading' (seed 001) until the job starts."""
    return _update(video_id, job_id=job_id, status="uploading", current_step=step, error=None)


def fail_video(video_id: str, error: str, status: str = "failed") -> Video:
    return _update(video_id, status=status, current_step=status, error=error)


def check_frame(video: Video, frame: Any, times: np.ndarray | None = None) -> int:
    """``frame`` as a frame index of the recording, or FrameInputError naming the range."""
    import numpy as np

    n = len(times) if times is not None else (video.frame_count or 0)
    if isinstance(frame, float) and frame.is_integer():
        frame = int(frame)
    if (
        isinstance(frame, bool)
        or not isinstance(frame, (int, np.integer))
        or not 0 <= int(frame) < n
    ):
        raise FrameInputError(
            f"Frame {frame!r} is out of range: {video.filename} has {n} frames (0-{n - 1})."
        )
    return int(frame)


def store_analysis(video_id: str, analysis: dict[str, Any]) -> Video:
    """Save the analysis job's result and record the detector's marks (method
    ``algorithm``), in one transaction: a reader never sees 'completed' without
    the marks."""
    info = analysis["info"]
    values: dict[str, Any] = {
        "status": "completed",
        "current_step": "completed",
        "error": None,
        "info": info,
        "fps": analysis["fps"],
        "width": info["width"],
        "height": info["height"],
        "duration": analysis["duration"],
        "frame_count": analysis["frame_count"],
        "warnings": analysis.get("warnings", []),
    }
    return store_detection(video_id, analysis["detection"], values)


def store_detection(
    video_id: str, detection: dict[str, Any], extra: dict[str, Any] | None = None
) -> Video:
    """Keep a detection result; move the marks to the detector's choice unless a
    person has marked them. The record (with ``extra`` fields) and the marks'
    history are written together."""
    video = _load(video_id)
    values: dict[str, Any] = {
        **(extra or {}),
        "detection": detection,
        "ai_confidence": detection.get("confidence"),
        "status_bar": detection.get("status_bar"),
    }
    human = video.marking_method in ("manual", "hybrid")
    history: list[dict[str, Any]] = []
    for which in WHICH:
        chosen = detection.get(which)
        current = video.mark_frame(which)
        if human or chosen is None or chosen["index"] == current:
            continue
        values[f"{which}_frame"], values[f"{which}_time"] = chosen["index"], chosen["time"]
        history.append(
            _mark_row(
                video_id,
                which,
                current,
                video.mark_time(which),
                chosen["index"],
                chosen["time"],
                "algorithm",
                ALGORITHM_USER,
                chosen.get("reason", ""),
            )
        )
    if not human:
        values["marking_method"] = "algorithm"
    values["updated_at"] = _now()
    repo.update_video_with_marks(video_id, _enc(values), history)
    return _load(video_id)


def _mark_row(
    video_id: str,
    which: str,
    from_frame: int | None,
    from_time: float | None,
    to_frame: int,
    to_time: float,
    method: str,
    user: str,
    notes: str = "",
) -> dict[str, Any]:
    """One change of a mark, as its history row."""
    return {
        "video_id": video_id,
        "which": which,
        "from_frame": from_frame,
        "from_time": from_time,
        "to_frame": to_frame,
        "to_time": to_time,
        "method": method,
        "user": user,
        "notes": notes or "",
        "at": _now(),
    }


def infer_method(video: Video, which: str, frame: int) -> str:
    """'hybrid' when the frame is a detector candidate (or within HYBRID_WINDOW frames of one:
    the reviewer adjusted it), 'manual' otherwise."""
    if any(abs(int(c["index"]) - int(frame)) <= HYBRID_WINDOW for c in video.candidates(which)):
        return "hybrid"
    return "manual"


def _clean_text(text: str | None, what: str, limit: int) -> str:
    text = text or ""
    if len(text) > limit:
        raise FrameInputError(f"{what} is {len(text)} characters long; keep it under {limit}.")
    if has_control(text, multiline=True):
        raise FrameInputError(f"{what} holds control characters; use plain text.")
    return text


def mark(
    video_id: str,
    user: User,
    first_frame: int | None = None,
    last_frame: int | None = None,
    notes: str | None = None,
    method: str | None = None,
    reviewer: str | None = None,
) -> Video:
    """Set the first and/or last frame by a person; each change goes into the history.

    ``method``: 'manual' or 'hybrid'; None infers it (:func:`infer_method`).
    ``reviewer``: the name kept in the history (default: the caller). The recording
    is 'reviewed' once both marks are confirmed by a person, else 'in_review'."""
    video = get_video(video_id, user)
    if not video.analysed:
        raise Conflict(
            f"Recording {video_id} is {video.status}; only analysed recordings can be marked."
        )
    if first_frame is None and last_frame is None and notes is None:
        raise FrameInputError(
            "Give first_frame and/or last_frame (frame numbers, 0-based) to mark."
        )
    if method is not None and method not in ("manual", "hybrid"):
        raise FrameInputError(
            f"method {method!r}: a person's mark is 'manual' or 'hybrid' "
            "(accepted/adjusted candidate)."
        )
    notes = None if notes is None else _clean_text(notes, "review notes", NOTES_MAX)
    who = reviewer or user.name
    times = frame_times(video_id)
    planned: list[tuple[str, int, float, str]] = []
    for which, raw in (("first", first_frame), ("last", last_frame)):
        if raw is None:
            continue
        frame = check_frame(video, raw, times)
        planned.append(
            (which, frame, float(times[frame]), method or infer_method(video, which, frame))
        )
    new = {which: frame for which, frame, _, _ in planned}
    new_first = new.get("first", video.first_frame)
    new_last = new.get("last", video.last_frame)
    if new_first is not None and new_last is not None and new_last < new_first:
        raise FrameInputError(
            f"The last frame ({new_last}) is before the first frame ({new_first}); "
            "mark the first frame earlier or the last frame later."
        )
    values: dict[str, Any] = {}
    for which, frame, t, how in planned:
        # A change of frame, or a person confirming the detector's frame (its method changes), is recorded.
        if frame != video.mark_frame(which) or _latest_method(video_id, which) in (
            None,
            "algorithm",
        ):
            repo.insert_mark(
                _mark_row(
                    video_id,
                    which,
                    video.mark_frame(which),
                    video.mark_time(which),
                    frame,
                    t,
                    how,
                    who,
                    notes or "",
                )
            )
        values[f"{which}_frame"], values[f"{which}_time"] = frame, t
    if planned:
        values["marking_method"] = _overall_method(video_id)
    if notes is not None:
        values["notes"] = notes
    confirmed = _confirmed_marks(video_id)
    values.update(
        review_status="reviewed" if confirmed >= {"first", "last"} else "in_review",
        reviewed_by=who,
        reviewed_at=_now(),
    )
    return _update(video_id, **values)


def _latest_methods(video_id: str) -> dict[str, str]:
    return {r["which"]: r["method"] for r in repo.mark_methods(video_id)}


def _latest_method(video_id: str, which: str) -> str | None:
    return _latest_methods(video_id).get(which)


def _confirmed_marks(video_id: str) -> set[str]:
    """The marks whose latest change was made by a person."""
    return {which for which, method in _latest_methods(video_id).items() if method != "algorithm"}


def _overall_method(video_id: str) -> str:
    """The recording's method from the latest change of each mark: any 'manual' → manual;
    all 'algorithm' → algorithm; otherwise (a person accepted/adjusted candidates) hybrid."""
    methods = set(_latest_methods(video_id).values())
    if "manual" in methods:
        return "manual"
    return "algorithm" if methods <= {"algorithm"} else "hybrid"


def history(video_id: str, user: User) -> list[MarkEntry]:
    get_video(video_id, user)
    return [MarkEntry(**r) for r in repo.mark_rows(video_id)]


def set_exclusions(
    video_id: str, rects: list[dict[str, float]], status_bar: float | None = None
) -> Video:
    """Keep the exclusion rectangles that a detection job has just used (the job checked the owner)."""
    values: dict[str, Any] = {"exclusions": rects}
    if status_bar is not None:
        values["status_bar"] = status_bar
    return _update(video_id, **values)
