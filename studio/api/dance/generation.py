"""Generation jobs of a project or experiment, and the seed's low-level queue
(seed 004 §3.5, §3.6)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import FileResponse, PlainTextResponse

import jobs.tools.dance as dance
from jobs import store
from jobs.tools.dance import records as rec
from studio.api.dance.schemas import (
    Page,
    ProjectJobCreated,
    ProjectJobStatus,
    ProjectJobSummary,
    SteadyDancerJobCreate,
    TaskCreated,
    TaskStatus,
    body_fields,
    page,
)
from studio.auth import User, api_user

router = APIRouter()
TASK_ID_MAX = 100


def _created(jobs: list[dict], body: SteadyDancerJobCreate) -> dict:
    """Seed's ProjectJobCreated of the first job; with base_seeds, all of them in ``jobs``."""
    return jobs[0] | ({"jobs": jobs} if body.base_seeds else {})


@router.post(
    "/projects/{project_id}/steadydancer/jobs",
    response_model=ProjectJobCreated,
    summary="Create a job from a pair folder (input_dir, copied into jobs/{job_id}/input/)",
)
def create_project_job(
    project_id: str, body: SteadyDancerJobCreate, user: User = Depends(api_user)
) -> dict:
    return _created(dance.submit_generations(user, project_id, None, body_fields(body)), body)


@router.get(
    "/projects/{project_id}/steadydancer/jobs",
    response_model=list[ProjectJobSummary],
    summary="The project's jobs, newest first (?limit=&offset=)",
)
def list_project_jobs(
    project_id: str, paging: Page = Depends(page), user: User = Depends(api_user)
) -> list[dict]:
    return [
        dance.job_summary_view(r)
        for r in rec.list_generation_jobs(user, project_id, None, paging.limit, paging.offset)
    ]


@router.post(
    "/projects/{project_id}/experiments/{experiment_id}/steadydancer/jobs",
    response_model=ProjectJobCreated,
    summary="Create a job from an experiment (its config; body fields override); waits for its "
    "preprocessing",
)
def create_experiment_job(
    project_id: str, experiment_id: str, body: SteadyDancerJobCreate, user: User = Depends(api_user)
) -> dict:
    return _created(
        dance.submit_generations(user, project_id, experiment_id, body_fields(body)), body
    )


@router.get(
    "/projects/{project_id}/experiments/{experiment_id}/steadydancer/jobs",
    response_model=list[ProjectJobSummary],
    summary="The experiment's jobs, newest first (?limit=&offset=)",
)
def list_experiment_jobs(
    project_id: str,
    experiment_id: str,
    paging: Page = Depends(page),
    user: User = Depends(api_user),
) -> list[dict]:
    experiment = rec.get_experiment(user, project_id, experiment_id)
    return [
        dance.job_summary_view(r)
        for r in rec.list_generation_jobs(
            user, project_id, experiment["id"], paging.limit, paging.offset
        )
    ]


@router.get(
    "/projects/{project_id}/steadydancer/jobs/{job_id}",
    response_model=ProjectJobStatus,
    summary="Job state (PENDING/STARTED/SUCCESS/FAILURE/REVOKED), progress and result",
)
def get_project_job(project_id: str, job_id: str, user: User = Depends(api_user)) -> dict:
    return dance.job_status_view(rec.get_generation_job(user, project_id, job_id))


@router.delete(
    "/projects/{project_id}/steadydancer/jobs/{job_id}",
    status_code=204,
    summary="Delete a finished job and its files (409 while it runs)",
)
def delete_project_job(project_id: str, job_id: str, user: User = Depends(api_user)) -> Response:
    dance.delete_generation(user, project_id, job_id)
    return Response(status_code=204)


@router.post(
    "/projects/{project_id}/steadydancer/jobs/{job_id}/cancel",
    response_model=ProjectJobStatus,
    summary="Cancel (a running SteadyDancer child is killed with its process group)",
)
def cancel_project_job(project_id: str, job_id: str, user: User = Depends(api_user)) -> dict:
    return dance.cancel_generation(user, project_id, job_id)


