"""Public demo retention: a visitor's work is deleted after STUDIO_DEMO_RETENTION_H.

``sweep()`` runs in the worker's CPU lane every few minutes while the studio is
a public demo (``jobs.worker``). It deletes every record a visitor
(``visitor-<id>``, see ``jobs.access``) made longer ago than the retention,
with each tool's own delete function: frame review tasks and recordings, dance
projects (with their assets, experiments and generations), photo and video
datasets, scenarios, and last the jobs with their folders. A record still busy
(a dataset being built, a project with a running job, a job not finished) is
left for a later sweep; its job is cancelled so that it finishes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TypeVar

from jobs import datasets, queue, store
from jobs.access import SYSTEM, VISITOR_PREFIX, User, is_visitor
from jobs.settings import get_settings
from jobs.tools import video_edit
from jobs.tools.dance import records as dance
from jobs.tools.frames import records as frames
from jobs.tools.frames import tasks as frame_tasks
from jobs.tools.monitor import scenarios
from pipelines.errors import Conflict, NotFound

log = logging.getLogger("studio.retention")
SWEEP_EVERY_S = 300.0
PAGE = 200
T = TypeVar("T")


def _pages(fetch: Callable[[int], list[T]]) -> Iterator[T]:
    """Every item of a paged list (``fetch(skip)``), read before any is deleted."""
    items: list[T] = []
    while page := fetch(len(items)):
        items += page
        if len(page) < PAGE:
            break
    yield from items


def _seconds(value: float | str) -> float:
    """A record's ``created_at``: epoch seconds, or ISO text (dance records)."""
    return value if isinstance(value, int | float) else datetime.fromisoformat(value).timestamp()


def sweep(now: float | None = None) -> dict[str, int]:
    """Delete the visitors' work older than the retention; returns counts per kind."""
    cutoff = (now if now is not None else time.time()) - get_settings().demo_retention_h * 3600
    done = dict.fromkeys(("tasks", "recordings", "projects", "datasets", "scenarios", "jobs"), 0)

    def old(owner: str | None, created_at: float | str) -> bool:
        return is_visitor(owner) and _seconds(created_at) < cutoff

    def delete(what: str, action: Callable[..., object], *args: object) -> None:
        try:
            action(*args)
            done[what] += 1
        except (Conflict, NotFound) as exc:  # busy now (next sweep), or gone already
            log.info("retention: %s left for now: %s", what, exc)

    for task in _pages(lambda skip: frame_tasks.list_tasks(SYSTEM, skip=skip, limit=PAGE)):
        if old(task.created_by, task.created_at):
            delete("tasks", frame_tasks.delete_task, task.id, SYSTEM)
    for video in _pages(lambda skip: frames.list_videos(SYSTEM, skip=skip, limit=PAGE)):
        if old(video.owner, video.created_at):
            delete("recordings", frames.delete_video, video.id, SYSTEM)
    for project in dance.list_projects(SYSTEM):
        if old(project["owner"], project["created_at"]):
            delete("projects", dance.delete_project, SYSTEM, project["id"])
    for meta in datasets.list_all(SYSTEM):
        if old(meta.get("owner"), meta["created_at"]):
            # as its owner: dataset names are the owner's own
            delete("datasets", datasets.delete, meta["name"], User(meta["owner"]), meta["kind"])
    for job in _pages(lambda skip: store.list_jobs(limit=PAGE, offset=skip)[0]):
        if not old(job["owner"], job["created_at"]):
            continue
        if job["status"] not in store.FINAL:
            try:  # it finishes, and goes with the next sweep
                queue.cancel(job["id"], SYSTEM)
            except (Conflict, NotFound):
                pass
            continue
        video_edit.forget_job(job["id"])
        delete("jobs", store.delete_job, job["id"])
    done["scenarios"] = scenarios.delete_made_before(VISITOR_PREFIX, cutoff)
    return done
