"""Frame review tasks (seed 001): a named group of recordings in order, with
statistics of their first→last durations and a CSV/XLSX export.

A task belongs to its creator (``created_by``); every read and write checks
the caller with :func:`jobs.access.check_owner`, and only recordings the caller
may see can be added.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from jobs.access import User, check_owner, owner_filter
from jobs.tools.frames import repository as repo
from jobs.tools.frames.records import FrameInputError, NotFound, Video, get_video, new_id
from pipelines.names import has_control

NAME_MAX = 200
DESCRIPTION_MAX = 2000


@dataclass
class Task:
    id: str
    name: str
    created_by: str
    created_at: float
    updated_at: float
    description: str = ""
    exclusions: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Task:
        data = dict(row)
        data["exclusions"] = json.loads(data.get("exclusions") or "[]")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TaskVideo:
    """A recording as a member of a task: its place and the notes given when it was added."""

    video: Video
    order: int
    notes: str
    added_at: float


def clean_name(name: str | None, what: str = "task name", limit: int = NAME_MAX) -> str:
    name = (name or "").strip()
    if not name:
        raise FrameInputError(f"Give the {what}.")
    if len(name) > limit:
        raise FrameInputError(f"The {what} is {len(name)} characters long; keep it under {limit}.")
    if has_control(name):
        raise FrameInputError(f"The {what} holds control characters; use plain text.")
    return name


def clean_text(text: str | None, what: str, limit: int = DESCRIPTION_MAX) -> str:
    text = text or ""
    if len(text) > limit:
        raise FrameInputError(f"The {what} is {len(text)} characters long; keep it under {limit}.")
    if has_control(text, multiline=True):
        raise FrameInputError(f"The {what} holds control characters; use plain text.")
    return text


def _now() -> float:
    return time.time()


def create_task(
    name: str, user: User, description: str = "", created_by: str | None = None
) -> Task:
    """A new task owned by ``created_by`` (default: the caller; only an admin names another owner)."""
    owner = created_by if (created_by and user.is_admin) else user.name
    task_id = new_id()
    now = _now()
    repo.insert_task(
        {
            "id": task_id,
            "name": clean_name(name),
            "description": clean_text(description, "description"),
            "created_by": owner,
            "exclusions": "[]",
            "created_at": now,
            "updated_at": now,
        }
    )
    return get_task(task_id, user)


def get_task(task_id: str, user: User) -> Task:
    row = repo.task_row(str(task_id))
    if row is None:
        raise NotFound(
            f"No task {task_id!r}. It does not exist or is not yours; "
            "list tasks with GET /api/v1/task/list."
        )
    task = Task.from_row(row)
    check_owner(task.created_by, user, f"task {task_id!r}")
    return task


def list_tasks(
    user: User, created_by: str | None = None, skip: int = 0, limit: int = 50
) -> list[Task]:
    """The caller's tasks, newest first (an admin: all, or ``created_by``'s)."""
    who = owner_filter(user, created_by)
    return [Task.from_row(r) for r in repo.task_rows(who, skip, limit)]


def update_task(
    task_id: str,
    user: User,
    name: str | None = None,
    description: str | None = None,
    exclusions: list[dict[str, float]] | None = None,
) -> Task:
    get_task(task_id, user)
    values: dict[str, Any] = {"updated_at": _now()}
    if name is not None:
        values["name"] = clean_name(name)
    if description is not None:
        values["description"] = clean_text(description, "description")
    if exclusions is not None:
        values["exclusions"] = json.dumps(exclusions)
    repo.update_task_row(task_id, values)
    return get_task(task_id, user)


def delete_task(task_id: str, user: User) -> None:
    """Delete the task and its links (one transaction); the recordings stay."""
    get_task(task_id, user)
    repo.delete_task_rows(task_id)


def add_videos(task_id: str, user: User, video_ids: list[str], notes: str = "") -> dict[str, Any]:
    """Append recordings to the task (in the given order; their order numbers are
    given in one transaction, so concurrent adds never share one). Unknown,
    not-yours or already added ids are reported in ``failed_videos``."""
    get_task(task_id, user)
    notes = clean_text(notes, "notes")
    unseen: dict[str, str] = {}
    for vid in video_ids:
        try:
            get_video(vid, user)
        except NotFound as exc:
            unseen[vid] = str(exc)
    seen = [vid for vid in video_ids if vid not in unseen]
    was_added = iter(repo.append_task_videos(task_id, seen, notes, _now()))
    added: list[str] = []
    failed: list[dict[str, str]] = []
    for vid in video_ids:
        if vid in unseen:
            failed.append({"video_id": vid, "reason": unseen[vid]})
        elif next(was_added):
            added.append(vid)
        else:
            failed.append({"video_id": vid, "reason": "already in the task"})
    return {
        "message": f"Added {len(added)} recording(s) to the task",
        "added_count": len(added),
        "added": added,
        "failed_videos": failed,
    }


def remove_video(task_id: str, user: User, video_id: str) -> None:
    get_task(task_id, user)
    if not repo.remove_task_video(task_id, video_id):
        raise NotFound(f"Recording {video_id!r} is not in task {task_id}.")


def order_videos(task_id: str, user: User, video_ids: list[str]) -> list[str]:
    """Put the task's recordings in this order (the ones not named keep their order, after these)."""
    current = task_video_ids(task_id, user)
    unknown = [v for v in video_ids if v not in current]
    if unknown:
        raise FrameInputError(f"Not in task {task_id}: {', '.join(unknown)}. Add them first.")
    new = list(dict.fromkeys(video_ids)) + [v for v in current if v not in video_ids]
    repo.set_task_order(task_id, new)
    return new


