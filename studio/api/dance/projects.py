"""Health, models, projects and their assets (seed 004 §2, §3.1–3.3)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path as PathType
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, UploadFile
from fastapi.responses import FileResponse

import jobs.tools.dance as dance
from jobs.inputs import server_path
from jobs.tools.dance import backends
from jobs.tools.dance import records as rec
from pipelines.errors import BadInput
from studio.api.dance.schemas import (
    AssetUpdate,
    MotionCreate,
    MotionOut,
    Page,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
    ReferenceCreate,
    ReferenceOut,
    meta_from_form,
    page,
)
from studio.auth import User, api_user
from studio.uploads import save_upload

router = APIRouter()


@router.get("/health", summary="Liveness")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/models/info", summary="The models folder and the generators set up")
def models_info(user: User = Depends(api_user)) -> dict[str, Any]:
    return backends.models_info()


# -- projects -----------------------------------------------------------------------------


@router.get(
    "/projects",
    response_model=list[ProjectOut],
    summary="Your projects, newest first (?limit=&offset=; admins: all, or ?owner=)",
)
def list_projects(
    owner: str | None = Query(None, max_length=rec.NAME_MAX),
    paging: Page = Depends(page),
    user: User = Depends(api_user),
) -> list[dict]:
    return [
        dance.project_view(p) for p in rec.list_projects(user, owner, paging.limit, paging.offset)
    ]


@router.post("/projects", response_model=ProjectOut, summary="Create a project")
def create_project(body: ProjectCreate, user: User = Depends(api_user)) -> dict:
    return dance.project_view(rec.create_project(user, body.name, body.description))


@router.get("/projects/{project_id}", response_model=ProjectOut, summary="One project")
def get_project(project_id: str, user: User = Depends(api_user)) -> dict:
    return dance.project_view(rec.get_project(user, project_id))


@router.patch(
    "/projects/{project_id}", response_model=ProjectOut, summary="Rename or re-describe a project"
)
def update_project(project_id: str, body: ProjectUpdate, user: User = Depends(api_user)) -> dict:
    return dance.project_view(rec.edit_project(user, project_id, body.changes()))


@router.delete(
    "/projects/{project_id}",
    status_code=204,
    summary="Delete a project with its assets, experiments, jobs and files (409 while a job runs)",
)
def delete_project(project_id: str, user: User = Depends(api_user)) -> Response:
    rec.delete_project(user, project_id)
    return Response(status_code=204)


# -- assets -------------------------------------------------------------------------------


@router.post(
    "/projects/{project_id}/refs",
    response_model=ReferenceOut,
    summary="Add a reference image from the server (copied into the project)",
)
def create_reference(
    project_id: str, body: ReferenceCreate, user: User = Depends(api_user)
) -> dict:
    source = _server_file(body.source_image_path, "an image file")
    return dance.reference_view(dance.add_reference(user, project_id, body.name, source, body.meta))


@router.post(
    "/projects/{project_id}/refs/upload",
    response_model=ReferenceOut,
    status_code=201,
    summary="Upload a reference image (multipart: file, name, prompt, meta)",
)
def upload_reference(
    project_id: str,
    file: UploadFile = File(...),
    name: str | None = Form(None, max_length=rec.NAME_MAX),
    prompt: str | None = Form(None, max_length=rec.TEXT_MAX),
    meta: str | None = Form(None, max_length=rec.META_MAX_BYTES),
    user: User = Depends(api_user),
) -> dict:
    rec.get_project(user, project_id)
    return dance.reference_view(
        _add_upload(
            file,
            lambda saved: dance.add_reference(
                user,
                project_id,
                name or saved.stem,
                saved,
                meta_from_form(meta, prompt),
                filename=saved.name,
                move=True,
            ),
        )
    )


@router.post(
    "/projects/{project_id}/motions",
    response_model=MotionOut,
    summary="Add a driving video from the server (copied into the project)",
)
def create_motion(project_id: str, body: MotionCreate, user: User = Depends(api_user)) -> dict:
    source = _server_file(body.source_video_path, "a video file")
    return dance.motion_view(dance.add_motion(user, project_id, body.name, source, body.meta))


@router.post(
    "/projects/{project_id}/motions/upload",
    response_model=MotionOut,
    status_code=201,
    summary="Upload a driving video (multipart: file, name, meta)",
)
def upload_motion(
    project_id: str,
    file: UploadFile = File(...),
    name: str | None = Form(None, max_length=rec.NAME_MAX),
    meta: str | None = Form(None, max_length=rec.META_MAX_BYTES),
    user: User = Depends(api_user),
) -> dict:
    rec.get_project(user, project_id)
    return dance.motion_view(
        _add_upload(
            file,
            lambda saved: dance.add_motion(
                user,
                project_id,
                name or saved.stem,
                saved,
                meta_from_form(meta),
                filename=saved.name,
                move=True,
            ),
        )
    )


def _server_file(text: str, what: str) -> PathType:
    """A file on this server inside the allowed folders (``jobs.inputs.server_path``)."""
    source = server_path(text)
    if not source.is_file():
        raise BadInput(f"{text} is a folder; give {what}.")
    return source


def _add_upload(file: UploadFile, add: Callable[[PathType], dict]) -> dict:
    """Save an upload (size-limited, ``studio.uploads``) to a temporary folder, hand it to
    ``add`` (which moves it into the project) and remove the folder after."""
    saved = save_upload(file)
    try:
        return add(saved)
    finally:
        shutil.rmtree(saved.parent, ignore_errors=True)


def _asset_routes(kind: str, plural: str, out: type, view: Callable[[dict], dict]) -> None:
    """List, read and delete routes of one asset kind (references under ``refs``, driving
    videos under ``motions``); the path's id is named after the kind (``ref_id``)."""
    one = f"/projects/{{project_id}}/{plural}/{{{kind}_id}}"
    id_param = Path(alias=f"{kind}_id")

    def list_all(
        project_id: str, paging: Page = Depends(page), user: User = Depends(api_user)
    ) -> list[dict]:
        return [
            view(a) for a in rec.list_assets(kind, user, project_id, paging.limit, paging.offset)
        ]

    def get_one(project_id: str, asset_id: str = id_param, user: User = Depends(api_user)) -> dict:
        return view(rec.get_asset(kind, user, project_id, asset_id))

    def update_one(
        project_id: str,
        body: AssetUpdate,
        asset_id: str = id_param,
        user: User = Depends(api_user),
    ) -> dict:
        return view(rec.edit_asset(kind, user, project_id, asset_id, body.changes()))

    def download_one(
        project_id: str, asset_id: str = id_param, user: User = Depends(api_user)
    ) -> FileResponse:
        path, filename = dance.asset_file(kind, user, project_id, asset_id)
        return FileResponse(path, filename=filename)

    def delete_one(
        project_id: str, asset_id: str = id_param, user: User = Depends(api_user)
    ) -> Response:
        rec.delete_asset(kind, user, project_id, asset_id)
        return Response(status_code=204)

    noun = {"ref": "reference", "motion": "motion"}[kind]
    router.get(
        f"/projects/{{project_id}}/{plural}",
        response_model=list[out],  # type: ignore[valid-type]
        summary=f"The project's {noun}s, newest first (?limit=&offset=)",
        operation_id=f"list_{noun}s",
    )(list_all)
    router.get(one, response_model=out, summary=f"One {noun}", operation_id=f"get_{noun}")(get_one)
    router.get(
        f"{one}/download",
        response_class=FileResponse,
        summary=f"The {noun}'s source file",
        operation_id=f"download_{noun}",
    )(download_one)
    router.patch(
        one,
        response_model=out,
        summary=f"Rename a {noun} or change its meta",
        operation_id=f"update_{noun}",
    )(update_one)
    router.delete(
        one,
        status_code=204,
        summary=f"Delete a {noun} (experiments keep their prepared input)",
        operation_id=f"delete_{noun}",
    )(delete_one)


_asset_routes("ref", "refs", ReferenceOut, dance.reference_view)
_asset_routes("motion", "motions", MotionOut, dance.motion_view)
