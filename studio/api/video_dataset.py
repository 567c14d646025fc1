"""Video datasets (seed 000): the preprocessing API under ``/api/v1/preprocessing``.

Seed 000's five endpoints (check, datasets, datasets/{name}, start, status/{task_id})
plus an upload variant of ``start``, a ZIP download and delete. Answers carry
seed 000's envelope: ``{"success": true, "message": ..., "data": {...}}`` with
``data.preprocessing_id``, ``data.status`` in the document's words (pending,
running, completed, failed, cancelled) and ``data.progress.progress_percent``
(with the current file, step and ETA). The studio's own fields stay beside them
(``task_id`` = the job id, ``job_status`` in the job system's words, links).

The routes check input, submit (``jobs.tools.video_dataset.submit_videos``) and
read records; the work runs in the worker. Every read checks the owner
(``jobs.access``: another user's dataset or task is a 404; admins see all). Dataset
names are per owner: ``{dataset_name}`` is the caller's own (an admin names another
user's with ``?owner=``), and the name check and the 409 of ``start`` look only at
the caller's names.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from jobs import datasets, store
from jobs.access import User
from jobs.inputs import InputError
from jobs.tools import video_dataset as videos
from pipelines.names import PATH_MAX, DatasetName, line
from pipelines.video_dataset.options import CaptionMethod, OptionsError, VideoOptions
from studio.auth import api_user
from studio.uploads import save_uploads

routes = APIRouter(
    tags=["video datasets (preprocessing)"]
)  # at /api/v1/video_dataset and /api/v1/preprocessing
Owner = Annotated[
    str | None,
    Query(max_length=200, description="admins: the owner of another user's dataset"),
]

# the job system's words -> seed 000's
SEED_STATUS = {
    "queued": "pending",
    "running": "running",
    "succeeded": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}


class VideoOptionsIn(VideoOptions):
    """The options of :class:`pipelines.video_dataset.options.VideoOptions`, and the API key."""

    api_key: str = Field(
        "", max_length=500, description="write-only: handed to the job, never stored or returned"
    )


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_name: DatasetName
    input_path: str | None = line(
        PATH_MAX,
        "server folder, ZIP or video inside the allowed server folders (STUDIO_ALLOWED_ROOTS)",
        default=None,
    )
    video_directory: str | None = line(PATH_MAX, "seed 000's name for input_path", default=None)
    options: VideoOptionsIn = Field(default_factory=VideoOptionsIn)
    caption_method: CaptionMethod | None = Field(
        None,
        description="seed 000: caption with this method; without options.caption_provider the local "
        "Florence-2 model captions",
    )
    use_qwen_optimize: bool | None = Field(
        None,
        description="seed 000: LLM rewrite of each caption "
        "(options.rewrite); without an API it is left out",
    )


def envelope(data: dict[str, Any], note: str = "", **extra: Any) -> dict[str, Any]:
    """Seed 000's answer shape (``success``, ``message``, ``data``), with the studio's own
    fields beside ``data`` (a job's ``message`` stays the job's)."""
    return {"success": True, "message": note, **extra, "data": data}


def _started(job: dict[str, Any]) -> dict[str, Any]:
    name = job["params"]["dataset"]
    data = {
        "preprocessing_id": job["id"],
        "task_id": job["id"],
        "dataset_name": name,
        "status": SEED_STATUS[job["status"]],
        "job_status": job["status"],
        "kind": job["kind"],
        "lane": job["lane"],
        "status_url": f"/api/v1/preprocessing/status/{job['id']}",
        "dataset_url": f"/api/v1/preprocessing/datasets/{name}",
    }
    return envelope(data, f"Preprocessing of {name} queued", **data)


def _seed_options(body: StartIn) -> VideoOptionsIn:
    """Seed 000's top-level fields applied to the options."""
    update: dict[str, Any] = {}
    if body.caption_method is not None:
        update["caption_method"] = body.caption_method
        if "caption_provider" not in body.options.model_fields_set:
            update["caption_provider"] = "local"  # the document's methods are Florence-2's tasks
    if body.use_qwen_optimize is not None:
        update["rewrite"] = body.use_qwen_optimize
    return body.options.model_copy(update=update)


def _submit(name: str, options: VideoOptionsIn, user: User, **where: Any) -> dict[str, Any]:
    opts = options.model_dump()
    key = opts.pop("api_key", "")
    return videos.submit_videos(name, VideoOptions.model_validate(opts), user, api_key=key, **where)


@routes.get("/check/{dataset_name}", summary="Have you a dataset of this name?")
def check(dataset_name: str, user: User = Depends(api_user)) -> dict[str, Any]:
    exists = datasets.exists(dataset_name, user.name)
    return envelope(
        {"dataset_name": dataset_name, "exists": exists}, dataset_name=dataset_name, exists=exists
    )


@routes.post("/start", status_code=201, summary="Build a video dataset from a server folder")
def start(body: StartIn, user: User = Depends(api_user)) -> dict[str, Any]:
    path = body.input_path or body.video_directory
    if not path:
        raise InputError(
            "Give input_path (or video_directory): a server folder or ZIP inside the allowed server "
            "folders (STUDIO_ALLOWED_ROOTS); or upload files to /api/v1/preprocessing/upload."
        )
    return _started(_submit(body.dataset_name, _seed_options(body), user, input_path=path))


