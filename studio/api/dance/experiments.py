"""Experiments: create (queues the preprocessing), list, get, delete, prepare
again, pose preview (seed 004 §3.4)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Response
from fastapi.responses import FileResponse, StreamingResponse

import jobs.tools.dance as dance
from jobs.tools.dance import records as rec
from pipelines.errors import NotFound
from studio.api.dance.schemas import (
    ExperimentCreate,
    ExperimentOut,
    ExperimentUpdate,
    Page,
    page,
)
from studio.auth import User, api_user

router = APIRouter()


@router.post(
    "/projects/{project_id}/experiments",
    response_model=ExperimentOut,
    summary="Create an experiment; its input folder is prepared by a dance.preprocess job",
)
def create_experiment(
    project_id: str, body: ExperimentCreate, user: User = Depends(api_user)
) -> dict:
    return dance.create_experiment(
        user,
        project_id,
        body.name,
        body.description,
        body.reference_id,
        body.motion_id,
        body.source_input_dir,
        body.config,
    )


@router.get(
    "/projects/{project_id}/experiments",
    response_model=list[ExperimentOut],
    summary="The project's experiments, newest first (?limit=&offset=)",
)
def list_experiments(
    project_id: str, paging: Page = Depends(page), user: User = Depends(api_user)
) -> list[dict]:
    return [
        dance.experiment_view(e)
        for e in rec.list_experiments(user, project_id, paging.limit, paging.offset)
    ]


@router.get(
    "/projects/{project_id}/experiments/{experiment_id}",
    response_model=ExperimentOut,
    summary="One experiment, with its preprocessing state",
)
def get_experiment(project_id: str, experiment_id: str, user: User = Depends(api_user)) -> dict:
    return dance.experiment_view(rec.get_experiment(user, project_id, experiment_id))


@router.patch(
    "/projects/{project_id}/experiments/{experiment_id}",
    response_model=ExperimentOut,
    summary="Rename or re-describe an experiment",
)
def update_experiment(
    project_id: str, experiment_id: str, body: ExperimentUpdate, user: User = Depends(api_user)
) -> dict:
    return dance.experiment_view(
        rec.edit_experiment(user, project_id, experiment_id, body.changes())
    )


@router.delete(
    "/projects/{project_id}/experiments/{experiment_id}",
    status_code=204,
    summary="Delete an experiment (its jobs stay, unlinked; 409 while one runs)",
)
def delete_experiment(
    project_id: str, experiment_id: str, user: User = Depends(api_user)
) -> Response:
    rec.delete_experiment(user, project_id, experiment_id)
    return Response(status_code=204)


@router.post(
    "/projects/{project_id}/experiments/{experiment_id}/preprocess",
    response_model=ExperimentOut,
    status_code=202,
    summary="Prepare the experiment's input folder again",
)
def preprocess_again(project_id: str, experiment_id: str, user: User = Depends(api_user)) -> dict:
    return dance.rerun_preprocess(user, project_id, experiment_id)


@router.get(
    "/projects/{project_id}/experiments/{experiment_id}/preview",
    response_class=FileResponse,
    summary="Pose preview (MP4): the detected skeleton over the driving video | the aligned skeleton",
)
def experiment_preview(
    project_id: str, experiment_id: str, user: User = Depends(api_user)
) -> FileResponse:
    view = dance.experiment_view(rec.get_experiment(user, project_id, experiment_id))
    if not view["preview_path"]:
        raise NotFound(
            f"Experiment {experiment_id} has no preview yet (preprocessing is "
            f"{view['preprocess']['state']})."
        )
    return FileResponse(
        view["preview_path"], media_type="video/mp4", filename=f"preview-{experiment_id[:8]}.mp4"
    )


@router.get(
    "/projects/{project_id}/experiments/{experiment_id}/download",
    response_class=StreamingResponse,
    summary="The experiment's prepared pair folder as a ZIP (streamed; 404 until it is prepared)",
)
def download_pair_folder(
    project_id: str, experiment_id: str, user: User = Depends(api_user)
) -> StreamingResponse:
    folder, name = dance.pair_folder(user, project_id, experiment_id)
    quoted = quote(f"{name}.zip")  # names may be Chinese, as the seed's: RFC 6266 filename*
    return StreamingResponse(
        dance.zip_chunks(folder, name),
        media_type="application/zip",
        headers={"Content-Disposition": f"attachment; filename*=utf-8''{quoted}"},
    )
