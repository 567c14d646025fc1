"""Jobs and health: every job of every tool.

Every job route reads the job for the caller (``store.job_for``): another
user's job is answered like a missing one (404); lists show your own jobs
(admins: everyone's, or one user's with ``owner=``). Errors are the studio's
error family, mapped once in ``studio.errors``.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, Field, field_validator

from jobs import queue, store
from jobs.access import owner_filter
from jobs.inputs import check_params
from jobs.kinds import KINDS, get_kind, load_tools
from pipelines.errors import BadInput
from studio import health as health_info
from studio.auth import User, api_user

router = APIRouter(tags=["jobs"])

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
KIND_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"
JobId = Path(max_length=64, description="The job's id.")


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
    host: str | None = Field(default=None, description="The machine it ran on (or runs on).")
    gpus: str | None = Field(default=None, description="The GPU devices it ran on, e.g. '0,1'.")
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
    kind: str = Field(
        max_length=100,
        pattern=KIND_PATTERN,
        examples=["system.diagnostics"],
        description="A kind listed by GET /kinds with public=true.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="The kind's parameters: at most 64 KB as JSON, 16 levels deep.",
    )

    @field_validator("params")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_params(value)


@router.get("/", summary="The API: name, version, status, docs (seed 001's root)")
@router.get("", include_in_schema=False)
def get_root() -> dict[str, str]:
    return {
        "name": "studio",
        "version": health_info.version(),
        "status": "running",
        "docs": "/docs",
    }


@router.get("/health", summary="Studio and worker health")
def get_health() -> dict[str, Any]:
    return health_info.health()


@router.get("/workers", summary="Worker lanes and their heartbeats")
def get_workers(user: User = Depends(api_user)) -> list[dict[str, Any]]:
    return health_info.workers()


@router.get(
    "/kinds", summary="Job kinds this studio runs (public: may be submitted with POST /jobs)"
)
def get_kinds(user: User = Depends(api_user)) -> list[dict[str, Any]]:
    load_tools()
    return [
        {"kind": k.name, "lane": k.lane, "title": k.title, "public": k.public}
        for k in sorted(KINDS.values(), key=lambda k: k.name)
    ]


@router.get(
    "/jobs",
    response_model=JobPage,
    summary="List jobs, newest first (yours; admins: all or owner=)",
)
def get_jobs(
    kind: str | None = Query(None, max_length=100),
    status: Status | None = None,
    owner: str | None = Query(None, max_length=100, description="Admins only: one user's jobs."),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10**9),
    user: User = Depends(api_user),
) -> dict[str, Any]:
    jobs, total = store.list_jobs(
        kind=kind, status=status, owner=owner_filter(user, owner), limit=limit, offset=offset
    )
    return {"total": total, "limit": limit, "offset": offset, "jobs": jobs}


@router.post(
    "/jobs", response_model=JobOut, status_code=201, summary="Submit a job of a public kind"
)
def post_job(body: JobIn, user: User = Depends(api_user)) -> store.Job:
    spec = get_kind(body.kind)
    if not spec.public:
        public = ", ".join(sorted(k.name for k in KINDS.values() if k.public))
        raise BadInput(
            f"{body.kind} jobs are started by their tool's own routes (they check the inputs); "
            f"POST /jobs takes {public}."
        )
    return queue.submit(body.kind, body.params, owner=user.name)


@router.get("/jobs/{job_id}", response_model=JobOut, summary="One job")
def get_job(job_id: str = JobId, user: User = Depends(api_user)) -> store.Job:
    return store.job_for(job_id, user)


@router.post(
    "/jobs/{job_id}/cancel", response_model=JobOut, summary="Cancel a queued or running job"
)
def cancel_job(job_id: str = JobId, user: User = Depends(api_user)) -> store.Job:
    return queue.cancel(job_id, user)


@router.post(
    "/jobs/{job_id}/retry", response_model=JobOut, summary="Run a failed or cancelled job again"
)
def retry_job(job_id: str = JobId, user: User = Depends(api_user)) -> store.Job:
    return queue.retry(job_id, user)


@router.get("/jobs/{job_id}/log", response_class=PlainTextResponse, summary="The job's log (tail)")
def get_log(
    job_id: str = JobId, tail: int = Query(200, ge=1, le=100000), user: User = Depends(api_user)
) -> str:
    store.job_for(job_id, user)
    return store.read_log(job_id, tail=tail)


@router.get("/jobs/{job_id}/samples", summary="CPU / memory / GPU timeline of the job")
def get_samples(job_id: str = JobId, user: User = Depends(api_user)) -> list[dict[str, Any]]:
    store.job_for(job_id, user)
    return store.job_samples(job_id)


@router.get(
    "/jobs/{job_id}/files/{name:path}",
    summary="Download a file of the job (e.g. outputs/result.mp4)",
)
def get_file(
    job_id: str = JobId, name: str = Path(max_length=1024), user: User = Depends(api_user)
) -> FileResponse:
    store.job_for(job_id, user)
    try:
        path = store.output_path(job_id, name)
    except store.JobFileNotFound:
        path = store.output_path(job_id, f"outputs/{name}")
    return FileResponse(path, filename=path.name)
