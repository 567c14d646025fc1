"""Jobs and health: every job of every tool."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, Field

from jobs import queue, store
from jobs.kinds import KINDS, UnknownKind, load_tools
from studio import health as health_info
from studio.auth import User, api_user

router = APIRouter(tags=["jobs"])

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobOut(BaseModel):
    id: str
    kind: str
    lane: str
    owner: str
    title: str | None = None
    params: dict[str, Any]
    status: Status
    stage: str | None = None
    progress: float
    item: str | None = None
    message: str | None = None
    eta_s: float | None = None
    error: str | None = None
    outputs: dict[str, Any]
    attempts: int
    max_attempts: int
    cancel_requested: bool
    worker: str | None = None
    heartbeat_at: float | None = None
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None


class JobPage(BaseModel):
    total: int
    limit: int
    offset: int
    jobs: list[JobOut]


class JobIn(BaseModel):
    kind: str = Field(examples=["system.diagnostics"])
    params: dict[str, Any] = Field(default_factory=dict)


def job_or_404(job_id: str) -> dict[str, Any]:
    try:
        return store.get_job(job_id)
    except store.JobNotFound as exc:
        raise HTTPException(404, str(exc)) from None


def act_on_job(action, job_id: str, user: User) -> dict[str, Any]:
    """Run ``action`` (queue.cancel / queue.retry) with the HTTP errors users expect."""
    job_or_404(job_id)
    try:
        return action(job_id, user=user.name, is_admin=user.is_admin)
    except PermissionError as exc:
        raise HTTPException(403, str(exc)) from None
    except store.JobStateError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/health", summary="Studio and worker health")
def get_health() -> dict[str, Any]:
    return health_info.health()


@router.get("/workers", summary="Worker lanes and their heartbeats")
def get_workers(user: User = Depends(api_user)) -> list[dict[str, Any]]:
    return health_info.workers()


@router.get("/kinds", summary="Job kinds this studio runs")
def get_kinds(user: User = Depends(api_user)) -> list[dict[str, str]]:
    load_tools()
    return [{"kind": k.name, "lane": k.lane, "title": k.title} for k in sorted(KINDS.values(), key=lambda k: k.name)]


@router.get("/jobs", response_model=JobPage, summary="List jobs, newest first")
def get_jobs(kind: str | None = None, status: Status | None = None, owner: str | None = None,
             limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
             user: User = Depends(api_user)) -> dict[str, Any]:
    jobs, total = store.list_jobs(kind=kind, status=status, owner=owner, limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "jobs": jobs}


@router.post("/jobs", response_model=JobOut, status_code=201, summary="Submit a job of any kind")
def post_job(body: JobIn, user: User = Depends(api_user)) -> dict[str, Any]:
    try:
        return queue.submit(body.kind, body.params, owner=user.name)
    except UnknownKind as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/jobs/{job_id}", response_model=JobOut, summary="One job")
def get_job(job_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return job_or_404(job_id)


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, summary="Cancel a queued or running job")
def cancel_job(job_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return act_on_job(queue.cancel, job_id, user)


@router.post("/jobs/{job_id}/retry", response_model=JobOut, summary="Run a failed or cancelled job again")
def retry_job(job_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return act_on_job(queue.retry, job_id, user)


@router.get("/jobs/{job_id}/log", response_class=PlainTextResponse, summary="The job's log (tail)")
def get_log(job_id: str, tail: int = Query(200, ge=1, le=100000), user: User = Depends(api_user)) -> str:
    job_or_404(job_id)
    return store.read_log(job_id, tail=tail)


@router.get("/jobs/{job_id}/samples", summary="CPU / memory / GPU timeline of the job")
def get_samples(job_id: str, user: User = Depends(api_user)) -> list[dict[str, Any]]:
    job_or_404(job_id)
    return store.job_samples(job_id)


@router.get("/jobs/{job_id}/files/{name:path}", summary="Download a file of the job (e.g. outputs/result.mp4)")
def get_file(job_id: str, name: str, user: User = Depends(api_user)) -> FileResponse:
    job_or_404(job_id)
    for candidate in (name, f"outputs/{name}"):
        try:
            path = store.output_path(job_id, candidate)
        except FileNotFoundError:
            continue
        return FileResponse(path, filename=path.name)
    raise HTTPException(404, f"Job {job_id} has no file {name!r}; its files are listed in outputs.files.")
