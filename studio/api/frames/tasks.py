"""Frame review REST: tasks (seed 001 ``/task``): group recordings, order them,
statistics, CSV/XLSX export, exclusions for all of a task's recordings.

Statistics and the direct export are arithmetic and formatting of a task's
records (tens to hundreds of rows, no media), done in the request;
``POST /task/{id}/export`` runs the same export as a ``frames.export`` job.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from jobs.tools.frames import submit
from jobs.tools.frames import tasks as fr_tasks
from studio.api.frames import schemas as s
from studio.api.frames.common import Caller, Limit, Skip, TaskId, VideoId, base_url
from studio.api.frames.views import task_detail, task_stats, task_view
from studio.auth import auth_enabled

router = APIRouter(tags=["task"])
Format = Literal["excel", "xlsx", "csv"]


@router.post(
    "/task/create", status_code=201, response_model=s.TaskResponse, summary="Create a task"
)
def create_task(body: s.TaskCreate, user: Caller) -> s.TaskResponse:
    # In an open studio (no logins) the seed's created_by names the creator; with logins it is the caller.
    creator = body.created_by if not auth_enabled() else None
    return task_view(
        fr_tasks.create_task(body.name, user, body.description, created_by=creator), user
    )


@router.get("/task/list", response_model=list[s.TaskResponse], summary="Your tasks, newest first")
def list_tasks(
    user: Caller,
    user_filter: str | None = Query(None, alias="user", max_length=100),
    skip: Skip = 0,
    limit: Limit = 20,
) -> list[s.TaskResponse]:
    return [task_view(t, user) for t in fr_tasks.list_tasks(user, user_filter, skip, limit)]


@router.get(
    "/task/{task_id}",
    response_model=s.TaskDetailResponse,
    summary="A task with its recordings and their marks",
)
def get_task(task_id: TaskId, request: Request, user: Caller) -> s.TaskDetailResponse:
    return task_detail(fr_tasks.get_task(task_id, user), user, base_url(request))


@router.put("/task/{task_id}", response_model=s.TaskResponse, summary="Rename or describe a task")
def update_task(task_id: TaskId, body: s.TaskUpdate, user: Caller) -> s.TaskResponse:
    return task_view(fr_tasks.update_task(task_id, user, body.name, body.description), user)


@router.delete(
    "/task/{task_id}", response_model=s.Message, summary="Delete a task (its recordings stay)"
)
def delete_task(task_id: TaskId, user: Caller) -> s.Message:
    fr_tasks.delete_task(task_id, user)
    return s.Message(message="Task deleted; its recordings are kept")


@router.post(
    "/task/{task_id}/videos", response_model=s.VideoAddResponse, summary="Add recordings to a task"
)
def add_videos(task_id: TaskId, body: s.VideoAddToTask, user: Caller) -> s.VideoAddResponse:
    return s.VideoAddResponse(**fr_tasks.add_videos(task_id, user, body.video_ids, body.notes))


@router.delete(
    "/task/{task_id}/videos/{video_id}",
    response_model=s.Message,
    summary="Remove a recording from a task",
)
def remove_video(task_id: TaskId, video_id: VideoId, user: Caller) -> s.Message:
    fr_tasks.remove_video(task_id, user, video_id)
    return s.Message(message="Recording removed from the task")


@router.put("/task/{task_id}/order", summary="Order the task's recordings")
def order_videos(task_id: TaskId, body: s.TaskOrder, user: Caller) -> dict[str, list[str]]:
    return {"video_ids": fr_tasks.order_videos(task_id, user, body.video_ids)}


@router.put(
    "/task/{task_id}/exclusions",
    status_code=202,
    response_model=s.JobQueued,
    summary="Exclusion rectangles for every recording of the task; re-detect them all (no decoding)",
)
def set_task_exclusions(task_id: TaskId, body: s.ExclusionsIn, user: Caller) -> s.JobQueued:
    job = submit.submit_task_detect(
        task_id, user, [e.model_dump() for e in body.exclusions], body.status_bar
    )
    return s.JobQueued(
        job_id=job["id"],
        video_ids=job["params"]["video_ids"],
        status=job["status"],
        message="Detection queued (from stored metrics)",
    )


@router.get(
    "/task/{task_id}/statistics",
    response_model=s.TaskStatsResponse,
    summary="Task statistics (durations in ms and frames)",
)
def task_statistics(task_id: TaskId, user: Caller) -> s.TaskStatsResponse:
    return task_stats(task_id, user)


@router.post(
    "/task/{task_id}/calculate-stats",
    response_model=s.TaskResponse,
    summary="Recalculate the task's statistics",
)
def calculate_stats(task_id: TaskId, user: Caller) -> s.TaskResponse:
    # Statistics are computed from the current marks on every read; nothing is cached to refresh.
    return task_view(fr_tasks.get_task(task_id, user), user)


@router.get(
    "/task/{task_id}/export",
    summary="Download the task's timings (CSV or Excel)",
    response_class=Response,
)
def export_task(task_id: TaskId, user: Caller, format: Format = "excel") -> Response:
    from pipelines.frames.report import export_filename, to_csv, to_xlsx

    task = fr_tasks.get_task(task_id, user)
    rows = fr_tasks.task_stats_rows(task_id, user)
    name = export_filename(task.name, format)
    if format == "csv":
        body, media = to_csv(rows), "text/csv; charset=utf-8"
    else:
        body, media = (
            to_xlsx(rows),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.post(
    "/task/{task_id}/export",
    status_code=202,
    response_model=s.JobQueued,
    summary="Export as a job (file in its outputs)",
)
def export_task_job(task_id: TaskId, user: Caller, format: Format = "excel") -> s.JobQueued:
    job = submit.submit_export(task_id, user, format)
    return s.JobQueued(job_id=job["id"], status=job["status"])
