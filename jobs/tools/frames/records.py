"""Frame review records (seed 001): recordings, their marks and the history of
every mark, tasks grouping recordings, exclusion regions.

Tables (registered with :func:`jobs.db.migration`, all in ``studio.db``):

- ``fr_videos``: one row per recording: file, processing status (seed:
  uploading / processing / completed / failed / cancelled), metadata, the
  detector's result (candidates, JSON), the current first/last marks with
  their stream times, marking method (algorithm / manual / hybrid), review
  state (reviewer, notes), exclusion rectangles.
- ``fr_marks``: the history: who changed which mark, when, from → to, how.
- ``fr_tasks`` and ``fr_task_videos`` (with ``ord``): tasks and their videos.

Per-frame metrics never go into the database: they stay in
``STUDIO_HOME/media/frames/<video_id>/metrics.npz`` beside the recording,
the candidate thumbnails and ``analysis.json``.

Plain functions, no web framework: the REST router, the tab and the job
kinds all call these. Errors: :class:`NotFound` (HTTP 404),
:class:`FrameInputError` (a ValueError, HTTP 400/422).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from jobs.db import database, migration
from jobs.settings import get_settings

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv")
VIDEO_STATUSES = ("uploading", "processing", "completed", "failed", "cancelled")
METHODS = ("algorithm", "manual", "hybrid")
WHICH = ("first", "last")
ALGORITHM_USER = "algorithm"
HYBRID_WINDOW = 3  # frames: a mark this close to a candidate counts as an adjusted candidate
_JSON = ("info", "detection", "exclusions", "warnings")


class NotFound(LookupError):
    pass


class FrameInputError(ValueError):
    pass


@migration("frames", 1)
def _schema(db) -> None:
    db.execute(
        """
        create table if not exists fr_videos (
            id text primary key,
            filename text not null,
            owner text not null,
            path text not null,
            source_path text,
            batch_id text,
            status text not null,
            current_step text,
            error text,
            job_id text,
            info text not null default '{}',
            detection text not null default '{}',
            warnings text not null default '[]',
            fps real, width integer, height integer, duration real, frame_count integer,
            first_frame integer, first_time real, last_frame integer, last_time real,
            marking_method text,
            ai_confidence real,
            review_status text not null default 'pending',
            reviewed_by text, reviewed_at real,
            notes text not null default '',
            exclusions text not null default '[]',
            status_bar real,
            created_at real not null,
            updated_at real not null
        )
        """
    )
    db.execute("create index if not exists fr_videos_status on fr_videos (status, review_status)")
    db.execute(
        """
        create table if not exists fr_marks (
            id integer primary key autoincrement,
            video_id text not null,
            which text not null,
            from_frame integer, from_time real,
            to_frame integer, to_time real,
            method text not null,
            user text not null,
            notes text not null default '',
            at real not null
        )
        """
    )
    db.execute("create index if not exists fr_marks_video on fr_marks (video_id, id)")
    db.execute(
        """
        create table if not exists fr_tasks (
            id text primary key,
            name text not null,
            description text not null default '',
            created_by text not null,
            exclusions text not null default '[]',
            created_at real not null,
            updated_at real not null
        )
        """
    )
    db.execute(
        """
        create table if not exists fr_task_videos (
            task_id text not null,
            video_id text not null,
            ord integer not null,
            notes text not null default '',
            added_at real not null,
            primary key (task_id, video_id)
        )
        """
    )


def _now() -> float:
    return time.time()


def _decode(row: dict | None) -> dict | None:
    if row is None:
        return None
    d = dict(row)
    for k in _JSON:
        if k in d and isinstance(d[k], str):
            d[k] = json.loads(d[k] or ("[]" if k in ("exclusions", "warnings") else "{}"))
    return d


def _enc(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (json.dumps(v) if k in _JSON and not isinstance(v, str) else v) for k, v in fields.items()}


# -- where files live ------------------------------------------------------------

def media_root() -> Path:
    return get_settings().media_dir / "frames"


def video_dir(video_id: str) -> Path:
    return media_root() / video_id


def metrics_path(video_id: str) -> Path:
    return video_dir(video_id) / "metrics.npz"


def check_filename(name: str) -> str:
    """The recording's file name (no folders). Whether it is a video is decided by
    probing its container in the analysis job, never by the name."""
    name = Path(name or "").name
    if not name or name in (".", ".."):
        raise FrameInputError("The upload has no file name; send the recording as a file (mp4, mov, webm, mkv).")
    return name


def new_id() -> str:
    return uuid.uuid4().hex[:12]


# -- videos ------------------------------------------------------------------------

def create_video(filename: str, owner: str, video_id: str | None = None, path: str | Path | None = None,
                 source_path: str | Path | None = None, batch_id: str | None = None) -> dict[str, Any]:
    """A record for a recording that is (about to be) under ``media/frames/<id>/``.

    ``source_path``: a server file the analysis job copies in first."""
    filename = check_filename(filename)
    video_id = video_id or new_id()
    now = _now()
    database()["fr_videos"].insert({
        "id": video_id, "filename": filename, "owner": owner,
        "path": str(path or video_dir(video_id) / filename),
        "source_path": str(source_path) if source_path else None, "batch_id": batch_id,
        "status": "uploading", "current_step": "uploaded", "info": "{}", "detection": "{}", "warnings": "[]",
        "exclusions": "[]", "notes": "", "review_status": "pending", "created_at": now, "updated_at": now,
    })
    return get_video(video_id)


def get_video(video_id: str) -> dict[str, Any]:
    row = next(database().query("select * from fr_videos where id = ?", [video_id]), None)
    if row is None:
        raise NotFound(f"No recording with id {video_id!r}. List recordings with GET /api/v1/video/list.")
    return _decode(row)


def update_video(video_id: str, **fields: Any) -> dict[str, Any]:
    get_video(video_id)
    fields["updated_at"] = _now()
    database()["fr_videos"].update(video_id, _enc(fields))
    return get_video(video_id)


def list_videos(status: str | None = None, skip: int = 0, limit: int = 50,
                ids: list[str] | None = None) -> list[dict[str, Any]]:
    where, args = [], []
    if status:
        where.append("status = ?")
        args.append(status)
    if ids is not None:
        where.append(f"id in ({','.join('?' * len(ids))})" if ids else "0")
        args += ids
    clause = f"where {' and '.join(where)}" if where else ""
    rows = database().query(f"select * from fr_videos {clause} order by created_at desc, id limit ? offset ?",
                            [*args, limit, skip])
    return [_decode(r) for r in rows]


def list_pending(skip: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """Analysed recordings nobody has reviewed yet, least confident first, then oldest."""
    rows = database().query(
        "select * from fr_videos where status = 'completed' and review_status != 'reviewed' "
        "order by coalesce(ai_confidence, 0), created_at, id limit ? offset ?", [limit, skip])
    return [_decode(r) for r in rows]


def delete_video(video_id: str) -> None:
    get_video(video_id)
    db = database()
    db.execute("delete from fr_task_videos where video_id = ?", [video_id])
    db.execute("delete from fr_marks where video_id = ?", [video_id])
    db.execute("delete from fr_videos where id = ?", [video_id])
    shutil.rmtree(video_dir(video_id), ignore_errors=True)


def set_job(video_id: str, job_id: str, step: str = "queued") -> dict[str, Any]:
    return update_video(video_id, job_id=job_id, status="processing", current_step=step, error=None)


def fail_video(video_id: str, error: str, status: str = "failed") -> dict[str, Any]:
    return update_video(video_id, status=status, current_step=status, error=error)


def frame_times(video_id: str) -> np.ndarray:
    """Seconds of every frame from the first (stream timestamps), from ``metrics.npz``."""
    path = metrics_path(video_id)
    if not path.is_file():
        raise FrameInputError(f"Recording {video_id} has no analysis yet (no metrics); wait for its analysis job.")
    with np.load(path, allow_pickle=False) as z:
        return np.asarray(z["times"], float)


def _frame_time(video_id: str, frame: int, times: np.ndarray | None = None) -> float:
    times = frame_times(video_id) if times is None else times
    if not isinstance(frame, (int, np.integer)) or not 0 <= int(frame) < len(times):
        raise FrameInputError(f"Frame {frame!r} is out of range: recording {video_id} has {len(times)} frames "
                              f"(0-{len(times) - 1}).")
    return float(times[int(frame)])


def store_analysis(video_id: str, analysis: dict[str, Any]) -> dict[str, Any]:
    """Save the analysis job's result and record the detector's marks (method ``algorithm``)."""
    info = analysis["info"]
    video = update_video(video_id, status="completed", current_step="completed", error=None, info=info,
                         fps=analysis["fps"], width=info["width"], height=info["height"],
                         duration=analysis["duration"], frame_count=analysis["frame_count"],
                         warnings=analysis.get("warnings", []))
    return store_detection(video_id, analysis["detection"], video)


def store_detection(video_id: str, detection: dict[str, Any], video: dict | None = None) -> dict[str, Any]:
    """Keep a detection result; move the marks to the detector's choice unless a person has marked them."""
    video = video or get_video(video_id)
    fields: dict[str, Any] = {"detection": detection, "ai_confidence": detection.get("confidence"),
                              "status_bar": detection.get("status_bar")}
    human = video["marking_method"] in ("manual", "hybrid")
    for which in WHICH:
        chosen = detection.get(which)
        current = video[f"{which}_frame"]
        if human or chosen is None or chosen["index"] == current:
            continue
        fields[f"{which}_frame"], fields[f"{which}_time"] = chosen["index"], chosen["time"]
        _history(video_id, which, current, video[f"{which}_time"], chosen["index"], chosen["time"],
                 "algorithm", ALGORITHM_USER, chosen.get("reason", ""))
    if not human:
        fields["marking_method"] = "algorithm"
    return update_video(video_id, **fields)


