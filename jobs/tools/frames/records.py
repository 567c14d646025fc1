"""Frame review records (seed 001): recordings, their marks and the history of
every mark. Tasks are in :mod:`.tasks`, single frames for the viewer in
:mod:`.viewer`.

Tables (made by the records' baseline migration, ``jobs/records/migrations``):

- ``fr_videos``: one row per recording: file, owner, processing status (seed:
  uploading / processing / completed / failed / cancelled), metadata, the
  detector's result (candidates, JSON), the current first/last marks with
  their stream times, marking method (algorithm / manual / hybrid), review
  state (pending / in_review / reviewed, reviewer, notes), exclusion rectangles.
- ``fr_marks``: the history: who changed which mark, when, from → to, how.
- ``fr_tasks`` and ``fr_task_videos`` (with ``ord``): tasks and their videos.

Per-frame metrics never go into the database: they stay in
``STUDIO_HOME/media/frames/<video_id>/metrics.npz`` beside the recording,
the candidate thumbnails and ``analysis.json``.

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
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from jobs.access import User, check_owner, owner_filter
from jobs.db import database
from jobs.settings import get_settings
from pipelines.errors import BadInput, Conflict, NotFound
from pipelines.names import file_name, has_control

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv")
VIDEO_STATUSES = ("uploading", "processing", "completed", "failed", "cancelled")
REVIEW_STATUSES = ("pending", "in_review", "reviewed")
METHODS = ("algorithm", "manual", "hybrid")
WHICH = ("first", "last")
ALGORITHM_USER = "algorithm"
HYBRID_WINDOW = 3  # frames: a mark this close to a candidate counts as an adjusted candidate
MAX_FRAME = 10_000_000  # no recording has more frames: larger indexes are refused in the schema
NOTES_MAX = 2000
_JSON = {"info": "{}", "detection": "{}", "exclusions": "[]", "warnings": "[]"}


class FrameInputError(BadInput):
    """A wrong frame number, name, region or state of a recording (HTTP 422)."""


# -- typed records -------------------------------------------------------------------


@dataclass
class Video:
    """One recording as stored: what the REST views and the tab read."""

    id: str
    filename: str
    owner: str
    path: str
    status: str
    created_at: float
    updated_at: float
    source_path: str | None = None
    batch_id: str | None = None
    current_step: str | None = None
    error: str | None = None
    job_id: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    detection: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    frame_count: int | None = None
    first_frame: int | None = None
    first_time: float | None = None
    last_frame: int | None = None
    last_time: float | None = None
    marking_method: str | None = None
    ai_confidence: float | None = None
    review_status: str = "pending"
    reviewed_by: str | None = None
    reviewed_at: float | None = None
    notes: str = ""
    exclusions: list[dict[str, float]] = field(default_factory=list)
    status_bar: float | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Video:
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in row.items() if k in names}
        for k, empty in _JSON.items():
            if isinstance(data.get(k), str) or data.get(k) is None:
                data[k] = json.loads(data.get(k) or empty)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def mark_frame(self, which: str) -> int | None:
        return self.first_frame if which == "first" else self.last_frame

    def mark_time(self, which: str) -> float | None:
        return self.first_time if which == "first" else self.last_time

    def candidates(self, which: str) -> list[dict[str, Any]]:
        return list((self.detection or {}).get(f"{which}_candidates") or [])

    @property
    def latency_ms(self) -> float | None:
        if self.first_time is None or self.last_time is None:
            return None
        return round((self.last_time - self.first_time) * 1000.0, 3)

    @property
    def analysed(self) -> bool:
        return self.status == "completed"

    @property
    def needs_review(self) -> bool:
        """Analysed and not yet confirmed by a reviewer (both marks)."""
        return self.analysed and self.review_status != "reviewed"

    @property
    def report_status(self) -> str:
        """The status a report shows: 'reviewed' once a person confirmed it, else the processing status."""
        return "reviewed" if self.analysed and self.review_status == "reviewed" else self.status


@dataclass
class MarkEntry:
    """One change of a mark: who, when, which mark, from → to, how."""

    id: int
    video_id: str
    which: str
    method: str
    user: str
    at: float
    from_frame: int | None = None
    from_time: float | None = None
    to_frame: int | None = None
    to_time: float | None = None
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> float:
    return time.time()


def _enc(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (json.dumps(v) if k in _JSON and not isinstance(v, str) else v)
        for k, v in values.items()
    }


# -- where files live ------------------------------------------------------------------


def media_root() -> Path:
    return get_settings().media_dir / "frames"


def video_dir(video_id: str) -> Path:
    return media_root() / video_id


def metrics_path(video_id: str) -> Path:
    return video_dir(video_id) / "metrics.npz"


def check_filename(name: str) -> str:
    """The recording's file name (no folders), checked for its extension. Whether it
    really is a video is decided by probing its container in the analysis job."""
    try:
        name = file_name(name)
    except BadInput as exc:
        raise FrameInputError(str(exc)) from None
    if Path(name).suffix.lower() not in VIDEO_EXTENSIONS:
        raise FrameInputError(
            f"{name}: not a recording format the studio reads. Allowed formats: "
            f"{', '.join(VIDEO_EXTENSIONS)}."
        )
    return name


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
    database().table("fr_videos").insert(
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
    row = next(database().query("select * from fr_videos where id = ?", [str(video_id)]), None)
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
    database().table("fr_videos").update(video_id, _enc(values))
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
    where, args = [], []
    who = owner_filter(user, owner)
    if who is not None:
        where.append("owner = ?")
        args.append(who)
    if status:
        where.append("status = ?")
        args.append(status)
    if batch_id:
        where.append("batch_id = ?")
        args.append(batch_id)
    if ids is not None:
        where.append(f"id in ({','.join('?' * len(ids))})" if ids else "0")
        args += ids
    clause = f"where {' and '.join(where)}" if where else ""
    rows = database().query(
        f"select * from fr_videos {clause} order by created_at desc, id limit ? offset ?",
        [*args, limit, skip],
    )
    return [Video.from_row(r) for r in rows]


def list_pending(user: User, skip: int = 0, limit: int = 50) -> list[Video]:
    """The review queue: the caller's analysed recordings not yet confirmed by a
    reviewer (both marks), least confident first, then oldest."""
    who = owner_filter(user)
    clause, args = ("and owner = ?", [who]) if who is not None else ("", [])
    rows = database().query(
        f"select * from fr_videos where status = 'completed' and review_status != 'reviewed' {clause} "
        "order by coalesce(ai_confidence, 0), created_at, id limit ? offset ?",
        [*args, limit, skip],
    )
    return [Video.from_row(r) for r in rows]


def delete_video(video_id: str, user: User) -> None:
    get_video(video_id, user)
    db = database()
    db.execute("delete from fr_task_videos where video_id = ?", [video_id])
    db.execute("delete from fr_marks where video_id = ?", [video_id])
    db.execute("delete from fr_videos where id = ?", [video_id])
    shutil.rmtree(video_dir(video_id), ignore_errors=True)


def set_job(video_id: str, job_id: str, step: str = "queued") -> Video:
    """The analysis job is queued: the recording stays 'uploading' (seed 001) until the job starts."""
    return _update(video_id, job_id=job_id, status="uploading", current_step=step, error=None)


def fail_video(video_id: str, error: str, status: str = "failed") -> Video:
    return _update(video_id, status=status, current_step=status, error=error)


def frame_times(video_id: str) -> np.ndarray:
    """Seconds of every frame from the first (stream timestamps), from ``metrics.npz``."""
    path = metrics_path(video_id)
    if not path.is_file():
        raise Conflict(
            f"Recording {video_id} has no analysis yet (no metrics); wait for its analysis job."
        )
    with np.load(path, allow_pickle=False) as z:
        return np.asarray(z["times"], float)


def check_frame(video: Video, frame: Any, times: np.ndarray | None = None) -> int:
    """``frame`` as a frame index of the recording, or FrameInputError naming the range."""
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
    """Save the analysis job's result and record the detector's marks (method ``algorithm``)."""
    info = analysis["info"]
    video = _update(
        video_id,
        status="completed",
        current_step="completed",
        error=None,
        info=info,
        fps=analysis["fps"],
        width=info["width"],
        height=info["height"],
        duration=analysis["duration"],
        frame_count=analysis["frame_count"],
        warnings=analysis.get("warnings", []),
    )
    return store_detection(video_id, analysis["detection"], video)


def store_detection(video_id: str, detection: dict[str, Any], video: Video | None = None) -> Video:
    """Keep a detection result; move the marks to the detector's choice unless a person has marked them."""
    video = video or _load(video_id)
    values: dict[str, Any] = {
        "detection": detection,
        "ai_confidence": detection.get("confidence"),
        "status_bar": detection.get("status_bar"),
    }
    human = video.marking_method in ("manual", "hybrid")
    for which in WHICH:
        chosen = detection.get(which)
        current = video.mark_frame(which)
        if human or chosen is None or chosen["index"] == current:
            continue
        values[f"{which}_frame"], values[f"{which}_time"] = chosen["index"], chosen["time"]
        _history(
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
    if not human:
        values["marking_method"] = "algorithm"
    return _update(video_id, **values)


def _history(
    video_id: str,
    which: str,
    from_frame: int | None,
    from_time: float | None,
    to_frame: int,
    to_time: float,
    method: str,
    user: str,
    notes: str = "",
) -> None:
    database().table("fr_marks").insert(
        {
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
    )


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
            _history(
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
    return {
        r["which"]: r["method"]
        for r in database().query(
            "select which, method from fr_marks where video_id = ? order by id", [video_id]
        )
    }


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
    return [
        MarkEntry(**r)
        for r in database().query(
            "select * from fr_marks where video_id = ? order by id", [video_id]
        )
    ]


def set_exclusions(
    video_id: str, rects: list[dict[str, float]], status_bar: float | None = None
) -> Video:
    """Keep the exclusion rectangles that a detection job has just used (the job checked the owner)."""
    values: dict[str, Any] = {"exclusions": rects}
    if status_bar is not None:
        values["status_bar"] = status_bar
    return _update(video_id, **values)


def change_curve(video: Video) -> dict[str, list[float]]:
    """Per-frame times and scene-change scores (for the review chart), from ``metrics.npz``."""
    path = metrics_path(video.id)
    if not path.is_file():
        raise Conflict(f"Recording {video.id} has no analysis yet.")
    with np.load(path, allow_pickle=False) as z:
        return {
            "time": np.round(z["times"], 6).tolist(),
            "change": np.round(z["change"].astype(float), 5).tolist(),
            "brightness": np.round(z["brightness"].astype(float), 4).tolist(),
        }


def frame_metrics(video: Video) -> dict[str, np.ndarray]:
    """The per-frame arrays the review's frame list shows (times, brightness, sharpness, change)."""
    path = metrics_path(video.id)
    if not path.is_file():
        raise Conflict(f"Recording {video.id} has no analysis yet.")
    with np.load(path, allow_pickle=False) as z:
        return {
            k: np.asarray(z[k], float)
            for k in ("times", "brightness", "sharpness", "change")
            if k in z
        }