@routes.post(
    "/upload", status_code=201, summary="Build a video dataset from uploaded videos or a ZIP"
)
def upload(
    dataset_name: str = Form(..., max_length=64),
    files: list[UploadFile] = File(...),
    options: str = Form(
        "{}", max_length=100_000, description="JSON object of options (as in /start)"
    ),
    user: User = Depends(api_user),
) -> dict[str, Any]:
    try:
        data = json.loads(options or "{}")
    except (json.JSONDecodeError, RecursionError) as exc:
        raise OptionsError(f"options is not valid JSON: {exc}") from None
    parsed = VideoOptionsIn.parse(data)
    folder, saved = save_uploads(files, "upload-videos-")
    try:
        return _started(_submit(dataset_name, parsed, user, files=saved))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def seed_progress(job: dict[str, Any]) -> dict[str, Any]:
    percent = round(100 * (job["progress"] or 0), 1)
    eta = job["eta_s"] if job["status"] == "running" else None
    return {
        "progress_percent": percent,
        "current_file": job["item"],
        "current_step": job["stage"],
        "estimated_time_remaining": eta,
        # the studio's own names of the same values
        "percent": percent,
        "step": job["stage"],
        "eta_s": eta,
    }


def _task(task_id: str, user: User) -> dict[str, Any]:
    return store.job_for(task_id, user, videos.KINDS, "video dataset task")


@routes.get("/status/{task_id}", summary="A build's status, progress and result")
def status(task_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    job = _task(task_id, user)
    outputs = {k: v for k, v in job["outputs"].items() if k != "files"}
    data = {
        "preprocessing_id": job["id"],
        "task_id": job["id"],
        "dataset_name": job["params"].get("dataset"),
        "status": SEED_STATUS[job["status"]],
        "job_status": job["status"],
        "progress": seed_progress(job),
        "message": job["message"],
        "error": job["error"],
        "result": outputs or None,
        "created_at": job["created_at"],
        "started_at": job["started_at"],
        "finished_at": job["finished_at"],
    }
    return envelope(data, job["message"] or "", **data)


def dataset_info(meta: dict[str, Any], with_clips: bool = False) -> dict[str, Any]:
    """A dataset's record, clip counts and duration: from its finished job, else
    read from the folder (file headers only)."""
    from pipelines.video_dataset.dataset import clip_numbers, summarize_dataset

    job = datasets.latest_job(meta)
    summary = summarize_dataset(meta["path"])
    result = job["outputs"] if job and job["status"] == "succeeded" else {}
    info = {
        "name": meta["name"],
        "dataset_name": meta["name"],
        "kind": meta["kind"],
        "owner": meta["owner"],
        "created_at": meta["created_at"],
        "status": SEED_STATUS.get(meta["status"], meta["status"]),
        "job_status": meta["status"],
        "task_id": meta.get("job_id"),
        "preprocessing_id": meta.get("job_id"),
        "progress": seed_progress(job) if job else None,
        "error": job["error"] if job else None,
        "clips": summary.clips,
        "video_count": summary.clips,
        "captions": summary.captions,
        "total_duration": round(summary.total_duration, 3),
        "total_frames": summary.total_frames,
        "fps": summary.fps,
        "size_bytes": summary.size_bytes,
        "options": meta.get("options") or {},
        "zip_ready": bool(job and zip_path(job)),
    }
    if with_clips:
        clips = result.get("clips")
        if clips is None:  # running, cancelled or failed: what is on disk
            folder = Path(meta["path"])
            clips = []
            for n in clip_numbers(folder):
                txt = folder / f"{n}.txt"
                clips.append(
                    {
                        "number": n,
                        "file": f"{n}.mp4",
                        "caption": txt.read_text(encoding="utf-8").strip() if txt.is_file() else "",
                    }
                )
        info.update(
            clip_count=info["clips"],
            clips=clips,
            skipped=result.get("skipped", []),
            warnings=result.get("warnings", []),
            notes=result.get("notes", []),
            files=meta["files"],
        )
    return info


def zip_path(job: dict[str, Any]) -> Path | None:
    path = store.job_dir(job["id"]) / "outputs" / f"{job['params'].get('dataset')}.zip"
    return path if path.is_file() else None


@routes.get(
    "/datasets",
    summary="Your video datasets with clip counts and total duration (admins: all, or ?owner=)",
)
def list_datasets(owner: str | None = None, user: User = Depends(api_user)) -> dict[str, Any]:
    items = [dataset_info(m) for m in datasets.list_all(user, "videos", owner)]
    return envelope({"total": len(items), "datasets": items}, total=len(items), datasets=items)


@routes.get("/datasets/{dataset_name}", summary="One video dataset with its clips and captions")
def get_dataset(
    dataset_name: str, owner: Owner = None, user: User = Depends(api_user)
) -> dict[str, Any]:
    info = dataset_info(datasets.get(dataset_name, user, "videos", owner), with_clips=True)
    return envelope(info, **info)


@routes.delete(
    "/datasets/{dataset_name}", status_code=204, summary="Delete a video dataset and its files"
)
def delete_dataset(
    dataset_name: str, owner: Owner = None, user: User = Depends(api_user)
) -> Response:
    datasets.delete(dataset_name, user, "videos", owner)
    return Response(status_code=204)


@routes.get(
    "/datasets/{dataset_name}/download",
    summary="The dataset as a ZIP (N.mp4 + N.txt + dataset.toml)",
)
def download(
    dataset_name: str, owner: Owner = None, user: User = Depends(api_user)
) -> FileResponse:
    meta = datasets.get(dataset_name, user, "videos", owner)
    job = datasets.latest_job(meta)
    path = zip_path(job) if job else None
    if path is None:
        raise datasets.DatasetNotFound(
            f"Dataset {dataset_name!r} has no ZIP yet (its build is "
            f"{meta['status']}); download it once the build has finished."
        )
    return FileResponse(path, filename=f"{meta['name']}.zip", media_type="application/zip")


# Seed 000's paths for an app that mounts this router itself at /api/v1 (the studio
# mounts ``routes`` from the tool registry: jobs.tools.video_dataset).
router = APIRouter()
router.include_router(routes, prefix="/preprocessing")