def _history(video_id, which, from_frame, from_time, to_frame, to_time, method, user, notes="") -> None:
    database()["fr_marks"].insert({"video_id": video_id, "which": which, "from_frame": from_frame,
                                   "from_time": from_time, "to_frame": to_frame, "to_time": to_time,
                                   "method": method, "user": user, "notes": notes or "", "at": _now()})


def infer_method(video: dict[str, Any], which: str, frame: int) -> str:
    """'hybrid' when the frame is a detector candidate (or within HYBRID_WINDOW frames of one:
    the reviewer adjusted it), 'manual' otherwise."""
    cands = (video.get("detection") or {}).get(f"{which}_candidates") or []
    if any(abs(int(c["index"]) - int(frame)) <= HYBRID_WINDOW for c in cands):
        return "hybrid"
    return "manual"


def mark(video_id: str, user: str, first_frame: int | None = None, last_frame: int | None = None,
         notes: str | None = None, method: str | None = None) -> dict[str, Any]:
    """Set the first and/or last frame by a person; each change goes into the history.

    ``method``: 'manual' or 'hybrid'; None infers it (:func:`infer_method`).
    The video is then 'reviewed' by ``user``."""
    video = get_video(video_id)
    if video["status"] != "completed":
        raise FrameInputError(f"Recording {video_id} is {video['status']}; only analysed recordings can be marked.")
    if first_frame is None and last_frame is None and notes is None:
        raise FrameInputError("Give first_frame and/or last_frame (frame numbers, 0-based) to mark.")
    if method is not None and method not in ("manual", "hybrid"):
        raise FrameInputError(f"method {method!r}: a person's mark is 'manual' or 'hybrid' (accepted/adjusted candidate).")
    times = frame_times(video_id)
    fields: dict[str, Any] = {}
    methods = []
    for which, frame in (("first", first_frame), ("last", last_frame)):
        if frame is None:
            continue
        if isinstance(frame, float) and frame.is_integer():
            frame = int(frame)
        t = _frame_time(video_id, frame, times)
        how = method or infer_method(video, which, frame)
        methods.append(how)
        # A change of frame, or a person confirming the detector's frame (its method changes), is recorded.
        if frame != video[f"{which}_frame"] or _latest_method(video_id, which) in (None, "algorithm"):
            _history(video_id, which, video[f"{which}_frame"], video[f"{which}_time"], int(frame), t, how, user,
                     notes or "")
        fields[f"{which}_frame"], fields[f"{which}_time"] = int(frame), t
    new_first = fields.get("first_frame", video["first_frame"])
    new_last = fields.get("last_frame", video["last_frame"])
    if new_first is not None and new_last is not None and new_last < new_first:
        raise FrameInputError(f"The last frame ({new_last}) is before the first frame ({new_first}); "
                              "mark the first frame earlier or the last frame later.")
    if methods:
        fields["marking_method"] = _overall_method(video_id)
    if notes is not None:
        fields["notes"] = notes
    fields.update(review_status="reviewed", reviewed_by=user, reviewed_at=_now())
    return update_video(video_id, **fields)