def task_video_ids(task_id: str, user: User) -> list[str]:
    get_task(task_id, user)
    return repo.task_video_ids(task_id)


def task_videos(task_id: str, user: User) -> list[TaskVideo]:
    """The task's recordings in order."""
    get_task(task_id, user)
    rows = repo.task_video_rows(task_id)
    return [
        TaskVideo(Video.from_row(r), r["task_order"], r["task_notes"], r["task_added_at"])
        for r in rows
    ]


def task_stats_rows(task_id: str, user: User) -> list[dict[str, Any]]:
    """One ``pipelines.frames.report.TimingRow``-shaped dict per recording of the task, in order."""
    task = get_task(task_id, user)
    rows = []
    for tv in task_videos(task_id, user):
        v = tv.video
        rows.append(
            {
                "task": task.name,
                "task_id": task_id,
                "video": v.filename,
                "video_id": v.id,
                "order": tv.order,
                "first_frame": v.first_frame,
                "first_time": v.first_time,
                "last_frame": v.last_frame,
                "last_time": v.last_time,
                "fps": None if v.fps is None else round(v.fps, 3),
                "width": v.width,
                "height": v.height,
                "notes": "; ".join(n for n in (tv.notes, v.notes) if n),
                "reviewer": v.reviewed_by or "",
                "status": v.report_status,
                "video_duration": None if v.duration is None else round(v.duration, 6),
                "marking_method": v.marking_method or "",
                "added_at": dt.datetime.fromtimestamp(tv.added_at).isoformat(timespec="seconds"),
            }
        )
    return rows


def task_statistics(task_id: str, user: User) -> dict[str, Any]:
    """Count, completed, failed, processing, and avg/min/max/p50/p90 of first→last (ms and frames).

    Pure arithmetic over the task's rows (no decoding): computed in the request."""
    from pipelines.frames.report import task_stats

    task = get_task(task_id, user)
    rows = task_stats_rows(task_id, user)
    stats = task_stats(rows).to_dict()
    stats.update(
        task_id=task_id,
        task_name=task.name,
        processing=sum(r["status"] in ("uploading", "processing") for r in rows),
        reviewed=sum(r["status"] == "reviewed" for r in rows),
    )
    return stats


def task_status(stats: dict[str, Any]) -> str:
    """Seed's task status from its statistics: draft / processing / failed / completed."""
    if not stats["count"]:
        return "draft"
    if stats["processing"]:
        return "processing"
    if stats["failed"] == stats["count"]:
        return "failed"
    return "completed"
