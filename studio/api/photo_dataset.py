"""Photo datasets (seed 002): build from uploads or a server folder, review edits, download.

Paths under ``/api/v1/photo_dataset`` (and, as before, ``/api/v1/datasets``). Every build and every edit is a job in the worker
queue; these routes only check input, submit, and read the dataset's folder. Every
read and write checks the owner (``jobs.datasets.get`` → ``jobs.access``). Names are
per owner: ``{name}`` is the caller's own dataset, so another user's answers 404 like a
missing one; an admin reaches another user's dataset with ``?owner=``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from jobs import datasets, store
from jobs.access import User
from jobs.tools import photo_dataset as photos
from pipelines.names import NAME_MAX, PATH_MAX, Caption, text_rule
from pipelines.photo_dataset.user_options import OptionsError
from studio.auth import api_user
from studio.uploads import save_uploads

router = APIRouter(tags=["photo datasets"])  # at /api/v1/photo_dataset and /api/v1/datasets

FileKey = Annotated[str, text_rule(1000)]
Coordinate = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Owner = Annotated[
    str | None,
    Query(max_length=200, description="admins: the owner of another user's dataset"),
]


class Edits(BaseModel):
    """The review of a built dataset. Keys are source names (``photos/a.jpg``) or output names (``0003.jpg``)."""

    model_config = ConfigDict(extra="forbid")

    flips: dict[FileKey, str] = Field(
        default_factory=dict, max_length=100_000, examples=[{"astronaut_recompressed.jpg": "kept"}]
    )
    crops: dict[FileKey, Annotated[list[Coordinate], Field(min_length=4, max_length=4)]] = Field(
        default_factory=dict, max_length=100_000, examples=[{"astronaut.jpg": [0, 0, 400, 400]}]
    )
    captions: dict[FileKey, Caption] = Field(
        default_factory=dict,
        max_length=100_000,
        examples=[{"0001.jpg": "ohwx, a woman in a red coat"}],
    )


def _summary(meta: dict[str, Any]) -> dict[str, Any]:
    job = datasets.latest_job(meta)
    manifest = photos.read_manifest(meta)
    zip_ready = (Path(meta["path"]) / "dataset.zip").is_file()
    outputs = job["outputs"] if job else {}
    return {
        "name": meta["name"],
        "kind": meta["kind"],
        "owner": meta["owner"],
        "created_at": meta["created_at"],
        "status": meta["status"],
        "progress": meta["progress"],
        "job_id": meta["job_id"],
        "stage": job["stage"] if job else None,
        "item": job["item"] if job else None,
        "eta_s": job["eta_s"] if job else None,
        "message": job["message"] if job else None,
        "error": job["error"] if job else None,
        "counts": manifest["counts"] if manifest else None,
        "clusters": len(manifest["clusters"]) if manifest else None,
        "filtered": outputs.get("filtered"),
        "download": f"/api/v1/datasets/{meta['name']}/download" if zip_ready else None,
    }


@router.post("", status_code=201, summary="Build a photo dataset from uploads or a server folder")
def create_dataset(
    name: str = Form(
        ..., max_length=NAME_MAX, description="dataset name: letters, digits, '_', '-', '.'"
    ),
    files: list[UploadFile] | None = File(None, description="a ZIP and/or image files"),
    server_path: str = Form(
        "",
        max_length=PATH_MAX,
        description="a folder or ZIP on the server, inside the allowed server folders",
    ),
    options: str = Form(
        "{}",
        max_length=100_000,
        description='JSON, e.g. {"dedup": {"keep_per_cluster": 1}, "caption": {"trigger": "ohwx"}}',
    ),
    api_key: str = Form(
        "", max_length=500, description="key of the OpenAI-compatible caption API; never stored"
    ),
    user: User = Depends(api_user),
) -> dict[str, Any]:
    try:
        parsed = json.loads(options or "{}")
    except (json.JSONDecodeError, RecursionError) as exc:
        raise OptionsError(f"options is not valid JSON: {exc}") from None
    folder, saved = save_uploads([f for f in files or [] if f.filename], "upload-photos-")
    try:
        job = photos.start_build(
            name,
            user,
            parsed,
            files=saved,
            server_paths=[server_path] if server_path.strip() else [],
            api_key=api_key,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"name": job["params"]["name"], "job_id": job["id"], "status": job["status"]}


@router.get("", summary="Your photo datasets, newest first (admins: all, or ?owner=)")
def list_datasets(owner: str | None = None, user: User = Depends(api_user)) -> list[dict[str, Any]]:
    return [_summary(m) for m in datasets.list_all(user, "photos", owner)]


@router.get("/{name}", summary="One dataset: status, progress, counts, its latest job")
def get_dataset(name: str, owner: Owner = None, user: User = Depends(api_user)) -> dict[str, Any]:
    return _summary(datasets.get(name, user, "photos", owner))


@router.get(
    "/{name}/manifest",
    summary="manifest.json: every source file, kept or dropped and why, crops, captions",
)
def get_manifest(name: str, owner: Owner = None, user: User = Depends(api_user)) -> dict[str, Any]:
    manifest = photos.read_manifest(datasets.get(name, user, "photos", owner))
    if manifest is None:
        raise store.JobStateError(
            f"Dataset {name!r} has no manifest yet: its build is still running."
        )
    return manifest


@router.get(
    "/{name}/download",
    summary="dataset.zip: NNNN.jpg + NNNN.txt pairs, manifest and trainer configs",
)
def download(name: str, owner: Owner = None, user: User = Depends(api_user)) -> FileResponse:
    meta = datasets.get(name, user, "photos", owner)
    path = Path(meta["path"]) / "dataset.zip"
    if not path.is_file():
        raise store.JobStateError(f"Dataset {name!r} has no ZIP yet (status {meta['status']}).")
    return FileResponse(path, filename=f"{name}.zip", media_type="application/zip")


@router.post(
    "/{name}/edits",
    status_code=201,
    summary="Apply review edits (flips, crop boxes, captions) in a job",
)
def post_edits(
    name: str, edits: Edits, owner: Owner = None, user: User = Depends(api_user)
) -> dict[str, Any]:
    job = photos.submit_edits(name, user, edits.model_dump(), owner)
    return {"name": name, "job_id": job["id"], "status": job["status"]}


class PendingEdits(BaseModel):
    """The review's pending edits (not applied yet): keep/drop flips and crop boxes,
    keyed by source name. The tab shows and keeps the same ones."""

    model_config = ConfigDict(extra="forbid")

    flips: dict[FileKey, Literal["kept", "dropped"]] = Field(
        default_factory=dict, max_length=100_000
    )
    crops: dict[FileKey, Annotated[list[Coordinate], Field(min_length=4, max_length=4)]] = Field(
        default_factory=dict, max_length=100_000
    )


@router.get("/{name}/pending-edits", summary="The review's pending edits (flips, crop boxes)")
def get_pending_edits(
    name: str, owner: Owner = None, user: User = Depends(api_user)
) -> dict[str, Any]:
    meta = datasets.get(name, user, "photos", owner)
    return photos.read_pending_edits(meta["name"], meta["owner"])


@router.put("/{name}/pending-edits", summary="Replace the review's pending edits")
def put_pending_edits(
    name: str, edits: PendingEdits, owner: Owner = None, user: User = Depends(api_user)
) -> dict[str, Any]:
    meta = datasets.get(name, user, "photos", owner)
    photos.write_pending_edits(meta["name"], meta["owner"], edits.model_dump())
    return photos.read_pending_edits(meta["name"], meta["owner"])


@router.delete("/{name}", status_code=204, summary="Delete the dataset and its files")
def delete_dataset(name: str, owner: Owner = None, user: User = Depends(api_user)) -> Response:
    datasets.delete(name, user, "photos", owner)
    return Response(status_code=204)
