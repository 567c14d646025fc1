"""Video edit (seed 003) over REST: ``/api/v1/video_edit`` (and seed 003's ``/api/v1/video/edit``).

- ``POST /video/edit``: seed 003's JSON (``job_id`` optional, ``input_video_path``
  a server file inside STUDIO_ALLOWED_ROOTS, ``mask_prompt``, ``edit_prompt``,
  ``output_dir`` optional, admins only, inside STUDIO_OUTPUT_ROOTS, ``params`` {…}) or a
  multipart upload (``file``, ``mask_prompt``, ``edit_prompt``, ``job_id``,
  ``params`` as a JSON string) → 201 ``{"job_id", "status": "queued", ...}``.
  Everything a user can get wrong (prompts, options, paths, a missing model, a
  taken job_id) is answered 4xx before anything is queued.
- ``GET /video/edit/{job_id}``: the seed's status fields (``status.json``) plus
  the studio job's stage, item and ETA.
- ``GET /video/edit/{job_id}/{file}``: ``output`` (the edited MP4), ``mask``
  (the mask video), ``log`` (while the job runs too), ``status``, the single-frame
  pictures, and with ``keep_intermediates`` ``masks`` (ZIP of PNGs) and
  ``edited_frames`` (MKV). The status carries ``output_video_url``,
  ``mask_preview_url`` and ``logs_url`` beside the seed's server paths.
- ``GET /video/edit?limit=&offset=``: your edits, newest first (an admin: everyone's).
- ``DELETE /video/edit/{job_id}``: an ended edit, its files and its ids (409 while
  queued or running: cancel first).
- ``POST /video/edit/{job_id}/cancel`` (or ``POST /jobs/{studio_job_id}/cancel``).
- ``GET /video/edit/models``: which models this machine has.
- Seed 003's own paths (``seed_routes``, at the site's root): ``POST /api/video/edit``
  (answers 200, as the seed's Flask example) and ``GET /api/video/status/{job_id}``
  (also ``/api/v1/video/status/{job_id}``) with ``?output_dir=``.

``job_id`` is the caller's id when given, else the studio job id; both work in
the paths. Only the job's owner (or an admin) sees it; others get 404.
"""

from __future__ import annotations

import json
import shutil
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobs import queue
from jobs.tools import video_edit as edits
from pipelines.errors import NotFound
from pipelines.names import text_field
from pipelines.video_edit.options import (
    PATH_MAX,
    EditPrompt,
    JobId,
    MaskPrompt,
    VideoEditOptions,
)
from pipelines.video_edit.status import output_names
from studio.auth import User, api_user
from studio.uploads import save_upload, temp_folder

routes = APIRouter(tags=["video edit"])  # mounted at /api/v1/video_edit and /api/v1/video/edit

FileName = Literal[
    "output",
    "mask",
    "log",
    "status",
    "input_png",
    "mask_png",
    "edited_png",
    "compare_png",
    "masks",
    "edited_frames",
]
MEDIA = {
    ".zip": "application/zip",
    ".mkv": "video/x-matroska",
    ".mp4": "video/mp4",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
}


class EditIn(BaseModel):
    """Seed 003's request. ``params`` holds the options (seed names and defaults)."""

    model_config = ConfigDict(extra="forbid")

    job_id: JobId | None = Field(
        None, description="your id for the job (names the files); default: the studio's"
    )
    input_video_path: str = text_field(
        PATH_MAX, "a video file on the server, inside STUDIO_ALLOWED_ROOTS"
    )
    output_dir: str | None = text_field(
        PATH_MAX,
        default=None,
        description="admins: where the outputs go, a folder inside the writable output "
        "folders (STUDIO_OUTPUT_ROOTS; never the read-only STUDIO_ALLOWED_ROOTS). Default: "
        "the job's own folder, downloadable here",
    )
    mask_prompt: MaskPrompt
    edit_prompt: EditPrompt
    params: VideoEditOptions = Field(default_factory=VideoEditOptions)