@router.post(
    "/projects/{project_id}/steadydancer/jobs/{job_id}/retry",
    response_model=ProjectJobStatus,
    summary="Run a failed or cancelled job again",
)
def retry_project_job(project_id: str, job_id: str, user: User = Depends(api_user)) -> dict:
    return dance.retry_generation(user, project_id, job_id)


@router.get(
    "/projects/{project_id}/steadydancer/jobs/{job_id}/log",
    response_class=PlainTextResponse,
    summary="The job's log (tail)",
)
def project_job_log(
    project_id: str,
    job_id: str,
    tail: int = Query(200, ge=1, le=5000),
    user: User = Depends(api_user),
) -> str:
    row = rec.get_generation_job(user, project_id, job_id)
    return (
        store.read_log(row["task_id"], tail=tail)
        if not row["task_id"].startswith("pending:")
        else ""
    )


@router.get(
    "/projects/{project_id}/steadydancer/jobs/{job_id}/download",
    response_class=FileResponse,
    summary="The result video (video/mp4); 404 with the reason when there is none",
)
def download_project_job(
    project_id: str, job_id: str, user: User = Depends(api_user)
) -> FileResponse:
    path, filename = dance.result_video(user, project_id, job_id)
    return FileResponse(path, media_type="video/mp4", filename=filename)


@router.get(
    "/projects/{project_id}/steadydancer/jobs/{job_id}/result.json",
    response_class=FileResponse,
    summary="The job's result.json (success, video_path, stdout, stderr, return_code …) once "
    "it has ended",
)
def project_job_result(
    project_id: str, job_id: str, user: User = Depends(api_user)
) -> FileResponse:
    row = rec.get_generation_job(user, project_id, job_id)
    return FileResponse(
        dance.result_file(row["task_id"]),
        media_type="application/json",
        filename=f"result-{row['id'][:8]}.json",
    )


# -- the seed's low-level queue ------------------------------------------------------------------


@router.post(
    "/steadydancer/jobs",
    response_model=TaskCreated,
    summary="Queue a generation from a pair folder without a project (no job record)",
)
def create_task(body: SteadyDancerJobCreate, user: User = Depends(api_user)) -> dict:
    created = dance.submit_generations(user, None, None, body_fields(body))
    answer = {"task_id": created[0]["task_id"]}
    return answer | ({"task_ids": [c["task_id"] for c in created]} if body.base_seeds else {})


@router.get(
    "/steadydancer/jobs/{task_id}",
    response_model=TaskStatus,
    summary="A task's state and result; an id it has not seen is PENDING (as Celery answers)",
)
def get_task(task_id: str = Path(max_length=TASK_ID_MAX), user: User = Depends(api_user)) -> dict:
    return dance.task_status(user, task_id)


@router.post(
    "/steadydancer/jobs/{task_id}/cancel",
    response_model=TaskStatus,
    summary="Cancel a task (a running SteadyDancer child is killed with its process group)",
)
def cancel_task(
    task_id: str = Path(max_length=TASK_ID_MAX), user: User = Depends(api_user)
) -> dict:
    return dance.cancel_task(user, task_id)


@router.get(
    "/steadydancer/jobs/{task_id}/log",
    response_class=PlainTextResponse,
    summary="A task's log (tail)",
)
def task_log(
    task_id: str = Path(max_length=TASK_ID_MAX),
    tail: int = Query(200, ge=1, le=5000),
    user: User = Depends(api_user),
) -> str:
    return dance.task_log(user, task_id, tail)


@router.get(
    "/steadydancer/jobs/{task_id}/result.json",
    response_class=FileResponse,
    summary="A task's result.json once it has ended",
)
def task_result(
    task_id: str = Path(max_length=TASK_ID_MAX), user: User = Depends(api_user)
) -> FileResponse:
    task = dance.generation_task(user, task_id)
    return FileResponse(
        dance.result_file(task["id"]),
        media_type="application/json",
        filename=f"result-{task['id'][:8]}.json",
    )