def _latest_method(video_id: str, which: str) -> str | None:
    row = database().execute("select method from fr_marks where video_id = ? and which = ? order by id desc limit 1",
                             [video_id, which]).fetchone()
    return row[0] if row else None


def _overall_method(video_id: str) -> str:
    """The recording's method from the latest change of each mark: any 'manual' → manual;
    all 'algorithm' → algorithm; otherwise (a person accepted/adjusted candidates) hybrid."""
    latest = {r["which"]: r["method"] for r in database().query(
        "select which, method from fr_marks where video_id = ? order by id", [video_id])}
    methods = set(latest.values())
    if "manual" in methods:
        return "manual"
    return "algorithm" if methods <= {"algorithm"} else "hybrid"


def history(video_id: str) -> list[dict[str, Any]]:
    get_video(video_id)
    return list(database().query("select * from fr_marks where video_id = ? order by id", [video_id]))


def latency_ms(video: dict[str, Any]) -> float | None:
    if video.get("first_time") is None or video.get("last_time") is None:
        return None
    return round((video["last_time"] - video["first_time"]) * 1000.0, 3)


def set_exclusions(video_id: str, rects: list[dict[str, float]], status_bar: float | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"exclusions": rects}
    if status_bar is not None:
        fields["status_bar"] = status_bar
    return update_video(video_id, **fields)


