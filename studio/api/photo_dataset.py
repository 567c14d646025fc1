"""Photo datasets (seed 002): build from uploads or a server folder, review edits, download.

Paths under ``/api/v1/datasets``. Every build and every edit is a job in the worker
queue; these routes only check input, submit, and read the dataset's folder.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from jobs import datasets, store
from jobs.inputs import InputError
from jobs.tools import photo_dataset as photos
from studio.auth import User, api_user
from studio.uploads import save_upload

router = APIRouter(prefix="/datasets", tags=["datasets"])


class Edits(BaseModel):
    """The review of a built dataset. Keys are source names (``photos/a.jpg``) or output names (``0003.jpg``)."""

    flips: dict[str, str] = Field(default_factory=dict, examples=[{"astronaut_recompressed.jpg": "kept"}])
    crops: dict[str, list[float]] = Field(default_factory=dict, examples=[{"astronaut.jpg": [0, 0, 400, 400]}])
    captions: dict[str, str] = Field(default_factory=dict, examples=[{"0001.jpg": "ohwx, a woman in a red coat"}])


def _dataset_or_404(name: str) -> dict[str, Any]:
    try:
        return datasets.get(name, kind="photos")
    except datasets.DatasetNotFound as exc:
        raise HTTPException(404, str(exc)) from None


def _summary(meta: dict[str, Any]) -> dict[str, Any]:
    job = None
    if meta.get("job_id"):
        try:
            job = store.get_job(meta["job_id"])
        except store.JobNotFound:
            pass
    manifest = photos.read_manifest(meta["name"])
    zip_ready = (datasets.folder(meta["name"]) / "dataset.zip").is_file()
    return {
        "name": meta["name"], "kind": meta["kind"], "owner": meta["owner"], "created_at": meta["created_at"],
        "status": meta["status"], "progress": meta["progress"], "job_id": meta["job_id"],
        "stage": job["stage"] if job else None, "item": job["item"] if job else None,
        "eta_s": job["eta_s"] if job else None, "message": job["message"] if job else None,
        "error": job["error"] if job else None,
        "counts": manifest["counts"] if manifest else None,
        "clusters": len(manifest["clusters"]) if manifest else None,
        "download": f"/api/v1/datasets/{meta['name']}/download" if zip_ready else None,
    }


@router.post("", status_code=201, summary="Build a photo dataset from uploads or a server folder")
def create_dataset(
    name: str = Form(..., description="dataset name: letters, digits, '_', '-', '.'"),
    files: list[UploadFile] | None = File(None, description="a ZIP and/or image files"),
    server_path: str = Form("", description="a folder or ZIP on the server, inside STUDIO_ALLOWED_ROOTS"),
    options: str = Form("{}", description='JSON, e.g. {"dedup": {"keep_per_cluster": 1}, "caption": {"trigger": "ohwx"}}'),
    api_key: str = Form("", description="key of the OpenAI-compatible caption API; never stored in a record"),
    user: User = Depends(api_user),
) -> dict[str, Any]:
    try:
        parsed = json.loads(options or "{}")
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"options is not valid JSON: {exc}") from None
    saved = [save_upload(f) for f in files or [] if f.filename]
    try:
        job = photos.start_build(name, user.name, parsed, files=saved,
                                 server_paths=[server_path] if server_path.strip() else [], api_key=api_key)
    except datasets.DatasetExists as exc:
        raise HTTPException(409, str(exc)) from None
    except (photos.OptionsError, InputError, datasets.DatasetNameError) as exc:
        raise HTTPException(422, str(exc)) from None
    finally:
        for path in saved:
            shutil.rmtree(path.parent, ignore_errors=True)
    return {"name": job["params"]["name"], "job_id": job["id"], "status": job["status"]}


@router.get("", summary="List photo datasets, newest first")
def list_datasets(user: User = Depends(api_user)) -> list[dict[str, Any]]:
    return [_summary(m) for m in datasets.list_all("photos")]


@router.get("/{name}", summary="One dataset: status, progress, counts, its latest job")
def get_dataset(name: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return _summary(_dataset_or_404(name))


@router.get("/{name}/manifest", summary="manifest.json: every source file, kept or dropped and why, crops, captions")
def get_manifest(name: str, user: User = Depends(api_user)) -> dict[str, Any]:
    _dataset_or_404(name)
    manifest = photos.read_manifest(name)
    if manifest is None:
        raise HTTPException(409, f"Dataset {name!r} has no manifest yet: its build is still running.")
    return manifest


@router.get("/{name}/download", summary="dataset.zip: NNNN.jpg + NNNN.txt pairs, manifest and trainer configs")
def download(name: str, user: User = Depends(api_user)) -> FileResponse:
    meta = _dataset_or_404(name)
    path = datasets.folder(name) / "dataset.zip"
    if not path.is_file():
        raise HTTPException(409, f"Dataset {name!r} has no ZIP yet (status {meta['status']}).")
    return FileResponse(path, filename=f"{name}.zip", media_type="application/zip")


@router.post("/{name}/edits", status_code=201, summary="Apply review edits (flips, crop boxes, captions) in a job")
def post_edits(name: str, edits: Edits, user: User = Depends(api_user)) -> dict[str, Any]:
    _dataset_or_404(name)
    try:
        job = photos.submit_edits(name, user.name, edits.model_dump())
    except store.JobStateError as exc:
        raise HTTPException(409, str(exc)) from None
    except photos.EditError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"name": name, "job_id": job["id"], "status": job["status"]}


def delete_as(user: User, name: str, kind: str) -> Response:
    """Delete a dataset of ``kind`` for ``user`` (owner or admin), with the HTTP errors users expect."""
    try:
        meta = datasets.get(name, kind=kind)
    except datasets.DatasetNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    if not user.is_admin and meta["owner"] != user.name:
        raise HTTPException(403, f"Dataset {name!r} belongs to {meta['owner']}.")
    try:
        datasets.delete(name)
    except store.JobStateError as exc:
        raise HTTPException(409, str(exc)) from None
    return Response(status_code=204)


@router.delete("/{name}", status_code=204, summary="Delete the dataset and its files")
def delete_dataset(name: str, user: User = Depends(api_user)) -> Response:
    return delete_as(user, name, "photos")
