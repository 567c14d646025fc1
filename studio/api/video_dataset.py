"""Video datasets (seed 000): the preprocessing API under ``/api/v1/preprocessing``.

Seed 000's five endpoints (check, datasets, datasets/{name}, start, status/{task_id})
plus an upload variant of ``start`` and a ZIP download. ``task_id`` is the studio's
job id (``/api/v1/jobs/{id}`` shows the same job). The routes only check input,
submit the job (``jobs.tools.video_dataset.submit_videos``) and read records and
the dataset's folder; the work runs in the worker.

The API key (``options.api_key``) is handed to the job out of band and never
stored with the job; it never comes back in any response.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobs import datasets, store
from jobs.inputs import InputError
from jobs.tools import video_dataset as videos
from studio.api.photo_dataset import delete_as
from studio.auth import User, api_user
from studio.uploads import save_upload

router = APIRouter(prefix="/preprocessing", tags=["video datasets (preprocessing)"])


class VideoOptions(BaseModel):
    """How to build the dataset. Every field is optional."""

    model_config = ConfigDict(extra="forbid")

    preset: Literal["wan", "hunyuan", "ltx", "custom"] = Field(
        "wan", description="trainer preset: wan (16 fps), hunyuan (24 fps), ltx (25 fps) or custom (set fps)")
    fps: float | None = Field(None, gt=0, le=240, description="output frame rate (custom preset, or override)")
    max_side: int | None = Field(None, ge=16, description="longest side at most N pixels")
    resolution: list[int] | None = Field(None, min_length=2, max_length=2,
                                         description="[width, height] bucket: scale to cover, centre crop")
    split: Literal["none", "fixed", "scenes"] = "none"
    clip_seconds: float | None = Field(None, gt=0, description="fixed clip length; longest scene for 'scenes'")
    frame_policy: Literal["warn", "trim", "drop"] = Field(
        "warn", description="trainer frame buckets: warn per clip, trim to 4k+1 frames, drop too-short clips")
    caption_provider: Literal["none", "local", "api"] = "none"
    local_model: str = Field("", description="HF model id or local folder (local provider; GPU lane)")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    max_new_tokens: int = Field(96, ge=1, le=1024, description="caption length limit of the local model")
    api_base_url: str = Field("", examples=["https://dashscope.aliyuncs.com/compatible-mode/v1"])
    api_key: str = Field("", description="write-only: handed to the job, never stored or returned")
    api_models: list[str] = Field(default_factory=list, description="models in priority order (fallbacks)")
    api_retries: int = Field(2, ge=0, le=10)
    caption_method: str = Field("detailed", description="tags, simple, detailed, extra, mixed, extra_mixed, analyze")
    caption_frames: int = Field(1, ge=1, le=16, description="1: the first frame; N: N sampled frames merged")
    rewrite: bool = Field(False, description="LLM rewrite of each caption (seed 000's Qwen optimize)")
    rewrite_instruction: str = ""
    prefix: str = "A high quality video, "
    trigger: str = ""
    make_zip: bool = True


class StartIn(BaseModel):
    dataset_name: str = Field(examples=["wan_dance_v1"])
    input_path: str | None = Field(None, description="server folder, ZIP or video inside STUDIO_ALLOWED_ROOTS")
    video_directory: str | None = Field(None, description="seed 000's name for input_path")
    options: VideoOptions = Field(default_factory=VideoOptions)
    caption_method: str | None = Field(None, description="seed 000 shortcut for options.caption_method")
    use_qwen_optimize: bool | None = Field(None, description="seed 000 shortcut for options.rewrite")


def _start(name: str, options: VideoOptions, user: User, *, files=None, input_path=None) -> dict[str, Any]:
    opts = options.model_dump()
    key = opts.pop("api_key", "")
    try:
        job = videos.submit_videos(name, opts, owner=user.name, files=files, input_path=input_path, api_key=key)
    except datasets.DatasetExists as exc:
        raise HTTPException(409, str(exc)) from None
    except (ValueError, InputError) as exc:  # DatasetNameError is a ValueError
        raise HTTPException(422, str(exc)) from None
    return {"task_id": job["id"], "dataset_name": job["params"]["dataset"], "status": job["status"],
            "kind": job["kind"], "lane": job["lane"],
            "status_url": f"/api/v1/preprocessing/status/{job['id']}",
            "dataset_url": f"/api/v1/preprocessing/datasets/{job['params']['dataset']}"}


@router.get("/check/{dataset_name}", summary="Is this dataset name taken?")
def check(dataset_name: str, user: User = Depends(api_user)) -> dict[str, Any]:
    try:
        exists = datasets.folder(dataset_name).exists()
    except datasets.DatasetNameError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"dataset_name": dataset_name, "exists": exists}


@router.post("/start", status_code=201, summary="Build a video dataset from a server folder")
def start(body: StartIn, user: User = Depends(api_user)) -> dict[str, Any]:
    options = body.options
    if body.caption_method is not None:
        options = options.model_copy(update={"caption_method": body.caption_method})
    if body.use_qwen_optimize is not None:
        options = options.model_copy(update={"rewrite": body.use_qwen_optimize})
    path = body.input_path or body.video_directory
    if not path:
        raise HTTPException(422, "Give input_path: a server folder (or ZIP) inside the allowed roots; "
                                 "or upload files to /api/v1/preprocessing/upload.")
    return _start(body.dataset_name, options, user, input_path=path)


@router.post("/upload", status_code=201, summary="Build a video dataset from uploaded videos or a ZIP")
def upload(dataset_name: str = Form(...), files: list[UploadFile] = File(...),
           options: str = Form("{}", description="JSON object of options (as in /start)"),
           user: User = Depends(api_user)) -> dict[str, Any]:
    try:
        parsed = VideoOptions.model_validate(json.loads(options or "{}"))
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"options is not valid JSON: {exc}") from None
    except ValidationError as exc:
        raise HTTPException(422, "bad options: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    from jobs.settings import get_settings

    home = get_settings().home
    home.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-videos-", dir=home))
    try:  # one sub-folder per file: two uploads with one name are both kept
        saved = [save_upload(f, folder / str(i)) for i, f in enumerate(files)]
        return _start(dataset_name, parsed, user, files=saved)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _job(meta_or_id: str | None) -> dict[str, Any] | None:
    if not meta_or_id:
        return None
    try:
        return store.get_job(meta_or_id)
    except store.JobNotFound:
        return None


def _progress(job: dict[str, Any]) -> dict[str, Any]:
    return {"percent": round(100 * (job["progress"] or 0), 1), "current_file": job["item"],
            "step": job["stage"], "eta_s": job["eta_s"] if job["status"] == "running" else None}


@router.get("/status/{task_id}", summary="A build's status, progress and result")
def status(task_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    job = _job(task_id)
    if job is None or job["kind"] not in videos.KINDS:
        raise HTTPException(404, f"No video dataset task {task_id!r}.")
    outputs = {k: v for k, v in job["outputs"].items() if k != "files"}
    return {"task_id": job["id"], "dataset_name": job["params"].get("dataset"), "status": job["status"],
            "progress": _progress(job), "message": job["message"], "error": job["error"],
            "result": outputs or None, "created_at": job["created_at"], "started_at": job["started_at"],
            "finished_at": job["finished_at"]}


def _video_meta(name: str) -> dict[str, Any]:
    try:
        return datasets.get(name, kind="videos")
    except datasets.DatasetNotFound as exc:
        raise HTTPException(404, str(exc)) from None


def dataset_info(meta: dict[str, Any], with_clips: bool = False) -> dict[str, Any]:
    """A dataset's record, clip counts and duration: from its finished job, else
    read from the folder (file headers only)."""
    from pipelines.video_dataset.dataset import summarize_dataset

    job = _job(meta.get("job_id"))
    summary = summarize_dataset(meta["path"])
    result = job["outputs"] if job and job["status"] == "succeeded" else {}
    options = {k: v for k, v in (meta.get("options") or {}).items() if k != "api_key"}
    info = {
        "name": meta["name"], "kind": meta["kind"], "owner": meta["owner"], "created_at": meta["created_at"],
        "status": meta["status"], "task_id": meta.get("job_id"),
        "progress": _progress(job) if job else None, "error": job["error"] if job else None,
        "clips": summary.clips, "captions": summary.captions,
        "total_duration": round(summary.total_duration, 3), "total_frames": summary.total_frames,
        "fps": summary.fps, "size_bytes": summary.size_bytes, "options": options,
        "zip_ready": bool(job and _zip_path(job)),
    }
    if with_clips:
        clips = result.get("clips")
        if clips is None:  # running, cancelled or failed: what is on disk
            from pipelines.video_dataset.dataset import clip_numbers

            folder = datasets.folder(meta["name"])
            clips = []
            for n in clip_numbers(folder):
                txt = folder / f"{n}.txt"
                clips.append({"number": n, "file": f"{n}.mp4",
                              "caption": txt.read_text(encoding="utf-8").strip() if txt.is_file() else ""})
        info.update(clip_count=info["clips"], clips=clips, skipped=result.get("skipped", []),
                    warnings=result.get("warnings", []), files=meta["files"], path=meta["path"])
    return info


def _zip_path(job: dict[str, Any]):
    path = store.job_dir(job["id"]) / "outputs" / f"{job['params'].get('dataset')}.zip"
    return path if path.is_file() else None


@router.get("/datasets", summary="Video datasets with clip counts and total duration")
def list_datasets(user: User = Depends(api_user)) -> dict[str, Any]:
    items = [dataset_info(m) for m in datasets.list_all("videos")]
    return {"total": len(items), "datasets": items}


@router.get("/datasets/{dataset_name}", summary="One video dataset with its clips and captions")
def get_dataset(dataset_name: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return dataset_info(_video_meta(dataset_name), with_clips=True)


@router.delete("/datasets/{dataset_name}", status_code=204, summary="Delete a video dataset and its files")
def delete_dataset(dataset_name: str, user: User = Depends(api_user)) -> Response:
    return delete_as(user, dataset_name, "videos")


@router.get("/datasets/{dataset_name}/download", summary="The dataset as a ZIP (N.mp4 + N.txt + dataset.toml)")
def download(dataset_name: str, user: User = Depends(api_user)) -> FileResponse:
    meta = _video_meta(dataset_name)
    job = _job(meta.get("job_id"))
    path = _zip_path(job) if job else None
    if path is None:
        raise HTTPException(404, f"Dataset {dataset_name!r} has no ZIP yet (its build is {meta['status']}); "
                                 "download it once the build has finished.")
    return FileResponse(path, filename=f"{meta['name']}.zip", media_type="application/zip")