class Started(BaseModel):
    job_id: str
    status: str
    studio_job_id: str
    kind: str
    lane: str
    status_url: str


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its $defs inlined (for openapi_extra)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(dict(defs[node["$ref"].split("/")[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


_MULTIPART = {
    "type": "object",
    "required": ["file", "mask_prompt", "edit_prompt"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the clip"},
        "mask_prompt": {"type": "string", "maxLength": 300},
        "edit_prompt": {"type": "string", "maxLength": 300},
        "job_id": {"type": "string"},
        "params": {
            "type": "string",
            "description": "JSON object of options, as in the JSON body's params",
        },
    },
}


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def _started(result: dict[str, Any]) -> dict[str, Any]:
    # A caller's job_id that is one of this router's own paths (``models``) names the
    # job everywhere but in GET /video/edit/{job_id}: its status is at the studio job id.
    own_paths = {route.path for route in routes.routes if "{" not in getattr(route, "path", "{")}
    key = "studio_job_id" if f"/{result['job_id']}" in own_paths else "job_id"
    return {**result, "status_url": f"/api/v1/video/edit/{result[key]}"}


@routes.get("/models", summary="Which edit and mask models this machine has")
def models(user: User = Depends(api_user)) -> dict[str, Any]:
    from pipelines.video_edit.models import available_models

    return {"models": available_models(edits.search_dirs())}


@routes.post(
    "",
    status_code=201,
    response_model=Started,
    summary="Start a video edit (JSON or upload)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inline(EditIn.model_json_schema())},
                "multipart/form-data": {"schema": _MULTIPART},
            },
        }
    },
)
async def start(request: Request, user: User = Depends(api_user)) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _start_upload(request, user)
    try:
        body = EditIn.model_validate(await request.json())
    except json.JSONDecodeError as exc:
        raise HTTPException(
            422, f"The body is not valid JSON: {exc}. Send seed 003's JSON or a multipart upload."
        ) from None
    except ValidationError as exc:
        raise HTTPException(422, f"Bad request: {_problems(exc)}") from None
    fields = {
        "mask_prompt": body.mask_prompt,
        "edit_prompt": body.edit_prompt,
        **body.params.model_dump(),
    }
    result = await run_in_threadpool(
        edits.submit,
        fields,
        user,
        server_video=body.input_video_path,
        output_dir=body.output_dir,
        client_job_id=body.job_id,
    )
    return _started(result)


async def _start_upload(request: Request, user: User) -> dict[str, Any]:
    try:
        form = await request.form()
    except Exception as exc:  # a malformed multipart body (field names, encoding)
        raise HTTPException(400, f"The multipart body could not be read: {exc}") from None
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise HTTPException(422, "Send the clip as the multipart field 'file'.")
    try:
        params = VideoEditOptions.model_validate(json.loads(str(form.get("params") or "{}")))
        head = EditIn.model_validate(
            {
                "job_id": form.get("job_id") or None,
                "input_video_path": "upload",
                "mask_prompt": form.get("mask_prompt") or "",
                "edit_prompt": form.get("edit_prompt") or "",
            }
        )
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"params is not valid JSON: {exc}") from None
    except ValidationError as exc:
        raise HTTPException(422, f"Bad request: {_problems(exc)}") from None
    folder = temp_folder("upload-edit-")
    try:
        saved = await run_in_threadpool(save_upload, upload, folder)
        fields = {
            "mask_prompt": head.mask_prompt,
            "edit_prompt": head.edit_prompt,
            **params.model_dump(),
        }
        result = await run_in_threadpool(
            edits.submit, fields, user, upload=saved, client_job_id=head.job_id
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _started(result)


@routes.get("", summary="Your video edits, newest first, with their status")
def list_edits(
    limit: int = Query(20, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
    user: User = Depends(api_user),
) -> list[dict[str, Any]]:
    return edits.list_edits(user, limit, offset)


@routes.delete("/{job_id}", summary="Delete an ended video edit and its files")
def delete(job_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return edits.delete_edit(job_id, user)


@routes.get("/{job_id}", summary="A video edit's status (seed 003's fields)")
def status(job_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    row, job = edits.lookup(job_id, user)
    return edits.seed_status(row, job)


@routes.post("/{job_id}/cancel", summary="Cancel a video edit (stops at the next frame)")
def cancel(job_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    row, job = edits.lookup(job_id, user)
    job = queue.cancel(job["id"], user)
    return edits.seed_status(row, job)


@routes.get(
    "/{job_id}/{file}", summary="Download the output video, mask video, log, status or pictures"
)
def download(job_id: str, file: FileName, user: User = Depends(api_user)) -> FileResponse:
    row, job = edits.lookup(job_id, user)
    name = output_names(row["job_id"])[file]
    path = edits.output_folder(row) / name
    if not path.is_file():
        state = job["status"]
        raise NotFound(
            f"Video edit {job_id!r} has no {name} (the job is {state}"
            + (
                "; it is written when the job gets there)."
                if state in ("queued", "running")
                else ")."
            )
        )
    return FileResponse(
        path, filename=name, media_type=MEDIA.get(path.suffix, "application/octet-stream")
    )


# Seed 003's own paths (its README's REST example: ``POST /api/video/edit`` answered 200
# with ``{"job_id", "status": "queued"}``, ``GET /api/video/status/{job_id}?output_dir=``),
# answered by the same code; mounted at the site's root (the registry's root_router).
seed_routes = APIRouter(tags=["video edit"])


@seed_routes.post("/api/video/edit", summary="Start a video edit (seed 003's path)")
async def seed_start(request: Request, user: User = Depends(api_user)) -> dict[str, Any]:
    return await start(request, user)


@seed_routes.get("/api/video/status/{job_id}", summary="A video edit's status (seed 003's path)")
@seed_routes.get("/api/v1/video/status/{job_id}", summary="A video edit's status (seed 003's path)")
def seed_status(
    job_id: str,
    output_dir: str | None = Query(
        None, max_length=PATH_MAX, description="the job's output_dir, as the seed's client sends it"
    ),
    user: User = Depends(api_user),
) -> dict[str, Any]:
    row, job = edits.lookup(job_id, user, output_dir)
    return edits.seed_status(row, job)


# Seed 003's paths for an app that mounts this router itself at /api/v1 (the studio
# mounts ``routes`` from the tool registry: jobs.tools.video_edit).
router = APIRouter()
router.include_router(routes, prefix="/video/edit")