# -- tasks --------------------------------------------------------------------------

def create_task(name: str, created_by: str, description: str = "") -> dict[str, Any]:
    name = (name or "").strip()
    if not name:
        raise FrameInputError("Give the task a name.")
    task_id = new_id()
    now = _now()
    database()["fr_tasks"].insert({"id": task_id, "name": name, "description": description or "",
                                   "created_by": created_by, "exclusions": "[]", "created_at": now,
                                   "updated_at": now})
    return get_task(task_id)


def get_task(task_id: str) -> dict[str, Any]:
    row = next(database().query("select * from fr_tasks where id = ?", [task_id]), None)
    if row is None:
        raise NotFound(f"No task with id {task_id!r}. List tasks with GET /api/v1/task/list.")
    return _decode(row)


def list_tasks(user: str | None = None, skip: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    where, args = ("where created_by = ?", [user]) if user else ("", [])
    rows = database().query(f"select * from fr_tasks {where} order by created_at desc, id limit ? offset ?",
                            [*args, limit, skip])
    return [_decode(r) for r in rows]


def update_task(task_id: str, name: str | None = None, description: str | None = None,
                exclusions: list | None = None) -> dict[str, Any]:
    get_task(task_id)
    fields: dict[str, Any] = {"updated_at": _now()}
    if name is not None:
        if not name.strip():
            raise FrameInputError("A task name cannot be empty.")
        fields["name"] = name.strip()
    if description is not None:
        fields["description"] = description
    if exclusions is not None:
        fields["exclusions"] = exclusions
    database()["fr_tasks"].update(task_id, _enc(fields))
    return get_task(task_id)


def delete_task(task_id: str) -> None:
    """Delete the task and its links; the recordings stay."""
    get_task(task_id)
    db = database()
    db.execute("delete from fr_task_videos where task_id = ?", [task_id])
    db.execute("delete from fr_tasks where id = ?", [task_id])


def add_videos(task_id: str, video_ids: list[str], notes: str = "") -> dict[str, Any]:
    """Append recordings to the task (in the given order). Unknown or already added ids are reported."""
    get_task(task_id)
    db = database()
    added, failed = [], []
    for vid in video_ids:
        try:
            get_video(vid)
        except NotFound as exc:
            failed.append({"video_id": vid, "reason": str(exc)})
            continue
        ord_ = db.execute("select coalesce(max(ord), 0) + 1 from fr_task_videos where task_id = ?",
                          [task_id]).fetchone()[0]
        cur = db.execute("insert or ignore into fr_task_videos (task_id, video_id, ord, notes, added_at) "
                         "values (?, ?, ?, ?, ?)", [task_id, vid, ord_, notes or "", _now()])
        if cur.rowcount:
            added.append(vid)
        else:
            failed.append({"video_id": vid, "reason": "already in the task"})
    db.execute("update fr_tasks set updated_at = ? where id = ?", [_now(), task_id])
    return {"message": f"Added {len(added)} recording(s) to the task", "added_count": len(added),
            "added": added, "failed_videos": failed}


def remove_video(task_id: str, video_id: str) -> None:
    get_task(task_id)
    cur = database().execute("delete from fr_task_videos where task_id = ? and video_id = ?", [task_id, video_id])
    if not cur.rowcount:
        raise NotFound(f"Recording {video_id!r} is not in task {task_id}.")


def order_videos(task_id: str, video_ids: list[str]) -> list[str]:
    """Put the task's recordings in this order (the ones not named keep their order, after these)."""
    current = task_video_ids(task_id)
    unknown = [v for v in video_ids if v not in current]
    if unknown:
        raise FrameInputError(f"Not in task {task_id}: {', '.join(unknown)}. Add them first.")
    new = list(dict.fromkeys(video_ids)) + [v for v in current if v not in video_ids]
    db = database()
    for k, vid in enumerate(new, 1):
        db.execute("update fr_task_videos set ord = ? where task_id = ? and video_id = ?", [k, task_id, vid])
    return new


def task_video_ids(task_id: str) -> list[str]:
    get_task(task_id)
    return [r["video_id"] for r in database().query(
        "select video_id from fr_task_videos where task_id = ? order by ord, added_at", [task_id])]


def task_videos(task_id: str) -> list[dict[str, Any]]:
    """The task's recordings in order, each with ``order``, ``task_notes``, ``added_at``."""
    get_task(task_id)
    rows = database().query(
        "select v.*, tv.ord as task_order, tv.notes as task_notes, tv.added_at as task_added_at "
        "from fr_task_videos tv join fr_videos v on v.id = tv.video_id where tv.task_id = ? "
        "order by tv.ord, tv.added_at", [task_id])
    return [_decode(r) for r in rows]


def export_status(video: dict[str, Any]) -> str:
    """The status a report shows: 'reviewed' once a person marked it, else the processing status."""
    return "reviewed" if video["status"] == "completed" and video["review_status"] == "reviewed" else video["status"]


def task_stats_rows(task_id: str) -> list[dict[str, Any]]:
    """One ``pipelines.frames.report.TimingRow``-shaped dict per recording of the task, in order."""
    import datetime as dt

    task = get_task(task_id)
    rows = []
    for v in task_videos(task_id):
        notes = "; ".join(n for n in (v["task_notes"], v["notes"]) if n)
        rows.append({
            "task": task["name"], "task_id": task_id, "video": v["filename"], "video_id": v["id"],
            "order": v["task_order"], "first_frame": v["first_frame"], "first_time": v["first_time"],
            "last_frame": v["last_frame"], "last_time": v["last_time"],
            "fps": None if v["fps"] is None else round(v["fps"], 3), "width": v["width"], "height": v["height"],
            "notes": notes, "reviewer": v["reviewed_by"] or "", "status": export_status(v),
            "video_duration": None if v["duration"] is None else round(v["duration"], 6),
            "marking_method": v["marking_method"] or "",
            "added_at": dt.datetime.fromtimestamp(v["task_added_at"]).isoformat(timespec="seconds"),
        })
    return rows


def task_statistics(task_id: str) -> dict[str, Any]:
    """Count, completed, failed, processing, and avg/min/max/p50/p90 of first→last (ms and frames).

    Pure arithmetic over the task's rows (no decoding): computed in the request."""
    from pipelines.frames.report import task_stats

    task = get_task(task_id)
    rows = task_stats_rows(task_id)
    stats = task_stats(rows).to_dict()
    stats.update(task_id=task_id, task_name=task["name"],
                 processing=sum(r["status"] in ("uploading", "processing") for r in rows),
                 reviewed=sum(r["status"] == "reviewed" for r in rows))
    return stats


# -- single frames for the viewer --------------------------------------------------
#
# Reading ONE frame is bounded I/O (a seek to the keyframe before it and a few
# decodes), like serving a thumbnail, so the web app may do it in a request.
# Anything that scans a whole recording is a job. A few FrameReaders stay open
# per process (least recently used out) so stepping ±1 frame decodes forward
# instead of seeking again.

READERS_OPEN = 4
_readers: "OrderedDict[str, tuple[Any, threading.Lock]]" = OrderedDict()
_readers_lock = threading.Lock()


def _reader(video: dict[str, Any]):
    from pipelines.frames import FrameMetrics, FrameReader

    key = f"{video['id']}:{video['path']}"
    with _readers_lock:
        if key in _readers:
            _readers.move_to_end(key)
            return _readers[key]
    if not Path(video["path"]).is_file():
        raise FrameInputError(f"The recording {video['filename']} is no longer on the server; frames cannot be "
                              "shown (marks, history and detection from stored metrics still work).")
    m = FrameMetrics.load(metrics_path(video["id"]))
    entry = (FrameReader(video["path"], m.pts, m.keyframe), threading.Lock())
    with _readers_lock:
        _readers[key] = entry
        while len(_readers) > READERS_OPEN:
            _, (old, lock) = _readers.popitem(last=False)
            with lock:
                old.close()
    return entry


def frame_image(video_id: str, index: int, max_side: int | None = 720):
    """Frame ``index`` of the recording as an upright RGB PIL image (one seek + a few decodes)."""
    from pipelines.frames import FrameReviewError

    video = get_video(video_id)
    if video["status"] != "completed":
        raise FrameInputError(f"Recording {video_id} is {video['status']}; frames are shown once it is analysed.")
    n = video["frame_count"] or 0
    if not 0 <= int(index) < n:
        raise FrameInputError(f"Frame {index} is out of range: {video['filename']} has {n} frames (0-{n - 1}).")
    reader, lock = _reader(video)
    try:
        with lock:
            return reader.get(int(index), max_side)
    except FrameReviewError as exc:
        raise FrameInputError(str(exc)) from None


def frame_jpeg(video_id: str, index: int, max_side: int | None = 720) -> bytes:
    from pipelines.frames import jpeg_bytes

    return jpeg_bytes(frame_image(video_id, index, max_side))


def change_curve(video_id: str) -> dict[str, list]:
    """Per-frame times and scene-change scores (for the review chart), from ``metrics.npz``."""
    path = metrics_path(video_id)
    if not path.is_file():
        raise FrameInputError(f"Recording {video_id} has no analysis yet.")
    with np.load(path, allow_pickle=False) as z:
        return {"time": np.round(z["times"], 6).tolist(), "change": np.round(z["change"].astype(float), 5).tolist(),
                "brightness": np.round(z["brightness"].astype(float), 4).tolist()}
